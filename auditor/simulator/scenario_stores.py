"""Scenario models for data stores other than Cloud SQL: buckets, and stores only the asset index sees.

Kept apart from scenario.py so each API family's knobs live beside each other. Strict like the
rest of the scenario: a typo is an error, never a silently healthy default.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from auditor.simulator.scenario_base import Strict, utc

ASSET_ONLY_TYPES = ("compute.googleapis.com/Disk", "bigquery.googleapis.com/Dataset", "spanner.googleapis.com/Instance",
                    "firestore.googleapis.com/Database", "file.googleapis.com/Instance")




class BucketObject(Strict):
    """An object in a bucket (the packs an evidence bucket keeps): its name, when it was written, its bytes."""

    name: str = Field(min_length=1, max_length=1024)
    time_created: dt.datetime
    content: str = ""  # UTF-8 text (a locker manifest is JSON)

    _utc_created = field_validator("time_created")(lambda v: utc(v))


class RetentionRemoved(Strict):
    """The bucket's (unlocked) retention policy removed at `start` and set again at `end` (None: not yet), each an
    Admin Activity `storage.buckets.update`; `body_logged`: whether the entries carry the request (unconfirmed)."""

    start: dt.datetime
    end: dt.datetime | None = None
    body_logged: bool = False

    _utc_times = field_validator("start", "end")(lambda v: None if v is None else utc(v))

    @model_validator(mode="after")
    def _ordered(self) -> "RetentionRemoved":
        if self.end is not None and self.end <= self.start:
            raise ValueError("retention_removed: end must be after start")
        return self


class Bucket(Strict):
    """A Cloud Storage bucket as the JSON API describes it (location in UPPERCASE, like Storage writes it)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
    location: str  # US-EAST1, US, EU, NAM4, or a configurable dual-region's code with data_locations
    location_type: Literal["region", "dual-region", "multi-region"] | None = None  # default from the location
    data_locations: list[str] = []  # configurable dual-region members (customPlacementConfig)
    omit_location_type: bool = False  # very old responses carry no locationType
    labels: dict[str, str] = {}
    kms_key: str | None = None
    retention_days: int | None = Field(default=None, ge=1)
    retention_locked: bool = False
    soft_delete_days: int = Field(default=7, ge=0)  # 0: soft delete switched off
    versioning: bool = False
    lifecycle_delete_age_days: int | None = Field(default=None, ge=0)
    create_time: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    asset_index: bool = True
    admin_listed: bool = True
    retention_effective_time: dt.datetime | None = None  # default: the bucket's create_time
    objects: list[BucketObject] = []
    retention_removed: list[RetentionRemoved] = []  # spans without the retention policy (an unlocked one can go)
    # ret2 (issue 13): when the (retention_locked) policy was locked: unlocked before, locked from then (permanent),
    # an Admin Activity storage.buckets.lockRetentionPolicy entry at that moment, with a request only when
    # `lock_body_logged` (the lock takes no request body; whether detailed audit logging shows one is unconfirmed)
    locked_at: dt.datetime | None = None
    lock_body_logged: bool = False
    # inv3 (issue 13): deleted then: gone from buckets.list and the asset search, 404 by name; the asset history
    # ends its content there with a `deleted` window (the Admin Activity storage.buckets.delete is not served)
    delete_time: dt.datetime | None = None

    _utc_create = field_validator("create_time")(lambda v: utc(v))
    _utc_delete = field_validator("delete_time")(lambda v: None if v is None else utc(v))
    _utc_effective = field_validator("retention_effective_time")(lambda v: None if v is None else utc(v))
    _utc_locked = field_validator("locked_at")(lambda v: None if v is None else utc(v))

    @model_validator(mode="after")
    def _lock_needs_policy(self) -> "Bucket":
        if self.retention_locked and self.retention_days is None:
            raise ValueError("retention_locked needs retention_days")
        if self.locked_at is not None and not self.retention_locked:
            raise ValueError("locked_at needs retention_locked: true (the policy it locks)")
        if self.retention_removed and (self.retention_days is None or self.retention_locked):
            raise ValueError("retention_removed needs an unlocked retention policy (retention_days, retention_locked false): "
                             "a locked policy cannot be removed")
        return self

    def gone_at(self, moment: dt.datetime) -> bool:
        """Whether the bucket was deleted by `moment` (inv3)."""
        return self.delete_time is not None and moment >= self.delete_time

    def locked_at_moment(self, moment: dt.datetime | None) -> bool:
        """Whether the policy reads `isLocked: true` at `moment` (from `locked_at` on, when given)."""
        return self.retention_locked and (self.locked_at is None or moment is None or moment >= self.locked_at)

    def retention_at(self, moment: dt.datetime) -> bool:
        """Whether the retention policy is in force at `moment` (not inside a `retention_removed` span)."""
        return bool(self.retention_days) and not any(
            r.start <= moment and (r.end is None or moment < r.end) for r in self.retention_removed)


class AssetOnlyStore(Strict):
    """A store the auditor only discovers (Spanner, Firestore, disks...): served by the asset search alone."""

    asset_type: Literal[ASSET_ONLY_TYPES]  # type: ignore[valid-type]
    name: str = Field(pattern=r"^//[a-z0-9.-]+\.googleapis\.com/\S+$")
    location: str
    labels: dict[str, str] = {}
    create_time: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    delete_time: dt.datetime | None = None  # inv3: deleted then: gone from the asset search

    _utc_create = field_validator("create_time")(lambda v: utc(v))
    _utc_delete = field_validator("delete_time")(lambda v: None if v is None else utc(v))

    def gone_at(self, moment: dt.datetime) -> bool:
        return self.delete_time is not None and moment >= self.delete_time
