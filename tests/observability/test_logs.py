"""Job events are JSON lines with job id, provider and category; secrets never appear."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from tributary_common.logs import JsonFormatter, event, redact

TOKEN = "gho_s3cr3tT0k3nValue"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Capture one logger's records as the services format them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.observability.logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield stream
    logger.handlers.clear()


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_job_events_carry_job_id_provider_and_category(lines: io.StringIO) -> None:
    # Given a job that failed and one that was only claimed
    log = logging.getLogger("tests.observability.logs")
    job_id = str(uuid.uuid4())

    # When the runner logs their events
    event(
        log,
        "job.failed",
        logging.WARNING,
        job_id=job_id,
        provider="github",
        category="API_ERROR",
        error="Bad credentials",
    )
    event(log, "job.claimed", job_id=job_id, provider="github", queue="sync.manual")

    # Then each is one JSON line with those keys, category null where none applies
    failed, claimed = records(lines)
    assert failed["event"] == "job.failed" and failed["level"] == "warning"
    assert (failed["job_id"], failed["provider"], failed["category"]) == (
        job_id,
        "github",
        "API_ERROR",
    )
    assert claimed["job_id"] == job_id and claimed["category"] is None


def test_tokens_and_url_passwords_never_reach_a_line(lines: io.StringIO) -> None:
    log = logging.getLogger("tests.observability.logs")
    # Given errors that quote a database URL, a Graph API URL and an Authorization header
    dsn = "postgresql://tributary:hunter2@db:5432/tributary"
    graph = f"https://graph.facebook.com/v19.0/me?fields=id&access_token={TOKEN}&limit=5"

    # When they are logged as the message, as fields and inside an exception
    event(
        log,
        f"job.send_failed {dsn}",
        job_id="j",
        provider="meta_ads",
        error=f"transport error: ConnectError: {graph}",
        header=f"Bearer {TOKEN}",
    )
    try:
        raise RuntimeError(f"cannot reach {dsn} or {graph}")
    except RuntimeError:
        log.exception("job.unexpected_error", extra={"job_id": "j"})

    # Then neither the password nor the token appears, and the rest stays readable
    text = lines.getvalue()
    assert "hunter2" not in text and TOKEN not in text
    assert "tributary:***@db" in text and "access_token=***&limit=5" in text
    assert "Bearer ***" in text
    assert all(isinstance(json.loads(line), dict) for line in text.splitlines())


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "GET /users/octo/events?per_page=100&page=2 -> 200"
    assert redact(text) == text
