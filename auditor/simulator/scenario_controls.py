"""Scenario models for the encryption, monitoring and restore controls.

Cloud KMS keys with their versions' states, alert policies (log-match or a threshold on a
log-based metric), notification channels, log-based metrics, and each instance's operations
history. Strict like the rest of the scenario: a typo is an error, never a healthy default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from auditor.simulator.scenario_base import Strict, utc

KeyState = Literal["ENABLED", "DISABLED", "DESTROYED", "DESTROY_SCHEDULED"]
OperationType = Literal["RESTORE_VOLUME", "CLONE", "CREATE_CLONE", "BACKUP_VOLUME", "UPDATE", "RESTART",
                        "EXPORT", "IMPORT", "REENCRYPT"]


KeyAction = Literal["create", "disable", "enable", "destroy", "restore", "primary"]


class KeyEvent(Strict):
    """One Admin Activity call on a key (issue 13): served as its audit-log entry and applied to the
    versions' states from its time on. `create` adds the next version (ENABLED); `destroy` schedules
    destruction (`destroy_scheduled_days` later the version is DESTROYED); `restore` leaves it DISABLED;
    `disable`/`enable` are UpdateCryptoKeyVersion; `primary` is UpdateCryptoKeyPrimaryVersion.
    `body_logged`: whether the entry carries the request body (unconfirmed for UpdateCryptoKeyVersion and
    UpdateCryptoKeyPrimaryVersion). `failed`: the call was refused (a non-zero status), nothing changed."""

    time: dt.datetime
    action: KeyAction
    version: int | None = Field(default=None, ge=1)  # every action but create names its version
    body_logged: bool = False
    failed: bool = False

    _utc_time = field_validator("time")(lambda v: utc(v))

    @model_validator(mode="after")
    def _names_version(self) -> "KeyEvent":
        if (self.action == "create") != (self.version is None):
            raise ValueError("give `version` for every action except create (which adds the next version)")
        return self


@dataclass
class VersionState:
    number: int
    state: str
    created: dt.datetime
    destroy_time: dt.datetime | None = None
    destroyed: dt.datetime | None = None


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
    # issue 13 (kms): the key's Admin Activity history; `versions` are then the states at create_time
    history: list[KeyEvent] = []
    destroy_scheduled_days: int = Field(default=30, ge=1, le=120)  # destroyScheduledDuration (immutable)

    _utc_create = field_validator("create_time")(lambda v: utc(v))

    @model_validator(mode="after")
    def _primary_exists(self) -> "KmsKey":
        if self.primary is not None and not 1 <= self.primary <= len(self.versions):
            raise ValueError(f"primary {self.primary} is not a version of this key (1..{len(self.versions)})")
        if (self.purpose == "ASYMMETRIC_SIGN") != (self.algorithm != "GOOGLE_SYMMETRIC_ENCRYPTION"):
            raise ValueError(f"algorithm {self.algorithm} does not fit purpose {self.purpose}")
        most = len(self.versions) + sum(1 for e in self.history if e.action == "create")
        for event in self.history:
            if event.version is not None and event.version > most:
                raise ValueError(f"history: version {event.version} is never a version of this key (1..{most})")
        return self

    def states_at(self, at: dt.datetime) -> tuple[list[VersionState], int | None]:
        """Each version's state at `at` after the history's calls up to then, and the primary version."""
        versions = [VersionState(n + 1, state, self.create_time + dt.timedelta(days=90 * n))
                    for n, state in enumerate(self.versions)]
        primary = self.primary_version()
        schedule = dt.timedelta(days=self.destroy_scheduled_days)

        def settle(moment: dt.datetime) -> None:
            for v in versions:
                if v.state == "DESTROY_SCHEDULED" and v.destroy_time is not None and v.destroy_time <= moment:
                    v.state, v.destroyed = "DESTROYED", v.destroy_time

        for event in sorted(self.history, key=lambda e: e.time):
            if event.time > at:
                break
            settle(event.time)
            if event.failed:
                continue
            if event.action == "create":
                versions.append(VersionState(len(versions) + 1, "ENABLED", event.time))
                continue
            if event.version is None or event.version > len(versions):
                continue
            v = versions[event.version - 1]
            if event.action == "primary":
                primary = event.version
            elif event.action in ("disable", "enable") and v.state in ("ENABLED", "DISABLED"):
                v.state = "DISABLED" if event.action == "disable" else "ENABLED"
            elif event.action == "destroy" and v.state in ("ENABLED", "DISABLED"):
                v.state, v.destroy_time = "DESTROY_SCHEDULED", event.time + schedule
            elif event.action == "restore" and v.state == "DESTROY_SCHEDULED":
                v.state, v.destroy_time = "DISABLED", None
        settle(at)
        return versions, primary

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
    verification: Literal["VERIFIED", "UNVERIFIED"] | None = "VERIFIED"  # None: verificationStatus left out


class AlertSpell(Strict):
    """[from, to): the policy switched off by one UpdateAlertPolicy and back on by another. `body_logged`: whether
    those Admin Activity entries carry the request (unconfirmed for Monitoring: API notes), so the default is an
    entry without it."""

    start: dt.datetime = Field(alias="from")
    end: dt.datetime | None = Field(default=None, alias="to")
    body_logged: bool = False

    _utc_times = field_validator("start", "end")(lambda v: None if v is None else utc(v))

    @model_validator(mode="after")
    def _ordered(self) -> "AlertSpell":
        if self.end is not None and self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self

    def contains(self, t: dt.datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


class AlertPolicy(Strict):
    """Exactly one of log_filter (a log-match condition) or metric_threshold (a log-based metric's name)."""

    id: str = Field(pattern=r"^[a-zA-Z0-9_-]+$")
    display_name: str
    enabled: bool = True
    log_filter: str | None = None
    metric_threshold: str | None = None
    channels: list[str] = []  # notification channel ids in this project
    disabled: list[AlertSpell] = []  # spells switched off mid-history (issue 13)

    @model_validator(mode="after")
    def _one_condition(self) -> "AlertPolicy":
        if (self.log_filter is None) == (self.metric_threshold is None):
            raise ValueError("give exactly one of log_filter or metric_threshold")
        return self

    def enabled_at(self, t: dt.datetime) -> bool:
        return self.enabled and not any(spell.contains(t) for spell in self.disabled)

    def changes(self) -> list[tuple[dt.datetime, bool, bool]]:
        """(when, enabled after it, body logged) of each UpdateAlertPolicy, oldest first."""
        out = []
        for spell in self.disabled:
            out.append((spell.start, False, spell.body_logged))
            if spell.end is not None:
                out.append((spell.end, self.enabled, spell.body_logged))
        return sorted(out)


class LogMetric(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_./-]+$")
    filter: str
    disabled: bool = False
    # spells disabled mid-history, set and undone by UpdateLogMetric entries; whether Logging logs the request body
    # is unconfirmed (the API notes say nothing of it), so the entries carry one only with body_logged
    disabled_spells: list[AlertSpell] = []

    def disabled_at(self, t: dt.datetime) -> bool:
        return self.disabled or any(spell.contains(t) for spell in self.disabled_spells)

    def changes(self) -> list[tuple[dt.datetime, bool, bool]]:
        """(when, disabled after it, body logged) of each UpdateLogMetric, oldest first."""
        out = []
        for spell in self.disabled_spells:
            out.append((spell.start, True, spell.body_logged))
            if spell.end is not None:
                out.append((spell.end, self.disabled, spell.body_logged))
        return sorted(out)


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
