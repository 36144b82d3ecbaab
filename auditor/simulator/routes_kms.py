"""Cloud KMS v1: cryptoKeys.get and cryptoKeyVersions.list, as the real API shapes them.

Key versions carry the scenario's states; DESTROY_SCHEDULED versions get a destroyTime after the
clock (the default 30-day schedule), DESTROYED ones a destroyTime before it. Page cap 1000.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor.simulator.apierror import invalid_argument, not_found
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario_controls import KmsKey

API = "cloudkms"
PAGE_CAP = 1000
DESTROY_SCHEDULE = dt.timedelta(days=30)


def _key(req: Request) -> tuple[str, KmsKey]:
    p = req.params
    project = req.project(p["project"], API)
    for key in project.kms_keys:
        if (key.location, key.key_ring, key.name) == (p["location"], p["keyRing"], p["cryptoKey"]):
            return project.id, key
    name = f"projects/{p['project']}/locations/{p['location']}/keyRings/{p['keyRing']}/cryptoKeys/{p['cryptoKey']}"
    raise not_found(f"CryptoKey {name} not found.")


def version_json(project: str, key: KmsKey, number: int, now: dt.datetime) -> dict[str, Any]:
    state = key.versions[number - 1]
    created = key.create_time + dt.timedelta(days=90 * (number - 1))
    body: dict[str, Any] = {
        "name": f"{key.full_name(project)}/cryptoKeyVersions/{number}",
        "state": state,
        "createTime": ts(created),
        "generateTime": ts(created),
        "protectionLevel": "SOFTWARE",
        "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
    }
    if state == "DESTROY_SCHEDULED":
        body["destroyTime"] = ts(now.replace(microsecond=0) + DESTROY_SCHEDULE - dt.timedelta(days=3))
    elif state == "DESTROYED":
        when = now.replace(microsecond=0) - dt.timedelta(days=10)
        body["destroyTime"] = ts(when)
        body["destroyEventTime"] = ts(when)
    return body


def get_key(req: Request) -> dict[str, Any]:
    project, key = _key(req)
    body: dict[str, Any] = {
        "name": key.full_name(project),
        "purpose": "ENCRYPT_DECRYPT",
        "createTime": ts(key.create_time),
        "versionTemplate": {"protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
        "destroyScheduledDuration": f"{int(DESTROY_SCHEDULE.total_seconds())}s",
    }
    primary = key.primary_version()
    if primary is not None:
        body["primary"] = version_json(project, key, primary, req.scenario.now)
    return body


def list_versions(req: Request) -> dict[str, Any]:
    project, key = _key(req)
    if req.query.get("filter") or req.query.get("orderBy"):
        raise invalid_argument("The simulator does not support filter or orderBy on cryptoKeyVersions.list.")
    if req.query.get("view") not in (None, "", "CRYPTO_KEY_VERSION_VIEW_UNSPECIFIED", "FULL"):
        raise invalid_argument(f"Invalid value for view: {req.query['view']!r}")
    versions = [version_json(project, key, n, req.scenario.now) for n in range(1, len(key.versions) + 1)]
    size = page_size(req.query.get("pageSize"), name="pageSize", default=PAGE_CAP, cap=PAGE_CAP)
    page, nxt = paginate(versions, req.query.get("pageToken"), size, query_key("cryptoKeyVersions", key.full_name(project)))
    out: dict[str, Any] = {"totalSize": len(versions)}
    if page:
        out["cryptoKeyVersions"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


_KEY = "/v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}"
ROUTES = [
    Route("GET", _KEY, API, get_key),
    Route("GET", _KEY + "/cryptoKeyVersions", API, list_versions,
          frozenset({"pageSize", "pageToken", "filter", "orderBy", "view"})),
]
