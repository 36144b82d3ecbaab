"""Alerting over time: each alert policy's, notification channel's and log-based metric's settings, day by day.

Built once with the facts from three kinds of evidence (the same rules as auditor.facts.timeline):

- every read: each locker's alertPolicies.list, notificationChannels.list and metrics.list (a resource
  missing from a complete listing did not exist at that moment);
- the Admin Activity changes (auditor.facts.sources.monitoring_log): what a create or update set, where its
  body was logged; an entry without one makes every setting it may have set unknown until the next read;
  a deletion ends the resource;
- the resources' own records: an alert policy's `creationRecord` and `mutationRecord` (its most recent
  change), a channel's `creationRecord` and `mutationRecords[]`, a metric's `createTime` and `updateTime`.
  A read's value holds back to the most recent change the resource itself records, with or without a log
  query in between, and before its creation it did not exist. That confirms the last change only: what
  the settings were before it is known only from earlier reads or logged bodies.

A value is carried between moments only over time a complete audit-log query of the resource's project
covers (or its own record spans); elsewhere it is unknown. `value_at` answers UNKNOWN there, never a guess.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timezone
from typing import Any, Iterable

from auditor.facts.controls import AlertPolicy, LogMetric, MonitoringChange, NotificationChannel
from auditor.facts.model import LogSpan
from auditor.facts.sources.monitoring_log import SETTINGS
from auditor.facts.timeline import Event, Timeline, merge

UNKNOWN = object()  # what value_at answers where no evidence establishes the value

Key = tuple[str, str, str]  # (kind, project, id): a policy's or channel's id, a metric's short name
#: the settings a resource's own change record vouches for (a channel's verification can change without one)
_RECORDED = {"alert_policy": ("exists", "enabled", "conditions", "channels"),
             "notification_channel": ("exists", "enabled"),
             "log_metric": ("exists", "filter", "disabled")}


def kind_of(value: Any) -> str:
    if isinstance(value, AlertPolicy):
        return "alert_policy"
    if isinstance(value, NotificationChannel):
        return "notification_channel"
    if isinstance(value, LogMetric):
        return "log_metric"
    raise TypeError(f"not an alerting resource: {type(value).__name__}")


def key_of(value: Any) -> Key:
    """A read's key; the id is the last part of the name, so a name written with the project number matches too."""
    return (kind_of(value), value.project, value.name.rsplit("/", 1)[-1])


def policy_key(name: str) -> Key | None:
    """projects/P/alertPolicies/ID (or a channel's projects/P/notificationChannels/ID) -> its key."""
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "projects":
        kind = {"alertPolicies": "alert_policy", "notificationChannels": "notification_channel"}.get(parts[2])
        return (kind, parts[1], parts[3]) if kind else None
    return None


def settings_of(value: Any) -> dict[str, Any]:
    if isinstance(value, AlertPolicy):
        return {"exists": True, "enabled": value.enabled, "conditions": value.conditions, "channels": value.channels}
    if isinstance(value, NotificationChannel):
        # an absent verificationStatus is a value (the API's "not applicable"), not an unknown one
        return {"exists": True, "enabled": value.enabled, "verification": value.verification or "UNSPECIFIED"}
    return {"exists": True, "filter": value.filter, "disabled": value.disabled}


class Track:
    """One setting of one resource: where its value is known (the Timeline's spans), looked up by instant."""

    __slots__ = ("starts", "spans")

    def __init__(self, timeline: Timeline) -> None:
        spans = sorted(timeline.spans(), key=lambda s: (s.start, s.end))
        self.spans = [(s.start.timestamp(), s.end.timestamp(), s.value, s.basis, s.evidence) for s in spans]
        self.starts = [s[0] for s in self.spans]

    def value_at(self, t: float) -> Any:
        """The value at instant t: the newest span that holds t (a logged span [start, end), an observed
        instant); UNKNOWN where none does or the value itself is unknown (a change without its body)."""
        for i in range(bisect_right(self.starts, t) - 1, -1, -1):
            start, end, value, basis, _ = self.spans[i]
            if (start <= t < end) or (basis == "observed" and start == t):
                return UNKNOWN if value is None else value
        return UNKNOWN

    def bounds(self) -> Iterable[float]:
        for start, end, *_ in self.spans:
            yield start
            yield end


class MonitoringHistory:
    """Settings over time of every alert policy, notification channel and log-based metric read or changed."""

    def __init__(self, observations: list[Any], changes: list[MonitoringChange], listings: list[tuple[str, str, datetime]],
                 coverage: list[LogSpan]) -> None:
        self._covered: dict[str, tuple[tuple[float, float], ...]] = {}
        spans_by: dict[str, list[tuple[datetime, datetime]]] = {}
        for span in coverage:
            spans_by.setdefault(span.scope.removeprefix("projects/"), []).append((span.start, span.end))
        for project, spans in spans_by.items():
            self._covered[project] = merge((a.timestamp(), b.timestamp()) for a, b in spans)
        self._listings: dict[tuple[str, str], list[float]] = {}
        for scope, kind, moment in listings:
            self._listings.setdefault((scope.removeprefix("projects/"), kind), []).append(moment.timestamp())
        for times in self._listings.values():
            times.sort()
        seen: dict[Key, list[Any]] = {}
        for value in sorted((o for o in observations if o.observed_at), key=lambda o: o.observed_at):
            seen.setdefault(key_of(value), []).append(value)
        self._observations = seen
        self._changes: dict[Key, list[MonitoringChange]] = {}
        self.unattributed: list[MonitoringChange] = []
        for change in changes:
            if change.name is None:
                self.unattributed.append(change)
            else:
                self._changes.setdefault((change.kind, change.project, change.name), []).append(change)
        self._by_project: dict[str, list[MonitoringChange]] = {}
        for change in changes:
            self._by_project.setdefault(change.project, []).append(change)
        self._created: dict[Key, float] = {}
        self._tracks: dict[tuple[Key, str], Track] = {}
        self._keys: dict[tuple[str, str], list[Key]] = {}
        for key in sorted(set(seen) | set(self._changes)):
            self._build(key, spans_by.get(key[1], []))
            self._keys.setdefault((key[0], key[1]), []).append(key)

    def _build(self, key: Key, covered: list[tuple[datetime, datetime]]) -> None:
        kind, project, _ = key
        reads = self._observations.get(key, [])
        created = next((r.created for r in reads if r.created), None)
        if created:
            self._created[key] = created.timestamp()
        own: list[tuple[datetime, datetime]] = []  # spans in which the resource itself records no change
        recorded: dict[datetime, Any] = {}  # each most-recent-change time read, with the first read that reported it
        for read in reads:
            if read.mutated and read.mutated <= read.observed_at:
                own.append((read.mutated, read.observed_at))
                recorded.setdefault(read.mutated, read)
        # a complete listing that leaves the resource out: it did not exist then
        listed = {r.observed_at.timestamp() for r in reads}
        absences = []
        if reads or self._changes.get(key):
            absences = [t for t in self._listings.get((project, kind), []) if t not in listed
                        and not any(abs(t - seen) < 1e-6 for seen in listed)]
        for setting in SETTINGS[kind]:
            events = [Event(r.observed_at, settings_of(r)[setting], "observation", r.evidence) for r in reads]
            events += [Event(c.time, c.settings[setting], "change", c.evidence)
                       for c in self._changes.get(key, []) if setting in c.settings]
            if setting == "exists":
                events += [Event(datetime.fromtimestamp(t, timezone.utc), False, "observation", ()) for t in absences]
                if created:
                    events.append(Event(created, True, "change", reads[0].evidence))
            spans = list(covered)
            if setting in _RECORDED[kind]:
                spans += own
                events += [Event(moment, settings_of(read)[setting], "change", read.evidence) for moment, read in recorded.items()]
            self._tracks[(key, setting)] = Track(Timeline("/".join(key), setting, events, spans))

    # -- what checks ask ------------------------------------------------------------------------------
    def keys(self, kind: str, project: str) -> list[Key]:
        """Every resource of `kind` in the project that was read or changed, sorted."""
        return list(self._keys.get((kind, project), ()))

    def value_at(self, key: Key, setting: str, t: float) -> Any:
        created = self._created.get(key)
        if setting == "exists" and created is not None and t < created:
            return False
        track = self._tracks.get((key, setting))
        if track is None:
            return UNKNOWN
        if created is not None and t < created:
            return UNKNOWN
        return track.value_at(t)

    def population_known(self, project: str, kind: str, t: float) -> bool:
        """Whether every resource of `kind` the project held at t is among those known: a complete listing was
        answered at t, or one complete audit-log query covers both t and a complete listing (a creation or
        deletion between them would have been logged); and no change whose resource the entry does not name
        happened since the last listing. A project whose listing never succeeded is never known in full."""
        listed = self._listings.get((project, kind), [])
        at_listing = any(abs(t - m) < 1e-6 for m in listed)
        joined = any(lo <= t <= hi and any(lo <= m <= hi for m in listed) for lo, hi in self._covered.get(project, ()))
        if not (at_listing or joined):
            return False
        before = [m for m in listed if m <= t]
        since = before[-1] if before else float("-inf")
        return not any(c.kind == kind and c.project == project and since < c.time.timestamp() <= t for c in self.unattributed)

    def breakpoints(self, keys: Iterable[Key], projects: Iterable[str]) -> list[float]:
        """Every instant at which what is known about these resources may change."""
        out: set[float] = set()
        for key in keys:
            for setting in SETTINGS[key[0]]:
                track = self._tracks.get((key, setting))
                if track:
                    out.update(track.bounds())
            if key in self._created:
                out.add(self._created[key])
        for project in projects:
            for lo, hi in self._covered.get(project, ()):
                out.update((lo, hi))
            for (listed_project, _), times in self._listings.items():
                if listed_project == project:
                    out.update(times)
        return sorted(out)

    def evidence_over(self, key: Key, start: float, end: float) -> set[str]:
        """The evidence of every span of the resource's settings that reaches into [start, end): the reads and
        changes a day's state rests on when nothing of its own happened that day."""
        out: set[str] = set()
        for setting in SETTINGS[key[0]]:
            track = self._tracks.get((key, setting))
            for lo, hi, _value, basis, evidence in (track.spans if track else ()):
                if lo < end and (hi > start or (basis == "observed" and start <= lo)):
                    out.update(evidence)
        return out

    def changes(self, project: str) -> tuple[MonitoringChange, ...]:
        """The project's alerting changes that were read, oldest first."""
        return tuple(sorted(self._by_project.get(project, []), key=lambda c: (c.time, c.key)))

    def observations(self, key: Key) -> tuple[Any, ...]:
        return tuple(self._observations.get(key, ()))

    def last_recorded_change(self, key: Key) -> datetime | None:
        """The resource's own record of its most recent change, as last read."""
        reads = self._observations.get(key, [])
        return reads[-1].mutated if reads else None


def build_monitoring_history(observations: list[Any], changes: list[MonitoringChange],
                             listings: list[tuple[str, str, datetime]], coverage: list[LogSpan]) -> MonitoringHistory:
    return MonitoringHistory(observations, changes, listings, coverage)
