"""Keep secrets out of reprs, logs and error messages (the masking itself: `transfer/secret_masking.py`)."""

from __future__ import annotations

from dagster_cfwb.transfer.secret_masking import MASK, is_secret_field, redact

__all__ = ["MASK", "RedactedReprMixin", "is_secret_field", "redact"]


class RedactedReprMixin:
    """Mixin for pydantic/Dagster config classes: secret-looking fields show as `**********`."""

    def __repr_args__(self):  # pydantic hook
        for name, value in super().__repr_args__():  # type: ignore[misc]
            if name and is_secret_field(name) and value not in (None, ""):
                yield name, MASK
            else:
                yield name, value
