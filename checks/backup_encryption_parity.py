"""backup-encryption-parity: backups are encrypted like the live data, and can still be decrypted.

Cloud SQL backups are encrypted with the instance's own key (Google-managed, or the instance's
CMEK key), so a backup cannot be "weaker" than its instance; the real risks are:
  - the data's classification demands CMEK and the instance has none;
  - a key version behind the live data or a retained backup is DISABLED, DESTROY_SCHEDULED or
    DESTROYED: those backups cannot be restored (destroyed key material is gone for good);
  - the key is kept in another country than the data it protects;
  - a retained backup of a CMEK instance reports no key at all.
Judged day by day (issue 13) from the key versions' history (auditor.facts.kms_history): a day is an
exception when a version that was DISABLED, DESTROY_SCHEDULED or DESTROYED at some moment of it
protected the live data or a backup retained that day; unknown when a version's state, or what it
protected, cannot be established that day. The newest read is judged as before.
Every retained backup counts (on-demand and final ones too). Instances whose backups Backup and DR
manages (backupTier ENHANCED) are judged from their Backup and DR backups, which carry the key
versions of the vault's key.

The requirement in force each day (enc2): the classification's `encryption` is read from each day's
stored configuration (checks.days.by_config), so a day under `cmek` is an exception for Google-managed
live data (an instance's key is chosen at creation: the newest read says what it was all along) and,
for an ENHANCED instance, on each day a Backup and DR backup without a customer-managed key version
was retained; a day whose configuration does not define the classification is unknown. A change is
named in the message and in `details.thresholds`.

The classification in force each day (enc3): the requirement is that of the class the store held each day
(checks.class_days: the data map in force, the label's history), not the newest class: a day that held two
classes is judged under both, a day of unknown class is unknown with the reason, and a store with no
classification on any day keeps the rule of old. `expected.classification` stays the newest class.

Declared backup buckets (enc3): judged on parity with their source (a Google-managed bucket holding copies of
CMEK data) and, day by day, against the `encryption` the classes in force require: the source's (the bucket
holds that data's backups) and the bucket's own, the stricter; from the bucket's default key over time
(auditor.facts.bucket_history.key_timeline). The objects' own keys are not collected.

Deleted instances (enc2): an instance deleted before the read (its FINAL backup's snapshot:
checks.common.deleted_instances) is judged for the days it existed, with its key from the snapshot or,
where the snapshot omits it, the FINAL backup's kmsKey / kmsKeyVersion; the days after its deletion
are not applicable. Backups still listed after the deletion whose key version is unusable now are said
(they cannot be restored) but not counted: those days are not in this control's population. An
instance only the audit log shows deleted is inconclusive for its days (checks.common.deleted_unseen).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from auditor.checks import days as daily
from auditor.checks.class_days import ClassDays, DayClass, class_days
from auditor.checks.common import (backup_targets, deleted_instances, deleted_seen, deleted_unseen, deletion_note, instances,
                                   known_buckets, replica_finding, sql_gaps, vanished_note)
from auditor.checks_api import Check, CheckContext
from auditor.facts.bucket_history import GOOGLE_MANAGED, key_timeline
from auditor.facts.controls import UNUSABLE_KEY_STATES, key_location, key_of_version
from auditor.facts.known import Known, Unknown
from auditor.facts.model import SqlInstance
from auditor.facts.protection import BackupCopy, succeeded
from auditor.facts.timeline import contradiction_words
from auditor.locations import country_of, describe
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "backup-encryption-parity"
STATE_WORDS = {
    "DISABLED": "disabled (nothing it encrypts can be read until it is re-enabled)",
    "DESTROY_SCHEDULED": "scheduled for destruction (its backups become unrecoverable when the schedule runs out)",
    "DESTROYED": "destroyed (the key material is gone: its backups can never be restored)",
}


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings = sql_gaps(facts, ctx, ID, "backup encryption")
    for instance in instances(facts):
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "encryption"))
        else:
            findings.append(_instance_finding(instance, facts.backup_copies.of(instance.resource), facts, ctx,
                                              facts.backupdr.of(instance.resource)))
    for instance in deleted_instances(facts):  # judged for the days they existed (enc2)
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "encryption"))
            continue
        backups = facts.backup_copies.of(instance.resource)
        finding = _instance_finding(_as_deleted(instance, backups), backups, facts, ctx, facts.backupdr.of(instance.resource),
                                    deleted=True)
        finding.message += deletion_note(facts, instance, ctx) + _after_deletion(instance, backups, facts, ctx, finding)
        findings.append(finding)
    for instance in deleted_seen(facts):  # gone, no FINAL backup read: earlier lockers' reads show it (enc2)
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "encryption"))
            continue
        backups = facts.backup_copies.of(instance.resource)
        finding = _instance_finding(instance, backups, facts, ctx, facts.backupdr.of(instance.resource), deleted=True)
        finding.message += vanished_note(facts, instance, ctx) + _after_deletion(instance, backups, facts, ctx, finding)
        findings.append(finding)
    findings += deleted_unseen(facts, ID, ctx, "encryption")
    findings += _bucket_findings(facts, ctx)
    return findings


def _bucket_findings(facts: Any, ctx: CheckContext) -> list[Finding]:
    """A declared backup or export bucket must be encrypted at least as strongly as its source (a Google-managed
    bucket holding copies of CMEK data undoes the customer's control of the key), and as its data's classification
    requires each day (enc3: _bucket_finding)."""
    instances_by_name = {i.resource: i for i in instances(facts)}
    buckets = known_buckets(facts)
    findings = []
    for target, sources in sorted(backup_targets(ctx).items()):
        bucket = buckets.get(target)
        for source in sources:
            rule = f"backup-of:{source.rsplit('/', 1)[-1]}"
            instance = instances_by_name.get(source)
            if bucket is None or instance is None:
                missing = target if bucket is None else source
                findings.append(Finding(ID, target, rule, INCONCLUSIVE,
                                        f"{target.rsplit('/', 1)[-1]} (declared backup bucket of {source.rsplit('/', 1)[-1]}): "
                                        f"{missing} could not be read, so their encryption cannot be compared.",
                                        observed={"bucket_read": bucket is not None, "source_read": instance is not None}))
                continue
            findings.append(_bucket_finding(bucket, instance, rule, facts, ctx))
    return findings


def _key_reads(facts: Any, key: str) -> str | None:
    """Why a key's state could not be read, or None when both KMS calls were answered."""
    for collection in (facts.kms_keys, facts.kms_key_versions):
        read = collection.at(key)
        if isinstance(read, Unknown):
            return read.describe()
    return None


def _instance_finding(instance: SqlInstance, backups: Known[BackupCopy] | Unknown, facts: Any, ctx: CheckContext,
                      backupdr: Any = None, deleted: bool = False) -> Finding:
    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    wanted = policy.encryption if policy else "any"
    problems: list[str] = []
    unknowns: list[str] = []
    runs = succeeded(backups) if isinstance(backups, Known) else []
    observed: dict = {"kms_key": instance.kms_key, "kms_key_version": instance.kms_key_version, "region": instance.region,
                      "backup_tier": instance.backup_tier, "backups_read": isinstance(backups, Known),
                      "backups_checked": len(runs), "key_versions": {}}
    evidence = list(instance.evidence) + [e for r in runs for e in r.evidence]
    details: dict = {}
    counted = f"its {len(runs)} retained backups" if isinstance(backups, Known) else "its retained backups (not read)"

    enhanced = instance.backup_tier == "ENHANCED"
    if enhanced and backupdr is not None and not backupdr.associations and not backupdr.missing:
        problems.append("its backups are managed by Backup and DR (backupTier ENHANCED), but no backup plan association "
                        "names it, so there is no backup whose encryption could match the live data's")
    if isinstance(backups, Unknown):
        unknowns.append(f"its retained backups could not be listed ({backups.describe()}), so their encryption cannot "
                        "be compared with the live data's")
        details["unverified"] = _unverified(backups)
    if instance.kms_key is None:
        if policy is None:
            unknowns.append("its data has no classification (neither declared in the data map nor labelled), so whether "
                            "it requires customer-managed keys cannot be judged; it uses Google-managed keys")
        elif wanted == "cmek":
            problems.append(f"its data is classified {classification!r}, which requires customer-managed encryption keys "
                            f"(CMEK), but the instance and {counted} use Google-managed keys")
    else:
        _judge_key(instance, runs, facts, problems, unknowns, observed, evidence, deleted)
    if enhanced:  # Backup and DR encrypts with the vault's key, which must be customer-managed and in the data's country
        observed["vault_keys"] = sorted({key_of_version(r.key_version) for r in runs if r.key_version})
        unkeyed = [r for r in runs if not r.key_version]
        if wanted == "cmek" and unkeyed:
            problems.append(f"{len(unkeyed)} of its {len(runs)} Backup and DR backups report no customer-managed key version "
                            "(Google-managed encryption), although the data requires CMEK")
        data_countries = country_of(instance.region)
        for vault_key in observed["vault_keys"]:
            key_countries = country_of(key_location(vault_key) or "?")
            if key_countries is None or data_countries is None:
                unknowns.append(f"the country of key {vault_key} or of region {instance.region!r} is unknown")
            elif not key_countries <= data_countries:
                problems.append(f"its Backup and DR backups' key {vault_key} is kept in {describe(key_location(vault_key) or '?', key_countries)}, "
                                "another country than the data")

    nothing_to_compare = isinstance(backups, Known) and not runs
    key_states, why = None, {}
    if instance.kms_key and isinstance(backups, Known):
        key_states, why = facts.kms_history.instance_days(instance.resource, instance.kms_key, runs, ctx.period, ctx.as_of)
        cited = {use.version for uses in why.values() for use in uses}
        evidence.extend(sorted({item for name in cited for event in facts.kms_history.timeline(name).events
                                for item in event.evidence} - set(evidence)))
        keys = {instance.kms_key} | {key_of_version(r.key_version) for r in runs if r.key_version}
        details.update(_key_day_evidence(facts.kms_history, sorted(keys), ctx), day_evidence_joins=True)
    judged = _requirement_days(instance, classification, runs, isinstance(backups, Known), key_states, facts, ctx)
    states = judged.states
    broken, unknown_days = daily.exception_days(states)
    isos = ctx.period.day_isos
    details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                   unknown_days=[isos[d] for d in unknown_days])
    by_key = [d for d in broken if any(u.state == "broken" and u.protects for u in why.get(d, ()))]
    day_text, reasons = _day_words(facts.kms_history, why, by_key, unknown_days)
    required = [d for d in broken if d in judged.required]
    # the newest read's problem already says CMEK is required and not used: the days add something only when they differ
    said = instance.kms_key is None and wanted == "cmek" and not judged.words and \
        required == [d for d, s in states.items() if s in ("broken", "unknown", "kept")]
    if required and not said:
        day_text = "; ".join(t for t in (_required_words(instance, required, enhanced), day_text) if t)
    keyless = [d for d in broken if d in judged.keyless]
    if keyless:
        day_text = "; ".join(t for t in (f"backups reporting no encryption key although the live data uses CMEK were "
                                         f"retained on {len(keyless)} days, {daily.day_ranges(keyless)}", day_text) if t)
    reasons = sorted(set(reasons) | set(judged.reasons))
    if unknown_days and not reasons:
        reasons = ["no evidence establishes the key versions' state or what they protected those days"]
    if reasons:
        details["unknown_reasons"] = reasons
    if judged.thresholds:
        details["thresholds"] = judged.thresholds
    if judged.classifications:
        details["classifications"] = judged.classifications
    if problems:
        status, text = FAIL, "; ".join(problems)
        if day_text:
            text += ". Day by day: " + day_text
    elif broken:
        status, text = FAIL, day_text
    elif nothing_to_compare and instance.backup_enabled is False:
        status = NOT_APPLICABLE
        text = ("automated backups are disabled and no retained backup exists, so there is no backup whose encryption "
                "could be compared with the live data's (see backup-enabled, which fails for this instance)")
        details["not_applicable_reason"] = "backups disabled"
        details["see"] = "backup-enabled"
    elif unknowns:
        status, text = INCONCLUSIVE, "could not be verified: " + "; ".join(unknowns)
        if unknown_days:
            text += ". Day by day: " + day_text
    elif unknown_days:
        status, text = INCONCLUSIVE, day_text + ": " + "; ".join(details["unknown_reasons"])
    elif nothing_to_compare:
        status = INCONCLUSIVE
        live = (f"the live data uses CMEK key {instance.kms_key}" if instance.kms_key else
                "the live data uses Google-managed encryption")
        text = (f"{live}, but the backup listing was read and holds no successful retained backup, so there is nothing "
                "to compare it with")
    elif enhanced:
        status = PASS
        text = (f"its {len(runs)} Backup and DR backups are encrypted with {', '.join(observed['vault_keys']) or 'Google-managed keys'} "
                f"(key versions all ENABLED, in the data's country); the live data uses "
                f"{'CMEK key ' + instance.kms_key if instance.kms_key else 'Google-managed keys'}")
    elif instance.kms_key:
        status = PASS
        text = (f"the live data and its {len(runs)} retained backups are encrypted with CMEK key {instance.kms_key} "
                f"(key versions {', '.join(sorted(observed['key_versions'])) or 'none listed'}: "
                f"{'each ENABLED on the days it existed' if deleted else 'all ENABLED'}), kept in "
                f"{observed['key_location']}, the same country as the data")
    else:
        status = PASS
        text = (f"the live data and its {len(runs)} retained backups use Google-managed encryption, which the "
                f"{classification or 'default'} classification allows")
    return Finding(
        check=ID, resource=instance.resource, rule="encryption", status=status,
        message=f"{instance.display}: {text}." + (f" {judged.words}" if judged.words else ""), observed=observed,
        expected={"encryption": wanted, "classification": classification, "usable_key_states": ["ENABLED"],
                  "key_country": sorted(country_of(instance.region) or [])},
        details={"problems": problems, "could_not_verify": unknowns, **details}, evidence=evidence,
    )


def _day_words(history: Any, why: dict, broken: list, unknown: list) -> tuple[str, list[str]]:
    """The exception days and the unknown ones, in words (which key versions, in what state, protecting what),
    and why the unknown days are unknown (in the message only where they decide the status)."""
    parts = []
    if broken:
        versions: dict[str, list] = defaultdict(list)
        for day in broken:
            for use in why.get(day, ()):
                if use.state == "broken" and use.protects:
                    versions[use.version].append((day, use))
        said = []
        for name, seen in sorted(versions.items()):
            last = seen[-1][0]
            states = {e.value for e in history.timeline(name).events
                      if e.value in UNUSABLE_KEY_STATES and e.time.date() <= last} or {"unusable"}
            said.append(f"version {_short(name)} was {' then '.join(_ordered(states))} while it protected {_protected(seen)}")
        parts.append(f"a key version protecting its data was unusable on {len(broken)} days, {daily.day_ranges(broken)} "
                     f"({'; '.join(said)})")
    reasons: set[str] = set()
    if unknown:
        for day in unknown:
            for use in why.get(day, ()):
                if use.state == "unknown":
                    reasons.add(_why_state_unknown(history, use.version))
                elif not use.usage_known:
                    reasons.add(f"version {_short(use.version)} was unusable and no read of those days lists the backups "
                                "retained then, so whether one was encrypted by it is unknown")
        parts.append(f"{len(unknown)} days are unknown ({daily.day_ranges(unknown)})")
    return "; ".join(parts), sorted(reasons)


def _key_day_evidence(history: Any, keys: list[str], ctx: CheckContext) -> dict[str, dict[str, list[str]]]:
    """Each day's own key evidence, so a sampled day names it: the version reads of that day (their pages)
    and the keys' Admin Activity entries of that day (log:<insertId>, with their pages)."""
    moments = list(history.moments(keys))
    items: dict[str, set[str]] = defaultdict(set)
    entries: dict[str, set[str]] = defaultdict(set)
    for (_, key, pages), day in zip(moments, ctx.period.days_of([m[0] for m in moments])):
        if ctx.period.start <= day <= ctx.period.end:
            items[day.isoformat()].update(pages)
            if key:
                entries[day.isoformat()].add(key)
    return {"day_evidence": {d: sorted(v) for d, v in sorted(items.items())},
            "day_entries": {d: sorted(v) for d, v in sorted(entries.items())}}


def _short(version: str) -> str:
    """'3 of key ledger' for projects/P/locations/L/keyRings/R/cryptoKeys/ledger/cryptoKeyVersions/3."""
    return f"{version.rsplit('/', 1)[-1]} of key {key_of_version(version).rsplit('/', 1)[-1]}"


def _why_state_unknown(history: Any, version: str) -> str:
    """Why a version's state is unknown: its changes logged without their body, else nothing covering the days."""
    named = f"version {_short(version)}"
    contradicted = contradiction_words(history.timeline(version), f"the state of {named}")
    if contradicted:
        return contradicted
    unlogged = [c for c in history.changes(key_of_version(version)) if c.version == version and c.state is None]
    if unlogged:
        when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method})" for c in unlogged)
        return (f"the Admin Activity entries of {named} of {when} were logged without the request body, so the state "
                "they set is unknown until the next read of the version, and before the first of them no read says "
                "what the state was")
    return (f"the state of {named} is not established by any read of it, by its own timestamps or by a complete "
            "Admin Activity log query of its key")


def _ordered(states: list[str]) -> list[str]:
    order = {"DISABLED": 0, "DESTROY_SCHEDULED": 1, "DESTROYED": 2}
    return sorted(states, key=lambda s: order.get(s, 3))


def _protected(seen: list) -> str:
    live = any("the live data" in u.protects for _, u in seen)
    backups = max(sum(1 for p in u.protects if p != "the live data") for _, u in seen)
    what = (["the live data"] if live else []) + ([f"up to {backups} retained backups"] if backups else [])
    return " and ".join(what)


def _unverified(read: Unknown) -> list[dict]:
    from auditor.checks.common import unverified

    return unverified(read)


def _judge_key(instance: SqlInstance, runs: list[BackupCopy], facts: Any, problems: list[str], unknowns: list[str],
               observed: dict, evidence: list[str], deleted: bool = False) -> None:
    """The newest read of the key and its versions. For an instance deleted before it (`deleted`), a version's
    state now is not that of the days it existed (its days judge those, from the versions' history): an
    unusable version is then said of the backups still retained after the deletion (_after_deletion)."""
    key = instance.kms_key
    assert key is not None
    location = key_location(key) or "?"
    key_countries, data_countries = country_of(location), country_of(instance.region)
    observed["key_location"] = describe(location, key_countries)
    if key_countries is None or data_countries is None:
        unknowns.append(f"the country of key location {location!r} or of region {instance.region!r} is unknown")
    elif not key_countries <= data_countries:
        problems.append(f"its key {key} is kept in {describe(location, key_countries)}, another country than the data "
                        f"in {describe(instance.region or '?', data_countries)}")

    # Which key versions protect what: the live data, and each retained backup.
    uses: dict[str, list[str]] = defaultdict(list)
    if instance.kms_key_version:
        uses[instance.kms_key_version].append("the live data")
    else:
        unknowns.append("the live data's key version is not reported (no diskEncryptionStatus), so which version "
                        "protects it cannot be checked" + ("" if runs else ", and there is no retained backup to compare"))
    unreported = [r for r in runs if not r.key_version and not r.key]
    if unreported:
        problems.append(f"{len(unreported)} retained backups report no encryption key although the instance uses CMEK")
    for run in runs:
        if run.key_version:
            uses[run.key_version].append(run.time.strftime("%Y-%m-%d"))
    versions: dict = {}
    for key_name in sorted({key} | {key_of_version(v) for v in uses}):
        why = _key_reads(facts, key_name)
        if why:
            unknowns.append(f"the state of key {key_name} could not be read: {why}")
            continue
        listed = facts.kms_key_versions.at(key_name)
        versions.update({v.name: v for v in listed.items})
        evidence.extend(e for k in facts.kms_keys.at(key_name).items for e in k.evidence)
    for name, users in sorted(uses.items()):
        version = versions.get(name)
        if version is None:
            if not _key_reads(facts, key_of_version(name)):
                unknowns.append(f"key version {name} is not among the key's listed versions")
            continue
        evidence.extend(version.evidence)
        observed["key_versions"][name.rsplit("/", 1)[-1]] = version.state
        if version.state in UNUSABLE_KEY_STATES and deleted:
            continue
        if version.state in UNUSABLE_KEY_STATES:
            backups = [u for u in users if u != "the live data"]
            what = []
            if "the live data" in users:
                what.append("the live data")
            if backups:
                what.append(f"{len(backups)} retained backups (taken {backups[0]}..{backups[-1]})")
            problems.append(f"key version {name.rsplit('/', 1)[-1]} of {key_of_version(name)}, which encrypts "
                            f"{' and '.join(what)}, is {STATE_WORDS[version.state]}")
        elif version.state != "ENABLED":
            unknowns.append(f"key version {name} is in state {version.state!r}")


# --- the requirement in force each day; deleted instances (enc2) -----------------------------------------

UNCLASSIFIED = "unclassified"  # the data has no classification at all (not even a default): nothing to look up


@dataclass(frozen=True)
class _Judged:
    """An instance's day states against the `encryption` requirement in force each day, and their wording."""

    states: dict[date, str]
    required: frozenset[date]  # broken because CMEK was required that day and not used
    reasons: tuple[str, ...]  # why the days unknown for the requirement's sake are unknown
    thresholds: list[dict[str, Any]]  # details.thresholds (only when the requirement changed)
    words: str  # threshold_words' sentence, or ''
    keyless: frozenset[date] = frozenset()  # broken because a retained backup of CMEK data reported no key
    classifications: list[dict[str, Any]] = field(default_factory=list)  # ClassDays.details() when the class changed


def _encryption_in(config: Any, classification: str | None) -> str | None:
    """The classification's `encryption` in one stored configuration; None when that configuration lacks it."""
    if classification is None:
        return UNCLASSIFIED
    policy = config.policy.classifications.get(classification)
    return policy.encryption if policy else None


def _render(value: Any) -> str:
    return "not defined (the classification is missing from that configuration)" if value is None else str(value)


def _requirement_days(instance: SqlInstance, classification: str | None, runs: list[BackupCopy], backups_read: bool,
                      key_states: dict[date, str] | None, facts: Any, ctx: CheckContext) -> _Judged:
    """Each day judged against the `encryption` of that day's stored configuration (checks.days.by_config) for the
    classification in force that day (enc3: checks.class_days; a day that held two classes is judged under both):
    - a day whose configuration lacks the classification is unknown (never kept, whatever the keys say);
    - a day whose classification is unknown is unknown, with the reason (never judged by another day's class);
      a day with no classification at all (no map entry, label or default) keeps the rule of old: a CMEK
      instance is judged on its keys, Google-managed data is unknown;
    - `cmek` is broken by Google-managed live data (an instance's key is chosen at creation), and, for an
      ENHANCED instance, by any day a Backup and DR backup without a customer-managed key version was retained;
    - a CMEK instance's key versions are judged every day whatever the requirement (kms_history's states), and a
      day they break is broken whatever its class;
    - a Google-managed instance is kept otherwise, unknown when its backups could not be listed;
    then the instance's lifetime: days before its creation or after its deletion are not applicable."""
    days = list(ctx.period.days())
    unkeyed: set[date] = set()  # an ENHANCED instance's Backup and DR backups without a customer-managed key version
    keyless: set[date] = set()  # a CMEK instance's backups reporting no key at all: weaker than the live data, any requirement
    for run in runs:
        # retained from the day it was taken to the last read that listed it
        first, last = ctx.period.day_of(run.time), ctx.period.day_of(facts.kms_history.listed_at(run.evidence, ctx.as_of))
        held = {d for d in days if first <= d <= last}
        if instance.backup_tier == "ENHANCED" and not run.key_version:
            unkeyed |= held
        if instance.kms_key and not run.key_version and not run.key:
            keyless |= held

    def required_broken(value: Any) -> set[date]:
        if value != "cmek":
            return set()
        return set(days) if instance.kms_key is None else unkeyed

    def states_for(value: Any) -> dict[date, str]:
        if value is None or (value == UNCLASSIFIED and instance.kms_key is None):
            return {d: "unknown" for d in days}
        if instance.kms_key is None:
            base = {d: "kept" if backups_read else "unknown" for d in days}
        else:
            base = dict(key_states) if key_states is not None else {d: "unknown" for d in days}
        return daily.combine([base, {d: "broken" for d in required_broken(value) | keyless}])

    classes = class_days(facts, ctx, instance.resource, instance.labels)
    held_by = _HeldClasses(classes)

    def resolve(config: Any, name: str | None = None) -> Any:
        return _encryption_in(config, None if name in (None, _NO_CLASS) else name)

    states, changes = daily.by_config(ctx, resolve, states_for, held_by)
    class_free = {d for d in days if key_states is not None and key_states.get(d) == "broken"} | keyless
    for day in days:  # a key version that broke the day, or a backup without a key, breaks it under any class
        if not held_by.of(day).names and day in class_free:
            states[day] = "broken"
    configs, lockers = daily.configs_by_day(ctx), _lockers_by_day(ctx)
    per_day = {day: tuple((name, resolve(configs[day], name)) for name in held_by.of(day).names) for day in days}
    required = {d for d in days if any(d in required_broken(value) for _, value in per_day[d])}
    life = facts.history.lifetime(instance.resource)
    stamps = ctx.period.day_starts
    for number, day in enumerate(days):
        exists = life.exists_through(stamps[number], stamps[number + 1])
        if exists == "no":
            states[day] = "not_applicable"
        elif stamps[number] >= ctx.as_of:
            states[day] = "not_due"
        elif exists == "unknown" and states.get(day) == "kept":
            states[day] = "unknown"
    reasons = []
    unknown_class = [d for d in classes.unknown_days() if states.get(d) == "unknown" and held_by.of(d).basis != "none"]
    if unknown_class:
        reasons.append(f"its classification is unknown on {len(unknown_class)} days, {daily.day_ranges(unknown_class)} "
                       "(why: below), so the encryption its data required then is unknown")
    for seg, held, locker in _runs(days, per_day, lockers):
        if not any(states.get(d) == "unknown" for d in seg):
            continue
        where = f"the configuration stored in locker {locker}" if locker else "the configuration"
        for name, value in held:
            if value is None:
                reasons.append(f"{where} (in force {seg[0]}..{seg[-1]}) does not define classification {name!r}, so "
                               "the encryption its data required on those days is unknown")
            elif value == UNCLASSIFIED and instance.kms_key is None:
                reasons.append("its data has no classification, so whether it required customer-managed keys is unknown")
            elif instance.kms_key is None and not backups_read:
                reasons.append("its retained backups could not be listed, so what they were encrypted with is unknown")
    if any(s == "unknown" for s in states.values()) and instance.kms_key and key_states is None:
        reasons.append("its retained backups could not be listed, so which key versions protected them is unknown")
    reasons = list(dict.fromkeys(reasons))
    thresholds: list[dict[str, Any]] = []
    words = ""
    if classes.changed:
        thresholds, words = _class_thresholds(days, per_day, lockers, classes)
    elif len(changes) > 1:
        key = f"policy.classifications.{classification}.encryption"
        thresholds = [{"from": day.isoformat(), "locker": locker, "expected": {"encryption": value},
                       "config_keys": {"encryption": key}} for day, value, locker in changes]
        words = daily.threshold_words(changes, key, _render)
    return _Judged(states, frozenset(d for d in required if states.get(d) == "broken"), tuple(reasons), thresholds, words,
                   frozenset(d for d in keyless if states.get(d) == "broken"),
                   classes.details() if classes.changed else [])


# --- enc3: the classification in force each day (checks.class_days) -------------------------------------------

_NO_CLASS = "\x00no classification"  # a day the store had no classification at all (no map entry, label or default)


class _HeldClasses:
    """A ClassDays in which a day of no classification at all holds one stand-in class, so checks.days.by_config
    judges it by the rule of old (a CMEK instance on its keys; Google-managed data unknown, with that reason)
    instead of as a day of unknown class. A day whose class is unknown stays without one: unknown."""

    def __init__(self, classes: ClassDays) -> None:
        self.classes = classes

    def of(self, day: date) -> DayClass:
        held = self.classes.of(day)
        if not held.names and held.basis == "none":
            return DayClass((_NO_CLASS,), "none", held.why)
        return held

    @property
    def constant(self) -> DayClass | None:
        """The one DayClass of every day (as `of` gives it), when the class never changed (checks.days.by_config's
        plain rule then applies)."""
        one = getattr(self.classes, "constant", None)
        if one is None:
            return None
        return DayClass((_NO_CLASS,), "none", one.why) if not one.names and one.basis == "none" else one


def _lockers_by_day(ctx: CheckContext) -> dict[date, str | None]:
    """The locker whose stored configuration is in force each day (checks.days.config_segments' rule)."""
    out: dict[date, str | None] = {}
    for seg, _, locker in daily.config_segments(ctx, id):
        out.update({day: locker for day in seg})
    return out


def _runs(days: list[date], per_day: dict[date, tuple], lockers: dict[date, str | None]) -> list[tuple[list[date], tuple, str | None]]:
    """Consecutive days holding the same classes and requirements: [(days, ((class, encryption), ...), the locker
    whose configuration the first day had)]."""
    out: list[tuple[list[date], tuple, str | None]] = []
    for day in days:
        if out and out[-1][1] == per_day[day]:
            out[-1][0].append(day)
        else:
            out.append(([day], per_day[day], lockers.get(day)))
    return out


def _class_key(name: str) -> str:
    return f"policy.classifications.{name}.encryption"


def _class_thresholds(days: list[date], per_day: dict[date, tuple], lockers: dict[date, str | None],
                      classes: ClassDays) -> tuple[list[dict[str, Any]], str]:
    """`details.thresholds` and the message's sentence when the classification changed over the period: each stretch
    of days with the class(es) it held and the `encryption` each class required, named by its configuration key."""
    runs = _runs(days, per_day, lockers)
    entries: list[dict[str, Any]] = []
    said: list[str] = []
    for number, (seg, held, locker) in enumerate(runs):
        # the locker is named where the configuration, not the class, changed the requirement
        before = runs[number - 1] if number else None
        by_config = before is not None and [n for n, _ in before[1]] == [n for n, _ in held] and before[2] != locker
        when = f"on {seg[0]}" if len(seg) == 1 else f"on {seg[0]} .. {seg[-1]}"
        if not held:
            continue  # unknown class: ClassDays.words() says why
        # one entry per class held (a day the class changed holds two, judged under both)
        entries += [{"from": seg[0].isoformat(), "to": seg[-1].isoformat(), "locker": locker, "classification": name,
                     "expected": {"encryption": value}, "config_keys": {"encryption": _class_key(name)}}
                    for name, value in held if name != _NO_CLASS]
        parts = [f"{_render(value)} ({_class_key(name)})" if name != _NO_CLASS else "nothing (no classification)"
                 for name, value in held]
        where = f" (the configuration stored in locker {locker})" if by_config and locker else ""
        said.append(f"{' then '.join(parts)} {when}{where}")
    words = classes.words()
    if said:
        words += " The encryption required was " + "; ".join(said) + "."
    return entries, words


def _required_words(instance: SqlInstance, days: list[date], enhanced: bool) -> str:
    if instance.kms_key is None:
        return (f"customer-managed encryption keys (CMEK) were required on {len(days)} days, {daily.day_ranges(days)}, "
                "and the instance and its backups use Google-managed keys")
    return (f"customer-managed encryption keys (CMEK) were required on {len(days)} days, {daily.day_ranges(days)}, while "
            "Backup and DR backups reporting no customer-managed key version were retained")


def _as_deleted(instance: SqlInstance, backups: Known[BackupCopy] | Unknown) -> SqlInstance:
    """A deleted instance as its FINAL backup's snapshot (`instanceSettings`) shows it, its key completed from the
    FINAL backup itself where the snapshot omits diskEncryptionConfiguration or diskEncryptionStatus: the Backup
    resource's `kmsKey` is the key of the instance's disk encryption and `kmsKeyVersion` "the version of the KMS key
    that's used to encrypt the Cloud SQL instance" (Cloud SQL Admin v1 reference). A snapshot that names a key
    keeps it (the backup's own key, if different, is one more key the days judge)."""
    if not isinstance(backups, Known):
        return instance
    finals = sorted((c for c in backups.items if c.kind == "final" and c.state == "succeeded"), key=lambda c: c.time)
    if not finals:
        return instance
    final = finals[-1]
    key = instance.kms_key or final.key or (key_of_version(final.key_version) if final.key_version else None)
    version = instance.kms_key_version
    if version is None and final.key_version and key_of_version(final.key_version) == key:
        version = final.key_version
    if (key, version) == (instance.kms_key, instance.kms_key_version):
        return instance
    return replace(instance, kms_key=key, kms_key_version=version)


def _after_deletion(instance: SqlInstance, backups: Known[BackupCopy] | Unknown, facts: Any, ctx: CheckContext,
                    finding: Finding) -> str:
    """A sentence on the backups of a deleted instance still listed after its deletion whose key version is
    unusable at the newest read: they cannot be restored. Decided: said, not counted. The days after the deletion
    are not in this control's population (the instance no longer exists), so they stay not applicable and the
    status is that of the days it existed; whether its final backup had to be kept is backup-retention's rule."""
    gone = facts.history.lifetime(instance.resource).gone_by
    if gone is None or not isinstance(backups, Known):
        return ""
    found = []
    for copy in succeeded(backups):
        if not copy.key_version or facts.kms_history.listed_at(copy.evidence, ctx.as_of) <= gone:
            continue
        listed = facts.kms_key_versions.at(key_of_version(copy.key_version))
        state = next((v.state for v in listed.items if v.name == copy.key_version), None) if isinstance(listed, Known) else None
        if state in UNUSABLE_KEY_STATES:
            found.append((copy, state))
    if not found:
        return ""
    finding.details["unrestorable_after_deletion"] = [
        {"taken": c.time.isoformat(), "kind": c.kind, "key_version": c.key_version, "state": s} for c, s in found]
    grouped: dict[tuple[str, str], list[BackupCopy]] = defaultdict(list)
    for c, state in found:
        grouped[(c.key_version or "", state)].append(c)
    said = []
    for (version, state), copies in sorted(grouped.items()):
        kinds = defaultdict(list)
        for c in copies:
            kinds[c.kind].append(c.time)
        taken = ", ".join(f"{len(t)} {kind} taken {min(t):%Y-%m-%d}" + (f"..{max(t):%Y-%m-%d}" if len(t) > 1 else "")
                          for kind, t in sorted(kinds.items()))
        said.append(f"{taken}: version {_short(version)} is {STATE_WORDS[state]}")
    return (f" Still retained after the deletion, {len(found)} of its backups cannot be restored ({'; '.join(said)}); "
            "those days are not in this control's population, so this is noted and does not change the finding.")


# --- enc3: the declared-bucket rule reads the `encryption` requirement, day by day ------------------------------

_NOTHING_ASKED = "\x00nothing"  # a day the store had no classification at all: it asks nothing of the bucket


def _class_values(classes: Any, day: date, config: Any) -> tuple[list[Any], bool]:
    """(the `encryption` each class held that day requires, None where that configuration lacks the class; whether
    the day's class is unknown). A day of no classification at all asks nothing ([], False)."""
    held = classes.of(day)
    if held.names:
        return [_required_by(config, name) for name in held.names], False
    return [], held.basis != "none"


def _required_by(config: Any, name: str) -> str | None:
    policy = config.policy.classifications.get(name)
    return policy.encryption if policy else None


def _bucket_finding(bucket: Any, instance: SqlInstance, rule: str, facts: Any, ctx: CheckContext) -> Finding:
    """A declared backup bucket of `instance`: at least as strong as its source (a Google-managed bucket holding
    copies of CMEK data), and customer-managed on each day a classification in force requires CMEK: the data's
    (the source's class that day: it holds that data's backups) or the bucket's own (its own entry in the data map
    or label), whichever is stricter. `any` (and `google-managed`) accept Google-managed encryption. What the bucket
    is encrypted with is its default key (`encryption.defaultKmsKeyName`) each day (auditor.facts.bucket_history.
    key_timeline); the objects' own `kmsKeyName` is not collected (no objects.list of backup buckets), so an object
    written with another key is not seen: the default key is what is judged."""
    source = instance.resource
    src_class, src_policy = ctx.classification_of(instance.labels, resource=source)
    own_class, own_policy = ctx.classification_of(bucket.labels, resource=bucket.resource)
    asked_now = {name: policy.encryption for name, policy in ((src_class, src_policy), (own_class, own_policy)) if policy}
    # the requirement now, and the class whose `encryption` it is (expected_from names its key): the stricter, the
    # source's first; a bucket whose source and itself have no classification asks parity alone
    if "cmek" in asked_now.values():
        wanted, deciding = "cmek", next(name for name, value in asked_now.items() if value == "cmek")
    elif src_policy or own_policy:
        deciding = src_class if src_policy else own_class
        wanted = asked_now[deciding]
    else:
        wanted, deciding = "any", None
    observed = {"bucket_kms_key": bucket.kms_key, "source_kms_key": instance.kms_key, "source": source,
                "classification": src_class, "bucket_classification": own_class}
    evidence = list(bucket.evidence) + list(instance.evidence)
    problems = []
    if instance.kms_key and not bucket.kms_key:
        problems.append(f"it holds backups of {instance.display}, whose data is encrypted with CMEK key "
                        f"{instance.kms_key}, but the bucket uses Google-managed encryption: the copies are "
                        "encrypted more weakly than the live data")
    elif wanted == "cmek" and not bucket.kms_key:
        why = []
        if src_policy and src_policy.encryption == "cmek":
            why.append(f"whose data is classified {src_class!r} ({_class_key(src_class or '')}: cmek)")
        if own_policy and own_policy.encryption == "cmek" and own_class != src_class:
            why.append(f"the bucket itself is classified {own_class!r} ({_class_key(own_class or '')}: cmek)")
        problems.append(f"it holds backups of {instance.display}, {' and '.join(why)}, which requires customer-managed "
                        "encryption keys (CMEK), but the bucket uses Google-managed encryption")
    judged = _bucket_days(bucket, instance, facts, ctx)
    evidence += [e for b in facts.bucket_history.observations(bucket.resource) for e in b.evidence]
    evidence += [e for c in facts.bucket_history.changes(bucket.resource) for e in c.evidence]
    states, isos = judged["states"], ctx.period.day_isos
    broken, unknown = daily.exception_days(states)
    details: dict[str, Any] = {"days": daily.iso_days(states, isos), "exception_days": [isos[d] for d in broken],
                               "unknown_days": [isos[d] for d in unknown]}
    if unknown:
        details["unknown_reasons"] = judged["reasons"] or [
            "no read of the bucket covers them and no complete Admin Activity log query joins them to one"]
    for name in ("classifications", "bucket_classifications"):
        if judged[name]:
            details[name] = judged[name]
    day_text = judged["words"](broken, unknown)
    if problems:
        status, text = FAIL, "; ".join(problems)
    elif broken:
        status, text = FAIL, ("as of the last read it uses " + (f"CMEK key {bucket.kms_key}" if bucket.kms_key else
                                                               "Google-managed encryption") + ", as its data requires now")
    elif unknown:
        status, text = INCONCLUSIVE, ("its encryption could not be established against the requirement on every day: "
                                      + "; ".join(details["unknown_reasons"]))
    else:
        how = f"CMEK key {bucket.kms_key}" if bucket.kms_key else "Google-managed encryption, like its source"
        status, text = PASS, f"it holds backups of {instance.display} and uses {how}"
    message = f"Bucket {bucket.name}: {text}." + (f" Day by day: {day_text}." if day_text else "") + judged["class_words"]
    return Finding(ID, bucket.resource, rule, status, message, observed=observed,
                   expected={"at_least_as_strong_as_source": True, "encryption": wanted, "classification": deciding,
                             "source_classification": src_class, "bucket_classification": own_class},
                   details=details, evidence=list(dict.fromkeys(evidence)))


def _bucket_days(bucket: Any, instance: SqlInstance, facts: Any, ctx: CheckContext) -> dict[str, Any]:
    """Each day of a declared backup bucket against its source and the requirement in force:
    - the bucket's default key each day (key_timeline: `broken` where it was Google-managed at some moment, `kept`
      where customer-managed all day, `unknown` where no evidence says; not applicable before its creation);
    - CMEK is needed that day when the source uses CMEK (parity), or when a class in force that day requires it:
      the source's (judged under each class it held that day: the state under each when they agree, else unknown,
      as checks.class_days.judge) or the bucket's own (both apply at once: the stricter wins);
    - needed: the key's state; not needed: kept (any encryption meets `any`); unknown whether needed (a class
      unknown that day, or missing from that day's configuration): kept only if customer-managed all day."""
    days = list(ctx.period.days())
    created = bucket.create_time.timestamp() if bucket.create_time else None
    stamps = ctx.period.day_stamps
    if facts.bucket_history.observations(bucket.resource):
        timeline = key_timeline(facts.bucket_history, bucket.resource)
        keys = timeline.day_states(stamps, days, ctx.as_of.timestamp(), GOOGLE_MANAGED, created=created)
    else:  # facts assembled without a history of reads (by hand): the one read stands for every day, as labels do
        found = "kept" if bucket.kms_key else "broken"
        keys = {day: ("not_due" if stamps[n] >= ctx.as_of.timestamp() else "not_applicable"
                      if created is not None and stamps[n + 1] <= created else found) for n, day in enumerate(days)}
    source_classes = class_days(facts, ctx, instance.resource, instance.labels)
    own_classes = class_days(facts, ctx, bucket.resource, bucket.labels)
    configs = daily.configs_by_day(ctx)
    states: dict[date, str] = {}
    required: set[date] = set()
    missing: dict[str, list[date]] = defaultdict(list)
    unknown_class: dict[str, list[date]] = defaultdict(list)

    def under(key_state: str, values: list[Any], unknown: bool) -> str:
        if instance.kms_key or "cmek" in values:
            return key_state
        if unknown or None in values:
            return "kept" if key_state == "kept" else "unknown"
        return "kept"

    for day in days:
        key_state = keys[day]
        if key_state in ("not_due", "not_applicable"):
            states[day] = key_state
            continue
        config = configs[day]
        own, own_unknown = _class_values(own_classes, day, config)
        source, source_unknown = _class_values(source_classes, day, config)
        found = [under(key_state, own + [value], own_unknown) for value in source] or \
            [under(key_state, own + ([None] if source_unknown else []), own_unknown)]
        states[day] = found[0] if len(set(found)) == 1 else "unknown"
        if states[day] == "broken" and "cmek" in own + source:
            required.add(day)
        for whose, classes, unknown_now in (("its source", source_classes, source_unknown),
                                            ("the bucket", own_classes, own_unknown)):
            if unknown_now and states[day] == "unknown":
                unknown_class[f"{whose}'s classification is unknown ({classes.of(day).why or 'no evidence shows it'})"].append(day)
            for name in classes.of(day).names:
                if _required_by(config, name) is None and states[day] == "unknown":
                    missing[name].append(day)
    reasons = [f"{why} on {len(ds)} days, {daily.day_ranges(ds)}" for why, ds in unknown_class.items()]
    reasons += [f"the configuration in force on {daily.day_ranges(ds)} does not define classification {name!r}, so the "
                "encryption its data required then is unknown" for name, ds in missing.items()]
    key_unknown = [d for d in days if states.get(d) == "unknown" and keys[d] == "unknown"]
    if key_unknown:
        silent = [c for c in facts.bucket_history.changes(bucket.resource)
                  if not c.locked and c.encryption[1] is None and ctx.period.starts_at <= c.time < ctx.period.ends_at]
        if silent:
            when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC" for c in silent)
            reasons.append(f"the bucket updates of {when} were logged without saying what its encryption became (a patch "
                           "that left it alone and an update that dropped it look the same), so its default key is "
                           "unknown from then until the next read")
        else:
            reasons.append(f"its default key on {daily.day_ranges(key_unknown)} is shown by no read of the bucket and no "
                           "complete Admin Activity query of bucket updates joins those days to one")

    def words(broken: list[date], unknown: list[date]) -> str:
        parts = []
        parity = [d for d in broken if instance.kms_key]
        if parity:
            parts.append(f"it used Google-managed encryption while holding backups of CMEK data on {len(parity)} days, "
                         f"{daily.day_ranges(parity)}")
        asked = [d for d in broken if d in required and not instance.kms_key]
        if asked:
            parts.append(f"customer-managed encryption keys (CMEK) were required on {len(asked)} days, "
                         f"{daily.day_ranges(asked)}, by {_requirement_names(asked, source_classes, own_classes, configs)}, "
                         "and the bucket used Google-managed encryption")
        if unknown:
            parts.append(f"{len(unknown)} days are unknown ({daily.day_ranges(unknown)})")
        return "; ".join(parts)

    class_words = ""
    if source_classes.changed:  # "Its classification was ..." of the source, then of the bucket itself
        class_words += " Of its source " + instance.display + ": " + source_classes.words().replace("Its ", "its ", 1)
    if own_classes.changed:
        class_words += " Of the bucket itself: " + own_classes.words().replace("Its ", "its ", 1)
    return {"states": states, "reasons": list(dict.fromkeys(reasons)), "words": words, "class_words": class_words,
            "classifications": source_classes.details() if source_classes.changed else [],
            "bucket_classifications": own_classes.details() if own_classes.changed else []}


def _requirement_names(days: list[date], source: Any, own: Any, configs: dict[date, Any]) -> str:
    """The configuration keys that required CMEK on those days ('policy.classifications.restricted.encryption')."""
    keys = sorted({_class_key(name) for day in days for classes in (source, own) for name in classes.of(day).names
                   if _required_by(configs[day], name) == "cmek"})
    return " and ".join(keys) or "the classification in force"


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Backups are encrypted like the live data, with keys that still work",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each Cloud SQL primary, compares the live data's encryption (instances.list diskEncryptionConfiguration "
                "and diskEncryptionStatus) with each retained backup's (backupRuns.list), reads the Cloud KMS key "
                "(cryptoKeys.get) and the state of every key version (cryptoKeyVersions.list), and compares the key's "
                "location with the data's country. Data classified to require CMEK must use it, by the requirement each "
                "day's stored configuration sets for the classification in force that day (the data map in force, the "
                "label's history); a declared backup bucket must hold that data with a customer-managed default key "
                "(buckets.list encryption.defaultKmsKeyName, and bucket updates in the Admin Activity log) on each day "
                "its classification requires CMEK, and with one whenever its source uses CMEK. Instances deleted during the period are judged for the days they existed "
                "from their FINAL backup (Backups.list: instanceSettings, kmsKey, kmsKeyVersion). Instances whose backups "
                "Backup and DR manages (backupTier ENHANCED) are judged from the key versions of their Backup and DR backups. "
                "Each day of the period is judged from each key version's history: its reads, the key's Admin Activity "
                "entries (logging entries.list) and the versions' createTime, destroyTime and destroyEventTime.",
    needs=("sql_instances", "backup_copies", "backupdr", "buckets", "bucket_history", "kms_keys", "kms_key_versions", "sql_stores",
           "kms_history", "history", "final_snapshots", "config_changes", "instance_observations", "inventory_days"),
    evaluate=evaluate,
)
