"""Cloud Asset API v1: resources.searchAllResources at organisation, folder or project scope, and
assets.batchGetAssetsHistory (GET v1/{parent}:batchGetAssetsHistory, parent a project or an organisation).

The google-cloud-asset REST transport sends GET /v1/{scope}:searchAllResources with repeated
`assetTypes`, `pageSize`, `pageToken` and `$alt=json;enum-encoding=int`. Results use full resource
names and report the owning project by NUMBER (`projects/111...`), as the real index does; Cloud
SQL names carry the project ID. Only stores with `asset_index: true` are served (Cloud SQL reaches
the index only every few hours). Page size: default 100, capped at 500.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from auditor.simulator.apierror import ApiError, invalid_argument
from auditor.simulator.memo import memo
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario import Project, Scenario

API = "cloudasset"
CAP, DEFAULT = 500, 100
_ASSET_TYPE = re.compile(r"^[a-z0-9.-]+\.googleapis\.com/[A-Za-z]+$")


def _common(scenario: Scenario, project: Project, name: str, asset_type: str, location: str, labels: dict[str, str],
            create_time: Any, display: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name, "assetType": asset_type, "project": f"projects/{project.number}", "displayName": display,
        "location": location.lower(), "createTime": ts(create_time),
        "parentFullResourceName": f"//cloudresourcemanager.googleapis.com/projects/{project.id}",
        "parentAssetType": "cloudresourcemanager.googleapis.com/Project",
        "organization": f"organizations/{scenario.organization.id}",
    }
    if project.folder:
        body["folders"] = [f"folders/{project.folder}"]
    if labels:
        body["labels"] = dict(labels)
    return body


def project_assets(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    """Every indexed resource of one project, in a stable order; cached (memo.py)."""
    return memo(scenario).get(("assets", project.id), lambda: _project_assets(scenario, project))


def _project_assets(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    proj = {"name": f"//cloudresourcemanager.googleapis.com/projects/{project.id}",
            "assetType": "cloudresourcemanager.googleapis.com/Project", "project": f"projects/{project.number}",
            "displayName": project.id, "location": "global", "state": "ACTIVE",
            "additionalAttributes": {"projectId": project.id},
            "organization": f"organizations/{scenario.organization.id}"}
    if project.folder:
        proj["folders"] = [f"folders/{project.folder}"]
    out.append(proj)
    for inst in project.sql_instances:
        if inst.asset_index and inst.exists_at(scenario.now):  # created by the clock, not deleted
            body = _common(scenario, project, f"//cloudsql.googleapis.com/projects/{project.id}/instances/{inst.name}",
                           "sqladmin.googleapis.com/Instance", inst.region, inst.labels_at(scenario.now), inst.create_time,
                           inst.name)
            body["state"] = inst.state
            if inst.kms_key:
                body["kmsKeys"] = [inst.kms_key]
            out.append(body)
    for bucket in project.buckets:
        if bucket.asset_index and not bucket.gone_at(scenario.now):  # inv3: a deleted bucket leaves the index
            body = _common(scenario, project, f"//storage.googleapis.com/{bucket.name}", "storage.googleapis.com/Bucket",
                           bucket.location, bucket.labels, bucket.create_time, bucket.name)
            if bucket.kms_key:
                body["kmsKeys"] = [bucket.kms_key]
            out.append(body)
    for store in project.other_stores:
        if store.gone_at(scenario.now):
            continue
        out.append(_common(scenario, project, store.name, store.asset_type, store.location, store.labels,
                           store.create_time, store.name.rsplit("/", 1)[-1]))
    return out


def _projects_in_scope(req: Request) -> list[Project]:
    kind, ident = req.params["kind"], req.params["id"]
    scenario = req.scenario
    if kind == "organizations":
        if ident != scenario.organization.id:
            raise ApiError(403, f"The caller does not have permission on organizations/{ident}.", reason="forbidden",
                           status="PERMISSION_DENIED")
        projects = list(scenario.projects)
    elif kind == "folders":
        projects = [p for p in scenario.projects if p.folder == ident]
        if not projects:
            raise ApiError(403, f"The caller does not have permission on folders/{ident}.", reason="forbidden")
    elif kind == "projects":
        proj = next((p for p in scenario.projects if ident in (p.id, p.number)), None)
        projects = [req.project(proj.id if proj else ident, API)]
    else:
        raise invalid_argument(f"Invalid scope {kind}/{ident}: expected organizations/N, folders/N or projects/P.")
    return projects


def search_all_resources(req: Request) -> dict[str, Any]:
    if req.query.get("query"):
        raise invalid_argument("The simulator serves searchAllResources without a query.")
    if req.query.get("$alt", "json;enum-encoding=int") not in ("json", "json;enum-encoding=int"):
        raise invalid_argument(f"Unsupported $alt={req.query['$alt']!r}.")
    types = req.values("assetTypes")
    for asset_type in types:
        if not _ASSET_TYPE.match(asset_type):
            raise invalid_argument(f"Invalid asset type {asset_type!r}.")
    projects = _projects_in_scope(req)
    size = page_size(req.query.get("pageSize"), name="pageSize", default=DEFAULT, cap=CAP)
    key = query_key("searchAllResources", req.params["kind"], req.params["id"], sorted(types))
    items = memo(req.scenario).get(("search", key), lambda: [
        a for p in projects for a in project_assets(req.scenario, p) if not types or a["assetType"] in types])
    page, nxt = paginate(items, req.query.get("pageToken"), size, key)
    out: dict[str, Any] = {}
    if page:
        out["results"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


HISTORY_DAYS = 35


def _parse_time(value: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise invalid_argument(f"Invalid value at '{name}' ({value!r}): not an RFC 3339 timestamp.") from err
    if moment.tzinfo is None:
        raise invalid_argument(f"Invalid value at '{name}' ({value!r}): no time zone.")
    return moment.astimezone(dt.timezone.utc)


def _segments(scenario: Scenario, project: Project, name: str) -> list[tuple[dict[str, Any], dt.datetime, dt.datetime | None, bool]]:
    """(resource content, window start, window end or None, deleted) of one asset, oldest first."""
    parent = f"//cloudresourcemanager.googleapis.com/projects/{project.number}"
    for inst in project.sql_instances:
        if f"//cloudsql.googleapis.com/projects/{project.id}/instances/{inst.name}" != name:
            continue
        cuts = sorted({inst.create_time, *(t for s in inst.label_changes for t in (s.start, s.end) if t is not None)})
        cuts = [t for t in cuts if t >= inst.create_time and (inst.delete_time is None or t < inst.delete_time)]
        out = []
        for i, start in enumerate(cuts):
            end = cuts[i + 1] if i + 1 < len(cuts) else inst.delete_time
            data = {"name": inst.name, "project": project.id, "region": inst.region, "databaseVersion": inst.database_version,
                    "createTime": ts(inst.create_time), "settings": {"userLabels": inst.labels_at(start)}}
            out.append(({"version": "v1beta4", "discoveryDocumentUri": "https://sqladmin.googleapis.com/$discovery/rest?version=v1beta4",
                         "discoveryName": "DatabaseInstance", "parent": parent, "data": data, "location": inst.region},
                        start, end, False))
        if inst.delete_time is not None:
            out.append(({}, inst.delete_time, None, True))
        return out
    for bucket in project.buckets:
        if f"//storage.googleapis.com/{bucket.name}" == name:
            data = {"name": bucket.name, "location": bucket.location, "timeCreated": ts(bucket.create_time)}
            if bucket.labels:
                data["labels"] = dict(bucket.labels)
            return [({"version": "v1", "discoveryDocumentUri": "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
                      "discoveryName": "Bucket", "parent": parent, "data": data, "location": bucket.location.lower()},
                     bucket.create_time, bucket.delete_time, False)] + (
                [({}, bucket.delete_time, None, True)] if bucket.delete_time is not None else [])  # inv3
    for store in project.other_stores:
        if store.name == name:
            data = {"name": name.rsplit("/", 1)[-1], **({"labels": dict(store.labels)} if store.labels else {})}
            return [({"version": "v1", "parent": parent, "data": data, "location": store.location}, store.create_time, None, False)]
    return []


def _asset_type(scenario: Scenario, name: str) -> str | None:
    for project in scenario.projects:
        for asset in project_assets(scenario, project):
            if asset["name"] == name:
                return asset["assetType"]
    return None


def batch_get_assets_history(req: Request) -> dict[str, Any]:
    """Every content window of each named asset that overlaps the read window; the read window may not start
    more than 35 days back, and a name that does not exist fails the whole request (as documented)."""
    kind, ident = req.params["kind"], req.params["id"]
    if kind not in ("projects", "organizations"):
        raise invalid_argument(f"Invalid parent {kind}/{ident}: expected organizations/N or projects/P.")
    projects = _projects_in_scope(req)
    names = req.values("assetNames")
    if len(names) > 100:
        raise invalid_argument(f"At most 100 asset names per request; got {len(names)}.")
    content = req.query.get("contentType", "")
    if content not in ("1", "RESOURCE"):
        raise invalid_argument(f"The simulator serves contentType RESOURCE only; got {content!r}.")
    now = req.scenario.now
    start_text = req.query.get("readTimeWindow.startTime")
    end_text = req.query.get("readTimeWindow.endTime")
    end = _parse_time(end_text, "read_time_window.end_time") if end_text else now
    start = _parse_time(start_text, "read_time_window.start_time") if start_text else end
    if start < now - dt.timedelta(days=HISTORY_DAYS):
        raise invalid_argument(f"read_time_window.start_time {start_text} is more than {HISTORY_DAYS} days before now.")
    if end < start:
        raise invalid_argument("read_time_window.end_time is before its start_time.")
    out = []
    for name in names:
        owner = next(((p, segs) for p in projects for segs in [_segments(req.scenario, p, name)] if segs), None)
        asset_type = _asset_type(req.scenario, name)
        if owner is None or (asset_type is None and not any(deleted for *_, deleted in owner[1])):
            raise invalid_argument(f"Asset {name} does not exist.")
        project, segments = owner
        prior: dict[str, Any] | None = None
        for number, (resource, seg_start, seg_end, deleted) in enumerate(segments):
            if seg_start > now:
                break
            shown_end = min(seg_end, now) if seg_end is not None else now
            if seg_start <= end and shown_end >= start:
                entry: dict[str, Any] = {"window": {"startTime": ts(seg_start), "endTime": ts(shown_end)},
                                         "asset": {"name": name, "assetType": asset_type or "sqladmin.googleapis.com/Instance",
                                                   "updateTime": ts(seg_start), **({"resource": resource} if resource else {}),
                                                   "ancestors": [f"projects/{project.number}",
                                                                 f"organizations/{req.scenario.organization.id}"]},
                                         "priorAssetState": "DOES_NOT_EXIST" if number == 0 else "PRESENT"}
                if deleted:
                    entry["deleted"] = True
                if prior is not None:
                    entry["priorAsset"] = prior
                out.append(entry)
            prior = {"name": name, "assetType": asset_type, "resource": resource} if resource else None
    return {"assets": out} if out else {}


ROUTES = [
    Route("GET", "/v1/{kind}/{id}:batchGetAssetsHistory", API, batch_get_assets_history,
          frozenset({"assetNames", "contentType", "readTimeWindow.startTime", "readTimeWindow.endTime",
                     "relationshipTypes", "$alt"}), frozenset({"assetNames", "relationshipTypes"})),
    Route("GET", "/v1/{kind}/{id}:searchAllResources", API, search_all_resources,
          frozenset({"assetTypes", "pageSize", "pageToken", "query", "orderBy", "$alt"}), frozenset({"assetTypes"})),
]
