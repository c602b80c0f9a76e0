"""The HTTP client a connector uses: every request passes the limiter first.

Limits are taken per provider *request*, not per job, because a sync pages through many
requests. A refusal shorter than `max_inline_wait_seconds` is slept through; a longer one
raises `Deferred`, and the runner puts the job back on its band (no attempt burnt).
Provider feedback (reset headers, Retry-After, usage headers) becomes a cooldown in the
limiter, so every other worker waiting on that key defers to the same time.

A provider's throttle (an error the connector maps to RATE_LIMIT) raises `Throttled`:
the scope it names (account or provider) goes into cooldown until the stated wait, or
for ``unstated_wait_seconds`` when the answer states none, so every other job on that
scope waits too; the runner defers the job instead of failing it. A stated wait of at
most ``max_inline_throttle_seconds`` is slept through once before that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from . import metrics
from .categories import ErrorCategory
from .errors import Deferred, ProviderError, Throttled
from .ratelimit.base import Permit, RateLimiter


@dataclass(frozen=True)
class Cooldown:
    """A provider's word that a key must rest until ``until`` (epoch seconds)."""

    scope: str  # "provider" or "account"
    until: float
    reason: str


ErrorMapper = Callable[[httpx.Response], ProviderError | None]
FeedbackReader = Callable[[httpx.Response], Cooldown | None]
ResponseObserver = Callable[[str, int | None], None]
#: Given a failed response, the headers of a renewed credential (the token had expired and
#: was refreshed), or None; the request is then sent once more with them.
Reauthorizer = Callable[[httpx.Response], Mapping[str, str] | None]
#: Called with (provider, scope, decision) for "allowed" (scope "all": every limit passed)
#: and "cooldown" (scope "provider" or "account"); the runner records "deferred" itself,
#: once per job put back.
DecisionObserver = Callable[[str, str, str], None]


def _no_feedback(_: httpx.Response) -> Cooldown | None:
    return None


def _no_observer(_provider: str, _status: int | None) -> None:
    return None


class ProviderHttp:
    def __init__(
        self,
        *,
        provider: str,
        account: str,
        client: httpx.Client,
        limiter: RateLimiter,
        headers: Mapping[str, str] | None = None,
        error_mapper: ErrorMapper,
        feedback: FeedbackReader = _no_feedback,
        observe: ResponseObserver = _no_observer,
        decided: DecisionObserver = metrics.ratelimit_decision,
        max_inline_wait_seconds: float = 1.0,
        unstated_wait_seconds: float = 60.0,
        max_inline_throttle_seconds: float = 3.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        reauthorize: Reauthorizer | None = None,
    ) -> None:
        self.provider = provider
        self.account = account
        self.client = client
        self.limiter = limiter
        #: Sent with every request (the connection's auth): the client may be shared.
        self.headers = dict(headers or {})
        self.error_mapper = error_mapper
        self.feedback = feedback
        self.observe = observe
        self.decided = decided
        self.max_inline_wait_seconds = max_inline_wait_seconds
        #: How long a throttle that states no wait rests its scope (seconds).
        self.unstated_wait_seconds = unstated_wait_seconds
        #: A throttle stating a wait this short (seconds) is slept through, once per request.
        self.max_inline_throttle_seconds = max_inline_throttle_seconds
        self.clock = clock
        self.sleep = sleep
        self.reauthorize = reauthorize
        self.requests_sent = 0

    def _take(self, cost: int) -> Permit | None:
        while True:
            decision = self.limiter.acquire(self.provider, self.account, cost)
            if decision.allowed:
                self.decided(self.provider, decision.scope or "all", "allowed")
                return decision.permit
            wait = decision.retry_at - self.clock()
            if wait > self.max_inline_wait_seconds:
                until = datetime.fromtimestamp(decision.retry_at, tz=UTC)
                raise Deferred(until, f"rate limit {decision.scope}", scope=decision.scope or "")
            self.sleep(max(wait, 0.0))

    def request(self, method: str, url: str, *, cost: int = 1, **kwargs: Any) -> httpx.Response:
        """Send one request through the limiter.

        Raises `Deferred` (our limiter refused for longer than the inline wait),
        `Throttled` (the provider said "too many requests"; its scope is now in cooldown)
        or `ProviderError` (any other failure, classified by the connector). A rejection
        that `reauthorize` answers with new headers (the token expired and was refreshed)
        is sent once more with them.
        """
        throttles = 0
        reauthorized = False
        while True:
            try:
                response, error = self._send(method, url, cost, kwargs)
            except Throttled as throttle:
                # A short stated wait is slept through once: the thread is back when the
                # provider's window reopens, not a dispatch round trip later.
                wait = throttle.until.timestamp() - self.clock()
                if throttles or not throttle.stated or wait > self.max_inline_throttle_seconds:
                    raise
                throttles += 1
                self.sleep(max(wait, 0.0))
                continue
            if error is not None and self.reauthorize is not None and not reauthorized:
                reauthorized = True
                renewed = self.reauthorize(response)
                if renewed is not None:
                    self.headers = dict(renewed)
                    continue
            if error is not None:
                raise error
            return response

    def _send(
        self, method: str, url: str, cost: int, kwargs: dict[str, Any]
    ) -> tuple[httpx.Response, ProviderError | None]:
        """One attempt; an API_ERROR (bad credentials) is returned with the response, so
        `request` may renew the token and try once more."""
        permit = self._take(cost)
        self.requests_sent += 1
        options = dict(kwargs)
        try:
            if self.headers:
                options["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
            response = self.client.request(method, url, **options)
        except httpx.TimeoutException as exc:
            self.observe(self.provider, None)
            raise ProviderError(
                ErrorCategory.NETWORK_ERROR, f"timeout: {type(exc).__name__}"
            ) from exc
        except httpx.TransportError as exc:
            self.observe(self.provider, None)
            raise ProviderError(
                ErrorCategory.NETWORK_ERROR, f"transport error: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            # Counted at its answer: the provider saw it somewhere in [grant, now].
            if permit is not None:
                self.limiter.settle(permit)
        self.observe(self.provider, response.status_code)
        hint = self.feedback(response)
        if hint is not None:
            self._cool(hint.scope, hint.until, hint.reason)
        error = self.error_mapper(response)
        if error is not None:
            if error.category is ErrorCategory.RATE_LIMIT:
                raise self._throttled(error) from error
            if error.category is not ErrorCategory.API_ERROR:
                raise error
        return response, error

    def _throttled(self, error: ProviderError) -> Throttled:
        stated = error.retry_at is not None
        until = (
            error.retry_at.timestamp()
            if error.retry_at is not None
            else self.clock() + self.unstated_wait_seconds
        )
        self._cool(error.scope, until, error.message)
        return Throttled(error, datetime.fromtimestamp(until, tz=UTC), stated=stated)

    def request_json(self, method: str, url: str, *, cost: int = 1, **kwargs: Any) -> Any:
        """Like `request`, returning the parsed body; a malformed body is UNKNOWN."""
        response = self.request(method, url, cost=cost, **kwargs)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProviderError(
                ErrorCategory.UNKNOWN,
                f"malformed JSON body ({len(response.content)} bytes)",
                status=response.status_code,
            ) from exc

    def _cool(self, scope: str, until: float, reason: str) -> None:
        account = self.account if scope == "account" else None
        self.limiter.cooldown(self.provider, account, until, reason)
        self.decided(self.provider, scope, "cooldown")
