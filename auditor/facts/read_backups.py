"""Page readers for every backup kind and for Backup and DR, registered in `auditor.facts.normalize.READERS`.

Thin glue: each turns one page into facts with the pure readers (`sqlengine`, `sqlbackups`,
`read_backupdr`) and files them in `facts.backups`. A page that says it is incomplete (Cloud SQL's
REGION_UNREACHABLE warning, Backup and DR's `unreachable[]`) is recorded as partial, and its call
becomes a coverage gap of kind `partial` even if the collector that made it did not say so, so
nothing it would have shown can pass.

`finish(facts)` runs once every locker is read: a FINAL backup of an instance that no listing shows
any more is the evidence that the instance existed and was deleted; it joins the population from
the backup's own snapshot of the instance (`instanceSettings`), with its deletion time.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.facts import read_backupdr as bdr
from auditor.facts.backup_model import ListingPartial, ValidationRecord
from auditor.facts.model import CallGap, ConfigChange
from auditor.facts.normalize import _items, sql_instance
from auditor.facts.sqlbackups import automated_run, on_demand_run, sql_backup, unreachable_regions
from auditor.facts.sqlengine import engine_settings


def _partial(call: dict[str, Any], where: list[str], facts: Any) -> None:
    if not where:
        return
    facts.backups.partial.append(ListingPartial(call["api"], call["method"], call["scope"], tuple(where), call["id"]))
    if call.get("outcome") == "ok" and not any(g.call_id == call["id"] and g.kind == "partial" for g in facts.coverage.gaps):
        facts.coverage.gaps.append(CallGap(call["api"], call["method"], call["scope"], "partial", None,
                                           f"the answer is incomplete: unreachable {', '.join(where)}", None, call["id"]))


def read_engines(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    """instances.list, read a second time per engine (the SqlInstance reader keeps its own fields)."""
    for data in _items(body, "items") or []:
        name, project = data.get("name"), data.get("project")
        if isinstance(name, str) and isinstance(project, str):
            facts.backups.engines[f"//cloudsql.googleapis.com/projects/{project}/instances/{name}"] = engine_settings(data)


def read_runs(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    """backupRuns.list: every retained run, automated and on demand, as a retained backup."""
    project = call["params"]["project"]
    for data in _items(body, "items") or []:
        backup = on_demand_run(data, project, item_id) or automated_run(data, project, item_id)
        if backup:
            facts.backups.retained.append(backup)


def read_sql_backups(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    project = str(call["params"].get("parent", "")).removeprefix("projects/")
    for data in _items(body, "backups") or []:
        backup = sql_backup(data, project, item_id)
        if backup:
            facts.backups.retained.append(backup)
            snapshot = data.get("instanceSettings")
            if backup.kind == "FINAL" and backup.instance_deleted_at and isinstance(snapshot, dict):
                facts.backups.deleted_instances[backup.instance] = {"snapshot": snapshot, "deleted": backup.instance_deleted_at,
                                                                    "evidence": item_id, "project": project}
    _partial(call, unreachable_regions(body), facts)


def _lister(field: str, read, target: str):
    def page(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
        for data in _items(body, field) or []:
            found = read(data, item_id)
            if found is not None:
                getattr(facts.backups, target).append(found)
        _partial(call, bdr.unreachable(body), facts)
    return page


read_vaults = _lister("backupVaults", bdr.vault, "vaults")
read_plans = _lister("backupPlans", bdr.plan, "plans")
read_associations = _lister("backupPlanAssociations", bdr.association, "associations")
read_data_sources = _lister("dataSources", bdr.data_source, "data_sources")
read_bdr_backups = _lister("backups", lambda data, item_id: bdr.backup(data, item_id), "retained")
read_summaries = _lister("resourceBackupConfigs", bdr.summary, "summaries")
read_verification_plans = _lister("restoreVerificationPlans", bdr.verification_plan, "verification_plans")

READERS = {
    ("sqladmin", "Backups.list"): ("backups", read_sql_backups),
    ("backupdr", "backupVaults.list"): ("backupVaults", read_vaults),
    ("backupdr", "backupPlans.list"): ("backupPlans", read_plans),
    ("backupdr", "backupPlanAssociations.list"): ("backupPlanAssociations", read_associations),
    ("backupdr", "dataSources.list"): ("dataSources", read_data_sources),
    ("backupdr", "dataSources.backups.list"): ("backups", read_bdr_backups),
    ("backupdr", "resourceBackupConfigs.list"): ("resourceBackupConfigs", read_summaries),
    ("backupdr", "restoreVerificationPlans.list"): ("restoreVerificationPlans", read_verification_plans),
}
# which facts each call fills (auditor.facts.normalize.FEEDS): checks that need them are inconclusive when it fails
FEEDS = {
    ("sqladmin", "Backups.list"): ("sql_backups",),
    **{key: ("backupdr",) for key in READERS if key[0] == "backupdr"},
}


def finish(facts: Any) -> None:
    """After every locker: deduplicate, take the restore validation records from the data map (stored in the
    locker with it), and bring deleted instances (known from their FINAL backup) into the population."""
    facts.backups.dedupe()
    inventory = facts.stores.inventory
    evidence = facts.stores.inventory_document.evidence if facts.stores.inventory_document else ()
    facts.backups.validations = [ValidationRecord(v.date, v.store, v.backup_id, v.check, v.result, v.by, v.restored_to, tuple(evidence))
                                 for v in (inventory.restore_validations if inventory is not None else [])]
    listed = {i.resource for i in facts.sql_instances}
    for resource, found in sorted(facts.backups.deleted_instances.items()):
        if resource in listed:
            continue
        snapshot = {**found["snapshot"], "project": found["snapshot"].get("project") or found["project"]}
        instance = sql_instance(snapshot, found["evidence"])
        if instance is None or instance.resource != resource:
            continue
        instance = replace(instance, observed_at=found["deleted"], state="DELETED")
        facts.sql_instances.append(instance)
        facts.instance_observations.append(instance)
        facts.backups.engines.setdefault(resource, engine_settings(snapshot))
        facts.config_changes.append(ConfigChange(resource, found["deleted"], "Backups.list FINAL backup", {}, None,
                                                 f"final:{resource}", deleted=True, evidence=(found["evidence"],)))
    facts.config_changes.sort(key=lambda c: (c.time, c.key))
