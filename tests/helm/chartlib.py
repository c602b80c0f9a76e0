"""Render, lint and inspect the Helm chart with Helm's own Go engine (helm-python-sdk).

No `helm` binary, cluster or network is involved: `helm_python` binds Helm's SDK.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "tributary"
RELEASE = "tributary-ci"
NAMESPACE = "tributary"

#: Stand-ins used only while the real rule files and dashboards are not written yet, so
#: the PrometheusRule and dashboard templates are exercised either way.
STAND_IN_RULES = """\
groups:
  - name: tributary-stand-in
    rules:
      - record: provider:tributary_jobs_finished:rate5m
        expr: sum by (provider) (rate(tributary_jobs_finished_total[5m]))
      - alert: TributaryStandIn
        expr: provider:tributary_jobs_finished:rate5m < 0
        for: 5m
        labels:
          severity: info
        annotations:
          summary: "{{ $labels.provider }} stand-in"
"""
STAND_IN_DASHBOARD = '{"title": "Tributary stand-in", "panels": []}\n'


def prepare_chart(destination: Path) -> Path:
    """Copy the chart to ``destination``, adding stand-in rule/dashboard files if absent."""
    chart = destination / CHART.name
    shutil.copytree(CHART, chart)
    rules = chart / "files" / "prometheus"
    if not list(rules.glob("*.rules.yaml")):
        rules.mkdir(parents=True, exist_ok=True)
        (rules / "stand-in.rules.yaml").write_text(STAND_IN_RULES)
    dashboards = chart / "files" / "grafana"
    if not list(dashboards.glob("*.json")):
        dashboards.mkdir(parents=True, exist_ok=True)
        (dashboards / "stand-in.json").write_text(STAND_IN_DASHBOARD)
    return chart


def scenarios() -> dict[str, dict[str, Any]]:
    """The default values ({}) and every ``ci/*-values.yaml`` scenario, by name."""
    found: dict[str, dict[str, Any]] = {"default": {}}
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        found[path.name.removesuffix("-values.yaml")] = yaml.safe_load(path.read_text()) or {}
    return found


def render(
    chart_dir: Path, values: dict[str, Any], release: str = RELEASE
) -> dict[str, list[dict[str, Any]]]:
    """Render like ``helm template`` (as an install); returns parsed objects per template."""
    with helm.Chart.load(chart_dir) as chart:
        manifests = chart.render(values, name=release, namespace=NAMESPACE, is_install=True)
    rendered: dict[str, list[dict[str, Any]]] = {}
    for template, text in manifests.items():
        if template.endswith("NOTES.txt"):
            continue
        docs = [doc for doc in yaml.safe_load_all(text) if doc]
        if docs:
            rendered[template] = docs
    return rendered


def notes(chart_dir: Path, values: dict[str, Any]) -> str:
    with helm.Chart.load(chart_dir) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return next(text for name, text in manifests.items() if name.endswith("NOTES.txt"))


def objects(rendered: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for docs in rendered.values():
        yield from docs


def by_kind(rendered: dict[str, list[dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects(rendered) if obj["kind"] == kind]


def pod_specs(rendered: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object name, pod spec) of every workload, CronJobs included."""
    for obj in objects(rendered):
        kind, spec = obj["kind"], obj.get("spec", {})
        if kind in {"Deployment", "Job"}:
            yield obj["metadata"]["name"], spec["template"]["spec"]
        elif kind == "CronJob":
            yield obj["metadata"]["name"], spec["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Pod":
            yield obj["metadata"]["name"], spec


def lint(chart_dir: Path, values: dict[str, Any]) -> dict[str, Any]:
    """``helm lint --strict`` of the chart with ``values``."""
    return helm.lint(chart_dir, values, strict=True, namespace=NAMESPACE)
