"""backup-cross-region: backups live in a separate region in the same country as the data.

Cloud SQL: both the configured `backupConfiguration.location` (unset means Cloud SQL's nearest
multi-region, which the finding says) and where the retained runs actually landed (`location` of
each backup run) are judged; a configuration that says one thing while the runs say another is a
finding in itself. Declared backup buckets are compared with their source store's location.
"""

from __future__ import annotations

from auditor.checks import protection
from auditor.checks.backup_scope import evaluate_scope, sql_runs
from auditor.checks.placement import judge
from auditor.checks.stores import Store
from auditor.checks_api import Check, CheckContext
from auditor.facts.model import Facts, SqlInstance
from auditor.facts.stores import Bucket
from auditor.locations import lookup, nearest_multi_region
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "backup-cross-region"


def _required(ctx: CheckContext, labels: dict[str, str], resource: str) -> tuple[str | None, bool]:
    name, policy = ctx.classification_of(labels, resource=resource)
    return name, True if policy is None else policy.cross_region


def instance_rule(instance: SqlInstance, facts: Facts, ctx: CheckContext) -> Finding:
    name = instance.display
    classification, required = _required(ctx, instance.labels, instance.resource)
    accept = ctx.config.policy.accept_multi_region
    configured = instance.backup_location
    effective = configured or nearest_multi_region(instance.region)
    runs = sql_runs(facts, instance)
    kept = protection.retained(facts, instance)  # every retained backup, on-demand and final ones too
    landed = sorted({r.location for r in runs if r.location and r.outcome == "succeeded"} | {b.location for b in kept if b.location})
    observed = {"region": instance.region, "configured_location": configured, "effective_configured_location": effective,
                "run_locations": landed, "retained_runs": len(runs), "retained_backups": len(kept), "accept_multi_region": accept}
    expected = {"separate_region": True, "same_country": lookup(instance.region).single_country if lookup(instance.region) else None}
    evidence = list(instance.evidence) + [e for r in runs for e in r.evidence] + [e for b in kept for e in b.evidence]

    def finding(status: str, message: str) -> Finding:
        # where the primary and its backups live, for the pack's regions view
        placed = {"primary_location": instance.region, "backup_locations": sorted(set(landed) | ({effective} if effective else set()))}
        return Finding(ID, instance.resource, "location", status, message, observed=observed, expected=expected,
                       details={"classification": classification, **placed}, evidence=evidence)

    if not required:
        return finding(NOT_APPLICABLE, f"{name}: its classification ({classification}) does not require cross-region backups.")
    if instance.backup_enabled is False:
        return finding(FAIL, f"{name}: automated backups are disabled, so no backup is kept in a separate region.")
    if instance.backup_tier == "ENHANCED":
        return _backupdr_rule(instance, facts, ctx, finding, observed, evidence, accept)
    source = lookup(instance.region)
    unset_note = "" if configured else (f" No backup location is configured, so Cloud SQL uses the nearest multi-region "
                                        f"({(effective or 'unknown').upper()}).")
    problems, notes = [], []
    config_verdict = judge(source, instance.region, lookup(effective), effective, accept)
    (notes if config_verdict.ok else problems).append(f"configured: {config_verdict.reason}")
    for location in landed:
        verdict = judge(source, instance.region, lookup(location), location, accept)
        (notes if verdict.ok else problems).append(f"retained runs: {verdict.reason}")
    contradicting = [loc for loc in landed if loc != effective]
    if contradicting:
        problems.append(f"the configuration says {effective or 'nothing'} but retained backup runs landed in "
                        f"{', '.join(contradicting)}")
    head = f"{name} (primary in {instance.region}):"
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + "." + unset_note)
    if not landed:
        return finding(INCONCLUSIVE, f"{head} the configuration passes ({config_verdict.reason}), but no retained backup "
                                     "shows where backups actually landed." + unset_note)
    kinds = sorted({b.kind for b in kept} | ({"AUTOMATED"} if runs else set()))
    return finding(PASS, f"{head} {config_verdict.reason}; all {max(len(kept), len(runs))} retained backups "
                         f"({', '.join(k.lower().replace('_', '-') for k in kinds)}) landed in {', '.join(landed)}." + unset_note)


def _backupdr_rule(instance: SqlInstance, facts: Facts, ctx: CheckContext, finding, observed: dict, evidence: list, accept: bool) -> Finding:
    """ENHANCED: the backups live in the Backup and DR vault; its location (from its name) and each backup's are judged."""
    view = protection.backupdr(facts, instance)
    evidence += [e for e in view.evidence if e not in evidence]
    landed = sorted({b.location for b in view.backups if b.usable and b.location} | {v.location for v in view.vaults})
    observed.update({"backupdr_vaults": [v.name for v in view.vaults], "run_locations": landed, "retained_backups": len(view.backups)})
    if not view.associations and not view.missing:
        return finding(FAIL, protection.no_association(instance) + ", so no backup is kept anywhere.")
    source = lookup(instance.region)
    problems, notes = [], []
    for location in landed:
        verdict = judge(source, instance.region, lookup(location), location, accept)
        (notes if verdict.ok else problems).append(f"Backup and DR vault/backups: {verdict.reason}")
    head = f"{instance.display} (primary in {instance.region}, backups in Backup and DR):"
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + ".")
    if view.missing or not landed:
        result = finding(INCONCLUSIVE, f"{head} where its backups are kept could not be verified: "
                                       f"{view.reasons() or 'no vault or backup was read'}.")
        result.details["unverified"] = view.missing
        return result
    return finding(PASS, f"{head} " + "; ".join(notes) + f" ({len(view.backups)} backups in {', '.join(v.name for v in view.vaults)}).")


def bucket_rule(bucket: Bucket, source: str, store: Store | None, instance: SqlInstance | None, facts: Facts,
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


def evaluate(facts: Facts, ctx: CheckContext) -> list[Finding]:
    return evaluate_scope(facts, ctx, ID, "the backup location", "location", instance_rule, bucket_rule)


CHECK = Check(
    id=ID,
    title="Backups are kept in a separate region in the same country",
    criteria=("CC9.1", "A1.2"),
    policy_clause="An automated process will back up all data to a separate region in the same country (e.g. US East to US West).",
    description="For each Cloud SQL primary, judges the configured backupConfiguration.location (instances.list) and the location "
                "of every retained backup of every kind (backupRuns.list, Backups.list; for ENHANCED-tier instances the Backup and DR "
                "vault and backups) against the instance's region, using the packaged table of "
                "regions, dual-regions and multi-regions and their countries; for each declared backup bucket (buckets.list) "
                "compares its location with its source's. Stores of other types are listed as not yet verifiable.",
    needs=("sql_instances", "backup_attempts", "stores", "coverage", "sql_backups", "backupdr"),
    evaluate=evaluate,
)
