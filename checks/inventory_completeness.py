"""inventory-completeness: the declared data map lists every store that exists, and only those, and is current.

Every store Cloud Asset Inventory (or an Admin API) lists must be declared or excluded with a
reason; unregistered stores are named with their project and creation time. Every declared store
must exist inside the audited scope. The map must have been reviewed within the policy's interval.
Read replicas are covered by their primary's entry.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.common import population_findings
from auditor.checks.inventory_common import map_resource, missing_map
from auditor.checks_api import Check, CheckContext
from auditor.facts.discovery import project_in_name
from auditor.facts.known import Unknown
from auditor.facts.stores import SERVICE_TYPES, TYPE_WORDS
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "inventory-completeness"


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "an unknown time"


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    missing = missing_map(facts, ctx, ID)
    if missing:
        return [missing]
    inventory = ctx.inventory
    findings = list(population_findings(facts, ID))
    doc = facts.stores.inventory_document
    doc_evidence = list(doc.evidence) if doc else []

    interval = ctx.config.policy.inventory_review_interval
    age = (ctx.as_of.date() - inventory.reviewed).days
    stale = age > interval.days
    findings.append(Finding(
        ID, map_resource(facts, ctx), "reviewed", FAIL if stale else PASS,
        f"The data map was last reviewed on {inventory.reviewed} ({age} days before the evidence date); the policy asks for "
        f"a review at least every {interval.days} days" + (", so it is out of date." if stale else "."),
        observed={"reviewed": inventory.reviewed.isoformat(), "age_days": age}, expected={"max_age_days": interval.days},
        details={"sha256": doc.sha256 if doc else None}, evidence=doc_evidence))

    discovery = facts.stores.discovery()
    read = not isinstance(discovery, Unknown)
    why = discovery.describe() if isinstance(discovery, Unknown) else ""
    if not read:
        scope = ctx.config.gcp.organization or ",".join(ctx.config.gcp.folders or ctx.config.gcp.projects)
        findings.append(Finding(ID, f"//cloudresourcemanager.googleapis.com/{'organizations/' + scope if ctx.config.gcp.organization else scope}",
                                "discovery", INCONCLUSIVE, f"The stores that exist could not be listed: {why}; the data map "
                                "cannot be compared with reality.", observed={"reason": why}))

    stores = facts.stores.found
    for resource, store in sorted(stores.items()):
        where = f"{store.kind} in project {store.project or 'unknown'}, created {_when(store.create_time)}"
        observed = {"asset_type": store.asset_type, "project": store.project, "location": store.location,
                    "create_time": store.create_time.isoformat() if store.create_time else None,
                    "in_asset_inventory": store.in_assets, "listed_by_admin_api": store.in_admin}
        exclusion, declared = inventory.exclusion(resource), inventory.store(resource)
        unknown_kind = None if declared else facts.stores.kind_unknown(store)
        if exclusion:
            status, message = PASS, f"{store.short} ({where}) is excluded from the data map: {exclusion.reason}"
        elif unknown_kind:  # not declared: unless it is a read replica its primary's entry covers, that is a failure
            status = INCONCLUSIVE
            message = (f"{store.short} ({where}) is not in the data map, and its own listing could not be read "
                       f"({unknown_kind}), so whether it is a read replica its primary's entry covers is unknown.")
        elif declared:
            status, message = PASS, f"{store.short} ({where}) is declared, owner {declared.owner}, classification {declared.classification}."
        elif store.replica_of:
            status, message = NOT_APPLICABLE, f"{store.short} is a read replica of {store.replica_of}; its primary's entry covers it."
        else:
            status = FAIL
            message = (f"{store.short} ({where}) is not in the data map: nobody has registered it, its classification "
                       "or how it is backed up.")
        findings.append(Finding(ID, resource, "declared", status, message, observed=observed,
                                expected={"declared_or_excluded": True}, evidence=store.evidence + doc_evidence))

    known_projects = set(facts.projects)
    for declared in inventory.stores:
        if declared.resource in stores:
            continue
        project = project_in_name(declared.resource)
        kind = TYPE_WORDS.get(next((t for h, t in _hosts() if declared.resource.startswith(f"//{h}/")), ""), "store")
        if not read:
            status, message = INCONCLUSIVE, f"{declared.resource}: declared, but whether it exists could not be verified ({why})."
        elif project and project not in known_projects:
            status, message = FAIL, (f"{declared.resource}: declared, but project {project} is not part of the audited "
                                     f"scope ({_scope_words(ctx)}); a store outside the organisation escapes every control.")
        else:
            status, message = FAIL, (f"{declared.resource}: declared ({kind}, owner {declared.owner}), but no source lists it "
                                     f"in {_scope_words(ctx)}: it no longer exists or the map is wrong.")
        findings.append(Finding(ID, declared.resource, "exists", status, message,
                                observed={"found": False, "project": project}, expected={"exists": True}, evidence=doc_evidence))
    return findings


def _hosts():
    return SERVICE_TYPES.items()


def _scope_words(ctx: CheckContext) -> str:
    gcp = ctx.config.gcp
    if gcp.organization:
        return f"organizations/{gcp.organization}"
    return ", ".join(f"folders/{f}" for f in gcp.folders) or ", ".join(f"projects/{p}" for p in gcp.projects)


CHECK = Check(
    id=ID,
    frequency="daily",
    title="The inventory of critical data is complete and current",
    criteria=("CC6.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="Compares the declared data map (inventory: PATH, stored in the evidence) with the data stores Cloud Asset "
                "Inventory finds (searchAllResources over the organisation, folders or projects) and the Admin APIs list "
                "(Cloud SQL instances.list, Cloud Storage buckets.list), and the map's review date with the policy's interval.",
    needs=("stores",),
    evaluate=evaluate,
)
