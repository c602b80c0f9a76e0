"""The chart tests' npm install fails fast, with a clear message, without a registry."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from tests.helm import crs
from tests.support.missing import missing


def test_an_unreachable_registry_fails_fast_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("npm") is None:
        missing("npm is not installed")
    # A registry that accepts connections and never answers (the hang of a dead proxy)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{silent.getsockname()[1]}/")
        monkeypatch.setenv("npm_config_cache", str(tmp_path / "cache"))
        monkeypatch.setattr(crs, "NPM_PREFIX", tmp_path / "npm")
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="npm registry is unreachable"):
            crs.ensure_models()
        took = time.monotonic() - started
    assert took < crs.NPM_FETCH_TIMEOUT_SECONDS * 4 + 10, took
