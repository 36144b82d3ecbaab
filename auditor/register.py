"""The exceptions register: every failed or unverifiable finding, with who owns it and since when.

One entry per exception (failures first, then inconclusive findings), each with the data store's
type, project, region, classification and owner (from the declared data map), the first exception
day and the number of affected days (from the finding's day-by-day record), its waiver and
management's response (auditor.responses).

A scope limitation -- a project whose API denied the auditor, or was disabled -- makes a finding
inconclusive in every control that needs that API. Counting it once per control would turn five
denied calls into a hundred "exceptions", so scope limitations are grouped once per project and API,
with the stored error responses as their evidence; each affected entry points at its group.

Built in `auditor check` from results, facts and the lockers' call records only (no clock: the
evidence date is `as_of`), so re-performance gives the same register.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable

from auditor.results import EXCEPTION_DAYS

FAIL, INCONCLUSIVE = "fail", "inconclusive"
#: day states (the shared vocabulary, auditor.results.DAY_STATES) and day lists that are exceptions
BAD_DAYS = EXCEPTION_DAYS
DAY_LISTS = ("missed_days", "disabled_days", "unknown_days", "uncovered_days", "exception_days")
STORE_TYPES = {
    "sqladmin.googleapis.com/Instance": "Cloud SQL instance", "storage.googleapis.com/Bucket": "Cloud Storage bucket",
    "compute.googleapis.com/Disk": "Compute Engine disk", "bigquery.googleapis.com/Dataset": "BigQuery dataset",
    "spanner.googleapis.com/Instance": "Spanner instance", "firestore.googleapis.com/Database": "Firestore database",
    "file.googleapis.com/Instance": "Filestore instance", "cloudresourcemanager.googleapis.com/Project": "project",
}
SERVICES = {"cloudsql": "Cloud SQL instance", "sqladmin": "Cloud SQL instance", "storage": "Cloud Storage bucket",
            "compute": "Compute Engine disk", "bigquery": "BigQuery dataset", "spanner": "Spanner instance",
            "firestore": "Firestore database", "file": "Filestore instance", "alloydb": "AlloyDB cluster",
            "cloudresourcemanager": "project (scope)", "backupdr": "Backup and DR resource", "gkebackup": "GKE backup plan"}
_PROJECT = re.compile(r"/projects/([^/]+)")


def store_type(resource: str, asset_type: str | None = None) -> str:
    if asset_type in STORE_TYPES:
        return STORE_TYPES[asset_type]
    if resource.startswith("github.com/"):
        return "GitHub repository" if resource.count("/") >= 2 else "GitHub organisation"
    if resource.startswith("inventory:"):
        return "data map"
    match = re.match(r"^//([a-z0-9-]+)\.googleapis\.com/", resource)
    return SERVICES.get(match.group(1), match.group(1)) if match else "other"


def project_of(resource: str) -> str | None:
    if resource.startswith("//storage.googleapis.com/"):
        return None  # bucket names carry no project; filled from the listing that returned the bucket
    match = _PROJECT.search(resource)
    return match.group(1) if match else None


def resource_info(facts: Any, ctx: Any) -> dict[str, dict[str, Any]]:
    """Per resource: store type, project, region, classification and owner, from the facts and the data map."""
    stores = facts.stores
    inventory = stores.inventory
    info: dict[str, dict[str, Any]] = {}

    def put(resource: str, kind: str | None, project: str | None, region: str | None, labels: dict[str, str]) -> None:
        entry = info.setdefault(resource, {"store_type": None, "project": None, "region": None, "labels": {}})
        entry["store_type"] = entry["store_type"] or kind
        entry["project"] = entry["project"] or project
        entry["region"] = entry["region"] or (region.lower() if region else None)
        entry["labels"] = {**labels, **entry["labels"]}

    for store in (getattr(stores, "found", None) or {}).values():  # every store either source listed (Admin API details win)
        put(store.resource, STORE_TYPES.get(store.asset_type), store.project or project_of(store.resource),
            store.location, dict(store.labels or {}))
    if inventory is not None:
        for store in getattr(inventory, "stores", []) or []:
            put(store.resource, None, project_of(store.resource), None, {})
    for resource, entry in info.items():
        entry["store_type"] = entry["store_type"] or store_type(resource)
        entry["project"] = entry["project"] or project_of(resource)
        declared = inventory.store(resource) if inventory is not None else None
        entry["owner"] = declared.owner if declared is not None else None
        name, _policy = ctx.classification_of(entry.pop("labels"), resource=resource)
        entry["classification"] = name
    return info


def describe(resource: str, info: dict[str, dict[str, Any]]) -> dict[str, Any]:
    known = info.get(resource)
    if known is not None:
        return dict(known)
    return {"store_type": store_type(resource), "project": project_of(resource), "region": None,
            "classification": None, "owner": None}


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bad_days(finding: dict[str, Any]) -> list[str]:
    """The finding's exception days (missed, disabled or unknown), sorted; empty when it keeps no day record."""
    details = finding.get("details") or {}
    days = details.get("days")
    found: set[str] = set()
    if isinstance(days, dict):
        found.update(d for d, state in days.items() if state in BAD_DAYS)
    for key in DAY_LISTS:
        value = details.get(key)
        if isinstance(value, list):
            found.update(str(d) for d in value if isinstance(d, str) and _ISO_DAY.match(d))
    return sorted(found)


def _failed_calls(lockers: Iterable[Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for locker in lockers for c in locker.manifest["calls"] if c["outcome"] != "ok"}


def _limitations_of(finding: dict[str, Any], failed: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    details = finding.get("details") or {}
    ids = [u.get("call") for u in details.get("unverified") or [] if isinstance(u, dict)]
    if isinstance(details.get("call"), str):
        ids.append(details["call"])
    return [failed[i] for i in dict.fromkeys(ids) if i in failed]


def build(controls: list[dict[str, Any]], lockers: list[Any], info: dict[str, dict[str, Any]],
          as_of_day: date) -> dict[str, Any]:
    failed = _failed_calls(lockers)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    for control in controls:
        for finding in control["findings"]:
            if finding["status"] not in (FAIL, INCONCLUSIVE):
                continue
            days = bad_days(finding)
            limited = _limitations_of(finding, failed) if finding["status"] == INCONCLUSIVE else []
            group_ids = []
            for call in limited:
                key = (call["scope"], call["api"])
                group = groups.setdefault(key, {
                    "id": f"SL-{len(groups) + 1:02d}", "project": call["scope"].removeprefix("projects/"), "scope": call["scope"],
                    "api": call["api"], "methods": [], "kinds": [], "reasons": [], "http_statuses": [], "messages": [],
                    "calls": [], "evidence": [], "controls": [], "findings": []})
                error = call.get("error") or {}
                for field, value in (("methods", call["method"]), ("kinds", error.get("kind")), ("reasons", error.get("reason")),
                                     ("http_statuses", error.get("http_status")), ("messages", error.get("message")),
                                     ("calls", call["id"]), ("controls", control["id"]), ("findings", finding["id"])):
                    if value is not None and value not in group[field]:
                        group[field].append(value)
                for item in call.get("items") or []:
                    if item not in group["evidence"]:
                        group["evidence"].append(item)
                _permissions(group, finding, call["id"])
                group_ids.append(group["id"])
            waiver = finding.get("waiver")
            waived = bool(waiver) and not waiver.get("expired")
            entries.append({
                "finding": finding["id"], "control": control["id"], "resource": finding["resource"],
                "status": finding["status"], "effective_status": "pass" if waived else finding["status"],
                **describe(finding["resource"], info),
                "first_seen": days[0] if days else None,
                "first_seen_basis": "first exception day in the finding's day-by-day record" if days
                                    else f"no day-by-day record; seen in the evidence as of {as_of_day.isoformat()}",
                "affected_days": days,
                "affected_day_count": len(days) if days else None,
                "message": finding["message"],
                "scope_limitation": group_ids[0] if group_ids else None,
                "scope_limitations": group_ids,
                "waiver": waiver,
                "evidence": list(finding.get("evidence") or []) + [e for g in group_ids for e in _group(groups, g)["evidence"]],
                "response": None,
            })
    order = {FAIL: 0, INCONCLUSIVE: 1}
    entries.sort(key=lambda e: (order[e["status"]], e["scope_limitation"] is not None, e["control"], e["resource"], e["finding"]))
    limited = [e for e in entries if e["scope_limitation"]]
    counts = {
        "entries": len(entries),
        "failures": sum(1 for e in entries if e["status"] == FAIL),
        "inconclusive": sum(1 for e in entries if e["status"] == INCONCLUSIVE),
        "inconclusive_from_scope_limitations": len(limited),
        "scope_limitations": len(groups),
        "resources_failing": len({e["resource"] for e in entries if e["status"] == FAIL}),
        "resources_inconclusive": len({e["resource"] for e in entries if e["status"] == INCONCLUSIVE}),
    }
    return {"entries": entries, "scope_limitations": sorted(groups.values(), key=lambda g: g["id"]), "counts": counts}


def _permissions(group: dict[str, Any], finding: dict[str, Any], call_id: str) -> None:
    """The permissions the group's denied calls need and what testIamPermissions said (auditor.iam.annotate)."""
    for entry in (finding.get("details") or {}).get("unverified") or []:
        said = entry.get("permissions") if isinstance(entry, dict) and entry.get("call") == call_id else None
        if not isinstance(said, dict):
            continue
        found = group.setdefault("permissions", {"needed": [], "missing": [], "states": [], "test_evidence": []})
        for field, values in (("needed", said.get("needed") or []), ("states", [said.get("state")]),
                              ("missing", said.get("needed") if said.get("state") == "missing" else []),
                              ("test_evidence", said.get("test_evidence") or [])):
            for value in values:
                if value is not None and value not in found[field]:
                    found[field].append(value)


def _group(groups: dict[tuple[str, str], dict[str, Any]], group_id: str) -> dict[str, Any]:
    return next(g for g in groups.values() if g["id"] == group_id)
