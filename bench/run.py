"""`make bench`: run every benchmark, then write docs/benchmarks.md with the machine and command.

Each `bench_<name>.py` writes `bench/results/<name>.md`; this collects them in one page.
Benchmarks measure ratios against a baseline run in the same session where they can
(the machines are shared and noisy).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("pipeline", "io", "ratelimit", "api", "metrics", "backlog")


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    return f"{os.cpu_count()} cores ({model}){mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> int:
    only = sys.argv[1:] or list(BENCHES)
    failed = []
    for name in only:
        script = ROOT / "bench" / f"bench_{name}.py"
        if not script.exists():
            print(f"bench: no {script.name}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"== bench {name}", flush=True)
        if subprocess.run(
            [sys.executable, "-m", f"bench.bench_{name}"], cwd=ROOT, check=False
        ).returncode:
            failed.append(name)
    sections = []
    for name in BENCHES:
        result = ROOT / "bench" / "results" / f"{name}.md"
        if result.exists():
            sections.append(result.read_text().strip())
    header = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {machine()}. Shared and noisy: compare ratios measured in the same run.",
        "",
        "Command: `make bench` (all), or `python -m bench.run pipeline` for one.",
        "",
    ]
    (ROOT / "docs" / "benchmarks.md").write_text(
        "\n".join(header) + "\n" + "\n\n".join(sections) + "\n"
    )
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
