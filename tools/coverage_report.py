"""`python -m tools.coverage_report`: branch coverage per package from `make coverage` data.

Prints one line per package (coverage.py's own total: statements and branches) and exits
1 when any package is under ``--fail-under`` (default 0: report only).
"""

from __future__ import annotations

import argparse
import io
import sys

import coverage
from coverage.exceptions import NoDataError

PACKAGES = ("tributary_common", "tributary_api", "tributary_worker", "tributary_scheduler")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fail-under", type=float, default=0.0)
    args = parser.parse_args(argv)
    cov = coverage.Coverage()
    cov.load()
    worst = 100.0
    for package in PACKAGES:
        try:
            pct = cov.report(include=[f"*/{package}/*"], file=io.StringIO())
        except NoDataError:
            pct = 0.0
        worst = min(worst, pct)
        print(f"{package:22s} {pct:5.1f} % (branch coverage, subprocesses included)")
    return 1 if worst < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
