"""When to retry a request and how long to wait: exponential backoff with jitter, honouring Retry-After."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["RateLimiter", "RetryPolicy", "is_retryable_error", "is_retryable_status", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_retryable_status(status_code: int) -> bool:
    """True for 408, 425, 429 and the 5xx statuses that mean "try again later" (500, 502, 503, 504)."""
    return status_code in RETRYABLE_STATUSES


def is_retryable_error(error: BaseException) -> bool:
    """True for timeouts, refused/reset/dropped connections and truncated responses."""
    return isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay in seconds or an HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry settings.

    Attributes:
        max_retries: retries after the first attempt (0: never retry).
        backoff_seconds: first wait; the n-th retry waits `backoff_seconds * 2**(n-1)`, plus up to
            50 % random jitter, capped at `max_backoff_seconds`.
        max_backoff_seconds: longest wait between two attempts, including a server's Retry-After.
    """

    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry_number` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        base = self.backoff_seconds * (2 ** max(retry_number - 1, 0))
        return min(base * (1 + random.random() * 0.5), self.max_backoff_seconds)  # jitter


class RateLimiter:
    """Spaces request starts at least `1 / requests_per_second` seconds apart (thread-safe)."""

    def __init__(self, requests_per_second: float | None):
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)
