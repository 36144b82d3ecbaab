"""The Cloud SQL per-engine, Backups-resource and Backup and DR readers, on payloads written from the API references.

Each payload follows the field list of the v1 discovery documents (sqladmin.v1 revision 20261018,
backupdr.v1 revision 20261028) as transcribed in shared/notes/api-notes-backup-sources.md: every
Backup type and state, the three engines, both editions, answers with optional fields absent
(older shapes) and newer fields present, partial answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from auditor.facts import read_backupdr as bdr
from auditor.facts.access import partial_marks
from auditor.facts.sqlbackups import on_demand_run, sql_backup
from auditor.facts.sqlengine import backups_after_deletion, engine_of, engine_settings

UTC = timezone.utc


def _instance(version: str, backup: dict, **settings) -> dict:
    return {"kind": "sql#instance", "name": "db", "project": "p", "databaseVersion": version, "region": "us-east1",
            "settings": {"kind": "sql#settings", "backupConfiguration": {"kind": "sql#backupConfiguration", **backup}, **settings}}


# --- Cloud SQL per engine -------------------------------------------------------------------------

def test_mysql_pitr_is_the_binary_log():
    data = _instance("MYSQL_8_0_31", {"enabled": True, "binaryLogEnabled": True, "transactionLogRetentionDays": 7,
                                      "transactionalLogStorageState": "CLOUD_STORAGE"}, edition="ENTERPRISE")
    engine = engine_settings(data)
    assert (engine.engine, engine.pitr_enabled, engine.pitr_field) == ("mysql", True, "binaryLogEnabled")
    assert engine.log_retention_days == 7 and engine.log_storage == "CLOUD_STORAGE" and not engine.problems


def test_mysql_ignores_the_postgres_switch():
    """A MySQL answer may carry pointInTimeRecoveryEnabled: false; the binary log is what decides."""
    data = _instance("MYSQL_5_7", {"enabled": True, "binaryLogEnabled": False, "pointInTimeRecoveryEnabled": True})
    assert engine_settings(data).pitr_enabled is False


def test_postgres_and_sqlserver_use_point_in_time_recovery_enabled():
    pg = engine_settings(_instance("POSTGRES_16", {"enabled": True, "pointInTimeRecoveryEnabled": True, "transactionLogRetentionDays": 7}))
    ss = engine_settings(_instance("SQLSERVER_2022_STANDARD", {"enabled": True, "pointInTimeRecoveryEnabled": False}))
    assert (pg.engine, pg.pitr_enabled, pg.pitr_field) == ("postgres", True, "pointInTimeRecoveryEnabled")
    assert (ss.engine, ss.pitr_enabled) == ("sqlserver", False)


def test_enterprise_plus_keeps_up_to_35_days_enterprise_7():
    plus = engine_settings(_instance("POSTGRES_16", {"enabled": True, "pointInTimeRecoveryEnabled": True,
                                                     "transactionLogRetentionDays": 35}, edition="ENTERPRISE_PLUS"))
    assert (plus.log_retention_days, plus.log_retention_limit, plus.problems) == (35, 35, ())
    ent = engine_settings(_instance("POSTGRES_16", {"enabled": True, "pointInTimeRecoveryEnabled": True,
                                                    "transactionLogRetentionDays": 14}, edition="ENTERPRISE"))
    assert ent.log_retention_days is None and ent.log_retention_limit == 7
    assert any("outside" in p for p in ent.problems)


def test_older_shape_without_edition_tier_or_pitr_field_is_unknown_not_off():
    engine = engine_settings(_instance("POSTGRES_9_6", {"enabled": True, "startTime": "03:00"}))
    assert engine.edition is None and engine.backup_tier is None and engine.log_retention_limit == 7
    assert engine.pitr_enabled is None and any("pointInTimeRecoveryEnabled is missing" in p for p in engine.problems)
    mysql = engine_settings(_instance("MYSQL_8_0", {"enabled": True}))
    assert mysql.pitr_enabled is None and any("binaryLogEnabled" in p for p in mysql.problems)


def test_backup_tier_and_deletion_settings():
    data = _instance("POSTGRES_15", {"enabled": True, "pointInTimeRecoveryEnabled": False, "backupTier": "ENHANCED"},
                     retainBackupsOnDelete=False, finalBackupConfig={"enabled": True, "retentionDays": 30},
                     deletionProtectionEnabled=True)
    engine = engine_settings(data)
    assert engine.managed_by_backupdr and engine.backup_tier == "ENHANCED"
    assert (engine.final_backup_enabled, engine.final_backup_retention_days, engine.deletion_protection) == (True, 30, True)
    assert backups_after_deletion(engine) == 30
    kept = engine_settings(_instance("MYSQL_8_0", {"enabled": True, "binaryLogEnabled": True}, retainBackupsOnDelete=True))
    assert backups_after_deletion(kept) == 0
    assert backups_after_deletion(engine_settings(_instance("MYSQL_8_0", {"enabled": True, "binaryLogEnabled": True}))) is None


@pytest.mark.parametrize("version,engine", [("MYSQL_8_4", "mysql"), ("POSTGRES_18", "postgres"),
                                            ("SQLSERVER_2019_ENTERPRISE", "sqlserver"), ("SQL_DATABASE_VERSION_UNSPECIFIED", None), (None, None)])
def test_engine_of(version, engine):
    assert engine_of(version) == engine


# --- the v1 Backups resource ------------------------------------------------------------------------

def _backup(**fields) -> dict:
    base = {"kind": "sql#backup", "name": "projects/p/backups/1", "instance": "db", "type": "AUTOMATED", "state": "SUCCESSFUL",
            "backupInterval": {"startTime": "2026-09-01T03:05:00.123Z", "endTime": "2026-09-01T03:20:00Z"},
            "expiryTime": "2026-10-01T03:05:00Z", "location": "us-west1", "backupKind": "SNAPSHOT",
            "databaseVersion": "POSTGRES_16", "kmsKey": "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k",
            "kmsKeyVersion": "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2",
            "backupRun": "projects/p/instances/db/backupRuns/1756695900000", "timeZone": "UTC"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("kind", ["AUTOMATED", "ON_DEMAND", "FINAL"])
def test_every_backup_type(kind):
    backup = sql_backup(_backup(type=kind), "p", "ev1")
    assert backup.kind == kind and backup.usable and backup.source == "sql-backups"
    assert backup.instance == "//cloudsql.googleapis.com/projects/p/instances/db"
    assert backup.taken_at == datetime(2026, 9, 1, 3, 5, 0, 123000, tzinfo=UTC)
    assert backup.location == "us-west1" and backup.kms_key.endswith("/cryptoKeys/k") and backup.kms_key_version.endswith("/2")
    assert backup.expires_at == datetime(2026, 10, 1, 3, 5, tzinfo=UTC) and backup.run_id == "1756695900000"


@pytest.mark.parametrize("state,usable", [("ENQUEUED", False), ("RUNNING", False), ("FAILED", False), ("SUCCESSFUL", True),
                                          ("DELETING", False), ("DELETION_FAILED", False), ("SQL_BACKUP_STATE_UNSPECIFIED", False)])
def test_every_backup_state(state, usable):
    extra = {"error": {"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": "x"}} if state == "FAILED" else {}
    backup = sql_backup(_backup(state=state, **extra), "p", "ev")
    assert (backup.state, backup.usable) == (state, usable)


def test_final_backup_of_a_deleted_instance_keeps_its_snapshot():
    item = _backup(type="FINAL", name="projects/p/backups/9", instanceDeletionTime="2026-08-14T12:00:00Z",
                   expiryTime="2026-09-13T12:00:00Z", backupRun=None,
                   instanceSettings={"name": "db", "region": "us-east1", "databaseVersion": "MYSQL_8_0",
                                     "settings": {"userLabels": {"data-classification": "internal"}}})
    backup = sql_backup(item, "p", "ev")
    assert backup.kind == "FINAL" and backup.instance_deleted_at == datetime(2026, 8, 14, 12, tzinfo=UTC)
    assert backup.source_region == "us-east1" and backup.source_labels == {"data-classification": "internal"}
    assert backup.run_id is None


def test_older_backup_shape_without_location_or_keys():
    backup = sql_backup(_backup(location=None, kmsKey=None, kmsKeyVersion=None, expiryTime=None, backupRun=None), "p", "ev")
    assert (backup.location, backup.kms_key, backup.kms_key_version, backup.expires_at) == (None, None, None, None)


def test_backup_without_name_or_instance_is_skipped():
    assert sql_backup(_backup(name=None), "p", "ev") is None
    assert sql_backup(_backup(instance=None), "p", "ev") is None
    assert sql_backup("not an object", "p", "ev") is None


def test_region_unreachable_makes_the_list_partial():
    body = {"backups": [_backup()], "warnings": [{"code": "REGION_UNREACHABLE", "message": "europe-west1 unavailable",
                                                  "region": "europe-west1"}, {"code": "MAX_RESULTS_EXCEEDS_LIMIT", "message": "m"}]}
    marks = partial_marks(body)  # the one definition of a partial answer (auditor.facts.access / evidence.partial)
    assert any("REGION_UNREACHABLE" in m and "europe-west1" in m for m in marks)
    assert partial_marks({"backups": []}) == []


def test_on_demand_runs_are_retained_backups():
    run = {"kind": "sql#backupRun", "id": "1758000000000", "instance": "db", "type": "ON_DEMAND", "status": "SUCCESSFUL",
           "enqueuedTime": "2026-09-16T05:00:00Z", "startTime": "2026-09-16T05:00:10Z", "endTime": "2026-09-16T05:12:00Z",
           "location": "us-west1", "backupKind": "SNAPSHOT"}
    backup = on_demand_run(run, "p", "ev")
    assert (backup.kind, backup.usable, backup.location, backup.kms_key) == ("ON_DEMAND", True, "us-west1", None)
    assert backup.taken_at == datetime(2026, 9, 16, 5, 12, tzinfo=UTC) and backup.key == "run:p/db/1758000000000"
    assert on_demand_run({**run, "type": "AUTOMATED"}, "p", "ev") is None
    failed = on_demand_run({**run, "status": "FAILED"}, "p", "ev")
    assert (failed.kind, failed.usable) == ("ON_DEMAND", False)


# --- Backup and DR --------------------------------------------------------------------------------

VAULT = {"name": "projects/bkp/locations/us-west1/backupVaults/vault-1", "state": "ACTIVE",
         "backupMinimumEnforcedRetentionDuration": "2592000s", "effectiveTime": "2026-01-10T00:00:00Z",
         "accessRestriction": "WITHIN_ORGANIZATION", "backupRetentionInheritance": "INHERIT_VAULT_RETENTION",
         "deletable": False, "backupCount": "42", "totalStoredBytes": "1099511627776",
         "createTime": "2026-01-01T00:00:00Z", "serviceAccount": "vault-sa@example.iam.gserviceaccount.com"}


def test_locked_vault_with_enforced_retention_is_immutable():
    vault = bdr.vault(VAULT, "ev")
    assert (vault.project, vault.location, vault.backup_count) == ("bkp", "us-west1", 42)
    assert vault.minimum_enforced_retention == timedelta(days=30)
    assert vault.immutable_at(datetime(2026, 9, 30, tzinfo=UTC))
    assert not vault.immutable_at(datetime(2026, 1, 5, tzinfo=UTC))  # before the lock took effect


def test_vault_without_lock_or_retention_is_not_immutable():
    unlocked = bdr.vault({k: v for k, v in VAULT.items() if k != "effectiveTime"}, "ev")
    assert unlocked.locked_from is None and not unlocked.immutable_at(datetime(2026, 9, 30, tzinfo=UTC))
    no_minimum = bdr.vault({**VAULT, "backupMinimumEnforcedRetentionDuration": "0s"}, "ev")
    assert not no_minimum.immutable_at(datetime(2026, 9, 30, tzinfo=UTC))
    bare = bdr.vault({"name": "projects/bkp/locations/us-east1/backupVaults/v"}, "ev")
    assert (bare.state, bare.minimum_enforced_retention, bare.access_restriction) == (None, None, None)
    assert bdr.vault({"name": "vault-without-a-path"}, "ev") is None


def test_plan_with_daily_rule():
    data = {"name": "projects/bkp/locations/us-east1/backupPlans/sql-daily", "resourceType": "sqladmin.googleapis.com/Instance",
            "backupVault": VAULT["name"], "state": "ACTIVE", "logRetentionDays": "7",
            "backupRules": [{"ruleId": "daily", "backupRetentionDays": 35,
                             "standardSchedule": {"recurrenceType": "DAILY", "timeZone": "UTC",
                                                  "backupWindow": {"startHourOfDay": 2, "endHourOfDay": 6}}},
                            {"ruleId": "hourly", "backupRetentionDays": 3,
                             "standardSchedule": {"recurrenceType": "HOURLY", "hourlyFrequency": 6}}]}
    plan = bdr.plan(data, "ev")
    assert (plan.resource_type, plan.vault, plan.log_retention_days) == ("sqladmin.googleapis.com/Instance", VAULT["name"], 7)
    daily, hourly = plan.rules
    assert daily.retention_days == 35 and daily.schedule.window_start_hour == 2 and daily.schedule.interval() == timedelta(days=1)
    assert hourly.schedule.interval() == timedelta(hours=6) and hourly.schedule.window_start_hour is None


def test_association_with_a_failed_last_backup():
    data = {"name": "projects/p/locations/us-east1/backupPlanAssociations/bpa-1", "resource": "projects/p/instances/db",
            "resourceType": "sqladmin.googleapis.com/Instance", "backupPlan": "projects/bkp/locations/us-east1/backupPlans/sql-daily",
            "state": "ACTIVE", "dataSource": VAULT["name"] + "/dataSources/ds-1",
            "rulesConfigInfo": [{"ruleId": "daily", "lastBackupState": "FAILED",
                                 "lastSuccessfulBackupConsistencyTime": "2026-09-28T02:10:00Z",
                                 "lastBackupError": {"code": 9, "message": "Instance is not running."}}],
            "cloudSqlInstanceBackupPlanAssociationProperties": {"instanceCreateTime": "2026-01-02T00:00:00Z"}}
    found = bdr.association(data, "ev")
    assert found.store == "//cloudsql.googleapis.com/projects/p/instances/db"
    (rule,) = found.rules
    assert (rule.last_state, rule.last_error) == ("FAILED", "Instance is not running.")
    assert rule.last_success == datetime(2026, 9, 28, 2, 10, tzinfo=UTC)
    pending = bdr.association({**data, "rulesConfigInfo": [{"ruleId": "daily", "lastBackupState": "FIRST_BACKUP_PENDING"}]}, "ev")
    assert pending.rules[0].last_success is None and pending.rules[0].last_error is None
    assert bdr.association({**data, "resource": None}, "ev") is None


@pytest.mark.parametrize("resource,kind,expected", [
    ("projects/p/instances/db", "sqladmin.googleapis.com/Instance", "//cloudsql.googleapis.com/projects/p/instances/db"),
    ("//sqladmin.googleapis.com/projects/p/instances/db", None, "//cloudsql.googleapis.com/projects/p/instances/db"),
    ("//cloudsql.googleapis.com/projects/p/instances/db", "sql.googleapis.com/Instance", "//cloudsql.googleapis.com/projects/p/instances/db"),
    ("projects/p/zones/us-east1-b/disks/d1", "compute.googleapis.com/Disk", "//compute.googleapis.com/projects/p/zones/us-east1-b/disks/d1"),
    (None, None, None),
])
def test_store_names(resource, kind, expected):
    assert bdr.store_of(resource, kind) == expected


def test_data_source_and_its_backups():
    ds_data = {"name": VAULT["name"] + "/dataSources/ds-1", "state": "ACTIVE", "configState": "ACTIVE", "backupCount": "30",
               "backupConfigInfo": {"lastBackupState": "SUCCEEDED", "lastSuccessfulBackupConsistencyTime": "2026-09-29T02:15:00Z",
                                    "gcpBackupConfig": {"backupPlan": "projects/bkp/locations/us-east1/backupPlans/sql-daily",
                                                        "backupPlanAssociation": "projects/p/locations/us-east1/backupPlanAssociations/bpa-1"}},
               "dataSourceGcpResource": {"gcpResourcename": "projects/p/instances/db", "location": "us-east1",
                                         "type": "sqladmin.googleapis.com/Instance"}}
    source = bdr.data_source(ds_data, "ev")
    assert (source.vault, source.store, source.backup_count, source.last_state) == (
        VAULT["name"], "//cloudsql.googleapis.com/projects/p/instances/db", 30, "SUCCEEDED")
    item = {"name": ds_data["name"] + "/backups/b-20260929", "state": "ACTIVE", "backupType": "SCHEDULED",
            "consistencyTime": "2026-09-29T02:15:00Z", "createTime": "2026-09-29T02:16:00Z",
            "enforcedRetentionEndTime": "2026-10-29T02:15:00Z", "expireTime": "2026-11-03T02:15:00Z",
            "gcpBackupPlanInfo": {"backupPlan": "projects/bkp/locations/us-east1/backupPlans/sql-daily", "backupPlanRuleId": "daily"},
            "cloudSqlInstanceBackupProperties": {"sourceInstance": "projects/p/instances/db", "finalBackup": False,
                                                 "databaseInstalledVersion": "POSTGRES_15_8"},
            "kmsKeyVersions": ["projects/p/locations/us-west1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"],
            "verificationSummary": {"lastVerificationState": "SUCCEEDED", "lastVerificationTime": "2026-09-29T06:00:00Z"}}
    backup = bdr.backup(item, "ev2", source)
    assert (backup.instance, backup.kind, backup.usable, backup.location) == (source.store, "SCHEDULED", True, "us-west1")
    assert backup.enforced_until == datetime(2026, 10, 29, 2, 15, tzinfo=UTC) and backup.expires_at.month == 11
    assert backup.kms_key == "projects/p/locations/us-west1/keyRings/r/cryptoKeys/k" and backup.vault == VAULT["name"]
    assert (backup.verified, backup.verified_at) == ("SUCCEEDED", datetime(2026, 9, 29, 6, tzinfo=UTC))
    # a minimal, older answer: no verification, no key versions, no type; the store from its own properties
    bare = bdr.backup({"name": item["name"], "state": "CREATING",
                       "cloudSqlInstanceBackupProperties": {"sourceInstance": "projects/p/instances/db"}}, "ev3")
    assert (bare.usable, bare.verified, bare.kms_key, bare.kind) == (False, None, None, "BACKUP_TYPE_UNSPECIFIED")
    assert bdr.backup({"name": item["name"], "state": "ACTIVE"}, "ev4") is None  # nothing names its store
    final = bdr.backup({**item, "cloudSqlInstanceBackupProperties": {"sourceInstance": "projects/p/instances/db", "finalBackup": True,
                                                                     "instanceDeleteTime": "2026-08-01T00:00:00Z"}}, "ev5")
    assert final.instance_deleted_at == datetime(2026, 8, 1, tzinfo=UTC)


@pytest.mark.parametrize("state", ["CREATING", "ACTIVE", "DELETING", "ERROR", "UPLOADING"])
def test_every_backupdr_backup_state(state):
    item = {"name": VAULT["name"] + "/dataSources/d/backups/b", "state": state,
            "gcpResource": {"gcpResourcename": "projects/p/instances/db", "type": "sqladmin.googleapis.com/Instance"}}
    assert bdr.backup(item, "ev").usable is (state == "ACTIVE")


def test_protection_summary_and_restore_verification_plan():
    data = {"name": "projects/p/locations/us-east1/resourceBackupConfigs/x", "targetResource": "//sqladmin.googleapis.com/projects/p/instances/db",
            "targetResourceType": "CLOUD_SQL_INSTANCE", "backupConfigured": True, "vaulted": True,
            "backupConfigsDetails": [{"type": "BACKUPDR_BACKUP_PLAN", "state": "ACTIVE", "backupConfigSource": "projects/bkp/locations/us-east1/backupPlans/sql-daily",
                                      "backupVault": VAULT["name"], "latestSuccessfulBackupTime": "2026-09-29T02:15:00Z",
                                      "backupLocations": [{"locationId": "us-west1", "type": "REGIONAL"}]},
                                     {"type": "CLOUD_SQL_INSTANCE_BACKUP_CONFIG", "state": "INACTIVE"}]}
    found = bdr.summary(data, "ev")
    assert found.target == "//cloudsql.googleapis.com/projects/p/instances/db" and found.vaulted and found.locations == ("us-west1",)
    assert found.latest_success == datetime(2026, 9, 29, 2, 15, tzinfo=UTC) and found.vaults == (VAULT["name"],)
    plan = bdr.verification_plan({"name": "projects/bkp/locations/us-east1/restoreVerificationPlans/weekly",
                                  "schedule": "0 6 * * 1", "state": "ACTIVE"}, "ev")
    assert (plan.project, plan.schedule, plan.time_zone) == ("bkp", "0 6 * * 1", "UTC")


def test_unreachable_locations_and_durations():
    (mark,) = partial_marks({"backupVaults": [], "unreachable": ["europe-west4"]})
    assert "europe-west4" in mark
    assert partial_marks({"backupVaults": []}) == []
    assert bdr.duration("86400s") == timedelta(days=1) and bdr.duration("1.5s") == timedelta(seconds=1.5)
    assert bdr.duration("P1D") is None and bdr.duration(86400) is None
    assert bdr.named_projects("projects/bkp/locations/us-east1/backupPlans/x", None, "bad") == {"bkp"}
