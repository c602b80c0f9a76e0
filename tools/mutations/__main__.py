"""`python -m tools.mutations`: plant one known bug at a time, run the tests that guard it.

Each mutation removes one guard the ledger relies on (docs/testing.md names them). The
work tree is copied to a temporary folder per mutation, the bug is planted
there, and the named tests run against it; a mutation that no test catches is reported
and the command exits 1. Needs PostgreSQL (and Redis) as `make test` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUERIES = "libs/common/tributary_common/ledger/queries"


@dataclass(frozen=True)
class Mutation:
    """A named bug: ``edits`` are (path, old text, new text), each applied once."""

    name: str
    edits: tuple[tuple[str, str, str], ...]
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "dedup ignores a running job",
        (
            (
                "libs/common/tributary_common/migrations/0001_initial.sql",
                "(connection_id, sync_date)\n    WHERE status IN ('pending', 'processing');",
                "(connection_id, sync_date)\n    WHERE status IN ('pending');",
            ),
            (
                f"{QUERIES}/jobs.sql",
                "ON CONFLICT (connection_id, sync_date) WHERE status IN ('pending', 'processing')"
                " DO NOTHING\nRETURNING *",
                "ON CONFLICT (connection_id, sync_date) WHERE status IN ('pending')"
                " DO NOTHING\nRETURNING *",
            ),
            (
                f"{QUERIES}/jobs.sql",
                "AND status IN ('pending', 'processing')\nFOR UPDATE",
                "AND status IN ('pending')\nFOR UPDATE",
            ),
        ),
        ("tests/ledger/test_guarantees.py",),
    ),
    Mutation(
        "replay guard removed",
        (
            (
                f"{QUERIES}/deadletters.sql",
                "WHERE id = %(id)s AND replayed_at IS NULL\nRETURNING *",
                "WHERE id = %(id)s\nRETURNING *",
            ),
        ),
        ("tests/ledger/test_guarantees.py",),
    ),
    Mutation(
        "lease-owner check on complete removed",
        (
            (
                f"{QUERIES}/jobs.sql",
                "    WHERE id = %(id)s AND status = 'processing' AND lease_owner = %(owner)s\n"
                "    RETURNING *\n), attempt AS (",
                "    WHERE id = %(id)s AND status = 'processing'\n    RETURNING *\n), attempt AS (",
            ),
        ),
        ("tests/ledger/test_guarantees.py",),
    ),
    Mutation(
        "raise to manual applied to a running job",
        (
            (
                f"{QUERIES}/jobs.sql",
                "WHERE id = %(id)s AND status = 'pending' AND priority > 1",
                "WHERE id = %(id)s AND priority > 1",
            ),
        ),
        ("tests/ledger/test_guarantees.py",),
    ),
)


def _tree(into: Path) -> None:
    """Copy the work tree's files (tracked and untracked, not ignored) into ``into``."""
    listed = (
        subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "-co", "--exclude-standard"],
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


def run(mutation: Mutation) -> bool:
    """Plant ``mutation`` in a copy of the work tree; True when at least one named test fails."""
    with tempfile.TemporaryDirectory(prefix="trt-mutant-") as tmp:
        tree = Path(tmp)
        _tree(tree)
        for path, old, new in mutation.edits:
            target = tree / path
            text = target.read_text()
            if old not in text:
                raise SystemExit(f"mutation {mutation.name!r}: guard not found in {path}")
            target.write_text(text.replace(old, new, 1))
        paths = (
            "libs/common",
            "services/api",
            "services/worker",
            "services/scheduler",
            "tools/simulator",
            "",
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / p) for p in paths)}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-rfE",
                "-p",
                "no:cacheprovider",
                *mutation.tests,
            ],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    failed = [ln for ln in result.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    print(f"{'caught' if result.returncode else 'MISSED'}: {mutation.name}")
    for line in failed:
        print(f"    {line}")
    return result.returncode != 0


def main() -> int:
    return 0 if all([run(m) for m in MUTATIONS]) else 1


if __name__ == "__main__":
    sys.exit(main())
