"""Cloud Storage: bucket metadata per project, and what the auditing identity may do on each bucket.

buckets.list returns everything the backup checks need (location and placement, default KMS key,
retention policy and lock, soft delete, versioning, lifecycle rules, labels) in one paged call per
project, and that is the only storage call. (Earlier builds also sent buckets.testIamPermissions
for every bucket; no check reads its answer, and at 5,000 buckets it was most of a run's requests.
Lockers that hold it are still read.)
"""

from __future__ import annotations

from typing import Iterator

from auditor.collectors.paging import drain
from auditor.scheduler import Call

PAGE_SIZE = 1000


def project_calls(ctx, project: str) -> Iterator[Call]:
    clients = ctx.google

    def list_buckets() -> list[str]:
        buckets = clients.collection("storage", "buckets")
        request, names = buckets.list(project=project, maxResults=PAGE_SIZE, projection="noAcl"), []
        for response in drain(buckets, request, f"storage buckets.list for projects/{project}"):
            names += [b["name"] for b in response.get("items", []) if isinstance(b, dict) and isinstance(b.get("name"), str)]
        return names

    yield Call("storage", "buckets.list", {"project": project}, f"projects/{project}", list_buckets)
