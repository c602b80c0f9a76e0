"""Each provider's OAuth app: client id and secret, token and authorize endpoints.

Read from ``TRIBUTARY_<PROVIDER>_CLIENT_ID``, ``…_CLIENT_SECRET``, ``…_TOKEN_URL`` and
``…_AUTHORIZE_URL`` (the last two default to the real endpoints; `make run` and the
tests point them at the simulator). Endpoints: /work/shared/providers-auth-webhooks.md
§0 (GitHub [C GH-2], Google [S GO-3, GO-6], X [C X-1, X-2], Instagram [C IG-4],
Meta [C META-2, META-3]).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
META_GRAPH_VERSION = "v25.0"

DEFAULT_TOKEN_URLS: dict[str, str] = {
    "github": "https://github.com/login/oauth/access_token",
    "youtube": GOOGLE_TOKEN_URL,
    "google_ads": GOOGLE_TOKEN_URL,
    "x": "https://api.x.com/2/oauth2/token",
    # Instagram Login: long-lived tokens renew here (GET, grant_type=ig_refresh_token).
    "instagram": "https://graph.instagram.com/refresh_access_token",
    "meta_ads": f"https://graph.facebook.com/{META_GRAPH_VERSION}/oauth/access_token",
}
DEFAULT_AUTHORIZE_URLS: dict[str, str] = {
    "github": "https://github.com/login/oauth/authorize",
    "youtube": GOOGLE_AUTHORIZE_URL,
    "google_ads": GOOGLE_AUTHORIZE_URL,
    "x": "https://x.com/i/oauth2/authorize",
    "instagram": "https://www.instagram.com/oauth/authorize",
    "meta_ads": f"https://www.facebook.com/{META_GRAPH_VERSION}/dialog/oauth",
}


@dataclass(frozen=True)
class OAuthApp:
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    token_url: str = ""
    authorize_url: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.token_url)


def _endpoint(name: str, value: str | None, default: str) -> str:
    url = value or default
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://")
    return url


def apps_from_env(env: Mapping[str, str], providers: tuple[str, ...]) -> dict[str, OAuthApp]:
    apps: dict[str, OAuthApp] = {}
    for provider in providers:
        key = provider.upper()
        apps[provider] = OAuthApp(
            client_id=env.get(f"TRIBUTARY_{key}_CLIENT_ID", ""),
            client_secret=env.get(f"TRIBUTARY_{key}_CLIENT_SECRET", ""),
            token_url=_endpoint(
                f"TRIBUTARY_{key}_TOKEN_URL",
                env.get(f"TRIBUTARY_{key}_TOKEN_URL"),
                DEFAULT_TOKEN_URLS[provider],
            ),
            authorize_url=_endpoint(
                f"TRIBUTARY_{key}_AUTHORIZE_URL",
                env.get(f"TRIBUTARY_{key}_AUTHORIZE_URL"),
                DEFAULT_AUTHORIZE_URLS[provider],
            ),
        )
    return apps
