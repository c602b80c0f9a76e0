"""The one rule for a test whose service or tool is missing: under CI (``CI=true``) it
fails, so nothing passes silently; on a developer's machine it is skipped with the reason."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: Marks the reason of a skip caused by a missing service, for the end-of-run summary.
PREFIX = "MISSING: "


def missing(message: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: it is required)")
    pytest.skip(PREFIX + message)
