"""inventory-completeness: the declared data map lists every store that exists, and only those, and is current.

Every store Cloud Asset Inventory (or an Admin API) lists must be declared or excluded with a
reason; unregistered stores are named with their project and creation time. Every declared store
must exist inside the audited scope. The map must have been reviewed within the policy's interval.
Read replicas are covered by their primary's entry.

Day by day (issue 13): each day against the data map in force that day and the review interval of that
day's stored configuration (checks.days.by_config; a change is named with its key, values, first day
and locker). A store deleted during the period (a Cloud SQL instance its FINAL backup's snapshot shows,
or one only the Admin Activity log shows deleted) is in the population for the days it existed: the map
in force must have declared it on each of them. After its deletion the map need not list it (removing
the entry is correct, and those days are not in its population); a map that still lists it is wrong.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.common import population_findings
from auditor.checks import days as daily
from auditor.checks.inventory_common import (between_words, day_items, day_maps, deleted_stores, deleted_unread,
                                             deletion_words, existence, gone_words, is_gone, map_evidence, map_reasons,
                                             map_resource, missing_map, policy_changes, seen_days)
from auditor.unverified import incomplete_data
from auditor.checks_api import Check, CheckContext
from auditor.facts.discovery import project_in_name
from auditor.facts.known import Unknown
from auditor.facts.stores import SERVICE_TYPES, TYPE_WORDS
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "inventory-completeness"
REVIEW_KEY = "policy.inventory_review_interval"


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
    maps = day_maps(facts, ctx)
    age = (ctx.as_of.date() - inventory.reviewed).days
    # each day against the review interval of that day's stored configuration (inv2)
    states, changes = daily.by_config(ctx, lambda config: (config.policy.inventory_review_interval.days,),
                                      lambda value: _review_days(ctx, maps, value[0]))
    changed, thresholds = policy_changes(changes, {"max_age_days": (REVIEW_KEY, lambda v: f"{v} days")})
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    review = {"days": daily.iso_days(states, isos), "exception_days": [isos[d] for d in broken],
              "unknown_days": [isos[d] for d in unknown], "sha256": doc.sha256 if doc else None,
              "day_evidence": {isos[d]: map_evidence(m) for d, m in maps.items() if states.get(d) in ("kept", "broken")
                               and map_evidence(m)}}
    if thresholds:
        review["thresholds"] = thresholds
    head = (f"The data map was last reviewed on {inventory.reviewed} ({age} days before the evidence date); the policy asks "
            f"for a review at least every {interval.days} days")
    if broken:
        status, message = FAIL, (f"{head}: the map in force was out of date on {len(broken)} days ({daily.day_ranges(broken)})"
                                 + (f"; {len(unknown)} further days are unknown ({map_reasons(maps, unknown)})" if unknown else "")
                                 + ".")
    elif unknown:
        status, message = INCONCLUSIVE, (f"{head}; the map in force, and so its review date, is unknown on {len(unknown)} days "
                                         f"({map_reasons(maps, unknown)}).")
    else:
        status, message = PASS, f"{head}; the map in force was within it on every day."
    if changed:
        message += f" {changed}"
    findings.append(Finding(
        ID, map_resource(facts, ctx), "reviewed", status, message,
        observed={"reviewed": inventory.reviewed.isoformat(), "age_days": age}, expected={"max_age_days": interval.days},
        details=review, evidence=doc_evidence))

    discovery = facts.stores.discovery()
    read = not isinstance(discovery, Unknown)
    why = discovery.describe() if isinstance(discovery, Unknown) else ""
    if not read:
        scope = ctx.config.gcp.organization or ",".join(ctx.config.gcp.folders or ctx.config.gcp.projects)
        findings.append(Finding(ID, f"//cloudresourcemanager.googleapis.com/{'organizations/' + scope if ctx.config.gcp.organization else scope}",
                                "discovery", INCONCLUSIVE, f"The stores that exist could not be listed: {why}; the data map "
                                "cannot be compared with reality.", observed={"reason": why}))

    stores = facts.stores.found
    gone = {}
    for resource, store in sorted(stores.items()):
        life = facts.inventory_days.lifetime(resource, store.create_time)
        if is_gone(life, ctx):  # inv2: seen by an earlier locker, deleted since: judged for the days it existed
            gone[resource] = life
            findings.append(_deleted_finding(facts, ctx, store, life, maps, doc_evidence))
            continue
        where = f"{store.kind} in project {store.project or 'unknown'}, created {_when(store.create_time)}"
        observed = {"asset_type": store.asset_type, "project": store.project, "location": store.location,
                    "create_time": store.create_time.isoformat() if store.create_time else None,
                    "in_asset_inventory": store.in_assets, "listed_by_admin_api": store.in_admin}
        exclusion, declared = inventory.exclusion(resource), inventory.store(resource)
        unknown_kind = None if declared else facts.stores.kind_unknown(store)
        details: dict[str, Any] = {}
        if store.replica_of and not declared and not exclusion:
            status, message = NOT_APPLICABLE, f"{store.short} is a read replica of {store.replica_of}; its primary's entry covers it."
        elif unknown_kind and not exclusion:  # not declared: unless it is a read replica its primary's entry covers, that is a failure
            status = INCONCLUSIVE
            message = (f"{store.short} ({where}) is not in the data map, and its own listing could not be read "
                       f"({unknown_kind}), so whether it is a read replica its primary's entry covers is unknown.")
        else:
            status, message, details = _declared_days(facts, ctx, resource, store, where, maps)
            if exclusion and status == PASS:
                message = f"{store.short} ({where}) is excluded from the data map: {exclusion.reason}" + message
            elif declared and status == PASS:
                message = (f"{store.short} ({where}) is declared, owner {declared.owner}, classification "
                           f"{declared.classification}" + message)
        findings.append(Finding(ID, resource, "declared", status, message, observed=observed,
                                expected={"declared_or_excluded": True}, details=details,
                                evidence=store.evidence + doc_evidence))

    for store, life in deleted_stores(facts, ctx):  # inv2: deleted during the period, judged for the days it existed
        if store.resource in stores:
            continue
        gone[store.resource] = life
        findings.append(_deleted_finding(facts, ctx, store, life, maps, doc_evidence))
    findings += deleted_unread(facts, ctx, ID, "declared")

    known_projects = set(facts.projects)
    for declared in inventory.stores:
        if declared.resource in gone:
            life = gone[declared.resource]
            findings.append(Finding(ID, declared.resource, "exists", FAIL,
                                    f"{declared.resource}: declared, but {gone_words(life)}: the map "
                                    "in force at the evidence date still lists a store that no longer exists.",
                                    observed={"found": False, "deleted": life.gone_by.isoformat()},
                                    expected={"exists": True}, evidence=doc_evidence))
            continue
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


def _deleted_finding(facts: Any, ctx: CheckContext, store: Any, life: Any, maps: dict, doc_evidence: list) -> Finding:
    """A store deleted during the period: did the map in force declare it on each day it existed? (The map need not
    list it after its deletion: removing the entry then is correct.)"""
    where = f"{store.kind} in project {store.project or 'unknown'}, created {_when(store.create_time)}"
    observed = {"asset_type": store.asset_type, "project": store.project, "location": store.location,
                "create_time": store.create_time.isoformat() if store.create_time else None,
                "deleted": life.gone_by.isoformat() if life.gone_by else None}
    if store.replica_of:
        status, message, details = (NOT_APPLICABLE, f"{store.short} was a read replica of {store.replica_of}; its primary's "
                                    "entry covered it.", {})
    else:
        status, message, details = _declared_days(facts, ctx, store.resource, store, where, maps, life)
        if status == PASS:
            message = f"{store.short} ({where}) was in the data map (declared or excluded)" + message
    message += deletion_words(life, ctx)
    return Finding(ID, store.resource, "declared", status, message, observed=observed,
                   expected={"declared_or_excluded": True}, details=details, evidence=store.evidence + doc_evidence)


def _declared_days(facts: Any, ctx: CheckContext, resource: str, store: Any, where: str,
                   maps: dict, life: Any = None) -> tuple[str, str, dict[str, Any]]:
    """Each day: did the data map in force that day declare (or exclude) the store, while it existed?"""
    life = life or facts.inventory_days.lifetime(resource, store.create_time)
    exists = existence(ctx, life, seen_days(facts, ctx, resource))
    states: dict = {}
    for day, there in exists.items():
        listed = maps[day].inventory if day in maps else None
        if there == "not_due":
            states[day] = "not_due"
        elif there == "no":
            states[day] = "not_applicable"
        elif listed is None:
            states[day] = "unknown"
        elif listed.store(resource) or listed.exclusion(resource):
            states[day] = "kept"
        else:
            states[day] = "unknown" if there == "unknown" else "broken"
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    details = {"days": daily.iso_days(states, isos), "exception_days": [isos[d] for d in broken],
               "unknown_days": [isos[d] for d in unknown],
               "day_evidence": day_items(facts, ctx, resource, maps, states),
               "day_entries": {},  # presence in the map: the stored map of each day is the evidence, no log entry
               "maps_in_force": {isos[d]: (m.version.commit or m.version.basis) for d, m in maps.items()
                                 if m.version is not None and states.get(d) not in ("not_due", "not_applicable", None)}}
    why_unknown = _unknown_words(maps, unknown, exists, between_words(life, ctx, unknown))
    if broken:
        created = f" It exists since {_when(life.created)}." if life.created else ""
        message = (f"{store.short} ({where}) was not in the data map in force on {len(broken)} days: "
                   f"{daily.day_ranges(broken)}; nobody had registered it, its classification or how it is backed up."
                   + created + (f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): {why_unknown}."
                                if unknown else ""))
        return FAIL, message, details
    if unknown:
        details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why_unknown}")]
        return INCONCLUSIVE, (f"{store.short} ({store.kind}, {store.project or 'unknown project'}): whether the data map "
                              f"declared it is unknown on {len(unknown)} days ({daily.day_ranges(unknown)}): {why_unknown}."), details
    kept = [d for d, s in states.items() if s == "kept"]
    return PASS, f"; in the data map in force on each of its {len(kept)} days ({daily.day_ranges(kept)}).", details


def _review_days(ctx: CheckContext, maps: dict, max_age: int) -> dict:
    """Each day: was the map in force that day reviewed within the interval (by the day's end)?"""
    out = {}
    as_of = ctx.period.day_of(ctx.as_of)
    for day in ctx.period.days():
        if day > as_of:
            out[day] = "not_due"
            continue
        listed = maps[day].inventory if day in maps else None
        out[day] = "unknown" if listed is None else ("broken" if (day - listed.reviewed).days > max_age else "kept")
    return out


def _unknown_words(maps: dict, unknown: list, exists: dict, between: str | None = None) -> str:
    parts = []
    reasons = map_reasons(maps, unknown)
    if reasons:
        parts.append(f"the data map in force is unknown ({reasons})")
    if between:  # inv3: between its last sighting and the complete listing that no longer showed it
        parts.append(between)
    unseen = [d for d in unknown if exists.get(d) == "unknown" and maps.get(d) is not None and maps[d].inventory is not None]
    if unseen and not between:
        parts.append(f"whether the store existed is unknown on {daily.day_ranges(unseen)} (no creation time, no read that day)")
    return "; ".join(parts) or "no evidence covers them"


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
                "(Cloud SQL instances.list, Cloud Storage buckets.list), and the map's review date with the policy's interval, "
                "each day against the map and the interval in force that day. A store deleted during the period is judged "
                "for the days it existed: the map must have listed it while it existed, and need not after its deletion.",
    needs=("stores", "inventory_days", "sql_instances", "final_snapshots", "config_changes"),
    evaluate=evaluate,
)
