"""GitHub's rate limits, enforced per token by the simulated GitHub (so a collector that is too eager fails here first).

Primary: 5,000 requests an hour for a personal token, in a window that starts with the first
request; past it, 403 with `X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`.
Secondary (GitHub's documented figures; GitHub may also apply undisclosed ones):
  - at most 100 requests in flight at once;
  - at most 900 points a minute per REST endpoint (a GET, HEAD or OPTIONS costs 1, a write 5);
  - at most 90 seconds of server time per 60 seconds of real time (response times summed).
A secondary refusal is a 403 whose message names the secondary rate limit, with `Retry-After`:
the seconds until the window admits the request again (60 for too many in flight, as GitHub
advises when it gives no header). Refused requests count against nothing. `refusals` counts them
by kind, for the benchmark and tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

SECONDARY_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
PRIMARY_MESSAGE = ("API rate limit exceeded for user ID 1001. If you reach out to GitHub Support for help, please include "
                   "the request ID.")
WINDOW = 60.0


@dataclass(frozen=True)
class Limits:
    primary_per_hour: int = 5000
    concurrent: int = 100
    points_per_minute: int = 900
    server_seconds_per_minute: float = 90.0


@dataclass(frozen=True)
class Refusal:
    kind: str  # primary | concurrent | points | server_time
    message: str
    headers: dict[str, str]


@dataclass
class _Token:
    window_start: float  # wall-clock epoch of the primary window's first request
    used: int = 0
    in_flight: int = 0
    points: dict[str, deque] = field(default_factory=dict)  # endpoint -> deque[(monotonic time, points)]
    busy: deque = field(default_factory=deque)  # (monotonic end time, seconds) of answered requests


def points(method: str) -> int:
    return 1 if method in ("GET", "HEAD", "OPTIONS") else 5


class RateLimiter:
    def __init__(self, limits: Limits | None = None, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.limits = limits or Limits()
        self.clock, self.wall = clock, wall
        self.refusals: Counter[str] = Counter()
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def admit(self, token: str, method: str, endpoint: str) -> Refusal | None:
        """Take a slot for one request, or say why GitHub would refuse it. Call `release` after an admitted one."""
        with self._lock:
            state = self._state(token)
            now = self.clock()
            refusal = self._primary(state) or self._secondary(state, method, endpoint, now)
            if refusal is not None:
                self.refusals[refusal.kind] += 1
                return refusal
            state.used += 1
            state.in_flight += 1
            state.points.setdefault(endpoint, deque()).append((now, points(method)))
            return None

    def release(self, token: str, seconds: float) -> None:
        with self._lock:
            state = self._state(token)
            state.in_flight -= 1
            state.busy.append((self.clock(), seconds))

    def headers(self, token: str) -> dict[str, str]:
        """The X-RateLimit-* headers GitHub sends with every response (the primary window's state)."""
        with self._lock:
            state = self._state(token)
            remaining = max(self.limits.primary_per_hour - state.used, 0)
            return {"X-RateLimit-Limit": str(self.limits.primary_per_hour), "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Used": str(state.used), "X-RateLimit-Resource": "core",
                    "X-RateLimit-Reset": str(int(state.window_start + 3600))}

    # -- internals (lock held) --------------------------------------------------------------
    def _state(self, token: str) -> _Token:
        state = self._tokens.get(token)
        wall = self.wall()
        if state is None or wall >= state.window_start + 3600:  # a new primary window
            previous = state
            state = _Token(window_start=wall)
            if previous is not None:
                state.in_flight, state.points, state.busy = previous.in_flight, previous.points, previous.busy
            self._tokens[token] = state
        return state

    def _primary(self, state: _Token) -> Refusal | None:
        if state.used < self.limits.primary_per_hour:
            return None
        reset = int(state.window_start + 3600)
        return Refusal("primary", PRIMARY_MESSAGE, {
            "X-RateLimit-Limit": str(self.limits.primary_per_hour), "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": str(state.used), "X-RateLimit-Resource": "core", "X-RateLimit-Reset": str(reset)})

    def _secondary(self, state: _Token, method: str, endpoint: str, now: float) -> Refusal | None:
        limits = self.limits
        if state.in_flight >= limits.concurrent:
            return Refusal("concurrent", SECONDARY_MESSAGE, {"Retry-After": "60"})
        window = state.points.get(endpoint)
        if window is not None:
            while window and window[0][0] <= now - WINDOW:
                window.popleft()
            if sum(p for _, p in window) + points(method) > limits.points_per_minute:
                return Refusal("points", SECONDARY_MESSAGE, {"Retry-After": _after(window[0][0] + WINDOW - now)})
        busy = state.busy
        while busy and busy[0][0] <= now - WINDOW:
            busy.popleft()
        if busy and sum(s for _, s in busy) >= limits.server_seconds_per_minute:
            return Refusal("server_time", SECONDARY_MESSAGE, {"Retry-After": _after(busy[0][0] + WINDOW - now)})
        return None


def _after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
