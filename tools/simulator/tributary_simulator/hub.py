"""A WebSub hub like Google's (pubsubhubbub.appspot.com) for YouTube topics.

``POST /_hub/websub`` takes a subscribe/unsubscribe form (``hub.callback``, ``hub.mode``,
``hub.topic``, ``hub.lease_seconds``, ``hub.secret``) and answers 202, then verifies
intent with a ``GET`` on the callback carrying ``hub.challenge`` (the subscription holds
only if the body echoes it) [C WS-1]. Leases default to 5 days, capped at 10 [S WS-3].
``refuse_status`` makes it answer e.g. 503 with ``Retry-After: 120`` as the real hub did
for days [S ISS-12]. `publish` signs an Atom notification with the subscriber's secret
(``X-Hub-Signature: sha1=…``) and POSTs it to the callback.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

from . import webhooks
from .messages import SimResponse

DEFAULT_LEASE = 432_000
MAX_LEASE = 864_000


@dataclass
class Subscription:
    callback: str
    topic: str
    secret: str
    lease_seconds: int
    verified: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "callback": self.callback,
            "topic": self.topic,
            "leaseSeconds": self.lease_seconds,
            "verified": self.verified,
            "signed": bool(self.secret),
        }


class Hub:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.requests = 0
        self.refuse_status: int | None = None

    def reset(self) -> None:
        with self.lock:
            self.subscriptions.clear()
            self.requests = 0
            self.refuse_status = None

    def handle(self, method: str, body: bytes) -> SimResponse:
        with self.lock:
            self.requests += 1
            refuse = self.refuse_status
        if refuse is not None:
            return _text(refuse, "Transient error; please try again later", {"Retry-After": "120"})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        mode, topic, callback = (
            form.get("hub.mode"),
            form.get("hub.topic"),
            form.get("hub.callback"),
        )
        if (
            method != "POST"
            or mode not in ("subscribe", "unsubscribe")
            or not topic
            or not callback
        ):
            return _text(400, "hub.mode, hub.topic and hub.callback are required")
        try:
            lease = min(int(form.get("hub.lease_seconds") or DEFAULT_LEASE), MAX_LEASE)
        except ValueError:
            return _text(400, "hub.lease_seconds must be an integer")
        sub = Subscription(callback, topic, form.get("hub.secret", ""), lease)
        threading.Thread(target=self._verify, args=(mode, sub), daemon=True).start()
        return _text(202, "")

    def _verify(self, mode: str, sub: Subscription) -> None:
        challenge = secrets.token_urlsafe(16)
        params = {"hub.mode": mode, "hub.topic": sub.topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(sub.lease_seconds)
        try:
            answer = httpx.get(sub.callback, params=params, timeout=10)
            confirmed = 200 <= answer.status_code < 300 and answer.text == challenge
        except httpx.HTTPError:
            confirmed = False
        with self.lock:
            key = (sub.callback, sub.topic)
            if mode == "subscribe" and confirmed:
                sub.verified = True
                self.subscriptions[key] = sub
            elif mode == "unsubscribe" and confirmed:
                self.subscriptions.pop(key, None)

    def listing(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s.as_json() for s in self.subscriptions.values()]

    def publish(self, channel_id: str, *, deleted: bool = False) -> list[int]:
        """Notify every verified subscriber of the channel's topic; return their statuses."""
        with self.lock:
            subs = [
                s
                for s in self.subscriptions.values()
                if s.topic.endswith(f"channel_id={channel_id}")
            ]
        statuses = []
        for sub in subs:
            delivery = webhooks.youtube(sub.secret, channel_id, deleted=deleted)
            try:
                statuses.append(webhooks.deliver(sub.callback, delivery).status_code)
            except httpx.HTTPError:
                statuses.append(0)
        return statuses


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse(
        status, message.encode(), {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
    )
