"""The tests' encryption key (set by tests/conftest.py, inherited by every process)."""

from __future__ import annotations

import os

from tributary_common.credentials.box import SecretBox, parse_keys


def local_keys() -> tuple[str, ...]:
    return parse_keys(os.environ["TRIBUTARY_ENCRYPTION_KEYS"])


def local_box() -> SecretBox:
    return SecretBox(local_keys())
