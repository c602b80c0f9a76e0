"""`redaction.redact`: secrets masked by value in every spelling, and by pattern."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from tributary_common import redaction
from tributary_common.logs import JsonFormatter
from tributary_common.redaction import guarding, redact

SECRET = 'tok!"\\en PARTLEAK\n'


@pytest.mark.parametrize(
    "spelled",
    [
        SECRET,
        SECRET.strip(),
        repr(SECRET),
        repr(SECRET.encode()),
        json.dumps(SECRET),
        quote(SECRET, safe=""),
    ],
)
def test_every_spelling_of_a_secret_in_scope_is_masked(spelled: str) -> None:
    text = f"request failed: header={spelled} (retry)"
    with guarding([SECRET]):
        masked = redact(text)
    assert "PARTLEAK" not in masked and "***" in masked
    assert "PARTLEAK" in redact(text)  # out of scope, a bare value is not known


def test_bearer_pattern_masks_the_whole_token() -> None:
    for token in ("ab!PARTLEAK", "ab%PARTLEAK", "ab]PARTLEAK", "ab\\PARTLEAK"):
        assert "PARTLEAK" not in redact(f"Authorization: Bearer {token} sent")
        assert "PARTLEAK" not in redact(f"Basic {token}")
    assert "PARTLEAK" not in redact("GET /x?access_token=ab!PARTLEAK&y=1")


def test_scope_ends_and_registered_secrets_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_GLOBAL", set())
    with guarding(["scoped-PARTLEAK"]):
        assert redact("x scoped-PARTLEAK") == "x ***"
    assert redact("x scoped-PARTLEAK") == "x scoped-PARTLEAK"
    redaction.register("api-PARTLEAK", "")
    assert redact("token api-PARTLEAK") == "token ***"


def test_log_lines_are_masked_in_message_fields_and_traceback() -> None:
    formatter = JsonFormatter()
    try:
        raise ValueError(f"boom {SECRET!r}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "x %s", (SECRET,), sys.exc_info()
        )
    record.detail = f"Bearer ab!PARTLEAK {SECRET}"
    with guarding([SECRET]):
        line = formatter.format(record)
    assert "PARTLEAK" not in line
