"""A `helm` for checkov's Helm framework, backed by Helm's own Go engine (helm-python-sdk).

checkov runs `helm version`, `helm dependency list <chart>` and
`helm template --dependency-update <chart> [--values f]...`; this answers those three
with the project venv (deploy/helm/scan/run.py puts a `helm` wrapper on PATH), so no
helm binary is downloaded.
The chart has no dependencies. Any other use exits 2.
"""

import sys
from pathlib import Path

import helm_python
import yaml


def main(argv: list[str]) -> int:
    if argv[:1] == ["version"]:
        print('version.BuildInfo{Version:"v3.99.0-helm-python-sdk"}')
        return 0
    if argv[:2] == ["dependency", "list"]:
        print("WARNING: no dependencies in chart")
        return 0
    if argv[:1] == ["template"]:
        args = [a for a in argv[1:] if a != "--dependency-update"]
        values: dict = {}
        chart = None
        while args:
            arg = args.pop(0)
            if arg in {"--values", "-f"}:
                values.update(yaml.safe_load(Path(args.pop(0)).read_text()) or {})
            elif not arg.startswith("-"):
                chart = arg
        if chart is None:
            print("helm shim: template needs a chart", file=sys.stderr)
            return 2
        with helm_python.Chart.load(chart) as loaded:
            manifests = loaded.render(
                values, name="checkov", namespace="tributary", is_install=True
            )
        for name, text in sorted(manifests.items()):
            if name.endswith("NOTES.txt") or not text.strip():
                continue
            print(f"---\n# Source: {name}\n{text}")
        return 0
    print(f"helm shim: unsupported: {' '.join(argv)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
