"""Facts about backups beyond Cloud SQL's automated runs: every kind of Cloud SQL backup, and Backup and DR.

Three sources feed these, each read by its own pure reader module:
- `auditor.facts.sqlengine`: an instance's settings read per engine and edition (PITR switch,
  log retention bounds, backup tier, what happens to backups on deletion);
- `auditor.facts.sqlbackups`: the Cloud SQL v1 `Backups` resource (AUTOMATED, ON_DEMAND, FINAL)
  and the ON_DEMAND backup runs the frequency facts leave out;
- `auditor.facts.read_backupdr`: Google Cloud Backup and DR (vaults, plans, associations, data
  sources and their backups, the protection summary, restore verification plans).
Their source declarations are auditor.facts.sources.sql_backups and auditor.facts.sources.backupdr.

Every retained backup, whatever its source, becomes one `RetainedBackup`; the protection model
(auditor.facts.protection) turns them into its backup copies, so the placement, encryption and
retention controls judge one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class EngineSettings:
    """One instance's backup settings, read the way its engine and edition define them."""

    engine: str | None  # postgres | mysql | sqlserver | None (unknown databaseVersion)
    edition: str | None  # ENTERPRISE | ENTERPRISE_PLUS | DEVELOPER; None: not reported (older answers)
    pitr_enabled: bool | None  # None: the field that decides it for this engine is absent
    pitr_field: str  # the field that decided: binaryLogEnabled (MySQL) or pointInTimeRecoveryEnabled
    log_retention_days: int | None
    log_retention_limit: int  # the most days of logs the edition allows (7 Enterprise, 35 Enterprise Plus)
    log_storage: str | None  # transactionalLogStorageState: DISK | SWITCHING_TO_CLOUD_STORAGE | ...
    backup_tier: str | None  # STANDARD | ENHANCED | ADVANCED (deprecated); None: not reported
    retain_backups_on_delete: bool | None
    final_backup_enabled: bool | None
    final_backup_retention_days: int | None
    deletion_protection: bool | None
    problems: tuple[str, ...] = ()

    @property
    def managed_by_backupdr(self) -> bool:
        return self.backup_tier == "ENHANCED"


@dataclass(frozen=True)
class RetainedBackup:
    """One backup that exists (or existed at the read), from any source, in the protection model's terms."""

    instance: str  # full resource name of the store it is a backup of
    key: str  # stable across lockers: run:P/I/ID, sqlbackup:projects/P/backups/ID, backupdr:NAME
    kind: str  # AUTOMATED | ON_DEMAND | FINAL (Cloud SQL); SCHEDULED | ON_DEMAND | ON_DEMAND_OPERATIONAL (Backup and DR)
    state: str  # the API's own state or status word
    usable: bool  # SUCCESSFUL (Cloud SQL) or ACTIVE (Backup and DR): a backup one can restore from
    taken_at: datetime | None  # all writes up to this time are in the backup
    location: str | None  # lower case, as Cloud SQL writes regions
    kms_key: str | None
    kms_key_version: str | None
    expires_at: datetime | None
    source: str  # backup-run | sql-backups | backupdr
    evidence: tuple[str, ...] = ()
    enforced_until: datetime | None = None  # Backup and DR: cannot be deleted before this
    instance_deleted_at: datetime | None = None  # a FINAL backup: when its instance was deleted
    vault: str | None = None  # Backup and DR: the vault holding it
    run_id: str | None = None  # the backup run this backup is (Cloud SQL), to count it once
    verified: str | None = None  # Backup and DR verificationSummary.lastVerificationState
    verified_at: datetime | None = None
    source_region: str | None = None  # from the backup's own snapshot of its instance (deleted instances)
    source_labels: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class BackupVault:
    name: str
    project: str
    location: str  # parsed from the name: the resource has no location field
    state: str | None
    minimum_enforced_retention: timedelta | None
    locked_from: datetime | None  # effectiveTime: the vault is locked after this
    access_restriction: str | None
    retention_inheritance: str | None
    kms_key: str | None
    backup_count: int | None
    evidence: tuple[str, ...] = ()

    def immutable_at(self, moment: datetime) -> bool:
        """Enforced retention in force and locked: nobody can shorten it or delete a backup early."""
        return bool(self.minimum_enforced_retention and self.minimum_enforced_retention > timedelta(0)
                    and self.locked_from is not None and self.locked_from <= moment and self.state == "ACTIVE")


@dataclass(frozen=True)
class BackupSchedule:
    recurrence: str | None  # HOURLY | DAILY | WEEKLY | MONTHLY | YEARLY
    hourly_frequency: int | None
    days_of_week: tuple[str, ...]
    days_of_month: tuple[int, ...]
    time_zone: str | None
    window_start_hour: int | None
    window_end_hour: int | None

    def interval(self) -> timedelta | None:
        """The longest time between two scheduled backups, where the schedule makes it plain."""
        if self.recurrence == "HOURLY" and self.hourly_frequency:
            return timedelta(hours=self.hourly_frequency)
        if self.recurrence == "DAILY":
            return timedelta(days=1)
        if self.recurrence == "WEEKLY":
            return timedelta(days=7)
        return None


@dataclass(frozen=True)
class BackupRule:
    rule_id: str
    retention_days: int | None
    schedule: BackupSchedule | None


@dataclass(frozen=True)
class BackupPlan:
    name: str
    project: str
    location: str
    resource_type: str | None
    vault: str | None
    state: str | None
    rules: tuple[BackupRule, ...]
    log_retention_days: int | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleState:
    rule_id: str
    last_state: str | None  # FIRST_BACKUP_PENDING | PERMISSION_DENIED | SUCCEEDED | FAILED
    last_success: datetime | None  # lastSuccessfulBackupConsistencyTime
    last_error: str | None


@dataclass(frozen=True)
class PlanAssociation:
    name: str
    project: str
    location: str
    resource: str  # as the API writes it (a full resource name or a projects/... path)
    store: str | None  # the store's full resource name, where it could be worked out
    resource_type: str | None
    plan: str | None
    data_source: str | None
    state: str | None
    rules: tuple[RuleState, ...]
    instance_create_time: datetime | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataSource:
    name: str
    vault: str
    store: str | None
    resource_type: str | None
    state: str | None
    config_state: str | None  # ACTIVE (protected) | PASSIVE (no longer protected) | PAUSED
    backup_count: int | None
    last_state: str | None
    last_success: datetime | None
    plan: str | None
    association: str | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProtectionSummary:
    """resourceBackupConfigs: Google's own list of which resources are protected, and how."""

    target: str  # CAIS full resource name
    target_type: str | None
    configured: bool | None
    vaulted: bool | None
    sources: tuple[str, ...]  # backupConfigSource of each detail
    vaults: tuple[str, ...]
    latest_success: datetime | None
    locations: tuple[str, ...]
    evidence: tuple[str, ...] = ()
    # (type, state, backupConfigSource) of each backupConfigsDetails entry: BACKUPDR_BACKUP_PLAN (source: the plan),
    # CLOUD_SQL_INSTANCE_BACKUP_CONFIG, COMPUTE_ENGINE_RESOURCE_POLICY, BACKUPDR_TEMPLATE; state ACTIVE|INACTIVE|ERROR
    details: tuple[tuple[str | None, str | None, str | None], ...] = ()

    @property
    def plans(self) -> tuple[str, ...]:
        """The Backup and DR backup plans Google says protect the resource (active or not)."""
        return tuple(source for kind, _state, source in self.details if kind == "BACKUPDR_BACKUP_PLAN" and source)

    @property
    def active_plans(self) -> tuple[str, ...]:
        return tuple(source for kind, state, source in self.details
                     if kind == "BACKUPDR_BACKUP_PLAN" and source and state in (None, "ACTIVE"))


@dataclass(frozen=True)
class RestoreVerificationPlan:
    name: str
    project: str
    location: str
    schedule: str | None
    time_zone: str | None
    state: str | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class CloneRecord:
    """A Cloud SQL clone as the Admin Activity log records it (`cloudsql.instances.clone`): a long-running
    method logged at its start (with the request's `cloneContext`) and at its end (same `operation.id`).
    With `pointInTime` (or MySQL `binLogCoordinates`) it restored the instance's backup plus its logs to
    that moment: a restore test; without, it copied the live data, which proves nothing about a backup."""

    instance: str  # the source: the store the clone tests
    operation: str  # operation.id, or the first entry's insertId when the entry carries none
    destination: str | None  # the instance it created (full resource name)
    point_in_time: datetime | None  # cloneContext.pointInTime
    bin_log: str | None  # cloneContext.binLogCoordinates (MySQL), "file:position"
    started: datetime | None  # the first entry's timestamp
    ended: datetime | None  # the last entry's timestamp (None: not seen ending)
    error: str | None  # the last entry's status message, if it failed
    principal: str | None
    evidence: tuple[str, ...] = ()

    @property
    def to_point_in_time(self) -> bool:
        return self.point_in_time is not None or self.bin_log is not None


@dataclass(frozen=True)
class VaultRestore:
    """A restore of a Backup and DR backup (backups.restore), as the vault project's long-running operation shows it
    (operations.list): metadata `verb` "restore", `target` the backup, `createTime`/`endTime`; `error` or
    `response.targetResource` (the resource restored into)."""

    name: str
    backup: str  # the backup restored (…/backupVaults/V/dataSources/D/backups/B)
    started: datetime | None
    ended: datetime | None
    done: bool
    error: str | None
    into: str | None  # the restored resource's full name, where the response names it
    evidence: tuple[str, ...] = ()

    @property
    def data_source(self) -> str:
        return self.backup.split("/backups/")[0]
