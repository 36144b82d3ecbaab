"""The protection model for every Cloud SQL backup kind and for Backup and DR, built from facts assembled by hand.

Expected copies and reads are reasoned from the rules (each retained backup once; an ENHANCED instance's
backups are its Backup and DR data sources' backups; a read missing on the way makes them Unknown, naming it).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from auditor.facts.backup_model import BackupPlan, BackupRule, BackupSchedule, BackupVault, DataSource, PlanAssociation, RetainedBackup, RuleState
from auditor.facts.build import assemble
from auditor.facts.known import Known, Unknown
from auditor.facts.model import BackupAttempt, SqlInstance

UTC = timezone.utc
NOW = datetime(2026, 9, 30, 2, tzinfo=UTC)
DB = "//cloudsql.googleapis.com/projects/p/instances/db"
VAULT = "projects/bkp/locations/us-west1/backupVaults/v"
SOURCE = VAULT + "/dataSources/ds"
PLAN = "projects/bkp/locations/us-west1/backupPlans/daily"


def instance(tier: str | None = None) -> SqlInstance:
    return SqlInstance(resource=DB, project="p", name="db", region="us-east1", database_version="POSTGRES_16", state="RUNNABLE",
                       instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS", labels={}, create_time=None,
                       backup_enabled=True, backup_start_time=time(3, tzinfo=UTC), backup_location="us-west1",
                       pitr_enabled=True, log_retention_days=7, retained_backups=7, backup_tier=tier, kms_key=None, master=None,
                       evidence=("e-inst",))


def retained(key: str, kind: str, source: str, run_id: str | None, at: datetime, location: str = "us-west1") -> RetainedBackup:
    return RetainedBackup(DB, key, kind, "SUCCESSFUL", True, at, location, None, None, None, source, ("e",), run_id=run_id)


def test_each_retained_backup_once_whatever_lists_it():
    day = datetime(2026, 9, 28, 3, 20, tzinfo=UTC)
    run = BackupAttempt(DB, day, "succeeded", "backup-run", "SUCCESSFUL", day, "run:p/db/100", ("e-run",), "us-west1")
    backups = [retained("sqlbackup:projects/p/backups/100", "AUTOMATED", "sql-backups", "100", day),          # that run again
               retained("run:p/db/200", "ON_DEMAND", "backup-run", "200", day + timedelta(hours=5)),
               retained("sqlbackup:projects/p/backups/200", "ON_DEMAND", "sql-backups", "200", day + timedelta(hours=4), "us-east4"),
               retained("sqlbackup:projects/p/backups/300", "FINAL", "sql-backups", None, day + timedelta(days=1))]
    facts = assemble(NOW, ["p"], items={"sql_instances": [instance()], "backup_runs": [run], "sql_backups": backups},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                               ("sqladmin", "Backups.list", "projects/p")])
    copies = facts.backup_copies.of(DB)
    assert isinstance(copies, Known)
    assert sorted((c.kind, c.location) for c in copies.items) == [("automated", "us-west1"), ("final", "us-west1"),
                                                                 ("on-demand", "us-east4")]  # the Backups entry, not the run


def test_an_unread_backups_listing_leaves_the_copies_unknown():
    facts = assemble(NOW, ["p"], items={"sql_instances": [instance()]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p")])
    copies = facts.backup_copies.of(DB)
    assert isinstance(copies, Unknown) and "Backups.list" in copies.describe()


def _bdr_items(with_backups: bool = True) -> dict:
    rule = BackupRule("daily", 30, BackupSchedule("DAILY", None, (), (), "UTC", 2, 6))
    out = {
        "sql_instances": [instance("ENHANCED")],
        "backupdr_associations": [PlanAssociation("projects/p/locations/us-east1/backupPlanAssociations/db", "p", "us-east1",
                                                  "projects/p/instances/db", DB, "sqladmin.googleapis.com/Instance", PLAN, SOURCE,
                                                  "ACTIVE", (RuleState("daily", "FAILED", NOW - timedelta(days=1), "denied"),), None)],
        "backupdr_plans": [BackupPlan(PLAN, "bkp", "us-west1", "sqladmin.googleapis.com/Instance", VAULT, "ACTIVE", (rule,), None)],
        "backupdr_vaults": [BackupVault(VAULT, "bkp", "us-west1", "ACTIVE", timedelta(days=14), datetime(2026, 1, 1, tzinfo=UTC),
                                        None, None, None, None)],
        "backupdr_data_sources": [DataSource(SOURCE, VAULT, DB, None, "ACTIVE", "ACTIVE", 1, "FAILED", None, PLAN, None)],
    }
    if with_backups:
        out["backupdr_backups"] = [RetainedBackup(DB, f"backupdr:{SOURCE}/backups/b1", "SCHEDULED", "ACTIVE", True,
                                                  NOW - timedelta(days=1), "us-west1", None, None, NOW + timedelta(days=29),
                                                  "backupdr", ("e-b",), vault=VAULT)]
    return out


BDR_READS = [("sqladmin", "instances.list", "projects/p"), ("backupdr", "backupPlanAssociations.list", "projects/p"),
             ("backupdr", "backupPlans.list", "projects/bkp"), ("backupdr", "backupVaults.list", "projects/bkp"),
             ("backupdr", "dataSources.list", VAULT), ("backupdr", "dataSources.backups.list", SOURCE)]


def test_an_enhanced_instance_is_protected_by_its_backupdr_plan_and_vault():
    facts = assemble(NOW, ["p"], items=_bdr_items(), answered=BDR_READS)
    (protection,) = facts.protection.of(DB).protections
    assert protection.origin == "backup-and-dr-plan"
    detail, copies = facts.backupdr.of(DB), facts.backup_copies.of(DB)
    assert detail.retention_days() == 30 and [v.location for v in detail.vaults] == ["us-west1"]
    assert isinstance(copies, Known) and [c.kind for c in copies.items] == ["automated"]
    assert detail.immutable_at(NOW) and detail.window_start_hour() == 2
    assert detail.failing() == [f"rule daily: last backup FAILED (denied); last success {NOW - timedelta(days=1):%Y-%m-%d %H:%M} UTC"]


def test_a_backup_project_never_read_makes_the_backups_unknown_naming_it():
    reads = [r for r in BDR_READS if r[2] not in ("projects/bkp", VAULT, SOURCE)]
    facts = assemble(NOW, ["p"], items=_bdr_items(with_backups=False), answered=reads)
    backups = facts.backup_copies.of(DB)
    assert isinstance(backups, Unknown)
    assert "projects/bkp" in backups.describe()
