"""backup-cross-region: backups live in a separate region in the same country as the data.

Cloud SQL: both the configured `backupConfiguration.location` (unset means Cloud SQL's nearest
multi-region, which the finding says) and where every retained backup actually landed (automated
and on-demand runs, the Backups resource's ON_DEMAND and FINAL backups; for an ENHANCED-tier
instance, the Backup and DR vault and its backups) are judged; a configuration that says one thing while the runs say another is a
finding in itself. Declared backup buckets are compared with their source store's location.

The thresholds (the classification's `cross_region`, `policy.accept_multi_region`) are those of the
configuration in force each day (checks.days.by_config). With one configuration over the period the
finding is as it always was; when they changed, a configured location's days are each judged against
their own day's values (a day that required no separate region is kept where its placement is known),
a bucket's days likewise from its creation (its location never changes), and a route judged by
stretch (Backup and DR, Cloud SQL's default multi-region) by where each stretch's backups landed;
the change is named (key, values, first day, locker), and a day whose configuration lacks the data's
classification is unknown. `policy.country` is not read: the source's own country is the one required.
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


def _thresholds(classification: str | None, ctx: CheckContext):
    """config -> (cross_region required, accept_multi_region) that configuration sets for the data; required is None
    when it lacks a classification some stored configuration names (those days are unknown). Unclassified data, or a
    classification no configuration names, must be kept cross-region, as before days had their own configuration."""
    configs = [ctx.config, *(c for _, _, c in getattr(ctx, "configs", ()) or ())]
    named = classification is not None and any(classification in c.policy.classifications for c in configs)

    def resolve(config: Any) -> tuple[bool | None, bool]:
        accept = config.policy.accept_multi_region
        if not named:
            return (True, accept)
        policy = config.policy.classifications.get(classification)
        return (None if policy is None else policy.cross_region, accept)

    return resolve


def _named(changes: list, classification: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The sentences and `details.thresholds` entries of the thresholds that changed during the period."""
    return daily.thresholds_changed(
        changes, [(f"policy.classifications.{classification}.cross_region", lambda v: str(v).lower(), bool),
                  ("policy.accept_multi_region", lambda v: str(v).lower(), bool)],
        missing=f"classification {classification!r} (policy.classifications.{classification})")


def _absent_days(segments: list) -> list:
    return [day for days, value, _ in segments if value[0] is None for day in days]


def instance_rule(instance: SqlInstance, facts: Any, ctx: CheckContext) -> Finding:
    name = instance.display
    classification, required = _required(ctx, instance.labels, instance.resource)
    accept = ctx.config.policy.accept_multi_region
    # thr: the thresholds of each day's stored configuration; one configuration over the period is judged as before
    resolve = _thresholds(classification, ctx)
    segments = daily.config_segments(ctx, resolve)
    varied = len({value for _, value, _ in segments}) > 1
    note, thresholds = _named([(days[0], value, locker) for days, value, locker in segments], classification) if varied else ("", [])
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

    day_details: dict[str, Any] = {"thresholds": thresholds} if thresholds else {}  # and the day states (below)

    def finding(status: str, message: str) -> Finding:
        # where the primary and its backups live, for the pack's regions view
        placed = {"primary_location": instance.region, "backup_locations": sorted(set(landed) | ({effective} if effective else set()))}
        more = {"unverified": unverified(backups)} if status == INCONCLUSIVE and not isinstance(backups, Known) else {}
        return Finding(ID, instance.resource, "location", status, message + (f" {note}" if note else ""), observed=observed,
                       expected=expected, details={"classification": classification, **placed, **more, **day_details},
                       evidence=evidence)

    if not required and not (varied and any(value[0] is not False for _, value, _ in segments)):
        return finding(NOT_APPLICABLE, f"{name}: its classification ({classification}) does not require cross-region backups.")
    if setting.enabled is False and required:
        return finding(FAIL, f"{name}: automated backups are disabled, so no backup is kept in a separate region.")
    if instance.backup_tier == "ENHANCED":
        if varied:
            return _backupdr_by_config(instance, facts.backupdr.of(instance.resource), backups, finding, observed, evidence,
                                       segments, ctx)
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
    if not required:  # the newest configuration asks for no separate region: the last read breaks nothing now
        problems = []
    head = f"{name} (primary in {instance.region}):"
    if varied and configured:
        states, _ = daily.by_config(ctx, resolve, lambda value: _states_in_force(value, instance, source, runs, facts, ctx))
    elif varied:  # no configured location (Cloud SQL's default multi-region): each stretch's landed backups
        problems += _segment_problems(segments, instance.region, source, lambda days: _landed_on(runs, days, ctx))
        states = {day: "unknown" for day in _absent_days(segments)}
        # an unset location leaves no value in the history (None is also "unknown" there): a stretch whose thresholds
        # refuse the default multi-region as read cannot be shown to have had it, nor another location: unknown
        refused = [day for days, value, _ in segments if value[0]
                   and not judge(source, instance.region, lookup(effective), effective, value[1]).ok for day in days]
        states.update({day: "unknown" for day in refused})
    else:
        states = _day_states(instance, source, accept, runs, facts, ctx) if configured else {}
    broken, unknown = daily.exception_days(states)
    absent = set(_absent_days(segments))
    if unknown and absent and set(unknown) <= absent:  # a dropped classification, not the history, leaves them unknown
        why = (f"the configuration in force on them has no classification {classification!r} "
               f"(policy.classifications.{classification}), so no requirement applied")
    elif varied and not configured and unknown:
        why = (f"no backup location is configured as read, and the thresholds in force on those days refuse Cloud SQL's "
               f"default ({(effective or 'unknown').upper()}), but an unset location leaves no value in the history, so "
               "where backups were configured to go then is unknown"
               + (f"; and on {daily.day_ranges(sorted(absent))} the configuration has no classification {classification!r}"
                  if absent else ""))
    else:
        why = daily.why_unknown(facts.history, instance.resource, ctx.period, ctx.as_of) if unknown else ""
    verb = "judged" if unknown and absent and set(unknown) <= absent else "established"
    if states:
        isos = ctx.period.day_isos
        day_details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                           unknown_days=[isos[d] for d in unknown])
    if broken:
        return finding(FAIL, f"{head} backups were configured for, or landed in, a location that fails the policy on "
                             f"{len(broken)} days: {daily.day_ranges(broken)}"
                             + (f" ({'; '.join(problems)})" if problems else f"; as of the last read {config_verdict.reason}")
                             + "." + (f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): "
                                      f"{why}." if unknown else "")
                             + unset_note)
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + "." + unset_note)
    if unknown:
        # what could not be verified, without page ids (they differ between runs of the same facts)
        day_details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
        return finding(INCONCLUSIVE, f"{head} the backup location could not be {verb} on {len(unknown)} days "
                                     f"({daily.day_ranges(unknown)}): {why}." + unset_note)
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


_OUTSIDE = ("not_applicable", "not_due")


def _states_in_force(value: tuple[bool | None, bool], instance: SqlInstance, source: Any, runs: list[Any], facts: Any,
                     ctx: CheckContext) -> dict:
    """The days judged against one configuration's (cross_region, accept_multi_region). Not required: a day whose
    placement is known is kept whatever it was; absent (None): every day it existed is unknown."""
    base = _day_states(instance, source, value[1], runs, facts, ctx)
    if value[0] is None:
        return {day: state if state in _OUTSIDE else "unknown" for day, state in base.items()}
    if not value[0]:
        return {day: "kept" if state == "broken" else state for day, state in base.items()}
    return base


def _landed_on(runs: list[Any], days: list, ctx: CheckContext) -> dict[str, list]:
    """Where the succeeded backups of those days landed: location -> the days of its backups."""
    wanted, out = set(days), {}
    for run, day in zip(runs, ctx.period.days_of([r.time for r in runs])):
        if run.location and run.state == "succeeded" and day in wanted and day not in out.get(run.location, ()):
            out.setdefault(run.location, []).append(day)
    return {location: sorted(found) for location, found in sorted(out.items())}


def _segment_problems(segments: list, region: str | None, source: Any, locations_for: Any) -> list[str]:
    """Each stretch of days one configuration held, whose requirement its backups' locations fail (a route judged
    by stretch, not by day: where the backups of those days landed, against the thresholds in force then).
    `locations_for(days)`: location -> the days whose backups it holds."""
    out: list[str] = []
    for days, value, _ in segments:
        if not value[0]:  # not required, or absent (its days are unknown: _absent_days)
            continue
        for location, held in locations_for(days).items():
            verdict = judge(source, region, lookup(location), location, value[1])
            if not verdict.ok:
                out.append(f"the backups of {daily.day_ranges(held)} (under the thresholds in force "
                           f"{daily.day_ranges(days)}): {verdict.reason}")
    return list(dict.fromkeys(out))


def _backupdr_by_config(instance: SqlInstance, detail, backups, finding, observed: dict, evidence: list, segments: list,
                        ctx: CheckContext) -> Finding:
    """ENHANCED, with thresholds that changed during the period: the vault (its location never changes) and the
    Backup and DR backups of each stretch of days, against the thresholds in force on it."""
    copies = list(backups.items) if isinstance(backups, Known) else []
    evidence += [e for e in detail.evidence if e not in evidence]
    vaults = {v.location for v in detail.vaults}
    landed = sorted({c.location for c in copies if c.location and c.state == "succeeded"} | vaults)
    observed.update({"backupdr_vaults": [v.name for v in detail.vaults], "run_locations": landed, "retained_backups": len(copies)})
    if not detail.associations and not detail.missing:
        return finding(FAIL, f"{instance.display}: its backups are managed by Backup and DR (backupTier ENHANCED), but no "
                             "backup plan association names it, so no backup is kept anywhere.")
    # the vault keeps every backup of the stretch (its location never changes); each copy also says where it is
    problems = _segment_problems(segments, instance.region, lookup(instance.region),
                                 lambda days: {**{v: days for v in sorted(vaults)}, **_landed_on(copies, days, ctx)})
    absent = _absent_days(segments)
    head = f"{instance.display} (primary in {instance.region}, backups in Backup and DR):"
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + ".")
    if absent:
        return finding(INCONCLUSIVE, f"{head} the configuration in force on {daily.day_ranges(absent)} has no classification "
                                     "the data carries, so no requirement applied on those days.")
    if not isinstance(backups, Known) or not landed:
        why = backups.describe() if not isinstance(backups, Known) else "no vault or backup was read"
        return finding(INCONCLUSIVE, f"{head} where its backups are kept could not be verified: {why}.")
    return finding(PASS, f"{head} the vault and backups in {', '.join(landed)} meet the thresholds in force on each stretch "
                         f"of days ({len(copies)} backups in {', '.join(v.name for v in detail.vaults)}).")


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
    segments = daily.config_segments(ctx, _thresholds(classification, ctx))
    varied = len({value for _, value, _ in segments}) > 1 and any(value[0] is not False for _, value, _ in segments)
    if not required and not varied:
        return Finding(ID, bucket.resource, rule, NOT_APPLICABLE, f"Bucket {bucket.name} backs up {source}, whose classification "
                       f"({classification}) does not require cross-region backups.", observed=observed, evidence=evidence)
    if source_location is None:
        return Finding(ID, bucket.resource, rule, INCONCLUSIVE, f"Bucket {bucket.name} holds backups of {source}, but the "
                       "source's location could not be read, so the two cannot be compared.", observed=observed, evidence=evidence)
    verdict = judge(lookup(source_location), source_location, target, bucket.location, ctx.config.policy.accept_multi_region)
    message = f"Bucket {bucket.name} holds backups of {source.rsplit('/', 1)[-1]} (in {source_location}): {verdict.reason}."
    details = {"classification": classification, "primary_location": source_location,
               "backup_locations": [bucket.location] if bucket.location else []}
    status = PASS if verdict.ok else FAIL
    if len({value for _, value, _ in segments}) > 1:  # thr: each day against the thresholds of its own configuration
        status, words = _bucket_days(bucket, source_location, target, segments, classification, details, ctx)
        message += words
    return Finding(ID, bucket.resource, rule, status, message, observed=observed, expected={"separate_region": True},
                   details=details, evidence=evidence)


def _bucket_days(bucket: Bucket, source_location: str, target: Any, segments: list, classification: str | None,
                 details: dict, ctx: CheckContext) -> tuple[str, str]:
    """A bucket's location never changes once it is created, so each day from its creation is judged against the
    thresholds of that day's configuration: (status, the words added to the message); `details` gets the days."""
    created = ctx.period.day_of(bucket.create_time) if bucket.create_time else None
    last_due = ctx.period.day_of(ctx.as_of)
    states = {}
    for days, value, _ in segments:
        for day in days:
            if day > last_due:
                states[day] = "not_due"
            elif created is not None and day < created:
                states[day] = "not_applicable"
            elif value[0] is None or created is None:  # no requirement that day, or since when it existed is unknown
                states[day] = "unknown"
            elif not value[0]:
                states[day] = "kept"
            else:
                ok = judge(lookup(source_location), source_location, target, bucket.location, value[1]).ok
                states[day] = "kept" if ok else "broken"
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    note, thresholds = _named([(days[0], value, locker) for days, value, locker in segments], classification)
    details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                   unknown_days=[isos[d] for d in unknown], thresholds=thresholds)
    words = ""
    if broken:
        words += f" Against the thresholds in force each day, that fails on {len(broken)} days: {daily.day_ranges(broken)}."
    if unknown:
        why = ("the bucket's creation time was not read" if created is None else
               f"the configuration in force on them has no classification {classification!r}")
        words += f" {len(unknown)} days are unknown ({daily.day_ranges(unknown)}): {why}."
        details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
    status = FAIL if broken else INCONCLUSIVE if unknown else PASS if "kept" in states.values() else NOT_APPLICABLE
    return status, words + (f" {note}" if note else "")


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
