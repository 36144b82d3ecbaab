"""backup-encryption-parity: backups are encrypted like the live data, and can still be decrypted.

Cloud SQL backups are encrypted with the instance's own key (Google-managed, or the instance's
CMEK key), so a backup cannot be "weaker" than its instance; the real risks are:
  - the data's classification demands CMEK and the instance has none;
  - a key version behind the live data or a retained backup is DISABLED, DESTROY_SCHEDULED or
    DESTROYED: those backups cannot be restored (destroyed key material is gone for good);
  - the key is kept in another country than the data it protects;
  - a retained backup of a CMEK instance reports no key at all.
Instances whose backups Backup and DR manages (backupTier ENHANCED) are judged from their Backup and
DR backups, which carry the key versions of the vault's key.
"""

from __future__ import annotations

from collections import defaultdict

from auditor.checks.backup_scope import sql_gaps
from auditor.checks.common import instances, replica_finding
from auditor.checks_api import Check, CheckContext
from auditor.facts.controls import UNUSABLE_KEY_STATES, key_location, key_of_version
from auditor.facts.model import BackupAttempt, Facts, SqlInstance
from auditor.locations import country_of, describe
from auditor.results import FAIL, INCONCLUSIVE, PASS, Finding

ID = "backup-encryption-parity"
STATE_WORDS = {
    "DISABLED": "disabled (nothing it encrypts can be read until it is re-enabled)",
    "DESTROY_SCHEDULED": "scheduled for destruction (its backups become unrecoverable when the schedule runs out)",
    "DESTROYED": "destroyed (the key material is gone: its backups can never be restored)",
}


def evaluate(facts: Facts, ctx: CheckContext) -> list[Finding]:
    findings = sql_gaps(facts, ctx, ID, "backup encryption")
    runs: dict[str, list[BackupAttempt]] = defaultdict(list)
    for attempt in facts.backup_attempts:
        if attempt.source == "backup-run" and attempt.outcome == "succeeded":
            runs[attempt.instance].append(attempt)
    for instance in instances(facts):
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "encryption"))
        elif instance.backup_tier == "ENHANCED":
            findings.append(_backupdr_finding(instance, facts, ctx))
        else:
            findings.append(_instance_finding(instance, sorted(_with_other_kinds(runs[instance.resource], instance, facts),
                                                               key=lambda r: r.window_start), facts, ctx))
    findings += _bucket_findings(facts, ctx)
    return findings


def _with_other_kinds(runs: list[BackupAttempt], instance: SqlInstance, facts: Facts) -> list[BackupAttempt]:
    """The automated runs, plus every other retained backup (on-demand runs, the Backups resource's ON_DEMAND and FINAL
    entries, and AUTOMATED entries no run stands for), each once, so parity sees every backup that could be restored."""
    from auditor.checks import protection

    seen = {r.key.rsplit("/", 1)[-1] for r in runs}
    out = list(runs)
    for backup in protection.retained(facts, instance):
        if backup.source == "backupdr" or (backup.run_id and backup.run_id in seen) or not backup.taken_at:
            continue
        out.append(BackupAttempt(instance.resource, backup.taken_at, "succeeded", backup.source, backup.state, backup.taken_at,
                                 backup.key, backup.evidence, backup.location, backup.kms_key, backup.kms_key_version))
    return out


def _backupdr_finding(instance: SqlInstance, facts: Facts, ctx: CheckContext) -> Finding:
    """ENHANCED: the backups are Backup and DR's, encrypted with the vault's key (kmsKeyVersions on each backup). Data whose
    classification requires CMEK needs a customer-managed key on every backup, in a usable state, in the data's country."""
    from auditor.checks import protection

    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    wanted = policy.encryption if policy else "any"
    view = protection.backupdr(facts, instance)
    backups = [b for b in view.backups if b.usable]
    evidence = list(instance.evidence) + view.evidence
    observed: dict = {"kms_key": instance.kms_key, "backup_tier": instance.backup_tier, "backups_checked": len(backups),
                      "vault_keys": sorted({v.kms_key for v in view.vaults if v.kms_key}), "key_versions": {}}
    problems: list[str] = []
    unknowns: list[str] = [protection.describe([m]) for m in view.missing]
    if not view.associations and not view.missing:
        problems.append("no backup plan association names it, so there is no backup whose encryption could match the data's")
    if policy is None:
        unknowns.append("its data has no classification, so whether it requires customer-managed keys cannot be judged")
    unkeyed = [b for b in backups if not b.kms_key_version]
    if wanted == "cmek" and instance.kms_key is None:
        problems.append(f"its data is classified {classification!r}, which requires CMEK, but the instance uses Google-managed keys")
    if wanted == "cmek" and unkeyed:
        problems.append(f"{len(unkeyed)} of its {len(backups)} Backup and DR backups report no customer-managed key version "
                        "(Google-managed encryption), although the data requires CMEK")
    data_countries = country_of(instance.region)
    versions = {v.name: v for v in facts.kms_key_versions}
    for name in sorted({b.kms_key_version for b in backups if b.kms_key_version}):
        key = key_of_version(name)
        why = _key_reads(facts, key)
        if why:
            unknowns.append(f"the state of key {key} could not be read: {why}")
            continue
        evidence.extend(e for k in facts.kms_keys if k.name == key for e in k.evidence)
        version = versions.get(name)
        if version is None:
            unknowns.append(f"key version {name} is not among the key's listed versions")
            continue
        evidence.extend(version.evidence)
        observed["key_versions"][name] = version.state
        if version.state in UNUSABLE_KEY_STATES:
            problems.append(f"key version {name}, which encrypts Backup and DR backups, is {STATE_WORDS[version.state]}")
        key_countries = country_of(key_location(key) or "?")
        if key_countries is None or data_countries is None:
            unknowns.append(f"the country of key {key} or of region {instance.region!r} is unknown")
        elif not key_countries <= data_countries:
            problems.append(f"the backups' key {key} is kept in {describe(key_location(key) or '?', key_countries)}, another "
                            "country than the data")
    if not backups and not view.missing and view.associations:
        unknowns.append("Backup and DR holds no usable backup of it, so no backup's encryption could be compared")
    if problems:
        status, text = FAIL, "; ".join(problems)
    elif unknowns:
        status, text = INCONCLUSIVE, "could not be verified: " + "; ".join(unknowns)
    else:
        keys = ", ".join(sorted({key_of_version(v) for v in observed["key_versions"]})) or "Google-managed keys"
        status, text = PASS, (f"its {len(backups)} Backup and DR backups are encrypted with {keys} (all key versions ENABLED, in "
                              f"the data's country); the live data uses {instance.kms_key or 'Google-managed keys'}")
    finding = Finding(ID, instance.resource, "encryption", status, f"{instance.display}: {text}.", observed=observed,
                      expected={"encryption": wanted, "classification": classification, "usable_key_states": ["ENABLED"]},
                      details={"problems": problems, "could_not_verify": unknowns}, evidence=evidence)
    if status == INCONCLUSIVE and view.missing:
        finding.details["unverified"] = view.missing
    return finding


def _bucket_findings(facts: Facts, ctx: CheckContext) -> list[Finding]:
    """A declared backup or export bucket must be encrypted at least as strongly as its source: a
    Google-managed bucket holding copies of CMEK data undoes the customer's control of the key."""
    from auditor.checks.backup_scope import backup_targets

    instances_by_name = {i.resource: i for i in facts.sql_instances}
    buckets = {b.resource: b for b in facts.stores.buckets}
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
            observed = {"bucket_kms_key": bucket.kms_key, "source_kms_key": instance.kms_key, "source": source}
            evidence = list(bucket.evidence) + list(instance.evidence)
            if instance.kms_key and not bucket.kms_key:
                status, text = FAIL, (f"it holds backups of {instance.display}, whose data is encrypted with CMEK key "
                                      f"{instance.kms_key}, but the bucket uses Google-managed encryption: the copies are "
                                      "encrypted more weakly than the live data")
            else:
                how = f"CMEK key {bucket.kms_key}" if bucket.kms_key else "Google-managed encryption, like its source"
                status, text = PASS, f"it holds backups of {instance.display} and uses {how}"
            findings.append(Finding(ID, target, rule, status, f"Bucket {bucket.name}: {text}.", observed=observed,
                                    expected={"at_least_as_strong_as_source": True}, evidence=evidence))
    return findings


def _key_reads(facts: Facts, key: str) -> str | None:
    """Why a key's state could not be read, or None when both KMS calls were answered."""
    for method in ("cryptoKeys.get", "cryptoKeyVersions.list"):
        if not facts.coverage.was_read("cloudkms", method, key):
            gap = facts.coverage.gap("cloudkms", key, method)
            return gap.describe() if gap else f"cloudkms {method} for {key} was not collected"
    return None


def _instance_finding(instance: SqlInstance, runs: list[BackupAttempt], facts: Facts, ctx: CheckContext) -> Finding:
    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    wanted = policy.encryption if policy else "any"
    problems: list[str] = []
    unknowns: list[str] = []
    observed: dict = {"kms_key": instance.kms_key, "region": instance.region, "backup_tier": instance.backup_tier,
                      "backups_checked": len(runs), "key_versions": {}}
    evidence = list(instance.evidence) + [e for r in runs for e in r.evidence]

    if instance.kms_key is None:
        if policy is None:
            unknowns.append("its data has no classification (neither declared in the data map nor labelled), so whether "
                            "it requires customer-managed keys cannot be judged; it uses Google-managed keys")
        elif wanted == "cmek":
            problems.append(f"its data is classified {classification!r}, which requires customer-managed encryption keys "
                            f"(CMEK), but the instance and its {len(runs)} retained backups use Google-managed keys")
    else:
        _judge_key(instance, runs, facts, problems, unknowns, observed, evidence)

    if problems:
        status, text = FAIL, "; ".join(problems)
    elif unknowns:
        status, text = INCONCLUSIVE, "could not be verified: " + "; ".join(unknowns)
    elif instance.kms_key:
        status = PASS
        text = (f"the live data and its {len(runs)} retained backups are encrypted with CMEK key {instance.kms_key} "
                f"(key versions {', '.join(sorted(observed['key_versions'])) or 'none listed'}: all ENABLED), kept in "
                f"{observed['key_location']}, the same country as the data")
    else:
        status = PASS
        text = (f"the live data and its {len(runs)} retained backups use Google-managed encryption, which the "
                f"{classification or 'default'} classification allows")
    return Finding(
        check=ID, resource=instance.resource, rule="encryption", status=status,
        message=f"{instance.display}: {text}.", observed=observed,
        expected={"encryption": wanted, "classification": classification, "usable_key_states": ["ENABLED"],
                  "key_country": sorted(country_of(instance.region) or [])},
        details={"problems": problems, "could_not_verify": unknowns}, evidence=evidence,
    )


def _judge_key(instance: SqlInstance, runs: list[BackupAttempt], facts: Facts, problems: list[str], unknowns: list[str],
               observed: dict, evidence: list[str]) -> None:
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
    unreported = [r for r in runs if not r.kms_key_version and not r.kms_key]
    if unreported:
        problems.append(f"{len(unreported)} retained backups report no encryption key although the instance uses CMEK")
    for run in runs:
        if run.kms_key_version:
            uses[run.kms_key_version].append(run.window_start.strftime("%Y-%m-%d"))
    versions = {v.name: v for v in facts.kms_key_versions}
    for key_name in sorted({key} | {key_of_version(v) for v in uses}):
        why = _key_reads(facts, key_name)
        if why:
            unknowns.append(f"the state of key {key_name} could not be read: {why}")
        evidence.extend(e for k in facts.kms_keys if k.name == key_name for e in k.evidence)
    for name, users in sorted(uses.items()):
        version = versions.get(name)
        if version is None:
            if not _key_reads(facts, key_of_version(name)):
                unknowns.append(f"key version {name} is not among the key's listed versions")
            continue
        evidence.extend(version.evidence)
        observed["key_versions"][name.rsplit("/", 1)[-1]] = version.state
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


CHECK = Check(
    id=ID,
    title="Backups are encrypted like the live data, with keys that still work",
    criteria=("CC9.1", "A1.2"),
    policy_clause="The backups are encrypted in the same way as live production data.",
    description="For each Cloud SQL primary, compares the live data's encryption (instances.list diskEncryptionConfiguration "
                "and diskEncryptionStatus) with each retained backup's (backupRuns.list), reads the Cloud KMS key "
                "(cryptoKeys.get) and the state of every key version (cryptoKeyVersions.list), and compares the key's "
                "location with the data's country. Data classified to require CMEK must use it. Every retained backup counts "
                "(on-demand and final ones too, Backups.list); instances whose backups Backup and DR manages (backupTier "
                "ENHANCED) are judged from the key versions of their Backup and DR backups (dataSources.backups.list).",
    needs=("sql_instances", "backup_attempts", "kms_keys", "kms_key_versions", "stores", "coverage", "sql_backups", "backupdr"),
    evaluate=evaluate,
)
