"""Cloud SQL Admin Backups.list (`projects/{project}/backups`), one paged listing per project: retained backups of every kind.

AUTOMATED, ON_DEMAND and FINAL backups, each with where it landed, its key (version) and its expiry
(auditor.facts.sqlbackups reads one item). An answer warning REGION_UNREACHABLE is partial (the
build marks the scope Unknown). The fact `sql_backups` also holds the ON_DEMAND backup runs
(backupRuns.list, auditor.facts.sources.backup_runs): frequency counts only automated runs, but
placement, encryption and retention must see every retained backup.

A FINAL backup also carries `instanceSettings`, the instance as it was when the backup was taken (at
its deletion): `final_snapshots` keeps it as one more configuration read of that instance, dated by
the backup's start, so a deleted instance keeps its history and is judged for the days it existed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.facts.access import get, items, text, timestamp
from auditor.facts.backup_model import RetainedBackup
from auditor.facts.declare import Cost, Fact, Source
from auditor.facts.model import SqlInstance
from auditor.facts.sources.sql_instances import sql_instance
from auditor.facts.sqlbackups import sql_backup


def final_snapshot(data: Any, project: str, evidence: str) -> SqlInstance | None:
    """A FINAL backup's `instanceSettings` as a configuration read of its (deleted) instance, observed when the
    backup was taken; None for any other backup or one without a snapshot. The snapshot may omit the name and
    project (a DatabaseInstance's output fields): the backup's own `instance` and the listing's project stand in."""
    if not isinstance(data, dict) or text(data, "type") != "FINAL":
        return None
    snapshot = get(data, "instanceSettings")
    if not isinstance(snapshot, dict):
        return None
    name = text(snapshot, "name") or (text(data, "instance") or "").split("/")[-1].split(":")[-1]
    seen = timestamp(get(data, "backupInterval", "startTime")) or timestamp(get(data, "instanceDeletionTime"))
    if not name or not seen:
        return None
    instance = sql_instance({**snapshot, "name": name, "project": text(snapshot, "project") or project}, evidence)
    return replace(instance, observed_at=seen) if instance else None


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = str(call["params"].get("parent", "")).removeprefix("projects/")
    for data in items(body, "backups") or []:
        backup = sql_backup(data, project, item_id)
        if backup:
            emit("sql_backups", backup)
        snapshot = final_snapshot(data, project, item_id)
        if snapshot:
            emit("final_snapshots", snapshot)


def _by_key(values: list[RetainedBackup]) -> list[RetainedBackup]:
    return list({b.key: b for b in values}.values())


def _by_read(values: list[SqlInstance]) -> list[SqlInstance]:
    return list({(i.resource, i.observed_at): i for i in values}.values())


FACTS = (
    Fact("sql_backups", "project", key=lambda b: b.instance, dedupe=_by_key,
         doc="every retained Cloud SQL backup of a project's instances, of every kind (AUTOMATED, ON_DEMAND, FINAL)"),
    Fact("final_snapshots", "project", key=lambda i: i.resource, dedupe=_by_read,
         doc="deleted instances as their FINAL backup's instanceSettings shows them (a configuration read at deletion)"),
)
SOURCES = (
    Source("sqladmin", "Backups.list", "project", fills=("sql_backups", "final_snapshots"), permissions=("cloudsql.backups.list",),
           field="backups", read=read, cost=Cost(page_cap=2000, per="project", shape="sql_backups")),
)
