"""backup-cross-region: backups live in a separate region in the same country as the data.

Cloud SQL: both the configured `backupConfiguration.location` (unset means Cloud SQL's nearest
multi-region, which the finding says) and where every retained backup actually landed (automated
and on-demand runs, the Backups resource's ON_DEMAND and FINAL backups; for an ENHANCED-tier
instance, the Backup and DR vault and its backups) are judged; a configuration that says one thing while the runs say another is a
finding in itself. Declared backup buckets are compared with their source store's location.
"""

from __future__ import annotations

from typing import Any

from auditor.checks import days as daily
from auditor.unverified import incomplete_data
from auditor.checks.common import evaluate_scope, unverified
from auditor.checks.placement import judge
from auditor.checks_api import Check, CheckContext
from auditor.facts.discovery import Store
from auditor.facts.known import Known
from auditor.facts.model import SqlInstance
from auditor.facts.stores import Bucket
from auditor.locations import lookup, nearest_multi_region
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "backup-cross-region"


def _required(ctx: CheckContext, labels: dict[str, str], resource: str) -> tuple[str | None, bool]:
    name, policy = ctx.classification_of(labels, resource=resource)
    return name, True if policy is None else policy.cross_region


def instance_rule(instance: SqlInstance, facts: Any, ctx: CheckContext) -> Finding:
    name = instance.display
    classification, required = _required(ctx, instance.labels, instance.resource)
    accept = ctx.config.policy.accept_multi_region
    (setting,) = facts.protection.of(instance.resource).protections  # the protection model: configured target
    configured = setting.target_location
    effective = configured or nearest_multi_region(instance.region)
    backups = facts.backup_copies.of(instance.resource)
    runs = list(backups.items) if isinstance(backups, Known) else []
    landed = sorted({r.location for r in runs if r.location and r.state == "succeeded"})
    observed = {"region": instance.region, "configured_location": configured, "effective_configured_location": effective,
                "run_locations": landed, "retained_runs": len(runs) if isinstance(backups, Known) else None,
                "accept_multi_region": accept}
    expected = {"separate_region": True, "same_country": lookup(instance.region).single_country if lookup(instance.region) else None}
    evidence = list(instance.evidence) + [e for r in runs for e in r.evidence]

    day_details: dict[str, Any] = {}  # filled once the day states are judged (below)

    def finding(status: str, message: str) -> Finding:
        # where the primary and its backups live, for the pack's regions view
        placed = {"primary_location": instance.region, "backup_locations": sorted(set(landed) | ({effective} if effective else set()))}
        more = {"unverified": unverified(backups)} if status == INCONCLUSIVE and not isinstance(backups, Known) else {}
        return Finding(ID, instance.resource, "location", status, message, observed=observed, expected=expected,
                       details={"classification": classification, **placed, **more, **day_details}, evidence=evidence)

    if not required:
        return finding(NOT_APPLICABLE, f"{name}: its classification ({classification}) does not require cross-region backups.")
    if setting.enabled is False:
        return finding(FAIL, f"{name}: automated backups are disabled, so no backup is kept in a separate region.")
    if instance.backup_tier == "ENHANCED":
        return _backupdr_rule(instance, facts.backupdr.of(instance.resource), backups, finding, observed, evidence, accept)
    source = lookup(instance.region)
    unset_note = "" if configured else (f" No backup location is configured, so Cloud SQL uses the nearest multi-region "
                                        f"({(effective or 'unknown').upper()}).")
    problems, notes = [], []
    config_verdict = judge(source, instance.region, lookup(effective), effective, accept)
    (notes if config_verdict.ok else problems).append(f"configured: {config_verdict.reason}")
    for location in landed:
        verdict = judge(source, instance.region, lookup(location), location, accept)
        (notes if verdict.ok else problems).append(f"retained backups: {verdict.reason}")
    contradicting = [loc for loc in landed if loc != effective]
    if contradicting:
        problems.append(f"the configuration says {effective or 'nothing'} but retained backups landed in "
                        f"{', '.join(contradicting)}")
    head = f"{name} (primary in {instance.region}):"
    states = _day_states(instance, source, accept, runs, facts, ctx) if configured else {}
    broken, unknown = daily.exception_days(states)
    if states:
        isos = ctx.period.day_isos
        day_details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                           unknown_days=[isos[d] for d in unknown])
    if broken:
        return finding(FAIL, f"{head} backups were configured for, or landed in, a location that fails the policy on "
                             f"{len(broken)} days: {daily.day_ranges(broken)}"
                             + (f" ({'; '.join(problems)})" if problems else f"; as of the last read {config_verdict.reason}")
                             + "." + (f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): "
                                      f"{daily.why_unknown(facts.history, instance.resource, ctx.period, ctx.as_of)}." if unknown else "")
                             + unset_note)
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + "." + unset_note)
    if unknown:
        # what could not be verified, without page ids (they differ between runs of the same facts)
        day_details["unverified"] = [incomplete_data(
            f"{len(unknown)} days ({daily.day_ranges(unknown)}): {daily.why_unknown(facts.history, instance.resource, ctx.period, ctx.as_of)}")]
        return finding(INCONCLUSIVE, f"{head} the backup location could not be established on {len(unknown)} days "
                                     f"({daily.day_ranges(unknown)}): "
                                     f"{daily.why_unknown(facts.history, instance.resource, ctx.period, ctx.as_of)}." + unset_note)
    if not isinstance(backups, Known):
        return finding(INCONCLUSIVE, f"{head} the configuration passes ({config_verdict.reason}), but the retained backups "
                                     f"could not be listed ({backups.describe()}), so where backups actually landed "
                                     "is unknown." + unset_note)
    if not landed:
        return finding(INCONCLUSIVE, f"{head} the configuration passes ({config_verdict.reason}), but no retained backup "
                                     "shows where backups actually landed." + unset_note)
    kinds = ", ".join(sorted({r.kind for r in runs}))
    return finding(PASS, f"{head} {config_verdict.reason}; all {len(runs)} retained backups ({kinds}) landed in "
                         f"{', '.join(landed)}." + unset_note)


def _day_states(instance: SqlInstance, source: Any, accept: bool, runs: list[Any], facts: Any, ctx: CheckContext) -> dict:
    """Each day: was the configured backup location acceptable throughout (its timeline: auditor.facts.history),
    and did each retained backup of that day land in an acceptable place?"""
    def fails(location: Any) -> bool:
        return not judge(source, instance.region, lookup(location), location, accept).ok

    configured = facts.history.day_states(instance.resource, "backup_location", ctx.period, ctx.as_of, weak=fails)
    landed: dict = {}
    for run, day in zip(runs, ctx.period.days_of([r.time for r in runs])):
        if run.state == "succeeded" and run.location and day in configured:
            landed[day] = "broken" if fails(run.location) or landed.get(day) == "broken" else "kept"
    return daily.combine([configured, landed])


def _backupdr_rule(instance: SqlInstance, detail, backups, finding, observed: dict, evidence: list, accept: bool) -> Finding:
    """ENHANCED: the backups live in the Backup and DR vault; its location (from its name) and each backup's are judged."""
    copies = list(backups.items) if isinstance(backups, Known) else []
    evidence += [e for e in detail.evidence if e not in evidence]
    landed = sorted({c.location for c in copies if c.location and c.state == "succeeded"} | {v.location for v in detail.vaults})
    observed.update({"backupdr_vaults": [v.name for v in detail.vaults], "run_locations": landed, "retained_backups": len(copies)})
    if not detail.associations and not detail.missing:
        return finding(FAIL, f"{instance.display}: its backups are managed by Backup and DR (backupTier ENHANCED), but no "
                             "backup plan association names it, so no backup is kept anywhere.")
    source = lookup(instance.region)
    problems, notes = [], []
    for location in landed:
        verdict = judge(source, instance.region, lookup(location), location, accept)
        (notes if verdict.ok else problems).append(f"Backup and DR vault and backups: {verdict.reason}")
    head = f"{instance.display} (primary in {instance.region}, backups in Backup and DR):"
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + ".")
    if not isinstance(backups, Known) or not landed:
        why = backups.describe() if not isinstance(backups, Known) else "no vault or backup was read"
        return finding(INCONCLUSIVE, f"{head} where its backups are kept could not be verified: {why}.")
    return finding(PASS, f"{head} " + "; ".join(notes) + f" ({len(copies)} backups in {', '.join(v.name for v in detail.vaults)}).")


def bucket_rule(bucket: Bucket, source: str, store: Store | None, instance: SqlInstance | None, facts: Any,
                ctx: CheckContext) -> Finding:
    labels = store.labels if store else {}
    classification, required = _required(ctx, labels, source)
    source_location = instance.region if instance else (store.location if store else None)
    target = lookup(bucket.location, bucket.data_locations or None)
    observed = {"bucket_location": bucket.location, "location_type": bucket.location_type,
                "data_locations": list(bucket.data_locations), "source": source, "source_location": source_location}
    rule = f"backup-of:{source.rsplit('/', 1)[-1]}"
    evidence = list(bucket.evidence) + (list(store.evidence) if store else [])
    if not required:
        return Finding(ID, bucket.resource, rule, NOT_APPLICABLE, f"Bucket {bucket.name} backs up {source}, whose classification "
                       f"({classification}) does not require cross-region backups.", observed=observed, evidence=evidence)
    if source_location is None:
        return Finding(ID, bucket.resource, rule, INCONCLUSIVE, f"Bucket {bucket.name} holds backups of {source}, but the "
                       "source's location could not be read, so the two cannot be compared.", observed=observed, evidence=evidence)
    verdict = judge(lookup(source_location), source_location, target, bucket.location, ctx.config.policy.accept_multi_region)
    return Finding(ID, bucket.resource, rule, PASS if verdict.ok else FAIL,
                   f"Bucket {bucket.name} holds backups of {source.rsplit('/', 1)[-1]} (in {source_location}): {verdict.reason}.",
                   observed=observed, expected={"separate_region": True},
                   details={"classification": classification, "primary_location": source_location,
                            "backup_locations": [bucket.location] if bucket.location else []},
                   evidence=evidence)


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    return evaluate_scope(facts, ctx, ID, "the backup location", "location", instance_rule, bucket_rule, deleted=True)


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Backups are kept in a separate region in the same country",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each Cloud SQL primary, judges the configured backupConfiguration.location (instances.list) and the location "
                "of every retained backup run (backupRuns.list) against the instance's region, using the packaged table of "
                "regions, dual-regions and multi-regions and their countries; for each declared backup bucket (buckets.list) "
                "compares its location with its source's. Stores of other types are listed as not yet verifiable.",
    needs=("sql_instances", "buckets", "protection", "backup_copies", "backupdr", "stores", "history", "final_snapshots",
           "config_changes"),
    evaluate=evaluate,
)
