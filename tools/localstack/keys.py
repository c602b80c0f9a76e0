"""The local encryption key of `make run` and the tests: generated once under `.run/`.

Deployments set ``TRIBUTARY_ENCRYPTION_KEYS`` themselves (the chart's Secret); every
process refuses to start without it. Only this local path makes one up.
"""

from __future__ import annotations

import os
from pathlib import Path

from tributary_common.credentials.box import new_key

FILE_NAME = "encryption-key"


def local_encryption_key(run_dir: Path) -> str:
    """The key in ``run_dir/encryption-key``, created (mode 0600) on first use."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(new_key() + "\n")
    for _ in range(100):  # another process may be writing it this instant
        key = path.read_text().strip()
        if key:
            return key
    raise RuntimeError(f"{path} is empty")
