"""Google Cloud Backup and DR (backupdr v1): vaults, plans, associations, data sources, their backups,
the protection summary and restore verification plans. Pure readers in auditor.facts.read_backupdr.

Scopes: the per-project listings (`locations/-`) are scoped to the project; a vault's data sources to
the vault; a data source's backups to the data source, so "no backups" is said only of a data source
whose listing was read in full. Answers naming `unreachable[]` locations are partial (Unknown).
"""

from __future__ import annotations

from typing import Any, Callable

from auditor.facts import read_backupdr as bdr
from auditor.facts.access import items
from auditor.facts.declare import Cost, Fact, Source, project_scope
from auditor.facts.known import Known


def _lister(field: str, reader: Callable[[Any, str], Any], fact: str):
    def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
        for data in items(body, field) or []:
            found = reader(data, item_id)
            if found is not None:
                emit(fact, found)
    return read


def _by(attr: str):
    def dedupe(values: list[Any]) -> list[Any]:
        return list({getattr(v, attr): v for v in values}.values())
    return dedupe


def vault_of(name: str) -> str:
    return name.split("/dataSources/")[0]


def data_source_of(name: str) -> str:
    return name.removeprefix("backupdr:").split("/backups/")[0]


def dependents(facts: Any, project: str) -> list[str] | None:
    """The stores that depend on Backup and DR in `project`, for a project where its API is disabled:
    ENHANCED-tier instances there (listed, or deleted with a final snapshot), ENHANCED instances elsewhere
    whose Backup and DR trail (plan, vault, data source) passes through it, and data-map stores there that
    declare `backupdr` as their backup. None when the project's Cloud SQL listing was not read in full (an
    ENHANCED instance there could not be ruled out). A backup plan association lives in the protected
    resource's own project, so nothing else in a project without the API can be protected by a plan."""
    scope = f"projects/{project}"
    listing = facts.sql_instances.at(scope)
    if not isinstance(listing, Known):
        return None
    found = {i.resource for i in listing.items if i.backup_tier == "ENHANCED"}
    finals = facts.final_snapshots.at(scope)
    if isinstance(finals, Known):
        found |= {i.resource for i in finals.items if i.backup_tier == "ENHANCED"}
    for other in facts.projects:
        read = facts.sql_instances.at(f"projects/{other}")
        for instance in read.items if isinstance(read, Known) else ():
            detail = facts.backupdr.of(instance.resource)
            if detail is not None and any(project_scope(g.scope) == scope for g in detail.missing if g.api == "backupdr"):
                found.add(instance.resource)
    inventory = facts.stores.inventory
    for store in inventory.stores if inventory is not None else ():
        if "backupdr" in store.backup and project_scope(store.resource) == scope:
            found.add(store.resource)
    return sorted(found)


FACTS = (
    Fact("backupdr_vaults", "project", key=lambda v: v.name, dedupe=_by("name"), doc="Backup and DR backup vaults"),
    Fact("backupdr_plans", "project", key=lambda p: p.name, dedupe=_by("name"), doc="Backup and DR backup plans"),
    Fact("backupdr_associations", "project", key=lambda a: a.name, dedupe=_by("name"),
         doc="Backup and DR backup plan associations (which plan protects which resource, last backup state)"),
    Fact("backupdr_data_sources", "vault", key=lambda d: d.name, scope_of=vault_of, dedupe=_by("name"),
         doc="the data sources of a Backup and DR vault"),
    Fact("backupdr_backups", "data-source", key=lambda b: b.key.removeprefix("backupdr:"), scope_of=data_source_of,
         dedupe=_by("key"), doc="the backups of a Backup and DR data source"),
    Fact("backupdr_summaries", "project", key=lambda s: s.target, dedupe=_by("target"),
         doc="resourceBackupConfigs: Google's own list of which resources are protected, and how"),
    Fact("backupdr_restores", "project", key=lambda r: r.name, dedupe=_by("name"),
         doc="restores of Backup and DR backups (the vault project's long-running operations, verb restore)"),
    Fact("backupdr_verification_plans", "project", key=lambda p: p.name, dedupe=_by("name"),
         doc="Backup and DR restore verification plans"),
)
_LIST = "backupdr.{}.list"
SOURCES = (
    Source("backupdr", "backupVaults.list", "project", fills=("backupdr_vaults",), permissions=(_LIST.format("backupVaults"),),
           field="backupVaults", read=_lister("backupVaults", bdr.vault, "backupdr_vaults"),
           cost=Cost(page_cap=500, per="project", shape="bdr_vaults"), dependents=dependents),
    Source("backupdr", "backupPlans.list", "project", fills=("backupdr_plans",), permissions=(_LIST.format("backupPlans"),),
           field="backupPlans", read=_lister("backupPlans", bdr.plan, "backupdr_plans"),
           cost=Cost(page_cap=500, per="project", shape="bdr_plans"), dependents=dependents),
    Source("backupdr", "backupPlanAssociations.list", "project", fills=("backupdr_associations",),
           permissions=(_LIST.format("backupPlanAssociations"),), field="backupPlanAssociations",
           read=_lister("backupPlanAssociations", bdr.association, "backupdr_associations"),
           cost=Cost(page_cap=500, per="project", shape="bdr_associations"), dependents=dependents),
    Source("backupdr", "dataSources.list", "vault", fills=("backupdr_data_sources",),
           permissions=("backupdr.bvdataSources.list",), field="dataSources",
           read=_lister("dataSources", bdr.data_source, "backupdr_data_sources"),
           cost=Cost(page_cap=500, per="vault", shape="bdr_sources"), dependents=dependents),
    Source("backupdr", "dataSources.backups.list", "data-source", fills=("backupdr_backups",),
           permissions=("backupdr.bvbackups.list",), field="backups",
           read=_lister("backups", lambda data, item_id: bdr.backup(data, item_id), "backupdr_backups"),
           cost=Cost(page_cap=500, per="data-source", shape="bdr_backups"), dependents=dependents),
    Source("backupdr", "resourceBackupConfigs.list", "project", fills=("backupdr_summaries",),
           permissions=(_LIST.format("resourceBackupConfigs"),), field="resourceBackupConfigs",
           read=_lister("resourceBackupConfigs", bdr.summary, "backupdr_summaries"),
           cost=Cost(page_cap=500, per="project", shape="bdr_summaries"), dependents=dependents),
    Source("backupdr", "operations.list", "project", fills=("backupdr_restores",),
           permissions=("backupdr.operations.list",), field="operations",
           read=_lister("operations", bdr.restore_operation, "backupdr_restores"),
           cost=Cost(page_cap=500, per="project", shape="bdr_operations"), dependents=dependents),
    Source("backupdr", "restoreVerificationPlans.list", "project", fills=("backupdr_verification_plans",),
           permissions=(_LIST.format("restoreVerificationPlans"),), field="restoreVerificationPlans",
           read=_lister("restoreVerificationPlans", bdr.verification_plan, "backupdr_verification_plans"),
           cost=Cost(page_cap=500, per="project", shape="bdr_verification_plans"), dependents=dependents),
)
