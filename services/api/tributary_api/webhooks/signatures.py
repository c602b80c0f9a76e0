"""The `X-Hub-Signature` family: ``<algorithm>=<hex HMAC(secret, raw body)>``.

GitHub (`X-Hub-Signature-256`, sha256) [C GH-10], Meta/Instagram (`X-Hub-Signature-256`
with the app secret) [S META-S8], YouTube's WebSub hub (`X-Hub-Signature`, sha1 only)
[C WS-1, WS-2]. The HMAC is over the raw bytes as received, never re-serialised JSON
(Meta signs an escaped-unicode form) [S META-S9]. Compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}


def sign(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    """The header value for ``body``: ``sha256=<64 lowercase hex>``."""
    digest = hmac.new(secret.encode(), body, ALGORITHMS[algorithm]).hexdigest()
    return f"{algorithm}={digest}"


def valid(secret: str, body: bytes, header: str | None, allowed: tuple[str, ...]) -> bool:
    """True when ``header`` is a correct signature of ``body`` with one of ``allowed``.

    An empty secret never validates (a route without its secret is closed).
    """
    if not secret or not header:
        return False
    algorithm, _, _ = header.partition("=")
    algorithm = algorithm.strip().lower()
    if algorithm not in allowed:
        return False
    expected = sign(secret, body, algorithm).encode()
    return hmac.compare_digest(expected, header.strip().lower().encode("utf-8", "replace"))
