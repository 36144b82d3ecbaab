"""Point-in-time clones as restore tests (issue 14), read from the Admin Activity audit log.

The entries are transcribed from the shapes Cloud Logging and the Cloud SQL Admin reference give: a
LogEntry with `operation {id, producer, first|last}` (a long-running method logs a first entry with the
request and a last one with the outcome), `protoPayload` an AuditLog with `methodName`
`cloudsql.instances.clone`, `resourceName` `projects/P/instances/I` and `request.body.cloneContext`
(CloneContext: `destinationInstanceName`, `pointInTime`, `binLogCoordinates {binLogFileName,
binLogPosition}`, `destinationProject`). Expectations are written by hand: a clone to a point in time
restores the store's backup and logs and counts, tied to the store it cloned and the instance it made,
with the minutes between its two entries; a clone of the live data does not count.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from auditor.checks import restore_testing
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.model import CallGap, SqlInstance, sql_resource
from auditor.facts.sources.audit_log import clone_entry, merge_clones, read
from auditor.period import Period

UTC = timezone.utc
DB = sql_resource("p", "orders-pg")


def entry(insert_id: str, when: str, *, first: bool = False, last: bool = False, context: dict | None = None,
          status: dict | None = None, operation: bool = True) -> dict:
    proto = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": status or {},
        "authenticationInfo": {"principalEmail": "dba@example.com"},
        "serviceName": "cloudsql.googleapis.com",
        "methodName": "cloudsql.instances.clone",
        "resourceName": "projects/p/instances/orders-pg",
    }
    if context is not None:
        proto["request"] = {"@type": "type.googleapis.com/google.cloud.sql.v1.SqlInstancesCloneRequest",
                            "project": "p", "instance": "orders-pg", "body": {"cloneContext": context}}
    out = {"insertId": insert_id, "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
           "protoPayload": proto, "timestamp": when, "severity": "NOTICE",
           "resource": {"type": "cloudsql_database", "labels": {"project_id": "p", "database_id": "p:orders-pg",
                                                                "region": "us-east1"}}}
    if operation:
        out["operation"] = {"id": "operation-1751364000000-abc", "producer": "cloudsql.googleapis.com",
                            **({"first": True} if first else {}), **({"last": True} if last else {})}
    return out


PITR = {"kind": "sql#cloneContext", "destinationInstanceName": "orders-pg-restore-check",
        "pointInTime": "2026-07-02T23:00:00.000Z"}
START = entry("1a2b3c", "2026-07-03T09:00:00.123Z", first=True, context=PITR)
END = entry("4d5e6f", "2026-07-03T09:41:30Z", last=True)


def records(*entries) -> list:
    return merge_clones([c for c in (clone_entry(e, f"e-{e['insertId']}") for e in entries) if c is not None])


def test_a_point_in_time_clone_joins_its_first_and_last_entries():
    (clone,) = records(START, END)
    assert clone.instance == DB
    assert clone.destination == sql_resource("p", "orders-pg-restore-check")
    assert clone.point_in_time == datetime(2026, 7, 2, 23, 0, tzinfo=UTC)
    assert clone.started == datetime(2026, 7, 3, 9, 0, 0, 123000, tzinfo=UTC)
    assert clone.ended == datetime(2026, 7, 3, 9, 41, 30, tzinfo=UTC)
    assert clone.to_point_in_time and clone.error is None
    assert clone.evidence == ("e-1a2b3c", "e-4d5e6f")
    assert records(END, START) == [clone]  # in whatever order the pages bring them


def test_mysql_binary_log_coordinates_are_a_point_in_time_and_a_cross_project_destination_is_named():
    context = {"kind": "sql#cloneContext", "destinationInstanceName": "crm-check", "destinationProject": "scratch",
               "binLogCoordinates": {"kind": "sql#binLogCoordinates", "binLogFileName": "mysql-bin.000042",
                                     "binLogPosition": "1234"}}
    (clone,) = records(entry("a1", "2026-07-03T09:00:00Z", first=True, context=context))
    assert clone.to_point_in_time and clone.bin_log == "mysql-bin.000042:1234"
    assert clone.destination == sql_resource("scratch", "crm-check")
    assert clone.ended is None  # its last entry is not in the answer: not seen finishing


def test_a_clone_of_live_data_and_other_methods():
    live = {"kind": "sql#cloneContext", "destinationInstanceName": "orders-pg-copy"}
    (clone,) = records(entry("b1", "2026-07-03T09:00:00Z", first=True, context=live))
    assert not clone.to_point_in_time
    update = {**START, "protoPayload": {**START["protoPayload"], "methodName": "cloudsql.instances.update"}}
    assert clone_entry(update, "e") is None
    # an entry without `operation` (an older answer, or a field mask that left it out) is the start; duration unknown
    (alone,) = records(entry("c1", "2026-07-03T09:00:00Z", context=PITR, operation=False))
    assert alone.started is not None and alone.ended is None


def test_the_page_reader_emits_clones_not_configuration_changes():
    emitted: dict[str, list] = {}
    read({"api": "logging", "method": "entries.list", "params": {}, "scope": "projects/p"},
         {"entries": [START, END]}, "page-1", lambda fact, item, at=None: emitted.setdefault(fact, []).append(item))
    assert set(emitted) == {"sql_clones"} and len(emitted["sql_clones"]) == 2


# --- the check ----------------------------------------------------------------------------------------------

def config() -> Config:
    return Config.model_validate({
        "organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-31"},
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"classifications": {"restricted": {"backup_interval": "24h", "restore_test_interval": "10d"}}},
    })


INSTANCE = SqlInstance(resource=DB, project="p", name="orders-pg", region="us-east1", database_version="POSTGRES_16",
                       state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                       labels={"data-classification": "restricted"}, create_time=datetime(2025, 1, 1, tzinfo=UTC),
                       backup_enabled=True, backup_start_time=None, backup_location="us-west1", pitr_enabled=True,
                       log_retention_days=7, retained_backups=30, backup_tier=None, kms_key=None, master=None,
                       evidence=("e-inst",))
AS_OF = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


def judge(clones: list | None, gaps=()):
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "operations.list", "projects/p/instances/orders-pg")]
    items = {"sql_instances": [INSTANCE], "sql_operations": []}
    if clones is not None:
        answered.append(("logging", "entries.list", "projects/p"))
        items["sql_clones"] = clones
    facts = assemble(AS_OF, ["p"], items=items, answered=answered, gaps=gaps)
    ctx = CheckContext(config=config(), period=Period(date(2026, 7, 1), date(2026, 7, 31)), as_of=AS_OF)
    (finding,) = [f for f in restore_testing.evaluate(facts, ctx) if f.resource == DB]
    return finding


def clone_on(day: int, context: dict, finished: bool = True) -> list:
    start = entry(f"s{day}", f"2026-07-{day:02d}T09:00:00Z", first=True, context=context)
    end = entry(f"e{day}", f"2026-07-{day:02d}T09:30:00Z", last=True)
    start["operation"]["id"] = end["operation"]["id"] = f"op-{day}"
    return [start, end] if finished else [start]


def test_point_in_time_clones_every_ten_days_pass_with_the_time_to_restore():
    clones = records(*clone_on(1, PITR), *clone_on(11, PITR), *clone_on(21, PITR), *clone_on(31, PITR))
    finding = judge(clones)
    assert finding.status == "pass", finding.message
    tests = finding.observed["restore_tests"]
    assert [t["started"][:10] for t in tests] == ["2026-07-01", "2026-07-11", "2026-07-21", "2026-07-31"]
    assert {t["minutes_to_restore"] for t in tests} == {30}
    assert {t["into"] for t in tests} == {sql_resource("p", "orders-pg-restore-check")}
    assert "point-in-time clone to 2026-07-02 23:00 UTC" in finding.message


def test_clones_of_live_data_do_not_count():
    live = {"kind": "sql#cloneContext", "destinationInstanceName": "orders-pg-copy"}
    finding = judge(records(*clone_on(1, live), *clone_on(11, live)))
    assert finding.status == "fail"
    assert finding.observed["restore_tests"] == []
    assert len(finding.observed["not_restore_tests"]) == 2


def test_a_clone_not_seen_finishing_or_failed_does_not_count():
    failed = clone_on(1, PITR)
    failed[1]["protoPayload"]["status"] = {"code": 13, "message": "The clone failed: insufficient disk quota."}
    finding = judge(records(*failed, *clone_on(11, PITR, finished=False)))
    assert finding.status == "fail"
    assert [t["error"] for t in finding.observed["failed_restores"]] == [
        "The clone failed: insufficient disk quota.", "the log does not show it finishing"]


def test_without_the_audit_log_no_restore_test_is_inconclusive_not_failed():
    gap = CallGap("logging", "entries.list", "projects/p", "timeout", None, "timed out", None, "c-log")
    finding = judge(None, gaps=[gap])
    assert finding.status == "inconclusive"
    assert finding.details["call"] == "c-log"
