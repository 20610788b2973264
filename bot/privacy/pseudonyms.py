"""Keyed pseudonyms for addresses (phone numbers, Telegram chat ids).

HMAC-SHA256 with a secret key: the same address always gives the same pseudonym (so a conversation continues), but
without the key nobody can test a guessed phone number against the pseudonyms in a log or in Rasa's tracker store,
which a plain hash of a phone number would allow in seconds.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets


class Pseudonyms:
    """``of(channel, address)`` -> ``"sms-3f2a..."``: what Rasa, the logs and the stores see instead of an address."""

    LENGTH = 24  # hex characters: 96 bits, no collisions in practice, short in logs

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("a pseudonym key is required")
        self._key = key.encode("utf-8")

    @classmethod
    def with_random_key(cls) -> "Pseudonyms":
        """For local runs: pseudonyms are stable until the process ends, and unlinkable after."""
        return cls(secrets.token_hex(32))

    def of(self, channel: str, address: str) -> str:
        digest = hmac.new(self._key, f"{channel}\x1f{address}".encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{channel}-{digest[: self.LENGTH]}"

    def of_message(self, channel: str, message_id: str) -> str:
        """A keyed id for a provider's message id (duplicate detection keeps no provider id)."""
        return self.of(f"{channel}-msg", message_id)

    def __repr__(self) -> str:  # never show the key
        return "Pseudonyms(<key>)"
