"""inventory-classification: every store in scope has a valid classification, and label and declaration agree.

The declared classification (data map) comes first; the resource label (policy.classification_label)
must name the same class when both exist; either must be one of the policy's classifications.
A store with neither is unclassified (the policy's default_classification, if set, is applied and named).

Day by day (issue 13): each day's labels (their timeline) against the data map in force that day, under the
classifications, classification_label and default_classification of that day's stored configuration
(checks.days.by_config): a label is valid on a day if that day's policy has its classification; a change is
named with its key, values, first day and locker. A store deleted during the period is judged for the days it
existed (a Cloud SQL instance's FINAL backup snapshot is its last read); the days after are not in its population.
"""

from __future__ import annotations

from typing import Any

from auditor.checks import days as daily
from auditor.checks.inventory_common import (between_days, between_words, day_entries, day_items, day_maps, deleted_stores,
                                             deleted_unread, deletion_words, is_gone, map_reasons, missing_map,
                                             policy_changes)
from auditor.unverified import incomplete_data
from auditor.checks_api import Check, CheckContext
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "inventory-classification"


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    missing = missing_map(facts, ctx, ID)
    if missing:
        findings.append(missing)
    maps = day_maps(facts, ctx)
    for resource, store in sorted(facts.stores.found.items()):
        life = facts.inventory_days.lifetime(resource, store.create_time)
        finding = _store_finding(facts, ctx, resource, store, maps, life)
        finding.message += deletion_words(life, ctx)  # inv2: seen by an earlier locker, deleted since
        findings.append(finding)
    for store, life in deleted_stores(facts, ctx):  # inv2: deleted during the period, judged for the days it existed
        finding = _store_finding(facts, ctx, store.resource, store, maps, life)
        finding.message += deletion_words(life, ctx)
        findings.append(finding)
    findings += deleted_unread(facts, ctx, ID, "classified")
    return findings


def _store_finding(facts: Any, ctx: CheckContext, resource: str, store: Any, maps: dict, life: Any = None) -> Finding:
    policy = ctx.config.policy
    known = set(policy.classifications)
    inventory = ctx.inventory
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
    elif life is not None and is_gone(life, ctx) and not (inventory is None and ctx.inventory_problem):
        # deleted: the newest map need not list it, so only the days it existed judge it (each against its own map)
        status, message = PASS, (f"{store.short} ({store.kind}, project {store.project}): its classification was valid and "
                                 "agreed with the data map in force")
        status, message, details = _judged_by_day(facts, ctx, resource, store, maps, status, message, life)
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
            status, message, details = _judged_by_day(facts, ctx, resource, store, maps, status, message, life)
    return Finding(ID, resource, "classified", status, message, observed=observed, expected=expected,
                   details=details, evidence=store.evidence)


def _rules(config: Any) -> tuple[tuple[str, ...], str, str | None]:
    """What the rule reads from one stored configuration: the classifications, the label key, the default."""
    policy = config.policy
    return tuple(sorted(policy.classifications)), policy.classification_label, policy.default_classification


#: the configuration keys of `_rules`' values, as the message and details.thresholds name them
RULE_KEYS = {"classifications": ("policy.classifications", lambda v: "(" + ", ".join(v) + ")" if v else "(none)"),
             "label_key": ("policy.classification_label", repr),
             "default_classification": ("policy.default_classification", lambda v: repr(v) if v else "none")}


def _weak(rules: tuple[tuple[str, ...], str, str | None], declared: str | None) -> Any:
    """Whether labels (a sorted tuple of pairs) break the rule on a day whose map declares `declared`, under the
    classifications, label key and default of that day's configuration."""
    known, key, default = set(rules[0]), rules[1], rules[2]

    def weak(labels: Any) -> bool:
        label = dict(labels).get(key)
        if label is not None and label not in known:
            return True
        if declared and label and declared != label:
            return True
        return not declared and not label and not default
    return weak


def _judged_by_day(facts: Any, ctx: CheckContext, resource: str, store: Any, maps: dict, status: str,
                   message: str, life: Any = None) -> tuple[str, str, dict[str, Any]]:
    """Each day: the label that day (its timeline) against the classification the data map in force declared, under
    the classifications, label key and default of that day's stored configuration (checks.days.by_config).
    A day whose map is unknown can still be broken by an invalid label; otherwise it is unknown."""
    timeline = facts.inventory_days.labels(resource)
    life = life or facts.inventory_days.lifetime(resource, store.create_time)
    stamp = (lambda t: t.timestamp() if t else None)
    configured = ctx.config.inventory is not None
    groups: dict[Any, tuple[Any, list]] = {}
    for day, day_map in maps.items():
        inv = day_map.inventory
        key = day_map.version.sha256 if inv is not None else (None if configured else "no-map")
        groups.setdefault(key, (inv, []))[1].append(day)

    def states_under(rules: tuple[tuple[str, ...], str, str | None]) -> dict:
        known, label_key = set(rules[0]), rules[1]
        states: dict = {}
        for key, (inv, days) in groups.items():
            declared = inv.classification(resource) if inv is not None else None
            if inv is not None and inv.exclusion(resource):
                states.update({d: "not_applicable" for d in days})
                continue
            map_known = inv is not None or key == "no-map"
            weak = _weak(rules, declared) if map_known else (lambda labels: (lambda v: v is not None and v not in known)(
                dict(labels).get(label_key)))
            per = timeline.day_states(ctx.period.day_stamps, ctx.period.days(), ctx.as_of.timestamp(), weak,
                                      created=stamp(life.created), gone_by=stamp(life.gone_by),
                                      alive_until=stamp(life.alive_until))
            for day in days:
                state = per[day]
                if state not in ("not_due", "not_applicable"):
                    if declared is not None and declared not in known:
                        state = "broken"  # the map itself names no classification of the policy in force
                    elif state == "kept" and not map_known:
                        state = "unknown"
                states[day] = state
        return states

    states, changes = daily.by_config(ctx, _rules, states_under)
    changed, thresholds = policy_changes(changes, RULE_KEYS)
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    details: dict[str, Any] = {"days": daily.iso_days(states, isos), "exception_days": [isos[d] for d in broken],
                               "unknown_days": [isos[d] for d in unknown],
                               "day_evidence": day_items(facts, ctx, resource, maps, states),
                               "day_entries": day_entries(facts, ctx, resource, states)}
    if thresholds:
        details["thresholds"] = thresholds
    status, message = _worded(facts, ctx, resource, store, maps, states, status, message, details, life)
    return status, message + (f" {changed}" if changed else ""), details


def _worded(facts: Any, ctx: CheckContext, resource: str, store: Any, maps: dict, states: dict, status: str,
            message: str, details: dict, life: Any = None) -> tuple[str, str]:
    broken, unknown = daily.exception_days(states)
    head = f"{store.short} ({store.kind}, project {store.project})"
    why = _why_unknown(facts, ctx, resource, maps, unknown, between_words(life, ctx, unknown),
                       [d for d in unknown if d not in set(between_days(life, ctx, unknown))])
    now = message.split(": ", 1)[1] if status == FAIL and ": " in message else None
    if broken:
        return FAIL, (f"{head}: its classification was missing, invalid or disagreed with the data map in force on "
                      f"{len(broken)} days: {daily.day_ranges(broken)}."
                      + (f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): {why}." if unknown else "")
                      + (f" As of the last read: {now}" if now else " As of the last read it is within the policy."))
    if status == FAIL:  # the last read breaks the rule but no day could be judged: never better than the read
        return FAIL, message
    if unknown:
        details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
        return INCONCLUSIVE, (f"{head}: its classification could not be established on {len(unknown)} days "
                              f"({daily.day_ranges(unknown)}): {why}.")
    if not any(s == "kept" for s in states.values()):
        return status, message
    return status, message.rstrip(".") + "; on every day of the period it existed."


def _why_unknown(facts: Any, ctx: CheckContext, resource: str, maps: dict, unknown: list, between: str | None = None,
                 others: list | None = None) -> str:
    """`between`: why the days between the store's last sighting and the listing that no longer showed it are unknown
    (inv3); `others`: the unknown days outside that stretch, which still need their own reason."""
    if between and others:
        rest = _why_unknown(facts, ctx, resource, maps, others)
        return f"{between}; on {daily.day_ranges(others)}: {rest}"
    parts = [between] if between else []
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
                "classification (data map) and the classification label with the policy's classifications, each day "
                "against the map and the policy in force that day; a store deleted during the period for the days it existed.",
    needs=("stores", "inventory_days", "sql_instances", "final_snapshots", "config_changes"),
    evaluate=evaluate,
)
