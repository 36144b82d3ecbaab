"""backup-frequency: every day of the audit period has a successful automated backup.

Each day gets a state from the audit log and the retained backup runs together:
  succeeded      a window that started that day ended in a successful backup
  missed         no success (a failed or skipped window, or no window at all)
  unknown        no success seen, and the evidence for that day could not be read
  stopped        the instance was stopped when that day's window opened
  not_due        the day's window had not closed by the evidence's as-of time
  not_applicable the instance did not exist yet
Besides the per-day rule, the longest interval between successful backups is measured against the
policy's interval plus the backup window (Cloud SQL may start a backup anywhere in its 4 hours).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from auditor.period import day_ranges
from auditor.checks.days import log_gaps_words
from auditor.checks.common import deleted_instances, deleted_unseen, deletion_note, instances, replica_finding, sql_gaps, unverified
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import ActivationChange, BackupAttempt, SqlInstance
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding
from auditor.unverified import incomplete_data

ID = "backup-frequency"
MIDNIGHT_UTC = time(0, 0, tzinfo=timezone.utc)
#: a window's outcome in the shared day vocabulary (auditor.results.DAY_STATES): the words stay in the message
_SHARED = {"succeeded": "kept", "missed": "broken"}


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

    for i, event in enumerate(events):
        t = times[i]
        nxt = times[i + 1] if i + 1 < len(events) else max(end_ts, t)
        span = next(((lo, hi) for lo, hi in timeline.covered if lo <= t <= hi), None)
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
                                           key=lambda a: (a.window_start, a.key))
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
    states = day_states(instance, attempts, stops, ctx, log_readable, window, covered, unsure)
    if horizon is not None:
        for (day, state), opens in zip(list(states.items()), ctx.period.openings(instance.backup_start_time or MIDNIGHT_UTC)):
            if state == "missed" and opens < horizon:
                states[day] = "unknown"  # its backup, if it was made, has expired from Backup and DR
    if life.gone_by:  # deleted mid-period: in the population for the days it existed, not after
        start_clock = instance.backup_start_time or MIDNIGHT_UTC
        for (day, state), opens in zip(list(states.items()), ctx.period.openings(start_clock)):
            if opens >= life.gone_by:
                states[day] = "not_applicable"
            elif life.alive_until and opens > life.alive_until and state == "missed":
                states[day] = "unknown"

    successes = sorted(a.backup_time or a.window_start for a in attempts if a.outcome == "succeeded")
    gap_start = max(ctx.period.starts_at, instance.create_time) if instance.create_time else ctx.period.starts_at
    gap_hours, gap_from, gap_to = longest_gap(successes, stops, gap_start, period_end)

    counts = {state: 0 for state in ("succeeded", "missed", "unknown", "stopped", "not_due", "not_applicable")}
    for state in states.values():
        counts[state] += 1
    isos = ctx.period.day_isos
    missed = [d for d, s in states.items() if s == "missed"]
    unknown = [d for d, s in states.items() if s == "unknown"]
    stopped = [d for d, s in states.items() if s == "stopped"]
    due = counts["succeeded"] + counts["missed"] + counts["unknown"]
    per_day_rule = interval <= timedelta(hours=24)
    gap_limit = (interval + tolerance).total_seconds() / 3600
    # hoisted (thousands of attempts), and in UTC like the attempts: the same instants, a cheaper comparison
    first = (ctx.period.starts_at - timedelta(days=1)).astimezone(timezone.utc)
    after = ctx.period.ends_at.astimezone(timezone.utc)
    evidence = list(instance.evidence) + [e for a in attempts if first <= a.window_start < after for e in a.evidence]
    evidence += [e for c in changes for e in c.evidence]

    problems = []
    if per_day_rule and missed:
        problems.append(f"{len(missed)} of {due} due days had no successful automated backup: {day_ranges(missed)}")
    if gap_hours > gap_limit and due and not unknown:  # unknown days could hide backups
        problems.append(f"the longest interval without a successful backup was {gap_hours} hours "
                        f"({gap_from:%Y-%m-%d %H:%M} to {gap_to:%Y-%m-%d %H:%M} UTC), over the {gap_limit:g}-hour limit")
    if problems:
        status = FAIL
        message = f"{instance.display}: " + "; ".join(problems) + "."
    elif unknown:
        status = INCONCLUSIVE
        reason = log_gap.describe() if log_gap else (
            f"Backup and DR keeps backups {(ctx.as_of - horizon).days} days, so older days' backups have expired, and its "
            "job log is not collected" if horizon else (
                log_gaps_words(facts.history, instance.resource, ctx.period.starts_at, min(ctx.period.ends_at, ctx.as_of))
                or _unlogged_updates(changes, ctx) or "the audit log for the period was not read"))
        message = (f"{instance.display}: {len(unknown)} days could not be verified ({day_ranges(unknown)}) because {reason}; "
                   f"{counts['succeeded']} days are backed by retained backup runs.")
    elif due == 0:
        created_late = bool(instance.create_time and counts["not_applicable"]
                            and counts["not_applicable"] + counts["not_due"] == len(states))
        status = NOT_APPLICABLE if counts["not_applicable"] == len(states) or created_late else INCONCLUSIVE
        message = f"{instance.display}: no day of the period was due for a backup by {ctx.as_of:%Y-%m-%d %H:%M} UTC."
        if created_late:
            message += (f" It was created on {instance.create_time:%Y-%m-%d %H:%M} UTC, after that day's backup window had "
                        "opened, and its first window has not closed yet.")
    else:
        status = PASS
        message = f"{instance.display}: a successful automated backup on each of {counts['succeeded']} due days; longest interval {gap_hours} hours."
    if stopped:
        message += f" The instance was stopped on {len(stopped)} days ({day_ranges(stopped)}); no backup was due while it was stopped."
    if classification is None:
        message += " No data classification found; the default daily interval was applied."
    message += deletion_note(facts, instance, ctx)

    return Finding(
        check=ID, resource=instance.resource, rule="daily", status=status, message=message,
        observed={"missed_days": len(missed), "unknown_days": len(unknown), "stopped_days": len(stopped),
                  "longest_gap_hours": gap_hours, "backup_enabled": instance.backup_enabled},
        expected={"interval_hours": interval.total_seconds() / 3600, "tolerance_hours": tolerance.total_seconds() / 3600,
                  "classification": classification},
        details={
            "days": {isos[d]: _SHARED.get(s, s) for d, s in states.items()},
            "missed_days": [d.isoformat() for d in missed],
            "unknown_days": [d.isoformat() for d in unknown],
            "stopped_days": [d.isoformat() for d in stopped],
            "longest_gap_hours": gap_hours,
            "longest_gap": {"from": gap_from.isoformat() if gap_from else None, "to": gap_to.isoformat() if gap_to else None},
            "coverage": counts,
            "sources": sorted({a.source for a in attempts}),
            "day_evidence": _day_evidence(attempts, ctx),
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
           "final_snapshots", "config_changes"),
    evaluate=evaluate,
)
