"""Scenario models for Google Cloud Backup and DR and for Cloud SQL's other backup kinds.

A project may hold backup vaults and backup plans (often a separate backup project); an ENHANCED-tier
Cloud SQL instance names the plan that protects it (`backupdr:`), from which the simulator derives
its backup plan association, its data source in the plan's vault, and one backup per scheduled run.
Cloud SQL instances may also have ON_DEMAND backups and, when deleted, a FINAL backup.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator

from auditor.simulator.scenario_base import Strict, utc


class BackupVault(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    location: str
    min_retention_days: int = Field(default=0, ge=0)  # backupMinimumEnforcedRetentionDuration
    locked_from: dt.datetime | None = None  # effectiveTime: locked after this
    access_restriction: Literal["WITHIN_PROJECT", "WITHIN_ORGANIZATION", "UNRESTRICTED",
                                "WITHIN_ORG_BUT_UNRESTRICTED_FOR_BA"] = "WITHIN_ORGANIZATION"
    kms_key: str | None = None
    state: Literal["CREATING", "ACTIVE", "DELETING", "ERROR", "UPDATING"] = "ACTIVE"
    create_time: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    _utc = field_validator("locked_from", "create_time")(lambda v: None if v is None else utc(v))


class BackupRule(Strict):
    id: str = "daily"
    recurrence: Literal["HOURLY", "DAILY", "WEEKLY"] = "DAILY"
    hourly_frequency: int | None = Field(default=None, ge=6, le=23)
    window_start_hour: int = Field(default=2, ge=0, le=23)
    window_end_hour: int = Field(default=6, ge=1, le=24)
    retention_days: int = Field(default=30, ge=1, le=36159)


class BackupPlan(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    location: str
    vault: str  # a vault id of the same project
    resource_type: str = "sqladmin.googleapis.com/Instance"
    rules: list[BackupRule] = [BackupRule()]
    log_retention_days: int | None = None


class RestoreVerificationPlan(Strict):
    id: str
    location: str
    schedule: str = "0 6 * * 1"
    state: Literal["ACTIVE", "INACTIVE", "ERROR"] = "ACTIVE"


class BackupdrRestore(Strict):
    """A restore of the latest backup before `time` from the vault (backups.restore, a long-running operation of the
    vault's project: operations.list) into the instance `into` (sql2, issue 14)."""

    time: dt.datetime
    minutes: int = Field(default=20, ge=1)
    error: str | None = None
    into: str = Field(default="restore-check", pattern=r"^[a-z][a-z0-9-]*$")

    _utc = field_validator("time")(lambda v: utc(v))


class BackupdrProtection(Strict):
    """How Backup and DR protects one ENHANCED instance."""

    plan: str = Field(pattern=r"^projects/[^/]+/locations/[^/]+/backupPlans/[^/]+$")
    failed_from: dt.date | None = None  # from this day every scheduled backup fails (lastBackupState FAILED)
    error: str = "The backup failed: the instance was not reachable."
    verified_every_days: int | None = Field(default=None, ge=1)  # restore verification of the latest backup
    protected_since: dt.datetime | None = None  # the association's createTime (default: the instance's)
    # what the protection summary (resourceBackupConfigs) says (sql2, issue 14): the plan (actual), nothing
    # (unprotected: backupConfigured false), or no entry for the instance at all (unlisted)
    summary: Literal["actual", "unprotected", "unlisted"] = "actual"
    restores: list[BackupdrRestore] = []

    _utc = field_validator("protected_since")(lambda v: None if v is None else utc(v))


class OnDemandBackup(Strict):
    time: dt.datetime
    location: str | None = None  # default: where the automated backups land
    status: Literal["SUCCESSFUL", "FAILED", "RUNNING"] = "SUCCESSFUL"

    _utc = field_validator("time")(lambda v: utc(v))
