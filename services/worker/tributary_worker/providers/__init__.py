"""Connector registry: provider name → connector class.

Adding a provider: a new folder `providers/<name>/` (client.py, streams.py, a `Connector`
class in __init__.py) and one `REGISTRY.register(...)` line below.
"""

from __future__ import annotations

from tributary_common.connectors import ConnectorRegistry

REGISTRY = ConnectorRegistry()

from . import google_ads, instagram, meta_ads  # noqa: E402

REGISTRY.register("instagram", instagram.Connector)
REGISTRY.register("meta_ads", meta_ads.Connector)
REGISTRY.register("google_ads", google_ads.Connector)

from . import github  # noqa: E402

REGISTRY.register("github", github.Connector)

from . import youtube  # noqa: E402

REGISTRY.register("youtube", youtube.Connector)

from . import x  # noqa: E402

REGISTRY.register("x", x.Connector)
