"""Keep secrets out of error messages and logs: plain functions every layer can use."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "is_secret_field", "redact"]

MASK = "**********"
_SECRET_WORDS = ("password", "secret", "token", "key", "connection_string", "credential", "sas")


def is_secret_field(name: str) -> bool:
    """True for config field names that hold secrets (password, client_secret, api_key, …)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith(
        ("_env", "_name", "_path", "_id")
    )


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in `text` by `**********`."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text
