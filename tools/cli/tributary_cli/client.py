"""The api over HTTP for the CLI: one httpx client, errors turned into exit codes."""

from __future__ import annotations

from typing import Any

import httpx

#: What the exit codes mean (documented in docs/cli.md).
EXIT = {
    "ok": 0,
    "failed": 1,  # the api answered but the operation (or part of it) failed, e.g. 409
    "usage": 2,  # bad options or arguments (Click's own code); 400 from the api
    "not_found": 3,
    "auth": 4,  # 401/403: token missing or wrong
    "unavailable": 5,  # the api cannot be reached, or answered 5xx
}


class CliError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = EXIT[code]


def _code_for(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 400:
        return "usage"
    if status >= 500:
        return "unavailable"
    return "failed"


class Api:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        if not url:
            raise CliError("no api URL: set TRIBUTARY_API_URL or pass --url", "usage")
        if not token:
            raise CliError("no api token: set TRIBUTARY_API_TOKEN or pass --token", "usage")
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "tributary-cli"},
            timeout=timeout,
        )

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """The decoded JSON answer (None for 204); `CliError` for any error answer."""
        params = {k: v for k, v in (kw.pop("params", None) or {}).items() if v is not None}
        try:
            response = self.http.request(method, path, params=params or None, **kw)
        except httpx.HTTPError as exc:
            raise CliError(
                f"cannot reach the api at {self.http.base_url}: {type(exc).__name__}",
                "unavailable",
            ) from None
        if response.status_code >= 400:
            try:
                body = response.json()
                message = f"{body.get('error', 'error')}: {body.get('message', '')}"
            except ValueError:
                message = response.text[:200]
            raise CliError(
                f"HTTP {response.status_code} {message}", _code_for(response.status_code)
            )
        return None if response.status_code == 204 else response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, json=body)
