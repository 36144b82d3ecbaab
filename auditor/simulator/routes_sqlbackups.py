"""Cloud SQL Admin v1 `Backups` (ListBackups): every retained backup of a project, of every type.

GET /v1/projects/{project}/backups, as the API shapes it: `pageSize` (default 500, maximum 2000,
larger values coerced), `pageToken`, `filter` (`type:`, `instance:` joined by AND; anything else is
rejected here), and `warnings[]` with code REGION_UNREACHABLE for the project's unreachable regions.
AUTOMATED and ON_DEMAND backups mirror the retained backup runs (`backupRun` maps each to its run);
a deleted instance with `finalBackupConfig` leaves one FINAL backup until deletion + retentionDays,
carrying a snapshot of the instance (`instanceSettings`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from auditor.simulator.apierror import ApiError
from auditor.simulator.memo import memo
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import SELF, backup_runs, instance_json, runs_location, ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario import Project, Scenario, SqlInstance

API = "sqladmin"
DEFAULT, CAP = 500, 2000
_TERM = re.compile(r"^(type|instance):([A-Za-z0-9_-]+)$")


def _from_run(project: Project, inst: SqlInstance, run: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "sql#backup", "name": f"projects/{project.id}/backups/{run['id']}", "instance": inst.name,
        "type": run["type"], "state": run["status"], "backupKind": run.get("backupKind", "SNAPSHOT"),
        "backupInterval": {"startTime": run["startTime"], **({"endTime": run["endTime"]} if "endTime" in run else {})},
        "location": run["location"], "databaseVersion": inst.database_version, "timeZone": "UTC",
        "backupRun": f"projects/{project.id}/instances/{inst.name}/backupRuns/{run['id']}",
        "selfLink": f"{SELF}/projects/{project.id}/backups/{run['id']}"}
    if "error" in run:
        body["error"] = run["error"]
    if inst.kms_key:
        body["kmsKey"] = inst.kms_key
        body["kmsKeyVersion"] = run["diskEncryptionStatus"]["kmsKeyVersionName"]
    return body


def _final(scenario: Scenario, project: Project, inst: SqlInstance) -> dict[str, Any] | None:
    deleted = inst.delete_time
    if deleted is None or deleted > scenario.now or not inst.final_backup_days or inst.backup is None:
        return None
    expiry = deleted + dt.timedelta(days=inst.final_backup_days)
    if expiry <= scenario.now:
        return None
    backup_id = str(int(deleted.timestamp()) * 1000 + 7)
    body: dict[str, Any] = {
        "kind": "sql#backup", "name": f"projects/{project.id}/backups/{backup_id}", "instance": inst.name, "type": "FINAL",
        "state": "SUCCESSFUL", "backupKind": "SNAPSHOT", "databaseVersion": inst.database_version, "timeZone": "UTC",
        "backupInterval": {"startTime": ts(deleted - dt.timedelta(minutes=6)), "endTime": ts(deleted - dt.timedelta(minutes=1))},
        "expiryTime": ts(expiry), "instanceDeletionTime": ts(deleted), "location": runs_location(inst),
        "instanceSettings": instance_json(scenario, project, inst, at=deleted - dt.timedelta(minutes=6)),
        "selfLink": f"{SELF}/projects/{project.id}/backups/{backup_id}"}
    if inst.kms_key:
        body["kmsKey"] = inst.kms_key
        body["kmsKeyVersion"] = f"{inst.kms_key}/cryptoKeyVersions/{inst.backup_key_version(deleted.date())}"
    return body


def project_backups(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    def build() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for inst in project.sql_instances:
            if inst.backup is None or not inst.admin_listed or inst.backup.tier == "ENHANCED":
                continue
            if inst.exists_at(scenario.now):
                out += [_from_run(project, inst, r) for r in backup_runs(scenario, project, inst)]
            final = _final(scenario, project, inst)
            if final:
                out.append(final)
        out.sort(key=lambda b: (b["backupInterval"]["startTime"], b["name"]), reverse=True)
        return out

    return memo(scenario).get(("sqlbackups", project.id), build)


def _filtered(items: list[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    if not text:
        return items
    terms = [t.strip() for t in re.split(r"\s+AND\s+", text.strip())]
    wanted = []
    for term in terms:
        match = _TERM.match(term)
        if not match:
            raise ApiError(400, f"Invalid filter: {term!r}. The simulator supports type:X and instance:Y joined by AND.",
                           reason="invalid")
        wanted.append((match.group(1), match.group(2)))
    return [b for b in items if all(str(b.get(key)) == value for key, value in wanted)]


def list_backups(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], API)
    size = page_size(req.query.get("pageSize"), name="pageSize", default=DEFAULT, cap=CAP)
    items = _filtered(project_backups(req.scenario, project), req.query.get("filter"))
    page, nxt = paginate(items, req.query.get("pageToken"), size,
                         query_key("sqlbackups", project.id, req.query.get("filter") or ""))
    out: dict[str, Any] = {}
    if page:
        out["backups"] = page
    if nxt:
        out["nextPageToken"] = nxt
    if project.unreachable_regions:
        out["warnings"] = [{"code": "REGION_UNREACHABLE", "message": f"The region {r} is unreachable; results may be incomplete.",
                            "region": r} for r in project.unreachable_regions]
    return out


ROUTES = [Route("GET", "/v1/projects/{project}/backups", API, list_backups, frozenset({"pageSize", "pageToken", "filter"}))]
