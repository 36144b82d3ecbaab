"""Project numbers and project ids, mapped in ONE place.

Cloud Asset Inventory names a resource's project by NUMBER (`project: projects/111111111111`);
the Admin APIs (sqladmin, storage's `project=` parameter, logging) speak project IDs. Two kinds
of asset entries carry both: a project's own entry (`additionalAttributes.projectId`, or its name
`//cloudresourcemanager.googleapis.com/projects/ID`) and a Cloud SQL instance
(`//cloudsql.googleapis.com/projects/ID/instances/I`, whose `project` is the number).
"""

from __future__ import annotations

from typing import Any, Iterable

PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"
_PROJECT_PREFIX = "//cloudresourcemanager.googleapis.com/projects/"
SQL_PREFIX = "//cloudsql.googleapis.com/projects/"


def _number(result: dict[str, Any]) -> str | None:
    value = result.get("project")
    if isinstance(value, str) and value.startswith("projects/") and value[9:].isdigit():
        return value[9:]
    return None


def project_ids(results: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{project number: project id} from asset search results (camelCase JSON, as the REST API returns them)."""
    mapping: dict[str, str] = {}
    for result in results:
        number, name = _number(result), result.get("name")
        if number is None or not isinstance(name, str):
            continue
        ident = None
        if result.get("assetType") == PROJECT_TYPE:
            attrs = result.get("additionalAttributes")
            ident = attrs.get("projectId") if isinstance(attrs, dict) else None
            tail = name.removeprefix(_PROJECT_PREFIX)
            if not isinstance(ident, str) and name.startswith(_PROJECT_PREFIX) and not tail.isdigit():
                ident = tail
        elif name.startswith(SQL_PREFIX):
            ident = name.removeprefix(SQL_PREFIX).split("/", 1)[0]
        if isinstance(ident, str) and ident:
            mapping.setdefault(number, ident)
    return mapping


def asset_scopes(gcp: Any) -> list[str]:
    """The Cloud Asset search scopes of a GCP config: the organisation, else each folder, else each project."""
    if gcp.organization:
        return [f"organizations/{gcp.organization}"]
    if gcp.folders:
        return [f"folders/{f.removeprefix('folders/')}" for f in gcp.folders]
    return [f"projects/{p}" for p in gcp.projects]


def snapshot_asset_scopes(gcp: dict[str, Any]) -> tuple[str, ...]:
    """asset_scopes() of the GCP config as a locker stores it (a plain mapping)."""
    if gcp.get("organization"):
        return (f"organizations/{gcp['organization']}",)
    if gcp.get("folders"):
        return tuple(f"folders/{str(f).removeprefix('folders/')}" for f in gcp["folders"])
    return tuple(f"projects/{p}" for p in gcp.get("projects") or ())
