"""Refresh adapters, one per way a provider renews tokens (facts and sources:
/work/shared/providers-auth-webhooks.md, summarised in docs/credentials.md).

| provider            | adapter                    | renews                                      |
|---------------------|----------------------------|---------------------------------------------|
| youtube, google_ads | `oauth2.google`            | refresh_token grant; no rotation [S GO-4]   |
| x                   | `oauth2.x`                 | refresh_token grant, Basic auth; single-use |
| github              | `oauth2.github`            | GitHub App user tokens (8 h, rotating); PATs never |
| instagram           | `graph.InstagramRefresher` | refresh_access_token (token >= 24 h old)    |
| meta_ads            | `graph.MetaRefresher`      | system-user 60-day tokens (fb_exchange_token); user tokens cannot |
"""

from __future__ import annotations

from ...settings import Settings
from ..refresher import Refresher
from . import graph, oauth2


def build_refreshers(settings: Settings) -> dict[str, Refresher]:
    """The refresher of every provider whose OAuth app is configured (Instagram needs none)."""
    margin = settings.refresh_margin_seconds
    apps = settings.oauth_apps
    found: dict[str, Refresher] = {}
    for provider in ("youtube", "google_ads"):
        if provider in apps and apps[provider].configured:
            found[provider] = oauth2.google(provider, apps[provider], margin)
    if "x" in apps and apps["x"].configured:
        found["x"] = oauth2.x(apps["x"], margin)
    if "github" in apps and apps["github"].configured:
        found["github"] = oauth2.github(apps["github"], margin)
    if "instagram" in apps:
        found["instagram"] = graph.InstagramRefresher(apps["instagram"])
    if "meta_ads" in apps and apps["meta_ads"].configured:
        found["meta_ads"] = graph.MetaRefresher(apps["meta_ads"])
    return found
