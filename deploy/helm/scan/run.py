"""The platform scanners of `make helm-lint`: checkov on the chart, hadolint on the Dockerfile.

Run with the project venv (it renders the chart with helm-python-sdk), pointing at the
scanners' own venv: ``python deploy/helm/scan/run.py --scan-venv .run/scan-venv``.

- checkov, Kubernetes framework, on every rendered scenario (default values and each
  ``ci/*-values.yaml``, rendered with Helm's engine into .run/chart-scan/);
- checkov, Helm framework, on the chart itself (checkov renders it through
  ``helm_shim.py``, a ``helm`` on PATH backed by the same engine);
- hadolint on the Dockerfile.

Exceptions are listed, each with its reason, in deploy/helm/scan/checkov.yaml and
.hadolint.yaml. checkov runs offline (``--skip-download``). Exit 0 only when every
scanner reports 0 failed checks; 2 when a scanner is not installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.helm import chartlib  # noqa: E402

HERE = Path(__file__).resolve().parent
CHECKOV_CONFIG = HERE / "checkov.yaml"
OUT = ROOT / ".run" / "chart-scan"


def render_scenarios(destination: Path) -> Path:
    """Every scenario rendered into one file each, as checkov's Kubernetes framework reads."""
    shutil.rmtree(destination, ignore_errors=True)
    manifests = destination / "manifests"
    manifests.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        chart = chartlib.prepare_chart(Path(tmp))
        for name, values in chartlib.scenarios().items():
            docs = list(chartlib.objects(chartlib.render(chart, values)))
            (manifests / f"{name}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return manifests


def helm_wrapper(directory: Path) -> Path:
    """A `helm` executable that runs helm_shim.py with this interpreter."""
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "helm"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "helm_shim.py"}" "$@"\n')
    wrapper.chmod(0o755)
    return directory


def run(command: list[str], env: dict[str, str] | None = None) -> int:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scan-venv", type=Path, default=ROOT / ".run" / "scan-venv")
    args = p.parse_args()
    bin_dir = args.scan_venv / "bin"
    checkov, hadolint = bin_dir / "checkov", bin_dir / "hadolint"
    for tool in (checkov, hadolint):
        if not tool.exists():
            print(f"helm-lint: {tool} is missing; run `make helm-lint`", file=sys.stderr)
            return 2
    manifests = render_scenarios(OUT)
    env = {
        **os.environ,
        "PATH": f"{helm_wrapper(OUT / 'bin')}{os.pathsep}{os.environ.get('PATH', '')}",
        # Offline: no guideline download, no telemetry, no SCA.
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    }
    common = [
        "--config-file",
        str(CHECKOV_CONFIG),
        "--skip-download",
        "--compact",
        "--quiet",
    ]
    failures = 0
    failures += run([str(checkov), *common, "-d", str(manifests), "--framework", "kubernetes"], env)
    # The Helm framework builds its graph per template file, so the cross-file check
    # CKV2_K8S_6 (a NetworkPolicy selects each pod) cannot see templates/networkpolicy.yaml
    # there; the Kubernetes framework above evaluates it on the same renders and passes.
    skips = ",".join([*yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"], "CKV2_K8S_6"])
    helm_args = ["--skip-download", "--compact", "--quiet", "--skip-check", skips]
    failures += run(
        [str(checkov), *helm_args, "-d", str(chartlib.CHART), "--framework", "helm"], env
    )
    failures += run([str(hadolint), "--config", str(ROOT / ".hadolint.yaml"), "Dockerfile"])
    if failures:
        print("helm-lint: a scanner reported failed checks (see above)", file=sys.stderr)
        return 1
    print("helm-lint: checkov (kubernetes, helm) and hadolint: 0 failed checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
