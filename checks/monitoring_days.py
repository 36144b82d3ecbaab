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

Which instances must be covered at t is itself a matter of history (`Member`): a Cloud SQL instance is in its
project's population at t when it existed then (from its createTime to its deletion), was a primary and had
automated backups on (auditor.facts.history's `backup_enabled` timeline, where a read of it as a replica counts
as off). One the evidence cannot place at t (its backup setting unknown then: a change logged without its
body, time no log query covers; or an instance only the log shows, deleted, whose name alone is known) makes
the project's moment "unknown" unless it is covered anyway; it is never simply left out.

A day is `broken` when some moment of it is "no" for some primary, `kept` when every moment is "yes" for
every primary, `unknown` otherwise; `not_applicable` when no instance was in the population at any moment of
it. The moments tried are the day's start, every instant at which what is known may change, and one moment
inside each stretch between them, so nothing between them is skipped.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable

from auditor.facts.controls import AlertCondition
from auditor.facts.monitoring_history import UNKNOWN, Key, MonitoringHistory, Track, policy_key
from auditor.facts.timeline import Event, Timeline, contradiction_words
from auditor.logfilter import LogFilterError

YES, NO, UNSURE = "yes", "no", "unknown"
EMPTY = "empty"  # no instance had to be covered at that moment


def _all(states: Iterable[str]) -> str:
    states = list(states)
    return NO if NO in states else UNSURE if UNSURE in states else YES


def _any(states: Iterable[str]) -> str:
    states = list(states)
    return YES if YES in states else UNSURE if UNSURE in states else NO


def _known(value: Any, good: Callable[[Any], bool]) -> str:
    return UNSURE if value is UNKNOWN else YES if good(value) else NO


IN, OUT = "in", "out"


class Member:
    """One Cloud SQL instance's place in its project's population over time: `at(t)` is IN (it existed, was a
    primary and had automated backups on), OUT, or UNSURE.

    Built from auditor.facts.history: its lifetime (createTime, and a deletion the log or a FINAL backup shows;
    a stretch between its last sighting and the first listing without it is unsure), and its `backup_enabled`
    timeline, with each read of it as a replica counted as off (a replica holds no backups of its own, so a
    promoted replica joins from the moment a read, a logged change or a backup window shows its backups on).
    A promotion is not among the Admin Activity methods read, so the value a replica read carries forward may
    outlast the promotion until the next event; at the latest that is the first automated backup window that
    ran, and before it no automated backup of the instance could fail. `since` (the period's start): events
    before it that no complete log query covers are left out, so the first read inside the queried time holds
    back to the query's start (the timeline's rule for a first read). `unseen_until`: only the Admin Activity log
    shows the instance (deleted in the period, no read of it survives), so every moment before its deletion is
    unsure, never in or out."""

    def __init__(self, instance: Any, history: Any = None, unseen_until: float | None = None,
                 since: datetime | None = None) -> None:
        self.instance, self.resource = instance, instance.resource
        self.unseen_until = unseen_until
        self.created = self.gone = self.alive = None
        self.track: Track | None = None
        self.contradiction: str | None = None  # why the log carries nothing for its backup setting, if it does not
        if history is None:
            return
        life = history.lifetime(instance.resource)
        stamp = (lambda t: t.timestamp() if t else None)
        self.created, self.gone, self.alive = stamp(life.created or instance.create_time), stamp(life.gone_by), stamp(life.alive_until)
        timeline = history.timeline(instance.resource, "backup_enabled")
        events = list(timeline.events)
        if since is not None:
            # an event before `since` (the period's start) outside every complete log query says what held at its
            # own moment only, which is never judged; left in, it would stop the first read inside the queried
            # time from holding back to where the query starts (a read holds back over time a complete query covers)
            events = [e for e in events if e.time >= since
                      or any(lo <= e.time.timestamp() <= hi for lo, hi in timeline.covered)]
        events += [Event(o.observed_at, False, "observation", o.evidence) for o in history.observations(instance.resource)
                   if o.observed_at and o.is_replica]
        utc = timezone.utc
        # evidence that contradicts the log for the setting voids the log for it (auditor.facts.timeline), here too
        covered = [] if timeline.contradicted is not None else [
            (datetime.fromtimestamp(lo, utc), datetime.fromtimestamp(hi, utc)) for lo, hi in timeline.covered]
        placed = Timeline(instance.resource, "in_population", events, covered)
        self.contradiction = contradiction_words(timeline, "automated backups enabled") or contradiction_words(
            placed, "automated backups on as a primary")
        self.track = Track(placed)

    def at(self, t: float) -> str:
        if self.unseen_until is not None:
            return OUT if t >= self.unseen_until else UNSURE
        if (self.created is not None and t < self.created) or (self.gone is not None and t >= self.gone):
            return OUT
        if self.alive is not None and self.gone is not None and self.alive < t < self.gone:
            return UNSURE  # between its last sighting and the first listing without it
        if self.track is None:
            return IN
        value = self.track.value_at(t)
        return UNSURE if value is UNKNOWN else IN if value is True else OUT

    def bounds(self) -> list[float]:
        """The instants at which its place may change: of every span edge (a backup window a day makes two), only
        those where the place before, at or after it differs, so a steady primary adds no moment to judge."""
        raw = sorted({b for b in (self.created, self.gone, self.alive, self.unseen_until) if b is not None}
                     | (set(self.track.bounds()) if self.track else set()))
        out, before = [], self.at(raw[0] - 1.0) if raw else None
        for i, mark in enumerate(raw):
            here = self.at(mark)
            after = self.at((mark + raw[i + 1]) / 2 if i + 1 < len(raw) else mark + 1.0)
            if here != before or after != here:
                out.append(mark)
            before = after
        return out


def unsure_days(member: Member, period: Any, as_of: datetime) -> set[date]:
    """The days on which some moment leaves the member's place unsure (its place changes only at its bounds)."""
    stamps, limit = period.day_stamps, as_of.timestamp()
    marks = sorted(b for b in member.bounds() if stamps[0] < b < min(stamps[-1], limit))
    points = [stamps[0], *marks, min(stamps[-1], limit)]
    pieces = [(a, b, UNSURE in (member.at(a), member.at((a + b) / 2))) for a, b in zip(points, points[1:])]
    out: set[date] = set()
    for number, day in enumerate(period.days()):
        start, end = stamps[number], min(stamps[number + 1], limit)
        if start < limit and any(unsure and a < end and b > start for a, b, unsure in pieces):
            out.add(day)
    return out


class Judge:
    """Whether the primaries of one project were covered at a moment.

    `members` (by resource): each instance's place in the population over time (Member); an instance without
    one is in it from `lifetimes`' creation to its end."""

    def __init__(self, history: MonitoringHistory, sources: list[str], instances: list[Any],
                 lifetimes: dict[str, tuple[float | None, float | None]], fires: Callable[[str, Any], tuple[bool, bool]],
                 members: dict[str, Member] | None = None):
        self.history, self.sources, self.instances, self.lifetimes, self.fires = history, sources, instances, lifetimes, fires
        self.members = members or {}
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
            member = self.members.get(instance.resource)
            if member is not None:
                place = member.at(t)
            else:
                created, gone = self.lifetimes.get(instance.resource, (None, None))
                place = OUT if (created is not None and t < created) or (gone is not None and t >= gone) else IN
            if place == OUT:
                continue
            if member is not None and member.unseen_until is not None:
                states.append(UNSURE)  # its labels and configuration were never read: no filter can be tried on it
                continue
            state = _any(self._policy(k, instance, t) for k in self.policies)
            if state == NO and not all(self.history.population_known(p, "alert_policy", t) for p in self.sources):
                state = UNSURE  # a policy nobody read might have covered it
            if place == UNSURE and state != YES:
                state = UNSURE  # whether it had to be covered then is unknown, and it was not
            states.append(state)
        return _all(states) if states else EMPTY


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
    extra += [b for member in judge.members.values() for b in member.bounds()]
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
        out[day] = ("broken" if NO in seen else "unknown" if UNSURE in seen else "kept" if YES in seen
                    else "not_applicable")  # no primary with backups on at any moment of the day
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
