"""Cloud Storage buckets.testIamPermissions: no longer collected; lockers from older versions hold it."""

from __future__ import annotations

from typing import Any

from auditor.facts.declare import Fact, Source, same_scope
from auditor.facts.stores import BucketAccess, bucket_resource


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    granted = body.get("permissions") if isinstance(body.get("permissions"), list) else []
    emit("bucket_access", BucketAccess(bucket=bucket_resource(call["params"]["bucket"]), asked=tuple(call["params"]["permissions"]),
                                       granted=tuple(str(p) for p in granted), evidence=(item_id,)))


FACTS = (Fact("bucket_access", "bucket", key=lambda b: b.bucket, scope_of=same_scope,
              dedupe=lambda values: list({b.bucket: b for b in values}.values()),
              doc="what the auditing identity may do on a bucket (older lockers only)"),)
SOURCES = (
    Source("storage", "buckets.testIamPermissions", "bucket", fills=("bucket_access",), permissions=(),
           field="permissions", read=read, legacy=True),
)
