"""inventory-classification: every store in scope has a valid classification, and label and declaration agree.

The declared classification (data map) comes first; the resource label (policy.classification_label)
must name the same class when both exist; either must be one of the policy's classifications.
A store with neither is unclassified (the policy's default_classification, if set, is applied and named).
"""

from __future__ import annotations

from typing import Any

from auditor.checks import days as daily
from auditor.checks.inventory_common import day_entries, day_items, day_maps, map_reasons, missing_map
from auditor.unverified import incomplete_data
from auditor.checks_api import Check, CheckContext
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "inventory-classification"


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    policy = ctx.config.policy
    known = set(policy.classifications)
    inventory = ctx.inventory
    findings: list[Finding] = []
    missing = missing_map(facts, ctx, ID)
    if missing:
        findings.append(missing)
    maps = day_maps(facts, ctx)
    for resource, store in sorted(facts.stores.found.items()):
        declared_store = inventory.store(resource) if inventory is not None else None
        declared = declared_store.classification if declared_store else None
        label = store.labels.get(policy.classification_label)
        observed = {"declared": declared, "label": label, "label_key": policy.classification_label}
        expected = {"one_of": sorted(known), "label_matches_declaration": True}
        exclusion = inventory.exclusion(resource) if inventory is not None else None
        problems = []
        details: dict[str, Any] = {}
        # a store the index lists, whose own listing was not read, and that the map does not declare: replica or not?
        unknown_kind = None if declared_store else facts.stores.kind_unknown(store)
        if exclusion:
            status, message = NOT_APPLICABLE, f"{store.short} is excluded from the data map ({exclusion.reason})."
        elif unknown_kind:
            status = INCONCLUSIVE
            message = (f"{store.short} ({store.kind}, project {store.project}): the asset inventory lists it, but its own "
                       f"listing could not be read ({unknown_kind}), so whether it is a store of its own or a read "
                       "replica covered by its primary is unknown.")
        elif store.replica_of:
            status, message = NOT_APPLICABLE, f"{store.short} is a read replica of {store.replica_of}; it carries its primary's data."
        else:
            if declared is not None and declared not in known:
                problems.append(f"the data map declares {declared!r}, which is not a classification of the policy ({', '.join(sorted(known))})")
            if label is not None and label not in known:
                problems.append(f"its label {policy.classification_label}={label!r} is not a classification of the policy")
            if declared and label and declared != label:
                problems.append(f"the data map says {declared!r} but its label says {label!r}")
            if not declared and not label:
                if policy.default_classification:
                    status, message = PASS, (f"{store.short} ({store.kind}, project {store.project}) has no classification of "
                                             f"its own; the policy default {policy.default_classification!r} applies.")
                else:
                    problems.append(f"it has no classification: not in the data map and no {policy.classification_label} label")
            if problems:
                status = FAIL
                message = f"{store.short} ({store.kind}, project {store.project}): " + "; ".join(problems) + "."
            elif inventory is None and ctx.inventory_problem:
                status = INCONCLUSIVE  # a label alone cannot show that the declaration agrees
                message = (f"{store.short} ({store.kind}, project {store.project}): the data map could not be read "
                           f"({ctx.inventory_problem}), so its declared classification is unknown"
                           + (f"; its label says {label!r}." if label else "."))
            elif declared or label:
                status = PASS
                source = "declared and labelled" if declared and label else ("declared" if declared else "labelled")
                message = f"{store.short} ({store.kind}, project {store.project}) is {source} {declared or label}."
            if not (inventory is None and ctx.inventory_problem):
                status, message, details = _judged_by_day(facts, ctx, resource, store, maps, status, message)
        findings.append(Finding(ID, resource, "classified", status, message, observed=observed, expected=expected,
                                details=details, evidence=store.evidence))
    return findings


def _weak(policy: Any, declared: str | None) -> Any:
    """Whether labels (a sorted tuple of pairs) break the rule on a day whose map declares `declared`."""
    known, key, default = set(policy.classifications), policy.classification_label, policy.default_classification

    def weak(labels: Any) -> bool:
        label = dict(labels).get(key)
        if label is not None and label not in known:
            return True
        if declared and label and declared != label:
            return True
        return not declared and not label and not default
    return weak


def _judged_by_day(facts: Any, ctx: CheckContext, resource: str, store: Any, maps: dict, status: str,
                   message: str) -> tuple[str, str, dict[str, Any]]:
    """Each day: the label that day (its timeline) against the classification the data map in force declared.
    A day whose map is unknown can still be broken by an invalid label; otherwise it is unknown."""
    policy = ctx.config.policy
    known = set(policy.classifications)
    timeline = facts.inventory_days.labels(resource)
    life = facts.inventory_days.lifetime(resource, store.create_time)
    stamp = (lambda t: t.timestamp() if t else None)
    configured = ctx.config.inventory is not None
    groups: dict[Any, tuple[Any, list]] = {}
    for day, day_map in maps.items():
        inv = day_map.inventory
        key = day_map.version.sha256 if inv is not None else (None if configured else "no-map")
        groups.setdefault(key, (inv, []))[1].append(day)
    states: dict = {}
    for key, (inv, days) in groups.items():
        declared = inv.classification(resource) if inv is not None else None
        if inv is not None and inv.exclusion(resource):
            states.update({d: "not_applicable" for d in days})
            continue
        map_known = inv is not None or key == "no-map"
        weak = _weak(policy, declared) if map_known else (lambda labels: (lambda v: v is not None and v not in known)(
            dict(labels).get(policy.classification_label)))
        per = timeline.day_states(ctx.period.day_stamps, ctx.period.days(), ctx.as_of.timestamp(), weak,
                                  created=stamp(life.created), gone_by=stamp(life.gone_by), alive_until=stamp(life.alive_until))
        for day in days:
            state = per[day]
            if state not in ("not_due", "not_applicable"):
                if declared is not None and declared not in known:
                    state = "broken"  # the map itself names no classification of the policy
                elif state == "kept" and not map_known:
                    state = "unknown"
            states[day] = state
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    details: dict[str, Any] = {"days": daily.iso_days(states, isos), "exception_days": [isos[d] for d in broken],
                               "unknown_days": [isos[d] for d in unknown],
                               "day_evidence": day_items(facts, ctx, resource, maps, states),
                               "day_entries": day_entries(facts, ctx, resource, states)}
    head = f"{store.short} ({store.kind}, project {store.project})"
    why = _why_unknown(facts, ctx, resource, maps, unknown)
    now = message.split(": ", 1)[1] if status == FAIL and ": " in message else None
    if broken:
        return FAIL, (f"{head}: its classification was missing, invalid or disagreed with the data map in force on "
                      f"{len(broken)} days: {daily.day_ranges(broken)}."
                      + (f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): {why}." if unknown else "")
                      + (f" As of the last read: {now}" if now else " As of the last read it is within the policy.")), details
    if status == FAIL:  # the last read breaks the rule but no day could be judged: never better than the read
        return FAIL, message, details
    if unknown:
        details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
        return INCONCLUSIVE, (f"{head}: its classification could not be established on {len(unknown)} days "
                              f"({daily.day_ranges(unknown)}): {why}."), details
    if not any(s == "kept" for s in states.values()):
        return status, message, details
    return status, message.rstrip(".") + "; on every day of the period it existed.", details


def _why_unknown(facts: Any, ctx: CheckContext, resource: str, maps: dict, unknown: list) -> str:
    parts = []
    unlogged = [c for c in facts.inventory_days.unlogged_label_changes(resource)
                if ctx.period.starts_at <= c.time < ctx.period.ends_at]
    if unlogged:
        when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method})" for c in unlogged)
        parts.append(f"the Admin Activity entries of {when} were logged without the request body, so the labels they set "
                     "are unknown until the next read")
    reasons = map_reasons(maps, unknown)
    if reasons:
        parts.append(f"the data map in force is unknown ({reasons})")
    if not parts:
        parts.append("no read shows the labels then, and no complete audit-log query or Cloud Asset Inventory history "
                     "(kept 35 days) joins those days to one")
    return "; ".join(parts)


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Every data store carries a valid classification",
    criteria=("CC6.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each store found (Cloud Asset Inventory, Cloud SQL and Cloud Storage listings), compares the declared "
                "classification (data map) and the classification label with the policy's classifications.",
    needs=("stores", "inventory_days"),
    evaluate=evaluate,
)
