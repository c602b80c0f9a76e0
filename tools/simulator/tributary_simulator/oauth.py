"""OAuth as each provider really answers it: authorize, token (code and refresh), revoke.

Facts and sources: /work/shared/providers-auth-webhooks.md (tags in brackets).

| provider            | token endpoint (under /<provider>)            | rotation | error dialect |
|---------------------|-----------------------------------------------|----------|---------------|
| youtube, google_ads | POST /token                                   | none [S GO-4] | 400 ``invalid_grant`` JSON [S ISS-6] |
| x                   | POST /2/oauth2/token (Basic auth) [C X-2]     | single use [S ISS-22] | 400 ``invalid_request`` [S ISS-24] |
| github              | POST /login/oauth/access_token [C GH-2]       | single use, old access token dies [C GH-1] | HTTP 200 + ``error`` body [S ISS-3]; form-encoded unless ``Accept: application/json`` [C GH-3] |
| instagram           | GET /refresh_access_token (token >= 24 h) [C IG-4] | same or new string [S ISS-27] | Graph envelope, code 190 |
| meta_ads            | GET /{ver}/oauth/access_token (fb_exchange_token) [C META-2] | new string | Graph envelope |

Tokens this module issued expire and can be revoked: an API call with one that expired or
was revoked is answered with the provider's own 401 (`Provider.render_auth`). Tokens it
never issued are accepted as before (the simulator's other tests use made-up tokens).

Admin (`/_admin/oauth…`, see `admin.py`): seed a grant, revoke it, expire an access token,
make a token endpoint slow or failing, deny consent; counters of every grant redeemed.
A slow endpoint drops a request whose client went away before it was processed (as a
proxy does for a client that disconnected while queued).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from .messages import SimRequest, SimResponse

GOOGLE = ("youtube", "google_ads")
#: Access-token lifetimes in seconds: Google ~1 h [C GO-7], X 2 h [C X-1], GitHub App
#: user tokens 8 h [C GH-1], Instagram and Meta long-lived 60 days [C IG-4, META-2].
DEFAULT_TTL = {
    "youtube": 3599,
    "google_ads": 3599,
    "x": 7200,
    "github": 28800,
    "instagram": 5_184_000,
    "meta_ads": 5_184_000,
}
ROTATES = {"x", "github"}
PREFIX = {
    "youtube": ("ya29.sim-", "1//sim-"),
    "google_ads": ("ya29.sim-", "1//sim-"),
    "x": ("xat-sim-", "xrt-sim-"),
    "github": ("ghu_sim", "ghr_sim"),
    "instagram": ("IGQsim", ""),
    "meta_ads": ("EAAsim", ""),
}
INSTAGRAM_MIN_AGE_SECONDS = 86_400
CODE_SECONDS = {"x": 30, "github": 600}


@dataclass
class Grant:
    provider: str
    client_id: str
    scopes: str
    account: str | None
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class Issued:
    grant: Grant
    issued_at: float
    expires_at: float | None
    revoked: bool = False


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    challenge: str | None
    method: str | None
    expires_at: float
    used: bool = False


@dataclass
class Behaviour:
    """How one provider's token endpoint behaves (admin-settable)."""

    access_ttl: float
    delay_seconds: float = 0.0
    fail_status: int | None = None
    #: Failures left before the endpoint works again (-1: until changed).
    fail_count: int = -1
    deny_consent: bool = False
    #: Account the simulated user consents with (the connect flow's result).
    consent_account: str | None = None


@dataclass
class OAuthServer:
    clock: Callable[[], float] = time.time
    grants: list[Grant] = field(default_factory=list)
    access: dict[str, Issued] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    spent: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.grants.clear()
            self.access.clear()
            self.refresh.clear()
            self.spent.clear()
            self.codes.clear()
            self.behaviour = {p: Behaviour(ttl) for p, ttl in DEFAULT_TTL.items()}
            self.counters = {p: {} for p in DEFAULT_TTL}

    def _count(self, provider: str, what: str) -> None:
        bucket = self.counters.setdefault(provider, {})
        bucket[what] = bucket.get(what, 0) + 1

    # Issuing ---------------------------------------------------------------------------

    def _issue(self, grant: Grant, ttl: float | None = None) -> dict[str, Any]:
        access_prefix, refresh_prefix = PREFIX[grant.provider]
        access = access_prefix + secrets.token_urlsafe(24)
        now = self.clock()
        ttl = self.behaviour[grant.provider].access_ttl if ttl is None else ttl
        self.access[access] = Issued(grant, now, now + ttl if ttl else None)
        body: dict[str, Any] = {"access_token": access, "token_type": "bearer"}
        if ttl:
            body["expires_in"] = int(ttl) if float(ttl).is_integer() else ttl
        if refresh_prefix and (grant.refresh_token is None or grant.provider in ROTATES):
            if grant.refresh_token is not None:
                self.refresh.pop(grant.refresh_token, None)
                self.spent[grant.refresh_token] = grant
            grant.refresh_token = refresh_prefix + secrets.token_urlsafe(24)
            self.refresh[grant.refresh_token] = grant
            body["refresh_token"] = grant.refresh_token
        body["scope"] = grant.scopes
        return body

    def seed(self, provider: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Admin: a grant as if the user had consented; returns its tokens."""
        with self.lock:
            grant = Grant(
                provider,
                str(payload.get("clientId", "sim-client")),
                str(payload.get("scopes", "")),
                payload.get("account"),
            )
            self.grants.append(grant)
            ttl = payload.get("expiresIn")
            body = self._issue(grant, None if ttl is None else float(ttl))
            issued = self.access[body["access_token"]]
            issued.issued_at -= float(payload.get("ageSeconds", 0))
            return body

    # What the API side asks --------------------------------------------------------------

    def rejects(self, provider: str, request: SimRequest) -> bool:
        """Whether the request carries a token this server issued that no longer works."""
        token = request.bearer_token() or request.arg("access_token")
        if token is None:
            return False
        with self.lock:
            issued = self.access.get(token)
            if issued is None or issued.grant.provider != provider:
                return False
            expired = issued.expires_at is not None and issued.expires_at <= self.clock()
            if expired or issued.revoked or issued.grant.revoked:
                self._count(provider, "api_rejected")
                return True
            self._count(provider, "api_accepted")
            return False

    # Admin -------------------------------------------------------------------------------

    def revoke(self, provider: str, token: str) -> bool:
        """Revoke the grant a refresh or access token belongs to (consent withdrawn)."""
        with self.lock:
            grant = self.refresh.get(token) or (
                self.access[token].grant if token in self.access else None
            )
            if grant is None or grant.provider != provider:
                return False
            grant.revoked = True
            return True

    def expire(self, provider: str, token: str) -> bool:
        with self.lock:
            issued = self.access.get(token)
            if issued is None or issued.grant.provider != provider:
                return False
            issued.expires_at = self.clock()
            return True

    def configure(self, provider: str, payload: dict[str, Any]) -> Behaviour:
        with self.lock:
            b = self.behaviour[provider]
            if "accessTtlSeconds" in payload:
                b.access_ttl = float(payload["accessTtlSeconds"])
            if "delaySeconds" in payload:
                b.delay_seconds = float(payload["delaySeconds"])
            if "failStatus" in payload:
                b.fail_status = (
                    None if payload["failStatus"] is None else int(payload["failStatus"])
                )
                b.fail_count = int(payload.get("failCount", -1))
            if "denyConsent" in payload:
                b.deny_consent = bool(payload["denyConsent"])
            if "consentAccount" in payload:
                b.consent_account = payload["consentAccount"]
            return b

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                p: {
                    "counters": dict(self.counters.get(p, {})),
                    "liveRefreshTokens": sum(
                        1 for g in self.refresh.values() if g.provider == p and not g.revoked
                    ),
                    **{k: v for k, v in vars(self.behaviour[p]).items()},
                }
                for p in DEFAULT_TTL
            }

    # The endpoints -----------------------------------------------------------------------

    def route(self, provider: str, request: SimRequest) -> str | None:
        """Which OAuth endpoint a request is for, or None (an API request)."""
        path, method = request.path.rstrip("/"), request.method
        if provider in GOOGLE:
            table = {("POST", "/token"): "token", ("GET", "/o/oauth2/v2/auth"): "authorize"}
        elif provider == "x":
            table = {
                ("POST", "/2/oauth2/token"): "token",
                ("GET", "/i/oauth2/authorize"): "authorize",
            }
        elif provider == "github":
            table = {
                ("POST", "/login/oauth/access_token"): "token",
                ("GET", "/login/oauth/authorize"): "authorize",
            }
        elif provider == "instagram":
            table = {
                ("GET", "/refresh_access_token"): "ig_refresh",
                ("POST", "/oauth/access_token"): "token",
                ("GET", "/oauth/authorize"): "authorize",
            }
        else:
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[1:] == ["oauth", "access_token"] and method == "GET":
                return "meta_token"
            if len(parts) == 3 and parts[1:] == ["dialog", "oauth"] and method == "GET":
                return "authorize"
            return None
        return table.get((method, path))

    def handle(
        self, provider: str, endpoint: str, request: SimRequest, client_gone: Callable[[], bool]
    ) -> SimResponse | None:
        """Answer an OAuth endpoint; None: drop the request (the client went away)."""
        if endpoint == "authorize":
            return self._authorize(provider, request)
        b = self.behaviour[provider]
        if b.delay_seconds:
            time.sleep(b.delay_seconds)
            if client_gone():
                with self.lock:
                    self._count(provider, "dropped_client_gone")
                return None
        with self.lock:
            if b.fail_status is not None and b.fail_count != 0:
                if b.fail_count > 0:
                    b.fail_count -= 1
                self._count(provider, f"failed_{b.fail_status}")
                headers = {"Retry-After": "1"} if b.fail_status == 429 else {}
                return SimResponse.json(b.fail_status, {"error": "internal_failure"}, headers)
            params = _params(request)
            if endpoint == "ig_refresh":
                return self._graph_refresh(provider, params)
            if endpoint == "meta_token":
                if params.get("grant_type") == "fb_exchange_token":
                    return self._graph_refresh(provider, params, token_param="fb_exchange_token")
                return self._code_grant(provider, request, params)
            grant_type = params.get("grant_type")
            if grant_type == "refresh_token":
                return self._refresh_grant(provider, request, params)
            if grant_type == "authorization_code" or (provider == "github" and "code" in params):
                return self._code_grant(provider, request, params)
            return self._oauth_error(provider, "unsupported_grant_type", "grant_type not supported")

    def _client_ok(self, provider: str, request: SimRequest, params: dict[str, str]) -> bool:
        if provider != "x":
            return bool(params.get("client_id"))
        header = request.header("authorization") or ""
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "basic" and bool(value)

    def _refresh_grant(
        self, provider: str, request: SimRequest, params: dict[str, str]
    ) -> SimResponse:
        if not self._client_ok(provider, request, params):
            self._count(provider, "unauthorized_client")
            if provider == "x":
                return SimResponse.json(
                    401,
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                )
            return self._oauth_error(provider, "invalid_client", "The OAuth client was not found.")
        token = params.get("refresh_token", "")
        grant = self.refresh.get(token)
        if grant is None or grant.revoked or grant.provider != provider:
            reason = (
                "revoked" if grant is not None else ("reused" if token in self.spent else "unknown")
            )
            self._count(provider, f"invalid_grant_{reason}")
            return self._invalid_refresh(provider)
        if provider == "github":
            # Rotation kills the previous access token too [C GH-1].
            for issued in self.access.values():
                if issued.grant is grant:
                    issued.revoked = True
        self._count(provider, "refreshed")
        return self._token_response(provider, request, self._issue(grant))

    def _invalid_refresh(self, provider: str) -> SimResponse:
        if provider == "x":
            return SimResponse.json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
            )
        if provider == "github":
            return SimResponse.json(
                200,
                {
                    "error": "bad_refresh_token",
                    "error_description": "The refresh token passed is incorrect or expired.",
                    "error_uri": "https://docs.github.com",
                },
            )
        return SimResponse.json(
            400,
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
        )

    def _oauth_error(self, provider: str, error: str, description: str) -> SimResponse:
        status = 200 if provider == "github" else 400
        return SimResponse.json(status, {"error": error, "error_description": description})

    def _token_response(
        self, provider: str, request: SimRequest, body: dict[str, Any]
    ) -> SimResponse:
        if provider == "github":
            body["refresh_token_expires_in"] = 15_811_200
            body["scope"] = ""
            if "application/json" not in (request.header("accept") or ""):
                form = urlencode({k: str(v) for k, v in body.items()})
                return SimResponse(
                    200, form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
                )
        if provider == "meta_ads":
            body.pop("scope", None)
            body.pop("refresh_token", None)
        return SimResponse.json(200, body)

    def _graph_refresh(
        self, provider: str, params: dict[str, str], token_param: str = "access_token"
    ) -> SimResponse:
        token = params.get(token_param, "")
        issued = self.access.get(token)
        now = self.clock()
        if issued is None or issued.grant.provider != provider:
            self._count(provider, "invalid_token")
            return _graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if issued.revoked or issued.grant.revoked:
            self._count(provider, "invalid_token_revoked")
            return _graph_error(
                400,
                190,
                "Error validating access token: The user has not authorized application.",
                458,
            )
        if issued.expires_at is not None and issued.expires_at <= now:
            self._count(provider, "invalid_token_expired")
            return _graph_error(
                400, 190, "Error validating access token: Session has expired.", 463
            )
        if provider == "instagram" and now - issued.issued_at < INSTAGRAM_MIN_AGE_SECONDS:
            # The exact answer to a too-young token is not documented [U].
            self._count(provider, "too_young")
            return _graph_error(400, 10, "The access token must be at least 24 hours old.")
        issued.revoked = provider == "meta_ads"  # the exchange returns a different string
        self._count(provider, "refreshed")
        body = self._issue(issued.grant)
        body.pop("refresh_token", None)
        body.pop("scope", None)
        return SimResponse.json(200, body)

    # Authorization code flow -------------------------------------------------------------

    def _authorize(self, provider: str, request: SimRequest) -> SimResponse:
        redirect = request.arg("redirect_uri") or ""
        state = request.arg("state")
        client_id = request.arg("client_id")
        if not redirect or not client_id:
            return SimResponse.json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "missing client_id or redirect_uri",
                },
            )
        answer: dict[str, str] = {}
        with self.lock:
            b = self.behaviour[provider]
            challenge = request.arg("code_challenge")
            method = request.arg("code_challenge_method")
            if provider == "x" and not challenge:
                return SimResponse.json(
                    400, {"error": "invalid_request", "error_description": "PKCE required"}
                )
            if b.deny_consent:
                answer = {
                    "error": "access_denied",
                    "error_description": "The user denied your request.",
                }
                self._count(provider, "consent_denied")
            else:
                grant = Grant(
                    provider,
                    client_id,
                    (request.arg("scope") or "").replace(",", " "),
                    b.consent_account,
                )
                self.grants.append(grant)
                code = secrets.token_urlsafe(16)
                self.codes[code] = Code(
                    grant,
                    redirect,
                    challenge,
                    method,
                    self.clock() + CODE_SECONDS.get(provider, 600),
                )
                answer = {"code": code}
                self._count(provider, "consented")
        if state is not None:
            answer["state"] = state
        separator = "&" if "?" in redirect else "?"
        location = redirect + separator + urlencode(answer)
        if provider == "instagram":
            location += "#_"  # Meta appends it after the code [C IG-2]
        return SimResponse(302, b"", {"Location": location})

    def _code_grant(
        self, provider: str, request: SimRequest, params: dict[str, str]
    ) -> SimResponse:
        code = self.codes.get(params.get("code", ""))
        bad = code is None or code.used or code.expires_at < self.clock()
        if not bad and code is not None:
            bad = params.get("redirect_uri", code.redirect_uri) != code.redirect_uri
        if not bad and code is not None and code.challenge:
            bad = not _pkce_ok(code, params.get("code_verifier"))
        if bad or code is None:
            self._count(provider, "code_rejected")
            if code is not None:
                code.used = True  # a failed redemption spends the code too
            return self._bad_code(provider)
        code.used = True
        self._count(provider, "code_exchanged")
        body = self._issue(code.grant)
        if provider == "instagram":
            body = {
                "access_token": body["access_token"],
                "user_id": code.grant.account,
                "permissions": code.grant.scopes.replace(" ", ","),
            }
            return SimResponse.json(200, {"data": [body]})
        return self._token_response(provider, request, body)

    def _bad_code(self, provider: str) -> SimResponse:
        if provider == "x":
            return SimResponse.json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the authorization code was invalid.",
                },
            )
        if provider == "github":
            return SimResponse.json(
                200,
                {
                    "error": "bad_verification_code",
                    "error_description": "The code passed is incorrect or expired.",
                },
            )
        if provider in ("instagram", "meta_ads"):
            return _graph_error(400, 100, "This authorization code has been used.")
        return SimResponse.json(400, {"error": "invalid_grant", "error_description": "Bad Request"})


def _pkce_ok(code: Code, verifier: str | None) -> bool:
    if not verifier or not code.challenge:
        return False
    if (code.method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.challenge
    return verifier == code.challenge


def _params(request: SimRequest) -> dict[str, str]:
    params = {k: v[0] for k, v in request.query.items() if v}
    if request.body:
        params.update(
            {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items() if v}
        )
    return params


def _graph_error(status: int, code: int, message: str, subcode: int | None = None) -> SimResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "sim",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return SimResponse.json(status, {"error": error})


#: Where each provider's endpoints live under the simulator's ``/<provider>`` prefix.
ENDPOINT_PATHS = {
    "youtube": ("/token", "/o/oauth2/v2/auth"),
    "google_ads": ("/token", "/o/oauth2/v2/auth"),
    "x": ("/2/oauth2/token", "/i/oauth2/authorize"),
    "github": ("/login/oauth/access_token", "/login/oauth/authorize"),
    "instagram": ("/refresh_access_token", "/oauth/authorize"),
    "meta_ads": ("/v25.0/oauth/access_token", "/v25.0/dialog/oauth"),
}


def oauth_env(simulator_url: str, client_id: str = "sim-client") -> dict[str, str]:
    """Environment pointing every provider's OAuth app at this simulator (`make run`, tests)."""
    env: dict[str, str] = {}
    for provider, (token, authorize) in ENDPOINT_PATHS.items():
        key = f"TRIBUTARY_{provider.upper()}"
        env[f"{key}_TOKEN_URL"] = f"{simulator_url}/{provider}{token}"
        env[f"{key}_AUTHORIZE_URL"] = f"{simulator_url}/{provider}{authorize}"
        env[f"{key}_CLIENT_ID"] = f"{client_id}-{provider}"
        env[f"{key}_CLIENT_SECRET"] = f"sim-secret-{provider}"
    return env
