"""The protection model: every store type mapped into store / protection / backups.

- the **store**: its type, location, labels (classification) and live encryption;
- its **protection**: schedule, retention, target location and immutability, and where that comes
  from (`origin`): the service's own setting (Cloud SQL automated backups, a bucket's retention
  policy), a snapshot schedule, or a Backup and DR plan;
- its **backups**: each copy's time, kind, location, key (version), retention end and state, as a
  Known/Unknown read: "no backups" is said only of a listing that was read in full.

Two views, because they rest on different calls: `facts.protection` (store and protection, from the
configuration reads) and `facts.backup_copies` (the copies, from the backup listings). A check
declares the one it reads, so a failed backup listing concerns only the checks that read copies.

Checks judge the model, so a new store type is a source module that fills it (issue 14 adds Backup
and DR plans, disks' snapshot schedules ...), not a new check. Today Cloud SQL instances and
Cloud Storage buckets are mapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from auditor.facts.known import Known, Scoped, Unknown
from auditor.facts.model import BackupAttempt, SqlInstance
from auditor.facts.stores import BUCKET_TYPE, SQL_TYPE, Bucket

SERVICE_SETTING = "service-setting"
SNAPSHOT_SCHEDULE = "snapshot-schedule"
BACKUP_AND_DR = "backup-and-dr-plan"


@dataclass(frozen=True)
class StoreFacet:
    resource: str
    store_type: str
    location: str | None
    labels: dict[str, str]
    live_key: str | None  # CMEK key of the live data (None: Google-managed)
    live_key_version: str | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Protection:
    origin: str  # service-setting | snapshot-schedule | backup-and-dr-plan
    enabled: bool | None
    schedule: str | None  # e.g. "daily at 03:00 UTC"
    retention_count: int | None
    retention_days: float | None
    target_location: str | None  # configured backup location (None: the service's default)
    immutable: bool | None  # locked retention, Backup and DR enforced retention ...
    managed_elsewhere: bool = False  # the service setting hands backups to another system (backupTier ENHANCED)
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackupCopy:
    resource: str
    time: datetime
    kind: str  # automated | on-demand | snapshot ...
    location: str | None
    key: str | None
    key_version: str | None
    retention_end: datetime | None
    state: str  # succeeded | failed | running | skipped | other
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Protected:
    store: StoreFacet
    protections: tuple[Protection, ...]


def _copy(run: BackupAttempt) -> BackupCopy:
    return BackupCopy(run.instance, run.window_start, "automated", run.location, run.kms_key, run.kms_key_version, None,
                      run.outcome, run.evidence)


def sql_protected(instance: SqlInstance) -> Protected:
    store = StoreFacet(instance.resource, SQL_TYPE, instance.region, instance.labels, instance.kms_key,
                       instance.kms_key_version, instance.evidence)
    enhanced = instance.backup_tier == "ENHANCED"
    schedule = f"daily at {instance.backup_start_time:%H:%M} UTC" if instance.backup_start_time else None
    protection = Protection(BACKUP_AND_DR if enhanced else SERVICE_SETTING, instance.backup_enabled, schedule,
                            instance.retained_backups, None, instance.backup_location, None, managed_elsewhere=enhanced,
                            evidence=instance.evidence)
    return Protected(store, (protection,))


def bucket_protected(bucket: Bucket) -> Protected:
    store = StoreFacet(bucket.resource, BUCKET_TYPE, bucket.location, bucket.labels, bucket.kms_key, None, bucket.evidence)
    protection = Protection(SERVICE_SETTING, bucket.retention_seconds is not None, None, None, bucket.retention_days,
                            bucket.location, bucket.retention_locked, evidence=bucket.evidence)
    return Protected(store, (protection,))


class ProtectionModel:
    """Protected stores by full resource name (frozen once built)."""

    def __init__(self, stores: dict[str, Protected]) -> None:
        self._stores = stores

    def of(self, resource: str) -> Protected | None:
        return self._stores.get(resource)

    def resources(self) -> list[str]:
        return sorted(self._stores)


class BackupCopies:
    """The retained copies of each store, Known or Unknown per the listing that shows them."""

    def __init__(self, runs: Scoped[BackupAttempt]) -> None:
        self._runs = runs

    def of(self, resource: str) -> Known[BackupCopy] | Unknown:
        runs = self._runs.of(resource)
        if isinstance(runs, Unknown):
            return runs
        return Known(runs.scope, tuple(_copy(r) for r in runs.items), runs.calls)


def build_protection(instances: list[SqlInstance], buckets: list[Bucket]) -> ProtectionModel:
    stores: dict[str, Protected] = {}
    for instance in instances:
        stores[instance.resource] = sql_protected(instance)
    for bucket in buckets:
        stores[bucket.resource] = bucket_protected(bucket)
    return ProtectionModel(stores)


def succeeded(backups: Known[BackupCopy]) -> list[BackupCopy]:
    return sorted((b for b in backups.items if b.state == "succeeded"), key=lambda b: b.time)
