"""The webhook routes. Each POST: size check, signature, parse, record + enqueue in one
transaction, send the new jobs' messages, answer 200 — a few milliseconds, well inside
GitHub's 10 s and Meta's 20 s [C GH-11; S ISS-33].

Answers never carry secrets, connection ids or job ids: ``{"received": true,
"outcome": ...}``. Every outcome is counted in `tributary_webhook_deliveries_received_total`.
"""

from __future__ import annotations

import hmac
import logging
from abc import ABC, abstractmethod
from typing import NoReturn

import falcon
import redis
from tributary_common import metrics
from tributary_common.ledger import deliveries, websub
from tributary_common.ledger.deliveries import Delivery
from tributary_common.logs import event

from ..deps import ApiDeps
from ..errors import ApiError
from . import github, meta, signatures, youtube
from .errors import Malformed

log = logging.getLogger("tributary.api.webhooks")

#: Longest `hub.challenge` echoed back (Meta sends an integer, WebSub hubs a short token).
MAX_CHALLENGE = 200


class _Receiver(ABC):
    provider = ""
    header = ""
    algorithms: tuple[str, ...] = ("sha256",)

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.settings = deps.settings.webhooks

    @abstractmethod
    def secret(self) -> str:
        """The provider's signing secret ("" when unset: every delivery is refused)."""

    @abstractmethod
    def parse(self, headers: dict[str, str], body: bytes) -> Delivery:
        """The delivery a verified body holds; raise `Malformed` when it holds none."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = self._read(req)
        if not self.secret():
            self._refuse("not_configured", 401, f"the {self.provider} webhook is not configured")
        if not signatures.valid(self.secret(), body, req.get_header(self.header), self.algorithms):
            self._refuse("bad_signature", 401, f"missing or invalid {self.header}")
        headers = {k.lower(): v for k, v in req.headers.items()}
        try:
            delivery = self.parse(headers, body)
        except Malformed as exc:
            self._refuse("malformed", 400, str(exc))
        recorded = deliveries.record(
            self.deps.pool,
            delivery,
            sync_date=self.deps.clock().date(),
            debounce_seconds=self.settings.debounce_seconds,
        )
        if recorded.sends:
            try:
                self.deps.dispatcher.send_many(recorded.sends)
            except redis.RedisError as exc:
                # The jobs are pending in the ledger with their message ids: reconcile sends.
                event(log, "webhook.send_failed", logging.WARNING, error=type(exc).__name__)
        metrics.webhook_received(self.provider, recorded.outcome)
        event(
            log,
            "webhook.received",
            provider=self.provider,
            event_name=delivery.event,
            outcome=recorded.outcome,
            connections=len(recorded.connection_ids),
            enqueued=len(recorded.sends),
        )
        resp.status = falcon.HTTP_200
        resp.media = {"received": True, "outcome": recorded.outcome}

    def _read(self, req: falcon.Request) -> bytes:
        limit = self.settings.max_body_bytes
        if req.content_length is not None and req.content_length > limit:
            self._refuse("too_large", 413, f"the body exceeds {limit} bytes")
        body: bytes = req.bounded_stream.read(limit + 1)
        if len(body) > limit:
            self._refuse("too_large", 413, f"the body exceeds {limit} bytes")
        return body

    def _refuse(self, outcome: str, status: int, message: str) -> NoReturn:
        metrics.webhook_received(self.provider, outcome)
        event(log, "webhook.refused", logging.WARNING, provider=self.provider, outcome=outcome)
        raise ApiError(status, outcome, message)


class GithubWebhook(_Receiver):
    """`POST /webhooks/github`: `X-Hub-Signature-256` with the webhook secret [C GH-10]."""

    provider = "github"
    header = "X-Hub-Signature-256"

    def secret(self) -> str:
        return self.settings.github_secret

    def parse(self, headers: dict[str, str], body: bytes) -> Delivery:
        return github.parse(headers, body)


class MetaWebhook(_Receiver):
    """`GET /webhooks/meta` (verification) and `POST` (`X-Hub-Signature-256`, app secret)."""

    provider = "meta"
    header = "X-Hub-Signature-256"

    def secret(self) -> str:
        return self.settings.meta_app_secret

    def parse(self, headers: dict[str, str], body: bytes) -> Delivery:
        return meta.parse(body)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """``hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``: echo the challenge
        when the token matches [C META-1]; 403 otherwise (as reference servers do [S META-S8])."""
        expected = self.settings.meta_verify_token.encode()
        token = (req.get_param("hub.verify_token") or "").encode("utf-8", "replace")
        matches = hmac.compare_digest(token, expected)
        if req.get_param("hub.mode") != "subscribe" or not expected or not matches:
            self._refuse("bad_verify_token", 403, "hub.mode or hub.verify_token is wrong")
        _challenge(req, resp)


class YoutubeWebhook(_Receiver):
    """WebSub: `GET` verification of intent, `POST` Atom deliveries with `X-Hub-Signature`
    (sha1, the only method Google's hub uses) [C WS-1, WS-2]."""

    provider = "youtube"
    header = "X-Hub-Signature"
    algorithms = ("sha1", "sha256")

    def secret(self) -> str:
        return self.settings.youtube_secret

    def parse(self, headers: dict[str, str], body: bytes) -> Delivery:
        return youtube.parse(body)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Confirm a subscribe we asked for (setting its lease) or an unsubscribe nobody
        wants any more; 404 refuses [C WS-1]."""
        mode = req.get_param("hub.mode") or ""
        topic = req.get_param("hub.topic") or ""
        pool = self.deps.pool
        if mode == "denied":
            websub.denied(pool, topic)
            event(log, "websub.denied", logging.WARNING, reason=req.get_param("hub.reason"))
            resp.media = {"received": True}
            return
        if mode == "subscribe":
            lease = _lease(req.get_param("hub.lease_seconds"))
            accepted = lease is not None and websub.verify(pool, topic, lease)
        elif mode == "unsubscribe":
            accepted = not websub.wanted(pool, topic)
        else:
            accepted = False
        if not accepted:
            self._refuse("verification_refused", 404, "no such subscription")
        _challenge(req, resp)


def _lease(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value > 0 else None


def _challenge(req: falcon.Request, resp: falcon.Response) -> None:
    """Answer the challenge as plain text, exactly (bounded, never as HTML)."""
    challenge = req.get_param("hub.challenge") or ""
    if not challenge or len(challenge) > MAX_CHALLENGE:
        raise ApiError(400, "invalid_challenge", "hub.challenge is missing or too long")
    resp.status = falcon.HTTP_200
    resp.content_type = "text/plain; charset=utf-8"
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.text = challenge
