"""Text PostgreSQL accepts, made once at the ledger boundary from text we did not write.

PostgreSQL refuses NUL (U+0000) in ``text`` and ``jsonb``, and no UTF-8 encoder accepts a
lone surrogate (U+D800..U+DFFF, which JSON can spell and Python decodes). A provider
record holding one would fail its page forever; instead the ledger's write functions pass
what came from outside (records, cursors, error messages, dead-letter payloads, connection
metadata) through here: NUL removed, each lone surrogate replaced by U+FFFD, the rest
kept. Error texts are also masked of secrets (`redaction.redact`) before they are stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar, overload

from psycopg.types.json import Jsonb

from ..redaction import redact

REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
T = TypeVar("T")


def text(value: str) -> str:
    """``value`` without NUL and with lone surrogates replaced (a valid pair never occurs in
    a Python str: it is one code point)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return _LONE_SURROGATE.sub(REPLACEMENT, value)


def clean(value: T) -> T:
    """Every string in ``value`` (mapping keys too, lists, tuples) made storable."""
    if isinstance(value, str):
        return text(value)  # type: ignore[return-value]
    if isinstance(value, Mapping):
        return {text(k) if isinstance(k, str) else k: clean(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]  # type: ignore[return-value]
    return value


def jsonb(value: Mapping[str, Any]) -> Jsonb:
    """A jsonb parameter of ``value`` cleaned."""
    return Jsonb(clean(dict(value)))


@overload
def error_text(value: str) -> str: ...
@overload
def error_text(value: None) -> None: ...
def error_text(value: str | None) -> str | None:
    """An error message to store: secrets masked, then made storable."""
    return None if value is None else text(redact(value))
