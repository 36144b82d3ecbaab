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

Checks judge the model, so a new store type is a source module that fills it, not a new check.
Cloud SQL instances and Cloud Storage buckets are mapped. A Cloud SQL instance's copies are every
retained backup of every kind: the automated runs, the Backups resource's ON_DEMAND and FINAL ones
and the on-demand runs (`sql_backups`), each once. An ENHANCED-tier instance's copies are those of
its Backup and DR data sources, and `facts.backupdr` holds what Backup and DR says of it (its plan's
retention and daily window, its vault's location and lock, the last backup's state); the vault often
lives in another project, and a read missing there (a failed call, or a project the run never
listed) makes its copies Unknown, naming that project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditor.facts.known import CallGap, Known, Scoped, Unknown
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


KINDS = {"AUTOMATED": "automated", "ON_DEMAND": "on-demand", "FINAL": "final", "SCHEDULED": "automated",
         "ON_DEMAND_OPERATIONAL": "on-demand"}


def _retained_copy(backup: Any) -> BackupCopy:
    return BackupCopy(backup.instance, backup.taken_at, KINDS.get(backup.kind, backup.kind.lower()), backup.location,
                      backup.kms_key, backup.kms_key_version, backup.expires_at,
                      "succeeded" if backup.usable else backup.state.lower(), backup.evidence)


def _merge(runs: Known[BackupAttempt] | Unknown, others: Known[Any] | Unknown | None) -> Known[BackupCopy] | Unknown:
    """Automated runs plus every other retained backup (Backups.list, on-demand runs), each once: a Backups
    entry that maps to a run (`backupRun`) is that run."""
    if not isinstance(runs, Known):
        return runs
    copies = [_copy(r) for r in runs.items]
    if others is None:
        return Known(runs.scope, tuple(copies), runs.calls)
    if not isinstance(others, Known):
        return others
    automated = {r.key.rsplit("/", 1)[-1] for r in runs.items}
    listed = {b.run_id for b in others.items if b.source == "sql-backups" and b.run_id}
    for backup in others.items:
        if backup.taken_at is None:
            continue
        if backup.source == "sql-backups" and backup.run_id in automated:
            continue  # that automated run is already counted, as a run
        if backup.source == "backup-run" and backup.run_id in listed:
            continue  # the Backups entry for this on-demand run is counted instead (it carries the key and the expiry)
        copies.append(_retained_copy(backup))
    return Known(runs.scope, tuple(copies), tuple(dict.fromkeys(runs.calls + others.calls)))


@dataclass(frozen=True)
class BackupdrDetail:
    """What Backup and DR says about one protected store: its associations, plans, vaults, data sources and
    backups, and every read that is missing on the way (then its copies are Unknown)."""

    associations: tuple[Any, ...]  # auditor.facts.backup_model.PlanAssociation
    plans: tuple[Any, ...]
    vaults: tuple[Any, ...]
    sources: tuple[Any, ...]
    backups: tuple[Any, ...]  # RetainedBackup (with verification results)
    missing: tuple[CallGap, ...] = ()
    # restores of its backups (VaultRestore, from the vault project's operations.list), and the reads of them missing:
    # kept apart, since only restore testing reads them (a failed operations listing leaves the backups known)
    restores: tuple[Any, ...] = ()
    restores_missing: tuple[CallGap, ...] = ()
    # restore verification plans of the projects holding its vaults (RestoreVerificationPlan): what schedules the
    # verifications its backups' verificationSummary reports (context for them; a plan alone proves no restore)
    verification_plans: tuple[Any, ...] = ()

    @property
    def rules(self) -> list[Any]:
        return [r for p in self.plans for r in p.rules]

    @property
    def unprotected(self) -> bool:
        """Read in full, and no association names the store: nothing backs it up."""
        return not self.associations and not self.missing

    def window_start_hour(self) -> int | None:
        hours = [r.schedule.window_start_hour for r in self.rules if r.schedule and r.schedule.window_start_hour is not None]
        return min(hours) if hours else None

    def window_hours(self) -> int | None:
        spans = [(r.schedule.window_end_hour or 24) - (r.schedule.window_start_hour or 0) for r in self.rules
                 if r.schedule and r.schedule.window_start_hour is not None]
        return max(spans) if spans else None

    def retention_days(self) -> int | None:
        days = [r.retention_days for r in self.rules if r.retention_days]
        return min(days) if days else None

    def failing(self) -> list[str]:
        """Rules whose last backup did not succeed, in words."""
        out = []
        for association in self.associations:
            for rule in association.rules:
                if rule.last_state not in ("SUCCEEDED", "FIRST_BACKUP_PENDING", None):
                    last = f"; last success {rule.last_success:%Y-%m-%d %H:%M} UTC" if rule.last_success else ""
                    error = f" ({rule.last_error})" if rule.last_error else ""
                    out.append(f"rule {rule.rule_id}: last backup {rule.last_state}{error}{last}")
        return out

    def immutable_at(self, moment: datetime) -> bool:
        return bool(self.vaults) and all(v.immutable_at(moment) for v in self.vaults)

    @property
    def evidence(self) -> tuple[str, ...]:
        return tuple(e for x in (*self.associations, *self.plans, *self.vaults, *self.sources) for e in x.evidence)


def _read(collection: Scoped[Any], scope: str, missing: list[CallGap]) -> tuple[Any, ...]:
    state = collection.at(scope)
    if isinstance(state, Known):
        return state.items
    missing.extend(state.gaps)
    return ()


def backupdr_detail(resource: str, project: str, collections: dict[str, Scoped[Any]]) -> BackupdrDetail:
    """Follow a store from its project's associations to the plan, the vault (often in a backup project),
    its data source and that data source's backups; every read missing on the way is kept."""
    from auditor.facts.read_backupdr import project_and_location

    missing: list[CallGap] = []
    restores: list[Any] = []
    restores_missing: list[CallGap] = []
    verification_plans: list[Any] = []
    associations = [a for a in _read(collections["backupdr_associations"], f"projects/{project}", missing) if a.store == resource]
    plans, vaults, sources, backups = [], [], [], []
    for association in associations:
        where = project_and_location(association.plan)
        if where:
            plans += [p for p in _read(collections["backupdr_plans"], f"projects/{where[0]}", missing) if p.name == association.plan]
        vault_name = association.data_source.split("/dataSources/")[0] if association.data_source else None
        vault_name = vault_name or next((p.vault for p in plans if p.vault), None)
        vault_where = project_and_location(vault_name)
        if not vault_name or not vault_where:
            continue
        vaults += [v for v in _read(collections["backupdr_vaults"], f"projects/{vault_where[0]}", missing) if v.name == vault_name]
        mine = [d for d in _read(collections["backupdr_data_sources"], vault_name, missing)
                if d.store == resource or d.name == association.data_source]
        sources += mine
        for source in mine:
            backups += [b for b in _read(collections["backupdr_backups"], source.name, missing) if b.instance == resource]
        if "backupdr_verification_plans" in collections:
            plans_seen = collections["backupdr_verification_plans"].at(f"projects/{vault_where[0]}")
            verification_plans += list(plans_seen.items) if isinstance(plans_seen, Known) else []
        if "backupdr_restores" in collections:
            names = {d.name for d in mine} | ({association.data_source} if association.data_source else set())
            restores += [r for r in _read(collections["backupdr_restores"], f"projects/{vault_where[0]}", restores_missing)
                         if r.data_source in names]
    unique = list({(g.api, g.method, g.scope): g for g in missing}.values())
    return BackupdrDetail(tuple(associations), tuple({p.name: p for p in plans}.values()), tuple({v.name: v for v in vaults}.values()),
                          tuple(sources), tuple(backups), tuple(unique), tuple({r.name: r for r in restores}.values()),
                          tuple({(g.api, g.method, g.scope): g for g in restores_missing}.values()),
                          tuple({p.name: p for p in verification_plans}.values()))


class BackupdrView:
    """`facts.backupdr`: what Backup and DR says of each ENHANCED-tier Cloud SQL instance (frozen once built)."""

    def __init__(self, details: dict[str, BackupdrDetail]) -> None:
        self._details = details

    def of(self, resource: str) -> BackupdrDetail | None:
        return self._details.get(resource)


def build_backupdr(instances: list[SqlInstance], collections: dict[str, Scoped[Any]]) -> BackupdrView:
    return BackupdrView({i.resource: backupdr_detail(i.resource, i.project, collections)
                         for i in instances if i.backup_tier == "ENHANCED"})


class BackupCopies:
    """The retained copies of each store, Known or Unknown per the listings that show them: every Cloud SQL
    backup kind (runs and the Backups resource, each once), and for an ENHANCED-tier instance its Backup and
    DR backups."""

    def __init__(self, runs: Scoped[BackupAttempt], others: Scoped[Any] | None = None, backupdr: BackupdrView | None = None) -> None:
        self._runs = runs
        self._others = others
        self._backupdr = backupdr

    def of(self, resource: str) -> Known[BackupCopy] | Unknown:
        detail = self._backupdr.of(resource) if self._backupdr is not None else None
        if detail is not None:
            if detail.missing:
                return Unknown(resource, detail.missing)
            return Known(resource, tuple(_retained_copy(b) for b in detail.backups if b.taken_at), ())
        return _merge(self._runs.of(resource), self._others.of(resource) if self._others is not None else None)


def build_protection(instances: list[SqlInstance], buckets: list[Bucket]) -> ProtectionModel:
    stores: dict[str, Protected] = {}
    for instance in instances:
        stores[instance.resource] = sql_protected(instance)
    for bucket in buckets:
        stores[bucket.resource] = bucket_protected(bucket)
    return ProtectionModel(stores)


def succeeded(backups: Known[BackupCopy]) -> list[BackupCopy]:
    return sorted((b for b in backups.items if b.state == "succeeded"), key=lambda b: b.time)
