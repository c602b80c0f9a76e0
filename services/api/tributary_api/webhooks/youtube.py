"""YouTube WebSub deliveries: an Atom feed whose entries carry `yt:channelId` and
`yt:videoId` [C YT-1]; a deletion is an `at:deleted-entry` tombstone with the channel only
in `at:by/uri` (``.../channel/<id>``) [S YT-S1].

The hub sends no delivery id; the dedupe key is the SHA-256 of the raw body. XML from the
internet is parsed with defusedxml (no entity expansion, no external entities).
"""

from __future__ import annotations

import hashlib
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from tributary_common.ledger.deliveries import Delivery

from .errors import Malformed

ATOM = "{http://www.w3.org/2005/Atom}"
YT = "{http://www.youtube.com/xml/schemas/2015}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}"


def parse(body: bytes) -> Delivery:
    try:
        root: Element = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise Malformed("the body is not an Atom feed") from None
    if root.tag != f"{ATOM}feed":
        raise Malformed("the body is not an Atom feed")
    channels: list[str] = []
    for entry in root.iter(f"{ATOM}entry"):
        _add(channels, entry.findtext(f"{YT}channelId"))
    for deleted in root.iter(f"{TOMBSTONE}deleted-entry"):
        uri = deleted.findtext(f"{TOMBSTONE}by/{ATOM}uri") or ""
        _add(channels, uri.rstrip("/").rpartition("/channel/")[2] if "/channel/" in uri else None)
    return Delivery(
        provider="youtube",
        delivery_id="sha256:" + hashlib.sha256(body).hexdigest(),
        event="feed",
        accounts=tuple(("youtube", c) for c in channels),
    )


def _add(channels: list[str], value: str | None) -> None:
    value = (value or "").strip()
    if value and value not in channels:
        channels.append(value)
