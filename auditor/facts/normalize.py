"""Normalizers: raw pages from a locker -> typed facts.

They read only the locker (never a client object), so `auditor check --evidence` re-performs a run
exactly. They are defensive: a field that is missing or of the wrong type leaves the fact's value
unknown (None) and, where a check needs it, a note in `problems`; a page that does not parse makes
its call a coverage gap, so the resources it covers end `inconclusive`, never `pass`.
"""

from __future__ import annotations

import functools
from dataclasses import fields as dataclass_fields, replace
from datetime import datetime, time, timezone
from typing import Any, Callable

import orjson

from auditor.evidence.locker import Locker
from auditor.facts.model import (
    ActivationChange,
    BackupAttempt,
    CallGap,
    ConfigChange,
    Facts,
    SqlInstance,
    sql_resource,
)

WINDOW_STATUS = {
    "STATUS_SUCCEEDED": "succeeded",
    "STATUS_ATTEMPT_FAILED": "attempt_failed",
    "STATUS_FAILED": "failed",
    "STATUS_SKIPPED": "skipped",
}
RUN_STATUS = {
    "SUCCESSFUL": "succeeded",
    "FAILED": "failed",
    "OVERDUE": "failed",
    "SKIPPED": "skipped",
    "ENQUEUED": "running",
    "RUNNING": "running",
}


_fromisoformat = datetime.fromisoformat


def get(data: Any, *path: str) -> Any:
    for key in path:
        if data.__class__ is not dict and not isinstance(data, dict):  # the first test is the fast one (JSON dicts)
            return None
        data = data.get(key)
    return data


def text(data: Any, *path: str) -> str | None:
    value = get(data, *path)
    return value if isinstance(value, str) and value else None


def boolean(data: Any, *path: str) -> bool | None:
    value = get(data, *path)
    return value if isinstance(value, bool) else None


def integer(data: Any, *path: str) -> int | None:
    value = get(data, *path)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    if value[-1] == "Z":  # the APIs' usual form, which Python 3.11 reads as UTC directly (~600k a quarter)
        try:
            return _fromisoformat(value)
        except ValueError:
            pass  # the general path below decides
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def clock(value: Any) -> time | None:
    """Backup start times are 'HH:MM' in UTC."""
    if not isinstance(value, str):
        return None
    try:
        hours, minutes = value.split(":")[:2]
        return time(int(hours), int(minutes), tzinfo=timezone.utc)
    except ValueError:
        return None


def string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float, bool))}


def sql_instance(data: dict[str, Any], evidence: str) -> SqlInstance | None:
    """One instances.list item; None when it has no name or project to identify it by."""
    name, project = text(data, "name"), text(data, "project")
    if not name or not project:
        return None
    settings = get(data, "settings") if isinstance(get(data, "settings"), dict) else {}
    backup = get(settings, "backupConfiguration") if isinstance(get(settings, "backupConfiguration"), dict) else {}
    master = text(data, "masterInstanceName")
    problems = []
    enabled = boolean(backup, "enabled")
    if enabled is None:
        problems.append("settings.backupConfiguration.enabled is missing or not a boolean")
    return SqlInstance(
        resource=sql_resource(project, name),
        project=project,
        name=name,
        region=text(data, "region"),
        database_version=text(data, "databaseVersion"),
        state=text(data, "state"),
        instance_type=text(data, "instanceType"),
        activation_policy=text(settings, "activationPolicy"),
        labels=string_map(get(settings, "userLabels")),
        create_time=timestamp(get(data, "createTime")),
        backup_enabled=enabled,
        backup_start_time=clock(get(backup, "startTime")),
        backup_location=(text(backup, "location") or "").lower() or None,
        pitr_enabled=boolean(backup, "pointInTimeRecoveryEnabled"),
        log_retention_days=integer(backup, "transactionLogRetentionDays"),
        retained_backups=integer(backup, "backupRetentionSettings", "retainedBackups"),
        backup_tier=text(backup, "backupTier"),
        kms_key=text(data, "diskEncryptionConfiguration", "kmsKeyName"),
        master=master.split(":")[-1] if master else None,
        raw_settings=settings,
        evidence=(evidence,),
        problems=tuple(problems),
        kms_key_version=text(data, "diskEncryptionStatus", "kmsKeyVersionName"),
    )


_ATTEMPT_FIELDS = ("instance", "window_start", "outcome", "source", "raw_status", "backup_time", "key", "evidence",
                   "location", "kms_key", "kms_key_version")
_new, _set = object.__new__, object.__setattr__


def _attempt(instance: str, window_start: datetime, outcome: str, source: str, raw_status: str,
             backup_time: datetime | None, key: str, evidence: tuple[str, ...], location: str | None = None,
             kms_key: str | None = None, kms_key_version: str | None = None) -> BackupAttempt:
    """BackupAttempt(...), built ~4x faster: the frozen dataclass's __init__ sets each of its eleven fields
    through object.__setattr__, and a quarter at 200 projects makes ~195,000 of them. The object is the
    same (same __dict__, in the same order); tests/test_facts_fastpaths.py holds the two side by side."""
    obj = _new(BackupAttempt)
    _set(obj, "__dict__", {"instance": instance, "window_start": window_start, "outcome": outcome, "source": source,
                           "raw_status": raw_status, "backup_time": backup_time, "key": key, "evidence": evidence,
                           "location": location, "kms_key": kms_key, "kms_key_version": kms_key_version})
    return obj


if (tuple(f.name for f in dataclass_fields(BackupAttempt)) != _ATTEMPT_FIELDS or hasattr(BackupAttempt, "__post_init__")
        or hasattr(BackupAttempt, "__slots__")):  # pragma: no cover - the model changed: use its own constructor
    _attempt = BackupAttempt  # type: ignore[assignment]  # noqa: F811


def _text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def backup_run(data: dict[str, Any], project: str, evidence: str) -> BackupAttempt | None:
    """A retained automated backup run; on-demand runs prove nothing about the automated process."""
    if not isinstance(data, dict):
        return None
    value = data.get  # one look-up per field: ~30,000 runs a quarter at 200 projects
    if _text_of(value("type")) not in (None, "AUTOMATED"):
        return None
    instance, run_id = _text_of(value("instance")), _text_of(value("id")) or (str(value("id")) if value("id") else None)
    window = timestamp(value("windowStartTime")) or timestamp(value("startTime")) or timestamp(value("enqueuedTime"))
    if not instance or not window or not run_id:
        return None
    status = _text_of(value("status")) or "UNKNOWN"
    return _attempt(
        instance=sql_resource(project, instance),
        window_start=window,
        outcome=RUN_STATUS.get(status, "other"),
        source="backup-run",
        raw_status=status,
        backup_time=timestamp(value("endTime")) or timestamp(value("startTime")),
        key=f"run:{project}/{instance}/{run_id}",
        evidence=(evidence,),
        location=(_text_of(value("location")) or "").lower() or None,
        kms_key=text(data, "diskEncryptionConfiguration", "kmsKeyName"),
        kms_key_version=text(data, "diskEncryptionStatus", "kmsKeyVersionName"),
    )


@functools.lru_cache(maxsize=8192)  # a few thousand instances, each named in ~100 entries a quarter
def _named_instance(resource_name: str) -> str | None:
    """The instance a log entry's 'projects/P/instances/I' resourceName names."""
    parts = resource_name.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "instances":
        return sql_resource(parts[1], parts[3])
    return None


def _entry_instance(entry: dict[str, Any], proto: Any = None) -> str | None:
    if proto is None:
        proto = entry.get("protoPayload") if isinstance(entry, dict) else None
    resource_name = proto.get("resourceName") if isinstance(proto, dict) else None
    named = _named_instance(resource_name if isinstance(resource_name, str) else "")
    if named:
        return named
    database = text(entry, "resource", "labels", "database_id") or ""
    if ":" in database:
        project, name = database.split(":", 1)
        return sql_resource(project, name)
    return None


#: backupConfiguration request fields -> SqlInstance field names (the keys checks and the gate read)
BACKUP_SETTINGS = {
    ("enabled",): "backup_enabled",
    ("startTime",): "backup_start_time",
    ("location",): "backup_location",
    ("pointInTimeRecoveryEnabled",): "pitr_enabled",
    ("transactionLogRetentionDays",): "log_retention_days",
    ("backupRetentionSettings", "retainedBackups"): "retained_backups",
    ("backupTier",): "backup_tier",
}
ADMIN_METHODS = ("cloudsql.instances.update", "cloudsql.instances.patch", "cloudsql.instances.delete")


def config_change(entry: dict[str, Any], instance: str, stamp: datetime, key: str, evidence: str) -> ConfigChange | None:
    """The backup settings an update/patch set, or a deletion; None for an update that touched no backup setting."""
    method = text(entry, "protoPayload", "methodName") or ""
    principal = text(entry, "protoPayload", "authenticationInfo", "principalEmail")
    if method.endswith(".delete"):
        return ConfigChange(instance, stamp, method, {}, principal, f"log:{key}", deleted=True, evidence=(evidence,))
    backup = get(entry, "protoPayload", "request", "body", "settings", "backupConfiguration")
    if not isinstance(backup, dict):
        return None
    settings: dict[str, Any] = {}
    for path, name in BACKUP_SETTINGS.items():
        value = get(backup, *path)
        if value is not None:
            settings[name] = value.lower() if name == "backup_location" and isinstance(value, str) else value
    if "retained_backups" in settings:
        settings["retained_backups"] = integer(backup, "backupRetentionSettings", "retainedBackups")
    if not settings:
        return None
    return ConfigChange(instance, stamp, method, settings, principal, f"log:{key}", evidence=(evidence,))


def _window_stamp(value: Any) -> datetime | None:
    """timestamp(), remembered for window starts (a few thousand distinct values a quarter, ~165,000 uses)."""
    return _window_stamps(value) if isinstance(value, str) else timestamp(value)


_window_stamps = functools.lru_cache(maxsize=16384)(lambda value: timestamp(value))
_BACKUP_METHOD = "cloudsql.instances.automatedBackup"
_EMPTY: dict[str, Any] = {}


def log_entry(entry: dict[str, Any], evidence: str) -> BackupAttempt | ActivationChange | None:
    """An automated-backup window or an activation-policy change from one audit-log entry. One look-up
    per field: a quarter at 200 projects is ~165,000 entries, nearly all automated-backup windows."""
    if not isinstance(entry, dict):
        return None
    proto = entry.get("protoPayload")
    proto = proto if isinstance(proto, dict) else _EMPTY
    method = proto.get("methodName")
    if method != _BACKUP_METHOD and method != "cloudsql.instances.update":
        return None
    key, stamp = entry.get("insertId"), timestamp(entry.get("timestamp"))
    instance = _entry_instance(entry, proto)
    if not key or not isinstance(key, str) or not stamp or not instance:
        return None
    if method == _BACKUP_METHOD:
        meta = proto.get("metadata")
        meta = meta if isinstance(meta, dict) else _EMPTY
        status = meta.get("windowStatus")
        status = status if isinstance(status, str) and status else "UNKNOWN"
        return _attempt(instance, _window_stamp(meta.get("windowStartTime")) or stamp, WINDOW_STATUS.get(status, "other"),
                        "audit-log", status, timestamp(meta.get("backupEndTime")) or timestamp(meta.get("backupStartTime")),
                        f"log:{key}", (evidence,))
    policy = text(proto, "request", "body", "settings", "activationPolicy")
    return ActivationChange(instance=instance, time=stamp, policy=policy, key=f"log:{key}", evidence=(evidence,)) if policy else None


def _items(body: Any, field: str) -> list[dict[str, Any]] | None:
    """The list under `field` of a page, [] when absent (an empty page), None when malformed."""
    if not isinstance(body, dict):
        return None
    value = body.get(field, [])
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, dict)]


def _gap(call: dict[str, Any], kind: str, reason: str | None, message: str, status: int | None) -> CallGap:
    return CallGap(call["api"], call["method"], call["scope"], kind, reason, message, status, call["id"])




PageReader = Callable[[dict[str, Any], dict[str, Any], str, Facts], None]


def _read_instances(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Facts) -> None:
    observed_at = timestamp(call.get("server_date"))
    for data in _items(body, "items") or []:
        instance = sql_instance(data, item_id)
        if instance:
            facts.instance_observations.append(replace(instance, observed_at=observed_at))


def _read_backup_runs(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Facts) -> None:
    for data in _items(body, "items") or []:
        run = backup_run(data, call["params"]["project"], item_id)
        if run:
            facts.backup_attempts.append(run)




def _read_entries(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Facts) -> None:
    for entry in _items(body, "entries") or []:
        proto = entry.get("protoPayload")
        if isinstance(proto, dict) and proto.get("methodName") in ADMIN_METHODS:
            instance, key, stamp = _entry_instance(entry, proto), text(entry, "insertId"), timestamp(entry.get("timestamp"))
            change = config_change(entry, instance, stamp, key, item_id) if instance and key and stamp else None
            if change:
                facts.config_changes.append(change)
        fact = log_entry(entry, item_id)
        if isinstance(fact, BackupAttempt):
            facts.backup_attempts.append(fact)
        elif isinstance(fact, ActivationChange):
            facts.activation_changes.append(fact)


from auditor.facts import read_controls as _rc  # noqa: E402 - its readers use the helpers above

# (api, method) -> (the page's list field, or "" when the body is one object; reader)
READERS: dict[tuple[str, str], tuple[str, PageReader]] = {
    ("sqladmin", "instances.list"): ("items", _read_instances),
    ("sqladmin", "backupRuns.list"): ("items", _read_backup_runs),
    ("logging", "entries.list"): ("entries", _read_entries),
    ("cloudkms", "cryptoKeys.get"): ("", _rc.read_crypto_key),
    ("cloudkms", "cryptoKeyVersions.list"): ("cryptoKeyVersions", _rc.read_key_versions),
    ("monitoring", "alertPolicies.list"): ("alertPolicies", _rc.read_alert_policies),
    ("monitoring", "notificationChannels.list"): ("notificationChannels", _rc.read_notification_channels),
    ("logging", "metrics.list"): ("metrics", _rc.read_log_metrics),
    ("sqladmin", "operations.list"): ("items", _rc.read_sql_operations),
}

# Which Facts fields each call fills: a failed call makes the checks that need them inconclusive
# (auditor.unverified). A call missing here is assumed to feed every check (fail closed).
FEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sqladmin", "instances.list"): ("sql_instances", "instance_observations"),
    ("sqladmin", "backupRuns.list"): ("backup_attempts",),
    ("sqladmin", "operations.list"): ("sql_operations",),
    ("logging", "entries.list"): ("backup_attempts", "activation_changes", "config_changes"),
    ("logging", "metrics.list"): ("log_metrics",),
    ("cloudasset", "searchAllResources"): ("stores",),
    ("storage", "buckets.list"): ("stores",),
    ("storage", "buckets.testIamPermissions"): ("stores",),  # no longer collected; older lockers hold it
    ("inventory", "read"): ("stores",),
    ("cloudkms", "cryptoKeys.get"): ("kms_keys",),
    ("cloudkms", "cryptoKeyVersions.list"): ("kms_key_versions",),
    ("monitoring", "alertPolicies.list"): ("alert_policies",),
    ("monitoring", "notificationChannels.list"): ("notification_channels",),
}
# GitHub and local git calls feed the source-code facts, whatever their method.
FEEDS_BY_API: dict[str, tuple[str, ...]] = {"github": ("source",), "git": ("source",)}


def _register_store_readers() -> None:
    from auditor.facts import normalize_stores as stores

    READERS[("cloudasset", "searchAllResources")] = ("results", stores.read_assets)
    READERS[("storage", "buckets.list")] = ("items", stores.read_buckets)
    READERS[("storage", "buckets.testIamPermissions")] = ("permissions", stores.read_bucket_access)
    READERS[("inventory", "read")] = ("documents", stores.read_inventory)


_register_store_readers()


def _register_backup_readers() -> None:
    """Every backup kind and Backup and DR (auditor.facts.read_backups); backupRuns and instances.list
    pages are also read there (ON_DEMAND runs, per-engine settings)."""
    from auditor.facts import read_backups as backups

    READERS.update(backups.READERS)
    FEEDS.update(backups.FEEDS)
    FEEDS[("sqladmin", "backupRuns.list")] = ("backup_attempts", "sql_backups")
    FEEDS[("sqladmin", "instances.list")] = ("sql_instances", "instance_observations", "sql_backups")
    FEEDS[("inventory", "read")] = ("stores", "restore_validations")  # the data map carries the validation records
    ALSO_READ[("sqladmin", "backupRuns.list")] = backups.read_runs
    ALSO_READ[("sqladmin", "instances.list")] = backups.read_engines


ALSO_READ: dict[tuple[str, str], PageReader] = {}  # a second reader of the same pages
_register_backup_readers()
def read_source(locker: Locker, facts: Facts) -> None:
    from auditor.facts.source import read_source as read

    read(locker, facts)


def build_facts(lockers: list[Locker]) -> Facts:
    """Facts from one or more lockers; observations with the same stable key are kept once."""
    first = lockers[0]
    facts = Facts(
        as_of=max(locker.as_of for locker in lockers),
        locker_ids=[locker.manifest["locker_id"] for locker in lockers],
        projects=list(first.manifest["config"]["gcp"]["projects"]),
    )
    # Oldest locker first, so for a key seen twice (a backup run RUNNING in one locker, SUCCESSFUL in
    # the next) the latest observation wins.
    for locker in sorted(lockers, key=lambda locker: locker.as_of):
        for call in locker.manifest["calls"]:
            call = {**call, "server_date": call.get("server_date") or locker.manifest["as_of"]}
            facts.call_index[call["id"]] = call
            _read_call(locker, call, facts)
        read_source(locker, facts)
    facts.backup_attempts = list({a.key: a for a in facts.backup_attempts}.values())
    facts.activation_changes = list({a.key: a for a in facts.activation_changes}.values())
    facts.config_changes = sorted({c.key: c for c in facts.config_changes}.values(), key=lambda c: (c.time, c.key))
    # Every configuration read is kept (one per instance per locker), so a quarter of daily lockers
    # shows the configuration day by day; the population is every instance seen, at its latest read.
    observations = {(i.resource, i.observed_at): i for i in facts.instance_observations}
    facts.instance_observations = sorted(observations.values(), key=lambda i: (i.resource, i.observed_at or facts.as_of))
    facts.sql_instances = list({i.resource: i for i in facts.instance_observations}.values())
    for name in ("kms_keys", "kms_key_versions", "alert_policies", "notification_channels", "sql_operations"):
        setattr(facts, name, list({f.name: f for f in getattr(facts, name)}.values()))
    facts.log_metrics = list({(m.project, m.name): m for m in facts.log_metrics}.values())
    facts.stores.dedupe()
    from auditor.facts import read_backups

    read_backups.finish(facts)
    return facts


def _read_call(locker: Locker, call: dict[str, Any], facts: Facts) -> None:
    reader = READERS.get((call["api"], call["method"]))
    if call["outcome"] != "ok":
        error = call.get("error") or {}
        facts.coverage.gaps.append(_gap(call, error.get("kind", "http"), error.get("reason"), error.get("message", ""), error.get("http_status")))
    if reader is None:
        return
    field, read = reader
    complete = call["outcome"] == "ok"
    gaps_before = len(facts.coverage.gaps)
    for item_id, _item, status in locker.pages(call):
        if status != 200:
            continue  # a retried error page; the call's outcome says whether it recovered
        try:
            body = orjson.loads(locker.body(item_id))  # about twice as fast as json on a quarter's pages
        except ValueError:
            body = None
        if (_items(body, field) if field else (body if isinstance(body, dict) else None)) is None:
            complete = False
            facts.coverage.gaps.append(_gap(call, "malformed", None, f"page {item_id} is not a valid {call['method']} response", status))
            continue
        read(call, body, item_id, facts)
        also = ALSO_READ.get((call["api"], call["method"]))
        if also is not None:
            also(call, body, item_id, facts)
    if complete and any(g.call_id == call["id"] for g in facts.coverage.gaps[gaps_before:]):
        complete = False  # a reader found the answer partial (auditor.facts.read_backups)
    if complete:
        facts.coverage.answered.add((call["api"], call["method"], call["scope"]))
        if (call["api"], call["method"]) == ("sqladmin", "instances.list") and timestamp(call.get("server_date")):
            facts.instance_listings.append((call["scope"], timestamp(call["server_date"])))
