"""Secrets at rest: `cryptography`'s MultiFernet (AES-128-CBC + HMAC-SHA256, authenticated).

Keys come from ``TRIBUTARY_ENCRYPTION_KEYS`` (comma-separated Fernet keys, each 32 bytes
url-safe base64): the first encrypts, every key decrypts, so rotation is "put the new key
first, run ``reencrypt``, drop the old key". Stored values are Fernet tokens (text
``gAAAAA…``); a value that is not one is a plaintext row written before migration 0006
and is read as such until ``migrate``/``reencrypt`` encrypts it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import ConfigError, TributaryError

#: Every Fernet token starts with version byte 0x80 and a 64-bit timestamp whose top
#: bytes are zero for millennia: base64 "gAAAAA".
_FERNET_PREFIX = "gAAAAA"


class UndecryptableSecret(TributaryError):
    """Raised when a stored secret is a Fernet token none of the configured keys opens."""


def parse_keys(raw: str, variable: str = "TRIBUTARY_ENCRYPTION_KEYS") -> tuple[str, ...]:
    """Split and validate a comma-separated key list; raise `ConfigError` on a bad key."""
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for number, key in enumerate(keys, 1):
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            raise ConfigError(
                f"{variable}: key {number} is not a Fernet key (32 bytes, url-safe base64;"
                " make one with `python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())'`)"
            ) from None
    return keys


def new_key() -> str:
    """A fresh random Fernet key (text)."""
    return Fernet.generate_key().decode()


def is_encrypted(value: str) -> bool:
    """Whether ``value`` looks like a Fernet token (not a legacy plaintext secret)."""
    return value.startswith(_FERNET_PREFIX)


class SecretBox:
    """Encrypts with the first key, decrypts with any. ``repr`` shows no key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError(
                "TRIBUTARY_ENCRYPTION_KEYS is not set: refusing to start without an encryption"
                " key (make run and the tests generate one under .run/)"
            )
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self.key_count = len(keys)

    def __repr__(self) -> str:
        return f"SecretBox(keys={self.key_count})"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """Return the plaintext; a legacy plaintext value is returned as it is.

        Raises `UndecryptableSecret` when no configured key opens the token."""
        if not is_encrypted(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret(
                "a stored secret cannot be decrypted with TRIBUTARY_ENCRYPTION_KEYS"
                " (was a key removed before `reencrypt` ran?)"
            ) from None

    def rotate(self, stored: str) -> str:
        """Re-encrypt under the first key (a plaintext value is encrypted)."""
        if not is_encrypted(stored):
            return self.encrypt(stored)
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret("a stored secret cannot be decrypted for rotation") from None
