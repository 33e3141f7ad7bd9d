"""Keep secrets out of reprs, logs and error messages."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "RedactedReprMixin", "is_secret_field", "redact"]

MASK = "**********"
_SECRET_WORDS = ("password", "secret", "token", "key", "connection_string", "credential", "sas")


def is_secret_field(name: str) -> bool:
    """True for config field names that hold secrets (password, client_secret, api_key, …)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith(
        ("_env", "_name", "_path", "_id")
    )


class RedactedReprMixin:
    """Mixin for pydantic/Dagster config classes: secret-looking fields show as `**********`."""

    def __repr_args__(self):  # noqa: D401 - pydantic hook
        for name, value in super().__repr_args__():  # type: ignore[misc]
            if name and is_secret_field(name) and value not in (None, ""):
                yield name, MASK
            else:
                yield name, value


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in `text` by `**********`."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text
