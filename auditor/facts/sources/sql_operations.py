"""Cloud SQL Admin operations.list, one per primary instance: restores and clones are restore-test evidence."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import get, items, text, timestamp
from auditor.facts.controls import SqlOperation
from auditor.facts.model import sql_resource
from auditor.facts.declare import Cost, Fact, Source, call_project, instance_scope


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    for data in items(body, "items") or []:
        name, kind = text(data, "name"), text(data, "operationType")
        target = text(data, "targetId") or call["params"].get("instance")
        if not name or not kind or not target:
            continue
        error = get(data, "error", "errors")
        message = None
        if isinstance(error, list) and error:
            first = error[0] if isinstance(error[0], dict) else {}
            message = text(first, "message") or text(first, "code") or "error"
        target_project = text(data, "targetProject") or project
        emit("sql_operations", SqlOperation(
            name=name, project=target_project, instance=sql_resource(target_project, target),
            operation_type=kind, status=text(data, "status"),
            started=timestamp(get(data, "startTime")) or timestamp(get(data, "insertTime")),
            ended=timestamp(get(data, "endTime")), error=message, user=text(data, "user"), evidence=(item_id,),
            backup_id=text(data, "backupContext", "backupId") or (text(data, "backupContext", "name") or "").rsplit("/", 1)[-1] or None))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


FACTS = (
    Fact("sql_operations", "instance", key=lambda o: o.instance, scope_of=instance_scope, dedupe=_by_name,
         doc="Cloud SQL Admin operations of an instance (restores, clones)"),
)
SOURCES = (
    Source("sqladmin", "operations.list", "instance", fills=("sql_operations",), permissions=("cloudsql.instances.get",),
           field="items", read=read, cost=Cost(page_cap=500, per="instance", shape="operations")),
)
