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

The lock (ret2, issue 13). Locking is permanent: the JSON API reference's Buckets: lockRetentionPolicy page
("Permanently locks the retention policy ... an irreversible action": the policy can then be neither removed
nor shortened; checked with the `search` tool in docs.cloud.google.com/storage/docs/json_api/v1/buckets/
lockRetentionPolicy). Its method id there is `storage.buckets.lockRetentionPolicy`; the Cloud Storage audit
logging page (docs.cloud.google.com/storage/docs/audit-logging, also checked) lists no method names, only that
"updating bucket metadata" is Admin Activity, so that the entry carries this methodName is unconfirmed. Designed
for both answers:

- a successful `storage.buckets.lockRetentionPolicy` entry: locked from its moment on; the first one in the
  bucket's history also says the policy was unlocked just before (a read showing it locked earlier wins: the
  call is idempotent, so a repeat proves nothing);
- a read (`retentionPolicy.isLocked: true`): locked at that moment, and, locking being permanent, from then on
  for that bucket (until a later read says otherwise);
- a bucket update logged without a request could be the lock logged under the update's name (the lock call
  takes no request body): the lock is unknown after it until the next read; an update logged with a request
  is no lock and leaves it as it was (an update can neither lock a policy nor unlock a locked one);
- `retentionPolicy.effectiveTime` is "the time from which policy was enforced and effective" (the reference's
  words): when the period took effect, not when it was locked (a policy is set unlocked and locked later), so
  it says nothing of the lock and is not used for it;
- only queries that asked for the lock method cover the lock (`lock_coverage`): an older locker's query that
  asked for bucket updates alone cannot show that no lock happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from auditor.facts.access import get, integer, text, timestamp
from auditor.facts.stores import Bucket, bucket_resource
from auditor.facts.timeline import Event, Timeline

UPDATE_METHODS = ("storage.buckets.update", "storage.buckets.patch")  # patch: should a future log spell it so
LOCK_METHOD = "storage.buckets.lockRetentionPolicy"  # the JSON API method id (see the docstring: unconfirmed in the log)
CHANGE_METHODS = UPDATE_METHODS + (LOCK_METHOD,)
SETTING = "retention"
LOCK = "retention_lock"
_BEFORE = timedelta(microseconds=1)
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
        if self.locked is None:
            return f"{self.days:g} days"
        return f"{self.days:g} days ({'locked' if self.locked else 'unlocked'})"


NO_POLICY = Retention(None, False)


def period_of(retention: Retention | None) -> Retention | None:
    """The retention period alone: the retention timeline's value (the lock has its own timeline, so a lock
    between two reads is no unlogged change of the period)."""
    return None if retention is None else Retention(retention.seconds, None)


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
    locked: bool = False  # a successful lockRetentionPolicy (no retention value: the lock does not change the period)
    logged_request: bool = False  # whether the entry carries protoPayload.request (an update without one may be a lock)
    # enc3: (named, value): whether the logged request names `encryption`, and the default key it set ('' for
    # Google-managed, None when named but unreadable): _new_encryption
    encryption: tuple[bool, str | None] = (False, None)


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
    if not isinstance(proto, dict) or proto.get("methodName") not in CHANGE_METHODS:
        return None
    code = get(proto, "status", "code")
    if code not in (None, 0):
        return None
    name, key, stamp = _bucket_name(entry), text(entry, "insertId"), timestamp(entry.get("timestamp"))
    if not name or not key or not stamp:
        return None
    locked = proto["methodName"] == LOCK_METHOD
    _, retention = (False, None) if locked else _new_retention(proto.get("request"))
    return BucketChange(bucket_resource(name), text(entry, "resource", "labels", "project_id"), stamp,
                        str(proto["methodName"]), retention, text(proto, "authenticationInfo", "principalEmail"),
                        f"log:{key}", (evidence,), locked=locked, logged_request=isinstance(proto.get("request"), dict),
                        encryption=(False, None) if locked else _new_encryption(proto.get("request")))


class BucketHistory:
    """Per bucket: its retention timeline, its reads (one per locker) and its logged updates."""

    __slots__ = ("_timelines", "_observations", "_changes", "_locks")

    def __init__(self, timelines: dict[str, Timeline], observations: dict[str, tuple[Bucket, ...]],
                 changes: dict[str, tuple[BucketChange, ...]], locks: dict[str, Timeline] | None = None) -> None:
        self._timelines, self._observations, self._changes = timelines, observations, changes
        self._locks = locks or {}

    def timeline(self, resource: str) -> Timeline:
        return self._timelines.get(resource) or Timeline(resource, SETTING, (), ())

    def lock_timeline(self, resource: str) -> Timeline:
        """The lock over time (True locked, False unlocked, None unknown): the module docstring's rules."""
        return self._locks.get(resource) or Timeline(resource, LOCK, (), ())

    def locked_from(self, resource: str) -> datetime | None:
        """The first moment the evidence shows the policy locked (a lock entry or a read), or None."""
        moments = [e.time for e in self.lock_timeline(resource).events if e.value is True]
        return min(moments) if moments else None

    def lock_day_states(self, resource: str, period: Any, as_of: datetime) -> dict[date, str]:
        """Per day: `broken` where the policy was unlocked at some moment of it, `kept` where it was locked
        throughout, `unknown` where no evidence says. Locking is permanent, so a day that starts at or after the
        first moment shown locked is kept even where no log query covers it, up to a later read showing it
        unlocked (then that read wins: another bucket of the same name, or a contradiction, never a pass)."""
        states = self.day_states(resource, period, as_of, weak=lambda locked: locked is False, timeline=self.lock_timeline(resource))
        since = self.locked_from(resource)
        if since is None:
            return states
        contradicted = min((b.observed_at for b in self.observations(resource)
                            if b.observed_at and b.observed_at > since and of_bucket(b).locked is not True), default=None)
        for (day, state), start, end in zip(list(states.items()), period.day_starts, period.day_starts[1:]):
            if state == "unknown" and start >= since and (contradicted is None or min(end, as_of) <= contradicted):
                states[day] = "kept"
        return states

    def observations(self, resource: str) -> tuple[Bucket, ...]:
        return self._observations.get(resource, ())

    def changes(self, resource: str) -> tuple[BucketChange, ...]:
        return self._changes.get(resource, ())

    def day_states(self, resource: str, period: Any, as_of: datetime, weak: Any, timeline: Timeline | None = None) -> dict[date, str]:
        seen = self.observations(resource)
        created = next((b.create_time for b in reversed(seen) if b.create_time), None)
        return (timeline or self.timeline(resource)).day_states(period.day_stamps, period.days(), as_of.timestamp(), weak,
                                                  created=created.timestamp() if created else None)

    def unlogged(self, resource: str, period: Any) -> list[BucketChange]:
        return [c for c in self.changes(resource) if c.retention is None and not c.locked
                and period.starts_at <= c.time < period.ends_at]


def _lock_events(reads: list[Bucket], logged: list[BucketChange]) -> list[Event]:
    """The lock's events (module docstring): reads, lock entries (the first one preceded by an unlocked moment
    unless a read showed it locked earlier), and updates logged without a request (unknown)."""
    events = [Event(b.observed_at, of_bucket(b).locked is True, "observation", b.evidence) for b in reads]
    locks = sorted((c for c in logged if c.locked), key=lambda c: c.time)
    events += [Event(c.time, True, "change", c.evidence) for c in locks]
    if locks and not any(b.observed_at < locks[0].time and of_bucket(b).locked for b in reads):
        events.append(Event(locks[0].time - _BEFORE, False, "observation", locks[0].evidence))
    events += [Event(c.time, None, "change", c.evidence) for c in logged if not c.locked and not c.logged_request]
    return events


def build_bucket_history(observations: Iterable[Bucket], changes: Iterable[BucketChange],
                         coverage: Iterable[Any], lock_coverage: Iterable[Any] = ()) -> BucketHistory:
    """`coverage`: LogSpans of the complete audit-log queries that asked for bucket updates (per project);
    `lock_coverage`: those that asked for the lock method too (the lock's timeline is carried only over them)."""
    seen: dict[str, list[Bucket]] = {}
    for bucket in observations:
        seen.setdefault(bucket.resource, []).append(bucket)
    logged: dict[str, list[BucketChange]] = {}
    for change in changes:
        logged.setdefault(change.bucket, []).append(change)
    covered: dict[str, list[tuple[datetime, datetime]]] = {}
    for span in coverage:
        covered.setdefault(span.scope, []).append((span.start, span.end))
    lock_covered: dict[str, list[tuple[datetime, datetime]]] = {}
    for span in lock_coverage:
        lock_covered.setdefault(span.scope, []).append((span.start, span.end))
    timelines: dict[str, Timeline] = {}
    locks: dict[str, Timeline] = {}
    for resource in set(seen) | set(logged):
        reads = sorted((b for b in seen.get(resource, ()) if b.observed_at), key=lambda b: b.observed_at)
        project = reads[-1].project if reads else next((c.project for c in logged.get(resource, ()) if c.project), None)
        mine = logged.get(resource, [])
        events = [Event(b.observed_at, period_of(of_bucket(b)), "observation", b.evidence) for b in reads]
        events += [Event(c.time, period_of(c.retention), "change", c.evidence) for c in mine if not c.locked]  # a lock keeps the period
        scope = f"projects/{project}" if project else None
        timelines[resource] = Timeline(resource, SETTING, events, covered.get(scope, ()) if scope else ())
        locks[resource] = Timeline(resource, LOCK, _lock_events(reads, mine), lock_covered.get(scope, ()) if scope else ())
    return BucketHistory(timelines, {r: tuple(sorted(v, key=lambda b: b.observed_at or _EPOCH)) for r, v in seen.items()},
                         {r: tuple(sorted(v, key=lambda c: (c.time, c.key))) for r, v in logged.items()}, locks)


# --- enc3 (issue 13): the bucket's default encryption key over time --------------------------------------------

GOOGLE_MANAGED = ""  # the encryption timeline's value for a bucket without a default customer-managed key


def _new_encryption(request: Any) -> tuple[bool, str | None]:
    """(named, value): whether a logged bucket update's request names `encryption` (at the top or under `bucket` /
    `resource`, as for retentionPolicy), and the default key it set. The Bucket resource's `encryption` holds
    `defaultKmsKeyName` ("a Cloud KMS key that will be used to encrypt objects inserted into this bucket, if no
    encryption method is specified"). A patch and an update are logged under one method name (module docstring),
    so only what both would do is read: `encryption: null` or `defaultKmsKeyName` null or empty leaves
    Google-managed encryption, a `defaultKmsKeyName` sets that key; an `encryption` object that does not name
    `defaultKmsKeyName` (a patch keeps the key, an update drops it) or a value of another shape is unknown (None)."""
    if not isinstance(request, dict):
        return False, None
    for holder in (request, request.get("bucket"), request.get("resource")):
        if isinstance(holder, dict) and "encryption" in holder:
            value = holder["encryption"]
            if value is None:
                return True, GOOGLE_MANAGED
            if not isinstance(value, dict) or "defaultKmsKeyName" not in value:
                return True, None
            key = value["defaultKmsKeyName"]
            if key is None or key == "":
                return True, GOOGLE_MANAGED
            return True, key if isinstance(key, str) else None
    return False, None


ENCRYPTION = "encryption"


def key_timeline(history: BucketHistory, resource: str) -> Timeline:
    """The bucket's default key over time (GOOGLE_MANAGED, a key name, None unknown), by the timeline rule: each
    read's `encryption.defaultKmsKeyName`, and each logged update: the key its request set where it names
    `encryption` (_new_encryption), else unknown from its moment until the next read (a patch that left the key
    alone and an update that dropped it look the same, as for the retention policy). A lock changes no key. The
    spans the bucket-update queries covered are those of the retention timeline (the same queries)."""
    events = [Event(b.observed_at, b.kms_key or GOOGLE_MANAGED, "observation", b.evidence)
              for b in history.observations(resource) if b.observed_at]
    for change in history.changes(resource):
        if not change.locked:
            named, value = change.encryption
            events.append(Event(change.time, value if named else None, "change", change.evidence))
    covered = [(datetime.fromtimestamp(lo, timezone.utc), datetime.fromtimestamp(hi, timezone.utc))
               for lo, hi in history.timeline(resource).covered]
    return Timeline(resource, ENCRYPTION, events, covered)
