"""Cloud SQL Admin operations: the restore and clone history of each primary (restore-test evidence).

One listing per instance (a follow-up of instances.list). Operations come newest first, so paging
stops once a page reaches back past the oldest moment a restore test could still count for the
period (its start minus the longest restore-test interval in the policy).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from auditor.collectors.paging import drain
from auditor.scheduler import Call

PAGE_SIZE = 500


def horizon(ctx) -> datetime:
    """The oldest operation time any check can use."""
    intervals = [c.restore_test_interval for c in ctx.config.policy.classifications.values() if c.restore_test_interval]
    return ctx.period.starts_at - max(intervals, default=timedelta(0))


def _older_than(response: dict, limit: datetime) -> bool:
    times = [item.get("insertTime") or item.get("startTime") for item in response.get("items") or [] if isinstance(item, dict)]
    times = [t for t in times if isinstance(t, str)]
    if not times:
        return False
    try:
        oldest = min(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)
    except ValueError:
        return False
    return oldest < limit


def instance_calls(ctx, project: str, instance: str) -> Iterator[Call]:
    clients = ctx.google
    limit = horizon(ctx)

    def list_operations() -> None:
        operations = clients.collection("sqladmin", "operations")
        request = operations.list(project=project, instance=instance, maxResults=PAGE_SIZE)
        for response in drain(operations, request, f"sqladmin operations.list for projects/{project}/instances/{instance}"):
            if _older_than(response, limit):
                return

    yield Call("sqladmin", "operations.list", {"project": project, "instance": instance},
               f"projects/{project}/instances/{instance}", list_operations)
