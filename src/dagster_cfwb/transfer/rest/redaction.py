"""Mask secrets in URLs, headers and response snippets before they reach a log or an error."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dagster_cfwb.transfer.secret_masking import MASK, is_secret_field, redact

__all__ = ["install_httpx_log_redaction", "mask_url", "safe_snippet", "secret_query_values"]

_EXTRA_SECRET_PARAMS = {"apikey", "api-key", "sig", "signature", "code", "access_token", "auth", "pwd"}


def _is_secret_param(name: str, extra: Iterable[str]) -> bool:
    lowered = name.lower()
    return (
        lowered in _EXTRA_SECRET_PARAMS or lowered in {e.lower() for e in extra} or is_secret_field(lowered)
    )


def mask_url(url: object, secret_params: Iterable[str] = ()) -> str:
    """`url` with the values of secret-looking query parameters (`api_key`, `token`…) replaced by `**********`.

    Example:
        >>> mask_url("https://api.example/items?page=2&api_key=abc123")
        'https://api.example/items?page=2&api_key=**********'
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    if not parts.query:
        return urlunsplit(parts._replace(netloc=netloc))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    masked = [(k, MASK if _is_secret_param(k, secret_params) and v else v) for k, v in pairs]
    query = urlencode(masked, safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def secret_query_values(url: object, secret_params: Iterable[str] = ()) -> list[str]:
    """The values of the secret-looking query parameters of `url` (to mask them wherever they are echoed)."""
    try:
        query = urlsplit(str(url)).query
    except ValueError:
        return []
    return [
        v for k, v in parse_qsl(query, keep_blank_values=True) if v and _is_secret_param(k, secret_params)
    ]


def safe_snippet(text: str, secrets: Iterable[str | None], limit: int = 300) -> str:
    """The first `limit` characters of a response body, one line, with known secret values masked."""
    clean = redact(text, list(secrets))
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[:limit] + "…"


class _HttpxUrlFilter(logging.Filter):
    """Rewrites httpx's `HTTP Request: GET <url>` log lines with secret query values masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(mask_url(a) if _looks_like_url(a) else a for a in record.args)
        return True


def _looks_like_url(value: object) -> bool:
    return type(value).__name__ == "URL" or (
        isinstance(value, str) and value.startswith(("http://", "https://"))
    )


_installed = False


def install_httpx_log_redaction() -> None:
    """Attach (once) a filter to the `httpx` logger so request URLs it logs have their query secrets masked."""
    global _installed
    if not _installed:
        logging.getLogger("httpx").addFilter(_HttpxUrlFilter())
        _installed = True
