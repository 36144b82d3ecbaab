"""An instance's history over time, built once with the facts: when it existed, and each setting's timeline.

From the observations every locker made (configuration reads, one per locker), the Admin Activity
changes (update/patch/delete, kept 400 days), the automated backup windows that ran and the spans
of time complete audit-log queries covered (auditor.facts.timeline says how they combine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable

from auditor.facts.final_backup import SETTING as FINAL_SETTING, events as final_events
from auditor.facts.model import ActivationChange, BackupAttempt, ConfigChange, LogSpan, SqlInstance
from auditor.facts.declare import project_scope
from auditor.facts.timeline import Event, Timeline

#: settings with a timeline: name -> the value an automated backup window that ran implies (None: none)
SETTINGS: dict[str, Any] = {
    "backup_enabled": True,
    "retained_backups": None,
    "backup_location": None,
    "pitr_enabled": None,
    "log_retention_days": None,
}
#: the activation policy's timeline (ALWAYS running, NEVER stopped): reads, stops and starts (an update logged
#: without its body is an unknown value), and every backup attempt (the instance was running then)
ACTIVATION = "activation_policy"
#: ret3: what would outlive a deletion (finalBackupConfig, retainBackupsOnDelete: auditor.facts.final_backup)
FINAL = FINAL_SETTING


@dataclass(frozen=True)
class Lifetime:
    created: datetime | None
    alive_until: datetime | None  # last instant it is known to exist (None: still exists)
    gone_by: datetime | None  # first instant it is known not to exist

    def exists_through(self, start: datetime, end: datetime) -> str:
        """'yes', 'no' or 'unknown' for the span [start, end)."""
        if self.created and end <= self.created:
            return "no"
        if self.gone_by and start >= self.gone_by:
            return "no"
        if self.alive_until and self.gone_by and end > self.alive_until and start < self.gone_by:
            return "unknown" if self.gone_by != self.alive_until else "yes"
        return "yes"


class History:
    """Lifetimes and setting timelines per Cloud SQL instance (frozen once built)."""

    __slots__ = ("_lifetimes", "_timelines", "_observations", "_changes")

    def __init__(self, lifetimes: dict[str, Lifetime], timelines: dict[tuple[str, str], Timeline],
                 observations: dict[str, tuple[SqlInstance, ...]], changes: dict[str, tuple[ConfigChange, ...]]) -> None:
        self._lifetimes, self._timelines = lifetimes, timelines
        self._observations, self._changes = observations, changes

    def lifetime(self, resource: str) -> Lifetime:
        return self._lifetimes.get(resource) or Lifetime(None, None, None)

    def timeline(self, resource: str, setting: str) -> Timeline:
        found = self._timelines.get((resource, setting))
        if found is None:
            if setting not in SETTINGS and setting not in (ACTIVATION, FINAL):
                raise KeyError(f"no timeline is built for setting {setting!r} (auditor.facts.history.SETTINGS)")
            return Timeline(resource, setting, (), ())
        return found

    def timelines(self) -> Iterable[Timeline]:
        """Every timeline built (each resource and setting): the day-state benchmark's workload."""
        return self._timelines.values()

    def spans(self, resource: str, setting: str) -> list[Any]:
        """Where the setting's value is known, each span with its evidence (auditor.facts.timeline.Span)."""
        return self.timeline(resource, setting).spans()

    def covers(self, resource: str, start: datetime, end: datetime) -> bool:
        """Whether one complete audit-log query (or queries chained across lockers) covers [start, end] for
        the resource's project: only then is the absence of a logged event evidence of its absence."""
        return self.timeline(resource, "backup_enabled").covers(start.timestamp(), end.timestamp())

    def contradicted(self, resource: str) -> list[Timeline]:
        """The resource's timelines whose evidence contradicts the audit log (auditor.facts.timeline)."""
        found = (self._timelines.get((resource, s)) for s in (*SETTINGS, ACTIVATION, FINAL))
        return [t for t in found if t is not None and t.contradicted is not None]

    def log_gaps(self, resource: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The stretches of [start, end] no complete audit-log query of the resource's project covers."""
        utc = timezone.utc
        return [(datetime.fromtimestamp(lo, utc), datetime.fromtimestamp(hi, utc))
                for lo, hi in self.timeline(resource, "backup_enabled").uncovered(start.timestamp(), end.timestamp())]

    def observations(self, resource: str) -> tuple[SqlInstance, ...]:
        """Every configuration read of the instance, oldest first (evidence in its own right)."""
        return self._observations.get(resource, ())

    def changes(self, resource: str) -> tuple[ConfigChange, ...]:
        """Every Admin Activity change or deletion of the instance that was read, oldest first."""
        return self._changes.get(resource, ())

    def day_states(self, resource: str, setting: str, period: Any, as_of: datetime, weak: Any,
                   created: datetime | None = None) -> dict[date, str]:
        life = self.lifetime(resource)
        stamp = (lambda t: t.timestamp() if t else None)
        return self.timeline(resource, setting).day_states(
            period.day_stamps, period.days(), as_of.timestamp(), weak, created=stamp(life.created),
            gone_by=stamp(life.gone_by), alive_until=stamp(life.alive_until))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _group(values: Iterable[Any], key) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for value in values:
        out.setdefault(key(value), []).append(value)
    return out


def build_history(observations: list[SqlInstance], changes: list[ConfigChange], windows: list[BackupAttempt],
                  runs: list[BackupAttempt], listings: list[tuple[str, datetime]], coverage: list[LogSpan],
                  activations: Iterable[ActivationChange] = (), finals: Iterable[SqlInstance] = (),
                  deleted: dict[str, datetime] | None = None) -> History:
    """`finals`: deleted instances as their FINAL backup's snapshot shows them (one more read, at deletion);
    `deleted`: {instance: instanceDeletionTime} from those backups, for a deletion the audit log did not show."""
    deleted = deleted or {}
    obs_by = _group(sorted([*observations, *finals], key=lambda o: o.observed_at or _EPOCH), lambda o: o.resource)
    changes_by = _group(changes, lambda c: c.instance)
    attempts_by = _group([*windows, *runs], lambda a: a.instance)
    activations_by = _group(activations, lambda a: a.instance)
    listed_by: dict[str, list[datetime]] = {}
    for scope, moment in listings:
        listed_by.setdefault(scope, []).append(moment)
    covered_by: dict[str, list[tuple[datetime, datetime]]] = {}
    for span in coverage:
        covered_by.setdefault(span.scope, []).append((span.start, span.end))

    lifetimes: dict[str, Lifetime] = {}
    timelines: dict[tuple[str, str], Timeline] = {}
    for resource, seen in obs_by.items():
        latest = seen[-1]
        mine = changes_by.get(resource, [])
        deletions = [c.time for c in mine if c.deleted] or ([deleted[resource]] if resource in deleted else [])
        if deletions:
            lifetimes[resource] = Lifetime(latest.create_time, min(deletions), min(deletions))
        else:
            times = [o.observed_at for o in seen if o.observed_at]
            last_seen = max(times) if times else None
            later = sorted(t for t in listed_by.get(f"projects/{latest.project}", []) if last_seen and t > last_seen)
            lifetimes[resource] = Lifetime(latest.create_time, last_seen if later else None, later[0] if later else None)
        covered = covered_by.get(project_scope(resource), [])
        for setting, implied in SETTINGS.items():
            events = [Event(o.observed_at, getattr(o, setting), "observation", o.evidence)
                      for o in seen if o.observed_at and getattr(o, setting) is not None]
            events += [Event(c.time, c.settings[setting], "change", c.evidence) for c in mine if setting in c.settings]
            if implied is not None:
                events += [Event(a.window_start, implied, "backup-window", a.evidence) for a in attempts_by.get(resource, ())]
            timelines[(resource, setting)] = Timeline(resource, setting, events, covered)
        events = [Event(o.observed_at, o.activation_policy, "observation", o.evidence)
                  for o in seen if o.observed_at and o.activation_policy]
        events += [Event(a.time, a.policy, "change", a.evidence) for a in activations_by.get(resource, ())]
        events += [Event(a.window_start, "ALWAYS", "backup-window", a.evidence) for a in attempts_by.get(resource, ())]
        timelines[(resource, ACTIVATION)] = Timeline(resource, ACTIVATION, events, covered)
        timelines[(resource, FINAL)] = _final_timeline(resource, seen, mine, covered)  # ret3
    return History(lifetimes, timelines, {r: tuple(v) for r, v in obs_by.items()},
                   {r: tuple(v) for r, v in changes_by.items()})


# ret3: the final-backup setting's timeline
def _final_timeline(resource: str, seen: list[SqlInstance], mine: list[ConfigChange], covered: list) -> Timeline:
    """Reads and the updates that set finalBackupConfig or retainBackupsOnDelete (an update logged without its body
    sets an unknown value), each update's missing fields taken from the value a complete log query carries to it."""
    probe = Timeline(resource, FINAL, (), covered)
    reads = [(o.observed_at, o.final_backup, o.evidence) for o in seen if o.observed_at and o.final_backup is not None]
    changes = [(c.time, c.settings[FINAL], c.evidence) for c in mine if FINAL in c.settings]
    found = final_events(reads, changes, probe.covers)
    return Timeline(resource, FINAL, [Event(t, v, source, e) for t, v, source, e in found], covered)
