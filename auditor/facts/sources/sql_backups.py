"""Cloud SQL Admin Backups.list (`projects/{project}/backups`), one paged listing per project: retained backups of every kind.

AUTOMATED, ON_DEMAND and FINAL backups, each with where it landed, its key (version) and its expiry
(auditor.facts.sqlbackups reads one item). An answer warning REGION_UNREACHABLE is partial (the
build marks the scope Unknown). The fact `sql_backups` also holds the ON_DEMAND backup runs
(backupRuns.list, auditor.facts.sources.backup_runs): frequency counts only automated runs, but
placement, encryption and retention must see every retained backup.
"""

from __future__ import annotations

from typing import Any

from auditor.facts.access import items
from auditor.facts.backup_model import RetainedBackup
from auditor.facts.declare import Cost, Fact, Source
from auditor.facts.sqlbackups import sql_backup


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = str(call["params"].get("parent", "")).removeprefix("projects/")
    for data in items(body, "backups") or []:
        backup = sql_backup(data, project, item_id)
        if backup:
            emit("sql_backups", backup)


def _by_key(values: list[RetainedBackup]) -> list[RetainedBackup]:
    return list({b.key: b for b in values}.values())


FACTS = (
    Fact("sql_backups", "project", key=lambda b: b.instance, dedupe=_by_key,
         doc="every retained Cloud SQL backup of a project's instances, of every kind (AUTOMATED, ON_DEMAND, FINAL)"),
)
SOURCES = (
    Source("sqladmin", "Backups.list", "project", fills=("sql_backups",), permissions=("cloudsql.backups.list",),
           field="backups", read=read, cost=Cost(page_cap=2000, per="project", shape="sql_backups")),
)
