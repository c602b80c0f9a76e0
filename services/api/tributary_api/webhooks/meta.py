"""Meta / Instagram deliveries: ``{"object": ..., "entry": [{"id", "time", "changes"|
"messaging"}]}`` [C META-1, IG-6], possibly batching up to 1000 entries [S META-S2].

Meta sends no delivery id, and re-sends the same bytes on a retry [S ISS-33], so the
dedupe key is the SHA-256 of the raw body. Each entry's `id` is the object that changed:
an Instagram user id (object `instagram`) or an ad account id (object `ad_account`, which
Tributary stores as ``act_<id>``); for other objects both are tried.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tributary_common.ledger.deliveries import Delivery

from .errors import Malformed

MAX_ENTRIES = 1000


def parse(body: bytes) -> Delivery:
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed("the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise Malformed("expected {object, entry: [...]}")
    kind = str(payload.get("object") or "")
    accounts: list[tuple[str, str]] = []
    for entry in payload["entry"][:MAX_ENTRIES]:
        raw = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(raw, (str, int)) or isinstance(raw, bool):
            continue
        object_id = str(raw)
        for pair in _candidates(kind, object_id):
            if pair not in accounts:
                accounts.append(pair)
    return Delivery(
        provider="meta",
        delivery_id="sha256:" + hashlib.sha256(body).hexdigest(),
        event=kind,
        accounts=tuple(accounts),
    )


def _candidates(kind: str, object_id: str) -> list[tuple[str, str]]:
    bare = object_id.removeprefix("act_")
    ads = [("meta_ads", f"act_{bare}"), ("meta_ads", bare)]
    if kind == "instagram":
        return [("instagram", object_id)]
    if kind == "ad_account":
        return ads
    return [("instagram", object_id), *ads]
