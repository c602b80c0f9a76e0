"""Provider plugins, discovered by module: see `base` for how a provider plugs in."""

from __future__ import annotations

import importlib
import pkgutil

from .base import Provider, ProviderContext

__all__ = ["Provider", "ProviderContext", "discover"]


def discover() -> dict[str, Provider]:
    """Import every module of this package that defines ``create_provider``; name → plugin."""
    found: dict[str, Provider] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        factory = getattr(module, "create_provider", None)
        if factory is None:
            continue
        provider = factory()
        found[provider.name] = provider
    return found
