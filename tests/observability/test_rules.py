"""The rule file and the dashboard: promtool-valid, documented, and naming only real metrics."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase
from tributary_common import metrics

from tests.observability.promtools import DASHBOARD, RULES, RUNBOOK, require

FORBIDDEN_LABELS = {"user", "user_id", "account", "account_id", "job", "job_id", "connection_id"}


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def exported_names() -> set[str]:
    """Every series name Tributary exports, as Prometheus stores it."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            base = value._name
            kind = value._type
            if kind == "counter":
                names.add(f"{base}_total")
            elif kind == "histogram":
                names |= {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
            else:
                names.add(base)
    for spec in metrics.SCRAPE_METRICS:
        names.add(f"{spec.name}_total" if spec.kind == "counter" else spec.name)
    return names


def test_promtool_accepts_the_rule_file() -> None:
    promtool = require("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_severity_summary_and_a_runbook_section() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## ")
    }
    alerts = [r for r in rules() if "alert" in r]
    assert len(alerts) >= 8
    for alert in alerts:
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        annotations = alert["annotations"]
        assert annotations["summary"] and annotations["description"], alert["alert"]
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == "docs/runbook.md" and anchor == alert["alert"].lower(), alert["alert"]
        assert anchor in anchors, f"docs/runbook.md has no section for {alert['alert']}"


def test_rules_and_dashboard_name_only_exported_metrics() -> None:
    exported = exported_names()
    recorded = {r["record"] for r in rules() if "record" in r}
    exprs = [r["expr"] for r in rules()] + dashboard_exprs()
    for expr in exprs:
        for name in re.findall(r"\btributary[_:][a-z0-9_:]+", expr):
            assert name in exported or name in recorded, f"{name} is not exported: {expr}"


def test_metrics_use_bounded_labels_only() -> None:
    labelled = [v for v in vars(metrics).values() if isinstance(v, MetricWrapperBase)]
    label_sets = [set(m._labelnames) for m in labelled]
    label_sets += [set(spec.labels) for spec in metrics.SCRAPE_METRICS]
    for labels in label_sets:
        assert not labels & FORBIDDEN_LABELS
    assert all(name.startswith("tributary_") for name in exported_names())


def test_dashboard_takes_the_datasource_and_provider_as_variables() -> None:
    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["provider"]["includeAll"] and variables["provider"]["multi"]
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
