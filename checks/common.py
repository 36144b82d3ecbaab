"""Finding builders shared by the checks: the Cloud SQL population per project, what could not be read,
and the scope of the backup controls (cross-region, retention).

Populations come from Known reads only: an instance is evaluated when its project's listing was read
in full; a project whose listing was not gets one inconclusive finding naming the call and why.
The data behind these findings (stores, listings, reconciliation) is computed with the facts
(auditor.facts.discovery); this module only words it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from auditor.checks_api import CheckContext
from auditor.facts.discovery import Store, project_in_name
from auditor.facts.known import Known, Scoped, Unknown
from auditor.facts.model import SqlInstance, project_resource
from auditor.facts.stores import BUCKET_TYPE, SQL_TYPE, TYPE_WORDS, Bucket, type_of
from auditor.results import INCONCLUSIVE, NOT_APPLICABLE, Finding
from auditor.unverified import entry as unverified_entry, incomplete_data, not_collected


def project_scope(project: str) -> str:
    return f"projects/{project}"


def unverified(read: Unknown) -> list[dict[str, Any]]:
    """The `details.unverified` entries of an unknown read."""
    out = []
    for gap in read.gaps:
        out.append(not_collected(gap.api, gap.method, gap.scope) if gap.call_id is None and gap.kind == "not_collected"
                   else unverified_entry(gap))
    return out


def unread_finding(check: str, project: str, read: Unknown, what: str, rule: str = "listing") -> Finding:
    gap = read.first
    return Finding(
        check=check, resource=project_resource(project), rule=rule, status=INCONCLUSIVE,
        message=f"Could not verify {what} in project {project}: {read.describe()}.",
        observed={"api": gap.api, "method": gap.method, "error_kind": gap.kind, "reason": gap.reason},
        details={"call": gap.call_id, "unverified": unverified(read)},
    )


def unread_projects(facts: Any, check: str, collection: Scoped[Any], what: str, rule: str = "listing") -> Iterator[Finding]:
    """An explicit inconclusive finding for every project whose listing of `collection` did not come back whole."""
    for project in facts.projects:
        read = collection.at(project_scope(project))
        if isinstance(read, Unknown):
            yield unread_finding(check, project, read, what, rule)


def instances(facts: Any) -> list[SqlInstance]:
    """The Cloud SQL instances of every project whose listing was read in full, by resource name."""
    found: list[SqlInstance] = []
    for project in facts.projects:
        read = facts.sql_instances.at(project_scope(project))
        if isinstance(read, Known):
            found.extend(read.items)
    return sorted(found, key=lambda i: i.resource)


def deleted_instances(facts: Any) -> list[SqlInstance]:
    """Instances deleted before the read that a FINAL backup's snapshot still shows (Backups.list read in full):
    in the population of the day-by-day controls for the days they existed, at their configuration when
    deleted. Not in any listing any more, so `instances` does not return them."""
    listed = {i.resource for i in instances(facts)}
    reads = (facts.final_snapshots.at(project_scope(p)) for p in facts.projects)
    return _newest_gone(facts, (s for read in reads if isinstance(read, Known) for s in read.items), listed)


def _newest_gone(facts: Any, seen: Iterable[SqlInstance], known: set[str]) -> list[SqlInstance]:
    """The newest read of each instance not in `known` that the history shows gone, by resource name."""
    found: dict[str, SqlInstance] = {}
    for one in seen:
        if one.resource in known or facts.history.lifetime(one.resource).gone_by is None:
            continue
        held = found.get(one.resource)
        if held is None or (one.observed_at and held.observed_at and one.observed_at > held.observed_at):
            found[one.resource] = one
    return [found[r] for r in sorted(found)]


def deleted_unseen(facts: Any, check: str, ctx: CheckContext, rule: str) -> list[Finding]:
    """Instances the Admin Activity log shows deleted during the period that no read shows (no listing, no FINAL
    backup's snapshot): they existed on the days before, so those days are in the population, but nothing says how
    they were configured. One inconclusive finding each, never dropped."""
    known = {i.resource for i in instances(facts)} | {i.resource for i in deleted_instances(facts)}
    out = []
    for project in facts.projects:
        read = facts.config_changes.at(project_scope(project))
        if not isinstance(read, Known):
            continue
        for change in read.items:
            if not change.deleted or change.instance in known or facts.history.observations(change.instance):
                continue
            if not (ctx.period.starts_at <= change.time < ctx.period.ends_at):
                continue
            known.add(change.instance)
            days = [d for d, start in zip(ctx.period.days(), ctx.period.day_starts) if start < change.time]
            if not days:
                continue
            out.append(Finding(
                check, change.instance, rule, INCONCLUSIVE,
                f"{change.instance.rsplit('/', 1)[-1]} (Cloud SQL instance, project {project}) was deleted on "
                f"{change.time:%Y-%m-%d %H:%M} UTC ({change.method} in the Admin Activity log"
                + (f", by {change.principal}" if change.principal else "") + "), and no read of it survives: no listing "
                "shows it and no FINAL backup carries its configuration. The days it existed in the period "
                f"({days[0]}..{days[-1]}) cannot be judged, so they are not passed.",
                observed={"deleted": change.time.isoformat(), "configuration_read": False},
                details={"unknown_days": [d.isoformat() for d in days],
                         "unverified": [incomplete_data(f"{change.instance}: deleted on {change.time.isoformat()}, no "
                                                        "configuration read of it", change.evidence)]},
                evidence=list(change.evidence)))
    return out


def deletion_note(facts: Any, instance: SqlInstance, ctx: CheckContext) -> str:
    """' It was deleted on ...; the days after are not applicable.' for a deleted instance, else ''."""
    gone = facts.history.lifetime(instance.resource).gone_by
    if gone is None or gone >= ctx.as_of:
        return ""
    return (f" It was deleted on {gone:%Y-%m-%d %H:%M} UTC (its FINAL backup's snapshot of the instance is the configuration "
            "read); it is judged for the days it existed, and the days after the deletion are not applicable.")


def replica_finding(check: str, instance: SqlInstance, rule: str) -> Finding:
    return Finding(
        check=check, resource=instance.resource, rule=rule, status=NOT_APPLICABLE,
        message=f"{instance.display} is a read replica of {instance.master or 'another instance'}; replicas cannot hold backups.",
        observed={"instance_type": instance.instance_type, "master": instance.master},
        evidence=list(instance.evidence), not_applicable_reason="a read replica (replicas cannot hold backups)",
    )


def population_findings(facts: Any, check: str, stores: Any = None) -> Iterator[Finding]:
    """An inconclusive finding per project where the asset index and an Admin API disagree on the population."""
    stores = facts.stores if stores is None else stores
    for m in stores.mismatches:
        parts = []
        if m.not_listed:
            parts.append(f"the asset inventory lists {', '.join(m.not_listed)} but {m.api} {m.method} did not show "
                         f"{'it' if len(m.not_listed) == 1 else 'them'} to the auditing identity")
        if m.not_indexed:
            parts.append(f"{m.api} {m.method} lists {', '.join(m.not_indexed)}, missing from the asset inventory")
        from auditor.facts.discovery import ASSET_INDEX_LAG

        note = (f" ({', '.join(m.young)} created less than {ASSET_INDEX_LAG.total_seconds() / 3600:g} hours before "
                "the evidence date, so not yet expected in the asset index)") if m.young else ""
        yield Finding(
            check=check, resource=project_resource(m.project), rule=f"population-{m.api}", status=INCONCLUSIVE,
            message=(f"Project {m.project}: the {m.what} could not be reconciled: the asset inventory counts {len(m.in_assets)}, "
                     f"{m.api} {m.method} counts {len(m.in_admin)}; " + "; ".join(parts) + f"{note}. Controls over this "
                     "population cannot be concluded until both sources agree (check the identity's permissions)."),
            observed={"asset_inventory_count": len(m.in_assets), "admin_api_count": len(m.in_admin),
                      "missing_from_admin_api": list(m.not_listed), "missing_from_asset_inventory": list(m.not_indexed),
                      "recently_created": list(m.young)},
            expected={"counts_equal": True},
            evidence=list(m.evidence),
        )


# --- the scope of the backup controls (cross-region, retention) ---------------------------------------

InstanceRule = Callable[[SqlInstance, Any, CheckContext], Finding]
BucketRule = Callable[[Bucket, str, "Store | None", "SqlInstance | None", Any, CheckContext], Finding]


def backup_targets(ctx: CheckContext) -> dict[str, list[str]]:
    """{backup bucket: [source stores]} from the declared inventory."""
    targets: dict[str, list[str]] = {}
    if ctx.inventory is not None:
        for store in ctx.inventory.stores:
            for bucket in store.backup_buckets:
                targets.setdefault(bucket, []).append(store.resource)
    return targets


def known_buckets(facts: Any) -> dict[str, Bucket]:
    found: dict[str, Bucket] = {}
    for project in facts.projects:
        read = facts.buckets.at(project_scope(project))
        if isinstance(read, Known):
            found.update({b.resource: b for b in read.items})
    return found


def evaluate_scope(facts: Any, ctx: CheckContext, check: str, what: str, rule: str,
                   instance_rule: InstanceRule, bucket_rule: BucketRule, deleted: bool = False) -> list[Finding]:
    """In scope: every Cloud SQL instance (replicas not applicable), every declared backup bucket (judged
    against its source), and every other store, declared or discovered and not excluded, whose backup
    the auditor cannot verify yet: those are listed `inconclusive`, never skipped. `deleted`: instances
    deleted before the read are judged too, for the days they existed (a control that judges them its
    own way, as retention does with their final backup, leaves it off)."""
    findings = list(unread_projects(facts, check, facts.sql_instances, what, "listing-sqladmin"))
    findings += list(unread_projects(facts, check, facts.buckets, f"{what} of Cloud Storage buckets", "listing-storage"))
    findings += list(population_findings(facts, check))
    listed = {i.resource: i for i in instances(facts)}
    buckets = known_buckets(facts)
    stores = facts.stores.found
    inventory = ctx.inventory
    targets = backup_targets(ctx)

    for instance in listed.values():
        findings.append(replica_finding(check, instance, rule) if instance.is_replica else instance_rule(instance, facts, ctx))
    for instance in deleted_instances(facts) if deleted else ():
        finding = instance_rule(instance, facts, ctx)
        finding.message += deletion_note(facts, instance, ctx)
        findings.append(finding)
        listed[instance.resource] = instance
    if deleted:
        findings += deleted_unseen(facts, check, ctx, rule)

    for target, sources in sorted(targets.items()):
        bucket = buckets.get(target)
        for source in sources:
            if bucket is None:
                findings.append(not_read(check, target, f"backup bucket of {source}", facts.stores, BUCKET_TYPE, None))
                continue
            findings.append(bucket_rule(bucket, source, stores.get(source), listed.get(source), facts, ctx))

    candidates = {r: s.asset_type for r, s in stores.items()}
    if inventory is not None:
        candidates.update({s.resource: type_of(s.resource) or "unknown" for s in inventory.stores if s.resource not in candidates})
    for resource, asset_type in sorted(candidates.items()):
        if resource in listed or resource in targets:
            continue
        if inventory is not None and inventory.exclusion(resource):
            continue
        store = stores.get(resource)
        if asset_type == SQL_TYPE:
            if store is not None:  # not in a listing read in full (a declared store nobody lists: completeness)
                findings.append(not_read(check, resource, "Cloud SQL instance", facts.stores, SQL_TYPE,
                                         store.project or project_in_name(resource)))
            continue
        if store is None and asset_type == BUCKET_TYPE:
            continue  # a declared bucket nobody lists: inventory-completeness reports it
        findings.append(_unverifiable(check, resource, asset_type, store, ctx, what))
    return findings


def sql_gaps(facts: Any, ctx: CheckContext, check: str, what: str) -> list[Finding]:
    """What a Cloud SQL control cannot conclude on: projects whose listing failed, projects whose asset
    index and Admin API populations disagree, and instances no listing read in full shows."""
    findings = list(unread_projects(facts, check, facts.sql_instances, what))
    stores = facts.sql_stores
    findings += list(population_findings(facts, check, stores))
    listed = {i.resource for i in instances(facts)}
    for resource, store in sorted(stores.found.items()):
        if store.asset_type != SQL_TYPE or resource in listed:
            continue
        if ctx.inventory is not None and ctx.inventory.exclusion(resource):
            continue
        findings.append(not_read(check, resource, "Cloud SQL instance", stores, SQL_TYPE,
                                 store.project or project_in_name(resource)))
    return findings


def not_read(check: str, resource: str, kind: str, stores: Any, asset_type: str, project: str | None) -> Finding:
    gap = stores.listing_gap(asset_type, project) if project else None
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


# --- enc2 (issue 13): instances gone before the read that only earlier configuration reads show ----------------

def deleted_seen(facts: Any) -> list[SqlInstance]:
    """Instances the newest listing (read in full) no longer shows, that no FINAL backup's snapshot shows either, but
    that earlier configuration reads do (daily lockers): the newest read of each, to be judged for the days they
    existed (`facts.history.lifetime` says until when). Needs `instance_observations`, `final_snapshots`, `history`."""
    known = {i.resource for i in instances(facts)} | {i.resource for i in deleted_instances(facts)}
    reads = (facts.instance_observations.at(project_scope(p)) for p in facts.projects
             if isinstance(facts.sql_instances.at(project_scope(p)), Known))
    return _newest_gone(facts, (s for read in reads if isinstance(read, Known) for s in read.items), known)


def vanished_note(facts: Any, instance: SqlInstance, ctx: CheckContext) -> str:
    """deletion_note's words for an instance known only from earlier reads (no FINAL backup read)."""
    life = facts.history.lifetime(instance.resource)
    if life.gone_by is None or life.gone_by >= ctx.as_of:
        return ""
    last = f"{instance.observed_at:%Y-%m-%d %H:%M} UTC" if instance.observed_at else "an earlier locker"
    if life.alive_until is not None and life.alive_until != life.gone_by:
        when = (f"it was last read at {last} and the listing of {life.gone_by:%Y-%m-%d %H:%M} UTC no longer shows it (the "
                "days between are unknown)")
    else:
        when = f"it was deleted on {life.gone_by:%Y-%m-%d %H:%M} UTC (the Admin Activity log), last read at {last}"
    return (f" It no longer exists: {when}; no FINAL backup of it was read, so its last configuration read stands for "
            "it; it is judged for the days it existed, and the days after are not applicable.")
