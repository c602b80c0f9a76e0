"""Secrets removed from text by value, before it is stored, logged or returned.

Two layers, one function (`redact`):

* **By value**: every secret in scope is replaced by ``***`` in each spelling a library
  may print it in (as is, stripped, Python ``repr`` of str and bytes, JSON-escaped,
  percent-encoded). Secrets are in scope process-wide (`register`, e.g. ``API_TOKEN`` and
  ``CRON_SECRET`` at the api's entry point) or for the duration of a job (`guarding`, which
  the runner enters with `connection_secrets` of the job's connection). The scope is a
  context variable, so each worker thread masks its own job's secrets.
* **By pattern**, for secrets nobody registered: URL passwords, secret query parameters
  (``access_token=`` as Graph APIs take them), and whatever follows ``Bearer``/``Basic``
  up to the next whitespace (any character, so ``ab!PARTLEAK`` is masked whole).

Callers: `runner` (every error text of a job, before the ledger and the result see it),
`logs.JsonFormatter` (message, every string field, the traceback), the ledger's error
columns (`ledger.textsafe.error_text`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote, quote_plus

from .connectors import ConnectionInfo

MASK = "***"

#: The `ConnectionInfo` fields that hold secrets. The credentials work (#14) adds its own
#: (a refresh token, a per-connection client secret) here; `connection_secrets` reads them.
CONNECTION_SECRET_FIELDS: tuple[str, ...] = ("access_token",)

_PATTERNS = (
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (
        re.compile(
            r"([?&](?:access_token|refresh_token|token|api_key|key|client_secret|password|sig)=)"
            r"[^&\s\"']+",
            re.IGNORECASE,
        ),
        r"\1***",
    ),
    (re.compile(r"(\b(?:Bearer|Basic)\s+)\S+", re.IGNORECASE), r"\1***"),
)

_GLOBAL: set[str] = set()
_SCOPED: ContextVar[tuple[str, ...]] = ContextVar("tributary_redaction_scope", default=())


def connection_secrets(connection: ConnectionInfo) -> tuple[str, ...]:
    """Every non-empty secret ``connection`` holds (`CONNECTION_SECRET_FIELDS`)."""
    values = (getattr(connection, name, None) for name in CONNECTION_SECRET_FIELDS)
    return tuple(v for v in values if isinstance(v, str) and v)


def register(*secrets: str) -> None:
    """Mask these in every text of this process from now on (configured secrets)."""
    _GLOBAL.update(s for s in secrets if s)


@contextmanager
def guarding(secrets: Iterable[str]) -> Iterator[None]:
    """Mask ``secrets`` in this context (thread) until the block ends."""
    token = _SCOPED.set(_SCOPED.get() + tuple(s for s in secrets if s))
    try:
        yield
    finally:
        _SCOPED.reset(token)


def spellings(secret: str) -> set[str]:
    """The forms ``secret`` takes in exception texts, reprs, JSON and URLs."""
    forms = {
        secret,
        secret.strip(),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    return {form for form in forms if form}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret in scope (and ``secrets``) masked by value, then by pattern."""
    values = {*_GLOBAL, *_SCOPED.get(), *secrets}
    if values:
        forms = {form for value in values for form in spellings(value)}
        for form in sorted(forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
