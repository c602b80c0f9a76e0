"""Why a delivery was refused before anything was recorded."""

from __future__ import annotations


class Malformed(ValueError):
    """A signed delivery whose shape is not what the provider sends (answered 400)."""
