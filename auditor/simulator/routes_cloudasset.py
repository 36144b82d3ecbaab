"""Cloud Asset API v1: resources.searchAllResources at organisation, folder or project scope.

The google-cloud-asset REST transport sends GET /v1/{scope}:searchAllResources with repeated
`assetTypes`, `pageSize`, `pageToken` and `$alt=json;enum-encoding=int`. Results use full resource
names and report the owning project by NUMBER (`projects/111...`), as the real index does; Cloud
SQL names carry the project ID. Only stores with `asset_index: true` are served (Cloud SQL reaches
the index only every few hours). Page size: default 100, capped at 500.
"""

from __future__ import annotations

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
                           "sqladmin.googleapis.com/Instance", inst.region, inst.labels, inst.create_time, inst.name)
            body["state"] = inst.state
            if inst.kms_key:
                body["kmsKeys"] = [inst.kms_key]
            out.append(body)
    for bucket in project.buckets:
        if bucket.asset_index:
            body = _common(scenario, project, f"//storage.googleapis.com/{bucket.name}", "storage.googleapis.com/Bucket",
                           bucket.location, bucket.labels, bucket.create_time, bucket.name)
            if bucket.kms_key:
                body["kmsKeys"] = [bucket.kms_key]
            out.append(body)
    for store in project.other_stores:
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


ROUTES = [
    Route("GET", "/v1/{kind}/{id}:searchAllResources", API, search_all_resources,
          frozenset({"assetTypes", "pageSize", "pageToken", "query", "orderBy", "$alt"}), frozenset({"assetTypes"})),
]
