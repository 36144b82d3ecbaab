"""Cloud Logging v2 entries.list, with the filter applied server-side.

Entries come from the backup timeline (system-event ``cloudsql.instances.automatedBackup``),
the scenario's stop/start and backup-disable events (admin-activity
``cloudsql.instances.update``) and the Cloud KMS keys' histories (admin-activity
``DestroyCryptoKeyVersion`` ...). Entries later than the scenario clock are never served.
Page cap: pageSize <= 1000 (default 50), as documented for the real API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from auditor.simulator.apierror import invalid_argument
from auditor.logfilter import LogFilterError, compile_filter
from auditor.simulator.memo import memo
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario import Project, Scenario, SqlInstance
from auditor.simulator.timeline import Attempt, all_attempts

API = "logging"
PAGE_DEFAULT, PAGE_CAP = 50, 1000
SYSTEM_EVENT = "cloudaudit.googleapis.com%2Fsystem_event"
ACTIVITY = "cloudaudit.googleapis.com%2Factivity"
_BODY_FIELDS = {"resourceNames", "filter", "orderBy", "pageSize", "pageToken"}
_SEVERITY = {"STATUS_SUCCEEDED": "NOTICE", "STATUS_SKIPPED": "NOTICE",
             "STATUS_ATTEMPT_FAILED": "ERROR", "STATUS_FAILED": "ERROR"}


def _insert_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def _resource(project: Project, inst: SqlInstance) -> dict[str, Any]:
    return {"type": "cloudsql_database",
            "labels": {"project_id": project.id, "database_id": f"{project.id}:{inst.name}", "region": inst.region}}


def backup_entry(project: Project, inst: SqlInstance, a: Attempt) -> dict[str, Any]:
    meta: dict[str, Any] = {"windowStatus": a.status, "windowStartTime": ts(a.window_start),
                            "windowEndTime": ts(a.window_end)}
    if a.backup_start is not None and a.status != "STATUS_SKIPPED":
        meta["backupStartTime"] = ts(a.backup_start)
    if a.backup_end is not None:
        meta["backupEndTime"] = ts(a.backup_end)
    return {
        "insertId": _insert_id(project.id, inst.name, a.day, a.seq, a.status),
        "logName": f"projects/{project.id}/logs/{SYSTEM_EVENT}",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {} if a.status in ("STATUS_SUCCEEDED", "STATUS_SKIPPED") else
            {"code": 13, "message": "An internal error occurred during the automated backup."},
            "serviceName": "cloudsql.googleapis.com",
            "methodName": "cloudsql.instances.automatedBackup",
            "resourceName": f"projects/{project.id}/instances/{inst.name}",
            "metadata": meta,
        },
        "resource": _resource(project, inst),
        "timestamp": ts(a.timestamp),
        "receiveTimestamp": ts(a.timestamp + dt.timedelta(seconds=1)),
        "severity": _SEVERITY[a.status],
    }


def _update_entry(project: Project, inst: SqlInstance, when: dt.datetime, settings: dict[str, Any],
                  method: str = "cloudsql.instances.update") -> dict[str, Any]:
    verb = method.rsplit(".", 1)[-1]
    request: dict[str, Any] = {"@type": f"type.googleapis.com/google.cloud.sql.v1.SqlInstances{verb.capitalize()}Request",
                               "instance": inst.name, "project": project.id}
    if settings:
        request["body"] = {"settings": settings}
    return {
        "insertId": _insert_id(project.id, inst.name, verb, when.isoformat()),
        "logName": f"projects/{project.id}/logs/{ACTIVITY}",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": f"dba@{project.id}.example"},
            "serviceName": "cloudsql.googleapis.com",
            "methodName": method,
            "resourceName": f"projects/{project.id}/instances/{inst.name}",
            "request": request,
        },
        "resource": _resource(project, inst),
        "timestamp": ts(when),
        "receiveTimestamp": ts(when + dt.timedelta(seconds=1)),
        "severity": "NOTICE",
    }


def bucket_update_entry(project: Project, bucket: Any, when: dt.datetime, request: dict[str, Any] | None) -> dict[str, Any]:
    """A bucket metadata change as Cloud Storage logs it (an update and a patch alike are storage.buckets.update,
    resourceName projects/_/buckets/NAME, resource type gcs_bucket); the request only when `request` is given
    (whether Storage logs it is unconfirmed: a transcribed entry carries none)."""
    proto: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": {},
        "authenticationInfo": {"principalEmail": f"storage-admin@{project.id}.example"},
        "serviceName": "storage.googleapis.com", "methodName": "storage.buckets.update",
        "resourceName": f"projects/_/buckets/{bucket.name}",
        "authorizationInfo": [{"resource": f"projects/_/buckets/{bucket.name}", "permission": "storage.buckets.update",
                               "granted": True, "resourceAttributes": {}}],
    }
    if request is not None:
        proto["request"] = request
    return {
        "insertId": _insert_id(project.id, bucket.name, "update", when.isoformat()),
        "logName": f"projects/{project.id}/logs/{ACTIVITY}",
        "protoPayload": proto,
        "resource": {"type": "gcs_bucket", "labels": {"bucket_name": bucket.name, "project_id": project.id,
                                                      "location": bucket.location.lower()}},
        "timestamp": ts(when), "receiveTimestamp": ts(when + dt.timedelta(seconds=1)), "severity": "NOTICE",
    }


def bucket_lock_entry(project: Project, bucket: Any, when: dt.datetime, body_logged: bool) -> dict[str, Any]:
    """ret2: a retention-policy lock (Buckets: lockRetentionPolicy, the JSON API method id as methodName: unconfirmed
    for the log); the lock takes no request body, so `request` holds only its parameters, and only when `body_logged`."""
    entry = bucket_update_entry(project, bucket, when, {"bucket": bucket.name, "ifMetagenerationMatch": "1"} if body_logged else None)
    entry["insertId"] = _insert_id(project.id, bucket.name, "lock", when.isoformat())
    entry["protoPayload"]["methodName"] = "storage.buckets.lockRetentionPolicy"
    entry["protoPayload"]["authorizationInfo"][0]["permission"] = "storage.buckets.update"  # the method's permission
    return entry


def clone_entries(project: Project, inst: SqlInstance, op: Any) -> list[dict[str, Any]]:
    """A clone in the Admin Activity log, as Cloud SQL logs a long-running method: a first entry when it starts
    (with the request: `cloneContext`, its `pointInTime` for a point-in-time clone) and a last when it ends,
    both carrying the same `operation.id`."""
    context: dict[str, Any] = {"kind": "sql#cloneContext", "destinationInstanceName": op.into or f"{inst.name}-clone"}
    if op.point_in_time is not None:
        context["pointInTime"] = ts(op.point_in_time)
    first = _update_entry(project, inst, op.time, {}, "cloudsql.instances.clone")
    first["protoPayload"]["request"]["body"] = {"cloneContext": context}
    operation = {"id": _insert_id(project.id, inst.name, "clone-op", op.time.isoformat()), "producer": "cloudsql.googleapis.com"}
    first["operation"] = {**operation, "first": True}
    out = [first]
    if op.status == "DONE":
        end = op.time + dt.timedelta(minutes=op.minutes)
        last = _update_entry(project, inst, end, {}, "cloudsql.instances.clone")
        del last["protoPayload"]["request"]
        last["insertId"] = _insert_id(project.id, inst.name, "clone-end", end.isoformat())
        last["operation"] = {**operation, "last": True}
        if op.error:
            last["protoPayload"]["status"] = {"code": 13, "message": op.error}
        out.append(last)
    return out


_SPELL_FIELDS = {"retained_backups": ("backupRetentionSettings", "retainedBackups"), "pitr": ("pointInTimeRecoveryEnabled",),
                 "log_retention_days": ("transactionLogRetentionDays",), "location": ("location",)}


def _spell_entries(project: Project, inst: SqlInstance, spell: Any) -> list[dict[str, Any]]:
    """The updates that set a spell's settings and restored the base ones: with the request body, or
    without it (the field is unconfirmed for Cloud SQL), as the spell says."""
    out = []
    for when, source in ((spell.start, spell), (spell.end, inst.backup)):
        if when is None:
            continue
        config: dict[str, Any] = {}
        for name, path in _SPELL_FIELDS.items():
            if getattr(spell, name) is None:
                continue
            value = getattr(source, name)
            if len(path) == 2:
                config.setdefault(path[0], {"retentionUnit": "COUNT"})[path[1]] = value
            else:
                config[path[0]] = value
        entry = _update_entry(project, inst, when, {"backupConfiguration": config} if spell.body_logged else {})
        out.append(entry)
    return out


_KMS_METHODS = {"create": "CreateCryptoKeyVersion", "disable": "UpdateCryptoKeyVersion", "enable": "UpdateCryptoKeyVersion",
                "destroy": "DestroyCryptoKeyVersion", "restore": "RestoreCryptoKeyVersion",
                "primary": "UpdateCryptoKeyPrimaryVersion"}
_KMS_REQUEST = "type.googleapis.com/google.cloud.kms.v1.{}Request"


def _proto(service: str, method: str, name: str, principal: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    """An AuditLog protoPayload without request (the callers add one where it is logged)."""
    return {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": status or {},
            "authenticationInfo": {"principalEmail": principal}, "serviceName": service, "methodName": method,
            "resourceName": name}


def _activity(project: Project, insert_id: str, proto: dict[str, Any], resource: dict[str, Any], when: dt.datetime,
              failed: bool = False) -> dict[str, Any]:
    """The LogEntry around an Admin Activity protoPayload."""
    return {"insertId": insert_id, "logName": f"projects/{project.id}/logs/{ACTIVITY}", "protoPayload": proto,
            "resource": resource, "timestamp": ts(when), "receiveTimestamp": ts(when + dt.timedelta(seconds=1)),
            "severity": "ERROR" if failed else "NOTICE"}


def _kms_entry(project: Project, key: Any, event: Any) -> dict[str, Any]:
    """A Cloud KMS Admin Activity entry for one call of a key's history. No response is logged, and a
    request body only where the method's body is not in doubt (destroy, restore: the name is the whole
    request) or the event says it was logged (an update's new state and a primary change are unconfirmed);
    CreateCryptoKeyVersion's new version is named only by its response, so its entry names the key."""
    method = _KMS_METHODS[event.action]
    key_name = key.full_name(project.id)
    named = key_name if event.version is None else f"{key_name}/cryptoKeyVersions/{event.version}"
    labels = {"project_id": project.id, "location": key.location, "key_ring_id": key.key_ring, "crypto_key_id": key.name}
    if event.version is not None and event.action != "primary":
        labels["crypto_key_version_id"] = str(event.version)
        resource_type = "cloudkms_cryptokeyversion"
    else:
        resource_type, named = "cloudkms_cryptokey", key_name
    refused = {"code": 9, "message": "The request cannot be fulfilled: the version is not in a state that allows it."}
    proto = _proto("cloudkms.googleapis.com", method, named, f"security@{project.id}.example", refused if event.failed else None)
    if event.action in ("destroy", "restore"):
        proto["request"] = {"@type": _KMS_REQUEST.format(method), "name": named}
    elif event.body_logged and event.action in ("disable", "enable"):
        proto["request"] = {"@type": _KMS_REQUEST.format(method), "updateMask": "state",
                            "cryptoKeyVersion": {"name": named, "state": "DISABLED" if event.action == "disable" else "ENABLED"}}
    elif event.body_logged and event.action == "primary":
        proto["request"] = {"@type": _KMS_REQUEST.format(method), "name": key_name, "cryptoKeyVersionId": str(event.version)}
    return _activity(project, _insert_id(project.id, key_name, event.action, event.version, event.time.isoformat()), proto,
                     {"type": resource_type, "labels": labels}, event.time, event.failed)


def _body(settings: dict[str, Any], logged: bool) -> dict[str, Any]:
    return settings if logged else {}


def policy_update_entry(project: Project, policy: Any, when: dt.datetime, enabled: bool, body_logged: bool) -> dict[str, Any]:
    """A Monitoring UpdateAlertPolicy Admin Activity entry; with the request (an update mask on `enabled`) only
    when `body_logged` (whether Monitoring logs it is unconfirmed: API notes)."""
    name = f"projects/{project.id}/alertPolicies/{policy.id}"
    method = "google.monitoring.v3.AlertPolicyService.UpdateAlertPolicy"
    proto = _proto("monitoring.googleapis.com", method, name, f"sre@{project.id}.example")
    if body_logged:
        proto["request"] = {"@type": "type.googleapis.com/google.monitoring.v3.UpdateAlertPolicyRequest",
                            "alertPolicy": {"name": name, "enabled": enabled}, "updateMask": "enabled"}
    return _activity(project, _insert_id(project.id, policy.id, "update", when.isoformat()), proto,
                     {"type": "audited_resource",
                      "labels": {"service": "monitoring.googleapis.com", "method": method, "project_id": project.id}}, when)


def metric_update_entry(project: Project, metric: Any, when: dt.datetime, disabled: bool, body_logged: bool) -> dict[str, Any]:
    """A Logging UpdateLogMetric Admin Activity entry; with the request (the whole metric) only when `body_logged`."""
    name = f"projects/{project.id}/metrics/{metric.name}"
    method = "google.logging.v2.MetricsServiceV2.UpdateLogMetric"
    proto = _proto("logging.googleapis.com", method, name, f"sre@{project.id}.example")
    if body_logged:
        proto["request"] = {"@type": "type.googleapis.com/google.logging.v2.UpdateLogMetricRequest", "metricName": name,
                            "metric": {"name": metric.name, "filter": metric.filter, "disabled": disabled}}
    return _activity(project, _insert_id(project.id, metric.name, "update", when.isoformat()), proto,
                     {"type": "metric", "labels": {"name": metric.name, "project_id": project.id}}, when)


def project_entries(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    """Every entry of a project up to the scenario clock, in no particular order; cached (memo.py)."""
    return memo(scenario).get(("entries", project.id), lambda: _project_entries(scenario, project))


def _project_entries(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    out = [backup_entry(project, project.instance(a.instance), a) for a in all_attempts(scenario, project)]
    for inst in project.sql_instances:
        # stops, starts and backup switches: with the request body only where the scenario says it is logged
        # (unconfirmed for Cloud SQL, API notes), so by default the entry says an update happened, not what it set
        for interval in inst.stopped:
            out.append(_update_entry(project, inst, interval.start, _body({"activationPolicy": "NEVER"}, interval.body_logged)))
            if interval.end is not None:
                out.append(_update_entry(project, inst, interval.end, _body({"activationPolicy": "ALWAYS"}, interval.body_logged)))
        since = inst.backup.disabled_since if inst.backup else None
        if since is not None:
            when = dt.datetime(since.year, since.month, since.day, tzinfo=dt.timezone.utc)
            out.append(_update_entry(project, inst, when, _body({"backupConfiguration": {"enabled": False}},
                                                                inst.backup.disabled_since_body_logged)))
        for spell in inst.backup.disabled if inst.backup else []:
            out.append(_update_entry(project, inst, spell.start, _body({"backupConfiguration": {"enabled": False}}, spell.body_logged),
                                     "cloudsql.instances.patch"))
            if spell.end is not None:
                out.append(_update_entry(project, inst, spell.end, _body({"backupConfiguration": {"enabled": True}}, spell.body_logged),
                                         "cloudsql.instances.patch"))
        for spell in inst.backup.changes if inst.backup else []:
            out += _spell_entries(project, inst, spell)
        for spell in inst.label_changes:  # labels set, then restored (userLabels: the map replaced whole)
            for when, labels in ((spell.start, spell.labels), (spell.end, inst.labels)):
                if when is not None:
                    out.append(_update_entry(project, inst, when, {"userLabels": dict(labels)} if spell.body_logged else {}))
        if inst.delete_time is not None:
            out.append(_update_entry(project, inst, inst.delete_time, {}, "cloudsql.instances.delete"))
        for op in inst.operations:
            if op.type in ("CLONE", "CREATE_CLONE"):
                out += clone_entries(project, inst, op)
    for key in project.kms_keys:  # issue 13 (kms): each key's Admin Activity history
        out += [_kms_entry(project, key, event) for event in key.history]
    for policy in project.alert_policies:
        out += [policy_update_entry(project, policy, when, on, logged) for when, on, logged in policy.changes()]
    for metric in project.log_metrics:
        out += [metric_update_entry(project, metric, when, off, logged) for when, off, logged in metric.changes()]
    for bucket in project.buckets:
        for spell in bucket.retention_removed:
            out.append(bucket_update_entry(project, bucket, spell.start, {"retentionPolicy": None} if spell.body_logged else None))
            if spell.end is not None:
                policy = {"retentionPolicy": {"retentionPeriod": str(int(bucket.retention_days or 0) * 86400)}}
                out.append(bucket_update_entry(project, bucket, spell.end, policy if spell.body_logged else None))
        if bucket.locked_at is not None:  # ret2: the lock, once
            out.append(bucket_lock_entry(project, bucket, bucket.locked_at, bucket.lock_body_logged))
    horizon = ts(scenario.now)
    return [e for e in out if e["timestamp"] <= horizon]


def list_entries(req: Request) -> dict[str, Any]:
    body = req.body if req.body is not None else {}
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. Expected an object.")
    unknown = sorted(set(body) - _BODY_FIELDS)
    if unknown:
        raise invalid_argument(f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
    names = body.get("resourceNames") or []
    if not isinstance(names, list) or not names:
        raise invalid_argument("resourceNames: at least one resource name is required.")
    projects: list[Project] = []
    for name in names:
        kind, _, ident = str(name).partition("/")
        if kind == "projects" and ident and "/" not in ident:
            projects.append(req.project(ident, API))
        elif kind == "organizations" and ident == req.scenario.organization.id:
            continue  # the scenario holds no organisation-level logs
        else:
            raise invalid_argument(f"Invalid resource name {name!r}: use projects/ID or organizations/ID.")
    text = body.get("filter") or ""
    if not isinstance(text, str):
        raise invalid_argument("filter must be a string.")
    try:
        pred = compile_filter(text)
    except LogFilterError as exc:
        raise invalid_argument(f"Unparseable filter: {exc}") from None
    order = (body.get("orderBy") or "timestamp asc").strip()
    if order not in ("timestamp asc", "timestamp desc"):
        raise invalid_argument(f'orderBy must be "timestamp asc" or "timestamp desc", got {order!r}.')
    size = page_size(body.get("pageSize"), name="pageSize", default=PAGE_DEFAULT, cap=PAGE_CAP)
    key = query_key("entries", sorted(names), text, order)

    def matching() -> list[dict[str, Any]]:
        found = [e for p in projects for e in project_entries(req.scenario, p) if pred(e)]
        found.sort(key=lambda e: (e["timestamp"], e["insertId"]), reverse=(order == "timestamp desc"))
        return found

    entries = memo(req.scenario).get(("query", key), matching)  # later pages slice the same result
    page, nxt = paginate(entries, body.get("pageToken"), size, key)
    out: dict[str, Any] = {}
    if page:
        out["entries"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


ROUTES = [Route("POST", "/v2/entries:list", API, list_entries)]
