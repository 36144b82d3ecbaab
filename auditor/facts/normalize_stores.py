"""Normalizers for discovery, buckets and the declared inventory (registered in normalize.READERS).

Like the Cloud SQL readers they are defensive: a missing field leaves a fact unknown (None), never a
healthy default. Storage's UPPERCASE locations become lowercase, like Cloud SQL's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.facts.normalize import _items, get, integer, string_map, text, timestamp
from auditor.facts.projects import project_ids
from auditor.facts.stores import Asset, Bucket, BucketAccess, InventoryDocument, LifecycleDelete, bucket_resource
from auditor.locations import normalise


def asset(data: dict[str, Any], scope: str, evidence: str) -> Asset | None:
    name, asset_type = text(data, "name"), text(data, "assetType")
    if not name or not asset_type:
        return None
    project = text(data, "project") or ""
    return Asset(
        resource=name, asset_type=asset_type,
        project_number=project.removeprefix("projects/") if project.startswith("projects/") else None,
        location=normalise(text(data, "location")), labels=string_map(get(data, "labels")),
        create_time=timestamp(get(data, "createTime")), scope=scope, evidence=(evidence,),
    )


def read_assets(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    results = _items(body, "results") or []
    stores = facts.stores
    if call["scope"] not in stores.asset_scopes:
        stores.asset_scopes.append(call["scope"])
    for number, ident in project_ids(results).items():
        stores.project_numbers.setdefault(number, ident)
        if ident not in facts.projects:
            facts.projects.append(ident)
    for data in results:
        found = asset(data, call["scope"], item_id)
        if found and found.asset_type != "cloudresourcemanager.googleapis.com/Project":
            stores.assets.append(found)


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


def read_buckets(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    for data in _items(body, "items") or []:
        found = bucket(data, call["params"]["project"], item_id)
        if found:
            facts.stores.buckets.append(found)


def read_bucket_access(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    granted = body.get("permissions") if isinstance(body.get("permissions"), list) else []
    facts.stores.bucket_access.append(BucketAccess(
        bucket=bucket_resource(call["params"]["bucket"]), asked=tuple(call["params"]["permissions"]),
        granted=tuple(str(p) for p in granted), evidence=(item_id,)))


def read_inventory(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    from auditor.inventory import parse_inventory

    for doc in _items(body, "documents") or []:
        path, content = text(doc, "path") or "inventory", doc.get("text")
        if not isinstance(content, str):
            facts.stores.inventory_problem = f"evidence item {item_id} holds no inventory text"
            continue
        facts.stores.inventory_document = InventoryDocument(path, text(doc, "sha256") or "", content, (item_id,))
        try:
            facts.stores.inventory = parse_inventory(content, Path(path))
        except ConfigError as err:
            facts.stores.inventory_problem = str(err)
