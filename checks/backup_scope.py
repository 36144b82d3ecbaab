"""What the backup controls (cross-region, retention) cover, and the findings for what they cannot verify.

In scope: every Cloud SQL instance (replicas not applicable), every declared backup bucket (judged
against its source), and every other store, declared or discovered and not excluded, whose backup
the auditor cannot verify yet (Spanner, Firestore, disks, BigQuery, Filestore, primary buckets):
those are listed `inconclusive`, never skipped. Projects whose listings failed or whose populations
do not reconcile add an inconclusive finding naming the project, the API and the reason.
"""

from __future__ import annotations

from typing import Callable

from auditor.checks.common import replica_finding, unread_projects
from auditor.checks.stores import Store, declared_type, found_stores, listing_gap, population_findings, project_in_name
from auditor.checks_api import CheckContext
from auditor.facts.model import Facts, SqlInstance
from auditor.facts.stores import BUCKET_TYPE, SQL_TYPE, TYPE_WORDS, Bucket
from auditor.results import INCONCLUSIVE, Finding

InstanceRule = Callable[[SqlInstance, Facts, CheckContext], Finding]
BucketRule = Callable[[Bucket, str, Store | None, SqlInstance | None, Facts, CheckContext], Finding]


def backup_targets(ctx: CheckContext) -> dict[str, list[str]]:
    """{backup bucket: [source stores]} from the declared inventory."""
    targets: dict[str, list[str]] = {}
    if ctx.inventory is not None:
        for store in ctx.inventory.stores:
            for bucket in store.backup_buckets:
                targets.setdefault(bucket, []).append(store.resource)
    return targets


def evaluate_scope(facts: Facts, ctx: CheckContext, check: str, what: str, rule: str,
                   instance_rule: InstanceRule, bucket_rule: BucketRule) -> list[Finding]:
    findings = [_with_rule(f, "listing-sqladmin") for f in unread_projects(facts, check, "sqladmin", "instances.list", what)]
    findings += [_with_rule(f, "listing-storage") for f in unread_projects(facts, check, "storage", "buckets.list",
                                                                          f"{what} of Cloud Storage buckets")]
    findings += list(population_findings(facts, ctx, check))
    instances = {i.resource: i for i in facts.sql_instances}
    buckets = {b.resource: b for b in facts.stores.buckets}
    stores = found_stores(facts)
    inventory = ctx.inventory
    targets = backup_targets(ctx)

    for instance in sorted(instances.values(), key=lambda i: i.resource):
        findings.append(replica_finding(check, instance, rule) if instance.is_replica else instance_rule(instance, facts, ctx))

    for target, sources in sorted(targets.items()):
        bucket = buckets.get(target)
        for source in sources:
            if bucket is None:
                findings.append(_not_read(check, target, f"backup bucket of {source}", facts, ctx, BUCKET_TYPE, None))
                continue
            findings.append(bucket_rule(bucket, source, stores.get(source), instances.get(source), facts, ctx))

    candidates = {r: s.asset_type for r, s in stores.items()}
    if inventory is not None:
        candidates.update({s.resource: declared_type(s.resource) for s in inventory.stores if s.resource not in candidates})
    for resource, asset_type in sorted(candidates.items()):
        if resource in instances or resource in targets:
            continue
        if inventory is not None and inventory.exclusion(resource):
            continue
        store = stores.get(resource)
        if asset_type == SQL_TYPE:
            if store is not None:  # listed by the asset index only (a declared store nobody lists: completeness)
                project = store.project or project_in_name(resource)
                findings.append(_not_read(check, resource, "Cloud SQL instance", facts, ctx, SQL_TYPE, project))
            continue
        if store is None and asset_type == BUCKET_TYPE:
            continue  # a declared bucket nobody lists: inventory-completeness reports it
        findings.append(_unverifiable(check, resource, asset_type, store, ctx, what))
    return findings


def sql_gaps(facts: Facts, ctx: CheckContext, check: str, what: str) -> list[Finding]:
    """What a Cloud SQL control cannot conclude on: projects whose listing failed, projects whose asset
    index and Admin API populations disagree, and instances only the asset index shows."""
    findings = list(unread_projects(facts, check, "sqladmin", "instances.list", what))
    findings += [f for f in population_findings(facts, ctx, check) if f.rule == "population-sqladmin"]
    listed = {i.resource for i in facts.sql_instances}
    for resource, store in sorted(found_stores(facts).items()):
        if store.asset_type != SQL_TYPE or resource in listed:
            continue
        if ctx.inventory is not None and ctx.inventory.exclusion(resource):
            continue
        findings.append(_not_read(check, resource, "Cloud SQL instance", facts, ctx, SQL_TYPE,
                                  store.project or project_in_name(resource)))
    return findings


def _with_rule(finding: Finding, rule: str) -> Finding:
    """Two listings may fail in one project: each gets its own stable finding id."""
    finding.rule = rule
    return finding


def _not_read(check: str, resource: str, kind: str, facts: Facts, ctx: CheckContext, asset_type: str,
              project: str | None) -> Finding:
    gap = listing_gap(facts, asset_type, project) if project else None
    if gap:
        why = f"its details could not be read: {gap}"
    elif asset_type == SQL_TYPE:
        why = (f"the asset inventory lists it, but the Cloud SQL Admin API did not show it to the auditing identity in "
               f"project {project}, so its backup settings could not be read")
    else:
        why = "the Cloud Storage API did not list it to the auditing identity, so its settings could not be read"
    return Finding(check, resource, "not-read", INCONCLUSIVE, f"{resource.rsplit('/', 1)[-1]} ({kind}): {why}.",
                   observed={"listed_by_admin_api": False, "reason": gap}, expected={"readable": True})


def _unverifiable(check: str, resource: str, asset_type: str, store: Store | None, ctx: CheckContext, what: str) -> Finding:
    kind = TYPE_WORDS.get(asset_type, asset_type)
    declared = ctx.inventory.store(resource) if ctx.inventory is not None else None
    methods = [m if isinstance(m, str) else f"backup bucket {m.backup_bucket}" for m in (declared.backup if declared else [])]
    how = f" The data map says it is backed up by: {', '.join(methods)}." if methods else (
        " The data map does not say how it is backed up." if declared else " It is not in the data map.")
    return Finding(
        check, resource, "unverifiable", INCONCLUSIVE,
        f"{resource.rsplit('/', 1)[-1]} ({kind}{', project ' + store.project if store and store.project else ''}): "
        f"the auditor cannot yet verify {what} for this kind of store, so it is listed here rather than passed.{how}",
        observed={"asset_type": asset_type, "declared": declared is not None, "declared_backup": methods},
        evidence=list(store.evidence) if store else [],
    )


def sql_runs(facts: Facts, instance: SqlInstance) -> list:
    from auditor.facts import index

    return [a for a in index.of(facts).attempts_of(instance.resource) if a.source == "backup-run"]

