"""Cloud Logging entries.list, one filtered query per project: the Cloud SQL audit trail of the period.

System-event entries (cloudsql.instances.automatedBackup) give every automated backup window's
outcome; Admin Activity entries (update/patch/delete, kept 400 days) give configuration changes
and stops and starts. A complete query also says which span of time it covered
(`log_coverage`): a configuration read holds for another moment only across covered time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from auditor.facts import operations
from auditor.facts.final_backup import SETTING as FINAL_SETTING, logged_value as final_logged
from auditor.facts.access import get, integer, items, text, timestamp, window_stamp
from auditor.facts.backup_model import CloneRecord
from auditor.facts.model import ActivationChange, BackupAttempt, ConfigChange, LogSpan, sql_resource
from auditor.facts.declare import Cost, Fact, Source, key_scope
from auditor.facts.kms_log import is_kms_entry, kms_change
from auditor.facts.sources import monitoring_log
from auditor.facts.bucket_history import CHANGE_METHODS as BUCKET_METHODS, LOCK_METHOD, BucketChange, bucket_change

WINDOW_STATUS = {
    "STATUS_SUCCEEDED": "succeeded",
    "STATUS_ATTEMPT_FAILED": "attempt_failed",
    "STATUS_FAILED": "failed",
    "STATUS_SKIPPED": "skipped",
}
#: backupConfiguration request fields -> SqlInstance field names (the keys checks and the gate read)
BACKUP_SETTINGS = {
    ("enabled",): "backup_enabled",
    ("startTime",): "backup_start_time",
    ("location",): "backup_location",
    ("pointInTimeRecoveryEnabled",): "pitr_enabled",
    ("binaryLogEnabled",): "pitr_enabled",  # MySQL's point-in-time recovery switch
    ("transactionLogRetentionDays",): "log_retention_days",
    ("backupRetentionSettings", "retainedBackups"): "retained_backups",
    ("backupTier",): "backup_tier",
}
ADMIN_METHODS = ("cloudsql.instances.update", "cloudsql.instances.patch", "cloudsql.instances.delete")
_BACKUP_METHOD = "cloudsql.instances.automatedBackup"
_ACTIVATION_METHODS = ("cloudsql.instances.update", "cloudsql.instances.patch")  # a stop or start is an update
_EMPTY: dict[str, Any] = {}
_NEVER = datetime.max.replace(tzinfo=timezone.utc)
SNAPSHOT_SKEW = timedelta(minutes=15)
_BOUND = re.compile(r'timestamp\s*(>=|>|<=|<)\s*"([^"]+)"')


@functools.lru_cache(maxsize=8192)  # a few thousand instances, each named in ~100 entries a quarter
def _named_instance(resource_name: str) -> str | None:
    """The instance a log entry's 'projects/P/instances/I' resourceName names."""
    parts = resource_name.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "instances":
        return sql_resource(parts[1], parts[3])
    return None


def entry_instance(entry: dict[str, Any], proto: Any = None) -> str | None:
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


def config_change(entry: dict[str, Any], instance: str, stamp: datetime, key: str, evidence: str) -> ConfigChange | None:
    """The backup settings an update/patch set, or a deletion; None for an update that touched no backup setting.
    An entry of a long-running operation is kept with its phase, to be paired (auditor.facts.operations)."""
    method = text(entry, "protoPayload", "methodName") or ""
    principal = text(entry, "protoPayload", "authenticationInfo", "principalEmail")
    op, kind = operations.phase(entry)
    if kind == operations.MIDDLE:
        return None
    where = dict(principal=principal, key=f"log:{key}", evidence=(evidence,), operation=op, phase=kind)
    if not operations.succeeded(entry):  # a refused or failed request changed nothing
        return ConfigChange(instance, stamp, method, {}, failed=True, **where) if kind == operations.LAST else None
    if method.endswith(".delete"):
        return ConfigChange(instance, stamp, method, {}, deleted=True, **where)
    if not isinstance(get(entry, "protoPayload", "request", "body"), dict):
        # the change was logged without its body (whether Cloud SQL logs it is unconfirmed): every backup
        # setting, and the labels, may have changed, and to what is unknown until the next read
        return ConfigChange(instance, stamp, method, unknown_settings(), logged_body=False, **where)
    settings: dict[str, Any] = {}
    labels = get(entry, "protoPayload", "request", "body", "settings", "userLabels")
    if isinstance(labels, dict):  # the labels the request set (a map field is replaced whole)
        settings["labels"] = tuple(sorted((str(k), str(v)) for k, v in labels.items() if isinstance(v, str)))
    backup = get(entry, "protoPayload", "request", "body", "settings", "backupConfiguration")
    for path, name in BACKUP_SETTINGS.items():
        value = get(backup, *path) if isinstance(backup, dict) else None
        if value is not None:
            settings[name] = value.lower() if name == "backup_location" and isinstance(value, str) else value
    if "retained_backups" in settings:
        settings["retained_backups"] = integer(backup, "backupRetentionSettings", "retainedBackups")
    # ret3: finalBackupConfig / retainBackupsOnDelete, as the body set them (auditor.facts.final_backup)
    final = final_logged(get(entry, "protoPayload", "request", "body", "settings"))
    if final is not None:
        settings[FINAL_SETTING] = final
    if not settings and kind == operations.ONLY:
        return None
    return ConfigChange(instance, stamp, method, settings, **where)


def unknown_settings() -> dict[str, Any]:
    """What an update logged without its body may have set: every backup setting, and the labels."""
    return {**{name: None for name in BACKUP_SETTINGS.values()}, "labels": None, FINAL_SETTING: None}  # ret3


def log_entry(entry: dict[str, Any], evidence: str) -> BackupAttempt | ActivationChange | None:
    """An automated-backup window or an activation-policy change from one audit-log entry. One look-up
    per field: a quarter at 200 projects is ~165,000 entries, nearly all automated-backup windows."""
    if not isinstance(entry, dict):
        return None
    proto = entry.get("protoPayload")
    proto = proto if isinstance(proto, dict) else _EMPTY
    method = proto.get("methodName")
    if method != _BACKUP_METHOD and method not in _ACTIVATION_METHODS:
        return None
    key, stamp = entry.get("insertId"), timestamp(entry.get("timestamp"))
    instance = entry_instance(entry, proto)
    if not key or not isinstance(key, str) or not stamp or not instance:
        return None
    if method == _BACKUP_METHOD:
        meta = proto.get("metadata")
        meta = meta if isinstance(meta, dict) else _EMPTY
        status = meta.get("windowStatus")
        status = status if isinstance(status, str) and status else "UNKNOWN"
        return BackupAttempt(instance, window_stamp(meta.get("windowStartTime")) or stamp, WINDOW_STATUS.get(status, "other"),
                           "audit-log", status, timestamp(meta.get("backupEndTime")) or timestamp(meta.get("backupStartTime")),
                           f"log:{key}", (evidence,))
    op, kind = operations.phase(entry)
    if kind == operations.MIDDLE:
        return None
    where = dict(instance=instance, time=stamp, key=f"log:{key}", evidence=(evidence,), operation=op, phase=kind)
    if not operations.succeeded(entry):
        return ActivationChange(policy=None, failed=True, **where) if kind == operations.LAST else None
    request = proto.get("request")
    body = request.get("body") if isinstance(request, dict) else None
    if not isinstance(body, dict):
        # logged without its body (unconfirmed for Cloud SQL): it may have stopped or started the instance
        return ActivationChange(policy=None, logged_body=False, **where)
    policy = text(body, "settings", "activationPolicy")
    if policy or kind != operations.ONLY:
        return ActivationChange(policy=policy, **where)
    return None


CLONE_METHOD = "cloudsql.instances.clone"


def clone_entry(entry: dict[str, Any], evidence: str) -> CloneRecord | None:
    """One `cloudsql.instances.clone` entry as a (partial) clone record: the first entry of the operation carries
    the request, the last its outcome; `merge_clones` joins them by operation id."""
    proto = entry.get("protoPayload") if isinstance(entry, dict) else None
    if not isinstance(proto, dict) or proto.get("methodName") != CLONE_METHOD:
        return None
    instance, stamp, key = entry_instance(entry, proto), timestamp(entry.get("timestamp")), text(entry, "insertId")
    if not instance or not stamp or not key:
        return None
    operation = get(entry, "operation") if isinstance(get(entry, "operation"), dict) else {}
    first, last = operation.get("first") is True, operation.get("last") is True
    if not operation:
        first = True  # an entry without `operation`: taken as the start; how long it ran is then unknown
    context = get(proto, "request", "body", "cloneContext")
    context = context if isinstance(context, dict) else {}
    project = instance.split("/projects/")[1].split("/")[0]
    destination = text(context, "destinationInstanceName")
    coordinates = get(context, "binLogCoordinates") if isinstance(get(context, "binLogCoordinates"), dict) else {}
    bin_log = (f"{text(coordinates, 'binLogFileName')}:{get(coordinates, 'binLogPosition')}"
               if text(coordinates, "binLogFileName") else None)
    code = get(proto, "status", "code")
    failed = code not in (None, 0)
    return CloneRecord(
        instance=instance, operation=text(operation, "id") or key,
        destination=sql_resource(text(context, "destinationProject") or project, destination) if destination else None,
        point_in_time=timestamp(get(context, "pointInTime")), bin_log=bin_log,
        started=stamp if first else None, ended=stamp if last else None,
        error=(text(proto, "status", "message") or f"error code {code}") if failed else None,
        principal=text(proto, "authenticationInfo", "principalEmail"), evidence=(evidence,))


def merge_clones(values: list[CloneRecord]) -> list[CloneRecord]:
    """One record per clone operation: the request from its first entry, the end and outcome from its last."""
    joined: dict[tuple[str, str], CloneRecord] = {}
    for value in values:
        key = (value.instance, value.operation)
        held = joined.get(key)
        if held is None:
            joined[key] = value
            continue
        joined[key] = CloneRecord(
            instance=value.instance, operation=value.operation, destination=held.destination or value.destination,
            point_in_time=held.point_in_time or value.point_in_time, bin_log=held.bin_log or value.bin_log,
            started=min((t for t in (held.started, value.started) if t), default=None),
            ended=max((t for t in (held.ended, value.ended) if t), default=None), error=held.error or value.error,
            principal=held.principal or value.principal, evidence=tuple(sorted(set(held.evidence + value.evidence))))
    return sorted(joined.values(), key=lambda c: (c.instance, c.started or c.ended or _NEVER))


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    for entry in items(body, "entries") or []:
        clone = clone_entry(entry, item_id)
        if clone is not None:
            emit("sql_clones", clone)
            continue
        proto = entry.get("protoPayload")
        if is_kms_entry(proto):  # a key's own query (auditor.collectors.kms): its versions' history
            change = kms_change(entry, item_id)
            if change:
                emit("kms_version_changes", change)
            continue
        if isinstance(proto, dict) and proto.get("methodName") in ADMIN_METHODS:
            instance, key, stamp = entry_instance(entry, proto), text(entry, "insertId"), timestamp(entry.get("timestamp"))
            change = config_change(entry, instance, stamp, key, item_id) if instance and key and stamp else None
            if change:
                emit("config_changes", change)
        elif isinstance(proto, dict) and proto.get("methodName") in BUCKET_METHODS:  # Cloud Storage bucket updates, locks
            change = bucket_change(entry, item_id)
            if change:
                emit("bucket_changes", change)
            continue
        elif isinstance(proto, dict) and monitoring_log.read_entry(entry, item_id, emit):
            continue
        fact = log_entry(entry, item_id)
        if isinstance(fact, BackupAttempt):
            emit("backup_windows", fact)
        elif isinstance(fact, ActivationChange):
            emit("activation_changes", fact)


def query_span(call: dict[str, Any], manifest: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The span of time a complete query covered: what its call record says it covers (`covered`: from
    the query's start to the server time of its first page), else, for older lockers, its filter's
    bounds, but never past the moment it was answered.

    A query that reaches its own collection run (its end at most SNAPSHOT_SKEW before the run's first
    answer) covers that run to its end, the locker's as-of time: the run's configuration reads and its
    log query are taken as one snapshot (their order inside the run, seconds apart, is not resolved).
    A query that ended earlier (the period's end, for a run made weeks later) covers only up to there."""
    covered = call.get("covered") if isinstance(call.get("covered"), dict) else None
    if covered:
        start, end = timestamp(covered.get("from")), timestamp(covered.get("to"))
    else:
        bounds = dict(_BOUND.findall(str((call.get("params") or {}).get("filter", ""))))
        start = timestamp(bounds.get(">=") or bounds.get(">"))
        end = timestamp(bounds.get("<") or bounds.get("<="))
    if start is None:
        return None
    covered = call.get("covered") if isinstance(call.get("covered"), dict) else {}
    if timestamp(covered.get("to")):
        # the collector's own record of what the answer covers: Admin Activity entries run to the read, past
        # the system-event bound the filter also carries (auditor.collectors.logging.cloudsql_audit_filter)
        end = timestamp(covered.get("to"))
        start = max(start, timestamp(covered.get("from")) or start)
    as_of = timestamp(manifest.get("as_of"))
    run_start = _run_start(manifest, as_of)
    if end is None or (run_start is not None and end >= run_start - SNAPSHOT_SKEW):
        end = max(end, as_of) if end and as_of else (as_of or end)
    return (start, end) if end and end > start else None


_RUN_START: list[Any] = [None, None]  # (manifest, its run start): one locker's queries are read one after another


def _run_start(manifest: dict[str, Any], as_of: datetime | None) -> datetime | None:
    """The server time of the run's first answer, once per manifest (not once per log query: at 200 projects,
    401 queries times 5,817 calls parsed two million timestamps)."""
    if _RUN_START[0] is not manifest:
        _RUN_START[:] = [manifest, min((t for t in (timestamp(c.get("server_date")) for c in manifest.get("calls", ())) if t),
                                      default=None)]
    return _RUN_START[1] if _RUN_START[1] is not None else as_of


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    span = query_span(call, manifest)
    if span:
        emit("log_coverage", LogSpan(call["scope"], span[0], span[1], call["id"]))
        if BUCKET_METHODS[0] in str((call.get("params") or {}).get("filter", "")):
            # the query asked for bucket updates too (older lockers' did not: they cover nothing for buckets)
            emit("bucket_log_coverage", LogSpan(call["scope"], span[0], span[1], call["id"]))
        if LOCK_METHOD in str((call.get("params") or {}).get("filter", "")):
            # ret2: it asked for retention-policy locks too (earlier lockers' did not: they cover nothing for the lock)
            emit("bucket_lock_coverage", LogSpan(call["scope"], span[0], span[1], call["id"]))


def _by_key(values: list[Any]) -> list[Any]:
    return list({a.key: a for a in values}.values())


def _filled_change(last: ConfigChange, first: ConfigChange) -> ConfigChange:
    """The last entry, with the first's values when only the first carried the request body."""
    if not last.logged_body and first.logged_body:
        last = replace(last, settings=dict(first.settings), logged_body=True)
    return operations.with_evidence(last, first)


def _changes(values: list[ConfigChange]) -> list[ConfigChange]:
    settled = operations.settle({c.key: c for c in values}.values(),
                                unknown=lambda c: replace(c, settings=unknown_settings(), logged_body=False),
                                fill=_filled_change)
    # an operation whose body touched no backup setting is no change of them
    return sorted((c for c in settled if c.settings or c.deleted), key=lambda c: (c.time, c.key))


def _kms_changes(values: list[Any]) -> list[Any]:
    """Cloud KMS version calls are not long-running: one entry each, deduplicated by insertId."""
    return sorted({c.key: c for c in values}.values(), key=lambda c: (c.time, c.key))


def _filled_activation(last: ActivationChange, first: ActivationChange) -> ActivationChange:
    if not last.logged_body and first.logged_body:
        last = replace(last, policy=first.policy, logged_body=True)
    return operations.with_evidence(last, first)


def _activations(values: list[ActivationChange]) -> list[ActivationChange]:
    settled = operations.settle({a.key: a for a in values}.values(),
                                unknown=lambda a: replace(a, policy=None, logged_body=False), fill=_filled_activation)
    # a body that did not touch the activation policy is no stop or start
    return sorted((a for a in settled if a.policy is not None or not a.logged_body), key=lambda a: (a.time, a.key))


def _bucket_changes(values: list[BucketChange]) -> list[BucketChange]:
    return sorted({c.key: c for c in values}.values(), key=lambda c: (c.time, c.key))


def _spans(values: list[LogSpan]) -> list[LogSpan]:
    return sorted({(s.start, s.end): s for s in values}.values(), key=lambda s: (s.start, s.end))


FACTS = (
    Fact("backup_windows", "project", key=lambda a: a.instance, dedupe=_by_key,
         doc="automated backup windows and their outcome, from the system-event audit log"),
    Fact("config_changes", "project", key=lambda c: c.instance, dedupe=_changes,
         doc="backup-setting changes and deletions, from the Admin Activity audit log"),
    Fact("activation_changes", "project", key=lambda a: a.instance, dedupe=_activations,
         doc="stops (NEVER) and starts (ALWAYS), from the Admin Activity audit log"),
    Fact("sql_clones", "project", key=lambda c: c.instance, dedupe=merge_clones,
         doc="Cloud SQL clones from the Admin Activity log, with their cloneContext (point in time or not) and duration"),
    Fact("log_coverage", "project", key=lambda s: s.scope, dedupe=_spans,
         doc="the spans of time complete audit-log queries covered"),
    Fact("kms_version_changes", "key", key=lambda c: c.key_name, scope_of=key_scope, dedupe=_kms_changes,
         doc="Cloud KMS key-version changes (destroy, restore, update, create, primary), from the Admin Activity audit log"),
    Fact("bucket_changes", "project", key=lambda c: c.bucket, dedupe=_bucket_changes,
         item_scope=lambda c: f"projects/{c.project}" if c.project else c.bucket,
         doc="Cloud Storage bucket updates (retention policy set, removed, or not said), from the Admin Activity audit log"),
    Fact("bucket_log_coverage", "project", key=lambda s: s.scope, dedupe=_spans,
         doc="the spans of time complete audit-log queries that asked for bucket updates covered"),
    Fact("bucket_lock_coverage", "project", key=lambda s: s.scope, dedupe=_spans,
         doc="the spans of time complete audit-log queries that asked for bucket retention-policy locks covered"),
)
SOURCES = (
    Source("logging", "entries.list", "project",
           fills=("backup_windows", "config_changes", "activation_changes", "sql_clones", "log_coverage", "kms_version_changes",
                  "monitoring_changes", "bucket_changes", "bucket_log_coverage", "bucket_lock_coverage"),
           permissions=("logging.logEntries.list",), field="entries", read=read, on_complete=on_complete,
           cost=Cost(page_cap=1000, per="project", shape="audit_entries")),
)
