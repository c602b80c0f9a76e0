"""The contract between the chart, the image and the code.

Everything the code reads or defines is discovered from the code itself (tests/helm/
codescan.py), so a new setting, command, route or metric that the chart does not follow
fails here.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm import chartlib, codescan
from tests.helm.conftest import Rendered

SCENARIOS = sorted(chartlib.scenarios())
DOCKERFILE = chartlib.REPO / "Dockerfile"
#: Set by the chart, read by a third-party program rather than by our code.
READ_BY_DEPENDENCIES = {"WEB_CONCURRENCY": "gunicorn's default worker count"}
#: A name with TOKEN in it is secret, except an OAuth token endpoint's address (…_TOKEN_URL).
SECRET_NAME = re.compile(
    r"(TOKEN(?!_URL$)|SECRET|PASSWORD|CREDENTIAL|PRIVATE_KEY|API_KEY|ENCRYPTION_KEYS)"
    r"|^(DATABASE|REDIS)_URL$"
)


def _env_of_containers(rendered: Rendered) -> dict[str, dict[str, str]]:
    """Container -> the environment it gets (envFrom ConfigMaps/Secrets and env)."""
    sources: dict[str, dict[str, str]] = {}
    for obj in chartlib.objects(rendered):
        if obj["kind"] == "ConfigMap":
            sources[f"cm/{obj['metadata']['name']}"] = obj.get("data", {})
        elif obj["kind"] == "Secret":
            sources[f"secret/{obj['metadata']['name']}"] = obj.get("stringData", {})
    envs = {}
    for name, spec in chartlib.pod_specs(rendered):
        for container in spec["containers"]:
            env: dict[str, str] = {}
            for ref in container.get("envFrom", []):
                if "configMapRef" in ref:
                    env.update(sources[f"cm/{ref['configMapRef']['name']}"])
                else:
                    env.update(sources.get(f"secret/{ref['secretRef']['name']}", {}))
            env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
            envs[f"{name}/{container['name']}"] = env
    return envs


def _full_values() -> dict[str, Any]:
    return chartlib.scenarios()["full"]


def test_every_variable_the_code_reads_is_settable_from_values(rendered) -> None:
    reads = codescan.env_reads()
    # The full scenario must set them through dedicated values, not the extraEnv escape hatch.
    escape_hatch = set(_full_values()["config"]["extraEnv"])
    assert not escape_hatch & set(reads)
    chart_sets = set().union(*_env_of_containers(rendered["full"]).values())
    missing = {name: sorted(files) for name, files in reads.items() if name not in chart_sets}
    assert missing == {}


def test_chart_sets_no_variable_the_code_ignores(rendered) -> None:
    reads = set(codescan.env_reads())
    values = _full_values()
    user_defined = set(values["config"]["extraEnv"]) | {
        e["name"]
        for component in ("api", "worker", "scheduler")
        for e in values[component].get("extraEnv", [])
    }
    chart_sets = set().union(*_env_of_containers(rendered["full"]).values()) - user_defined
    assert chart_sets - reads - set(READ_BY_DEPENDENCIES) == set()


def test_secrets_live_only_in_the_secret(rendered) -> None:
    objs = rendered["full"]
    secret = chartlib.by_kind(objs, "Secret")[0]
    names = set(codescan.env_reads()) | set(secret["stringData"])
    secret_names = {n for n in names if SECRET_NAME.search(n)}
    assert {"API_TOKEN", "CRON_SECRET", "DATABASE_URL", "REDIS_URL"} <= secret_names
    assert secret_names <= set(secret["stringData"])
    for config_map in chartlib.by_kind(objs, "ConfigMap"):
        assert not secret_names & set(config_map.get("data", {})), config_map["metadata"]["name"]
    for name, spec in chartlib.pod_specs(objs):
        for container in spec["containers"]:
            assert not secret_names & {e["name"] for e in container.get("env", [])}, name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_environment_loads_as_settings(rendered, scenario_values, scenario: str) -> None:
    from tributary_common.errors import ConfigError
    from tributary_common.ratelimit.config import LimitConfig
    from tributary_common.settings import Settings

    envs = _env_of_containers(rendered[scenario])
    for container, env in envs.items():
        if container.endswith("/healthz"):
            continue
        required = [n for n in env["TRIBUTARY_REQUIRED_SETTINGS"].split(",") if n]
        assert {"DATABASE_URL", "REDIS_URL"} <= set(required), container
        missing = [n for n in required if not env.get(n)]
        if missing:
            # An empty Secret (or an existing one the render cannot see): the process
            # refuses to start and names what is missing, never 127.0.0.1.
            with pytest.raises(ConfigError, match=missing[0]):
                Settings.from_env(env)
        else:
            LimitConfig.from_overrides(Settings.from_env(env).limit_overrides)
    if scenario == "default":
        assert all("DATABASE_URL" not in env for env in envs.values())
    if scenario == "full":
        settings = Settings.from_env(envs[f"{chartlib.RELEASE}-worker/worker"])
        config = scenario_values["full"]["config"]
        assert settings.max_retries == config["maxRetries"]
        assert settings.http_timeout_seconds == config["httpTimeoutSeconds"]
        assert settings.max_body_bytes == config["maxBodyBytes"]
        assert settings.limit_overrides["meta_ads"].startswith("provider=10/1m")
        assert settings.credentials["google_ads"] == {"developer_token": "dev-token-from-ci"}
        assert settings.base_urls["github"] == "https://github.example.com/api/v3"


def _dockerfile() -> tuple[list[str], list[str], list[str]]:
    """(PYTHONPATH entries, COPY sources, CMD) of the final stage."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]
    pythonpath = re.search(r"PYTHONPATH=(\S+)", final)
    assert pythonpath, "the final stage sets no PYTHONPATH"
    copies = [
        line.split()[-2]
        for line in final.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
    ]
    cmd = re.search(r"^CMD (\[.*\])$", final, re.M)
    assert cmd, "the final stage has no exec-form CMD"
    return pythonpath.group(1).split(":"), copies, json.loads(cmd.group(1))


def _module_file(module: str, pythonpath: list[str]) -> Path | None:
    """The repository file that ``import module`` finds inside the image."""
    parts = module.split(".")
    for entry in pythonpath:
        base = chartlib.REPO / entry.removeprefix("/app/")
        for candidate in (
            base.joinpath(*parts).with_suffix(".py"),
            base.joinpath(*parts, "__init__.py"),
        ):
            if candidate.exists():
                return candidate
    return None


def _defines_function(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def _subcommands(package_dir: Path) -> set[str]:
    """Names registered with argparse ``add_parser`` in a package."""
    found = set()
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "add_parser"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def test_dockerfile_copies_the_code_on_its_pythonpath() -> None:
    pythonpath, copies, _ = _dockerfile()
    assert pythonpath == [
        "/app/libs/common",
        "/app/services/api",
        "/app/services/worker",
        "/app/services/scheduler",
    ]
    # The code scanned for settings and metrics is exactly what the image runs.
    scanned = [str(root.relative_to(chartlib.REPO)) for root in codescan.CODE_ROOTS]
    assert scanned == [entry.removeprefix("/app/") for entry in pythonpath]
    for entry in pythonpath:
        top = entry.removeprefix("/app/").split("/")[0]
        assert top in copies, f"{top} is on PYTHONPATH but not copied"
    assert "requirements.txt" in copies
    ignored = (chartlib.REPO / ".dockerignore").read_text().splitlines()
    for top in ("libs/", "services/", "requirements.txt"):
        assert f"!{top}" in ignored


def test_container_commands_exist_in_the_image(rendered) -> None:
    pythonpath, _, cmd = _dockerfile()
    requirements = (chartlib.REPO / "requirements.txt").read_text()
    commands = set()
    for scenario in SCENARIOS:
        for _, spec in chartlib.pod_specs(rendered[scenario]):
            for container in spec["containers"]:
                if container["name"] == "healthz":
                    continue  # the helm test pod runs a busybox image
                commands.add(tuple(container["command"]))
    api = next(c for c in commands if c[0] == "gunicorn")
    assert list(api) == cmd, "the Dockerfile's default CMD is the api's command"
    scheduler_commands = _subcommands(chartlib.REPO / "services/scheduler/tributary_scheduler")
    for command in commands:
        if command[0] == "gunicorn":
            assert re.search(r"^gunicorn==", requirements, re.M)
            config = command[command.index("--config") + 1].removeprefix("python:")
            assert _module_file(config, pythonpath), f"gunicorn config {config} is missing"
            module, _, call = command[-1].partition(":")
            path = _module_file(module, pythonpath)
            assert path and _defines_function(path, call.removesuffix("()")), command[-1]
        else:
            assert command[:2] == ("python", "-m"), shlex.join(command)
            main = _module_file(command[2] + ".__main__", pythonpath)
            assert main, f"{command[2]} has no __main__ in the image"
            if command[2] == "tributary_scheduler":
                assert command[3] in scheduler_commands, shlex.join(command)


def _api_paths() -> set[str]:
    paths = set()
    for path in (chartlib.REPO / "services" / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("/")
            ):
                paths.add(node.value)
    return paths


def test_probes_and_scrapes_hit_routes_that_exist(rendered) -> None:
    paths = set()
    for scenario in SCENARIOS:
        api = next(
            d
            for d in chartlib.by_kind(rendered[scenario], "Deployment")
            if d["metadata"]["labels"]["app.kubernetes.io/component"] == "api"
        )
        container = api["spec"]["template"]["spec"]["containers"][0]
        paths |= {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
        paths |= {
            e["path"]
            for m in chartlib.by_kind(rendered[scenario], "ServiceMonitor")
            for e in m["spec"]["endpoints"]
        }
    assert {"/healthz", "/readyz", "/metrics"} <= paths
    assert paths <= _api_paths()


def _expressions(node: Any) -> list[str]:
    """Every PromQL expression in a Grafana dashboard (targets' expr, variables' query)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"expr", "query"} and isinstance(value, str):
                found.append(value)
            elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                found.append(value["query"])
            else:
                found.extend(_expressions(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_expressions(item))
    return found


def _referenced_metrics(expr: str) -> set[str]:
    """Our series names (tributary_*) and recording-rule names (with ':') in an expression."""
    expr = re.sub(r"\{[^}]*\}", "{}", expr)  # label matchers hold no metric names
    return {
        m
        for m in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
        if m.startswith("tributary_") or ":" in m
    }


def test_shipped_rules_and_dashboards_use_metrics_the_code_exports() -> None:
    rule_files = sorted((chartlib.CHART / "files" / "prometheus").glob("*.rules.yaml"))
    dashboards = sorted((chartlib.CHART / "files" / "grafana").glob("*.json"))
    assert rule_files, "no rule files in deploy/helm/tributary/files/prometheus/"
    assert dashboards, "no dashboards in deploy/helm/tributary/files/grafana/"
    exported = codescan.metric_names()
    recorded, expressions = set(), []
    for path in rule_files:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                recorded.add(rule.get("record"))
                expressions.append((path.name, rule["expr"]))
    for path in dashboards:
        expressions += [(path.name, e) for e in _expressions(json.loads(path.read_text()))]
    unknown = {
        (source, name)
        for source, expr in expressions
        for name in _referenced_metrics(str(expr))
        if name not in exported and name not in recorded
    }
    assert unknown == set()


def test_metric_reference_parser_finds_names() -> None:
    names = _referenced_metrics(
        'sum by (provider) (rate(tributary_jobs_finished_total{outcome="failed"}[5m]))'
        " / provider:tributary_jobs:rate5m > on() tributary_nope"
    )
    assert names == {
        "tributary_jobs_finished_total",
        "provider:tributary_jobs:rate5m",
        "tributary_nope",
    }


def test_documented_cron_endpoint_exists_in_the_api() -> None:
    readme = (chartlib.CHART / "README.md").read_text()
    documented = re.findall(r"curl [^\n]*https://tributary\.example\.com(/\S+)", readme)
    assert documented, "the README documents no sync endpoint for external cron"
    assert set(documented) <= _api_paths()
