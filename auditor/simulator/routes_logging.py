"""Cloud Logging v2 entries.list, with the filter applied server-side.

Entries come from the backup timeline (system-event ``cloudsql.instances.automatedBackup``)
and the scenario's stop/start and backup-disable events (admin-activity
``cloudsql.instances.update``). Entries later than the scenario clock are never served.
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


def project_entries(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    """Every entry of a project up to the scenario clock, in no particular order; cached (memo.py)."""
    return memo(scenario).get(("entries", project.id), lambda: _project_entries(scenario, project))


def _project_entries(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    out = [backup_entry(project, project.instance(a.instance), a) for a in all_attempts(scenario, project)]
    for inst in project.sql_instances:
        for interval in inst.stopped:
            out.append(_update_entry(project, inst, interval.start, {"activationPolicy": "NEVER"}))
            if interval.end is not None:
                out.append(_update_entry(project, inst, interval.end, {"activationPolicy": "ALWAYS"}))
        since = inst.backup.disabled_since if inst.backup else None
        if since is not None:
            when = dt.datetime(since.year, since.month, since.day, tzinfo=dt.timezone.utc)
            out.append(_update_entry(project, inst, when, {"backupConfiguration": {"enabled": False}}))
        for spell in inst.backup.disabled if inst.backup else []:
            out.append(_update_entry(project, inst, spell.start, {"backupConfiguration": {"enabled": False}},
                                     "cloudsql.instances.patch"))
            if spell.end is not None:
                out.append(_update_entry(project, inst, spell.end, {"backupConfiguration": {"enabled": True}},
                                         "cloudsql.instances.patch"))
        for spell in inst.backup.changes if inst.backup else []:
            out += _spell_entries(project, inst, spell)
        if inst.delete_time is not None:
            out.append(_update_entry(project, inst, inst.delete_time, {}, "cloudsql.instances.delete"))
        for op in inst.operations:
            if op.type in ("CLONE", "CREATE_CLONE"):
                out += clone_entries(project, inst, op)
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
