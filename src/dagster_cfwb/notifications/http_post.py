"""POST a JSON document with the standard library, with errors that never show the URL's secrets."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.transfer.secret_masking import redact

__all__ = ["NotificationError", "post_json"]


class NotificationError(CfwbError, RuntimeError):
    """A notification could not be delivered (the message names the channel and host, never secrets)."""


def post_json(
    url: str,
    payload: Any,
    *,
    channel: str,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    secrets: list[str | None] | None = None,
) -> int:
    """POST `payload` as JSON to `url`; return the HTTP status (2xx) or raise NotificationError."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2] or "?"  # never `user:password@`
    # webhook URLs carry their secret in the path or query (Teams: `sig=…`): never echo them back
    hidden = [
        url,
        parts.path + ("?" + parts.query if parts.query else ""),
        parts.query,
        parts.path,
        *(secrets or []),
    ]
    hidden = [h for h in hidden if h and h != "/"]
    try:
        request = urllib.request.Request(url, data=body, method="POST")  # URL from configuration
        request.add_header("Content-Type", "application/json; charset=utf-8")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        detail = redact(e.read(500).decode("utf-8", "replace"), hidden)
        raise NotificationError(f"{channel}: `{host}` answered HTTP {e.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = redact(str(getattr(e, "reason", e)), hidden)
        raise NotificationError(f"{channel}: could not reach `{host}`: {reason}") from None
    except (ValueError, http.client.HTTPException):  # http.client quotes the URL (its secret) in these
        raise NotificationError(
            f"{channel}: the URL for `{host}` is not valid (a space or control character in it, or a "
            "port that is not a number?); check the environment variable that holds it."
        ) from None
