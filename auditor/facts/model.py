"""Typed facts: what the evidence says, with the evidence ids that say it. Checks see only these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from auditor.facts.controls import AlertPolicy, KmsKey, KmsKeyVersion, LogMetric, NotificationChannel, SqlOperation
from auditor.facts.backup_model import BackupFacts
from auditor.facts.stores import StoreFacts
from auditor.facts.source_model import SourceFacts


def sql_resource(project: str, instance: str) -> str:
    return f"//cloudsql.googleapis.com/projects/{project}/instances/{instance}"


def project_resource(project: str) -> str:
    return f"//cloudresourcemanager.googleapis.com/projects/{project}"


@dataclass(frozen=True)
class CallGap:
    """A call whose answer is missing or incomplete, and why: the root of every `inconclusive`."""

    api: str
    method: str
    scope: str
    kind: str
    reason: str | None
    message: str
    http_status: int | None
    call_id: str

    def describe(self) -> str:
        from auditor.evidence.failure import KIND_WORDS

        words = KIND_WORDS.get(self.kind, self.kind)
        code = f" ({self.reason})" if self.reason else (f" (HTTP {self.http_status})" if self.http_status else "")
        return f"{self.api} {self.method} for {self.scope}: {words}{code}"


@dataclass(frozen=True)
class SqlInstance:
    resource: str
    project: str
    name: str
    region: str | None
    database_version: str | None
    state: str | None
    instance_type: str | None
    activation_policy: str | None
    labels: dict[str, str]
    create_time: datetime | None
    backup_enabled: bool | None
    backup_start_time: time | None
    backup_location: str | None
    pitr_enabled: bool | None
    log_retention_days: int | None
    retained_backups: int | None
    backup_tier: str | None
    kms_key: str | None
    master: str | None
    raw_settings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    evidence: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    kms_key_version: str | None = None  # diskEncryptionStatus.kmsKeyVersionName: the live data's key version
    observed_at: datetime | None = None  # when this configuration was read (the call's server Date)

    @property
    def is_replica(self) -> bool:
        return self.instance_type in ("READ_REPLICA_INSTANCE", "READ_POOL_INSTANCE") or bool(self.master)

    @property
    def display(self) -> str:
        return f"{self.project}/{self.name}"


@dataclass(frozen=True)
class BackupAttempt:
    """One automated-backup window outcome, from the audit log or a retained backup run."""

    instance: str  # resource name
    window_start: datetime
    outcome: str  # succeeded | attempt_failed | failed | skipped | running | other
    source: str  # audit-log | backup-run
    raw_status: str
    backup_time: datetime | None
    key: str  # insertId or run id, for merging lockers
    evidence: tuple[str, ...] = ()
    location: str | None = None
    kms_key: str | None = None  # a retained run's diskEncryptionConfiguration.kmsKeyName
    kms_key_version: str | None = None  # and diskEncryptionStatus.kmsKeyVersionName


@dataclass(frozen=True)
class ActivationChange:
    """An instance stopped (NEVER) or started (ALWAYS), from the admin-activity audit log."""

    instance: str
    time: datetime
    policy: str
    key: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigChange:
    """A configuration change or deletion of an instance, from the Admin Activity audit log (kept 400 days).

    `settings` holds the backup settings the request set, flattened to the SqlInstance field names
    (backup_enabled, retained_backups, backup_location, pitr_enabled, log_retention_days, ...);
    a deletion has `deleted=True`.
    """

    instance: str
    time: datetime
    method: str
    settings: dict[str, Any]
    principal: str | None
    key: str
    deleted: bool = False
    evidence: tuple[str, ...] = ()


@dataclass
class Coverage:
    """Which calls were answered in full. Indexed by (api, scope)."""

    gaps: list[CallGap] = field(default_factory=list)
    answered: set[tuple[str, str, str]] = field(default_factory=set)

    def gap(self, api: str, scope: str, method: str | None = None) -> CallGap | None:
        for gap in self.gaps:
            if gap.api == api and gap.scope == scope and (method is None or gap.method == method):
                return gap
        return None

    def was_read(self, api: str, method: str, scope: str) -> bool:
        return (api, method, scope) in self.answered


@dataclass
class Facts:
    as_of: datetime
    locker_ids: list[str]
    projects: list[str]
    sql_instances: list[SqlInstance] = field(default_factory=list)
    backup_attempts: list[BackupAttempt] = field(default_factory=list)
    activation_changes: list[ActivationChange] = field(default_factory=list)
    config_changes: list[ConfigChange] = field(default_factory=list)
    instance_observations: list[SqlInstance] = field(default_factory=list)  # every read, oldest first
    instance_listings: list[tuple[str, datetime]] = field(default_factory=list)  # (project scope, time) of complete listings
    coverage: Coverage = field(default_factory=Coverage)
    stores: StoreFacts = field(default_factory=StoreFacts)
    call_index: dict[str, dict[str, Any]] = field(default_factory=dict)
    kms_keys: list[KmsKey] = field(default_factory=list)
    kms_key_versions: list[KmsKeyVersion] = field(default_factory=list)
    alert_policies: list[AlertPolicy] = field(default_factory=list)
    notification_channels: list[NotificationChannel] = field(default_factory=list)
    log_metrics: list[LogMetric] = field(default_factory=list)
    sql_operations: list[SqlOperation] = field(default_factory=list)
    source: SourceFacts = field(default_factory=SourceFacts)  # GitHub repositories and their local backups
    backups: BackupFacts = field(default_factory=BackupFacts)  # every backup kind and Backup and DR (auditor.facts.read_backups)
