"""Facts about backups beyond Cloud SQL's automated runs: every kind of Cloud SQL backup, and Backup and DR.

Three sources feed these, each read by its own pure reader module:
- `auditor.facts.sqlengine`: an instance's settings read per engine and edition (PITR switch,
  log retention bounds, backup tier, what happens to backups on deletion);
- `auditor.facts.sqlbackups`: the Cloud SQL v1 `Backups` resource (AUTOMATED, ON_DEMAND, FINAL)
  and the ON_DEMAND backup runs the frequency facts leave out;
- `auditor.facts.read_backupdr`: Google Cloud Backup and DR (vaults, plans, associations, data
  sources and their backups, the protection summary, restore verification plans).

Every retained backup, whatever its source, becomes one `RetainedBackup`: the shape the protection
model's "backups" take (time, kind, location, key or key version, retention end, state), so the
placement, encryption and retention controls judge one list.
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
class ListingPartial:
    """A listing that answered but said it is incomplete (REGION_UNREACHABLE, `unreachable[]`)."""

    api: str
    method: str
    scope: str
    where: tuple[str, ...]  # the regions or locations it could not reach
    call_id: str


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
class ValidationRecord:
    """One record of what was checked after a restore (the data map's `restore_validations`, auditor.inventory.Validation), as stored in the locker."""

    date: object  # datetime.date
    store: str
    backup_id: str
    check: str
    result: str  # pass | fail
    by: str
    restored_to: str | None
    evidence: tuple[str, ...] = ()


@dataclass
class BackupFacts:
    """Everything the readers above produce, as lists (deduplicated by name once every locker is read)."""

    engines: dict[str, EngineSettings] = field(default_factory=dict)  # instance resource -> its latest reading
    retained: list[RetainedBackup] = field(default_factory=list)
    partial: list[ListingPartial] = field(default_factory=list)
    vaults: list[BackupVault] = field(default_factory=list)
    plans: list[BackupPlan] = field(default_factory=list)
    associations: list[PlanAssociation] = field(default_factory=list)
    data_sources: list[DataSource] = field(default_factory=list)
    summaries: list[ProtectionSummary] = field(default_factory=list)
    verification_plans: list[RestoreVerificationPlan] = field(default_factory=list)
    deleted_instances: dict[str, dict] = field(default_factory=dict)  # resource -> the final backup's instance snapshot
    validations: list[ValidationRecord] = field(default_factory=list)

    def dedupe(self) -> None:
        self.retained = list({b.key: b for b in self.retained}.values())
        for name in ("vaults", "plans", "associations", "data_sources", "verification_plans"):
            setattr(self, name, list({x.name: x for x in getattr(self, name)}.values()))
        self.summaries = list({s.target: s for s in self.summaries}.values())

    def retained_of(self, resource: str) -> list[RetainedBackup]:
        """Every retained backup of a store, each once: a backup run and the Backups resource entry that maps to
        it (`backupRun`) are one backup; the Backups entry is kept (it carries the key and the expiry)."""
        index = self.__dict__.get("_by_store")
        if index is None or index[0] != len(self.retained):
            grouped: dict[str, list[RetainedBackup]] = {}
            for backup in self.retained:
                grouped.setdefault(backup.instance, []).append(backup)
            index = self.__dict__["_by_store"] = (len(self.retained), grouped)
        mine = index[1].get(resource, [])
        mapped = {b.run_id for b in mine if b.source == "sql-backups" and b.run_id}
        return sorted((b for b in mine if not (b.source == "backup-run" and b.run_id in mapped)),
                      key=lambda b: (b.taken_at is None, b.taken_at or 0, b.key))

    def vault(self, name: str | None) -> BackupVault | None:
        return next((v for v in self.vaults if v.name == name), None) if name else None
