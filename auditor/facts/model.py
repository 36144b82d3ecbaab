"""Typed facts: what the evidence says, with the evidence ids that say it. Checks see only these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Iterable

from auditor.facts.known import CallGap, Scoped

__all__ = ["CallGap", "Scoped"]


def sql_resource(project: str, instance: str) -> str:
    return f"//cloudsql.googleapis.com/projects/{project}/instances/{instance}"


def project_resource(project: str) -> str:
    return f"//cloudresourcemanager.googleapis.com/projects/{project}"


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
    # ret3: (finalBackupConfig.enabled, .retentionDays, retainBackupsOnDelete) as read (auditor.facts.final_backup)
    final_backup: tuple | None = None

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
    """An instance stopped (NEVER) or started (ALWAYS), from the admin-activity audit log; `policy` None: an
    update logged without its request body (whether Cloud SQL logs it is unconfirmed), which may have
    stopped or started it. `operation`/`phase`/`failed`/`logged_body`: see auditor.facts.operations."""

    instance: str
    time: datetime
    policy: str | None
    key: str
    evidence: tuple[str, ...] = ()
    operation: str | None = None
    phase: str = "only"
    failed: bool = False
    logged_body: bool = True


@dataclass(frozen=True)
class ConfigChange:
    """A configuration change or deletion of an instance, from the Admin Activity audit log (kept 400 days).

    `settings` holds the backup settings the request set, flattened to the SqlInstance field names
    (backup_enabled, retained_backups, backup_location, pitr_enabled, log_retention_days, ...);
    a deletion has `deleted=True`. An entry of a long-running operation carries its `operation` key and
    `phase` (first, last); `failed` marks a last entry whose status was not 0 (auditor.facts.operations
    pairs them: only the last entry's result and time apply).
    """

    instance: str
    time: datetime
    method: str
    settings: dict[str, Any]
    principal: str | None
    key: str
    deleted: bool = False
    evidence: tuple[str, ...] = ()
    operation: str | None = None
    phase: str = "only"
    failed: bool = False
    logged_body: bool = True


@dataclass(frozen=True)
class LogSpan:
    """A span of time a complete audit-log query covered for a project: no change in it went unlogged."""

    scope: str
    start: datetime
    end: datetime
    call: str


class Coverage:
    """Which calls were answered in full, and which were not (with why). Read-only once built."""

    __slots__ = ("gaps", "answered", "_by_scope")

    def __init__(self, gaps: Iterable[CallGap] = (), answered: Iterable[tuple[str, str, str]] = ()) -> None:
        self.gaps: tuple[CallGap, ...] = tuple(gaps)
        self.answered: frozenset[tuple[str, str, str]] = frozenset(answered)
        by_scope: dict[tuple[str, str], list[CallGap]] = {}
        for gap in self.gaps:
            by_scope.setdefault((gap.api, gap.scope), []).append(gap)
        self._by_scope = by_scope

    def gap(self, api: str, scope: str, method: str | None = None) -> CallGap | None:
        for gap in self._by_scope.get((api, scope), ()):
            if method is None or gap.method == method:
                return gap
        return None

    def was_read(self, api: str, method: str, scope: str) -> bool:
        return (api, method, scope) in self.answered


class UndeclaredFact(Exception):
    """A check read a fact its `needs` does not name."""


ALWAYS = frozenset({"as_of", "locker_ids", "projects"})


class Facts:
    """Everything the evidence says, built once by auditor.facts.build and then frozen.

    The collections (`facts.backup_runs`, `facts.kms_key_versions` ...) are `Scoped`: reached only
    through `at(scope)` / `of(resource)`, which return Known or Unknown. The derived views
    (`facts.history`, `facts.stores`, `facts.scope_gaps`, `facts.protection`) are computed in the same
    build. A check receives `facts.view(check.needs)`, which refuses any other name.
    """

    __slots__ = ("as_of", "locker_ids", "projects", "coverage", "call_index", "_parts", "_frozen")

    def __init__(self, as_of: datetime, locker_ids: Iterable[str], projects: Iterable[str], coverage: Coverage,
                 parts: dict[str, Any], call_index: dict[str, dict[str, Any]] | None = None) -> None:
        _set = object.__setattr__  # the one write of each slot; __setattr__ refuses every later one
        _set(self, "as_of", as_of)
        _set(self, "locker_ids", tuple(locker_ids))
        _set(self, "projects", tuple(projects))
        _set(self, "coverage", coverage)
        _set(self, "call_index", dict(call_index or {}))
        _set(self, "_parts", {"coverage": coverage, **parts})
        _set(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"facts are frozen once built (tried to set {name!r})")

    def __getattr__(self, name: str) -> Any:
        parts = object.__getattribute__(self, "_parts")
        if name in parts:
            return parts[name]
        raise AttributeError(f"no fact named {name!r}")

    def names(self) -> frozenset[str]:
        return frozenset(self._parts)

    def view(self, needs: Iterable[str]) -> "FactsView":
        return FactsView(self, needs)


class FactsView:
    """The facts a check declared, and only those: reading any other fact raises UndeclaredFact."""

    __slots__ = ("_facts", "_needs")

    def __init__(self, facts: Facts, needs: Iterable[str]) -> None:
        needs = frozenset(needs)
        missing = needs - facts.names()
        if missing:
            raise UndeclaredFact(f"needs names facts that do not exist: {sorted(missing)}")
        object.__setattr__(self, "_facts", facts)
        object.__setattr__(self, "_needs", needs)

    def __getattr__(self, name: str) -> Any:
        if name in ALWAYS or name in self._needs:
            return getattr(self._facts, name)
        if name in self._facts.names():
            raise UndeclaredFact(f"facts.{name} was read but the check's needs do not name it "
                                 f"(needs: {', '.join(sorted(self._needs))})")
        raise AttributeError(f"no fact named {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("facts are read-only")
