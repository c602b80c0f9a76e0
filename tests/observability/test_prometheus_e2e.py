"""A real Prometheus scrapes the real api (gunicorn) and workers while syncs succeed, fail,
retry, defer and hit a provider cooldown; then every dashboard panel, recording rule and
alert rule is evaluated through Prometheus' HTTP API, and key values are checked against
the ledger.

"Returns data" means: a panel or recording expression gives a non-empty vector with at
least one finite value; Prometheus reports every rule's health as ok; an alert expression
is accepted and evaluated, and each signal it compares with a threshold (see
`promql.alert_signals`) gives a non-empty vector, since an alert that is not firing
rightly returns nothing while the series it watches must exist.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import yaml

from tests.e2e.stack import ROOT, Stack
from tests.observability.promql import (
    Prometheus,
    alert_signals,
    free_port,
    running_prometheus,
    substitute,
)
from tests.observability.promtools import DASHBOARD, RULES, require
from tests.support.simulator import SimAdmin
from tools.localstack.processes import API_COMMAND, wait_ready

API_TOKEN = "observability-api-token"
OK_ACCOUNTS = [f"obs-ok-{i}" for i in range(8)]


@contextmanager
def running_api(stack: Stack, port: int) -> Iterator[str]:
    """The api under gunicorn (2 workers, multiprocess metrics), as the chart runs it."""
    log_path = stack.tmp / "api.log"
    env = {
        **stack.env,
        "API_TOKEN": API_TOKEN,
        "CRON_SECRET": "observability-cron-secret",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(stack.tmp / "api-metrics"),
        "LOG_LEVEL": "WARNING",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            API_COMMAND,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/readyz", proc=proc, log=log_path)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def drive_syncs(stack: Stack, sim: SimAdmin, api_url: str) -> None:
    """Successes, a bad token, a 5xx that exhausts retries, a 429 cooldown, deferrals."""
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    with httpx.Client(base_url=api_url, timeout=10) as client:
        # an endpoint for events out (nothing listens there: its deliveries fail and retry)
        endpoint = {"url": f"http://127.0.0.1:{free_port()}/hook", "eventTypes": ["sync.completed"]}
        assert client.post("/api/webhook-endpoints", json=endpoint, headers=auth).status_code == 201
        # a provider webhook with a wrong signature: refused, and counted
        refused = client.post(
            "/webhooks/github",
            content=b"{}",
            headers={
                "X-Hub-Signature-256": "sha256=" + "0" * 64,
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": "obs-1",
                "Content-Type": "application/json",
            },
        )
        assert refused.status_code == 401, refused.text
    sim.fault("github", "auth", account="obs-auth", count=None)
    sim.fault("github", "server_error", account="obs-5xx", count=None)
    sim.fault("github", "rate_limit", account="obs-429", count=1, retryAfterSeconds=1)
    accounts = [*OK_ACCOUNTS, "obs-auth", "obs-5xx", "obs-429"]
    conns = [stack.connect("github", account) for account in accounts]
    for conn in conns:
        stack.enqueue(conn["id"], sim.today)
    wait_until_idle(stack)
    # The CronJobs' commands, as the chart runs them: recorded in scheduler_runs.
    for command in ("enqueue-due", "reconcile", "cleanup"):
        result = stack.scheduler(command)
        assert result.returncode == 0, result.stdout + result.stderr
    wait_until_idle(stack)
    with httpx.Client(base_url=api_url, timeout=10) as client:
        client.get("/healthz")
        client.get("/api/sync/status", headers={"Authorization": f"Bearer {API_TOKEN}"})
        client.get("/api/connections")  # no token: a 4xx for the status-class panels


def wait_until_idle(stack: Stack) -> None:
    def idle() -> bool:
        rows = stack.query(
            "SELECT count(*) AS n FROM sync_jobs WHERE status IN ('pending', 'processing')"
        )
        return rows[0]["n"] == 0

    stack.wait_for(idle, timeout=45, what="every job to end")


def ledger_counts(stack: Stack) -> dict[str, float]:
    row = stack.query(
        "SELECT count(*) FILTER (WHERE status = 'completed') AS completed,"
        " count(*) FILTER (WHERE status = 'failed') AS failed,"
        " coalesce(sum(retry_count), 0) AS retried, coalesce(sum(deferrals), 0) AS deferred"
        " FROM sync_jobs"
    )[0]
    letters = stack.query(
        "SELECT count(*) AS n, count(*) FILTER (WHERE replayed_at IS NULL) AS open"
        " FROM dead_letters"
    )[0]
    reauth = stack.query("SELECT count(*) AS n FROM connections WHERE status = 'needs_reauth'")
    return {
        "completed": float(row["completed"]),
        "failed": float(row["failed"]),
        "retried": float(row["retried"]),
        "deferred": float(row["deferred"]),
        "dead_letters": float(letters["n"]),
        "open_dead_letters": float(letters["open"]),
        "needs_reauth": float(reauth[0]["n"]),
    }


def prometheus_counts(prom: Prometheus) -> dict[str, float]:
    finished = 'sum(tributary_jobs_finished_total{{outcome="{}"}})'
    return {
        "completed": prom.scalar(finished.format("completed")),
        "failed": prom.scalar(finished.format("failed")),
        "retried": prom.scalar(finished.format("retried")),
        "deferred": prom.scalar(finished.format("deferred")),
        "dead_letters": prom.scalar("sum(tributary_dead_letters_created_total)"),
        "open_dead_letters": prom.scalar("sum(tributary:dead_letters:max)"),
        "needs_reauth": prom.scalar('sum(tributary:connections:max{status="needs_reauth"})'),
    }


def returns_data(prom: Prometheus, expr: str, tries: int = 3) -> str | None:
    """None if ``expr`` gives at least one finite sample, else why not.

    A scrape in which one collector source timed out (a loaded machine) leaves its series
    stale until the next scrape a second later, so an empty answer is asked again.
    """
    for attempt in range(tries):
        result = prom.query(expr)
        if result and any(math.isfinite(float(s["value"][1])) for s in result):
            return None
        if attempt + 1 < tries:
            time.sleep(1.5)
    return f"no data: {expr}" if not result else f"only NaN/Inf: {expr}"


def test_every_panel_and_rule_returns_data_that_agrees_with_the_ledger(
    stack: Stack, sim: SimAdmin
) -> None:
    prometheus = require("prometheus")
    # Given the api and two worker processes with their own metrics ports, a tight GitHub
    # limit (so jobs defer) and quick retries, scraped every second by a real Prometheus
    stack.env_overrides.update(
        {
            "TRIBUTARY_LIMITS_GITHUB": "provider=6/4s",
            "TRIBUTARY_MAX_RETRIES": "1",
            "TRIBUTARY_BACKOFF_BASE_SECONDS": "0.2",
            "TRIBUTARY_HTTP_TIMEOUT_SECONDS": "2",
            # webhooks in and events out have panels too
            "TRIBUTARY_WEBHOOK_GITHUB_SECRET": "observability-webhook-secret",
            "TRIBUTARY_EVENTS_ALLOW_HTTP": "true",
        }
    )
    api_port, worker_port = free_port(), free_port()
    stack.start_workers(processes=2, threads=2, TRIBUTARY_METRICS_PORT=str(worker_port))
    targets = {
        "tributary-api": f"127.0.0.1:{api_port}",
        "tributary-worker": f"127.0.0.1:{worker_port}",
    }
    workdir = stack.tmp / "prometheus"
    workdir.mkdir()
    with (
        running_api(stack, api_port) as api_url,
        running_prometheus(prometheus, workdir, targets, [RULES]) as prom,
    ):
        # When syncs run: successes, failures, retries, deferrals and a cooldown
        drive_syncs(stack, sim, api_url)

        # Then Prometheus' counters catch up with the ledger's
        expected = ledger_counts(stack)
        deadline = time.monotonic() + 20
        while prometheus_counts(prom) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # a few more evaluations, so every recording rule has caught up
        assert prometheus_counts(prom) == expected
        assert expected["completed"] >= len(OK_ACCOUNTS)
        assert expected["failed"] >= 2 and expected["retried"] >= 1
        assert expected["deferred"] >= 1 and expected["needs_reauth"] == 1
        assert all(t["health"] == "up" for t in prom.targets()), prom.targets()

        # and the limiter, provider and scheduler metrics agree with what happened
        allowed = prom.scalar('sum(tributary_ratelimit_decisions_total{decision="allowed"})')
        assert allowed == prom.scalar("sum(tributary_provider_requests_total)")
        assert allowed == len(sim.requests("github"))
        assert prom.scalar('sum(tributary_ratelimit_decisions_total{decision="cooldown"})') >= 1
        assert prom.scalar('sum(tributary_ratelimit_decisions_total{decision="deferred"})') >= 1
        for run in stack.query("SELECT command, last_success_at FROM scheduler_runs"):
            exported = prom.scalar(
                f'tributary_scheduler_last_success_timestamp_seconds{{command="{run["command"]}"}}'
            )
            assert abs(exported - run["last_success_at"].timestamp()) < 0.01
        assert prom.scalar('sum(tributary:queue_depth:max{state=~"waiting|processing"})') == 0

        # and every dashboard panel returns data
        problems: list[str] = []
        board = json.loads(DASHBOARD.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                problem = returns_data(prom, substitute(target["expr"]))
                if problem:
                    problems.append(f"panel {panel['title']!r}: {problem}")
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                query = variable["query"]["query"]
                metric, label = query.removeprefix("label_values(")[:-1].split(", ")
                problem = returns_data(prom, f"count by ({label}) ({metric})")
                if problem:
                    problems.append(f"variable {variable['name']}: {problem}")

        # and every rule is healthy; recordings return data, alerts' signals too
        rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
        loaded = prom.rules()
        assert len(loaded) == len(rules)
        problems += [
            f"rule {r['name']}: {r['health']} {r.get('lastError')}"
            for r in loaded
            if r["health"] != "ok"
        ]
        for rule in rules:
            if "record" in rule:
                for expr in (rule["expr"], rule["record"]):
                    problem = returns_data(prom, expr)
                    if problem:
                        problems.append(f"recording {rule['record']}: {problem}")
                continue
            prom.query(rule["expr"])  # accepted and evaluated, firing or not
            for signal in alert_signals(rule["expr"]):
                if not prom.query(signal):
                    problems.append(f"alert {rule['alert']}: signal has no data: {signal}")
        assert not problems, "\n".join(problems)

    # and the workers' job events were JSON lines with job id, provider and category, and
    # no access token reached the workers' or the api's logs
    worker_lines = [
        json.loads(line) for line in stack.worker_log().splitlines() if line.startswith("{")
    ]
    job_events = [line for line in worker_lines if str(line["event"]).startswith("job.")]
    assert {"job.claimed", "job.completed", "job.failed", "job.retried", "job.deferred"} <= {
        str(line["event"]) for line in job_events
    }
    for line in job_events:
        assert {"job_id", "provider", "category"} <= line.keys(), line
        assert line["provider"] == "github"
    assert all(line["category"] for line in job_events if line["event"] == "job.failed")
    logs = stack.worker_log() + (stack.tmp / "api.log").read_text()
    for row in stack.query("SELECT access_token FROM connections"):
        assert row["access_token"] not in logs


def test_alert_signals_split_thresholds_and_set_operators() -> None:
    expr = (
        "tributary:job_success_ratio:rate1h < 0.9\nand on (provider)\n"
        'sum by (provider) (increase(x{outcome=~"a|b"}[1h])) >= 20'
    )
    assert alert_signals(expr) == [
        "tributary:job_success_ratio:rate1h",
        'sum by (provider) (increase(x{outcome=~"a|b"}[1h]))',
    ]
    assert alert_signals('(sum(up{job=~".*w or x.*"}) or vector(0)) == 0') == [
        '(sum(up{job=~".*w or x.*"}) or vector(0))'
    ]
    assert alert_signals("time() - max(a) > 600 or b > 1e3") == ["time() - max(a)", "b"]
