"""backup-frequency day states and gaps, on facts built by hand (the check is a pure function)."""

from datetime import date, datetime, time, timedelta, timezone

import pytest

from auditor.checks import backup_frequency
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.model import ActivationChange, BackupAttempt, CallGap, Facts, LogSpan, SqlInstance, sql_resource
from auditor.period import Period

UTC = timezone.utc
PERIOD = Period(date(2026, 7, 1), date(2026, 7, 10))


def make_config() -> Config:
    return Config.model_validate({
        "organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"classifications": {"restricted": {"backup_interval": "24h"}, "public": {"backup_interval": "7d"}}},
    })


def instance(name="db", start="03:00", labels=None, created=datetime(2025, 1, 1, tzinfo=UTC), policy="ALWAYS") -> SqlInstance:
    hh, mm = map(int, start.split(":"))
    return SqlInstance(resource=sql_resource("p", name), project="p", name=name, region="us-east1", database_version="POSTGRES_16",
                       state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy=policy,
                       labels=labels or {"data-classification": "restricted"}, create_time=created, backup_enabled=True,
                       backup_start_time=time(hh, mm, tzinfo=UTC), backup_location="us-west1", pitr_enabled=True,
                       log_retention_days=7, retained_backups=30, backup_tier=None, kms_key=None, master=None, evidence=("e-inst",))


def attempt(day: date, outcome="succeeded", hour=3, source="audit-log", key=None) -> BackupAttempt:
    window = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)
    return BackupAttempt(sql_resource("p", "db"), window, outcome, source, outcome.upper(), window + timedelta(minutes=30),
                         key or f"{source}:{day}:{outcome}", ("e-x",))


def facts_for(inst, attempts, changes=(), as_of=datetime(2026, 7, 11, 12, 0, tzinfo=UTC), log_read=True,
              listed=True, extra=(), covered_from=datetime(2026, 6, 30, tzinfo=UTC)) -> Facts:
    answered = [("sqladmin", "backupRuns.list", "projects/p")]
    gaps = []
    if listed:
        answered.append(("sqladmin", "instances.list", "projects/p"))
    else:
        gaps.append(CallGap("sqladmin", "instances.list", "projects/p", "permission_denied", "IAM_PERMISSION_DENIED", "no", 403, "c-2"))
    if log_read:
        answered.append(("logging", "entries.list", "projects/p"))
    else:
        gaps.append(CallGap("logging", "entries.list", "projects/p", "service_disabled", "SERVICE_DISABLED", "off", 403, "c-1"))
    windows = [a for a in attempts if a.source == "audit-log"]
    runs = [a for a in attempts if a.source == "backup-run"]
    # the answered query's span: from the period's start (less a day) to the read, unless a test says otherwise
    coverage = [LogSpan("projects/p", covered_from, as_of, "c-log")] if log_read else []
    return assemble(as_of, ["p"], items={"sql_instances": [inst, *extra] if listed else [], "backup_windows": windows,
                                         "backup_runs": runs, "activation_changes": list(changes), "log_coverage": coverage},
                    answered=answered, gaps=gaps)


def run(facts):
    ctx = CheckContext(config=make_config(), period=PERIOD, as_of=facts.as_of)
    (finding,) = [f for f in backup_frequency.evaluate(facts, ctx)]
    return finding


def days(start=1, end=10):
    return [date(2026, 7, d) for d in range(start, end + 1)]


def test_every_day_succeeded_passes():
    finding = run(facts_for(instance(), [attempt(d) for d in days()]))
    assert finding.status == "pass"
    assert set(finding.details["days"].values()) == {"kept"}
    assert finding.details["longest_gap_hours"] <= 28


def test_first_and_last_day_missing_are_named():
    finding = run(facts_for(instance(), [attempt(d) for d in days(2, 9)]))
    assert finding.status == "fail"
    assert finding.details["missed_days"] == ["2026-07-01", "2026-07-10"]
    assert "2026-07-01" in finding.message and "2026-07-10" in finding.message


def test_day_after_as_of_is_not_due_and_not_a_failure():
    as_of = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)  # before the 10th's 03:00 window opened
    finding = run(facts_for(instance(), [attempt(d) for d in days(1, 9)], as_of=as_of))
    assert finding.details["days"]["2026-07-10"] == "not_due"
    assert finding.status == "pass"


def test_window_still_open_is_not_due_but_closed_window_is_missed():
    open_window = datetime(2026, 7, 10, 6, 0, tzinfo=UTC)  # 03:00 + 4h window not over
    assert run(facts_for(instance(), [attempt(d) for d in days(1, 9)], as_of=open_window)).details["days"]["2026-07-10"] == "not_due"
    closed = datetime(2026, 7, 10, 7, 30, tzinfo=UTC)
    assert run(facts_for(instance(), [attempt(d) for d in days(1, 9)], as_of=closed)).details["days"]["2026-07-10"] == "broken"


def test_window_crossing_midnight_counts_for_the_day_it_started():
    inst = instance(start="23:00")
    attempts = [attempt(d, hour=23) for d in days() if d != date(2026, 7, 5)]
    finding = run(facts_for(inst, attempts))
    assert finding.details["days"]["2026-07-05"] == "broken"
    assert finding.details["days"]["2026-07-06"] == "kept"
    assert finding.details["longest_gap_hours"] == pytest.approx(48.0, abs=0.1)


@pytest.mark.parametrize("outcome", ["skipped", "failed", "attempt_failed"])
def test_unsuccessful_window_is_missed(outcome):
    attempts = [attempt(d) for d in days() if d != date(2026, 7, 4)] + [attempt(date(2026, 7, 4), outcome)]
    finding = run(facts_for(instance(), attempts))
    assert finding.status == "fail" and finding.details["missed_days"] == ["2026-07-04"]


def test_attempt_failed_then_success_is_succeeded():
    attempts = [attempt(d) for d in days()] + [attempt(date(2026, 7, 4), "attempt_failed", hour=3, key="retry")]
    assert run(facts_for(instance(), attempts)).status == "pass"


def test_unreadable_log_makes_days_unknown_but_retained_runs_still_count():
    runs = [attempt(d, source="backup-run") for d in days(8, 10)]
    finding = run(facts_for(instance(), runs, log_read=False))
    assert finding.status == "inconclusive"
    assert finding.details["unknown_days"] == [f"2026-07-0{d}" for d in range(1, 8)]
    assert finding.details["days"]["2026-07-09"] == "kept"
    assert "SERVICE_DISABLED" in finding.message


def test_gap_in_unreadable_period_still_fails_when_known_days_missed():
    # a readable log with nothing for the instance is not "unknown": the days are missed
    finding = run(facts_for(instance(), []))
    assert finding.status == "fail" and len(finding.details["missed_days"]) == 10


def test_stopped_days_are_reported_not_failed():
    changes = [ActivationChange(sql_resource("p", "db"), datetime(2026, 7, 3, 9, tzinfo=UTC), "NEVER", "a", ("e-a",)),
               ActivationChange(sql_resource("p", "db"), datetime(2026, 7, 6, 9, tzinfo=UTC), "ALWAYS", "b", ("e-b",))]
    attempts = [attempt(d) for d in days() if d not in (date(2026, 7, 4), date(2026, 7, 5), date(2026, 7, 6))]
    finding = run(facts_for(instance(), attempts, changes))
    assert finding.details["stopped_days"] == ["2026-07-04", "2026-07-05", "2026-07-06"]
    assert finding.status == "pass"  # time stopped does not count towards the longest gap
    assert "stopped on 3 days (2026-07-04..2026-07-06)" in finding.message


def test_instance_created_mid_period():
    inst = instance(created=datetime(2026, 7, 5, 12, tzinfo=UTC))
    finding = run(facts_for(inst, [attempt(d) for d in days(5, 10)]))
    assert finding.details["days"]["2026-07-04"] == "not_applicable"
    assert finding.status == "pass"


def test_weekly_interval_uses_the_gap_rule_only():
    inst = instance(labels={"data-classification": "public"})
    weekly = [attempt(date(2026, 7, 1)), attempt(date(2026, 7, 7))]
    assert run(facts_for(inst, weekly)).status == "pass"
    sparse = [attempt(date(2026, 7, 1))]
    assert run(facts_for(inst, sparse, as_of=datetime(2026, 7, 11, 12, tzinfo=UTC))).status == "fail"


def test_replica_is_not_applicable():
    replica = SqlInstance(**{**instance().__dict__, "instance_type": "READ_REPLICA_INSTANCE", "master": "db", "name": "r",
                             "resource": sql_resource("p", "r")})
    facts = facts_for(instance(), [attempt(d) for d in days()], extra=[replica])
    ctx = CheckContext(config=make_config(), period=PERIOD, as_of=facts.as_of)
    statuses = {f.resource: f.status for f in backup_frequency.evaluate(facts, ctx)}
    assert statuses[sql_resource("p", "r")] == "not_applicable"


def test_unlisted_project_is_inconclusive_not_silent():
    facts = facts_for(instance(), [], listed=False)
    ctx = CheckContext(config=make_config(), period=PERIOD, as_of=facts.as_of)
    (finding,) = backup_frequency.evaluate(facts, ctx)
    assert finding.status == "inconclusive" and "IAM_PERMISSION_DENIED" in finding.message


def test_backup_finishing_after_midnight_belongs_to_the_window_day_only():
    inst = instance(start="23:00")
    late = BackupAttempt(sql_resource("p", "db"), datetime(2026, 7, 5, 23, 0, tzinfo=UTC), "succeeded", "audit-log",
                         "STATUS_SUCCEEDED", datetime(2026, 7, 6, 1, 15, tzinfo=UTC), "late", ("e-l",))
    attempts = [attempt(d, hour=23) for d in days() if d not in (date(2026, 7, 5), date(2026, 7, 6))] + [late]
    finding = run(facts_for(inst, attempts))
    assert finding.details["days"]["2026-07-05"] == "kept"
    assert finding.details["days"]["2026-07-06"] == "broken"
    assert finding.details["missed_days"] == ["2026-07-06"]
