"""Scenario models for the encryption, monitoring and restore controls.

Cloud KMS keys with their versions' states, alert policies (log-match or a threshold on a
log-based metric), notification channels, log-based metrics, and each instance's operations
history. Strict like the rest of the scenario: a typo is an error, never a healthy default.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from auditor.simulator.scenario_base import Strict, utc

KeyState = Literal["ENABLED", "DISABLED", "DESTROYED", "DESTROY_SCHEDULED"]
OperationType = Literal["RESTORE_VOLUME", "CLONE", "CREATE_CLONE", "BACKUP_VOLUME", "UPDATE", "RESTART",
                        "EXPORT", "IMPORT", "REENCRYPT"]




class KmsKey(Strict):
    """A key in this project: projects/<project>/locations/<location>/keyRings/<key_ring>/cryptoKeys/<name>."""

    key_ring: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,63}$")
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,63}$")
    location: str
    versions: list[KeyState] = Field(min_length=1)  # version N is versions[N-1]
    primary: int | None = None  # default: the newest ENABLED version
    create_time: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    # An ASYMMETRIC_SIGN key signs evidence packs (asymmetricSign, getPublicKey); its key material is
    # generated when the simulator first uses it (routes_kms), a new key for every scenario loaded.
    purpose: Literal["ENCRYPT_DECRYPT", "ASYMMETRIC_SIGN"] = "ENCRYPT_DECRYPT"
    algorithm: Literal["GOOGLE_SYMMETRIC_ENCRYPTION", "EC_SIGN_ED25519", "EC_SIGN_P256_SHA256"] = "GOOGLE_SYMMETRIC_ENCRYPTION"

    _utc_create = field_validator("create_time")(lambda v: utc(v))

    @model_validator(mode="after")
    def _primary_exists(self) -> "KmsKey":
        if self.primary is not None and not 1 <= self.primary <= len(self.versions):
            raise ValueError(f"primary {self.primary} is not a version of this key (1..{len(self.versions)})")
        if (self.purpose == "ASYMMETRIC_SIGN") != (self.algorithm != "GOOGLE_SYMMETRIC_ENCRYPTION"):
            raise ValueError(f"algorithm {self.algorithm} does not fit purpose {self.purpose}")
        return self

    def full_name(self, project: str) -> str:
        return f"projects/{project}/locations/{self.location}/keyRings/{self.key_ring}/cryptoKeys/{self.name}"

    def primary_version(self) -> int | None:
        if self.primary is not None:
            return self.primary
        enabled = [i + 1 for i, s in enumerate(self.versions) if s == "ENABLED"]
        return enabled[-1] if enabled else None


class NotificationChannel(Strict):
    id: str = Field(pattern=r"^[a-zA-Z0-9_-]+$")
    type: str = "email"
    display_name: str
    enabled: bool = True


class AlertPolicy(Strict):
    """Exactly one of log_filter (a log-match condition) or metric_threshold (a log-based metric's name)."""

    id: str = Field(pattern=r"^[a-zA-Z0-9_-]+$")
    display_name: str
    enabled: bool = True
    log_filter: str | None = None
    metric_threshold: str | None = None
    channels: list[str] = []  # notification channel ids in this project

    @model_validator(mode="after")
    def _one_condition(self) -> "AlertPolicy":
        if (self.log_filter is None) == (self.metric_threshold is None):
            raise ValueError("give exactly one of log_filter or metric_threshold")
        return self


class LogMetric(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_./-]+$")
    filter: str
    disabled: bool = False


class Operation(Strict):
    """One Cloud SQL operation on the instance (newest are listed first by the API)."""

    type: OperationType
    time: dt.datetime
    status: Literal["DONE", "RUNNING", "PENDING"] = "DONE"
    error: str | None = None
    user: str = "dba@bangkoksolutions.example"
    backup_id: str | None = Field(default=None, pattern=r"^\d+$")  # backupContext: the backup a restore used
    minutes: int = Field(default=17, ge=1)  # how long the operation ran (endTime - startTime)
    # a CLONE's cloneContext, as the Admin Activity log records its request (sql2, issue 14): the point in time it
    # cloned to (none: a copy of the live data) and the instance it created
    point_in_time: dt.datetime | None = None
    into: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]*$")

    _utc_time = field_validator("time")(lambda v: utc(v))
    _utc_point = field_validator("point_in_time")(lambda v: None if v is None else utc(v))

    @model_validator(mode="after")
    def _clone_context(self) -> "Operation":
        if (self.point_in_time is not None or self.into is not None) and self.type not in ("CLONE", "CREATE_CLONE"):
            raise ValueError("point_in_time and into describe a clone: use them with type CLONE")
        if self.point_in_time is not None and self.point_in_time >= self.time:
            raise ValueError("point_in_time must come before the clone's own time")
        return self
