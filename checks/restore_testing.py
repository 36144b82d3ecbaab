"""restore-testing: the backups were actually restored, as often as each classification requires.

Beyond the written policy: the Backup Policy does not promise restore tests, but SOC 2 A1.3
(recovery plan testing) asks for them, and a backup never restored is a backup nobody knows works.
Evidence: Cloud SQL Admin operations of type RESTORE_VOLUME (a backup restored into the instance),
CLONE or CREATE_CLONE (the instance cloned, e.g. to a point in time), finished (DONE) without error.
Rule: on every day of the period up to the evidence date, the most recent successful restore test
is at most the classification's `restore_test_interval` old. Restores into a scratch instance are
recorded against the scratch instance; declare them in the inventory to count them (not yet read).
"""

from __future__ import annotations

from bisect import bisect_right

from datetime import date, timedelta

from auditor.period import day_ranges
from typing import Any

from auditor.checks.common import instances, replica_finding, sql_gaps, unverified
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import SqlInstance
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "restore-testing"
RESTORE_TYPES = ("RESTORE_VOLUME", "CLONE", "CREATE_CLONE")




def uncovered_days(tests: list[date], days: list[date], interval_days: int) -> list[date]:
    """Days on which the latest test before or on that day is missing or older than the interval."""
    ordered = sorted(tests)
    out = []
    for day in days:
        found = bisect_right(ordered, day)  # the latest test on or before the day is the one before it
        latest = ordered[found - 1] if found else None
        if latest is None or (day - latest).days > interval_days:
            out.append(day)
    return out


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings = sql_gaps(facts, ctx, ID, "restore tests")
    for instance in instances(facts):
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "restore-test"))
        else:
            findings.append(_instance_finding(instance, facts.sql_operations.of(instance.resource), ctx))
    return findings


def _instance_finding(instance: SqlInstance, read: Known | Unknown, ctx: CheckContext) -> Finding:
    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    interval = policy.restore_test_interval if policy else None
    base = dict(check=ID, resource=instance.resource, rule="restore-test")
    if policy is None:
        return Finding(**base, status=INCONCLUSIVE,
                       message=f"{instance.display}: the data has no classification (neither declared in the data map nor "
                               "labelled), so how often it must be restore-tested cannot be judged.",
                       expected={"classification": None}, evidence=list(instance.evidence))
    if interval is None:
        return Finding(**base, status=NOT_APPLICABLE,
                       message=f"{instance.display}: the {classification or 'unclassified'} classification sets no restore-test interval.",
                       expected={"classification": classification}, evidence=list(instance.evidence))
    interval_days = max(1, round(interval.total_seconds() / 86400))
    ops = read.items if isinstance(read, Known) else ()
    restores = [o for o in ops if o.operation_type in RESTORE_TYPES and o.started and o.started <= ctx.as_of]
    good = sorted((o for o in restores if o.status == "DONE" and not o.error), key=lambda o: o.started)
    failed = [o for o in restores if o.error]
    days = [d for d, start in zip(ctx.period.days(), ctx.period.day_starts) if start <= ctx.as_of]
    gaps = uncovered_days([ctx.period.day_of(o.started) for o in good], days, interval_days)
    observed = {"restore_tests": [{"type": o.operation_type, "started": o.started.isoformat(), "user": o.user} for o in good],
                "failed_restores": [{"type": o.operation_type, "started": o.started.isoformat(), "error": o.error} for o in failed]}
    expected = {"classification": classification, "restore_test_interval_days": interval_days}
    evidence = list(instance.evidence) + [e for o in restores for e in o.evidence]
    in_period = [o for o in good if ctx.period.starts_at <= o.started < ctx.period.ends_at]
    failed_note = (f" {len(failed)} restore or clone operations failed ("
                   + ", ".join(f"{o.operation_type} on {o.started:%Y-%m-%d}: {o.error}" for o in failed) + ") and do not count.") if failed else ""

    if isinstance(read, Unknown):
        return Finding(**base, status=INCONCLUSIVE,
                       message=f"{instance.display}: restore tests could not be verified: {read.describe()}.",
                       observed=observed, expected=expected,
                       details={"call": read.first.call_id, "unverified": unverified(read)}, evidence=evidence)
    if gaps:
        last = good[-1].started.strftime("%Y-%m-%d") if good else None
        message = (f"{instance.display}: its {classification} data must be restore-tested at least every {interval_days} days, "
                   f"but {len(gaps)} days of the period had no successful restore or clone in the preceding {interval_days} days "
                   f"({day_ranges(gaps)}); " + (f"the last successful test was on {last}." if last else "no restore test was found.")
                   + failed_note)
        status = FAIL
    else:
        status = PASS
        message = (f"{instance.display}: restore tested at least every {interval_days} days throughout the period "
                   f"({len(in_period)} in the period; tests on "
                   + ", ".join(f"{o.started:%Y-%m-%d} ({o.operation_type})" for o in good) + ")." + failed_note)
    message += " This control goes beyond the written Backup Policy, which does not promise restore tests."
    return Finding(**base, status=status, message=message, observed=observed, expected=expected,
                   details={"uncovered_days": [d.isoformat() for d in gaps], "tests_in_period": len(in_period),
                            **_days_since(good, gaps, ctx)},
                   evidence=evidence)


def _days_since(good: list[Any], gaps: list[date], ctx: CheckContext) -> dict[str, Any]:
    """Each day of the period: `broken` when no successful test lies within the interval before it, else
    `kept` (`not_due` after the evidence date), with the days since the last successful test that day."""
    tested = sorted(ctx.period.day_of(o.started) for o in good)
    broken = set(gaps)
    states, since = {}, {}
    for day, start in zip(ctx.period.days(), ctx.period.day_starts):
        iso = ctx.period.day_isos[day]
        if start > ctx.as_of:
            states[iso] = "not_due"
            continue
        found = bisect_right(tested, day)
        since[iso] = (day - tested[found - 1]).days if found else None
        states[iso] = "broken" if day in broken else "kept"
    return {"days": states, "days_since_test": since}


CHECK = Check(
    id=ID,
    frequency="quarterly",
    title="Backups are restore-tested as often as the data's classification requires",
    criteria=("A1.3",),
    policy_clause="Not promised by the written Backup Policy; SOC 2 A1.3 expects recovery to be tested.",
    description="Beyond the written policy. For each Cloud SQL primary, lists its Cloud SQL Admin operations "
                "(operations.list) and takes each RESTORE_VOLUME, CLONE or CREATE_CLONE that finished without error as a "
                "restore test; every day of the period must have one within the classification's restore_test_interval.",
    needs=("sql_instances", "sql_operations", "stores"),
    evaluate=evaluate,
    beyond_policy=True,
)
