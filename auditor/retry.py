"""When a failed Google request is sent again, how long a request may take, how long a listing may run.

One policy, applied in one place: the capture layer (auditor.evidence.capture) retries a failed
HTTP request of the Google stacks (httplib2 under the discovery clients, requests under
google-cloud-asset), so a request is only ever sent again after it failed, and each failed attempt
stays in the evidence as a page of its call. The client libraries' own retry loops are off
(`execute(num_retries=0)`, `retry=None`), otherwise one failure would be retried by two loops.
GitHub is the exception: PyGithub's GithubRetry already follows GitHub's own guidance
(Retry-After, X-RateLimit-Reset, secondary limits) and runs below the capture layer's adapter, so
the GitHub adapter does not retry again (see auditor.collectors.github).

What is retried (Google's retry guidance):
- 429, 500, 502, 503, 504 (and 403 with reason ``rateLimitExceeded`` or
  ``userRateLimitExceeded``), with truncated exponential backoff (``base * 2**n`` plus jitter, at
  most ``cap`` seconds), at most ``retries`` times;
- a ``Retry-After`` header (seconds or an HTTP date) is honoured exactly;
- a connection refused, reset or timed out before a response arrived (every call is a read, so
  sending it again is safe).
A wait longer than ``max_wait`` is not taken: the call fails and becomes an inconclusive finding,
rather than stalling a run for an hour; when the retries run out the call fails with the last error.

The policy of a run comes from the config's `collection` section (`from_settings`). Tests shorten
timeouts and remove sleeps for the whole process with `overridden(...)`, which wins over config.
"""

from __future__ import annotations

import contextvars
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, Mapping

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = 60.0


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return None if value is None else str(value).strip()


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds, or an HTTP date (against the response's Date)."""
    value = _header(headers, "Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    try:
        server_now = parsedate_to_datetime(_header(headers, "Date") or "").timestamp()
    except (TypeError, ValueError, IndexError):
        server_now = now
    return max(0.0, when - server_now)


def _rate_limited(body: bytes) -> bool:
    """Some Google APIs answer a rate limit with 403 and reason rateLimitExceeded / userRateLimitExceeded."""
    return b"ateLimitExceeded" in body[:4096]


@dataclass(frozen=True)
class RetryPolicy:
    """Every knob that bounds one call. `sleep`, `clock` and `rng` are injectable for tests."""

    retries: int = 5
    base: float = 1.0
    cap: float = 32.0
    jitter: float = 1.0
    max_wait: float = 300.0
    timeout: float = DEFAULT_TIMEOUT  # socket timeout of each HTTP request
    max_empty_pages: int = 100  # paging guards (auditor.collectors.paging)
    max_pages: int = 100_000
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def after_response(self, attempt: int, status: int, headers: Mapping[str, str], body: bytes = b"") -> float | None:
        """Seconds to wait before sending attempt `attempt + 1`, or None when this response is final."""
        retryable = status in RETRYABLE_STATUSES or (status == 403 and _rate_limited(body))
        if not retryable or attempt >= self.retries:
            return None  # success, permission denied, not found, bad request: sending again changes nothing
        wait = retry_after_seconds(headers, self.clock())
        if wait is None:
            wait = self.backoff(attempt)
        return wait if wait <= self.max_wait else None

    def after_error(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait after a request got no response (refused, reset, timed out), or None to give up.
        Every call is a read, so sending it again after a timeout is safe."""
        if attempt >= self.retries:
            return None
        if isinstance(error, (TimeoutError, ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError)):
            return self.backoff(attempt)
        return None

    def backoff(self, attempt: int) -> float:
        return min(self.cap, self.base * (2 ** attempt) + self.rng.uniform(0, self.jitter))


_overrides: dict[str, Any] = {}
_active: contextvars.ContextVar[RetryPolicy | None] = contextvars.ContextVar("auditor_retry_policy", default=None)


def from_settings(settings: Any | None = None) -> RetryPolicy:
    """The policy of a run from the config's `collection` section (None: defaults); test overrides win."""
    base = RetryPolicy() if settings is None else RetryPolicy(
        retries=settings.retries, max_wait=settings.max_retry_wait_seconds, timeout=settings.timeout_seconds)
    return replace(base, **_overrides)


def policy() -> RetryPolicy:
    """The policy of the call running in this context, or the defaults outside a call."""
    return _active.get() or from_settings(None)


@contextmanager
def active(current: RetryPolicy) -> Iterator[RetryPolicy]:
    """Within this block (this thread or context), requests follow `current`."""
    token = _active.set(current)
    try:
        yield current
    finally:
        _active.reset(token)


@contextmanager
def overridden(**changes: Any) -> Iterator[None]:
    """Process-wide changes for tests (short timeouts, no sleeps); they win over the config's settings."""
    unknown = set(changes) - set(RetryPolicy.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown retry policy fields: {sorted(unknown)}")
    saved = dict(_overrides)
    _overrides.update(changes)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)
