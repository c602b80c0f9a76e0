"""The chart renders, lints strictly and produces valid, hardened Kubernetes objects.

Rendering and linting use Helm's own engine (helm-python-sdk); core objects are checked
with kubernetes-validate in strict mode against its two newest Kubernetes versions, and
custom resources against their CRD schemas.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from kubernetes_validate import utils as kv

from tests.helm import chartlib, crs
from tests.helm.conftest import Rendered

SCENARIOS = sorted(chartlib.scenarios())
KUBERNETES_VERSIONS = kv.all_versions()[-2:]
CUSTOM_KINDS = {kind for _, kind in crs.KINDS}


def _objects(rendered: Rendered) -> list[dict[str, Any]]:
    return list(chartlib.objects(rendered))


def _containers(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, container)
        for name, spec in chartlib.pod_specs(rendered)
        for container in spec["containers"]
    ]


def _workload(rendered: Rendered, kind: str, component: str) -> dict[str, Any]:
    matches = [
        obj
        for obj in chartlib.by_kind(rendered, kind)
        if obj["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(matches) == 1, f"expected one {kind} for {component}, got {len(matches)}"
    return matches[0]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_strict_passes(chart_dir: Path, scenario_values, scenario: str) -> None:
    # Given a scenario's values, When `helm lint --strict` runs,
    # Then it reports no error and no warning (info such as "icon is recommended" is fine).
    report = chartlib.lint(chart_dir, scenario_values[scenario])
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_core_objects_are_valid_kubernetes(rendered, scenario: str) -> None:
    # Every non-custom object validates strictly (unknown fields rejected) against the
    # two newest Kubernetes versions kubernetes-validate ships.
    objects = [o for o in _objects(rendered[scenario]) if o["kind"] not in CUSTOM_KINDS]
    assert objects
    failures = []
    for obj in objects:
        for version in KUBERNETES_VERSIONS:
            try:
                kv.validate(obj, version, strict=True)
            except (kv.ValidationError, kv.SchemaNotFoundError) as exc:
                message = getattr(exc, "message", str(exc))
                failures.append(f"{obj['kind']}/{obj['metadata']['name']} @ {version}: {message}")
    assert failures == []


def test_custom_resources_match_their_crd_schemas(rendered) -> None:
    objects = [
        o
        for scenario in SCENARIOS
        for o in _objects(rendered[scenario])
        if o["kind"] in CUSTOM_KINDS
    ]
    # The scenarios must exercise every custom kind, or this test would pass vacuously.
    assert {o["kind"] for o in objects} == CUSTOM_KINDS
    errors = crs.validate(objects)
    failures = [
        f"{o['kind']}/{o['metadata']['name']}: {e}"
        for o, e in zip(objects, errors, strict=True)
        if e
    ]
    assert failures == []


def test_crd_validator_rejects_a_broken_resource(rendered) -> None:
    # Given a valid ScaledObject, When a field gets the wrong type, Then validation fails.
    scaled = copy.deepcopy(chartlib.by_kind(rendered["keda"], "ScaledObject")[0])
    scaled["spec"]["minReplicaCount"] = "one"
    monitor = copy.deepcopy(chartlib.by_kind(rendered["full"], "ServiceMonitor")[0])
    monitor["spec"]["endpoints"][0]["interval"] = 30
    assert all(crs.validate([scaled, monitor]))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_objects_carry_standard_and_component_labels(rendered, scenario: str) -> None:
    shared = {"ConfigMap", "Secret", "ServiceAccount"}
    for obj in _objects(rendered[scenario]):
        labels = obj["metadata"]["labels"]
        for key in (
            "helm.sh/chart",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
        ):
            assert key in labels, (obj["kind"], obj["metadata"]["name"], key)
        if obj["kind"] not in shared:
            assert "app.kubernetes.io/component" in labels, (obj["kind"], obj["metadata"]["name"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pods_run_hardened(rendered, scenario: str) -> None:
    for name, spec in chartlib.pod_specs(rendered[scenario]):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            for mount in container.get("volumeMounts", []):
                assert "emptyDir" in volumes[mount["name"]], (name, mount)


def test_worker_metrics_directory_is_a_writable_empty_dir(rendered) -> None:
    for scenario in SCENARIOS:
        spec = _workload(rendered[scenario], "Deployment", "worker")["spec"]["template"]["spec"]
        container = spec["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volume = mounts[env["PROMETHEUS_MULTIPROC_DIR"]]
        assert {"name": volume, "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]


def test_worker_grace_period_outlasts_its_shutdown(rendered, scenario_values) -> None:
    for scenario in SCENARIOS:
        objs = rendered[scenario]
        worker = _workload(objs, "Deployment", "worker")["spec"]["template"]["spec"]
        config = chartlib.by_kind(objs, "ConfigMap")[0]["data"]
        grace = float(config["TRIBUTARY_SHUTDOWN_GRACE_SECONDS"])
        assert worker["terminationGracePeriodSeconds"] > grace + 5


def test_too_short_grace_period_fails_to_render(chart_dir: Path) -> None:
    with pytest.raises(helm.HelmError, match="terminationGracePeriodSeconds"):
        chartlib.render(chart_dir, {"worker": {"terminationGracePeriodSeconds": 25}})


def test_scheduler_cronjobs(rendered) -> None:
    cronjobs = chartlib.by_kind(rendered["default"], "CronJob")
    commands = {
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]: c
        for c in cronjobs
    }
    assert set(commands) == {"enqueue-due", "cleanup", "reconcile", "housekeeping"}
    assert commands["enqueue-due"]["spec"]["schedule"] == "* * * * *"
    for cronjob in cronjobs:
        spec = cronjob["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    # A minutely run must end before the next one is due.
    assert commands["enqueue-due"]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 60
    keda = chartlib.by_kind(rendered["keda"], "CronJob")
    assert sorted(c["metadata"]["name"] for c in keda) == [
        "tributary-ci-scheduler-enqueue-due",
        "tributary-ci-scheduler-housekeeping",
    ]


def test_websub_renew_cronjob_when_enabled(chart_dir: Path) -> None:
    objs = chartlib.render(chart_dir, {"scheduler": {"jobs": {"websubRenew": {"enabled": True}}}})
    (cronjob,) = [
        c
        for c in chartlib.by_kind(objs, "CronJob")
        if c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        == "websub-renew"
    ]
    assert cronjob["spec"]["schedule"] == "23 */6 * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_migration_runs_as_pre_install_and_pre_upgrade_hook(rendered) -> None:
    objs = rendered["default"]
    job = _workload(objs, "Job", "migration")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "tributary_scheduler", "migrate"]
    # Its ConfigMap and Secret are hooks too, created before it (a pre-install hook runs
    # before the release's own objects exist).
    refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    hooks = {
        o["metadata"]["name"]: o
        for o in _objects(objs)
        if o["kind"] in {"ConfigMap", "Secret"} and o["metadata"]["name"] in refs
    }
    assert set(hooks) == refs
    for hook in hooks.values():
        hook_annotations = hook["metadata"]["annotations"]
        assert hook_annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(hook_annotations["helm.sh/hook-weight"]) < int(
            annotations["helm.sh/hook-weight"]
        )
    assert not any(o["kind"] == "Job" for o in _objects(rendered["hpa-object-metric"]))


def test_hpa_scales_on_the_backlog_and_cpu(rendered) -> None:
    full = chartlib.by_kind(rendered["full"], "HorizontalPodAutoscaler")[0]
    assert full["apiVersion"] == "autoscaling/v2"
    assert [m["type"] for m in full["spec"]["metrics"]] == ["External", "Resource"]
    assert full["spec"]["scaleTargetRef"]["name"] == "tributary-ci-worker"
    assert "replicas" not in _workload(rendered["full"], "Deployment", "worker")["spec"]
    obj = chartlib.by_kind(rendered["hpa-object-metric"], "HorizontalPodAutoscaler")[0]
    assert [m["type"] for m in obj["spec"]["metrics"]] == ["Object"]
    described = obj["spec"]["metrics"][0]["object"]["describedObject"]
    services = {
        s["metadata"]["name"] for s in chartlib.by_kind(rendered["hpa-object-metric"], "Service")
    }
    assert described["kind"] == "Service" and described["name"] in services
    assert not chartlib.by_kind(rendered["default"], "HorizontalPodAutoscaler")


def test_cpu_autoscaling_without_cpu_request_fails_to_render(chart_dir: Path) -> None:
    values = {
        "worker": {
            "resources": {"requests": {"cpu": None}},
            "autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 70},
        }
    }
    with pytest.raises(helm.HelmError, match=r"requests\.cpu"):
        chartlib.render(chart_dir, values)


def test_keda_scaled_object_queries_the_backlog_signal(rendered) -> None:
    scaled = chartlib.by_kind(rendered["keda"], "ScaledObject")[0]
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    assert 'tributary_autoscaling_backlog{namespace="tributary"}' in query
    assert not chartlib.by_kind(rendered["keda"], "HorizontalPodAutoscaler")
    assert "replicas" not in _workload(rendered["keda"], "Deployment", "worker")["spec"]


def test_keda_and_hpa_are_mutually_exclusive(chart_dir: Path) -> None:
    values = {
        "worker": {
            "resources": {"requests": {"cpu": "100m"}},
            "autoscaling": {"enabled": True},
            "keda": {"enabled": True, "prometheus": {"serverAddress": "http://prometheus:9090"}},
        }
    }
    with pytest.raises(helm.HelmError, match="mutually exclusive"):
        chartlib.render(chart_dir, values)


def test_existing_secret_replaces_the_rendered_one(rendered) -> None:
    objs = rendered["keda"]
    assert not chartlib.by_kind(objs, "Secret")
    for name, container in _containers(objs):
        if "envFrom" in container:
            secrets = [r["secretRef"]["name"] for r in container["envFrom"] if "secretRef" in r]
            assert secrets == ["tributary-credentials"], name
    assert not chartlib.by_kind(objs, "ServiceAccount")


def test_schema_rejects_unknown_keys_and_is_self_contained(chart_dir: Path) -> None:
    schema_text = (chartlib.CHART / "values.schema.json").read_text()
    assert '"$ref"' not in schema_text
    for values in (
        {"replicas": 2},
        {"api": {"replica": 2}},
        {"worker": {"autoscaling": {"cpu": 1}}},
        {"providers": {"myspace": {}}},
        {"config": {"logLevel": "TRACE"}},
    ):
        with pytest.raises(helm.HelmValuesError):
            chartlib.render(chart_dir, values)


def test_prometheus_rule_embeds_the_rule_files(chart_dir: Path, rendered) -> None:
    expected = []
    for path in sorted((chart_dir / "files" / "prometheus").glob("*.rules.yaml")):
        expected.extend(yaml.safe_load(path.read_text())["groups"])
    rule = chartlib.by_kind(rendered["full"], "PrometheusRule")[0]
    assert rule["spec"]["groups"] == expected
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_dashboard_configmap_embeds_the_dashboards(chart_dir: Path, rendered) -> None:
    dashboards = {
        p.name: json.loads(p.read_text()) for p in (chart_dir / "files" / "grafana").glob("*.json")
    }
    config_map = next(
        c
        for c in chartlib.by_kind(rendered["full"], "ConfigMap")
        if c["metadata"]["labels"].get("grafana_dashboard") == "1"
    )
    assert {k: json.loads(v) for k, v in config_map["data"].items()} == dashboards
    assert config_map["metadata"]["namespace"] == "monitoring"


def test_network_policies_cover_every_component(rendered) -> None:
    policies = chartlib.by_kind(rendered["full"], "NetworkPolicy")
    components = {
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: p for p in policies
    }
    assert set(components) == {"api", "worker", "scheduler", "migration", "test"}
    api_peers = components["api"]["spec"]["ingress"][0]["from"]
    # The helm test pod must still reach the api when ingress is restricted.
    assert {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "tributary",
                "app.kubernetes.io/instance": chartlib.RELEASE,
                "app.kubernetes.io/component": "test",
            }
        }
    } in api_peers
    assert components["scheduler"]["spec"]["ingress"] == []
    # On by default: scheduler and migration pods accept nothing, api and worker any peer.
    default = {
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: p
        for p in chartlib.by_kind(rendered["default"], "NetworkPolicy")
    }
    assert default["migration"]["spec"]["ingress"] == []
    assert "from" not in default["api"]["spec"]["ingress"][0]


def test_helm_test_pod_calls_healthz_through_the_service(rendered) -> None:
    for scenario in SCENARIOS:
        objs = rendered[scenario]
        pod = chartlib.by_kind(objs, "Pod")[0]
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        service = _workload(objs, "Service", "api")
        url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/healthz"
        assert pod["spec"]["containers"][0]["command"][-1] == url


def test_notes_warn_when_connection_secrets_are_missing(chart_dir: Path, scenario_values) -> None:
    assert "WARNING: secrets.apiToken" in chartlib.notes(chart_dir, {})
    assert "WARNING" not in chartlib.notes(chart_dir, scenario_values["full"])


def _value_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, dict) and value and key not in {"providers"}:
            paths.extend(_value_paths(value, path + "."))
    return paths


def test_readme_lists_every_value() -> None:
    readme = (chartlib.CHART / "README.md").read_text()
    values = yaml.safe_load((chartlib.CHART / "values.yaml").read_text())
    leaves = [
        p
        for p in _value_paths(values)
        if not isinstance(_lookup(values, p), dict) or not _lookup(values, p)
    ]
    missing = [p for p in leaves if f"`{p}`" not in readme]
    missing += [
        f"providers.<provider>.{k}"
        for k in values["providers"]["github"]
        if f"`providers.<provider>.{k}`" not in readme
    ]
    assert missing == []


def _lookup(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    return node


def test_kubernetes_validation_rejects_unknown_fields(rendered) -> None:
    # The strict validation above can fail: a misspelt field is caught.
    deployment = copy.deepcopy(_workload(rendered["default"], "Deployment", "api"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
