"""An instance's history over the period: when it existed, and what a setting was on each day.

Facts are observations with the time they were made: configuration reads (one per locker, so a
quarter of daily lockers gives one a day), Admin Activity changes (update/patch/delete, kept 400
days) and automated backup windows (which only run while backups are enabled). From them a
setting's value is known at an instant when

- the Admin Activity log for the project was read completely: the latest observation or change at
  or before the instant holds (nothing changed unlogged); before the first event, the first
  observation's value holds if no change precedes it;
- otherwise: only what was observed during that day counts; a day without its own observation is
  unknown (days with no evidence are inconclusive, never assumed).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditor.checks_api import CheckContext
from auditor.facts import index
from auditor.facts.model import Facts, SqlInstance


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


def lifetime(instance: SqlInstance, facts: Facts) -> Lifetime:
    """Created, and deleted (from the audit log) or gone (absent from a later complete listing).

    Worked out once per instance and facts (backup-enabled and backup-frequency both ask)."""
    found = index.of(facts)
    cache = found.__dict__.setdefault("_lifetimes", {})
    key = (instance.resource, instance.project, instance.create_time)
    known = cache.get(key)
    if known is None:
        known = cache[key] = _lifetime(instance, found)
    return known


def _lifetime(instance: SqlInstance, found: index.FactIndex) -> Lifetime:
    deletions = [c.time for c in found.changes_of(instance.resource) if c.deleted]
    if deletions:
        return Lifetime(instance.create_time, min(deletions), min(deletions))
    seen = [o.observed_at for o in found.observations_of(instance.resource) if o.observed_at]
    last_seen = max(seen) if seen else None
    scope = f"projects/{instance.project}"
    later = sorted(t for t in found.listings_of(scope) if last_seen and t > last_seen)
    return Lifetime(instance.create_time, last_seen if later else None, later[0] if later else None)


def log_complete(facts: Facts, project: str) -> bool:
    return facts.coverage.was_read("logging", "entries.list", f"projects/{project}")


def events(instance: SqlInstance, facts: Facts, field: str, running_implies: Any = None) -> list[tuple[datetime, Any, str]]:
    """(time, value, source) of a setting, oldest first; source is observation, change or backup-window."""
    out: list[tuple[datetime, Any, str]] = []
    found = index.of(facts)
    for obs in found.observations_of(instance.resource):
        if obs.observed_at and getattr(obs, field) is not None:
            out.append((obs.observed_at, getattr(obs, field), "observation"))
    for change in found.changes_of(instance.resource):
        if field in change.settings:
            out.append((change.time, change.settings[field], "change"))
    if running_implies is not None:  # an automated backup window ran, so backups were enabled then
        out += [(a.window_start, running_implies, "backup-window") for a in found.attempts_of(instance.resource)]
    return sorted(out, key=lambda e: (e[0], e[2] != "change"))


def values_during(history: list[tuple[datetime, Any, str]], start: datetime, end: datetime, complete: bool,
                  times: list[datetime] | None = None) -> list[Any]:
    """The values a setting took during [start, end); an unknown stretch contributes None.

    `history` is sorted by time; `times` (its times, in order) lets a caller asking about every day
    of a quarter find each day's stretch by bisection instead of a scan."""
    times = [t for t, _, _ in history] if times is None else times
    inside = [history[i][1] for i in range(bisect_left(times, start), bisect_left(times, end))]
    if not complete:
        return inside or [None]
    last_before = bisect_right(times, start) - 1
    if last_before >= 0:
        return [history[last_before][1], *inside]
    first = next(iter(history), None)
    if first is None:
        return [None]
    if first[2] == "change":  # the change's request says what it set, not what was there before
        return [None, *inside]
    return [first[1], *inside]


_NOTHING = object()  # no leading value: a day judged only by its own events


def setting_by_day(instance: SqlInstance, facts: Facts, ctx: CheckContext, field: str, weak: Any,
                   running_implies: Any = None) -> dict[date, str]:
    """Per period day: 'kept', 'broken' (the setting was `weak` at some moment), 'unknown', 'not_due', 'not_applicable'."""
    history = events(instance, facts, field, running_implies)
    # Instants as POSIX timestamps: the same order (a float is exact to the microsecond at these
    # magnitudes), but a comparison costs a fraction of an aware datetime's (thousands of instances x
    # ~90 days x a few bisections each).
    times = [t.timestamp() for t, _, _ in history]
    # Running counts of `weak` and unknown (None) values: whether a day's stretch holds one is then two
    # look-ups, not a pass over the stretch (thousands of instances x ~90 days x ~100 events).
    weak_upto, none_upto = [0], [0]
    weak_count = none_count = 0
    for _t, value, _source in history:
        weak_count += value == weak
        none_count += value is None
        weak_upto.append(weak_count)
        none_upto.append(none_count)
    complete = log_complete(facts, instance.project)
    life = lifetime(instance, facts)
    created = life.created.timestamp() if life.created else None
    gone_by = life.gone_by.timestamp() if life.gone_by else None
    alive_until = life.alive_until.timestamp() if life.alive_until else None
    as_of = ctx.as_of.timestamp()
    first_lead = None if not history or history[0][2] == "change" else history[0][1]
    states: dict[date, str] = {}
    starts = ctx.period.day_stamps
    for number, day in enumerate(ctx.period.days()):
        start, end = starts[number], starts[number + 1]
        if end > as_of:
            end = as_of
        if start >= as_of:
            states[day] = "not_due"
            continue
        # Lifetime.exists_through(start, end), on timestamps
        if (created is not None and end <= created) or (gone_by is not None and start >= gone_by):
            states[day] = "not_applicable"
            continue
        exists_unknown = (alive_until is not None and gone_by is not None and end > alive_until and start < gone_by
                          and gone_by != alive_until)
        if created is not None and start < created:
            start = created
        if gone_by is not None and end > gone_by:
            end = gone_by
        lo, hi = bisect_left(times, start), bisect_left(times, end)  # the stretch's own events: [lo, hi)
        if complete:
            last = bisect_right(times, start) - 1
            lead = history[last][1] if last >= 0 else first_lead
        else:
            lead = None if lo == hi else _NOTHING  # nothing observed that day is unknown; else only what was seen
        if weak_upto[hi] - weak_upto[lo] > 0 or (lead is not _NOTHING and lead == weak):
            states[day] = "broken"
        elif exists_unknown or none_upto[hi] - none_upto[lo] > 0 or lead is None:
            states[day] = "unknown"
        else:
            states[day] = "kept"
    return states
