"""Facts for the encryption, monitoring and restore controls: keys, alerting, operations.

Plain frozen dataclasses with the evidence ids that support them, like every fact. They are
read from the locker by `auditor.facts.read_controls`; checks see only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

KEY_VERSION_STATES = ("ENABLED", "DISABLED", "DESTROYED", "DESTROY_SCHEDULED")
UNUSABLE_KEY_STATES = ("DISABLED", "DESTROYED", "DESTROY_SCHEDULED")


def key_of_version(version_name: str) -> str:
    """projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N -> the key's name."""
    return version_name.split("/cryptoKeyVersions/")[0]


def key_location(key_name: str) -> str | None:
    parts = key_name.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "locations" else None


def key_project(key_name: str) -> str | None:
    parts = key_name.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "projects" else None


@dataclass(frozen=True)
class KmsKey:
    """A Cloud KMS crypto key (cryptoKeys.get)."""

    name: str
    location: str | None
    purpose: str | None
    primary_version: str | None
    evidence: tuple[str, ...] = ()
    # destroyScheduledDuration (immutable once the key exists): how long a version stays DESTROY_SCHEDULED,
    # so a version's destroyTime also says when its destruction was scheduled
    destroy_scheduled: timedelta | None = None


@dataclass(frozen=True)
class KmsKeyVersion:
    """One version of a crypto key (cryptoKeyVersions.list): its state decides whether data it encrypts can be read."""

    name: str
    key: str
    state: str | None
    destroy_time: datetime | None  # destroyTime: when the key material is (or was) scheduled to be destroyed
    evidence: tuple[str, ...] = ()
    create_time: datetime | None = None
    destroy_event_time: datetime | None = None  # destroyEventTime: when it was destroyed (state DESTROYED)
    observed_at: datetime | None = None  # when this read was answered (the call's server time)


@dataclass(frozen=True)
class KmsVersionChange:
    """A successful Cloud KMS Admin Activity entry about a key's versions (auditor.facts.kms_log).

    `version` is None for an entry that names only the key (CreateCryptoKeyVersion without its response,
    UpdateCryptoKeyPrimaryVersion). `state` is the state the request left the version in, or None when
    the entry does not say (an update logged without its body): unknown until the next read."""

    key_name: str
    version: str | None
    time: datetime
    method: str
    state: str | None
    principal: str | None
    key: str  # log:<insertId>
    primary: str | None = None  # UpdateCryptoKeyPrimaryVersion: the new primary version's name, when logged
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertCondition:
    """One condition of an alert policy, reduced to what decides "fires on a failed backup"."""

    display_name: str
    kind: str  # log_match | threshold | other
    filter: str | None  # the log filter (log_match) or the monitoring filter (threshold)
    metric: str | None  # for a threshold on a log-based metric: the metric's short name


@dataclass(frozen=True)
class AlertPolicy:
    name: str
    project: str
    display_name: str
    enabled: bool
    conditions: tuple[AlertCondition, ...]
    channels: tuple[str, ...]
    evidence: tuple[str, ...] = ()
    observed_at: datetime | None = None  # when the listing that read it was answered
    created: datetime | None = None  # creationRecord.mutateTime
    mutated: datetime | None = None  # mutationRecord.mutateTime: the most recent change (the API's own record)


@dataclass(frozen=True)
class NotificationChannel:
    name: str
    project: str
    type: str | None
    display_name: str
    enabled: bool
    evidence: tuple[str, ...] = ()
    verification: str | None = None  # verificationStatus as read (VERIFIED, UNVERIFIED, ...; None: absent)
    observed_at: datetime | None = None
    created: datetime | None = None  # creationRecord.mutateTime
    mutated: datetime | None = None  # the newest of mutationRecords[].mutateTime

    @property
    def can_notify(self) -> bool:
        """Enabled, and not waiting for verification (UNVERIFIED "requires verification to function"; an absent or
        VERIFICATION_STATUS_UNSPECIFIED status is what the API reports for channels that need none)."""
        return self.enabled and self.verification != "UNVERIFIED"


@dataclass(frozen=True)
class LogMetric:
    """A log-based metric (logging projects.metrics.list): alerts on logging.googleapis.com/user/NAME count its filter's matches."""

    name: str
    project: str
    filter: str
    disabled: bool
    evidence: tuple[str, ...] = ()
    observed_at: datetime | None = None
    created: datetime | None = None  # createTime
    mutated: datetime | None = None  # updateTime ("may not be present for older metrics")


@dataclass(frozen=True)
class MonitoringChange:
    """An Admin Activity entry that created, changed or deleted an alert policy, a notification channel or a
    log-based metric. `settings` maps each setting the change set to its new value, None where the entry does
    not say (its request body was not logged, or an update mask names a field the body leaves out)."""

    kind: str  # alert_policy | notification_channel | log_metric
    name: str | None  # the resource's name (a policy's or channel's full name; a metric's short name); None: unknown
    project: str
    time: datetime
    method: str
    settings: dict
    deleted: bool
    key: str  # log:<insertId>
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class SqlOperation:
    """A Cloud SQL Admin operation (operations.list): restores and clones are restore-test evidence."""

    name: str
    project: str
    instance: str  # full resource name of the target instance
    operation_type: str
    status: str | None
    started: datetime | None
    ended: datetime | None
    error: str | None
    user: str | None
    evidence: tuple[str, ...] = ()
    backup_id: str | None = None  # backupContext.backupId: the backup a restore used
