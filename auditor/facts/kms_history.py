"""Cloud KMS key versions over time, built once with the facts: each version's state as a Timeline.

Evidence, in the shape auditor.facts.timeline combines:

- reads: every cryptoKeyVersions.list answer (one per locker) says each version's state then;
- changes: the key's own Admin Activity query (DestroyCryptoKeyVersion schedules destruction,
  RestoreCryptoKeyVersion leaves DISABLED, UpdateCryptoKeyVersion sets a state when its body is
  logged, else unknown until the next read), carried only over the spans that query covered;
- the version's own timestamps, confirmed history even from a single read: `createTime` (nothing
  existed before it); `destroyTime` of a DESTROY_SCHEDULED version, with the key's immutable
  `destroyScheduledDuration`, says when destruction was scheduled, and the version has been
  DESTROY_SCHEDULED since (a restore would have cleared destroyTime); a DESTROYED version's
  `destroyEventTime` (or destroyTime) says when the material went, and nothing leaves DESTROYED, so
  the version is unusable from `destroyEventTime - destroyScheduledDuration` on (destruction happens
  at the scheduled time or later, so that is never later than the real scheduling);
- backups: a successful backup encrypted by a version proves the version was ENABLED when it was
  taken (nothing encrypts with a disabled version); kept only before any firm unusable moment.

A day is judged per instance by `instance_days`: every version of the keys the live data and its
backups use, and which of them protected something retained that day.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from auditor.facts.access import timestamp
from auditor.facts.controls import KmsKey, KmsKeyVersion, KmsVersionChange, key_of_version
from auditor.facts.declare import project_scope
from auditor.facts.timeline import Event, Timeline

FAR = datetime(9999, 1, 1, tzinfo=timezone.utc)
USABLE = "ENABLED"


def unusable(state: Any) -> bool:
    """A known state other than ENABLED: what the version encrypts cannot be decrypted then."""
    return state != USABLE


@dataclass(frozen=True)
class DayUse:
    """Why an instance's day is what it is: the versions that were not usable, and what they protected."""

    version: str
    state: str  # the version's day state: broken | unknown
    protects: tuple[str, ...]  # "the live data", "backup taken 2026-09-12" ...
    usage_known: bool  # the day's own reads list everything the instance had (no other backup could use it)


class KmsHistory:
    """Per key version: its Timeline and creation; per key: its versions, changes and reads (frozen once built)."""

    def __init__(self, timelines: dict[str, Timeline], created: dict[str, datetime | None],
                 versions: dict[str, tuple[str, ...]], changes: dict[str, tuple[KmsVersionChange, ...]],
                 reads: dict[str, tuple[KmsVersionChange | KmsKeyVersion, ...]], item_times: dict[str, datetime],
                 listed: dict[str, tuple[float, ...]], instance_reads: dict[str, tuple[tuple[float, str | None], ...]]):
        self._timelines, self._created, self._versions = timelines, created, versions
        self._changes, self._reads = changes, reads
        self._item_times, self._listed, self._instance_reads = item_times, listed, instance_reads
        self._days: dict[tuple[str, float, int], dict[date, str]] = {}

    def versions(self, key: str) -> tuple[str, ...]:
        return self._versions.get(key, ())

    def timeline(self, version: str) -> Timeline:
        return self._timelines.get(version) or Timeline(version, "state", (), ())

    def changes(self, key: str) -> tuple[KmsVersionChange, ...]:
        return self._changes.get(key, ())

    def version_days(self, version: str, period: Any, as_of: datetime) -> dict[date, str]:
        """kept / broken (unusable at some moment) / unknown / not_due / not_applicable (not yet created)."""
        cache = (version, as_of.timestamp(), id(period))
        found = self._days.get(cache)
        if found is None:
            created = self._created.get(version)
            found = self._days[cache] = self.timeline(version).day_states(
                period.day_stamps, period.days(), as_of.timestamp(), unusable,
                created=created.timestamp() if created else None)
        return found

    def listed_at(self, evidence: Iterable[str], default: datetime) -> datetime:
        """When a backup was last listed: the newest read among the pages that show it."""
        times = [self._item_times[e] for e in evidence if e in self._item_times]
        return max(times) if times else default

    def instance_days(self, resource: str, live_key: str | None, copies: Iterable[Any], period: Any,
                      as_of: datetime) -> tuple[dict[date, str], dict[date, list[DayUse]]]:
        """Each day's state for an instance: `broken` when a version that protected the live data or a
        backup retained that day was unusable at some moment of it; `unknown` when a version's state
        is unknown that day and it may have protected something, or an unusable version may have (a
        backup retained that day that no read listed); else `kept`. With the reasons per day."""
        copies = [c for c in copies if getattr(c, "key_version", None)]
        keys = {k for k in {live_key, *(key_of_version(c.key_version) for c in copies)} if k}
        names = sorted({v for k in keys for v in self.versions(k)} | {c.key_version for c in copies})
        stamps = period.day_stamps
        days = list(period.days())
        # which day each backup was retained: from the day it was taken to the last read that listed it
        held: dict[str, list[tuple[float, float, str]]] = {}
        for copy in copies:
            held.setdefault(copy.key_version, []).append(
                (copy.time.timestamp(), self.listed_at(copy.evidence, as_of).timestamp(), f"backup taken {copy.time:%Y-%m-%d}"))
        reads = self._instance_reads.get(resource, ())
        listings = self._listed.get(project_scope(resource), ())
        read_times = [t for t, _ in reads]
        states: dict[date, str] = {}
        why: dict[date, list[DayUse]] = {}
        per_version = {name: self.version_days(name, period, as_of) for name in names}
        for number, day in enumerate(days):
            start, end = stamps[number], stamps[number + 1]
            if start >= as_of.timestamp():
                states[day] = "not_due"
                continue
            todays = reads[bisect_left(read_times, start):bisect_left(read_times, end)]
            live = {v for _, v in todays if v}
            # the day's own reads of the instance and of its backups: nothing else it held that day went unseen
            usage_known = bool(todays) and any(start <= t < end for t in listings)
            verdict, uses = "kept", []
            for name in names:
                state = per_version[name].get(day, "unknown")
                if state in ("kept", "not_applicable", "not_due"):
                    continue
                protects = (["the live data"] if name in live else []) + \
                    [what for taken, last, what in held.get(name, ()) if taken < end and last >= start]
                if state == "broken" and protects:
                    verdict = "broken"
                elif usage_known and not protects:
                    continue
                elif verdict != "broken":
                    verdict = "unknown"
                uses.append(DayUse(name, state, tuple(protects), usage_known))
            states[day] = verdict
            if uses:
                why[day] = uses
        return states, why

    def moments(self, keys: Iterable[str]) -> Iterable[tuple[datetime, str | None, tuple[str, ...]]]:
        """(instant, entry key or None, locker item ids) of every dated piece of evidence about the keys
        (auditor.day_evidence): their Admin Activity entries and their version reads."""
        for key in keys:
            for change in self._changes.get(key, ()):
                yield change.time, change.key, tuple(change.evidence)
            for read in self._reads.get(key, ()):
                if read.observed_at:
                    yield read.observed_at, None, tuple(read.evidence)


def _firm(version: KmsKeyVersion, schedule: timedelta | None) -> tuple[list[Event], tuple[datetime, datetime] | None]:
    """What a read's own timestamps prove: (events, the span they make known), per the module's rules."""
    events: list[Event] = []
    span = None
    if version.state == "DESTROYED":
        gone = version.destroy_event_time or version.destroy_time
        if gone is not None:
            events.append(Event(gone, "DESTROYED", "change", version.evidence))
            since = gone - schedule if schedule else gone
            if schedule:
                events.append(Event(since, "DESTROY_SCHEDULED", "change", version.evidence))
            span = (since, FAR)
    elif version.state == "DESTROY_SCHEDULED" and version.destroy_time is not None and schedule and version.observed_at:
        since = version.destroy_time - schedule
        if since <= version.observed_at:
            events.append(Event(since, "DESTROY_SCHEDULED", "change", version.evidence))
            span = (since, version.observed_at)
    return events, span


def build_kms_history(keys: list[KmsKey], observations: list[KmsKeyVersion], changes: list[KmsVersionChange],
                      coverage: list[Any], copies: list[Any], instance_reads: list[Any],
                      call_index: dict[str, dict[str, Any]]) -> KmsHistory:
    schedule = {k.name: k.destroy_scheduled for k in keys}
    by_version: dict[str, list[KmsKeyVersion]] = {}
    for seen in observations:
        by_version.setdefault(seen.name, []).append(seen)
    changes_by_key: dict[str, list[KmsVersionChange]] = {}
    for change in sorted(changes, key=lambda c: (c.time, c.key)):
        changes_by_key.setdefault(change.key_name, []).append(change)
    covered: dict[str, list[tuple[datetime, datetime]]] = {}
    for span in coverage:
        covered.setdefault(span.scope, []).append((span.start, span.end))
    encrypted: dict[str, list[Any]] = {}
    for copy in copies:
        if copy.key_version and copy.state == "succeeded":
            encrypted.setdefault(copy.key_version, []).append(copy)
    versions: dict[str, set[str]] = {}
    for name in by_version:
        versions.setdefault(key_of_version(name), set()).add(name)
    for change in changes:
        if change.version:
            versions.setdefault(change.key_name, set()).add(change.version)

    timelines: dict[str, Timeline] = {}
    created: dict[str, datetime | None] = {}
    for key, names in versions.items():
        for name in names:
            seen = by_version.get(name, [])
            events = [Event(o.observed_at, o.state, "observation", o.evidence) for o in seen if o.observed_at]
            events += [Event(c.time, c.state, "change", c.evidence) for c in changes_by_key.get(key, ()) if c.version == name]
            spans = list(covered.get(key, ()))
            firm_from = FAR
            for read in seen:
                more, span = _firm(read, schedule.get(key))
                events += more
                if span:
                    spans.append(span)
                    firm_from = min(firm_from, span[0])
            events += [Event(c.time, USABLE, "backup-window", c.evidence) for c in encrypted.get(name, ()) if c.time < firm_from]
            timelines[name] = Timeline(name, "state", events, spans)
            created[name] = min((o.create_time for o in seen if o.create_time), default=None)

    item_times: dict[str, datetime] = {}
    listed: dict[str, list[float]] = {}
    for call in call_index.values():
        when = timestamp(call.get("server_date"))
        if when is None:
            continue
        if call.get("api") == "sqladmin" and call.get("method") in ("backupRuns.list", "Backups.ListBackups"):
            for item in call.get("items") or ():
                item_times[item] = when
            if call.get("method") == "backupRuns.list" and call.get("outcome") == "ok":
                listed.setdefault(call.get("scope", ""), []).append(when.timestamp())
    reads_by: dict[str, list[tuple[float, str | None]]] = {}
    for seen in instance_reads:
        if seen.observed_at:
            reads_by.setdefault(seen.resource, []).append((seen.observed_at.timestamp(), seen.kms_key_version))
    reads_by_key: dict[str, list[KmsKeyVersion]] = {}
    for seen in observations:
        reads_by_key.setdefault(seen.key, []).append(seen)
    return KmsHistory(timelines, created, {k: tuple(sorted(v)) for k, v in versions.items()},
                      {k: tuple(v) for k, v in changes_by_key.items()}, {k: tuple(v) for k, v in reads_by_key.items()},
                      item_times, {k: tuple(sorted(v)) for k, v in listed.items()},
                      {k: tuple(sorted(v, key=lambda p: p[0])) for k, v in reads_by.items()})

