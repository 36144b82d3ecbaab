"""Cloud Storage buckets.list, per project: every bucket's location, encryption, retention and lifecycle.

Storage's UPPERCASE locations become lowercase, like Cloud SQL's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.facts.access import get, integer, items, string_map, text, timestamp
from auditor.facts.declare import Cost, Fact, Source
from auditor.facts.stores import BUCKET_TYPE, Bucket, LabelsSeen, LifecycleDelete, StoreListing, bucket_resource
from auditor.locations import normalise


def _lifecycle_deletes(data: Any) -> tuple[LifecycleDelete, ...]:
    rules = get(data, "lifecycle", "rule")
    out = []
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, dict) and get(rule, "action", "type") == "Delete":
            condition = get(rule, "condition") if isinstance(get(rule, "condition"), dict) else {}
            out.append(LifecycleDelete(age_days=integer(condition, "age"), conditions=dict(condition)))
    return tuple(out)


def bucket(data: dict[str, Any], project: str, evidence: str) -> Bucket | None:
    name = text(data, "name")
    if not name:
        return None
    locked = get(data, "retentionPolicy", "isLocked")
    placement = get(data, "customPlacementConfig", "dataLocations")
    return Bucket(
        resource=bucket_resource(name), name=name, project=project, project_number=text(data, "projectNumber"),
        location=normalise(text(data, "location")), location_type=normalise(text(data, "locationType")),
        data_locations=tuple(normalise(d) or "" for d in placement) if isinstance(placement, list) else (),
        kms_key=text(data, "encryption", "defaultKmsKeyName"),
        retention_seconds=integer(data, "retentionPolicy", "retentionPeriod"),
        retention_locked=locked if isinstance(locked, bool) else (False if get(data, "retentionPolicy") else None),
        retention_effective=timestamp(get(data, "retentionPolicy", "effectiveTime")),
        soft_delete_seconds=integer(data, "softDeletePolicy", "retentionDurationSeconds"),
        versioning=get(data, "versioning", "enabled") is True,
        lifecycle_deletes=_lifecycle_deletes(data), labels=string_map(get(data, "labels")),
        create_time=timestamp(get(data, "timeCreated")), evidence=(evidence,),
    )


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    seen_at = timestamp(call.get("server_date"))
    for data in items(body, "items") or []:
        found = bucket(data, call["params"]["project"], item_id)
        if found:
            emit("buckets", found)
            if seen_at:  # each day's labels (the classification's history): auditor.facts.inventory_days
                emit("label_observations", LabelsSeen(found.resource, seen_at, tuple(sorted(found.labels.items())),
                                                      "storage buckets.list", (item_id,), call["scope"]))
            emit("bucket_observations", replace(found, observed_at=seen_at))  # every read: the history


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    """A complete listing at a time (inv3): a bucket an earlier listing of the project showed and this one does not
    is gone (auditor.facts.inventory_days)."""
    moment = timestamp(call.get("server_date"))
    if moment:
        emit("bucket_listings", StoreListing("storage buckets.list", call["scope"], moment, (BUCKET_TYPE,)))


def _by_resource(values: list[Bucket]) -> list[Bucket]:
    return list({b.resource: b for b in values}.values())


def _every(values: list[Bucket]) -> list[Bucket]:
    return list({(b.resource, b.observed_at): b for b in values}.values())


FACTS = (Fact("buckets", "project", key=lambda b: b.resource, dedupe=_by_resource,
              item_scope=lambda b: f"projects/{b.project}",
              doc="the Cloud Storage buckets a project lists"),
         Fact("bucket_observations", "project", key=lambda b: b.resource, dedupe=_every,
              item_scope=lambda b: f"projects/{b.project}",
              doc="every read of every bucket (one per locker): the retention policy's history"),
         Fact("bucket_listings", "project", key=lambda listing: listing.scope,
              doc="each complete buckets.list of a project, with its time (inv3: a bucket absent from a later one is gone)"),)
SOURCES = (
    Source("storage", "buckets.list", "project", fills=("buckets", "label_observations", "bucket_observations", "bucket_listings"),
           permissions=("storage.buckets.list",), field="items", read=read, on_complete=on_complete, cost=Cost(page_cap=1000, per="project", shape="buckets")),
)
