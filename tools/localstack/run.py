"""`make run`: the whole system on one machine, with syncs visibly flowing; Ctrl-C stops it.

Redis and PostgreSQL come from `services.ensure()` (private ones when none is running),
then: migrations, the provider simulator, the api (gunicorn), the worker (2 processes),
the scheduler loop, one demo connection per provider with a manual sync each, and a
line per job state change.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from tools.localstack import services
from tools.localstack.processes import API_COMMAND, wait_ready

ROOT = Path(__file__).resolve().parents[2]
DEMO_ACCOUNTS = {
    "github": "octocat",
    "youtube": "UCdemo0channel0000000001",
    "x": "2244994945",
    "instagram": "17841400000000001",
    "meta_ads": "act_1000000001",
    "google_ads": "1234567891",
}


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def _say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def main() -> int:
    run_dir = ROOT / ".run"
    found = services.ensure(run_dir)
    database_url = os.environ.get("DATABASE_URL") or services.create_database(
        found.postgres_admin_url, "tributary"
    )
    sim_port, api_port = _port(8900), _port(8000)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": found.redis_url,
        "TRIBUTARY_NAMESPACE": os.environ.get("TRIBUTARY_NAMESPACE", "tributary-dev"),
        "API_TOKEN": os.environ.get("API_TOKEN") or secrets.token_urlsafe(16),
        "CRON_SECRET": os.environ.get("CRON_SECRET") or secrets.token_urlsafe(16),
        "GUNICORN_BIND": f"127.0.0.1:{api_port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "metrics-api"),
        "TRIBUTARY_RECONCILE_GRACE_SECONDS": "10",
    }
    for provider in DEMO_ACCOUNTS:
        env.setdefault(
            f"TRIBUTARY_{provider.upper()}_BASE_URL", f"http://127.0.0.1:{sim_port}/{provider}"
        )
    _say(
        f"redis {found.redis_url}  postgres {'private' if 'postgres' in found.started else 'local'}"
    )
    subprocess.run([sys.executable, "-m", "tributary_scheduler", "migrate"], env=env, check=True)

    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *cmd: str, extra: dict[str, str] | None = None) -> None:
        log = open(run_dir / f"{name}.log", "wb")  # noqa: SIM115 (lives as long as the process)
        procs.append(
            subprocess.Popen(
                list(cmd),
                env={**env, **(extra or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        _say(f"started {name} (log: .run/{name}.log)")

    start("simulator", sys.executable, "-m", "tributary_simulator", "--port", str(sim_port))
    wait_ready(f"http://127.0.0.1:{sim_port}/_admin/stats")
    start("api", *API_COMMAND)
    start(
        "worker",
        sys.executable,
        "-m",
        "tributary_worker",
        extra={
            "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "metrics-worker"),
            "TRIBUTARY_WORKER_PROCESSES": "2",
        },
    )
    start(
        "scheduler", sys.executable, "-m", "tributary_scheduler", "loop", "--interval-seconds", "5"
    )
    try:
        wait_ready(f"http://127.0.0.1:{api_port}/healthz")
        _say(f"api http://127.0.0.1:{api_port}  (Authorization: Bearer {env['API_TOKEN']})")
        _say(
            f"metrics: api http://127.0.0.1:{api_port}/metrics, worker http://127.0.0.1:9191/metrics"
        )
        _seed(env, api_port)
        _watch(database_url, procs)
    except KeyboardInterrupt:
        pass
    finally:
        _say("stopping…")
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)  # the leader relays it
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    return 0


def _seed(env: dict[str, str], api_port: int) -> None:
    """One demo connection per provider, and a manual sync of each, through the api."""
    import httpx

    api = httpx.Client(
        base_url=f"http://127.0.0.1:{api_port}",
        headers={"Authorization": f"Bearer {env['API_TOKEN']}"},
        timeout=10,
    )
    for provider, account in DEMO_ACCOUNTS.items():
        api.post(
            "/api/connections",
            json={
                "userId": "demo-user",
                "provider": provider,
                "accountId": account,
                "accessToken": f"demo-{provider}-token",
                "syncIntervalMinutes": 1,
            },
        )
        answer = api.post("/api/sync/manual", json={"userId": "demo-user", "provider": provider})
        _say(f"manual sync {provider}: HTTP {answer.status_code} {answer.text[:120]}")


def _watch(database_url: str, procs: list[subprocess.Popen[bytes]]) -> None:
    """Print every job state change until Ctrl-C (or a process dies)."""
    seen: dict[str, str] = {}
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        while all(p.poll() is None for p in procs):
            rows = conn.execute(
                "SELECT id, platform, trigger, status, records_synced, error_category FROM sync_jobs"
                " WHERE updated_at > now() - interval '10 minutes' ORDER BY updated_at"
            ).fetchall()
            for row in rows:
                key = str(row["id"])
                if seen.get(key) != row["status"]:
                    detail = (
                        f" records={row['records_synced']}" if row["status"] == "completed" else ""
                    )
                    if row["error_category"]:
                        detail += f" last_error={row['error_category']}"
                    _say(
                        f"job {key[:8]} {row['platform']:<10} {row['trigger']:<9} "
                        f"{seen.get(key, 'new')} → {row['status']}{detail}"
                    )
                    seen[key] = row["status"]
            time.sleep(1)
    dead = [p.args for p in procs if p.poll() is not None]
    _say(f"a process exited: {dead}; see .run/*.log")


if __name__ == "__main__":
    sys.exit(main())
