"""Structured logs: one JSON object per line, with job id, provider and category on job events.

Logging never crashes the host: a field that cannot be serialised is logged as its repr.
Secrets never reach a log line: nothing here logs tokens, and `redaction.redact` masks the
secrets in scope by value (the running job's connection, the configured secrets) and URL
passwords, secret query parameters and bearer tokens by pattern, in the message, every
string field and exception text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from .redaction import redact

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

__all__ = ["JsonFormatter", "configure", "event", "redact"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=repr)


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


#: Keys every ``job.*`` event carries (null when not applicable), so a log query can
#: always filter job events on them.
JOB_EVENT_KEYS = ("job_id", "provider", "category")


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``name`` with ``fields`` as top-level JSON keys."""
    if name.startswith("job."):
        fields = {**dict.fromkeys(JOB_EVENT_KEYS), **fields}
    logger.log(level, name, extra={k: v for k, v in fields.items() if k not in _RESERVED})
