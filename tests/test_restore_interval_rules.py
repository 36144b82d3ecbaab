"""restore-testing's day rule on facts built by hand: the interval in force each day, and a population that changes.

The period is July 2026, every day judged (evidence date Aug 1 12:00). Each stored configuration is a
locker's: (its time, its id, the Config); a day takes the one of the newest locker made by that day, the
days before the first locker the first one's (checks.days.config_segments). Expected days are written by
hand from the times in each test. The reader test uses operations transcribed from the Cloud SQL Admin
reference (Operation: insertTime/startTime/endTime, `error` OperationErrors {kind, errors[{kind, code,
message}]}, `backupContext` BackupContext {backupId, kind, and in v1 also name}).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from testkit import days_between

from auditor.checks import restore_testing
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.controls import SqlOperation
from auditor.facts.model import SqlInstance, sql_resource
from auditor.facts.sources.sql_operations import read
from auditor.period import Period

UTC = timezone.utc
DB = sql_resource("p", "orders-pg")
AS_OF = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 7, 1), date(2026, 7, 31))
KEY = "policy.classifications.restricted.restore_test_interval"
INSTANCE = SqlInstance(resource=DB, project="p", name="orders-pg", region="us-east1", database_version="POSTGRES_16",
                       state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                       labels={"data-classification": "restricted"}, create_time=datetime(2025, 1, 1, tzinfo=UTC),
                       backup_enabled=True, backup_start_time=None, backup_location="us-west1", pitr_enabled=True,
                       log_retention_days=7, retained_backups=30, backup_tier=None, kms_key=None, master=None,
                       evidence=("e-inst",), observed_at=AS_OF)


def config(classes: dict) -> Config:
    return Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-31"},
                                  "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                  "policy": {"classifications": classes}})


def restored(*days: int) -> list[SqlOperation]:
    """RESTORE_VOLUME operations that finished, at 10:00 on each day (negative: days of June, counted back from Jul 1)."""
    out = []
    for n in days:
        start = datetime(2026, 7, n, 10, 0, tzinfo=UTC) if n > 0 else datetime(2026, 6, 30 + n, 10, 0, tzinfo=UTC)
        out.append(SqlOperation(name=f"op-{n}", project="p", instance=DB, operation_type="RESTORE_VOLUME", status="DONE",
                                started=start, ended=start.replace(minute=20), error=None, user="dba", evidence=(f"e-op{n}",)))
    return out


def judge(ops: list[SqlOperation], stored: list[tuple[datetime, str, Config]], instance: SqlInstance = INSTANCE):
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [instance], "sql_operations": ops, "sql_clones": []},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "operations.list", "projects/p/instances/orders-pg"),
                               ("logging", "entries.list", "projects/p")])
    ctx = CheckContext(config=stored[-1][2], period=PERIOD, as_of=AS_OF, configs=tuple(stored))
    (finding,) = [f for f in restore_testing.evaluate(facts, ctx) if f.resource == DB]
    return finding


def at(day: int) -> datetime:
    return datetime(2026, 7, day, 6, 0, tzinfo=UTC)


def states(finding, state: str) -> list[str]:
    return [d for d, s in finding.details["days"].items() if s == state]


TEN = {"restricted": {"restore_test_interval": "10d"}}
NONE = {"restricted": {}}
ABSENT = {"internal": {}}


def test_a_day_whose_configuration_lacks_the_classification_is_unknown_even_with_a_test():
    """Lockers Jul 1 (no restricted class at all) and Jul 16 (restricted, 10 days). Tests Jun 28, Jul 10, Jul 20,
    Jul 30: every day has one within 10 days, but Jul 1..15's configuration does not say what restricted data
    required, so those days are unknown, never kept; Jul 16..31 are kept."""
    finding = judge(restored(-2, 10, 20, 30), [(at(1), "L-1", config(ABSENT)), (at(16), "L-2", config(TEN))])
    assert finding.status == "inconclusive", finding.message
    assert finding.details["unknown_days"] == days_between("2026-07-01", "2026-07-15")
    assert states(finding, "kept") == days_between("2026-07-16", "2026-07-31")
    assert "has no restricted classification" in finding.message
    assert [(c["from"], c["locker"], c["restore_test_interval_days"], c["classification_configured"])
            for c in finding.details["thresholds"]] == [("2026-07-01", "L-1", None, False), ("2026-07-16", "L-2", 10, True)]
    assert KEY in finding.message and "absent" in finding.message and "L-2" in finding.message
    assert any("no restricted classification" in u["message"] for u in finding.details["unverified"])


def test_an_interval_dropped_later_leaves_those_days_not_applicable_and_the_earlier_ones_judged():
    """Lockers Jul 1 (10 days) and Jul 16 (restricted sets no interval). The Jun 28 test covers to Jul 8:
    Jul 9..15 are exceptions; Jul 16..31 required no test (not applicable, said so)."""
    finding = judge(restored(-2), [(at(1), "L-1", config(TEN)), (at(16), "L-2", config(NONE))])
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == days_between("2026-07-09", "2026-07-15")
    assert states(finding, "not_applicable") == days_between("2026-07-16", "2026-07-31")
    assert "On 16 days (2026-07-16..2026-07-31) the configuration in force set no " + KEY in finding.message
    assert "10 days until 2026-07-15, not set from 2026-07-16" in finding.message


def test_an_interval_set_only_later_judges_only_the_days_it_is_in_force():
    """Lockers Jul 1 (no interval) and Jul 16 (10 days); one test on Jul 12 covers Jul 16..22; Jul 23..31 fail."""
    finding = judge(restored(12), [(at(1), "L-1", config(NONE)), (at(16), "L-2", config(TEN))])
    assert finding.status == "fail"
    assert states(finding, "not_applicable") == days_between("2026-07-01", "2026-07-15")
    assert states(finding, "kept") == days_between("2026-07-16", "2026-07-22")
    assert finding.details["exception_days"] == days_between("2026-07-23", "2026-07-31")


def test_no_interval_on_any_day_is_not_applicable_with_its_reason_as_before():
    finding = judge(restored(), [(at(1), "L-1", config(NONE)), (at(16), "L-2", config(NONE))])
    assert finding.status == "not_applicable"
    assert finding.message == "p/orders-pg: the restricted classification sets no restore-test interval."
    assert KEY in finding.not_applicable_reason


def test_one_configuration_judges_every_day_by_it_and_names_no_change():
    """One locker (a single run): Jun 28 and Jul 12 with 10 days: Jul 9..11 and Jul 23..31 are exceptions."""
    finding = judge(restored(-2, 12), [(at(31), "L-1", config(TEN))])
    assert finding.details["exception_days"] == days_between("2026-07-09", "2026-07-11") + days_between("2026-07-23", "2026-07-31")
    assert "thresholds" not in finding.details and KEY not in finding.message
    assert "at least every 10 days" in finding.message


def test_an_instance_created_mid_period_owes_its_first_test_by_its_creation_plus_the_interval():
    """Created Jul 5 09:00, 10 days, no test: Jul 1..4 it did not exist, Jul 5..15 not yet due (Jul 5 + 10),
    Jul 16..31 are exceptions. Judged by the old rule every day would have failed, the days before it existed too."""
    made = replace(INSTANCE, create_time=datetime(2026, 7, 5, 9, 0, tzinfo=UTC))
    finding = judge([], [(at(31), "L-1", config(TEN))], made)
    assert finding.status == "fail"
    assert finding.details["exception_days"] == days_between("2026-07-16", "2026-07-31")
    assert states(finding, "not_applicable") == days_between("2026-07-01", "2026-07-15")
    assert "owed from 2026-07-16" in finding.message


def test_an_instance_created_too_late_to_owe_a_test_is_not_applicable():
    """Created Jul 25: its first test is due by Aug 4, after the period."""
    made = replace(INSTANCE, create_time=datetime(2026, 7, 25, 9, 0, tzinfo=UTC))
    finding = judge([], [(at(31), "L-1", config(TEN))], made)
    assert finding.status == "not_applicable", finding.message
    assert set(finding.details["days"].values()) == {"not_applicable"}
    assert "by 2026-08-04" in finding.message and finding.not_applicable_reason


def test_a_test_on_the_creation_day_counts_from_that_day():
    made = replace(INSTANCE, create_time=datetime(2026, 7, 5, 9, 0, tzinfo=UTC))
    finding = judge(restored(5, 15, 25), [(at(31), "L-1", config(TEN))], made)
    assert finding.status == "pass", finding.message
    assert states(finding, "kept") == days_between("2026-07-05", "2026-07-31")


def test_operations_transcribed_from_the_reference_are_read_with_their_errors_and_backups():
    newer = {"kind": "sql#operation", "targetLink": "https://sqladmin.googleapis.com/v1/projects/p/instances/orders-pg",
             "status": "DONE", "user": "dba@example.com", "insertTime": "2026-07-03T09:59:58.094Z",
             "startTime": "2026-07-03T10:00:00.045Z", "endTime": "2026-07-03T10:21:07Z", "operationType": "RESTORE_VOLUME",
             "backupContext": {"kind": "sql#backupContext", "backupId": "1751500000000",
                               "name": "projects/p/backups/1751500000000"},
             "apiWarning": {"code": "REGION_UNREACHABLE", "message": "one region did not answer", "region": "us-east4"},
             "name": "d5b8c2a7-1f3e-4a6b-9c0d-7e8f9a0b1c2d", "targetId": "orders-pg",
             "selfLink": "https://sqladmin.googleapis.com/v1/projects/p/operations/d5b8c2a7-1f3e-4a6b-9c0d-7e8f9a0b1c2d",
             "targetProject": "p"}
    older_failed = {"kind": "sql#operation", "status": "DONE", "user": "dba@example.com",
                    "insertTime": "2026-07-10T10:00:00Z", "startTime": "2026-07-10T10:00:01Z", "endTime": "2026-07-10T10:05:00Z",
                    "operationType": "RESTORE_VOLUME", "backupContext": {"kind": "sql#backupContext", "backupId": "1752100000000"},
                    "error": {"kind": "sql#operationErrors", "errors": [
                        {"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": "An internal error has occurred."}]},
                    "name": "a1b2", "targetId": "orders-pg", "targetProject": "p"}
    pending = {"kind": "sql#operation", "status": "PENDING", "insertTime": "2026-07-20T10:00:00Z", "operationType": "CLONE",
               "name": "c3d4", "targetId": "orders-pg"}  # not started yet: only the time it was enqueued
    emitted = []
    read({"api": "sqladmin", "method": "operations.list", "params": {"project": "p", "instance": "orders-pg"},
          "scope": "projects/p/instances/orders-pg"}, {"kind": "sql#operationsList", "items": [newer, older_failed, pending]},
         "page-1", lambda fact, item, at=None: emitted.append(item))
    by_name = {o.name: o for o in emitted}
    done = by_name[newer["name"]]
    assert (done.instance, done.operation_type, done.status, done.backup_id, done.error) == (DB, "RESTORE_VOLUME", "DONE", "1751500000000", None)
    assert done.started == datetime(2026, 7, 3, 10, 0, 0, 45000, tzinfo=UTC) and done.ended == datetime(2026, 7, 3, 10, 21, 7, tzinfo=UTC)
    failed = by_name["a1b2"]
    assert failed.error == "An internal error has occurred." and failed.backup_id == "1752100000000"
    waiting = by_name["c3d4"]
    assert waiting.started == datetime(2026, 7, 20, 10, 0, tzinfo=UTC) and waiting.ended is None and waiting.status == "PENDING"
    assert waiting.project == "p" and waiting.evidence == ("page-1",)
    # judged: the failed restore does not count; the clone is not a restore from a backup
    finding = judge(emitted, [(at(31), "L-1", config(TEN))])
    assert [t["started"][:10] for t in finding.observed["restore_tests"]] == ["2026-07-03"]
    assert finding.observed["failed_restores"][0]["error"] == "An internal error has occurred."
    # Jul 1..2: no success in the 10 days before (the only one is Jul 3, covering Jul 3..13); Jul 14..31 neither
    assert finding.details["exception_days"] == days_between("2026-07-01", "2026-07-02") + days_between("2026-07-14", "2026-07-31")


def test_an_instance_a_later_complete_listing_no_longer_shows_is_unknown_between_and_not_applicable_after():
    """Read Jul 10 06:00, absent from the complete listing of Jul 20 06:00, no deletion recorded. The Jun 28 test
    covers to Jul 8 (10 days): Jul 9 and Jul 10 (it was read that day) are exceptions; from Jul 11 to the listing
    (Jul 20 06:00, so Jul 20 too, which began before it) it may already have been gone, so those days are unknown,
    not failed; the days that begin after the listing (Jul 21..31) it did not exist."""
    seen = replace(INSTANCE, observed_at=datetime(2026, 7, 10, 6, 0, tzinfo=UTC))
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [seen], "sql_operations": restored(-2), "sql_clones": [],
                                          "instance_listings": [("projects/p", datetime(2026, 7, 20, 6, 0, tzinfo=UTC))]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "operations.list", "projects/p/instances/orders-pg"),
                               ("logging", "entries.list", "projects/p")])
    ctx = CheckContext(config=config(TEN), period=PERIOD, as_of=AS_OF)
    (finding,) = [f for f in restore_testing.evaluate(facts, ctx) if f.resource == DB]
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == ["2026-07-09", "2026-07-10"]
    assert finding.details["unknown_days"] == days_between("2026-07-11", "2026-07-20")
    assert states(finding, "not_applicable") == days_between("2026-07-21", "2026-07-31")
    assert "last seen 2026-07-10 06:00 UTC" in finding.message
