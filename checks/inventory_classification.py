"""inventory-classification: every store in scope has a valid classification, and label and declaration agree.

The declared classification (data map) comes first; the resource label (policy.classification_label)
must name the same class when both exist; either must be one of the policy's classifications.
A store with neither is unclassified (the policy's default_classification, if set, is applied and named).
"""

from __future__ import annotations

from typing import Any

from auditor.checks.inventory_common import missing_map
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
    for resource, store in sorted(facts.stores.found.items()):
        declared_store = inventory.store(resource) if inventory is not None else None
        declared = declared_store.classification if declared_store else None
        label = store.labels.get(policy.classification_label)
        observed = {"declared": declared, "label": label, "label_key": policy.classification_label}
        expected = {"one_of": sorted(known), "label_matches_declaration": True}
        exclusion = inventory.exclusion(resource) if inventory is not None else None
        problems = []
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
        findings.append(Finding(ID, resource, "classified", status, message, observed=observed, expected=expected,
                                evidence=store.evidence))
    return findings


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Every data store carries a valid classification",
    criteria=("CC6.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each store found (Cloud Asset Inventory, Cloud SQL and Cloud Storage listings), compares the declared "
                "classification (data map) and the classification label with the policy's classifications.",
    needs=("stores",),
    evaluate=evaluate,
)
