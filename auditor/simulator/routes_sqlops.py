"""Cloud SQL Admin operations.list, newest first, from the scenario's operations history.

Per instance with `instance` (the collectors always send it), else every instance of the project
(as the API lists them when it is omitted); page cap 500.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from auditor.simulator.apierror import not_found
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import SELF, ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario_controls import Operation

API = "sqladmin"
PAGE_CAP = 500


def operation_json(project: str, instance: str, op: Operation) -> dict[str, Any]:
    digest = hashlib.sha256(f"{project}|{instance}|{op.type}|{op.time.isoformat()}".encode()).hexdigest()
    name = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    body: dict[str, Any] = {
        "kind": "sql#operation", "name": name, "operationType": op.type, "status": op.status,
        "insertTime": ts(op.time), "startTime": ts(op.time), "user": op.user,
        "targetId": instance, "targetProject": project,
        "targetLink": f"{SELF}/projects/{project}/instances/{instance}",
        "selfLink": f"{SELF}/projects/{project}/operations/{name}",
    }
    if op.status == "DONE":
        body["endTime"] = ts(op.time + dt.timedelta(minutes=op.minutes))
    if op.backup_id:
        body["backupContext"] = {"kind": "sql#backupContext", "backupId": op.backup_id,
                                 "name": f"projects/{project}/backups/{op.backup_id}"}
    if op.error:
        body["error"] = {"kind": "sql#operationErrors",
                         "errors": [{"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": op.error}]}
    return body


def list_operations(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], API)
    name = req.query.get("instance") or ""
    if name:
        inst = project.instance(name)
        if inst is None:
            raise not_found("The Cloud SQL instance does not exist.", reason="instanceDoesNotExist")
        instances = [inst]
    else:  # no instance: every operation of the project, as the API lists them
        instances = list(project.sql_instances)
    ops = sorted(((i.name, o) for i in instances for o in i.operations if o.time <= req.scenario.now),
                 key=lambda pair: (pair[1].time, pair[0]), reverse=True)
    items = [operation_json(project.id, instance, o) for instance, o in ops]
    size = page_size(req.query.get("maxResults"), name="maxResults", default=PAGE_CAP, cap=PAGE_CAP)
    page, nxt = paginate(items, req.query.get("pageToken"), size, query_key("operations", project.id, name))
    out: dict[str, Any] = {"kind": "sql#operationsList"}
    if page:
        out["items"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


ROUTES = [Route("GET", "/v1/projects/{project}/operations", API, list_operations,
                frozenset({"instance", "location", "maxResults", "pageToken"}))]
