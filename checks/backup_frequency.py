"""backup-frequency: every day of the audit period has a successful automated backup.

Each day gets a state from the audit log and the retained backup runs together:
  succeeded      a window that started that day ended in a successful backup
  missed         no success (a failed or skipped window, or no window at all)
  within         no backup of its own, but under an interval over a day the last one was recent enough (kept)
  unknown        no success seen, and the evidence for that day could not be read
  stopped        the instance was stopped when that day's window opened
  not_due        the day's window had not closed by the evidence's as-of time
  not_applicable the instance did not exist yet
Besides the per-day rule, the longest interval between successful backups is measured against the
policy's interval plus the backup window (Cloud SQL may start a backup anywhere in its 4 hours).

Each day is judged against the interval and window of the configuration in force that day (the one
stored by the newest locker made by then: checks.days.by_config); a change is named with its key,
values, first day and locker. Under an interval shorter than a day, a day with its backup is
`broken` when the last success was at some moment of it longer ago than the interval plus the
window; a day whose configuration lacks the data's classification is `unknown`.

frq3: the classification in force each day (checks.class_days: the data map in force that day, else the
label that day, else the default) picks the interval, so each day is judged against the interval of its
own class, `policy.classifications.<class>.backup_interval` (the window, `policy.backup_window`, is not per
class). Listed, deleted and ENHANCED (Backup and DR) instances alike. A day whose class is unknown is unknown
with the reason (never judged by another day's class); a day the class changed during (a label updated at
09:00) is judged under both (kept only if kept under each). A store with no classification on any day keeps
the default daily interval, as before.

The windows the backups must fill follow the interval in force each day:
  24h           each day's own backup window must hold a success (the rule above);
  under 24h     as 24h, and the last success must never be older than interval + window (`_sub_daily`);
  over 24h      (7d, say) a day needs no backup of its own: it is kept (`within`) when at every moment of
                it the last success was no older than interval + window, and missed (broken, if it had a
                backup later that day) when at some moment it was; the stretches run from the newest success
                before the period when the evidence holds one, else from the period's start or the instance's
                creation. Without a success before the period, a day before the period's first success that is
                not already over the limit counted from the period's start is unknown: the start keeps no day.
A stretch of days under a 7d class followed by days under 24h from Aug 12: a success on Aug 8 keeps
Aug 8 .. Aug 11 (each within 7d + 4h of it) but fills no window from Aug 12 on: from the first day of
the new class each day must hold its own backup, whatever the 7d window it began in would have allowed.
Aug 12 itself, when the class changed that day, is kept only with its own backup (kept under both
classes); without one it is kept under 7d and missed under 24h: unknown. The other way (24h to 7d), a
7d day is measured from the last success, whichever class it was made under. A `within` day's
`day_evidence` and `day_entries` name the success that keeps it (it has no backup of its own).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta, timezone
from operator import attrgetter
from typing import Any

from auditor.period import day_ranges
from auditor.checks import days as daily
from auditor.checks.class_days import class_days
from auditor.checks.days import log_gaps_words
from auditor.checks.common import deleted_instances, deleted_unseen, deletion_note, instances, replica_finding, sql_gaps, unverified
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import ActivationChange, BackupAttempt, SqlInstance
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding
from auditor.unverified import incomplete_data

ID = "backup-frequency"
MIDNIGHT_UTC = time(0, 0, tzinfo=timezone.utc)
_WHEN = attrgetter("window_start", "key")  # the attempts' order (a C key: thousands of attempts per instance)
#: a window's outcome in the shared day vocabulary (auditor.results.DAY_STATES): the words stay in the message
_SHARED = {"succeeded": "kept", "missed": "broken", "within": "kept"}


def stopped_intervals(changes: list[ActivationChange], current_policy: str | None, until: datetime) -> list[tuple[datetime, datetime]]:
    """Intervals during which the instance was stopped, from its stop/start history and current setting."""
    intervals: list[tuple[datetime, datetime]] = []
    ordered = sorted(changes, key=lambda c: c.time)
    stopped_since: datetime | None = None
    if ordered and ordered[0].policy == "ALWAYS":
        stopped_since = datetime.min.replace(tzinfo=timezone.utc)  # it was stopped before its first start
    elif not ordered and current_policy == "NEVER":
        stopped_since = datetime.min.replace(tzinfo=timezone.utc)
    for change in ordered:
        if change.policy == "NEVER" and stopped_since is None:
            stopped_since = change.time
        elif change.policy == "ALWAYS" and stopped_since is not None:
            intervals.append((stopped_since, change.time))
            stopped_since = None
    if stopped_since is not None:
        intervals.append((stopped_since, until))
    return intervals


def activation_spells(timeline: Any, until: datetime) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """(stopped, unsure): when the instance was stopped, and when whether it was is unknown, from its
    activation-policy timeline (auditor.facts.history.ACTIVATION: reads, stops and starts, backup attempts).

    A value holds from its event to the next one only over covered time (a complete audit-log query);
    a start (ALWAYS) also says the instance was stopped since the covered span's beginning, and the
    first read holds back to it. An update logged without its body is unknown from its moment to the
    next event, unless the log joins it to a read or a backup attempt (auditor.facts.timeline); days
    outside covered time are unknown by the coverage rule of `day_states`."""
    stopped: list[tuple[float, float]] = []
    unsure: list[tuple[float, float]] = []
    events, times, end_ts = timeline.events, timeline.times, until.timestamp()
    utc = timezone.utc
    if timeline.contradicted is not None:  # the log missed a stop or a start: whether it ran is unknown throughout
        return [], [(datetime.fromtimestamp(lo, utc), datetime.fromtimestamp(hi, utc)) for lo, hi in timeline.covered]

    def spell(value: Any, start: float, end: float) -> None:
        if end > start:
            if value == "NEVER":
                stopped.append((start, end))
            elif value is None:
                unsure.append((start, end))

    covered = timeline.covered
    starts = [lo for lo, _ in covered]
    for i, event in enumerate(events):
        if i and event.value != "NEVER" and event.value is not None:
            continue  # a running spell adds nothing (most events: reads and backup attempts of a running instance)
        t = times[i]
        nxt = times[i + 1] if i + 1 < len(events) else max(end_ts, t)
        # the covered span holding t: merged spans are sorted and apart, so only the last one starting by t can
        last = bisect_right(starts, t)
        span = covered[last - 1] if last and covered[last - 1][1] >= t else None
        if span is None:
            continue
        spell(event.value, t, min(nxt, span[1]))
        if i == 0:
            before = "NEVER" if (event.source == "change" and event.value == "ALWAYS") else (
                event.value if event.source != "change" else None)
            spell(before, span[0], t)
    as_dates = (lambda spans: [(datetime.fromtimestamp(a, utc), datetime.fromtimestamp(b, utc)) for a, b in spans])
    return as_dates(stopped), as_dates(unsure)


def _unlogged_updates(changes: list[ActivationChange], ctx: CheckContext) -> str | None:
    """Why windows after an update logged without its body are unknown, naming the updates."""
    unlogged = [c for c in changes if c.policy is None and ctx.period.starts_at <= c.time < ctx.period.ends_at]
    if not unlogged:
        return None
    when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC" for c in unlogged)
    return (f"the Admin Activity updates of {when} were logged without the request body, so whether the instance "
            "was stopped then (no backup due) or its backups did not run is unknown until a read or a backup that ran")


def _inside(moment: datetime, intervals: list[tuple[datetime, datetime]]) -> bool:
    return any(start <= moment < end for start, end in intervals)


def day_states(instance: SqlInstance, attempts: list[BackupAttempt], stops: list[tuple[datetime, datetime]],
               ctx: CheckContext, evidence_readable: bool, window: timedelta | None = None,
               covered: Any = None, unsure: list[tuple[datetime, datetime]] = ()) -> dict[date, str]:
    """`covered(start, end)`: whether a complete audit-log query covers a window; a window outside every
    covered span (before a `--since` chain's start, in a break of the chain) is unknown, never missed nor
    stopped. `unsure`: when whether the instance was stopped is unknown (an update logged without its
    body): a window then without a success is unknown too."""
    window = window or ctx.config.policy.backup_window
    start_clock = instance.backup_start_time or MIDNIGHT_UTC
    succeeded_days = set(ctx.period.days_of([a.window_start for a in attempts if a.outcome == "succeeded"]))
    created_day = ctx.period.day_of(instance.create_time) if instance.create_time else None
    states: dict[date, str] = {}
    for day, window_opens in zip(ctx.period.days(), ctx.period.openings(start_clock)):
        if created_day and (day < created_day or (day == created_day and window_opens < instance.create_time)):
            states[day] = "not_applicable"  # before it existed, or created after that day's window opened
        elif day in succeeded_days:
            states[day] = "succeeded"
        elif _inside(window_opens, stops):  # stops are found only over covered time (activation_spells)
            states[day] = "stopped"
        elif window_opens + window > ctx.as_of:
            states[day] = "not_due"
        elif covered is not None and not covered(window_opens, window_opens + window):
            states[day] = "unknown"
        elif not evidence_readable or _inside(window_opens, list(unsure)):
            states[day] = "unknown"
        else:
            states[day] = "missed"
    return states


def longest_gap(successes: list[datetime], stops: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> tuple[float, datetime | None, datetime | None]:
    """Longest running time without a successful backup, in hours; time stopped does not count."""
    events = [(t, 1) for t in successes if start <= t <= end]
    for s, e in stops:
        if s < end and e > start:
            events += [(max(s, start), 0), (min(e, end), 2)]
    events.sort()
    last: datetime | None = start
    best, best_from, best_to = 0.0, None, None
    for moment, kind in events:
        if kind in (0, 1) and last is not None:  # a success or a stop closes the running stretch
            hours = (moment - last).total_seconds() / 3600
            if hours > best:
                best, best_from, best_to = hours, last, moment
        last = None if kind == 0 else moment
    if last is not None and end > last:
        hours = (end - last).total_seconds() / 3600
        if hours > best:
            best, best_from, best_to = hours, last, end
    return round(best, 1), best_from, best_to



def too_long(successes: list[datetime], stops: list[tuple[datetime, datetime]], start: datetime, end: datetime,
             limit: timedelta) -> list[tuple[datetime, datetime, datetime]]:
    """The stretches of [start, end) during which the last successful backup was more than `limit` ago, each as
    (since: the success or start it runs from, over: when the limit was passed, until: the next success, stop or
    `end`). Time stopped does not count, as in `longest_gap`."""
    events = [(t, 1) for t in successes if start <= t <= end]
    for s, e in stops:
        if s < end and e > start:
            events += [(max(s, start), 0), (min(e, end), 2)]
    events.sort()
    out: list[tuple[datetime, datetime, datetime]] = []
    last: datetime | None = start
    for moment, kind in [*events, (end, 0)]:
        if kind in (0, 1) and last is not None and moment - last > limit:
            out.append((last, last + limit, moment))
        last = None if kind == 0 else moment
    return out


def _sub_daily(states: dict[date, str], successes: list[datetime], stops: list[tuple[datetime, datetime]], start: datetime,
               end: datetime, limit: timedelta, ctx: CheckContext) -> None:
    """An interval under a day: a day with its backup is still outside the policy when, at some moment of it, the
    last success was more than `limit` ago (`broken`); unknown instead when an unknown day lies in that stretch
    (a backup the evidence could not show may have run then). In place."""
    starts = ctx.period.day_starts
    days = list(ctx.period.days())
    for since, over, until in too_long(successes, stops, start, end, limit):
        touched = [day for day, lo, hi in zip(days, starts, starts[1:]) if lo < until and hi > over]
        spanned = [day for day, lo, hi in zip(days, starts, starts[1:]) if lo < until and hi > since]
        state = "unknown" if any(states.get(day) == "unknown" for day in spanned) else "broken"
        for day in touched:
            if states.get(day) in ("succeeded", "not_due"):
                states[day] = state


def _over_daily(states: dict[date, str], successes: list[datetime], stops: list[tuple[datetime, datetime]], start: datetime,
                end: datetime, limit: timedelta, ctx: CheckContext, prior: datetime | None, head_open: bool) -> set[date]:
    """An interval over a day (module docstring), in place: a day touched by a stretch longer than `limit` since
    the last success is missed (broken with a backup of its own; unknown when an unknown day lies in the stretch,
    a backup the evidence could not show may have run then); any other day without its own success is `within`.
    `prior`: the newest success before `start`, the stretches run from it. `head_open`: no success before the
    period is in the evidence though the instance existed: the days before the period's first success, closer to
    its start than `limit`, stay unknown; they are returned (the message names why)."""
    starts = ctx.period.day_starts
    days = list(ctx.period.days())
    touched_any: set[date] = set()
    for since, over, until in too_long(successes, stops, prior or start, end, limit):
        touched = [day for day, lo, hi in zip(days, starts, starts[1:]) if lo < until and hi > over]
        spanned = [day for day, lo, hi in zip(days, starts, starts[1:]) if lo < until and hi > since]
        hidden = any(states.get(day) == "unknown" for day in spanned)
        for day in touched:
            state = states.get(day)
            if state in ("succeeded", "not_due", "missed"):
                states[day] = "unknown" if hidden else ("broken" if state == "succeeded" else "missed")
                touched_any.add(day)
    first = next((t for t in successes if t >= start), None)
    head_end = min(first, end) if first is not None else end
    head: set[date] = set()
    for day, lo in zip(days, starts):
        state = states.get(day)
        if day in touched_any or state not in ("missed", "unknown"):
            continue
        if head_open and lo < head_end:
            states[day] = "unknown"
            head.add(day)
        else:
            states[day] = "within"
    return head


_RESOLVERS: list[Any] = []  # (ctx, its resolver): one per evaluation, shared by its instances


def _class_thresholds(ctx: CheckContext):
    """(config, class) -> (interval seconds, window seconds, class): the interval of that class in that
    configuration; None when the configuration lacks a class some stored configuration names (those days are
    unknown) or when the class is unknown (class None). A class no configuration names gets the default daily
    interval, as unclassified data does. Memoised per (config, class): a few configurations, a few classes."""
    if _RESOLVERS and _RESOLVERS[0] is ctx:
        return _RESOLVERS[1]
    configs = [ctx.config, *(c for _, _, c in getattr(ctx, "configs", ()) or ())]
    named = {name for c in configs for name in c.policy.classifications}

    def resolve(config: Any, name: str | None) -> tuple[float | None, float, str | None]:
        window = config.policy.backup_window.total_seconds()
        if name is None:
            return (None, window, None)
        if name not in named:
            return (86400.0, window, name)
        policy = config.policy.classifications.get(name)
        return (None if policy is None else policy.backup_interval.total_seconds(), window, name)

    memo: dict[tuple[int, str | None], tuple[float | None, float, str | None]] = {}

    def resolved(config: Any, name: str | None) -> tuple[float | None, float, str | None]:
        key = (id(config), name)
        found = memo.get(key)
        if found is None:
            found = memo[key] = resolve(config, name)
        return found

    _RESOLVERS[:] = [ctx, resolved]
    return resolved


def _class_threshold_words(segments: list[tuple[list[date], Any, str | None]]) -> tuple[str, list[dict[str, Any]]]:
    """When the class changed: the interval in force on each stretch, named by the class whose threshold it is
    (sentence, `details.thresholds` entries). '' when one class's one interval held on every day judged."""
    known = [(days, value, locker) for days, value, locker in segments if value[2] is not None]
    if len({value[0] for _, value, _ in known}) < 2:  # the class changed, not the interval: ClassDays.words says it
        return "", []
    several = len({locker for _, _, locker in known}) > 1  # a locker is named only where the configuration changed
    parts, entries = [], []
    for days, value, locker in known:
        key = f"policy.classifications.{value[2]}.backup_interval"
        shown = "absent" if value[0] is None else _hours(value[0])
        parts.append(f"{key} {shown} on {day_ranges(days)}"
                     + (f" (the configuration stored in locker {locker})" if locker and several else ""))
        entries.append({"key": key, "value": None if value[0] is None else value[0] / 3600, "from": days[0].isoformat(),
                        "locker": locker})
    return "The interval in force: " + "; ".join(parts) + ".", entries


def _thresholds(classification: str | None, ctx: CheckContext):
    """config -> (interval seconds, window seconds) that configuration sets for the data; the interval is None when
    it lacks a classification some stored configuration names (those days are unknown). Unclassified data, or a classification
    no configuration names, gets the default daily interval, as before days were judged by their own configuration."""
    configs = [ctx.config, *(c for _, _, c in getattr(ctx, "configs", ()) or ())]
    named = classification is not None and any(classification in c.policy.classifications for c in configs)

    def resolve(config: Any) -> tuple[float | None, float]:
        window = config.policy.backup_window.total_seconds()
        if not named:
            return (86400.0, window)
        policy = config.policy.classifications.get(classification)
        return (None if policy is None else policy.backup_interval.total_seconds(), window)

    return resolve


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g}h"




def _day_evidence(attempts: list[BackupAttempt], ctx: CheckContext) -> dict[str, list[str]]:
    """Evidence ids of each day's backup attempts, so a sampled day points at its own evidence."""
    by_day: dict[date, list[str]] = {}
    first, last = ctx.period.start, ctx.period.end
    for attempt, day in zip(attempts, ctx.period.days_of([a.window_start for a in attempts])):
        if first <= day <= last:
            ids = by_day.get(day)
            if ids is None:
                by_day[day] = list(attempt.evidence)
            else:
                ids.extend(attempt.evidence)
    isos = ctx.period.day_isos  # dates sort as their ISO texts do
    return {isos[day]: sorted(set(ids)) if len(ids) > 1 else ids for day, ids in sorted(by_day.items())}


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings = sql_gaps(facts, ctx, ID, "daily Cloud SQL backups")
    for instance in instances(facts) + deleted_instances(facts):
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "daily"))
            continue
        if instance.backup_tier == "ENHANCED":  # Backup and DR's backups are not in backupRuns or this audit log
            findings.append(_backupdr_instance(instance, facts, ctx))
            continue
        findings.append(_evaluate_instance(instance, facts, ctx))
    findings += deleted_unseen(facts, ID, ctx, "daily")
    return findings


def _split_days(unknown: list[date], classes: Any, ctx: CheckContext, resolve: Any, states_for: Any) -> list[date]:
    """The unknown days that held two classes and are unknown only because the classes' judgments disagree."""
    several = [d for d in unknown if len(classes.of(d).names) > 1]
    if not several:
        return []
    configs = daily.configs_by_day(ctx)
    return [d for d in several
            if "unknown" not in {states_for(resolve(configs[d], name)).get(d) for name in classes.of(d).names}]


def _covering(within: list[date], attempts: list[BackupAttempt], ctx: CheckContext, end: datetime) -> dict[str, BackupAttempt]:
    """{ISO day: the success that keeps it} for days kept without a backup of their own: the newest before the day's end."""
    done = sorted(((a.backup_time or a.window_start, a) for a in attempts if a.outcome == "succeeded"), key=lambda p: p[0])
    times = [t for t, _ in done]
    starts, isos = ctx.period.day_starts, ctx.period.day_isos
    index = {day: n for n, day in enumerate(ctx.period.days())}
    out: dict[str, BackupAttempt] = {}
    for day in within:
        last = bisect_left(times, min(starts[index[day] + 1], end)) - 1
        if last >= 0:
            out[isos[day]] = done[last][1]
    return out


def _backupdr_instance(instance: SqlInstance, facts: Any, ctx: CheckContext) -> Finding:
    """An ENHANCED-tier instance, judged from its Backup and DR backups: one a day inside the plan's window.
    Backup and DR keeps backups only for the rule's retention: an older day without one is unknown (its
    backup, if made, has expired), not missed. A rule whose last backup failed is reported beside the days."""
    from dataclasses import replace

    detail = facts.backupdr.of(instance.resource)
    if detail is None or detail.unprotected:
        return Finding(ID, instance.resource, "daily", FAIL,
                       f"{instance.display}: its backups are managed by Backup and DR (backupTier ENHANCED), but no backup plan "
                       "association names it, so nothing backs it up.",
                       observed={"backup_tier": instance.backup_tier, "associations": 0}, evidence=list(instance.evidence))
    copies = facts.backup_copies.of(instance.resource)
    attempts = [BackupAttempt(instance.resource, c.time, "succeeded", "backupdr", c.state, c.time, f"bdr:{c.time.isoformat()}", c.evidence)
                for c in (copies.items if isinstance(copies, Known) else ()) if c.state == "succeeded"]
    hour = detail.window_start_hour()
    judged = replace(instance, backup_start_time=time(hour, 0, tzinfo=timezone.utc) if hour is not None else instance.backup_start_time)
    retention = detail.retention_days()
    horizon = ctx.as_of - timedelta(days=retention) if retention else None
    window = timedelta(hours=detail.window_hours()) if detail.window_hours() else None
    finding = _evaluate_instance(judged, facts, ctx, backupdr=(attempts, copies if isinstance(copies, Unknown) else None, horizon, window))
    failing = detail.failing()
    if failing:
        finding.message += " Backup and DR reports " + "; ".join(failing) + "."
    finding.observed["backup_tier"] = instance.backup_tier
    finding.details["backupdr"] = {"plans": [p.name for p in detail.plans], "vaults": [v.name for v in detail.vaults],
                                   "backups": len(attempts), "retention_days": retention, "failing_rules": failing}
    finding.evidence += [e for e in detail.evidence if e not in finding.evidence]
    return finding


def _evaluate_instance(instance: SqlInstance, facts: Any, ctx: CheckContext, backupdr: tuple | None = None) -> Finding:
    """The audit log's windows are the record of every attempt; retained runs add the successes they
    prove. A day without a success is `missed` only when the log was read in full (else `unknown`).
    `backupdr`: (attempts, Unknown or None, horizon, window) of an ENHANCED instance instead: its Backup and
    DR backups are the record, and a day older than the horizon has no evidence left."""
    windows, runs = facts.backup_windows.of(instance.resource), facts.backup_runs.of(instance.resource)
    activation = facts.activation_changes.of(instance.resource)
    attempts: list[BackupAttempt] = sorted([*(windows.items if isinstance(windows, Known) else ()),
                                            *(runs.items if isinstance(runs, Known) else ())],
                                           key=_WHEN)
    changes: list[ActivationChange] = list(activation.items) if isinstance(activation, Known) else []
    log_gap: Unknown | None = windows if isinstance(windows, Unknown) else (
        activation if isinstance(activation, Unknown) else None)
    horizon = window = None
    if backupdr is not None:
        attempts, log_gap, horizon, window = sorted(backupdr[0], key=lambda a: a.window_start), backupdr[1], backupdr[2], backupdr[3]
    log_readable = log_gap is None
    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    interval = policy.backup_interval if policy else timedelta(hours=24)
    tolerance = ctx.config.policy.backup_window
    life = facts.history.lifetime(instance.resource)
    period_end = min(ctx.period.ends_at, ctx.as_of, *([life.gone_by] if life.gone_by else []))
    if backupdr is None:
        stops, unsure = activation_spells(facts.history.timeline(instance.resource, "activation_policy"), period_end)
    else:  # Backup and DR's own backups are the record; stops from the policies the log states
        stops, unsure = stopped_intervals([c for c in changes if c.policy], instance.activation_policy, period_end), []
    # the audit log is the record of every attempt only over the time its complete queries cover (with Backup
    # and DR, its own backups are the record: the horizon below says how far back)
    covered = None if backupdr is not None else (lambda a, b: facts.history.covers(instance.resource, a, b))
    successes = sorted(a.backup_time or a.window_start for a in attempts if a.outcome == "succeeded")
    gap_start = max(ctx.period.starts_at, instance.create_time) if instance.create_time else ctx.period.starts_at
    start_clock = instance.backup_start_time or MIDNIGHT_UTC
    # frq3: the newest success before the period (the stretches of an interval over a day run from it); without one,
    # an instance that existed before the period has days the evidence cannot show within such an interval
    before = bisect_left(successes, gap_start)
    prior = successes[before - 1] if before else None
    head_open = prior is None and not (instance.create_time and instance.create_time >= ctx.period.starts_at)
    head_days: set[date] = set()
    judged_by: dict[tuple[float | None, float], dict[date, str]] = {}

    def states_for(value: tuple) -> dict[date, str]:
        """The days judged against one (interval, window[, class]); interval None: no interval applies (the
        configuration lacks the class, or the class is unknown). Memoised by (interval, window)."""
        found = judged_by.get(value[:2])
        if found is None:
            found = judged_by[value[:2]] = _states_for(value)
        return found

    def _states_for(value: tuple) -> dict[date, str]:
        judged = day_states(instance, attempts, stops, ctx, log_readable, window or timedelta(seconds=value[1]), covered, unsure)
        if horizon is not None:
            for (day, state), opens in zip(list(judged.items()), ctx.period.openings(start_clock)):
                if state == "missed" and opens < horizon:
                    judged[day] = "unknown"  # its backup, if it was made, has expired from Backup and DR
        if life.gone_by:  # deleted mid-period: in the population for the days it existed, not after
            for (day, state), opens in zip(list(judged.items()), ctx.period.openings(start_clock)):
                if opens >= life.gone_by:
                    judged[day] = "not_applicable"
                elif life.alive_until and opens > life.alive_until and state == "missed":
                    judged[day] = "unknown"
        if value[0] is None:  # no threshold in force that day: nothing can be kept or missed against it
            return {day: state if state in ("not_applicable", "not_due") else "unknown" for day, state in judged.items()}
        if value[0] < 86400:
            _sub_daily(judged, successes, stops, gap_start, period_end, timedelta(seconds=value[0] + value[1]), ctx)
        elif value[0] > 86400:
            head_days.update(_over_daily(judged, successes, stops, gap_start, period_end,
                                         timedelta(seconds=value[0] + value[1]), ctx, prior, head_open))
        return judged

    # thr: each day against the interval and window of the configuration its locker stored (checks.days.by_config);
    # frq3: and of the class in force that day (checks.class_days), unless no day has any class (the default daily)
    classes = class_days(facts, ctx, instance.resource, instance.labels)
    # a store whose class never changes is one DayClass (class_days' `constant`): read it without a calendar
    constant = classes.constant
    each = (constant,) if constant is not None else tuple(classes.by_day.values())
    if classification is None and all(c.basis == "none" for c in each):
        classes = None
        plain = _thresholds(classification, ctx)
        resolve: Any = lambda config: (*plain(config), None)  # noqa: E731
    else:
        resolve = _class_thresholds(ctx)
    # one class on every day (the common case): judged as one class, the same days by_config's per-day path gives
    # (checks.class_days.judge of a single class is that class's state), without resolving each day
    held = {c.names for c in each} if classes is not None else set()
    judged_classes, by_threshold = classes, resolve
    if len(held) == 1 and len(next(iter(held))) == 1:
        only = next(iter(held))[0]
        judged_classes, by_threshold = None, (lambda config: resolve(config, only))
    stored = getattr(ctx, "configs", ()) or ()
    if judged_classes is None and len(stored) <= 1:
        # one configuration and one class for the whole period (a single run): by_config's one segment, built directly
        config, locker = (stored[0][2], stored[0][1]) if stored else (ctx.config, None)
        value, days = by_threshold(config), list(ctx.period.days())
        judged = states_for(value)
        states = {day: judged[day] for day in days if day in judged}
        threshold_changes, segments = [(days[0], value, locker)], [(days, value, locker)]
    else:
        states, threshold_changes = daily.by_config(ctx, by_threshold, states_for, judged_classes)
        segments = daily.config_segments(ctx, by_threshold, judged_classes)
    gap_hours, gap_from, gap_to = longest_gap(successes, stops, gap_start, period_end)

    counts = {state: 0 for state in ("succeeded", "missed", "unknown", "stopped", "not_due", "not_applicable")}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1  # "broken": a day with its backup, short of a sub-daily interval
    isos = ctx.period.day_isos
    missed = [d for d, s in states.items() if s == "missed"]
    unknown = [d for d, s in states.items() if s == "unknown"]
    stopped = [d for d, s in states.items() if s == "stopped"]
    broken = [d for d, s in states.items() if s == "broken"]
    within = [d for d, s in states.items() if s == "within"]
    due = counts["succeeded"] + counts["missed"] + counts["unknown"] + len(broken) + len(within)
    # the rules of each stretch of days that had one configuration: a day without a success is missed where the
    # interval is a day or less, or where an interval over a day was passed (frq3: else it is `within`); the
    # longest interval is measured against that stretch's interval plus window
    missed_ruled = missed
    absent = [day for days, value, _ in segments if value[0] is None and (classes is None or value[2] is not None)
              for day in days]
    # hoisted (thousands of attempts), and in UTC like the attempts: the same instants, a cheaper comparison
    first = (ctx.period.starts_at - timedelta(days=1)).astimezone(timezone.utc)
    after = ctx.period.ends_at.astimezone(timezone.utc)
    evidence = list(instance.evidence) + [e for a in attempts if first <= a.window_start < after for e in a.evidence]
    evidence += [e for c in changes for e in c.evidence]

    problems = []
    if missed_ruled:
        problems.append(f"{len(missed_ruled)} of {due} due days had no successful automated backup: {day_ranges(missed_ruled)}")
    if broken:
        problems.append(f"on {len(broken)} days the last successful backup was, at some moment, longer ago than the "
                        f"interval in force plus the backup window: {day_ranges(broken)}")
    for days, value, _ in segments:
        if value[0] is None:
            continue
        low, high = max(gap_start, ctx.period.at(days[0])), min(period_end, ctx.period.at(days[-1] + timedelta(days=1)))
        judged = [states.get(day) for day in days]
        if high <= low or "unknown" in judged or not any(s in ("succeeded", "missed", "broken") for s in judged):
            continue  # unknown days could hide backups; nothing due there
        hours, since, until = longest_gap(successes, stops, low, high) if len(segments) > 1 else (gap_hours, gap_from, gap_to)
        limit = (value[0] + value[1]) / 3600
        if hours > limit:
            problems.append(f"the longest interval without a successful backup was {hours} hours "
                            f"({since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC), over the {limit:g}-hour limit"
                            + (f" in force {day_ranges(days)}" if len(segments) > 1 else ""))
    # frq3: why each unknown day is unknown: its class, its configuration lacking its class, its classes disagreeing,
    # no backup before the period (an interval over a day), or the evidence of its backups
    absent_set = set(absent)
    lacking = sorted({value[2] or classification for days, value, _ in segments if value[0] is None and absent_set.intersection(days)}
                     - {None}) if absent_set else []
    class_unknown = [d for d in unknown if classes is not None and not classes.of(d).names]
    split = _split_days(unknown, classes, ctx, resolve, states_for) if classes is not None else []
    held_out = {*class_unknown, *split}
    head = [d for d in unknown if d in head_days and d not in held_out and d not in absent_set]
    rest = [d for d in unknown if d not in held_out and d not in absent_set and d not in head]

    def log_reason() -> str:
        return log_gap.describe() if log_gap else (
            f"Backup and DR keeps backups {(ctx.as_of - horizon).days} days, so older days' backups have expired, and its "
            "job log is not collected" if horizon else (
                log_gaps_words(facts.history, instance.resource, ctx.period.starts_at, min(ctx.period.ends_at, ctx.as_of))
                or _unlogged_updates(changes, ctx) or "the audit log for the period was not read"))

    lacks = " or ".join(f"{name!r} (policy.classifications.{name})" for name in lacking)
    if problems:
        status = FAIL
        message = f"{instance.display}: " + "; ".join(problems) + "."
        if split:
            message += (f" {day_ranges(split)} could not be judged: its classification changed during the day, and the "
                        "day's backups meet the interval of one of its classes and not the other's.")
    elif unknown and absent and set(unknown) <= set(absent):
        status = INCONCLUSIVE
        message = (f"{instance.display}: {len(unknown)} days could not be judged ({day_ranges(unknown)}) because the "
                   f"configuration in force on them has no classification {lacks}, so no interval applied; "
                   f"{counts['succeeded']} days are backed by retained backup runs.")
    elif unknown and not held_out and not head:
        status = INCONCLUSIVE
        message = (f"{instance.display}: {len(unknown)} days could not be verified ({day_ranges(unknown)}) because {log_reason()}; "
                   f"{counts['succeeded']} days are backed by retained backup runs.")
    elif unknown:
        status = INCONCLUSIVE
        parts = []
        if class_unknown:
            parts.append(f"on {day_ranges(class_unknown)} its classification is unknown ({classes.why(class_unknown)}), and "
                         "no other day's class may stand in for it")
        if split:
            parts.append(f"on {day_ranges(split)} its classification changed during the day, and the day's backups meet the "
                         "interval of one of its classes and not the other's")
        if head:
            first = next((t for t in successes if t >= gap_start), None)
            parts.append(f"on {day_ranges(head)} no successful backup " + (f"before {first:%Y-%m-%d %H:%M} UTC " if first else "")
                         + "is in the evidence, so whether one was made within the interval in force before those days "
                         "cannot be shown")
        if absent_set & set(unknown):
            parts.append(f"on {day_ranges(sorted(absent_set & set(unknown)))} the configuration in force has no classification "
                         f"{lacks}, so no interval applied")
        if rest:
            parts.append(f"on {day_ranges(rest)} {log_reason()}")
        message = (f"{instance.display}: {len(unknown)} days could not be verified ({day_ranges(unknown)}): "
                   + "; ".join(parts) + f"; {counts['succeeded']} days are backed by retained backup runs.")
    elif due == 0:
        created_late = bool(instance.create_time and counts["not_applicable"]
                            and counts["not_applicable"] + counts["not_due"] == len(states))
        status = NOT_APPLICABLE if counts["not_applicable"] == len(states) or created_late else INCONCLUSIVE
        message = f"{instance.display}: no day of the period was due for a backup by {ctx.as_of:%Y-%m-%d %H:%M} UTC."
        if created_late:
            message += (f" It was created on {instance.create_time:%Y-%m-%d %H:%M} UTC, after that day's backup window had "
                        "opened, and its first window has not closed yet.")
    elif within:
        status = PASS
        ranges = day_ranges(within)
        message = (f"{instance.display}: a successful automated backup on {counts['succeeded']} due days, and on the "
                   f"{len(within)} others" + (f" ({ranges})" if ranges.count(",") < 4 else "") + " the last one was no "
                   f"older than the interval in force plus the backup window; longest interval {gap_hours} hours.")
    else:
        status = PASS
        message = f"{instance.display}: a successful automated backup on each of {counts['succeeded']} due days; longest interval {gap_hours} hours."
    if stopped:
        message += f" The instance was stopped on {len(stopped)} days ({day_ranges(stopped)}); no backup was due while it was stopped."
    if classification is None:
        message += " No data classification found; the default daily interval was applied."
    message += deletion_note(facts, instance, ctx)
    changed = classes is not None and classes.changed
    if changed:  # frq3: each stretch's interval named by the class whose threshold it is
        message += " " + classes.words()
        class_note, thresholds = _class_threshold_words(segments)
        window_note, windows = daily.thresholds_changed([(d, (v[1],), lk) for d, v, lk in threshold_changes],
                                                        [("policy.backup_window", _hours, lambda v: v / 3600)])
        threshold_note, thresholds = " ".join(w for w in (class_note, window_note) if w), thresholds + windows
    else:
        threshold_note, thresholds = daily.thresholds_changed(
            threshold_changes, [(f"policy.classifications.{classification}.backup_interval", _hours, lambda v: v / 3600),
                                ("policy.backup_window", _hours, lambda v: v / 3600)],
            missing=f"classification {classification!r} (policy.classifications.{classification})" if classification else None)
    if threshold_note:
        message += f" {threshold_note}"
    day_evidence = _day_evidence(attempts, ctx)
    covering = _covering(within, attempts, ctx, period_end) if within else {}
    for iso, attempt in covering.items():
        day_evidence[iso] = sorted({*day_evidence.get(iso, ()), *attempt.evidence})
        evidence += [e for e in attempt.evidence if e not in evidence]
    if covering:
        day_evidence = dict(sorted(day_evidence.items()))

    return Finding(
        check=ID, resource=instance.resource, rule="daily", status=status, message=message,
        observed={"missed_days": len(missed), "unknown_days": len(unknown), "stopped_days": len(stopped),
                  "longest_gap_hours": gap_hours, "backup_enabled": instance.backup_enabled},
        expected={"interval_hours": interval.total_seconds() / 3600, "tolerance_hours": tolerance.total_seconds() / 3600,
                  "classification": classification},
        details={
            "days": {isos[d]: _SHARED.get(s, s) for d, s in states.items()},
            "missed_days": [d.isoformat() for d in missed],
            "exception_days": [d.isoformat() for d in sorted({*missed_ruled, *broken})],
            **({"broken_days": [d.isoformat() for d in broken]} if broken else {}),
            **({"thresholds": thresholds} if thresholds else {}),
            "unknown_days": [d.isoformat() for d in unknown],
            "stopped_days": [d.isoformat() for d in stopped],
            "longest_gap_hours": gap_hours,
            "longest_gap": {"from": gap_from.isoformat() if gap_from else None, "to": gap_to.isoformat() if gap_to else None},
            "coverage": counts,
            "sources": sorted({a.source for a in attempts}),
            "day_evidence": day_evidence,
            # frq3: a `within` day's own evidence is the success that keeps it (joined to the day's own entries)
            **({"day_entries": {iso: [a.key] for iso, a in covering.items()}, "day_evidence_joins": True} if covering else {}),
            **({"classifications": classes.details()} if changed else {}),
            **({"unverified": unverified(log_gap)} if status == INCONCLUSIVE and unknown and log_gap else {}),
            **({"unverified": [incomplete_data(f"{instance.display}: Backup and DR backups made before {horizon:%Y-%m-%d %H:%M} "
                                               "UTC have expired; no other collected source shows those days")]}
               if status == INCONCLUSIVE and unknown and not log_gap and horizon else {}),
        },
        evidence=evidence,
    )


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Automated backups succeed every day of the period",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each Cloud SQL primary and each day of the audit period, inspects the automated-backup outcomes in the "
                "Cloud Logging system-event audit log (cloudsql.instances.automatedBackup, windowStatus) together with the "
                "retained backup runs (Cloud SQL Admin backupRuns.list), and the stop/start history from the admin-activity log. "
                "Instances whose backups Backup and DR manages (backupTier ENHANCED) are judged from their Backup and DR backups "
                "(dataSources.backups.list consistencyTime) against the plan's daily window.",
    needs=("sql_instances", "backup_windows", "backup_runs", "activation_changes", "history", "sql_stores", "backup_copies", "backupdr",
           "final_snapshots", "config_changes", "inventory_days"),
    evaluate=evaluate,
)
