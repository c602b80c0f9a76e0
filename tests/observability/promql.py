"""A live Prometheus for tests, and the PromQL helpers the e2e test needs."""

from __future__ import annotations

import math
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tools.localstack.processes import wait_ready

#: Dashboard variables as the e2e test sets them: every provider, a short rate window
#: (Grafana's $__rate_interval is at least four scrape intervals; scrapes here are 1 s).
DASHBOARD_VARIABLES = {
    "$__rate_interval": "1m",
    "${provider}": ".*",
    "$provider": ".*",
}
_SET_OPERATOR = re.compile(r"\s(and|or|unless)\s")
_MATCHING = re.compile(r"\s*(on|ignoring)\s*\([^)]*\)\s*((group_left|group_right)\s*(\([^)]*\))?)?")
_THRESHOLD = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?[-+]?\d[\d.eE+-]*\s*$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def substitute(expr: str, variables: dict[str, str] = DASHBOARD_VARIABLES) -> str:
    """Replace Grafana variables the way Grafana would for the chosen values."""
    for name, value in variables.items():
        expr = expr.replace(name, value)
    return expr


def alert_signals(expr: str) -> list[str]:
    """Split an alert expression into the signals its thresholds compare.

    The operands of top-level ``and``/``or``/``unless`` are taken apart and a trailing
    ``<op> <number>`` is dropped from each, so ``a > 5 or b < 0.9`` gives ``a`` and ``b``:
    the series an alert watches, which must exist whether or not the alert fires.
    """
    parts: list[str] = []
    depth, start, i, quote = 0, 0, 0, ""
    while i < len(expr):
        char = expr[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and (match := _SET_OPERATOR.match(expr, i)):
            parts.append(expr[start:i])
            i = match.end()
            if modifier := _MATCHING.match(expr, i):
                i = modifier.end()
            start = i
            continue
        i += 1
    parts.append(expr[start:])
    return [_THRESHOLD.sub("", part).strip() for part in parts]


class Prometheus:
    """Client of a Prometheus server's HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Evaluate ``expr`` now; raise AssertionError if Prometheus rejects it."""
        response = self.http.get("/api/v1/query", params={"query": expr})
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body.get('error')}"
        assert body["data"]["resultType"] == "vector", f"{expr}: {body['data']['resultType']}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, expr: str) -> float:
        """The value of a one-series result (e.g. ``sum(...)``); NaN when empty."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else math.nan

    def rules(self) -> list[dict[str, Any]]:
        groups = self.http.get("/api/v1/rules").json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def targets(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.http.get("/api/v1/targets").json()["data"][
            "activeTargets"
        ]
        return result

    def close(self) -> None:
        self.http.close()


@contextmanager
def running_prometheus(
    binary: str, workdir: Path, targets: dict[str, str], rule_files: list[Path]
) -> Iterator[Prometheus]:
    """Start Prometheus on loopback, scraping ``targets`` (job → host:port) every second."""
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = workdir / "prometheus.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", proc=proc, log=log_path)
        yield server
    finally:
        server.close()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
