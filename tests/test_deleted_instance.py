"""An instance deleted mid-period is judged for the days it existed (issue 14): backup-enabled,
backup-frequency and backup-cross-region read it from its FINAL backup's `instanceSettings` (the
Cloud SQL Admin v1 `Backup` resource: a snapshot of the instance, taken at deletion) and the audit log.

The FINAL backup below is transcribed from the v1 reference's `Backup` fields (type FINAL, state
SUCCESSFUL, backupInterval, expiryTime, instanceDeletionTime, location, databaseVersion,
instanceSettings: a `DatabaseInstance`). Expectations are written by hand from the rules: a day before
the deletion is judged from the evidence for it, a day after is not applicable, and a day nothing
covers is unknown, never passed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from auditor.checks import backup_cross_region, backup_enabled, backup_frequency
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.model import BackupAttempt, ConfigChange, LogSpan, sql_resource
from auditor.facts.sources.sql_backups import read as read_backups
from auditor.period import Period

UTC = timezone.utc
PERIOD = Period(date(2026, 7, 1), date(2026, 7, 10))
AS_OF = datetime(2026, 7, 11, 12, 0, tzinfo=UTC)
DB = sql_resource("p", "crm-mysql")
DELETED = datetime(2026, 7, 6, 12, 0, tzinfo=UTC)

FINAL = {
    "kind": "sql#backup",
    "name": "projects/p/backups/1783339200007",
    "instance": "crm-mysql",
    "type": "FINAL",
    "state": "SUCCESSFUL",
    "backupKind": "SNAPSHOT",
    "description": "Final backup of instance crm-mysql",
    "backupInterval": {"startTime": "2026-07-06T11:54:00Z", "endTime": "2026-07-06T11:59:00Z"},
    "expiryTime": "2026-08-05T12:00:00Z",
    "instanceDeletionTime": "2026-07-06T12:00:00Z",
    "location": "us-east1",
    "databaseVersion": "MYSQL_8_0",
    "timeZone": "UTC",
    "selfLink": "https://sqladmin.googleapis.com/v1/projects/p/backups/1783339200007",
    "instanceSettings": {
        "kind": "sql#instance", "name": "crm-mysql", "project": "p", "region": "us-west1",
        "databaseVersion": "MYSQL_8_0", "state": "RUNNABLE", "instanceType": "CLOUD_SQL_INSTANCE",
        "createTime": "2025-01-10T08:00:00Z",
        "settings": {"kind": "sql#settings", "tier": "db-custom-2-7680", "activationPolicy": "ALWAYS",
                     "userLabels": {"data-classification": "restricted"},
                     "finalBackupConfig": {"enabled": True, "retentionDays": 30},
                     "backupConfiguration": {"kind": "sql#backupConfiguration", "enabled": True, "startTime": "03:00",
                                             "location": "us-east1", "binaryLogEnabled": True,
                                             "transactionLogRetentionDays": 7,
                                             "backupRetentionSettings": {"retainedBackups": 30, "retentionUnit": "COUNT"}}},
    },
}


def config() -> Config:
    return Config.model_validate({
        "organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"classifications": {"restricted": {"backup_interval": "24h", "cross_region": True}}},
    })


def read_final(payload: dict) -> dict[str, list]:
    emitted: dict[str, list] = {}
    call = {"api": "sqladmin", "method": "Backups.list", "params": {"parent": "projects/p"}, "scope": "projects/p"}
    read_backups(call, {"backups": [payload]}, "e-final", lambda fact, item, at=None: emitted.setdefault(fact, []).append(item))
    return emitted


def window(day: int, outcome: str = "succeeded") -> BackupAttempt:
    start = datetime(2026, 7, day, 3, 0, tzinfo=UTC)
    return BackupAttempt(DB, start, outcome, "audit-log", f"STATUS_{outcome.upper()}", start + timedelta(minutes=20),
                         f"log:w{day}", (f"e-w{day}",))


def facts_for(payload: dict = FINAL, windows: list[BackupAttempt] | None = None, log_read: bool = True, deletion_logged: bool = True):
    emitted = read_final(payload)
    items = {**emitted, "sql_instances": [], "backup_runs": [],
             "backup_windows": windows if windows is not None else [window(d) for d in range(1, 7)]}
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                ("sqladmin", "Backups.list", "projects/p")]
    if log_read:
        answered.append(("logging", "entries.list", "projects/p"))
        items["log_coverage"] = [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-log")]
        if deletion_logged:
            items["config_changes"] = [ConfigChange(DB, DELETED, "cloudsql.instances.delete", {}, "ops@example.com", "log:del",
                                                    deleted=True, evidence=("e-del",))]
    return assemble(AS_OF, ["p"], items=items, answered=answered)


def judge(check, facts):
    ctx = CheckContext(config=config(), period=PERIOD, as_of=AS_OF)
    return {f.resource: f for f in check.evaluate(facts, ctx)}


def days(first: int, last: int, state: str) -> dict[str, str]:
    return {f"2026-07-{d:02d}": state for d in range(first, last + 1)}


def test_the_final_backups_snapshot_is_a_configuration_read_at_deletion():
    emitted = read_final(FINAL)
    (snapshot,) = emitted["final_snapshots"]
    assert snapshot.resource == DB
    assert snapshot.observed_at == datetime(2026, 7, 6, 11, 54, tzinfo=UTC)
    assert snapshot.backup_enabled is True and snapshot.pitr_enabled is True  # MySQL: binaryLogEnabled
    assert snapshot.backup_location == "us-east1" and snapshot.labels == {"data-classification": "restricted"}
    (backup,) = emitted["sql_backups"]
    assert backup.kind == "FINAL" and backup.instance_deleted_at == DELETED


def test_a_snapshot_without_name_or_project_is_named_by_the_backup():
    bare = {**FINAL, "instanceSettings": {k: v for k, v in FINAL["instanceSettings"].items() if k not in ("name", "project")}}
    (snapshot,) = read_final(bare)["final_snapshots"]
    assert snapshot.resource == DB


def test_only_final_backups_carry_a_snapshot():
    for kind in ("AUTOMATED", "ON_DEMAND"):
        assert "final_snapshots" not in read_final({**FINAL, "type": kind})


def test_days_it_existed_are_judged_and_the_days_after_are_not_applicable():
    facts = facts_for()
    enabled = judge(backup_enabled, facts)[DB]
    assert enabled.status == "pass"
    assert enabled.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    assert "deleted on 2026-07-06 12:00 UTC" in enabled.message
    frequency = judge(backup_frequency, facts)[DB]
    assert frequency.status == "pass"
    assert frequency.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    placement = judge(backup_cross_region, facts)[DB]
    assert placement.status == "pass"  # us-west1 -> us-east1, the final backup landed in us-east1


def test_a_missed_day_before_the_deletion_fails():
    facts = facts_for(windows=[window(d) for d in (1, 2, 4, 5, 6)] + [window(3, "failed")])
    frequency = judge(backup_frequency, facts)[DB]
    assert frequency.status == "fail"
    assert frequency.details["missed_days"] == ["2026-07-03"]
    assert frequency.details["days"]["2026-07-08"] == "not_applicable"


def test_the_deletion_time_comes_from_the_final_backup_when_the_log_did_not_show_it():
    facts = facts_for(deletion_logged=False)
    assert facts.history.lifetime(DB).gone_by == DELETED
    assert judge(backup_enabled, facts)[DB].details["days"]["2026-07-07"] == "not_applicable"


def test_without_the_audit_log_the_days_before_the_snapshot_are_unknown_not_passed():
    facts = facts_for(log_read=False, windows=[])
    enabled = judge(backup_enabled, facts)[DB]
    assert enabled.status == "inconclusive"
    assert enabled.details["days"] == {**days(1, 5, "unknown"), "2026-07-06": "kept", **days(7, 10, "not_applicable")}
    assert judge(backup_frequency, facts)[DB].status == "inconclusive"


def test_a_deleted_instance_without_a_final_backup_read_is_not_judged_from_nothing():
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [], "backup_runs": []},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p")])
    assert DB not in judge(backup_enabled, facts)


def test_an_instance_only_the_audit_log_shows_deleted_is_inconclusive_for_the_days_it_existed():
    ghost = sql_resource("p", "ghost-pg")
    deletion = ConfigChange(ghost, datetime(2026, 7, 4, 15, 0, tzinfo=UTC), "cloudsql.instances.delete", {}, "ops@example.com",
                            "log:ghost", deleted=True, evidence=("e-ghost",))
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [], "backup_runs": [], "config_changes": [deletion],
                                          "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c")]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                               ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")])
    for check in (backup_enabled, backup_frequency, backup_cross_region):
        finding = judge(check, facts)[ghost]
        assert finding.status == "inconclusive"
        assert finding.details["unknown_days"] == ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04"]
        assert "deleted on 2026-07-04 15:00 UTC" in finding.message and finding.evidence == ["e-ghost"]
    # the FINAL backup's instance is judged from its snapshot instead, not reported twice
    assert judge(backup_enabled, facts_for())[DB].status == "pass"
