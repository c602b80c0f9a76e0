"""`python -m tools.localstack.prereqs`: system tools the tests need, installed when possible.

`make test` runs this before pytest. Today that is Prometheus' `promtool` and `prometheus`
(Debian's `prometheus` package), used by tests/observability to check the rule file and
to evaluate every dashboard and rule expression against a live server, and Debian's
`chromium`, which the console's browser tests (tests/console) drive through Playwright
(no browser download). As root with apt,
they are installed (after `apt-get update` if the first attempt fails); otherwise a
one-line note says what is missing, and the tests decide (fail under CI, skip elsewhere).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

#: Debian package → commands it provides.
PACKAGES: dict[str, tuple[str, ...]] = {
    "prometheus": ("promtool", "prometheus"),
    "chromium": ("chromium",),
}

Runner = Callable[[Sequence[str]], int]


def _run(command: Sequence[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(command), env=env, check=False).returncode


def missing_packages(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Return the packages at least one of whose commands is not on PATH."""
    return [pkg for pkg, commands in PACKAGES.items() if any(which(c) is None for c in commands)]


def install(packages: Sequence[str], run: Runner = _run) -> bool:
    """apt-get install ``packages``; on failure refresh the package lists and try once more."""
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if run(command) == 0:
        return True
    return run(["apt-get", "update"]) == 0 and run(command) == 0


def main() -> int:
    missing = missing_packages()
    if not missing:
        return 0
    names = ", ".join(missing)
    can_install = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
    if not can_install:
        print(
            f"prereqs: {names} not installed and apt-get as root is unavailable; "
            "tests needing it skip (fail under CI=true)"
        )
        return 0
    if install(missing) and not missing_packages():
        print(f"prereqs: installed {names}")
    else:
        print(f"prereqs: could not install {names}; tests needing it skip (fail under CI=true)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
