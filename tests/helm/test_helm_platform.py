"""What a platform team checks before installing the chart: names, probes, resources,
disruption budgets, network policy, ingress, shutdown, autoscaling, secrets and hooks.

Each test renders the chart with Helm's own engine (tests/helm/chartlib.py) and checks
the kind of mistake everywhere in the chart, not in one object.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.helm import chartlib
from tests.helm.conftest import Rendered
from tests.observability.promtools import require

SCENARIOS = sorted(chartlib.scenarios())
#: Release names Helm accepts (at most 53 characters of [a-z0-9-.], alphanumeric ends).
RELEASE_NAMES = (
    "a",
    "7",
    "tributary",
    "prod.eu-west-1",
    "x" * 53,
    "a" * 52 + "1",
    "a" * 52 + "2",
    "tributary-" + "b" * 43,
    "1.2-" + "c" * 49,
)
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _objects(rendered: Rendered) -> list[dict[str, Any]]:
    return list(chartlib.objects(rendered))


def _component(rendered: Rendered, kind: str, component: str) -> dict[str, Any]:
    [obj] = [
        o
        for o in chartlib.by_kind(rendered, kind)
        if o["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    return obj


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _render_fails(chart_dir: Path, values: dict[str, Any], match: str) -> None:
    with pytest.raises(helm.HelmError, match=match):
        chartlib.render(chart_dir, values)


# Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_names_are_valid_and_unique_for_every_release_name(
    chart_dir: Path, scenario_values, release: str
) -> None:
    # Given any release name Helm accepts, When each scenario renders, Then every object
    # name is a valid DNS label (Services: DNS-1035; CronJobs leave 11 characters for
    # their Jobs' suffix), no two objects of a kind share a name, and label values fit.
    for scenario in SCENARIOS:
        objs = _objects(chartlib.render(chart_dir, scenario_values[scenario], release=release))
        names = Counter((o["kind"], o["metadata"]["name"]) for o in objs)
        assert [n for n, count in names.items() if count > 1] == [], (scenario, release)
        for obj in objs:
            kind, name = obj["kind"], obj["metadata"]["name"]
            pattern = DNS1035_LABEL if kind == "Service" else DNS1123_LABEL
            limit = 52 if kind == "CronJob" else 63
            assert pattern.match(name) and len(name) <= limit, (scenario, kind, name)
            for value in obj["metadata"]["labels"].values():
                assert len(str(value)) <= 63 and LABEL_VALUE.match(str(value)), (kind, value)


def test_two_long_release_names_get_different_names(chart_dir: Path) -> None:
    first = chartlib.render(chart_dir, {}, release="a" * 52 + "1")
    second = chartlib.render(chart_dir, {}, release="a" * 52 + "2")
    names = {o["metadata"]["name"] for o in _objects(first)}
    assert names.isdisjoint({o["metadata"]["name"] for o in _objects(second)})


# Metrics directories, probes, resources, emptyDirs --------------------------------------


@pytest.mark.parametrize("component", ["api", "worker"])
def test_multiprocess_metrics_directory_is_a_bounded_empty_dir(rendered, component) -> None:
    # Several processes per pod (gunicorn workers, Dramatiq processes) must share one
    # PROMETHEUS_MULTIPROC_DIR, or a scrape reads one process's counters.
    for scenario in SCENARIOS:
        spec = _pod(_component(rendered[scenario], "Deployment", component))
        container = spec["containers"][0]
        directory = _env(container)["PROMETHEUS_MULTIPROC_DIR"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts[directory]]["emptyDir"]["sizeLimit"], (scenario, component)


def test_worker_probes_run_the_probe_module(rendered) -> None:
    from tributary_worker import probe

    for scenario in SCENARIOS:
        container = _pod(_component(rendered[scenario], "Deployment", "worker"))["containers"][0]
        kinds = {}
        for name in ("startupProbe", "livenessProbe", "readinessProbe"):
            command = container[name]["exec"]["command"]
            assert command[:3] == ["python", "-m", "tributary_worker.probe"], command
            kinds[name] = command[3]
            assert container[name]["timeoutSeconds"] >= 2
        assert kinds == {"startupProbe": "live", "livenessProbe": "live", "readinessProbe": "ready"}
        assert set(kinds.values()) <= set(probe.DEFAULT_MAX_AGE)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_pod_has_requests_limits_and_bounded_empty_dirs(rendered, scenario) -> None:
    pods = list(chartlib.pod_specs(rendered[scenario]))
    kinds = {name for name, _ in pods}
    assert len(kinds) >= 4  # api, worker, CronJobs, test pod (and the hook when enabled)
    for name, spec in pods:
        for container in spec["containers"]:
            resources = container.get("resources", {})
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(section, {})), (name, section)
        for volume in spec.get("volumes", []):
            if "emptyDir" in volume:
                assert volume["emptyDir"].get("sizeLimit"), (name, volume["name"])
    if scenario == "default":
        hook = _component(rendered[scenario], "Job", "migration")
        assert _pod(hook)["containers"][0]["resources"]["limits"]


# Disruption budgets -----------------------------------------------------------------------


def test_disruption_budgets_never_block_a_drain(chart_dir: Path, rendered) -> None:
    budgets = [b for s in SCENARIOS for b in chartlib.by_kind(rendered[s], "PodDisruptionBudget")]
    assert budgets
    for budget in budgets:
        spec = budget["spec"]
        assert "minAvailable" not in spec, budget["metadata"]["name"]
        assert str(spec["maxUnavailable"]) not in {"0", "0%"}
        assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    _render_fails(chart_dir, {"worker": {"pdb": {"maxUnavailable": "0%"}}}, "maxUnavailable")
    with pytest.raises(helm.HelmValuesError):
        chartlib.render(chart_dir, {"api": {"pdb": {"minAvailable": 1}}})


# Network policy and ingress -------------------------------------------------------------


def test_restricting_api_ingress_keeps_prometheus_on_metrics(chart_dir: Path, rendered) -> None:
    full = chartlib.scenarios()["full"]
    policy = _component(rendered["full"], "NetworkPolicy", "api")
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule.get("from", [])]
    for peer in full["networkPolicy"]["metricsFrom"] + full["networkPolicy"]["apiIngressFrom"]:
        assert peer in peers
    # apiIngressFrom without metricsFrom would cut Prometheus off the api port: refused.
    _render_fails(
        chart_dir,
        {
            "networkPolicy": {
                "enabled": True,
                "apiIngressFrom": full["networkPolicy"]["apiIngressFrom"],
            }
        },
        "metricsFrom",
    )


def _published(path: str, path_type: str, target: str) -> bool:
    """Does an Ingress path of this type route ``target`` (Prefix matches path elements)?"""
    if path_type == "Exact":
        return path == target
    prefix = path.rstrip("/")
    return target == prefix or target.startswith(prefix + "/")


def test_ingress_publishes_neither_metrics_nor_readyz(chart_dir: Path, rendered) -> None:
    ingresses = [i for s in SCENARIOS for i in chartlib.by_kind(rendered[s], "Ingress")]
    assert ingresses
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                for target in ("/metrics", "/readyz"):
                    assert not _published(path["path"], path["pathType"], target), path
    defaults = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())
    for path in defaults["api"]["ingress"]["hosts"][0]["paths"]:
        assert (
            _published(path["path"], path["pathType"], "/api/sync/status")
            or path["path"] == "/openapi.json"
        )
    for path, path_type in (
        ("/", "Prefix"),
        ("/metrics", "Exact"),
        ("/", "ImplementationSpecific"),
    ):
        host = {"host": "t.example.com", "paths": [{"path": path, "pathType": path_type}]}
        _render_fails(
            chart_dir, {"api": {"ingress": {"enabled": True, "hosts": [host]}}}, "publish"
        )


# api shutdown and threads ---------------------------------------------------------------


def test_api_outlives_its_graceful_shutdown_and_keeps_a_thread_for_probes(
    chart_dir: Path, rendered
) -> None:
    for scenario in SCENARIOS:
        spec = _pod(_component(rendered[scenario], "Deployment", "api"))
        container = spec["containers"][0]
        env = _env(container)
        pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pause > 0
        assert spec["terminationGracePeriodSeconds"] > pause + int(env["GUNICORN_GRACEFUL_TIMEOUT"])
        # process-queue holds a thread up to 20 s: a second one answers the probes.
        assert int(env["GUNICORN_THREADS"]) >= 2
    _render_fails(chart_dir, {"api": {"terminationGracePeriodSeconds": 30}}, "preStopSeconds")
    with pytest.raises(helm.HelmValuesError):
        chartlib.render(chart_dir, {"api": {"threads": 1}})


# Autoscaling ------------------------------------------------------------------------------


def _capacity(values: dict[str, Any]) -> int:
    defaults = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())["worker"]
    worker = {**defaults, **values.get("worker", {})}
    return int(worker["processes"]) * int(worker["threads"])


def test_keda_scales_on_the_backlog_with_fallback_and_no_silent_zero(rendered) -> None:
    scaled = chartlib.by_kind(rendered["keda"], "ScaledObject")[0]
    trigger = scaled["spec"]["triggers"][0]
    assert "tributary_autoscaling_backlog" in trigger["metadata"]["query"]
    assert "tributary_queue_depth" not in trigger["metadata"]["query"]
    assert trigger["metadata"]["ignoreNullValues"] == "false"
    assert trigger["metadata"]["threshold"] == str(_capacity(chartlib.scenarios()["keda"]))
    assert scaled["spec"]["fallback"]["replicas"] >= 1
    assert scaled["spec"]["minReplicaCount"] == 0
    # Scale to zero needs the housekeeping CronJob (promotion and lease recovery).
    commands = {
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        for c in chartlib.by_kind(rendered["keda"], "CronJob")
    }
    assert "housekeeping" in commands


def test_hpa_scales_on_the_backlog_by_default_not_on_cpu(chart_dir: Path, rendered) -> None:
    hpa = chartlib.by_kind(
        chartlib.render(chart_dir, {"worker": {"autoscaling": {"enabled": True}}}),
        "HorizontalPodAutoscaler",
    )[0]
    [metric] = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] == "tributary_autoscaling_backlog"
    assert metric["external"]["target"]["averageValue"] == str(_capacity({}))
    for scenario in ("full", "hpa-object-metric"):
        hpa = chartlib.by_kind(rendered[scenario], "HorizontalPodAutoscaler")[0]
        assert hpa["spec"]["metrics"][0]["type"] in {"External", "Object"}
        names = [
            m.get("external", m.get("object", {})).get("metric", {}).get("name")
            for m in hpa["spec"]["metrics"]
        ]
        assert "tributary_autoscaling_backlog" in names


def test_prometheus_adapter_rule_is_shipped_for_every_band(rendered) -> None:
    maps = [
        c
        for c in chartlib.by_kind(rendered["full"], "ConfigMap")
        if c["metadata"]["name"].endswith("adapter-rules")
    ]
    assert len(maps) == 1
    config = yaml.safe_load(maps[0]["data"]["config.yaml"])
    rules = config["externalRules"] + config["rules"]
    assert {r["name"]["as"] for r in rules} == {"tributary_autoscaling_backlog"}
    for rule in rules:
        assert "queue=" not in rule["seriesQuery"] + rule["metricsQuery"]  # all three bands
        assert "tributary_autoscaling_backlog" in rule["seriesQuery"]


def test_housekeeping_cronjob_runs_every_minute_by_default(rendered) -> None:
    by_command = {
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]: c
        for c in chartlib.by_kind(rendered["default"], "CronJob")
    }
    assert by_command["housekeeping"]["spec"]["schedule"] == "* * * * *"
    assert by_command["housekeeping"]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 60


# Secrets and the migration hook -----------------------------------------------------------


def _pod_templates(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in _objects(rendered):
        if obj["kind"] == "Deployment":
            found.append((obj["metadata"]["name"], obj["spec"]["template"]["metadata"]))
        elif obj["kind"] == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]
            found.append((obj["metadata"]["name"], template))
    return found


def test_changing_the_existing_secret_version_rolls_every_pod(chart_dir: Path) -> None:
    values = chartlib.scenarios()["keda"]
    bumped = {**values, "secrets": {**values["secrets"], "existingSecretVersion": "next"}}
    before = dict(_pod_templates(chartlib.render(chart_dir, values)))
    after = dict(_pod_templates(chartlib.render(chart_dir, bumped)))
    assert before.keys() == after.keys() and before
    for name, template in before.items():
        old = template["annotations"]["checksum/secret"]
        assert old != after[name]["annotations"]["checksum/secret"], name


def test_migration_hook_has_its_own_service_account_and_cleans_up_its_secret(rendered) -> None:
    objs = rendered["default"]
    job = _component(objs, "Job", "migration")
    weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    account = _pod(job)["serviceAccountName"]
    [own] = [
        o for o in chartlib.by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == account
    ]
    assert own["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(own["metadata"]["annotations"]["helm.sh/hook-weight"]) < weight
    assert own["automountServiceAccountToken"] is False
    release_accounts = {_pod(d)["serviceAccountName"] for d in chartlib.by_kind(objs, "Deployment")}
    assert account not in release_accounts
    secret_name = next(
        r["secretRef"]["name"] for r in _pod(job)["containers"][0]["envFrom"] if "secretRef" in r
    )
    [secret] = [o for o in chartlib.by_kind(objs, "Secret") if o["metadata"]["name"] == secret_name]
    policy = set(secret["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(","))
    assert {"hook-succeeded", "hook-failed"} <= policy


def test_an_empty_default_secret_fails_the_migration_hook_with_a_clear_message(rendered) -> None:
    # Given the default values (no secrets), When the migration hook's container starts,
    # Then it exits 2 naming the missing settings instead of migrating 127.0.0.1.
    objs = rendered["default"]
    job = _component(objs, "Job", "migration")
    container = _pod(job)["containers"][0]
    sources = {
        (o["kind"], o["metadata"]["name"]): o.get("data", o.get("stringData", {})) or {}
        for o in _objects(objs)
        if o["kind"] in {"ConfigMap", "Secret"}
    }
    env: dict[str, str] = {}
    for ref in container["envFrom"]:
        kind, ref_name = (
            ("ConfigMap", ref["configMapRef"]["name"])
            if "configMapRef" in ref
            else (
                "Secret",
                ref["secretRef"]["name"],
            )
        )
        env.update(sources[(kind, ref_name)])
    assert {"DATABASE_URL", "REDIS_URL"} <= set(env["TRIBUTARY_REQUIRED_SETTINGS"].split(","))
    result = subprocess.run(
        [sys.executable, "-m", "tributary_scheduler", *container["command"][3:]],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DATABASE_URL" in result.stderr and "REDIS_URL" in result.stderr
    assert "127.0.0.1" in result.stderr  # says what it refused to fall back to


# Alerts and dashboard ---------------------------------------------------------------------


def test_rules_and_dashboard_do_not_depend_on_scrape_job_names() -> None:
    files = chartlib.CHART / "files"
    for path in [*files.glob("prometheus/*.yaml"), *files.glob("grafana/*.json")]:
        text = path.read_text()
        assert not re.search(r"\bjob\s*=~?", text), path.name
        assert not re.search(r"\bup\s*\{", text), path.name


def _promtool_test(tmp: Path, series: list[dict[str, str]], alert: str, fires: bool) -> None:
    promtool = require("promtool")
    rules = chartlib.CHART / "files" / "prometheus" / "tributary.rules.yaml"
    case = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "40m", "alertname": alert}],
            }
        ],
    }
    path = tmp / "case.yaml"
    path.write_text(yaml.safe_dump(case))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    # A test that expects no alert passes only when none fires, and vice versa.
    assert (result.returncode != 0) == fires, result.stdout + result.stderr


def test_scheduler_alert_fires_for_a_command_that_never_ran() -> None:
    # The collector reports 0 for a command without any run (test_collector checks that).
    def last_success(command: str, values: str) -> dict[str, str]:
        name = f'tributary_scheduler_last_success_timestamp_seconds{{command="{command}"}}'
        return {"series": name, "values": values}

    fresh = [last_success(c, "0+60x60") for c in ("enqueue-due", "cleanup", "housekeeping")]
    with tempfile.TemporaryDirectory() as tmp:
        never = [*fresh, last_success("reconcile", "0x60")]
        _promtool_test(Path(tmp), never, "TributarySchedulerNotRunRecently", fires=True)
        ran = [*fresh, last_success("reconcile", "0+60x60")]
        _promtool_test(Path(tmp), ran, "TributarySchedulerNotRunRecently", fires=False)


def test_queue_backing_up_sees_due_delayed_work() -> None:
    series = [
        {
            "series": 'tributary_autoscaling_backlog{queue="sync.retry",state="due_delayed"}',
            "values": "5000x60",
        },
        {
            "series": 'tributary_queue_depth{queue="sync.retry",state="waiting"}',
            "values": "0x60",
        },
    ]
    with tempfile.TemporaryDirectory() as tmp:
        _promtool_test(Path(tmp), series, "TributaryQueueBackingUp", fires=True)
        quiet = [{**series[0], "values": "10x60"}, series[1]]
        _promtool_test(Path(tmp), quiet, "TributaryQueueBackingUp", fires=False)
