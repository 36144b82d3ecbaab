"""The scenario file: one fictional organisation, its history and its expected verdicts.

Models are strict (extra="forbid") because a typo in a hand-written scenario would otherwise
silently produce a healthy default and a test that proves nothing. Errors become ScenarioError
naming the file and the key path (e.g. ``projects[0].sql_instances[1].backup.start_time``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from auditor.simulator.scenario_base import Strict, utc

from auditor import reading
from auditor.errors import ScenarioError
from auditor.simulator.scenario_controls import AlertPolicy, KmsKey, LogMetric, NotificationChannel, Operation
from auditor.simulator.scenario_stores import AssetOnlyStore, Bucket
from auditor.simulator.scenario_github import Github
from auditor.simulator.scenario_backupdr import BackupdrProtection, BackupPlan, BackupVault, OnDemandBackup, RestoreVerificationPlan
from auditor.simulator.faults import Fault

ApiName = Literal["sqladmin", "logging", "storage", "cloudasset", "cloudkms", "monitoring", "github", "backupdr",
                  "cloudresourcemanager"]
DayOutcome = Literal["success", "none", "failed", "skipped", "attempt_failed_then_success"]
Status = Literal["pass", "fail", "warn", "inconclusive", "not_applicable"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")




class Organization(Strict):
    id: str = Field(pattern=r"^\d+$")
    display_name: str


class Interval(Strict):
    """A half-open interval [from, to) during which an instance was stopped (or backups were off).
    `body_logged`: whether the Admin Activity updates that began and ended it carry the request body;
    unconfirmed for Cloud SQL (API notes), so by default they do not."""

    start: dt.datetime = Field(alias="from")
    end: dt.datetime | None = Field(default=None, alias="to")
    body_logged: bool = False

    _utc_times = field_validator("start", "end")(lambda v: None if v is None else utc(v))

    @model_validator(mode="after")
    def _ordered(self) -> "Interval":
        if self.end is not None and self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self

    def contains(self, t: dt.datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


class SettingSpell(Interval):
    """A spell [from, to) with backup settings other than the instance's base ones (a retention cut),
    set and restored by Admin Activity updates. `body_logged`: whether those entries carry the request
    body (unconfirmed for Cloud SQL: API notes), so the default is an entry without the new value."""

    retained_backups: int | None = Field(default=None, ge=1, le=365)
    pitr: bool | None = None
    log_retention_days: int | None = Field(default=None, ge=1, le=35)
    location: str | None = None
    body_logged: bool = False


class LabelSpell(Interval):
    """A spell [from, to) with other labels than the instance's own (a classification changed by hand), set
    and restored by Admin Activity updates of `settings.userLabels`. `body_logged`: whether those entries
    carry the request body (unconfirmed for Cloud SQL), so the default is an entry without the new labels."""

    labels: dict[str, str]
    body_logged: bool = False


class Backup(Strict):
    enabled: bool
    start_time: str = "03:00"
    location: str | None = None
    retained_backups: int = Field(default=7, ge=1, le=365)
    pitr: bool = False
    log_retention_days: int = Field(default=7, ge=1, le=35)
    tier: Literal["STANDARD", "ENHANCED"] | None = None
    binary_log: bool = False  # MySQL's point-in-time recovery switch (binaryLogEnabled)
    log_storage: Literal["DISK", "SWITCHING_TO_CLOUD_STORAGE", "SWITCHED_TO_CLOUD_STORAGE", "CLOUD_STORAGE"] | None = None
    disabled_since: dt.date | None = None
    disabled_since_body_logged: bool = False  # whether the update that switched backups off carries its body
    runs_location: str | None = None  # where retained runs landed; default: `location`, else the nearest multi-region
    disabled: list[Interval] = []  # spells with backups switched off and back on: [from, to)
    changes: list[SettingSpell] = []  # spells with other settings (a retention cut), set and restored by updates

    @field_validator("start_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"start_time must be HH:MM (UTC), got {v!r}")
        return v

    @model_validator(mode="after")
    def _since_only_when_disabled(self) -> "Backup":
        if self.enabled and self.disabled_since is not None:
            raise ValueError("disabled_since is only meaningful with enabled: false")
        return self

    def enabled_on(self, day: dt.date) -> bool:
        return self.enabled or (self.disabled_since is not None and day < self.disabled_since)

    def setting_at(self, name: str, t: dt.datetime) -> Any:
        """A setting (retained_backups, pitr, log_retention_days, location) at instant t: the spell's, else the base."""
        for spell in self.changes:
            if spell.contains(t) and getattr(spell, name) is not None:
                return getattr(spell, name)
        return getattr(self, name)

    def enabled_at(self, t: dt.datetime) -> bool:
        """Backups on at instant t: the base setting, less any `disabled` spell containing t."""
        return self.enabled_on(t.date()) and not any(spell.contains(t) for spell in self.disabled)


class SqlInstance(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,97}$")
    type: Literal["CLOUD_SQL_INSTANCE", "READ_REPLICA_INSTANCE"] = "CLOUD_SQL_INSTANCE"
    master: str | None = None
    region: str
    zone: str | None = None
    database_version: str
    tier: str = "db-custom-2-7680"
    state: Literal["RUNNABLE", "SUSPENDED", "MAINTENANCE", "FAILED"] = "RUNNABLE"
    labels: dict[str, str] = {}
    label_changes: list[LabelSpell] = []  # spells with other labels, set and restored by updates (issue 13)
    create_time: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    delete_time: dt.datetime | None = None  # deleted then: gone from listings, no more backups
    kms_key: str | None = None
    kms_key_version: int = Field(default=1, ge=1)  # the version encrypting the live data
    backup_key_versions: dict[str, int] = {}  # DATE or DATE..DATE -> version used by that day's backup
    live_key_versions: dict[str, int] = {}  # DATE or DATE..DATE -> version encrypting the live data that day (issue 13)
    operations: list[Operation] = []
    backup: Backup | None = None
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] | None = None
    on_demand: list[OnDemandBackup] = []  # ON_DEMAND backups (backupRuns and the Backups resource)
    final_backup_days: int | None = Field(default=None, ge=1, le=365)  # finalBackupConfig: a FINAL backup on deletion
    retain_backups_on_delete: bool | None = None
    backupdr: BackupdrProtection | None = None  # with backup.tier ENHANCED: the Backup and DR plan protecting it
    days: dict[str, DayOutcome] = {}
    stopped: list[Interval] = []
    asset_index: bool = True  # False: Cloud Asset Inventory has not indexed it (yet)
    admin_listed: bool = True  # False: instances.list does not show it to the auditing identity

    _utc_create = field_validator("create_time")(lambda v: utc(v))
    _utc_delete = field_validator("delete_time")(lambda v: None if v is None else utc(v))

    def exists_at(self, t: dt.datetime) -> bool:
        return self.create_time <= t and (self.delete_time is None or t < self.delete_time)

    def labels_at(self, t: dt.datetime) -> dict[str, str]:
        """The labels at instant t: a label spell's, else the instance's own."""
        for spell in self.label_changes:
            if spell.contains(t):
                return dict(spell.labels)
        return dict(self.labels)

    @field_validator("days", "backup_key_versions", "live_key_versions")
    @classmethod
    def _day_keys(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            _parse_day_range(key)
        return v

    @model_validator(mode="after")
    def _replica_shape(self) -> "SqlInstance":
        if self.type == "READ_REPLICA_INSTANCE":
            if not self.master:
                raise ValueError("a READ_REPLICA_INSTANCE needs 'master'")
            if self.backup is not None or self.days:
                raise ValueError("replicas cannot be backed up: remove 'backup' and 'days'")
        elif self.master is not None:
            raise ValueError("'master' is only for READ_REPLICA_INSTANCE")
        if self.days and self.backup is None:
            raise ValueError("'days' needs a 'backup' block")
        if self.backupdr is not None and (self.backup is None or self.backup.tier != "ENHANCED"):
            raise ValueError("'backupdr' protects ENHANCED-tier instances only: set backup.tier: ENHANCED")
        return self

    def day_outcome(self, day: dt.date) -> DayOutcome:
        """The scenario's override for a day, else the default daily success."""
        for key, outcome in self.days.items():
            first, last = _parse_day_range(key)
            if first <= day <= last:
                return outcome
        return "success"

    def live_key_version(self, day: dt.date) -> int:
        """The key version encrypting the live data on `day` (kms_key_version unless live_key_versions says otherwise)."""
        for key, version in self.live_key_versions.items():
            first, last = _parse_day_range(key)
            if first <= day <= last:
                return version
        return self.kms_key_version

    def backup_key_version(self, day: dt.date) -> int:
        """The key version a backup taken on `day` is encrypted with (the live version unless overridden)."""
        for key, version in self.backup_key_versions.items():
            first, last = _parse_day_range(key)
            if first <= day <= last:
                return version
        return self.live_key_version(day)

    def stopped_at(self, t: dt.datetime) -> bool:
        return any(i.contains(t) for i in self.stopped)


class Project(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    number: str = Field(pattern=r"^\d+$")
    folder: str | None = Field(default=None, pattern=r"^\d+$")
    apis_disabled: list[ApiName] = []
    permission_denied: list[ApiName] = []
    # write permissions the auditing identity holds here (testIamPermissions); by default it is read-only
    write_permissions: list[str] = []
    sql_instances: list[SqlInstance] = []
    kms_keys: list[KmsKey] = []
    alert_policies: list[AlertPolicy] = []
    notification_channels: list[NotificationChannel] = []
    log_metrics: list[LogMetric] = []
    buckets: list[Bucket] = []
    other_stores: list[AssetOnlyStore] = []
    backup_vaults: list[BackupVault] = []
    backup_plans: list[BackupPlan] = []
    restore_verification_plans: list[RestoreVerificationPlan] = []
    unreachable_regions: list[str] = []  # Backups.list warns REGION_UNREACHABLE, Backup and DR lists them as unreachable

    @model_validator(mode="after")
    def _instances_consistent(self) -> "Project":
        names = [i.name for i in self.sql_instances]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate instance names: {dupes}")
        for inst in self.sql_instances:
            if inst.master is not None and inst.master not in names:
                raise ValueError(f"instance {inst.name!r}: master {inst.master!r} is not in this project")
        channels = {c.id for c in self.notification_channels}
        for policy in self.alert_policies:
            missing = sorted(set(policy.channels) - channels)
            if missing:
                raise ValueError(f"alert policy {policy.id!r}: unknown notification channels {missing}")
        vaults = {v.id for v in self.backup_vaults}
        for plan in self.backup_plans:
            if plan.vault not in vaults:
                raise ValueError(f"backup plan {plan.id!r}: vault {plan.vault!r} is not in this project")
        return self

    def instance(self, name: str) -> SqlInstance | None:
        return next((i for i in self.sql_instances if i.name == name), None)


class Expectation(Strict):
    status: Status
    missed_days: list[dt.date] | None = None
    stopped_days: list[dt.date] | None = None
    exception_days: list[dt.date] | None = None  # issue 13: the days a control judged day by day found broken
    unknown_days: list[dt.date] | None = None


class Scenario(Strict):
    name: str
    now: dt.datetime
    history_start: dt.date
    organization: Organization
    projects: list[Project]
    github: Github | None = None  # see scenario_github.py
    expect: dict[str, dict[str, Status | Expectation]] = {}
    faults: list[Fault] = []  # injected API faults (auditor.simulator.faults)

    _utc_now = field_validator("now")(lambda v: utc(v))

    @model_validator(mode="after")
    def _unique_projects(self) -> "Scenario":
        ids = [p.id for p in self.projects]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate project ids")
        numbers = [p.number for p in self.projects]
        if len(set(numbers)) != len(numbers):
            twice = sorted({n for n in numbers if numbers.count(n) > 1})
            raise ValueError(f"duplicate project numbers {twice}: Asset Inventory names projects by number")
        if self.history_start > self.now.date():
            raise ValueError("history_start is after now")
        return self

    def project(self, project_id: str) -> Project | None:
        return next((p for p in self.projects if p.id == project_id), None)


def _parse_day_range(key: str) -> tuple[dt.date, dt.date]:
    parts = key.split("..")
    if len(parts) > 2:
        raise ValueError(f"day key {key!r}: expected DATE or DATE..DATE")
    try:
        first = dt.date.fromisoformat(parts[0].strip())
        last = dt.date.fromisoformat(parts[-1].strip())
    except ValueError:
        raise ValueError(f"day key {key!r}: expected DATE or DATE..DATE (YYYY-MM-DD)") from None
    if last < first:
        raise ValueError(f"day key {key!r}: range ends before it starts")
    return first, last


def _in_document(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parts of a pydantic `loc` that are keys of the document (not a union member's tag)."""
    return tuple(p for p in loc if not (isinstance(p, str) and (p.startswith(("function-", "literal["))
                                                                or p in ("str", "Expectation"))))


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "literal[")) or part in ("str", "Expectation"):
            continue  # pydantic union/validator branch labels, not keys
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_scenario(data: Any, source: str = "<scenario>", text: str | None = None) -> Scenario:
    """Validate already-parsed YAML data; errors name `source`, the key path and (from `text`, the
    YAML as read) the line."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: the scenario must be a mapping at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        marks = reading.yaml_marks(text) if text else reading.NO_MARKS
        lines = [f"{marks.where(source, _in_document(e['loc']))}: {_key_path(e['loc'])}: "
                 f"{e['msg'].removeprefix('Value error, ')}{marks.column(_in_document(e['loc']))}" for e in exc.errors()]
        raise ScenarioError("invalid scenario\n" + "\n".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (yaml.safe_load; never executes tags)."""
    path = Path(path)
    text, data = reading.read_yaml(path, "scenario", error=ScenarioError, dates_as_text=False)
    return parse_scenario(data, str(path), text)
