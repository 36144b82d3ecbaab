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
classification is unknown.

The classification is the one in force each day (checks.cross_region_days, checks.class_days): each day is
judged under the class(es) it held, a day of unknown class is unknown with the reason, and the message and
`details.classifications` say the classes when they changed. `policy.country`, when set, is a further rule
(checks.placement): each day's backups must lie in that country; a location whose country the table does not
give is unknown for it, never kept.
"""

from __future__ import annotations

import functools

from typing import Any

from auditor.checks import days as daily
from auditor.unverified import incomplete_data
from auditor.checks.common import evaluate_scope, unverified
from auditor.checks.cross_region_days import DayThresholds, thresholds_each_day
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


def _absent_days(segments: list) -> list:
    return [day for days, value, _ in segments if value[0] is None for day in days]


def instance_rule(instance: SqlInstance, facts: Any, ctx: CheckContext) -> Finding:
    name = instance.display
    classification, required = _required(ctx, instance.labels, instance.resource)
    accept, country = ctx.config.policy.accept_multi_region, ctx.config.policy.country
    # thr, xr3: the thresholds of each day's stored configuration, for the class held that day; one configuration
    # and one class over the period are judged as before
    plan = thresholds_each_day(facts, ctx, instance.resource, instance.labels)
    segments = plan.segments
    varied = plan.varied
    note = plan.note
    (setting,) = facts.protection.of(instance.resource).protections  # the protection model: configured target
    configured = setting.target_location
    effective = configured or nearest_multi_region(instance.region)
    backups = facts.backup_copies.of(instance.resource)
    runs = list(backups.items) if isinstance(backups, Known) else []
    landed = sorted({r.location for r in runs if r.location and r.state == "succeeded"})
    observed = {"region": instance.region, "configured_location": configured, "effective_configured_location": effective,
                "run_locations": landed, "retained_runs": len(runs) if isinstance(backups, Known) else None,
                "accept_multi_region": accept}
    expected = {"separate_region": True, "same_country": lookup(instance.region).single_country if lookup(instance.region) else None,
                **({"country": country} if country else {})}
    evidence = list(instance.evidence) + [e for r in runs for e in r.evidence]

    day_details: dict[str, Any] = plan.details()  # and the day states (below)

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
                                       plan, ctx)
        return _backupdr_rule(instance, facts.backupdr.of(instance.resource), backups, finding, observed, evidence, accept,
                              country)
    source = lookup(instance.region)
    unset_note = "" if configured else (f" No backup location is configured, so Cloud SQL uses the nearest multi-region "
                                        f"({(effective or 'unknown').upper()}).")
    problems, notes, doubts = [], [], []  # doubts: what policy.country cannot be established for (never kept)
    config_verdict = judge(source, instance.region, lookup(effective), effective, accept, country)
    (notes if config_verdict.ok else problems if config_verdict.known else doubts).append(f"configured: {config_verdict.reason}")
    for location in landed:
        verdict = judge(source, instance.region, lookup(location), location, accept, country)
        (notes if verdict.ok else problems if verdict.known else doubts).append(f"retained backups: {verdict.reason}")
    contradicting = [loc for loc in landed if loc != effective]
    if contradicting:
        problems.append(f"the configuration says {effective or 'nothing'} but retained backups landed in "
                        f"{', '.join(contradicting)}")
    if not required:  # the newest configuration asks for no separate region: the last read breaks nothing now
        problems, doubts = [], []
    head = f"{name} (primary in {instance.region}):"
    if varied and configured:
        states_for = (lambda value: _states_in_force(value, instance, source, runs, facts, ctx))
        if plan.classes is not None:  # each day under each class it held (class_days.judge)
            states, _ = daily.by_config(ctx, plan.resolve, states_for, plan.classes)
        else:
            states, _ = daily.by_config(ctx, plan.resolve, states_for)
    elif varied:  # no configured location (Cloud SQL's default multi-region): each stretch's landed backups
        plan.settle(lambda days, value: not _segment_problems([(days, value, None)], instance.region, source,
                                                              lambda held: _landed_on(runs, held, ctx)))
        segments = plan.segments
        problems += _segment_problems(segments, instance.region, source, lambda days: _landed_on(runs, days, ctx))
        states = {day: "unknown" for day in _absent_days(segments)}
        # an unset location leaves no value in the history (None is also "unknown" there): a stretch whose thresholds
        # refuse the default multi-region as read cannot be shown to have had it, nor another location: unknown
        refused = [day for days, value, _ in segments if value[0]
                   and not _verdict(source, instance.region, effective, value).ok for day in days]
        states.update({day: "unknown" for day in refused})
    else:
        states = _day_states(instance, source, (None, accept, country), runs, facts, ctx) if configured else {}
    broken, unknown = daily.exception_days(states)
    by_class = [day for day in unknown if day in plan.reasons]  # no requirement value: the class or configuration
    others = [day for day in unknown if day not in plan.reasons]
    if unknown and not others:  # a dropped or unknown classification, not the history, leaves them unknown
        why = plan.why(unknown)
    elif varied and not configured and unknown:
        why = (f"no backup location is configured as read, and the thresholds in force on those days refuse Cloud SQL's "
               f"default ({(effective or 'unknown').upper()}), but an unset location leaves no value in the history, so "
               "where backups were configured to go then is unknown"
               + (f"; and on {daily.day_ranges(by_class)}, {plan.why(by_class)}" if by_class else ""))
    else:
        why = daily.why_unknown(facts.history, instance.resource, ctx.period, ctx.as_of) if unknown else ""
        why += f"; and on {daily.day_ranges(by_class)}, {plan.why(by_class)}" if by_class else ""
    verb = "judged" if unknown and not others else "established"
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
    if doubts:
        day_details["unverified"] = [incomplete_data("; ".join(doubts))]
        return finding(INCONCLUSIVE, f"{head} " + "; ".join(doubts) + "." + unset_note)
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


def _verdict(source: Any, region: str | None, location: Any, value: tuple) -> Any:
    """A location judged against one day's (cross_region, accept_multi_region, country) (checks.placement)."""
    return _judged(source, region, location, value[1], value[2])


@functools.lru_cache(maxsize=4096)
def _judged(source: Any, region: str | None, location: Any, accept_multi_region: bool, country: str | None) -> Any:
    """checks.placement.judge, once per distinct question: a timeline asks it of each of its events (a pure function
    of these arguments; thousands of instances share a handful of regions)."""
    return judge(source, region, lookup(location), location, accept_multi_region, country)


def _day_states(instance: SqlInstance, source: Any, value: tuple, runs: list[Any], facts: Any, ctx: CheckContext) -> dict:
    """Each day: was the configured backup location acceptable throughout (its timeline: auditor.facts.history),
    and did each retained backup of that day land in an acceptable place? A location whose country policy.country
    cannot be established for (Verdict.known false) leaves its days unknown, never kept."""
    def fails(location: Any) -> bool:
        verdict = _verdict(source, instance.region, location, value)
        return not verdict.ok and verdict.known

    def uncertain(location: Any) -> bool:
        return not _verdict(source, instance.region, location, value).known

    configured = facts.history.day_states(instance.resource, "backup_location", ctx.period, ctx.as_of, weak=fails)
    doubtful = facts.history.day_states(instance.resource, "backup_location", ctx.period, ctx.as_of, weak=uncertain)
    configured = daily.combine([configured, {d: "unknown" for d, s in doubtful.items() if s == "broken"}])
    landed: dict = {}
    for run, day in zip(runs, ctx.period.days_of([r.time for r in runs])):
        if run.state == "succeeded" and run.location and day in configured:
            state = "broken" if fails(run.location) else "unknown" if uncertain(run.location) else "kept"
            landed[day] = daily.combine([{day: landed[day]}, {day: state}])[day] if day in landed else state
    return daily.combine([configured, landed])


_OUTSIDE = ("not_applicable", "not_due")


def _states_in_force(value: tuple[bool | None, bool], instance: SqlInstance, source: Any, runs: list[Any], facts: Any,
                     ctx: CheckContext) -> dict:
    """The days judged against one configuration's (cross_region, accept_multi_region). Not required: a day whose
    placement is known is kept whatever it was; absent (None): every day it existed is unknown."""
    base = _day_states(instance, source, value, runs, facts, ctx)
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
            verdict = _verdict(source, region, location, value)
            if not verdict.ok:
                out.append(f"the backups of {daily.day_ranges(held)} (under the thresholds in force "
                           f"{daily.day_ranges(days)}): {verdict.reason}")
    return list(dict.fromkeys(out))


def _backupdr_by_config(instance: SqlInstance, detail, backups, finding, observed: dict, evidence: list,
                        plan: DayThresholds, ctx: CheckContext) -> Finding:
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
    def held(days: list) -> dict:
        return {**{v: days for v in sorted(vaults)}, **_landed_on(copies, days, ctx)}

    plan.settle(lambda days, value: not _segment_problems([(days, value, None)], instance.region, lookup(instance.region), held))
    segments = plan.segments
    problems = _segment_problems(segments, instance.region, lookup(instance.region), held)
    absent = _absent_days(segments)
    head = f"{instance.display} (primary in {instance.region}, backups in Backup and DR):"
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + ".")
    if absent:
        return finding(INCONCLUSIVE, f"{head} no requirement could be named on {daily.day_ranges(absent)}: "
                                     f"{plan.why(absent)}.")
    if not isinstance(backups, Known) or not landed:
        why = backups.describe() if not isinstance(backups, Known) else "no vault or backup was read"
        return finding(INCONCLUSIVE, f"{head} where its backups are kept could not be verified: {why}.")
    return finding(PASS, f"{head} the vault and backups in {', '.join(landed)} meet the thresholds in force on each stretch "
                         f"of days ({len(copies)} backups in {', '.join(v.name for v in detail.vaults)}).")


def _backupdr_rule(instance: SqlInstance, detail, backups, finding, observed: dict, evidence: list, accept: bool,
                   country: str | None = None) -> Finding:
    """ENHANCED: the backups live in the Backup and DR vault; its location (from its name) and each backup's are judged."""
    copies = list(backups.items) if isinstance(backups, Known) else []
    evidence += [e for e in detail.evidence if e not in evidence]
    landed = sorted({c.location for c in copies if c.location and c.state == "succeeded"} | {v.location for v in detail.vaults})
    observed.update({"backupdr_vaults": [v.name for v in detail.vaults], "run_locations": landed, "retained_backups": len(copies)})
    if not detail.associations and not detail.missing:
        return finding(FAIL, f"{instance.display}: its backups are managed by Backup and DR (backupTier ENHANCED), but no "
                             "backup plan association names it, so no backup is kept anywhere.")
    source = lookup(instance.region)
    problems, notes, doubts = [], [], []  # doubts: where policy.country cannot be established (never kept)
    for location in landed:
        verdict = judge(source, instance.region, lookup(location), location, accept, country)
        (notes if verdict.ok else problems if verdict.known else doubts).append(f"Backup and DR vault and backups: {verdict.reason}")
    head = f"{instance.display} (primary in {instance.region}, backups in Backup and DR):"
    if problems:
        return finding(FAIL, f"{head} " + "; ".join(problems) + ".")
    if doubts:
        return finding(INCONCLUSIVE, f"{head} " + "; ".join(doubts) + ".")
    if not isinstance(backups, Known) or not landed:
        why = backups.describe() if not isinstance(backups, Known) else "no vault or backup was read"
        return finding(INCONCLUSIVE, f"{head} where its backups are kept could not be verified: {why}.")
    return finding(PASS, f"{head} " + "; ".join(notes) + f" ({len(copies)} backups in {', '.join(v.name for v in detail.vaults)}).")


def bucket_rule(bucket: Bucket, source: str, store: Store | None, instance: SqlInstance | None, facts: Any,
                ctx: CheckContext) -> Finding:
    labels = store.labels if store else {}
    classification, required = _required(ctx, labels, source)
    plan = thresholds_each_day(facts, ctx, source, labels)  # xr3: the source's class and thresholds each day
    country = ctx.config.policy.country
    source_location = instance.region if instance else (store.location if store else None)
    target = lookup(bucket.location, bucket.data_locations or None)
    observed = {"bucket_location": bucket.location, "location_type": bucket.location_type,
                "data_locations": list(bucket.data_locations), "source": source, "source_location": source_location}
    rule = f"backup-of:{source.rsplit('/', 1)[-1]}"
    evidence = list(bucket.evidence) + (list(store.evidence) if store else [])
    segments = plan.segments
    varied = plan.varied and any(value[0] is not False for _, value, _ in segments)
    if not required and not varied:
        return Finding(ID, bucket.resource, rule, NOT_APPLICABLE, f"Bucket {bucket.name} backs up {source}, whose classification "
                       f"({classification}) does not require cross-region backups.", observed=observed, evidence=evidence)
    if source_location is None:
        return Finding(ID, bucket.resource, rule, INCONCLUSIVE, f"Bucket {bucket.name} holds backups of {source}, but the "
                       "source's location could not be read, so the two cannot be compared.", observed=observed, evidence=evidence)
    verdict = judge(lookup(source_location), source_location, target, bucket.location, ctx.config.policy.accept_multi_region,
                    country)
    message = f"Bucket {bucket.name} holds backups of {source.rsplit('/', 1)[-1]} (in {source_location}): {verdict.reason}."
    details = {"classification": classification, "primary_location": source_location,
               "backup_locations": [bucket.location] if bucket.location else [], **plan.details()}
    status = PASS if verdict.ok else FAIL if verdict.known else INCONCLUSIVE
    if status == INCONCLUSIVE:
        details["unverified"] = [incomplete_data(verdict.reason)]
    if plan.varied:  # thr, xr3: each day against the thresholds of its own configuration and class
        status, words = _bucket_days(bucket, source_location, target, plan, details, ctx)
        message += words
    elif plan.note:
        message += f" {plan.note}"
    return Finding(ID, bucket.resource, rule, status, message, observed=observed,
                   expected={"separate_region": True, **({"country": country} if country else {})},
                   details=details, evidence=evidence)


def _bucket_days(bucket: Bucket, source_location: str, target: Any, plan: DayThresholds, details: dict,
                 ctx: CheckContext) -> tuple[str, str]:
    """A bucket's location never changes once it is created, so each day from its creation is judged against the
    thresholds of that day's configuration and class: (status, the words added to the message); `details` gets the
    days. A day whose classes ask different things is kept only when the bucket passes the stricter (plan.settle)."""
    created = ctx.period.day_of(bucket.create_time) if bucket.create_time else None
    last_due = ctx.period.day_of(ctx.as_of)

    def verdict(value: tuple) -> Any:
        return judge(lookup(source_location), source_location, target, bucket.location, value[1], value[2])

    plan.settle(lambda days, value: verdict(value).ok)
    states, doubts = {}, []  # doubts: why policy.country cannot be established for the bucket's location
    for days, value, _ in plan.segments:
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
                found = verdict(value)
                states[day] = "kept" if found.ok else "broken" if found.known else "unknown"
                doubts += [] if found.known or found.reason in doubts else [found.reason]
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    note, thresholds = plan.note, plan.thresholds
    details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                   unknown_days=[isos[d] for d in unknown], thresholds=thresholds)
    words = ""
    if broken:
        words += f" Against the thresholds in force each day, that fails on {len(broken)} days: {daily.day_ranges(broken)}."
    if unknown:
        named = [day for day in unknown if day in plan.reasons]
        why = "; ".join(w for w in ["the bucket's creation time was not read" if created is None else "",
                                    f"on {daily.day_ranges(named)}, {plan.why(named)}" if named else "", *doubts] if w)
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
                "compares its location with its source's. Each day is judged under the classification in force that day (data "
                "map, label history) and that day's configuration; with policy.country set, backups must also lie in that "
                "country. Stores of other types are listed as not yet verifiable.",
    needs=("sql_instances", "buckets", "protection", "backup_copies", "backupdr", "stores", "history", "final_snapshots",
           "config_changes", "inventory_days"),
    evaluate=evaluate,
)
