"""Cloud SQL Admin instances.list, one paged listing per project: the instances and their configuration.

Every read is kept (`instance_observations`, one per instance per locker, so a quarter of daily
lockers shows the configuration day by day); `sql_instances` is the population: every instance
seen, at its latest read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from auditor.facts.access import boolean, clock, get, integer, items, string_map, text, timestamp
from auditor.facts.model import SqlInstance, sql_resource
from auditor.facts.declare import Cost, Fact, Source
from auditor.facts.final_backup import read_value as final_backup_read
from auditor.facts.sqlengine import engine_of


def sql_instance(data: dict[str, Any], evidence: str) -> SqlInstance | None:
    """One instances.list item; None when it has no name or project to identify it by."""
    name, project = text(data, "name"), text(data, "project")
    if not name or not project:
        return None
    settings = get(data, "settings") if isinstance(get(data, "settings"), dict) else {}
    backup = get(settings, "backupConfiguration") if isinstance(get(settings, "backupConfiguration"), dict) else {}
    master = text(data, "masterInstanceName")
    problems = []
    enabled = boolean(backup, "enabled")
    if enabled is None:
        problems.append("settings.backupConfiguration.enabled is missing or not a boolean")
    return SqlInstance(
        resource=sql_resource(project, name),
        project=project,
        name=name,
        region=text(data, "region"),
        database_version=text(data, "databaseVersion"),
        state=text(data, "state"),
        instance_type=text(data, "instanceType"),
        activation_policy=text(settings, "activationPolicy"),
        labels=string_map(get(settings, "userLabels")),
        create_time=timestamp(get(data, "createTime")),
        backup_enabled=enabled,
        backup_start_time=clock(get(backup, "startTime")),
        backup_location=(text(backup, "location") or "").lower() or None,
        # the engine's own switch (MySQL: binaryLogEnabled), so the day-by-day timeline reads what the checks judge
        pitr_enabled=boolean(backup, "binaryLogEnabled" if engine_of(text(data, "databaseVersion")) == "mysql"
                             else "pointInTimeRecoveryEnabled"),
        log_retention_days=integer(backup, "transactionLogRetentionDays"),
        retained_backups=integer(backup, "backupRetentionSettings", "retainedBackups"),
        backup_tier=text(backup, "backupTier"),
        kms_key=text(data, "diskEncryptionConfiguration", "kmsKeyName"),
        master=master.split(":")[-1] if master else None,
        raw_settings=settings,
        evidence=(evidence,),
        problems=tuple(problems),
        kms_key_version=text(data, "diskEncryptionStatus", "kmsKeyVersionName"),
        final_backup=final_backup_read(settings),  # ret3: what would outlive a deletion, as read
    )


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    observed_at = timestamp(call.get("server_date"))
    for data in items(body, "items") or []:
        instance = sql_instance(data, item_id)
        if instance:
            instance = replace(instance, observed_at=observed_at)
            emit("instance_observations", instance)
            emit("sql_instances", instance)


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    """A complete listing at a time: an instance absent from a later one is gone (facts.history)."""
    moment = timestamp(call.get("server_date"))
    if moment:
        emit("instance_listings", (call["scope"], moment))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _every(values: list[SqlInstance]) -> list[SqlInstance]:
    return sorted({(i.resource, i.observed_at): i for i in values}.values(), key=lambda i: (i.resource, i.observed_at or _EPOCH))


def _latest(values: list[SqlInstance]) -> list[SqlInstance]:
    return list({i.resource: i for i in _every(values)}.values())


FACTS = (
    Fact("sql_instances", "project", key=lambda i: i.resource, dedupe=_latest,
         doc="the Cloud SQL instances of a project, each at its latest configuration read"),
    Fact("instance_observations", "project", key=lambda i: i.resource, dedupe=_every,
         doc="every configuration read of every instance, oldest first"),
    Fact("instance_listings", "project", key=lambda pair: pair[0],
         doc="(project scope, time) of each complete instances.list"),
)
SOURCES = (
    Source("sqladmin", "instances.list", "project", fills=("sql_instances", "instance_observations", "instance_listings"),
           permissions=("cloudsql.instances.list",), field="items", read=read, on_complete=on_complete,
           cost=Cost(page_cap=500, per="project", shape="instances")),
)
