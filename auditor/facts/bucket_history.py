"""A bucket's retention policy over time: each locker's buckets.list read, and the bucket updates the
Admin Activity audit log records, combined by the timeline rule (auditor.facts.timeline).

How Cloud Storage logs a bucket change: an Admin Activity entry (service `storage.googleapis.com`,
resource type `gcs_bucket` with labels `bucket_name` and `project_id`) whose methodName is
`storage.buckets.update` for an update and for a patch alike (a gsutil or console change to bucket
metadata is logged under that one name), and whose resourceName is `projects/_/buckets/NAME`. The
docs confirm only the category ("updating bucket metadata" is Admin Activity); a transcribed entry of
a notification change carries no `protoPayload.request` at all. So:

- an entry whose `request` carries `retentionPolicy` (at the top or under `bucket`) says what the
  policy became: a period (seconds, a string in JSON) with its lock, or removed (null or an empty
  object);
- an entry without a request, or whose request does not name `retentionPolicy`, carries no new value:
  a patch that left the policy alone and an update that dropped it look the same, so the policy is
  unknown from that moment until the next read (never assumed unchanged);
- an entry with a non-zero `status.code` changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable

from auditor.facts.access import get, integer, text, timestamp
from auditor.facts.stores import Bucket, bucket_resource
from auditor.facts.timeline import Event, Timeline

UPDATE_METHODS = ("storage.buckets.update", "storage.buckets.patch")  # patch: should a future log spell it so
SETTING = "retention"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Retention:
    """A bucket's retention policy at a moment: its period in seconds (None: no policy) and whether it is locked."""

    seconds: int | None
    locked: bool | None

    @property
    def days(self) -> float | None:
        return None if self.seconds is None else self.seconds / 86400

    def words(self) -> str:
        if self.seconds is None:
            return "no retention policy"
        return f"{self.days:g} days ({'locked' if self.locked else 'unlocked'})"


NO_POLICY = Retention(None, False)


def of_bucket(bucket: Bucket) -> Retention:
    return NO_POLICY if bucket.retention_seconds is None else Retention(bucket.retention_seconds, bool(bucket.retention_locked))


@dataclass(frozen=True)
class BucketChange:
    """One successful bucket update from the Admin Activity log; `retention` None when it carries no new policy."""

    bucket: str  # full resource name
    project: str | None
    time: datetime
    method: str
    retention: Retention | None
    principal: str | None
    key: str  # log:<insertId>
    evidence: tuple[str, ...] = ()


def _bucket_name(entry: dict[str, Any]) -> str | None:
    name = text(entry, "resource", "labels", "bucket_name")
    if name:
        return name
    resource_name = text(entry, "protoPayload", "resourceName") or ""
    marker = "/buckets/"
    if marker in resource_name:
        return resource_name.split(marker, 1)[1].split("/", 1)[0] or None
    return None


def _new_retention(request: Any) -> tuple[bool, Retention | None]:
    """(named, value): whether the logged request names retentionPolicy, and the policy it set."""
    if not isinstance(request, dict):
        return False, None
    for holder in (request, request.get("bucket"), request.get("resource")):
        if isinstance(holder, dict) and "retentionPolicy" in holder:
            policy = holder["retentionPolicy"]
            if policy is None or policy == {}:
                return True, NO_POLICY
            if not isinstance(policy, dict):
                return True, None  # named but unreadable: unknown
            seconds = integer(policy, "retentionPeriod")
            locked = get(policy, "isLocked")
            return True, (NO_POLICY if seconds is None else Retention(seconds, locked is True))
    return False, None


def bucket_change(entry: dict[str, Any], evidence: str) -> BucketChange | None:
    """The retention a successful bucket update set (None in `retention` when the entry does not say)."""
    proto = entry.get("protoPayload") if isinstance(entry, dict) else None
    if not isinstance(proto, dict) or proto.get("methodName") not in UPDATE_METHODS:
        return None
    code = get(proto, "status", "code")
    if code not in (None, 0):
        return None
    name, key, stamp = _bucket_name(entry), text(entry, "insertId"), timestamp(entry.get("timestamp"))
    if not name or not key or not stamp:
        return None
    _, retention = _new_retention(proto.get("request"))
    return BucketChange(bucket_resource(name), text(entry, "resource", "labels", "project_id"), stamp,
                        str(proto["methodName"]), retention, text(proto, "authenticationInfo", "principalEmail"),
                        f"log:{key}", (evidence,))


class BucketHistory:
    """Per bucket: its retention timeline, its reads (one per locker) and its logged updates."""

    __slots__ = ("_timelines", "_observations", "_changes")

    def __init__(self, timelines: dict[str, Timeline], observations: dict[str, tuple[Bucket, ...]],
                 changes: dict[str, tuple[BucketChange, ...]]) -> None:
        self._timelines, self._observations, self._changes = timelines, observations, changes

    def timeline(self, resource: str) -> Timeline:
        return self._timelines.get(resource) or Timeline(resource, SETTING, (), ())

    def observations(self, resource: str) -> tuple[Bucket, ...]:
        return self._observations.get(resource, ())

    def changes(self, resource: str) -> tuple[BucketChange, ...]:
        return self._changes.get(resource, ())

    def day_states(self, resource: str, period: Any, as_of: datetime, weak: Any) -> dict[date, str]:
        seen = self.observations(resource)
        created = next((b.create_time for b in reversed(seen) if b.create_time), None)
        return self.timeline(resource).day_states(period.day_stamps, period.days(), as_of.timestamp(), weak,
                                                  created=created.timestamp() if created else None)

    def unlogged(self, resource: str, period: Any) -> list[BucketChange]:
        return [c for c in self.changes(resource) if c.retention is None and period.starts_at <= c.time < period.ends_at]


def build_bucket_history(observations: Iterable[Bucket], changes: Iterable[BucketChange],
                         coverage: Iterable[Any]) -> BucketHistory:
    """`coverage`: LogSpans of the complete audit-log queries that asked for bucket updates (per project)."""
    seen: dict[str, list[Bucket]] = {}
    for bucket in observations:
        seen.setdefault(bucket.resource, []).append(bucket)
    logged: dict[str, list[BucketChange]] = {}
    for change in changes:
        logged.setdefault(change.bucket, []).append(change)
    covered: dict[str, list[tuple[datetime, datetime]]] = {}
    for span in coverage:
        covered.setdefault(span.scope, []).append((span.start, span.end))
    timelines: dict[str, Timeline] = {}
    for resource in set(seen) | set(logged):
        reads = sorted((b for b in seen.get(resource, ()) if b.observed_at), key=lambda b: b.observed_at)
        project = reads[-1].project if reads else next((c.project for c in logged.get(resource, ()) if c.project), None)
        events = [Event(b.observed_at, of_bucket(b), "observation", b.evidence) for b in reads]
        events += [Event(c.time, c.retention, "change", c.evidence) for c in logged.get(resource, ())]
        timelines[resource] = Timeline(resource, SETTING, events, covered.get(f"projects/{project}", ()) if project else ())
    return BucketHistory(timelines, {r: tuple(sorted(v, key=lambda b: b.observed_at or _EPOCH)) for r, v in seen.items()},
                         {r: tuple(sorted(v, key=lambda c: (c.time, c.key))) for r, v in logged.items()})
