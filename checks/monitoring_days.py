"""backup-monitoring day by day: was a failed automated backup alerting someone at every moment of each day?

At a moment t a project's Cloud SQL primary is covered when some alert policy (in the project or the central
monitoring project) existed and was enabled at t, had a condition that fires on the instance's failed backup
and not on a successful one (its log filter, or the filter of the log-based metric its threshold counts, as
that metric stood at t), and named a notification channel that existed, was enabled and was not waiting for
verification at t. Each of those is read from the settings' history (auditor.facts.monitoring_history):

  yes      every piece known and covering;
  no       known not to cover: and the project's alert policies are known in full at t (a complete audit-log
           query covers t, or a listing was answered at t), so no unseen policy could have covered it;
  unknown  anything else.

A day is `broken` when some moment of it is "no" for some primary, `kept` when every moment is "yes" for
every primary, `unknown` otherwise. The moments tried are the day's start, every instant at which what is
known may change, and one moment inside each stretch between them, so nothing between them is skipped.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime
from typing import Any, Callable, Iterable

from auditor.facts.controls import AlertCondition
from auditor.facts.monitoring_history import UNKNOWN, Key, MonitoringHistory, policy_key
from auditor.logfilter import LogFilterError

YES, NO, UNSURE = "yes", "no", "unknown"


def _all(states: Iterable[str]) -> str:
    states = list(states)
    return NO if NO in states else UNSURE if UNSURE in states else YES


def _any(states: Iterable[str]) -> str:
    states = list(states)
    return YES if YES in states else UNSURE if UNSURE in states else NO


def _known(value: Any, good: Callable[[Any], bool]) -> str:
    return UNSURE if value is UNKNOWN else YES if good(value) else NO


class Judge:
    """Whether the primaries of one project were covered at a moment."""

    def __init__(self, history: MonitoringHistory, sources: list[str], instances: list[Any],
                 lifetimes: dict[str, tuple[float | None, float | None]], fires: Callable[[str, Any], tuple[bool, bool]]):
        self.history, self.sources, self.instances, self.lifetimes, self.fires = history, sources, instances, lifetimes, fires
        self.policies = [k for p in sources for k in history.keys("alert_policy", p)]
        self._fired: dict[tuple[str, str], tuple[bool, bool] | LogFilterError] = {}  # (filter, instance): asked ~200 times a day

    def involved(self) -> tuple[list[Key], list[str]]:
        projects = sorted(set(self.sources) | {i.project for i in self.instances})
        keys = [k for p in projects for kind in ("alert_policy", "notification_channel", "log_metric")
                for k in self.history.keys(kind, p)]
        return keys, projects

    def _condition(self, cond: AlertCondition, instance: Any, t: float) -> str:
        text = cond.filter or ""
        if cond.kind == "threshold" and cond.metric:
            key = ("log_metric", instance.project, cond.metric)
            exists = self.history.value_at(key, "exists", t)
            if exists is UNKNOWN:
                return UNSURE
            if exists is False:
                return NO
            disabled, text = self.history.value_at(key, "disabled", t), self.history.value_at(key, "filter", t)
            if disabled is True:
                return NO
            if disabled is UNKNOWN or text is UNKNOWN:
                return UNSURE
        elif cond.kind != "log_match":
            return NO
        found = self._fired.get((text, instance.resource))
        if found is None:
            try:
                found = self.fires(text, instance)
            except LogFilterError as err:
                found = err
            self._fired[(text, instance.resource)] = found
        if isinstance(found, LogFilterError):
            return UNSURE
        on_failure, on_success = found
        return YES if on_failure and not on_success else NO

    def _channel(self, name: str, t: float) -> str:
        key = policy_key(name)
        if key is None:
            return NO
        return _all([_known(self.history.value_at(key, "exists", t), bool),
                     _known(self.history.value_at(key, "enabled", t), bool),
                     _known(self.history.value_at(key, "verification", t), lambda v: v != "UNVERIFIED")])

    def _policy(self, key: Key, instance: Any, t: float) -> str:
        value = self.history.value_at
        exists = _known(value(key, "exists", t), bool)
        if exists == NO:
            return NO
        conditions, channels = value(key, "conditions", t), value(key, "channels", t)
        fires = UNSURE if conditions is UNKNOWN else _any(self._condition(c, instance, t) for c in conditions)
        notifies = UNSURE if channels is UNKNOWN else _any(self._channel(c, t) for c in channels)
        return _all([exists, _known(value(key, "enabled", t), bool), fires, notifies])

    def at(self, t: float) -> str:
        states = []
        for instance in self.instances:
            created, gone = self.lifetimes.get(instance.resource, (None, None))
            if (created is not None and t < created) or (gone is not None and t >= gone):
                continue
            state = _any(self._policy(k, instance, t) for k in self.policies)
            if state == NO and not all(self.history.population_known(p, "alert_policy", t) for p in self.sources):
                state = UNSURE  # a policy nobody read might have covered it
            states.append(state)
        return _all(states)


def day_states(judge: Judge, period: Any, as_of: datetime) -> dict[date, str]:
    """Each day's state. What is known changes only at the history's breakpoints (and at a primary's creation), so
    the states are worked out once per piece of the period (each breakpoint, and one moment inside each stretch
    between two), and each day takes the pieces it touches: a quarter costs its breakpoints, not 92 x the moments."""
    keys, projects = judge.involved()
    stamps, limit = period.day_stamps, as_of.timestamp()
    first, last = stamps[0], min(stamps[-1], limit)
    out: dict[date, str] = {}
    if last <= first:
        return {day: "not_due" for day in period.days()}
    extra = [c for c, _ in judge.lifetimes.values() if c is not None]
    extra += [c.time.timestamp() for c in judge.history.unattributed if c.project in judge.sources]
    marks = sorted({m for m in [*judge.history.breakpoints(keys, projects), *extra] if first < m < last})
    points = [first, *marks, last]
    at_point = [judge.at(p) for p in points[:-1]]
    within = [judge.at((a + b) / 2) for a, b in zip(points, points[1:])]
    for number, day in enumerate(period.days()):
        start, end = stamps[number], min(stamps[number + 1], limit)
        if start >= limit:
            out[day] = "not_due"
            continue
        seen = set(within[max(bisect_right(points, start) - 1, 0):max(bisect_left(points, end), 1)])
        seen.update(at_point[bisect_left(points, start):bisect_left(points, end)])
        out[day] = "broken" if NO in seen else "unknown" if UNSURE in seen else "kept"
    return out


def unlogged(history: MonitoringHistory, projects: Iterable[str], period: Any) -> list[Any]:
    """The period's alerting changes whose entry did not say what they set (request body not logged)."""
    return [c for p in projects for c in history.changes(p) if not c.deleted and period.starts_at <= c.time < period.ends_at
            and any(v is None for k, v in c.settings.items() if k != "exists")]


def why_unknown(history: MonitoringHistory, projects: Iterable[str], period: Any, names: dict[Key, str]) -> str:
    changes = unlogged(history, projects, period)
    if not changes:
        return "no read covers them and no complete Admin Activity log query joins them to a read"
    parts, notes = [], []
    for c in changes:
        what = names.get((c.kind, c.project, c.name or ""), c.name or "a resource the entry does not name")
        parts.append(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method.rsplit('.', 1)[-1]} of {what})")
    for key in sorted({(c.kind, c.project, c.name) for c in changes if c.name}):
        last = history.last_recorded_change(key)  # type: ignore[arg-type]
        if last:
            notes.append(f"the record {names.get(key, key[2])} keeps of its most recent change ({last:%Y-%m-%d %H:%M} UTC) "
                         "confirms what it has been since then, not what it was before")
    return ("the Admin Activity entries of " + ", ".join(parts) + " were logged without the request body, so what they set "
            "is unknown until the next read" + (" (" + "; ".join(notes) + ")" if notes else ""))


def day_evidence(history: MonitoringHistory, keys: Iterable[Key], projects: Iterable[str], period: Any,
                 states: dict[date, str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """({ISO day: locker items of that day's reads and changes, else those carried into it}, {ISO day: that day's
    log entries}) for sampling."""
    items: dict[str, set[str]] = {}
    entries: dict[str, set[str]] = {}
    moments: list[tuple[datetime, str | None, tuple[str, ...]]] = []
    for key in keys:
        moments += [(o.observed_at, None, tuple(o.evidence)) for o in history.observations(key) if o.observed_at]
    for project in projects:
        moments += [(c.time, c.key, tuple(c.evidence)) for c in history.changes(project)]
    days = period.days_of([m[0] for m in moments])
    for (_, key, evidence), day in zip(moments, days):
        if not period.start <= day <= period.end:
            continue
        items.setdefault(day.isoformat(), set()).update(evidence)
        if key:
            entries.setdefault(day.isoformat(), set()).add(key)
    # a day with nothing of its own rests on the reads and changes whose values were carried into it
    stamps, keys = period.day_stamps, list(keys)
    for number, day in enumerate(period.days()):
        if day.isoformat() in items or states.get(day) in (None, "not_due"):
            continue
        carried = set().union(*(history.evidence_over(k, stamps[number], stamps[number + 1]) for k in keys)) if keys else set()
        if carried:
            items[day.isoformat()] = carried
    return ({d: sorted(v) for d, v in sorted(items.items())}, {d: sorted(v) for d, v in sorted(entries.items())})
