"""API quotas the simulator enforces, so a collector that outruns a real quota fails here too.

`Quota.admit(route, req)` is called once per routed Google request, before its handler, and raises
a 429 ``RESOURCE_EXHAUSTED`` when a limit that applies to the route is used up for one of the
request's keys. Quotas enforced (`Quota.google_defaults()`):

- Cloud Logging ``entries.list``: 60 requests a minute per project (Google's documented read
  quota), counted over a sliding minute for each project named in ``resourceNames``.

The error is shaped as Google shapes quota errors: status RESOURCE_EXHAUSTED, legacy reason
``rateLimitExceeded``, an ``ErrorInfo`` with reason RATE_LIMIT_EXCEEDED and the quota's metric,
limit and consumer, and a ``RetryInfo`` with the delay. The simulator also sends ``Retry-After``
(seconds until the oldest request leaves the window): Google's quota errors often carry no such
header, so a client must also cope without it (backoff), but one that gets it must honour it.
Rejected requests do not use quota (as with Google's quota system). The clock is injectable, so a
test can let a minute pass without waiting for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from auditor.simulator.apierror import SERVICE_HOSTS, ApiError
from auditor.simulator.routing import Request, Route

WINDOW_SECONDS = 60.0
LOGGING_READS_PER_MINUTE = 60


def logging_projects(req: Request) -> list[str]:
    """The projects an entries.list request reads (the keys its quota is counted against)."""
    names = req.body.get("resourceNames") if isinstance(req.body, dict) else None
    return [n for n in names or [] if isinstance(n, str) and n.startswith("projects/") and n.count("/") == 1]


@dataclass
class Limit:
    """At most `per_minute` requests per key (a project) on one route, over a sliding minute."""

    api: str
    method: str
    template: str
    per_minute: int
    keys: Callable[[Request], Iterable[str]]
    metric: str  # e.g. logging.googleapis.com/read_requests
    limit_name: str  # e.g. ReadRequestsPerMinutePerProject
    _seen: dict[str, deque] = field(default_factory=lambda: defaultdict(deque), repr=False)

    def applies(self, route: Route) -> bool:
        return (route.api, route.method, route.template) == (self.api, self.method, self.template)

    def error(self, key: str, retry_after: int) -> ApiError:
        service = SERVICE_HOSTS.get(self.api, f"{self.api}.googleapis.com")
        message = (f"Quota exceeded for quota metric '{self.metric}' and limit '{self.limit_name}' of service "
                   f"'{service}' for consumer '{key}'.")
        details = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
             "domain": "googleapis.com",
             "metadata": {"service": service, "consumer": key, "quota_metric": self.metric,
                          "quota_limit": self.limit_name, "quota_limit_value": str(self.per_minute)}},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"},
        ]
        return ApiError(429, message, reason="rateLimitExceeded", status="RESOURCE_EXHAUSTED", details=details,
                        headers={"Retry-After": str(retry_after)})


class Quota:
    """The limits of one simulator; thread-safe (the server answers each connection in its own thread)."""

    def __init__(self, limits: list[Limit] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = list(limits or [])
        self.clock = clock
        self.rejected = 0
        self._lock = threading.Lock()

    @classmethod
    def google_defaults(cls, logging_per_minute: int | None = LOGGING_READS_PER_MINUTE) -> "Quota":
        limits = []
        if logging_per_minute:
            limits.append(Limit("logging", "POST", "/v2/entries:list", logging_per_minute, logging_projects,
                                "logging.googleapis.com/read_requests", "ReadRequestsPerMinutePerProject"))
        return cls(limits)

    def admit(self, route: Route, req: Request) -> None:
        """Count the request against the quotas of its route; 429 when one is used up."""
        applicable = [limit for limit in self.limits if limit.applies(route)]
        if not applicable:
            return
        with self._lock:
            now = self.clock()
            for limit in applicable:
                for key in limit.keys(req):
                    seen = limit._seen[key]
                    while seen and seen[0] <= now - WINDOW_SECONDS:
                        seen.popleft()
                    if len(seen) >= limit.per_minute:
                        self.rejected += 1
                        raise limit.error(key, max(1, math.ceil(seen[0] + WINDOW_SECONDS - now)))
            for limit in applicable:
                for key in limit.keys(req):
                    limit._seen[key].append(now)
