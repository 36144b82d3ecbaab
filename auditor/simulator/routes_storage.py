"""Cloud Storage JSON API v1: buckets.list, buckets.get, buckets.testIamPermissions, objects.list and objects.get.

Paths are under /storage/v1/ (the JSON API's service path). Locations are UPPERCASE as Storage
writes them; retention and soft-delete durations are seconds in strings (int64 in JSON). Buckets
with `admin_listed: false` are invisible to the auditing identity. buckets.list: maxResults
capped at 1000 (default 1000). Objects (a bucket's `objects:`, the packs an evidence bucket keeps):
objects.list by prefix (maxResults capped at 1000), objects.get as metadata or, with alt=media, the
bytes; under a retention policy each object carries retentionExpirationTime (timeCreated + period).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import google_crc32c

from auditor.simulator.apierror import ApiError, invalid_argument, not_found
from auditor.simulator.memo import memo
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario import Project, Scenario
from auditor.simulator.scenario_stores import Bucket

API = "storage"
CAP = 1000
DAY = 86400
SELF = "https://www.googleapis.com/storage/v1/b"
# What a read-only auditing identity (roles/storage.bucketViewer) may do on a bucket.
GRANTED = frozenset({"storage.buckets.get", "storage.buckets.list", "storage.buckets.getIamPolicy"})


def _location_type(bucket: Bucket) -> str:
    if bucket.location_type:
        return bucket.location_type
    if bucket.data_locations or bucket.location.upper() in ("NAM4", "EUR4", "EUR5", "EUR7", "EUR8", "ASIA1"):
        return "dual-region"
    return "multi-region" if bucket.location.upper() in ("US", "EU", "ASIA") else "region"


def bucket_json(project: Project, bucket: Bucket, now: dt.datetime | None = None) -> dict[str, Any]:
    """The bucket as read at `now` (a removed retention policy is absent from the answer meanwhile)."""
    created = ts(bucket.create_time)
    body: dict[str, Any] = {
        "kind": "storage#bucket", "selfLink": f"{SELF}/{bucket.name}", "id": bucket.name, "name": bucket.name,
        "projectNumber": project.number, "generation": str(int(bucket.create_time.timestamp()) * 1000000),
        "metageneration": "1", "location": bucket.location.upper(), "storageClass": "STANDARD",
        "etag": "CAE=", "timeCreated": created, "updated": created, "rpo": "DEFAULT",
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"},
        "softDeletePolicy": {"retentionDurationSeconds": str(bucket.soft_delete_days * DAY), "effectiveTime": created},
    }
    if not bucket.omit_location_type:
        body["locationType"] = _location_type(bucket)
    if bucket.data_locations:
        body["customPlacementConfig"] = {"dataLocations": [d.upper() for d in bucket.data_locations]}
    if bucket.labels:
        body["labels"] = dict(bucket.labels)
    if bucket.kms_key:
        body["encryption"] = {"defaultKmsKeyName": bucket.kms_key}
    if bucket.retention_days and (now is None or bucket.retention_at(now)):
        effective = ts(bucket.retention_effective_time) if bucket.retention_effective_time else created
        restored = [r.end for r in bucket.retention_removed if r.end is not None and (now is None or r.end <= now)]
        if restored:  # set again: in effect from then
            effective = ts(max(restored))
        body["retentionPolicy"] = {"retentionPeriod": str(bucket.retention_days * DAY), "effectiveTime": effective,
                                   "isLocked": bucket.locked_at_moment(now)}
    if bucket.versioning:
        body["versioning"] = {"enabled": True}
    if bucket.lifecycle_delete_age_days is not None:
        body["lifecycle"] = {"rule": [{"action": {"type": "Delete"}, "condition": {"age": bucket.lifecycle_delete_age_days}}]}
    return body


def bucket_index(scenario: Scenario) -> dict[str, tuple[Project, Bucket]]:
    """Bucket name -> (project, bucket): names are global in Cloud Storage; cached (memo.py)."""
    def build() -> dict[str, tuple[Project, Bucket]]:
        index: dict[str, tuple[Project, Bucket]] = {}
        for project in scenario.projects:
            for bucket in project.buckets:
                index.setdefault(bucket.name, (project, bucket))
        return index

    return memo(scenario).get("buckets", build)


def _find(scenario: Scenario, name: str) -> tuple[Project, Bucket]:
    found = bucket_index(scenario).get(name)
    if found is None:
        raise not_found("The specified bucket does not exist.")
    project, bucket = found
    if bucket.gone_at(scenario.now):  # inv3: deleted
        raise not_found("The specified bucket does not exist.")
    if API in project.apis_disabled or API in project.permission_denied or not bucket.admin_listed:
        raise ApiError(403, "The caller does not have storage.buckets.get access to the Google Cloud "
                            f"Storage bucket {name}.", reason="forbidden")
    return project, bucket


def list_buckets(req: Request) -> dict[str, Any]:
    ident = req.query.get("project")
    if not ident:
        raise invalid_argument("Required parameter: project")
    proj = next((p for p in req.scenario.projects if ident in (p.id, p.number)), None)
    project = req.project(proj.id if proj else ident, API)
    if req.query.get("projection", "noAcl") not in ("noAcl", "full"):
        raise invalid_argument(f"Invalid projection {req.query['projection']!r}.")
    prefix = req.query.get("prefix", "")
    items = memo(req.scenario).get(("bucket-list", project.id, prefix), lambda: [
        bucket_json(project, b, req.scenario.now) for b in project.buckets
        if b.admin_listed and b.name.startswith(prefix) and not b.gone_at(req.scenario.now)])
    size = page_size(req.query.get("maxResults"), name="maxResults", default=CAP, cap=CAP)
    page, nxt = paginate(items, req.query.get("pageToken"), size, query_key("buckets", project.id, prefix))
    out: dict[str, Any] = {"kind": "storage#buckets"}
    if page:
        out["items"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


def get_bucket(req: Request) -> dict[str, Any]:
    project, bucket = _find(req.scenario, req.params["bucket"])
    return bucket_json(project, bucket, req.scenario.now)


def bucket_permissions(req: Request) -> dict[str, Any]:
    asked = req.values("permissions")
    if not asked:
        raise invalid_argument("Required parameter: permissions")
    _find(req.scenario, req.params["bucket"])
    granted = [p for p in asked if p in GRANTED]
    out: dict[str, Any] = {"kind": "storage#testIamPermissionsResponse"}
    if granted:
        out["permissions"] = granted
    return out


def object_json(bucket: Bucket, obj, number: int) -> dict[str, Any]:
    data = obj.content.encode()
    generation = str(int(obj.time_created.timestamp() * 1000000))
    created = ts(obj.time_created)
    body: dict[str, Any] = {
        "kind": "storage#object", "id": f"{bucket.name}/{obj.name}/{generation}",
        "selfLink": f"{SELF}/{bucket.name}/o/{obj.name}", "name": obj.name, "bucket": bucket.name,
        "generation": generation, "metageneration": "1", "contentType": "application/json",
        "storageClass": "STANDARD", "size": str(len(data)),
        "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
        "crc32c": base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode(),
        "etag": base64.b64encode(f"{generation}{number}".encode()).decode(),
        "timeCreated": created, "updated": created, "timeStorageClassUpdated": created,
    }
    if bucket.retention_days:
        body["retentionExpirationTime"] = ts(obj.time_created + dt.timedelta(days=bucket.retention_days))
    return body


def _objects_bucket(req: Request) -> Bucket:
    project, bucket = _find(req.scenario, req.params["bucket"])
    return bucket


def list_objects(req: Request) -> dict[str, Any]:
    bucket = _objects_bucket(req)
    if req.query.get("versions", "false") != "false" or req.query.get("delimiter"):
        raise invalid_argument("The simulator lists live objects only, without a delimiter.")
    prefix = req.query.get("prefix", "")
    items = [object_json(bucket, o, n) for n, o in enumerate(sorted(bucket.objects, key=lambda o: o.name))
             if o.name.startswith(prefix)]
    size = page_size(req.query.get("maxResults"), name="maxResults", default=CAP, cap=CAP)
    page, nxt = paginate(items, req.query.get("pageToken"), size, query_key("objects", bucket.name, prefix))
    out: dict[str, Any] = {"kind": "storage#objects"}
    if page:
        out["items"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


def get_object(req: Request) -> Any:
    bucket = _objects_bucket(req)
    for number, obj in enumerate(sorted(bucket.objects, key=lambda o: o.name)):
        if obj.name == req.params["object"]:
            return obj.content.encode() if req.media else object_json(bucket, obj, number)
    raise not_found(f"No such object: {bucket.name}/{req.params['object']}")


ROUTES = [
    Route("GET", "/storage/v1/b/{bucket}/o", API, list_objects,
          frozenset({"prefix", "maxResults", "pageToken", "projection", "userProject", "versions", "delimiter"})),
    Route("GET", "/storage/v1/b/{bucket}/o/{object}", API, get_object, frozenset({"projection", "userProject", "generation"}),
          media=True),
    Route("GET", "/storage/v1/b", API, list_buckets,
          frozenset({"project", "maxResults", "pageToken", "prefix", "projection", "userProject"})),
    Route("GET", "/storage/v1/b/{bucket}", API, get_bucket, frozenset({"projection", "userProject"})),
    Route("GET", "/storage/v1/b/{bucket}/iam/testPermissions", API, bucket_permissions,
          frozenset({"permissions", "userProject"}), frozenset({"permissions"})),
]
