"""`make run`: the whole system on one machine, with syncs visibly flowing; Ctrl-C stops it.

Redis and PostgreSQL come from `services.ensure()` (private ones when none is running),
then: migrations, the provider simulator, the api (gunicorn), the worker (2 processes),
the scheduler loop, one demo connection per provider with a manual sync each, and a
line per job state change.

Every way of ending it stops everything it started: Ctrl-C (SIGINT), SIGTERM (`timeout`),
SIGHUP (a closed terminal) and a closed output pipe (`make run | head`); a second
`make run` on the same `.run/` refuses (exit 1) before touching the first one's files.
``TRIBUTARY_RUN_DIR`` moves `.run/` (tests run it beside a developer's own).

Dramatiq stops the whole worker when one of its processes dies; here a worker that exits
is reported loudly (``!!! WORKER GONE``) and started again, so the stack keeps a worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from tributary_simulator.oauth import oauth_env

from tools.localstack import services
from tools.localstack.keys import local_encryption_key
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


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP, or when nobody reads the output."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def _say(text: str) -> None:
    try:
        print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)
    except (BrokenPipeError, ValueError):
        # The reader went away (`make run | head`, tee killed by Ctrl-C): stop quietly.
        _silence()
        raise Stop("output closed") from None


def _silence() -> None:
    """Send further output nowhere, so the shutdown never fails on a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.dup2(devnull, sys.stderr.fileno())


def _reader_gone() -> bool:
    """True when stdout is a pipe whose reading end has been closed."""
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (OSError, ValueError):
        return True


def _hidden(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _lock(run_dir: Path) -> IO[str] | None:
    """Hold `.run/run.lock` for this process's life; None when another run holds it."""
    handle = open(run_dir / "run.lock", "a+")  # noqa: SIM115 (held until exit)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        other = handle.read().strip() or "?"
        handle.close()
        print(
            f"make run: another make run (pid {other}) is using {run_dir}; stop it first",
            file=sys.stderr,
        )
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def main() -> int:
    run_dir = Path(os.environ.get("TRIBUTARY_RUN_DIR") or ROOT / ".run").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(run_dir)
    if lock is None:
        return 1
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        return _run(run_dir)
    except (KeyboardInterrupt, Stop):
        return 0
    finally:
        lock.close()


def _run(run_dir: Path) -> int:
    try:
        found = services.ensure(run_dir)
        database_url = os.environ.get("DATABASE_URL") or services.create_database(
            found.postgres_admin_url, "tributary"
        )
        with psycopg.connect(database_url, connect_timeout=5):
            pass
    except (psycopg.Error, RuntimeError) as exc:
        tried = os.environ.get("DATABASE_URL") or "the local or a private PostgreSQL"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"make run: cannot use {_hidden(tried)}: {reason}", file=sys.stderr)
        return 2
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
        "TRIBUTARY_ENCRYPTION_KEYS": os.environ.get("TRIBUTARY_ENCRYPTION_KEYS")
        or local_encryption_key(run_dir),
    }
    for provider in DEMO_ACCOUNTS:
        env.setdefault(
            f"TRIBUTARY_{provider.upper()}_BASE_URL", f"http://127.0.0.1:{sim_port}/{provider}"
        )
    # OAuth apps at the simulator; the demo X token lives a minute, renewed 10 s before.
    for name, value in oauth_env(f"http://127.0.0.1:{sim_port}").items():
        env.setdefault(name, value)
    env.setdefault("TRIBUTARY_REFRESH_MARGIN_SECONDS", "10")
    _say(
        f"redis {found.redis_url}  postgres {'private' if 'postgres' in found.started else 'local'}"
    )
    subprocess.run([sys.executable, "-m", "tributary_scheduler", "migrate"], env=env, check=True)

    procs: list[subprocess.Popen[bytes]] = []
    restarts: dict[int, Callable[[], subprocess.Popen[bytes]]] = {}

    def start(
        name: str, *cmd: str, extra: dict[str, str] | None = None, restart: bool = False
    ) -> None:
        def launch() -> subprocess.Popen[bytes]:
            log = open(run_dir / f"{name}.log", "ab")  # noqa: SIM115 (lives with the process)
            proc = subprocess.Popen(
                list(cmd),
                env={**env, **(extra or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            _say(f"started {name} (log: .run/{name}.log)")
            return proc

        proc = launch()
        procs.append(proc)
        if restart:
            restarts[len(procs) - 1] = launch

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
        restart=True,
    )
    start(
        "scheduler", sys.executable, "-m", "tributary_scheduler", "loop", "--interval-seconds", "5"
    )
    try:
        wait_ready(f"http://127.0.0.1:{api_port}/healthz")
        _say(f"api http://127.0.0.1:{api_port}  (Authorization: Bearer {env['API_TOKEN']})")
        _say(f"cron secret (Authorization: Bearer for /api/cron/*): {env['CRON_SECRET']}")
        _say(
            f"console http://127.0.0.1:{api_port}/console/  (sign in with the API token: "
            f"{env['API_TOKEN']})"
        )
        _say(
            f"metrics: api http://127.0.0.1:{api_port}/metrics, worker http://127.0.0.1:9191/metrics"
        )
        _seed(env, api_port, f"http://127.0.0.1:{sim_port}")
        _watch(database_url, procs, restarts)
    except (KeyboardInterrupt, Stop):
        pass
    finally:
        # Nothing may interrupt the shutdown: a second Ctrl-C or TERM is ignored meanwhile.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        with contextlib.suppress(Stop):
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


def _seed(env: dict[str, str], api_port: int, sim_url: str) -> None:
    """One demo connection per provider, and a manual sync of each, through the api; the
    X one holds a real simulator grant whose access token expires in a minute."""
    import httpx

    admin = httpx.Client(base_url=f"{sim_url}/_admin", timeout=10)
    admin.put("/oauth/x", json={"accessTtlSeconds": 60})
    grant = admin.post("/oauth/x/grants", json={"account": DEMO_ACCOUNTS["x"]}).json()
    expiring = {
        "accessToken": grant["access_token"],
        "refreshToken": grant["refresh_token"],
        "expiresAt": (datetime.now(UTC) + timedelta(seconds=60)).isoformat(),
    }

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
                **(expiring if provider == "x" else {}),
            },
        )
        answer = api.post("/api/sync/manual", json={"userId": "demo-user", "provider": provider})
        _say(f"manual sync {provider}: HTTP {answer.status_code} {answer.text[:120]}")


def _watch(
    database_url: str,
    procs: list[subprocess.Popen[bytes]],
    restarts: dict[int, Callable[[], subprocess.Popen[bytes]]],
) -> None:
    """Print every job state change until Ctrl-C (or a process that is not restarted dies)."""
    seen: dict[str, str] = {}
    versions: dict[str, int] = {}
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        while True:
            supervise(procs, restarts)
            if not all(p.poll() is None for p in procs):
                break
            if _reader_gone():
                _silence()
                raise Stop("output closed")
            for cred in conn.execute(
                "SELECT id, provider, credential_version, token_expires_at FROM connections"
                " WHERE refresh_token IS NOT NULL"
            ).fetchall():
                key, version = str(cred["id"]), cred["credential_version"]
                if key in versions and versions[key] != version:
                    _say(
                        f"credential {cred['provider']} refreshed → version {version},"
                        f" expires {cred['token_expires_at']:%H:%M:%S}"
                    )
                versions[key] = version
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


def supervise(
    procs: list[subprocess.Popen[bytes]],
    restarts: dict[int, Callable[[], subprocess.Popen[bytes]]],
    say: Callable[[str], None] = _say,
) -> int:
    """Start again each restartable process that exited, saying so loudly; return how many.

    Dramatiq's parent stops every worker process when one of them dies, so a dead child
    means no worker at all until this replaces the whole worker.
    """
    replaced = 0
    for index, launch in restarts.items():
        code = procs[index].poll()
        if code is None:
            continue
        say(f"!!! WORKER GONE (exit code {code}): no jobs run until it is back; restarting")
        if _group_alive(procs[index].pid):  # children the parent left behind
            os.killpg(procs[index].pid, signal.SIGKILL)
        procs[index] = launch()
        replaced += 1
    return replaced


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
