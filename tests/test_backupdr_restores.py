"""Backup and DR restores as restore tests (issue 14): a vault project's long-running operations.

The operations are transcribed from the backupdr v1 reference: `Operation {name, metadata, done, error, response}`
with `metadata` a `google.cloud.backupdr.v1.OperationMetadata` (`createTime`, `endTime`, `target`, `verb`,
`statusMessage`, `requestedCancellation`, `apiVersion`) and `response` a `RestoreBackupResponse`
(`targetResource.gcpResource {gcpResourcename, location, type}`). Expectations are hand-written: a finished restore
of one of the store's backups counts, tied to that backup and to the instance restored into, with the minutes from
createTime to endTime; a failed or unfinished one does not; other verbs are not restores.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from auditor.checks import restore_testing
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts import read_backupdr as bdr
from auditor.facts.build import assemble
from auditor.facts.model import CallGap, SqlInstance, sql_resource
from auditor.period import Period

UTC = timezone.utc
DB = sql_resource("p", "invoices-pg")
VAULT = "projects/bkp/locations/us-west1/backupVaults/central"
SOURCE = VAULT + "/dataSources/ds-1"
BACKUP = SOURCE + "/backups/202607030215"


def operation(when: str, ended: str | None, *, verb: str = "restore", target: str = BACKUP, error: dict | None = None) -> dict:
    meta = {"@type": "type.googleapis.com/google.cloud.backupdr.v1.OperationMetadata", "createTime": when, "target": target,
            "verb": verb, "requestedCancellation": False, "apiVersion": "v1"}
    out = {"name": f"projects/bkp/locations/us-west1/operations/operation-{when[:10]}", "metadata": meta, "done": ended is not None}
    if ended is not None:
        meta["endTime"] = ended
        if error:
            out["error"] = error
        else:
            out["response"] = {"@type": "type.googleapis.com/google.cloud.backupdr.v1.RestoreBackupResponse",
                               "targetResource": {"gcpResource": {"gcpResourcename": "projects/p/instances/invoices-check",
                                                                  "location": "us-east1", "type": "sqladmin.googleapis.com/Instance"}}}
    return out


def test_a_restore_operation_names_the_backup_and_the_instance_restored_into():
    found = bdr.restore_operation(operation("2026-07-03T10:00:00Z", "2026-07-03T10:24:00Z"), "ev")
    assert found.backup == BACKUP and found.data_source == SOURCE
    assert found.into == sql_resource("p", "invoices-check")
    assert (found.started, found.ended, found.done, found.error) == (
        datetime(2026, 7, 3, 10, tzinfo=UTC), datetime(2026, 7, 3, 10, 24, tzinfo=UTC), True, None)
    failed = bdr.restore_operation(operation("2026-07-03T10:00:00Z", "2026-07-03T10:05:00Z",
                                             error={"code": 9, "message": "Restore failed: target exists."}), "ev")
    assert failed.error == "Restore failed: target exists." and failed.into is None
    running = bdr.restore_operation(operation("2026-07-03T10:00:00Z", None), "ev")
    assert not running.done and running.ended is None


def test_operations_that_are_not_restores_of_a_backup_are_ignored():
    assert bdr.restore_operation(operation("2026-07-03T10:00:00Z", "2026-07-03T10:01:00Z", verb="create",
                                           target="projects/bkp/locations/us-west1/backupVaults/central"), "ev") is None
    assert bdr.restore_operation(operation("2026-07-03T10:00:00Z", "2026-07-03T10:01:00Z", target=VAULT), "ev") is None
    assert bdr.restore_operation({"name": "projects/bkp/locations/us-west1/operations/x", "done": True}, "ev") is None


INSTANCE = SqlInstance(resource=DB, project="p", name="invoices-pg", region="us-east1", database_version="POSTGRES_16",
                       state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                       labels={"data-classification": "restricted"}, create_time=datetime(2025, 1, 1, tzinfo=UTC),
                       backup_enabled=True, backup_start_time=None, backup_location="us-west1", pitr_enabled=True,
                       log_retention_days=7, retained_backups=30, backup_tier="ENHANCED", kms_key=None, master=None,
                       evidence=("e-inst",))
AS_OF = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
ASSOCIATION = {"name": "projects/p/locations/us-east1/backupPlanAssociations/inv", "resource": "//sqladmin.googleapis.com/projects/p/instances/invoices-pg",
               "resourceType": "sqladmin.googleapis.com/Instance", "backupPlan": "projects/bkp/locations/us-west1/backupPlans/sql-daily",
               "dataSource": SOURCE, "state": "ACTIVE"}
DATA_SOURCE = {"name": SOURCE, "state": "ACTIVE", "configState": "ACTIVE",
               "dataSourceGcpResource": {"gcpResourcename": "projects/p/instances/invoices-pg", "type": "sqladmin.googleapis.com/Instance"}}
BACKUP_ITEM = {"name": BACKUP, "state": "ACTIVE", "consistencyTime": "2026-07-03T02:15:00Z",
               "gcpResource": {"gcpResourcename": "projects/p/instances/invoices-pg", "type": "sqladmin.googleapis.com/Instance"}}


def judge(operations: list[dict] | None, plans: list[dict] = (), backup: dict = BACKUP_ITEM):
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "operations.list", "projects/p/instances/invoices-pg"),
                ("logging", "entries.list", "projects/p"), ("backupdr", "backupPlanAssociations.list", "projects/p"),
                ("backupdr", "backupPlans.list", "projects/bkp"), ("backupdr", "backupVaults.list", "projects/bkp"),
                ("backupdr", "dataSources.list", VAULT), ("backupdr", "dataSources.backups.list", SOURCE),
                ("backupdr", "restoreVerificationPlans.list", "projects/bkp")]
    items = {"sql_instances": [INSTANCE], "sql_operations": [], "sql_clones": [],
             "backupdr_associations": [bdr.association(ASSOCIATION, "e-a")],
             "backupdr_vaults": [bdr.vault({"name": VAULT, "state": "ACTIVE"}, "e-v")],
             "backupdr_data_sources": [bdr.data_source(DATA_SOURCE, "e-d")], "backupdr_backups": [bdr.backup(backup, "e-b")],
             "backupdr_verification_plans": [bdr.verification_plan(p, "e-rvp") for p in plans]}
    gaps = []
    if operations is None:
        gaps.append(CallGap("backupdr", "operations.list", "projects/bkp", "http", None, "HTTP 500", 500, "c-ops"))
    else:
        answered.append(("backupdr", "operations.list", "projects/bkp"))
        items["backupdr_restores"] = [r for r in (bdr.restore_operation(o, f"e-op{i}") for i, o in enumerate(operations)) if r]
    facts = assemble(AS_OF, ["p"], items=items, answered=answered, gaps=gaps)
    config = Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-31"},
                                    "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                    "policy": {"classifications": {"restricted": {"backup_interval": "24h",
                                                                                  "restore_test_interval": "30d"}}}})
    ctx = CheckContext(config=config, period=Period(date(2026, 7, 1), date(2026, 7, 31)), as_of=AS_OF)
    (finding,) = [f for f in restore_testing.evaluate(facts, ctx) if f.resource == DB]
    return finding


def test_a_vault_restore_is_a_restore_test_tied_to_its_backup_and_target():
    finding = judge([operation("2026-07-01T10:00:00Z", "2026-07-01T10:24:00Z", target=SOURCE + "/backups/202606300215"),
                     operation("2026-07-03T10:00:00Z", "2026-07-03T10:31:00Z")])
    assert finding.status == "pass", finding.message
    tests = {t["started"][:10]: t for t in finding.observed["restore_tests"]}
    assert tests["2026-07-03"]["backup"] == BACKUP and tests["2026-07-03"]["minutes_to_restore"] == 31
    assert tests["2026-07-03"]["into"] == sql_resource("p", "invoices-check")
    assert "Backup and DR restore of backup 202607030215 (taken 2026-07-03 02:15) into invoices-check in 31 min" in finding.message


def test_failed_unfinished_or_another_stores_restores_do_not_count():
    other = "projects/bkp/locations/us-west1/backupVaults/central/dataSources/ds-2/backups/202607030215"
    finding = judge([operation("2026-07-01T10:00:00Z", "2026-07-01T10:05:00Z", error={"code": 13, "message": "boom"}),
                     operation("2026-07-02T10:00:00Z", None), operation("2026-07-03T10:00:00Z", "2026-07-03T10:20:00Z", target=other)])
    assert finding.status == "fail"
    assert finding.observed["restore_tests"] == []
    assert sorted(t["error"] for t in finding.observed["failed_restores"]) == ["boom", "the operation has not finished"]


def test_an_unread_operations_listing_leaves_a_store_without_tests_inconclusive():
    finding = judge(None)
    assert finding.status == "inconclusive"
    assert finding.details["call"] == "c-ops"


PLAN = {"name": "projects/bkp/locations/us-west1/restoreVerificationPlans/weekly-sql", "schedule": "0 6 * * 1", "timeZone": "UTC",
        "state": "ACTIVE", "successCleanupRule": {"cleanupDelay": "3600s"}}


def test_restore_verification_results_are_shown_with_the_plan_that_schedules_them():
    verified = {**BACKUP_ITEM, "verificationSummary": {"lastVerificationState": "SUCCEEDED", "lastVerificationTime": "2026-07-06T06:40:00Z",
                                                       "lastVerificationExecution": "projects/bkp/locations/us-west1/restoreTemplates/t/executions/e1"}}
    finding = judge([], plans=[PLAN], backup=verified)
    assert [t["type"] for t in finding.observed["restore_tests"]] == ["BACKUPDR_VERIFICATION"]
    assert "weekly-sql in bkp (ACTIVE, schedule '0 6 * * 1' UTC)" in finding.message
    assert "e-rvp" in finding.evidence


def test_a_plan_without_any_verification_result_is_no_restore_test():
    finding = judge([], plans=[{**PLAN, "state": "ERROR"}])
    assert finding.status == "fail"
    assert "are not active" in finding.message and "none of its backups reports a verification" in finding.message
