"""Cloud Storage: bucket metadata per project, and what the auditing identity may do on each bucket.

buckets.list returns everything the backup checks need (location and placement, default KMS key,
retention policy and lock, soft delete, versioning, lifecycle rules, labels) in one paged call per
project. buckets.testIamPermissions (read-only) then records, per bucket, which of the read
permissions the identity holds: completeness evidence, not a finding by itself.
"""

from __future__ import annotations

from typing import Any, Iterator

from auditor.collectors.paging import drain, fetch_one
from auditor.scheduler import Call

PAGE_SIZE = 1000
READ_PERMISSIONS = ["storage.buckets.get", "storage.buckets.list", "storage.buckets.getIamPolicy"]


def permissions_call(ctx, bucket: str) -> Call:
    clients = ctx.google

    def test() -> None:
        request = clients.collection("storage", "buckets").testIamPermissions(bucket=bucket, permissions=READ_PERMISSIONS)
        fetch_one(request, f"storage buckets.testIamPermissions for {bucket}")

    return Call("storage", "buckets.testIamPermissions", {"bucket": bucket, "permissions": READ_PERMISSIONS},
                f"buckets/{bucket}", test)


def project_calls(ctx, project: str) -> Iterator[Call]:
    clients = ctx.google

    def list_buckets() -> list[str]:
        buckets = clients.collection("storage", "buckets")
        request, names = buckets.list(project=project, maxResults=PAGE_SIZE, projection="noAcl"), []
        for response in drain(buckets, request, f"storage buckets.list for projects/{project}"):
            names += [b["name"] for b in response.get("items", []) if isinstance(b, dict) and isinstance(b.get("name"), str)]
        return names

    def follow(names: list[str]) -> Iterator[Call]:
        for name in names:
            yield permissions_call(ctx, name)

    yield Call("storage", "buckets.list", {"project": project}, f"projects/{project}", list_buckets, follow)
