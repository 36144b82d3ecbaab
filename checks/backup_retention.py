"""backup-retention: backups are kept as long as the data's classification requires, and no longer.

Cloud SQL keeps a COUNT of automated backups (retainedBackups), one per backup interval, so the
retention in days is that count times the classification's interval. Point-in-time recovery must be
on where the classification requires it, with its log retention inside the maximum. Whether
deleting the instance would take its backups with it (no retainBackupsOnDelete, no final backup) is
reported beside the verdict. Backup buckets need a retention policy at least the minimum, locked
(an unlocked policy can be removed at any time), a way back from deletion (soft delete or
versioning), no lifecycle rule deleting objects before the minimum, and a deletion rule by the
maximum when the classification sets one.

Day by day (issue 13, ret3): each day under the classification in force that day (checks.class_days:
a backup bucket takes its source's, else its own), with that day's stored configuration's thresholds.
A live instance's `final_backup_days` is judged each day from its final-backup timeline
(auditor.facts.final_backup); a deleted one's by its FINAL backup, under the class of the deletion's
day. An ENHANCED instance's day is judged from the Backup and DR backups taken that day (a backup is
listed only until it expires, so a single run leaves the earlier days unknown and says why).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from auditor.checks import days as daily
from auditor.checks.class_days import ClassDays, class_days
from auditor.unverified import incomplete_data
from auditor.checks.common import deleted_instances, deleted_unseen, deletion_note, evaluate_scope, instances
from auditor.facts import final_backup
from auditor.facts.known import Known
from auditor.facts.sqlengine import backups_after_deletion, engine_settings
from auditor.checks_api import Check, CheckContext
from auditor.facts.discovery import Store
from auditor.facts.model import SqlInstance
from auditor.facts.stores import Bucket
from auditor.results import FAIL, INCONCLUSIVE, PASS, Finding

ID = "backup-retention"


def _days(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


def _delete_protection(settings: dict) -> tuple[bool | None, str]:
    retain = settings.get("retainBackupsOnDelete")
    final = settings.get("finalBackupConfig") if isinstance(settings.get("finalBackupConfig"), dict) else {}
    if retain is True:
        return True, "backups are retained if the instance is deleted (retainBackupsOnDelete)"
    if final.get("enabled") is True:
        return True, f"a final backup is kept for {final.get('retentionDays', 'an unstated number of')} days if the instance is deleted"
    return False, "deleting the instance would delete its automated backups (neither retainBackupsOnDelete nor a final backup is configured)"


def engine_of(instance: SqlInstance):
    """The per-engine reading of the instance's settings (MySQL's PITR is its binary log)."""
    return engine_settings({"databaseVersion": instance.database_version, "settings": instance.raw_settings})


def _final_rule(instance: SqlInstance, policy) -> str | None:
    """The classification's `final_backup_days`: some backup must outlive the instance's deletion that long
    (finalBackupConfig.retentionDays; retainBackupsOnDelete keeps backups with no stated end, which counts)."""
    wanted = policy.final_backup_days if policy else None
    if not wanted:
        return None
    after = backups_after_deletion(engine_of(instance))
    if after is None:
        return (f"the classification requires a backup to outlive the instance's deletion by {wanted} days (final_backup_days), "
                "but neither a final backup nor retainBackupsOnDelete is configured")
    if after and after < wanted:
        return f"its final backup would be kept {after} days after deletion, below the {wanted}-day rule (final_backup_days)"
    return None


def _backupdr_rule(instance: SqlInstance, facts: Any, ctx: CheckContext, classification, policy, finding) -> Finding:
    """ENHANCED: retention is the Backup and DR rule's backupRetentionDays; the vault's enforced minimum and lock
    (immutability) are recorded, and required where the classification says `immutable: true`."""
    detail = facts.backupdr.of(instance.resource)
    days = detail.retention_days()
    locked = detail.immutable_at(ctx.as_of)
    result = finding(INCONCLUSIVE, "")
    result.observed.update({"retention_days": days, "immutable": locked, "backupdr_vaults": [v.name for v in detail.vaults],
                            "vault_enforced_days": max((v.minimum_enforced_retention.days for v in detail.vaults
                                                        if v.minimum_enforced_retention), default=None)})
    result.evidence += [e for e in detail.evidence if e not in result.evidence]
    head = f"{instance.display} ({classification}, Backup and DR)"
    if detail.unprotected:
        result.status, result.message = FAIL, (f"{instance.display}: its backups are managed by Backup and DR (backupTier "
                                               "ENHANCED), but no backup plan association names it, so nothing is retained.")
        return result
    problems = []
    if days is not None and days < policy.retention_min_days:
        problems.append(f"its backup plan keeps backups {days} days, below the {policy.retention_min_days}-day minimum")
    if days is not None and policy.retention_max_days is not None and days > policy.retention_max_days:
        problems.append(f"its backup plan keeps backups {days} days, beyond the {policy.retention_max_days}-day maximum")
    if policy.immutable and not locked:
        problems.append("the classification requires immutable backups, but its vault is not locked with an enforced retention")
    if policy.point_in_time_recovery and engine_of(instance).pitr_enabled is not True:
        problems.append("point-in-time recovery is off, but the classification requires it")
    rule = _final_rule(instance, policy)
    if rule:
        problems.append(rule)
    if problems:
        result.status, result.message = FAIL, f"{head}: " + "; ".join(problems) + "."
    elif detail.missing or days is None:
        from auditor.checks.common import unverified
        from auditor.facts.known import Unknown

        why = Unknown(instance.resource, detail.missing).describe() if detail.missing else "the backup plan states no retention"
        result.message = f"{head}: retention could not be verified: {why}."
        if detail.missing:
            result.details["unverified"] = unverified(Unknown(instance.resource, detail.missing))
    else:
        vaults = ", ".join(f"{v.name} ({'locked, ' if v.immutable_at(ctx.as_of) else ''}enforced minimum "
                           f"{v.minimum_enforced_retention.days if v.minimum_enforced_retention else 0} days)" for v in detail.vaults)
        result.status, result.message = PASS, (f"{head}: its backup plan keeps backups {days} days (policy "
                                               f"{policy.retention_min_days}-{policy.retention_max_days or ''} days) in {vaults}"
                                               + ("; immutable" if locked else "") + ".")
    return result


def deleted_findings(facts: Any, ctx: CheckContext) -> list[Finding]:
    """Instances deleted before the read, one finding each: retention day by day for the days they existed (from
    their history, whose last read is the FINAL backup's snapshot of the instance), not applicable after the
    deletion, and the FINAL backup (Backups.list) judged against `final_backup_days` as in force on the deletion's
    day. An instance only the Admin Activity log shows deleted (no read of it survives) is inconclusive for its
    days (checks.common.deleted_unseen), never dropped."""
    listed = {i.resource for i in instances(facts)}
    snapshots = {i.resource: i for i in deleted_instances(facts)}
    finals: dict[str, list[Any]] = {}
    for project in facts.projects:
        read = facts.sql_backups.at(f"projects/{project}")
        if not isinstance(read, Known):
            continue
        for backup in read.items:
            if backup.kind != "FINAL" or backup.instance in listed or not backup.instance_deleted_at:
                continue
            finals.setdefault(backup.instance, []).append(backup)
    out = [_deleted_finding(resource, sorted(finals.get(resource, ()), key=lambda b: b.instance_deleted_at),
                            snapshots.get(resource), facts, ctx) for resource in sorted(set(finals) | set(snapshots))]
    judged = set(finals) | set(snapshots)
    return out + [f for f in deleted_unseen(facts, ID, ctx, "retention") if f.resource not in judged]


def _in_force_at(ctx: CheckContext, classification: str | None, moment: datetime) -> tuple[Any, str | None, date]:
    """(the classification's final_backup_days in the configuration in force on `moment`'s day (_ABSENT when that
    configuration lacks the classification), the locker that stored it, that day). A moment outside the period
    takes the nearest day's configuration (checks.days.config_segments)."""
    def resolve(config: Any) -> Any:
        policy = config.policy.classifications.get(classification) if classification else None
        return policy.final_backup_days if policy else _ABSENT

    segments = daily.config_segments(ctx, resolve)
    day = min(max(ctx.period.day_of(moment), segments[0][0][0]), segments[-1][0][-1])
    # one value all period: no locker to name (a run's own locker id would make the finding differ run to run)
    named = (lambda locker: locker) if len(segments) > 1 else (lambda locker: None)
    for days, value, locker in segments:
        if day in days:
            return value, named(locker), day
    return segments[-1][1], named(segments[-1][2]), day


def _final_verdict(backup: Any, classification: str | None, ctx: CheckContext) -> tuple[str, str, dict[str, Any]]:
    """(status, words, observed) for one FINAL backup, judged on `final_backup_days` in force on the deletion's day."""
    deleted = backup.instance_deleted_at
    kept = (backup.expires_at - deleted).days if backup.expires_at else None
    wanted, locker, day = _in_force_at(ctx, classification, deleted)
    source = (f"final_backup_days as in force on the deletion's day, {day} (policy.classifications.{classification}"
              f".final_backup_days" + (f", the configuration stored in locker {locker}" if locker else "") + ")")
    observed = {"deleted": deleted.isoformat(), "final_backup": backup.key,
                "final_backup_expires": backup.expires_at.isoformat() if backup.expires_at else None,
                "kept_days_after_deletion": kept, "location": backup.location,
                "final_backup_days": None if wanted is _ABSENT else wanted, "final_backup_days_locker": locker}
    if not backup.usable:
        return FAIL, f"its final backup is {backup.state}, so nothing usable outlived the deletion", observed
    if wanted is _ABSENT:
        return INCONCLUSIVE, ((f"the configuration in force on the deletion's day ({day}) has no classification "
                               f"{classification}" if classification else "its data has no classification")
                              + ", so the final backup's required retention is unknown"), observed
    if wanted and (kept is None or kept < wanted):
        return FAIL, (f"its final backup is kept {kept if kept is not None else 'an unknown number of'} days, below the "
                      f"{wanted}-day rule ({source})"), observed
    return PASS, (f"its final backup (taken {backup.taken_at:%Y-%m-%d %H:%M} UTC, in {backup.location}) is kept until "
                  f"{backup.expires_at:%Y-%m-%d}" + (f", {kept} days after deletion" if kept is not None else "")
                  + (f" (policy: at least {wanted}, {source})" if wanted else "")), observed


def _final_by_class(backup: Any, classes: ClassDays, ctx: CheckContext) -> tuple[str, str, dict[str, Any]]:
    """ret3: one FINAL backup judged under the classification in force on the deletion's day (a day the class changed
    during, under each: pass only if it passes under each, fail only if it fails under each); a deletion on a day of
    unknown class is inconclusive unless the backup fails whatever the class (unusable)."""
    day = ctx.period.day_of(backup.instance_deleted_at)
    day = min(max(day, ctx.period.start), ctx.period.end)
    held = classes.of(day)
    if not held.names:
        status, words, observed = _final_verdict(backup, None, ctx)
        if status == FAIL and not backup.usable:
            return status, words, observed
        return INCONCLUSIVE, (f"its classification on the deletion's day ({day}) is unknown ({held.why or 'no class'}), "
                              "so the final backup's required retention is unknown"), observed
    judged = [_final_verdict(backup, name, ctx) for name in held.names]
    if len(judged) == 1:
        return judged[0]
    statuses = {status for status, _, _ in judged}
    status = statuses.pop() if len(statuses) == 1 else INCONCLUSIVE
    words = "; ".join(f"under {name}: {words}" for name, (_, words, _) in zip(held.names, judged))
    return status, (f"its classification changed on the deletion's day ({' then '.join(held.names)}), so it is judged "
                    f"under each: {words}"), judged[-1][2]


def _deleted_finding(resource: str, backups: list[Any], snapshot: SqlInstance | None, facts: Any, ctx: CheckContext) -> Finding:
    """One deleted instance: its days (as a listed instance's, from its history) and its final backups; a final
    backup that fails the rule breaks the deletion's day (the moment the rule applies)."""
    name = resource.rsplit("/", 1)[-1]
    labels = snapshot.labels if snapshot is not None else (backups[-1].source_labels if backups else {})
    classification, policy = ctx.classification_of(labels, resource=resource)
    gone = facts.history.lifetime(resource).gone_by or (backups[-1].instance_deleted_at if backups else None)
    states: dict[date, str] = {}
    note, thresholds, why = "", [], ""
    classes = _class_days(facts, ctx, resource, labels)  # ret3: the classification in force each day it existed
    if _held_names(classes) and snapshot is not None and snapshot.backup_tier != "ENHANCED":
        states, note, thresholds = _days_by_config(snapshot, classes, facts, ctx)
        why = _why_days(ctx, classes, [d for d, st in states.items() if st == "unknown"],
                        daily.why_unknown(facts.history, resource, ctx.period, ctx.as_of))
    else:  # no configuration read of it (no snapshot), no classification, or Backup and DR's: its days cannot be judged here
        states = {day: "unknown" for day in ctx.period.days()}
        why = ("no read of its configuration survives (its FINAL backup carries no snapshot of the instance)" if snapshot is None
               else "its data has no classification" if not _held_names(classes)
               else "its backups were managed by Backup and DR, whose plans of a deleted instance are not read")
    changed = _class_words(classes)
    for day, start in zip(ctx.period.days(), ctx.period.day_starts):
        if start >= ctx.as_of:
            states[day] = "not_due"
        elif gone is not None and start >= gone:
            states[day] = "not_applicable"
    verdicts = [(b, *_final_by_class(b, classes, ctx)) for b in backups]
    for backup, status, _, _ in verdicts:
        day = ctx.period.day_of(backup.instance_deleted_at)
        if day in states and states[day] not in ("not_due", "not_applicable"):
            if status == FAIL:
                states[day] = "broken"
            elif status == INCONCLUSIVE and states[day] == "kept":
                states[day] = "unknown"
    broken, unknown = daily.exception_days(states)
    kept = [d for d, s in states.items() if s == "kept"]
    isos = ctx.period.day_isos
    details: dict[str, Any] = {"days": daily.iso_days(states, isos), "exception_days": [isos[d] for d in broken],
                               "unknown_days": [isos[d] for d in unknown], "classification": classification}
    if changed:
        details["classifications"] = classes.details()
    if thresholds:
        details["thresholds"] = thresholds
    head = (f"{name} ({classification or 'unclassified'})" + (f", deleted on {gone:%Y-%m-%d %H:%M} UTC" if gone else ""))
    parts = []
    if broken:
        parts.append(f"retention was outside the policy on {len(broken)} day{'s' if len(broken) != 1 else ''} it existed: "
                     f"{daily.day_ranges(broken)}")
    if unknown:
        parts.append(f"{len(unknown)} day{'s' if len(unknown) != 1 else ''} it existed could not be established "
                     f"({daily.day_ranges(unknown)}): {why}")
    if kept and not broken and not unknown:
        parts.append(f"its retention was within the policy on each of the {len(kept)} days it existed in the period "
                     f"({daily.day_ranges(kept)})")
    parts += [words for _, _, words, _ in verdicts]
    statuses = [status for _, status, _, _ in verdicts]
    if broken or FAIL in statuses:
        status = FAIL
    elif unknown or INCONCLUSIVE in statuses or (not kept and not verdicts):
        status = INCONCLUSIVE
    else:
        status = PASS
    deleted_words = deletion_note(facts, snapshot, ctx) if snapshot is not None else (
        f" It was deleted on {gone:%Y-%m-%d %H:%M} UTC; the days after the deletion are not applicable." if gone else "")
    note = changed + (f" {note}" if changed and note else note)
    message = f"{head}: " + "; ".join(parts) + "." + deleted_words + (f" {note}" if note else "")
    if status == INCONCLUSIVE and unknown:
        details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
    observed: dict[str, Any] = dict(verdicts[-1][3]) if verdicts else {}  # the newest deletion's final backup
    if snapshot is not None:
        observed.update(retained_backups=snapshot.retained_backups, pitr_enabled=snapshot.pitr_enabled,
                        log_retention_days=snapshot.log_retention_days)
    evidence = [e for b in backups for e in b.evidence]
    if snapshot is not None:
        evidence += list(snapshot.evidence) + _history_evidence(snapshot, facts, ctx)
    return Finding(ID, resource, "retention", status, message, observed=observed,
                   expected={"classification": classification,
                             "retention_min_days": policy.retention_min_days if policy else None,
                             "retention_max_days": policy.retention_max_days if policy else None,
                             "final_backup_days": observed.get("final_backup_days")},
                   details=details, evidence=list(dict.fromkeys(evidence)))


def instance_rule(instance: SqlInstance, facts: Any, ctx: CheckContext) -> Finding:
    """Judged on the protection model: Cloud SQL's own setting keeps a count of automated backups."""
    name = instance.display
    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    interval_days = (policy.backup_interval.total_seconds() / 86400) if policy else 1.0
    (setting,) = facts.protection.of(instance.resource).protections
    retained = setting.retention_count
    days = retained * interval_days if retained is not None else None
    protected, protection = _delete_protection(instance.raw_settings)
    engine = engine_of(instance)
    pitr, log_days = engine.pitr_enabled, engine.log_retention_days  # MySQL: the binary log
    observed = {"retained_backups": retained, "retention_days": days, "pitr_enabled": pitr,
                "log_retention_days": log_days, "retained_on_delete": protected, "engine": engine.engine,
                "edition": engine.edition}
    expected = {"classification": classification, "retention_min_days": policy.retention_min_days if policy else None,
                "retention_max_days": policy.retention_max_days if policy else None,
                "point_in_time_recovery": policy.point_in_time_recovery if policy else None}

    states, note, thresholds = ({}, "", [])
    classes = _class_days(facts, ctx, instance.resource, instance.labels)  # ret3: the classification in force each day
    if _held_names(classes) and instance.backup_tier != "ENHANCED":  # each day against its class's thresholds that day
        states, note, thresholds = _days_by_config(instance, classes, facts, ctx, live=True)
    broken, unknown = daily.exception_days(states)
    details: dict[str, Any] = {"on_delete": protection}
    if thresholds:
        details["thresholds"] = thresholds
    changed = _class_words(classes)
    if changed:
        details["classifications"] = classes.details()
        note = changed + (f" {note}" if note else "")
    if states:
        isos = ctx.period.day_isos
        details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                       unknown_days=[isos[d] for d in unknown])

    def finding(status: str, message: str) -> Finding:
        return Finding(ID, instance.resource, "retention", status, message + (f" {note}" if note else ""), observed=observed,
                       expected=expected, details=details,
                       evidence=list(instance.evidence) + _history_evidence(instance, facts, ctx))

    why = (_why_days(ctx, classes, unknown, daily.why_unknown(facts.history, instance.resource, ctx.period, ctx.as_of))
           if unknown else "")
    if policy is None:
        held = (f" Day by day under the classification it held earlier: outside the policy on {len(broken)} days "
                f"({daily.day_ranges(broken)})." if broken else "")
        return finding(FAIL if broken else INCONCLUSIVE,
                       f"{name}: the data has no classification (neither declared nor labelled), so the "
                       "retention it requires is unknown." + held)
    if setting.enabled is False:
        return finding(FAIL, f"{name}: automated backups are disabled, so no backups are being retained for the "
                             f"{policy.retention_min_days} days that {classification} data requires.")
    if instance.backup_tier == "ENHANCED":
        return _backupdr_by_day(_backupdr_rule(instance, facts, ctx, classification, policy, finding), instance, classes,
                                facts, ctx)
    if days is None:
        return finding(INCONCLUSIVE, f"{name}: the number of retained backups could not be read.")
    problems = []
    if days < policy.retention_min_days:
        problems.append(f"it keeps {retained} backups ({_days(days)} days), below the {policy.retention_min_days}-day minimum")
    if policy.retention_max_days is not None and days > policy.retention_max_days:
        problems.append(f"it keeps {retained} backups ({_days(days)} days), beyond the {policy.retention_max_days}-day maximum")
    field = engine.pitr_field
    if policy.point_in_time_recovery and pitr is None:
        problems.append(f"whether point-in-time recovery is on could not be read ({field} is missing), and the classification requires it")
    elif policy.point_in_time_recovery and pitr is not True:
        problems.append(f"point-in-time recovery is off ({field} is false), but the classification requires it")
    if pitr and policy.retention_max_days is not None and (log_days or 0) > policy.retention_max_days:
        problems.append(f"transaction logs are kept {log_days} days, beyond the maximum")
    if policy.immutable:
        problems.append("the classification requires immutable backups (a locked vault with enforced retention), which Cloud "
                        "SQL's own backups are not")
    rule = _final_rule(instance, policy)
    if rule:
        problems.append(rule)
    via = " (binary logging)" if engine.engine == "mysql" else ""
    pitr = (f"; point-in-time recovery on{via} with {log_days} days of logs" if pitr else "")
    if broken:
        return finding(FAIL, f"{name} ({classification}): retention was outside the policy (at least "
                             f"{policy.retention_min_days} days" + (f", at most {policy.retention_max_days}" if policy.retention_max_days else "")
                             + (", point-in-time recovery on" if policy.point_in_time_recovery else "")
                             + (f", a backup kept {policy.final_backup_days} days after a deletion (final_backup_days)"
                                if policy.final_backup_days else "")
                             + f", automated backups on) on {len(broken)} days: {daily.day_ranges(broken)}."
                             + (f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): "
                                f"{why}." if unknown else "")
                             + (f" As of the last read: {'; '.join(problems)}." if problems else
                                f" As of the last read it keeps {retained} backups, within the policy.")
                             + f" Also, {protection}.")
    if problems:
        unreadable = policy.point_in_time_recovery and engine.pitr_enabled is None and len(problems) == 1
        return finding(INCONCLUSIVE if unreadable else FAIL, f"{name} ({classification}): " + "; ".join(problems) + f". Also, {protection}.")
    if unknown:
        # what could not be verified, without page ids (they differ between runs of the same facts)
        details["unverified"] = [incomplete_data(
            f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
        return finding(INCONCLUSIVE, f"{name} ({classification}): retention could not be established on {len(unknown)} "
                                     f"days ({daily.day_ranges(unknown)}): "
                                     f"{why}.")
    bounds = f"{policy.retention_min_days}" + (f"-{policy.retention_max_days}" if policy.retention_max_days else "+")
    return finding(PASS, f"{name} ({classification}): keeps {retained} daily backups ({_days(days)} days, policy {bounds} days)"
                         f"{pitr}. Note: {protection}.")


#: the classification's thresholds retention reads each day, in the order `_days_by_config` resolves them
_THRESHOLDS = (("retention_min_days", " days"), ("retention_max_days", " days"), ("point_in_time_recovery", ""),
               ("backup_interval", " s"), ("immutable", ""), ("final_backup_days", " days"))
#: thresholds that apply at one moment (a deletion), judged by the configuration in force on that moment's day
_AT_A_MOMENT = ("final_backup_days",)
_ABSENT = object()  # a day's configuration lacks the classification


def _resolver(name: str | None) -> Any:
    """The classification's thresholds in one configuration, in `_THRESHOLDS` order (None: the configuration lacks it)."""
    def resolve(config: Any) -> Any:
        policy = config.policy.classifications.get(name) if name else None
        return (policy.retention_min_days, policy.retention_max_days, policy.point_in_time_recovery,
                policy.backup_interval.total_seconds(), policy.immutable, policy.final_backup_days) if policy else None
    return resolve


def _class_resolve(config: Any, name: str | None) -> Any:
    """ret3: by_config's resolve with the classification of the day: (class, its thresholds or None), None when the
    day's class is unknown (its days keep only their lifetime: not_due, not_applicable)."""
    return None if name is None else (name, _resolver(name)(config))


def _life_unknown(states: dict) -> dict:
    """The days a resource existed, unknown (its thresholds are unknown), the rest of its lifetime as it is."""
    return {day: "unknown" if state in ("kept", "broken") else state for day, state in states.items()}


def _days_by_config(instance: SqlInstance, classes: ClassDays, facts: Any, ctx: CheckContext,
                    live: bool = False) -> tuple[dict, str, list]:
    """Day states with each day judged by the thresholds of the classification in force that day (checks.class_days)
    in that day's stored configuration (checks.days.by_config), a sentence naming any threshold that changed, its key
    (the class whose threshold it is) and the locker that set it, and the same as `details.thresholds` entries.
    `immutable` in force on a day breaks it: Cloud SQL's own backups cannot be locked. A day whose configuration
    lacks its classification, or whose classification is unknown, is unknown."""
    by_value = {}
    for config in [ctx.config, *(c for _, _, c in getattr(ctx, "configs", ()) or ())]:
        for name, policy in config.policy.classifications.items():
            by_value.setdefault((name, _resolver(name)(config)), policy)

    def states_for(value: Any) -> dict:
        if value is None or value[1] is None:  # the class, or its thresholds in that day's configuration, unknown
            return _life_unknown(facts.history.day_states(instance.resource, "backup_enabled", ctx.period, ctx.as_of,
                                                          weak=lambda v: False))
        thresholds = value[1]
        states = _day_states(instance, by_value[value], thresholds[3] / 86400, facts, ctx, live=live)
        if thresholds[4]:  # immutable required that day: no day the instance existed on Cloud SQL's own backups is within it
            states = {day: "broken" if state == "kept" else state for day, state in states.items()}
        return states

    states, _ = daily.by_config(ctx, _class_resolve, states_for, classes)
    notes, details = _class_thresholds(ctx, classes, _THRESHOLDS, _resolver, moment=() if live else _AT_A_MOMENT)
    return states, notes, details


def _class_days(facts: Any, ctx: CheckContext, resource: str, labels: dict) -> ClassDays:
    """ret3: the store's classification each day (checks.class_days, shared by the controls)."""
    return class_days(facts, ctx, resource, dict(labels))


def _held_names(classes: ClassDays) -> list[str]:
    """Every class the store held on some day, in the order first held."""
    out: list[str] = []
    for day in sorted(classes.by_day):
        out += [n for n in classes.of(day).names if n not in out]
    return out


def _class_thresholds(ctx: CheckContext, classes: ClassDays, names: tuple, resolver: Any,
                      moment: tuple = _AT_A_MOMENT) -> tuple[str, list]:
    """ret3: the threshold words and `details.thresholds` of each class the store held (its own key,
    policy.classifications.<class>.<key>), each over the configurations in force during the period."""
    notes, details = [], []
    for name in _held_names(classes):
        changes = [(days[0], value, locker) for days, value, locker in daily.config_segments(ctx, resolver(name))]
        words = _threshold_note(changes, name, names, moment)
        if words:
            notes.append(words)
        details += _threshold_details(changes, name, names)
    return " ".join(notes), details


def _class_words(classes: ClassDays) -> str:
    """ClassDays.words() when the class changed (or was unknown on a day), else ''."""
    return classes.words() if classes.changed and _held_names(classes) else ""


def _why_days(ctx: CheckContext, classes: ClassDays, unknown: list, history_why: str) -> str:
    """ret3: why the unknown days are unknown: the days whose classification is unknown say why (ClassDays.why), the
    days whose stored configuration lacks their class say so, the others keep the history's reason."""
    unclassed = [d for d in unknown if not classes.of(d).names]
    absent: set = set()
    for name in _held_names(classes):
        absent |= {day for days, present, _ in daily.config_segments(ctx, lambda c, n=name: n in c.policy.classifications)
                   if not present for day in days if name in classes.of(day).names}
    parts = []
    changed = [d for d in unknown if len(classes.of(d).names) > 1]  # lead: a day held two classes (class_days.judge)
    if changed:
        held = " then ".join(dict.fromkeys(n for d in changed for n in classes.of(d).names))
        parts.append(f"its classification changed during {daily.day_ranges(changed)} ({held}), and such a day is kept "
                     "only if kept under each class and broken only if broken under each")
    lacking = sorted(absent)  # every day whose configuration lacks the class it held, as the days' ranges say it
    if lacking:
        held = sorted({n for d in lacking for n in classes.of(d).names})
        parts.append(f"the configuration stored for {daily.day_ranges(lacking)} has no classification {', '.join(held)}")
    if unclassed:
        parts.append(f"its classification is unknown on {daily.day_ranges(unclassed)} ({classes.why(unclassed)})")
    if any(d not in set(unclassed) and d not in absent and d not in changed for d in unknown) or not parts:
        parts.append(history_why)
    return "; and ".join(parts) if len(parts) > 1 else parts[0]


def _render(value: Any, unit: str) -> str:
    if value is None:
        return "absent"
    if unit == " s":  # backup_interval, in hours
        return f"{value / 3600:g} hours"
    return f"{value}{unit}"


def _threshold_note(changes: list, classification: str | None, names: tuple, moment: tuple = _AT_A_MOMENT) -> str:
    """threshold_words for each threshold that changed (and the days a configuration lacked the classification)."""
    notes = []
    for index, (name, unit) in enumerate(names):
        # ret3: a threshold the classification leaves unset (None) is a value of its own ("absent"); a configuration
        # lacking the classification is said once, below
        picked = [(day, value[index], locker) for day, value, locker in changes if value is not None]
        if len({v for _, v, _ in picked}) < 2:
            continue  # unchanged wherever the classification is configured
        merged = [c for i, c in enumerate(picked) if i == 0 or c[1] != picked[i - 1][1]]
        words = daily.threshold_words(merged, f"policy.classifications.{classification}.{name}",
                                      lambda v, unit=unit: _render(v, unit))
        if words and name in moment:
            words = words.replace("each day is judged against the value in force that day.",
                                  "it applies at one moment, so it is judged by the value in force on that moment's day "
                                  "(the deletion's, or the last read's).")
        if words:
            notes.append(words)
    for day, value, locker in changes:
        if value is None and len(changes) > 1:
            notes.append(f"The configuration in force from {day}" + (f" (stored in locker {locker})" if locker else "")
                         + f" has no classification {classification}, so its thresholds, and those days, are unknown.")
    return " ".join(notes)


def _threshold_details(changes: list, classification: str | None, names: tuple) -> list[dict[str, Any]]:
    """`details.thresholds`: each configuration segment's values, from its first day, with the locker that stored it
    (the shape auditor.locker_days gives), only when the values changed during the period."""
    if len(changes) < 2:
        return []
    keys = {name: f"policy.classifications.{classification}.{name}" for name, _ in names}
    return [{"from": day.isoformat(), "locker": locker,
             "expected": dict(zip(keys, value)) if value is not None else None, "config_keys": keys,
             **({} if value is not None else {"missing": f"classification {classification} is not in that configuration"})}
            for day, value, locker in changes]


def _day_states(instance: SqlInstance, policy: Any, interval_days: float, facts: Any, ctx: CheckContext,
                live: bool = False) -> dict:
    """Each day of the period: were backups on and the retained count, PITR and log retention within the
    policy throughout? (each setting's timeline: auditor.facts.history; a day no evidence covers is unknown)"""
    history = facts.history
    low, high = policy.retention_min_days, policy.retention_max_days

    def count_outside(count: Any) -> bool:
        kept = count * interval_days
        return kept < low or (high is not None and kept > high)

    rules: list[tuple[str, Any]] = [("backup_enabled", False), ("retained_backups", count_outside)]
    if policy.point_in_time_recovery:
        rules.append(("pitr_enabled", False))
    if high is not None:
        rules.append(("log_retention_days", lambda kept: kept > high))
    wanted = policy.final_backup_days
    if live and wanted:  # ret3: had it been deleted that day, would a backup have outlived it by final_backup_days?
        rules.append((final_backup.SETTING, lambda value: not final_backup.outlives(value, wanted)))
    return daily.combine(history.day_states(instance.resource, setting, ctx.period, ctx.as_of, weak=weak)
                        for setting, weak in rules)


def _history_evidence(instance: SqlInstance, facts: Any, ctx: CheckContext) -> list[str]:
    history = facts.history
    changes = [c for c in history.changes(instance.resource) if ctx.period.starts_at <= c.time < ctx.period.ends_at]
    return [e for o in history.observations(instance.resource) for e in o.evidence] + [e for c in changes for e in c.evidence]


_BUCKET_THRESHOLDS = (("retention_min_days", " days"), ("immutable", ""))


def _bucket_resolver(name: str | None) -> Any:
    def resolve(config: Any) -> Any:
        policy = config.policy.classifications.get(name) if name else None
        return (policy.retention_min_days, policy.immutable) if policy else None
    return resolve


def _bucket_days(bucket: Bucket, classes: ClassDays, facts: Any, ctx: CheckContext) -> tuple[dict, list, list, str, str, dict]:
    """Each day: was a retention policy of at least the minimum of the classification in force that day (ret3:
    checks.class_days; the source's class, else the bucket's own), from that day's stored configuration, on the
    bucket throughout, and, where that day's classification is `immutable`, was it locked throughout (a lock is
    permanent: auditor.facts.bucket_history)? From each locker's read and the bucket updates and locks the Admin
    Activity log recorded. A day whose configuration lacks its classification, or whose classification is unknown,
    is unknown. (states, broken, unknown, why unknown, threshold words, extra details: thresholds, lock days)"""
    history = facts.bucket_history
    lock: dict = {}

    def lock_states() -> dict:
        if not lock:
            lock.update(history.lock_day_states(bucket.resource, ctx.period, ctx.as_of))
        return lock

    def resolve(config: Any, name: str | None) -> Any:
        return None if name is None else (name, _bucket_resolver(name)(config))

    def states_for(value: Any) -> dict:
        if value is None or value[1] is None:  # the class, or its minimum in that day's configuration, is unknown
            return {day: "unknown" if state == "kept" else state for day, state in
                    history.day_states(bucket.resource, ctx.period, ctx.as_of, weak=lambda r: False).items()}
        minimum, immutable = value[1]
        states = history.day_states(bucket.resource, ctx.period, ctx.as_of,
                                    weak=lambda r: r.seconds is None or r.seconds < minimum * 86400)
        return daily.combine([states, lock_states()]) if immutable else states

    states, _ = daily.by_config(ctx, resolve, states_for, classes)
    broken, unknown = daily.exception_days(states)
    configs = daily.configs_by_day(ctx)
    locked_days = [d for d in states if any(  # days a classification in force required a lock
        (configs[d].policy.classifications.get(n) is not None and configs[d].policy.classifications[n].immutable)
        for n in classes.of(d).names)]
    extra: dict[str, Any] = {}
    whys = []
    unclassed = [d for d in unknown if not classes.of(d).names]
    if unclassed:
        whys.append(f"its classification is unknown on {daily.day_ranges(unclassed)} ({classes.why(unclassed)})")
    unlogged = history.unlogged(bucket.resource, ctx.period)
    if unlogged:
        when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method})" for c in unlogged)
        whys.append(f"the bucket updates of {when} were logged without the request body, so the retention policy they left "
                    "is unknown until the next read of the bucket")
    if locked_days:
        extra["lock_days"] = {ctx.period.day_isos[d]: lock_states().get(d, "unknown") for d in locked_days}
        if any(lock_states().get(d) == "unknown" for d in unknown):
            whys.append("whether the policy was locked is unknown there: no read shows it and no complete Admin Activity "
                        "query that asked for retention-policy locks (storage.buckets.lockRetentionPolicy) joins them to one")
    lacking = [n for n in _held_names(classes)
               if any(v is None for _, v, _ in daily.config_segments(ctx, _bucket_resolver(n)))]
    if lacking:
        whys.append(f"a configuration in force then has no classification {', '.join(lacking)}")
    if not whys or (unclassed and len(whys) == 1 and len(unclassed) < len(unknown)):
        whys.append("no read of the bucket covers them and no complete Admin Activity log query joins them to a read")
    words, thresholds = _class_thresholds(ctx, classes, _BUCKET_THRESHOLDS, _bucket_resolver)
    if thresholds:
        extra["thresholds"] = thresholds
    changed = _class_words(classes)
    if changed:
        extra["classifications"] = classes.details()
        words = changed + (f" {words}" if words else "")
    return states, broken, unknown, "; ".join(whys), words, extra


def _bucket_classes(bucket: Bucket, source: str, labels: dict, facts: Any, ctx: CheckContext) -> ClassDays:
    """ret3: a backup bucket's classification each day: its source's that day, else (a day the source has none) the
    bucket's own. A day the source's class is unknown stays unknown: it may have held a stricter one."""
    mine = _class_days(facts, ctx, source, labels)
    own = _class_days(facts, ctx, bucket.resource, bucket.labels)
    by_day = {day: (held if held.basis != "none" else own.of(day)) for day, held in mine.by_day.items()}
    return ClassDays(by_day, mine.newest or own.newest)


def bucket_rule(bucket: Bucket, source: str, store: Store | None, instance: SqlInstance | None, facts: Any,
                ctx: CheckContext) -> Finding:
    labels = (instance.labels if instance else store.labels if store else {})
    classification, policy = ctx.classification_of(labels, resource=source)
    if policy is None:
        classification, policy = ctx.classification_of(bucket.labels, resource=bucket.resource)
    rule = f"backup-of:{source.rsplit('/', 1)[-1]}"
    soft_days = None if bucket.soft_delete_seconds is None else bucket.soft_delete_seconds / 86400
    delete_ages = [d.age_days for d in bucket.lifecycle_deletes]
    observed = {"retention_days": bucket.retention_days, "retention_locked": bucket.retention_locked,
                "soft_delete_days": soft_days, "versioning": bucket.versioning, "lifecycle_delete_ages_days": delete_ages}
    head = f"Bucket {bucket.name} (backups of {source.rsplit('/', 1)[-1]}, {classification or 'unclassified'})"
    if policy is None:
        return Finding(ID, bucket.resource, rule, INCONCLUSIVE, f"{head}: neither the bucket nor its source has a "
                       "classification, so the required retention is unknown.", observed=observed, evidence=list(bucket.evidence))
    minimum, maximum = policy.retention_min_days, policy.retention_max_days
    problems = []
    if bucket.retention_days is None:
        problems.append("it has no retention policy, so backups can be deleted at any time")
    else:
        if bucket.retention_days < minimum:
            problems.append(f"its retention policy keeps objects {_days(bucket.retention_days)} days, below the {minimum}-day minimum")
        if not bucket.retention_locked:
            problems.append("its retention policy is not locked, so an administrator can shorten or remove it at any time")
    if not soft_days and not bucket.versioning:
        problems.append("soft delete and object versioning are both off, so a deleted or overwritten backup cannot be recovered")
    early = [a for a in delete_ages if a is not None and a < minimum]
    if early:
        problems.append(f"a lifecycle rule deletes objects after {min(early)} days, before the {minimum}-day minimum")
    if maximum is not None and not any(a is not None and a <= maximum for a in delete_ages):
        problems.append(f"no lifecycle rule deletes backups by the {maximum}-day maximum")
    if bucket.lifecycle_deletes and any(a is None for a in delete_ages):
        problems.append("a lifecycle delete rule has conditions other than age; review it by hand")
    states, broken, unknown, why, thresholds, extra = _bucket_days(bucket, _bucket_classes(bucket, source, labels, facts, ctx),
                                                                   facts, ctx)
    details: dict[str, Any] = {"classification": classification, **extra}
    if states:
        isos = ctx.period.day_isos
        details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                       unknown_days=[isos[d] for d in unknown])
    days_words = ""
    unlocked = sorted(date.fromisoformat(d) for d, s in extra.get("lock_days", {}).items() if s == "broken")
    short = [d for d in broken if d not in set(unlocked)]
    if short:
        days_words += (f" Day by day, the bucket had no retention policy of at least the minimum on {len(short)} days: "
                       f"{daily.day_ranges(short)}.")
    if unlocked:
        since = facts.bucket_history.locked_from(bucket.resource)
        days_words += (f" The classification requires immutable backups, and the policy was not locked on {len(unlocked)} "
                       f"days: {daily.day_ranges(unlocked)}" + (f" (locked from {since:%Y-%m-%d %H:%M} UTC)" if since else "")
                       + ".")
    if unknown:
        days_words += f" {len(unknown)} days are unknown ({daily.day_ranges(unknown)}): {why}."
    if thresholds:
        days_words += f" {thresholds}"
    status = FAIL if problems or broken else INCONCLUSIVE if unknown else PASS
    if problems:
        message = f"{head}: " + "; ".join(problems) + "." + days_words
    elif broken:
        message = f"{head}: as of the last read its retention policy is within the policy." + days_words
    elif unknown:
        from auditor.unverified import incomplete_data

        details["unverified"] = [incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
        message = f"{head}: its retention policy could not be established on every day." + days_words
    else:
        message = (f"{head}: locked retention policy of {_days(bucket.retention_days)} days (minimum {minimum}), "
                   f"soft delete {_days(soft_days)} days, versioning {'on' if bucket.versioning else 'off'}, "
                   f"lifecycle deletion after {min((a for a in delete_ages if a is not None), default='no set number of')} days."
                   + days_words)
    evidence = list(bucket.evidence) + [e for b in facts.bucket_history.observations(bucket.resource) for e in b.evidence] + \
        [e for c in facts.bucket_history.changes(bucket.resource) for e in c.evidence]
    return Finding(ID, bucket.resource, rule, status, message, observed=observed,
                   expected={"retention_min_days": minimum, "retention_max_days": maximum, "locked": True},
                   details=details, evidence=list(dict.fromkeys(evidence)))


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    return evaluate_scope(facts, ctx, ID, "backup retention", "retention", instance_rule, bucket_rule) + deleted_findings(facts, ctx)


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Backups are retained as the data's classification requires",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each Cloud SQL primary, compares retained automated backups (backupRetentionSettings, instances.list) and "
                "point-in-time recovery (per engine: MySQL's binary log) with the classification's minimum and maximum, and "
                "final_backup_days with what outlives a deletion (finalBackupConfig, retainBackupsOnDelete; a deleted instance's "
                "FINAL backup, Backups.list); ENHANCED-tier instances by their Backup and DR plan's retention and vault lock; for each declared backup bucket "
                "(buckets.list) inspects the retention policy and its lock, soft delete, versioning and lifecycle deletions. "
                "Each day is judged under the classification in force that day (the data map in force, the label's history) "
                "and that day's stored configuration: a live instance's final-backup setting from its timeline, an "
                "ENHANCED instance's retention from the Backup and DR backups taken that day.",
    needs=("sql_instances", "buckets", "protection", "stores", "backupdr", "sql_backups", "history", "bucket_history",
           "final_snapshots", "config_changes", "inventory_days"),
    evaluate=evaluate,
)


# ret3: ENHANCED-tier instances (Backup and DR-managed backups), day by day
_BDR_THRESHOLDS = (("retention_min_days", " days"), ("retention_max_days", " days"), ("immutable", ""),
                   ("point_in_time_recovery", ""), ("final_backup_days", " days"))
_NO_BACKUP = ("no Backup and DR backup taken that day is in any read: a backup is listed only until it expires, and the "
              "plan's retention on an earlier day is not recorded (backup plans are read as they are now), so only a read "
              "made while that day's backup was still retained (that day's or a later locker) shows it")


def _bdr_resolver(name: str | None) -> Any:
    def resolve(config: Any) -> Any:
        policy = config.policy.classifications.get(name) if name else None
        return (policy.retention_min_days, policy.retention_max_days, policy.immutable, policy.point_in_time_recovery,
                policy.final_backup_days) if policy else None
    return resolve


def _kept_for(backup: Any) -> int | None:
    """Whole days a Backup and DR backup is kept (expireTime - consistencyTime, to the nearest day), None if unstated."""
    if backup.expires_at is None or backup.taken_at is None:
        return None
    return round((backup.expires_at - backup.taken_at).total_seconds() / 86400)


def _backupdr_days(instance: SqlInstance, detail: Any, classes: ClassDays, facts: Any, ctx: CheckContext) -> tuple[dict, set]:
    """Each day's state under the thresholds of the class in force that day: the retention of the backups taken that day
    (each one's expireTime; on the newest read's day also the plan's rules as read) within the minimum and maximum;
    where `immutable`, the vault locked at the day's start (effectiveTime: a lock is permanent, so a vault read locked
    since T was unlocked before T and one read unlocked never was); where required, point-in-time recovery and the
    final-backup setting from the instance's own timelines. A day no backup of which is known is unknown. (states, the
    days whose retention no backup shows)"""
    history = facts.history
    life = history.day_states(instance.resource, "backup_enabled", ctx.period, ctx.as_of, weak=lambda v: False)
    taken: dict[date, list[int | None]] = {}
    for backup in detail.backups:
        if backup.usable and backup.taken_at is not None and ctx.period.starts_at <= backup.taken_at < ctx.period.ends_at:
            taken.setdefault(ctx.period.day_of(backup.taken_at), []).append(_kept_for(backup))
    read_day = ctx.period.day_of(ctx.as_of) if ctx.as_of < ctx.period.ends_at else None
    plan = [r.retention_days for r in detail.rules if r.retention_days]
    if read_day is not None and plan:
        taken.setdefault(read_day, []).extend(plan)
    live = {day for day, state in life.items() if state not in ("not_due", "not_applicable")}
    unseen = {day for day in live if not [k for k in taken.get(day, ()) if k is not None]}

    def retention(low: int, high: int | None) -> dict:
        out = dict(life)
        for day in live:
            spans = taken.get(day, [])
            known = [k for k in spans if k is not None]
            if any(k < low or (high is not None and k > high) for k in known):
                out[day] = "broken"
            else:
                out[day] = "kept" if known and len(known) == len(spans) else "unknown"
        return out

    starts = dict(zip(ctx.period.days(), ctx.period.day_starts))

    def locked() -> dict:
        out = dict(life)
        for day in live:
            out[day] = "unknown" if not detail.vaults else "kept" if detail.immutable_at(starts[day]) else "broken"
        return out

    def states_for(value: Any) -> dict:
        if value is None or value[1] is None:
            return _life_unknown(life)
        low, high, immutable, pitr, wanted = value[1]
        parts = [retention(low, high)]
        if immutable:
            parts.append(locked())
        if pitr:
            parts.append(history.day_states(instance.resource, "pitr_enabled", ctx.period, ctx.as_of, weak=False))
        if wanted:
            parts.append(history.day_states(instance.resource, final_backup.SETTING, ctx.period, ctx.as_of,
                                            weak=lambda v, w=wanted: not final_backup.outlives(v, w)))
        return daily.combine(parts)

    def resolve(config: Any, name: str | None) -> Any:
        return None if name is None else (name, _bdr_resolver(name)(config))

    states, _ = daily.by_config(ctx, resolve, states_for, classes)
    return states, unseen


def _backupdr_by_day(result: Finding, instance: SqlInstance, classes: ClassDays, facts: Any, ctx: CheckContext) -> Finding:
    """ret3: the ENHANCED finding (as of the newest read, `_backupdr_rule`) judged day by day too (`_backupdr_days`). A
    day broken fails it; a day unknown makes a pass inconclusive, with the reason (a single run shows only the days
    whose backups are still retained); reads that failed keep it inconclusive."""
    detail = facts.backupdr.of(instance.resource)
    if detail is None or detail.unprotected or detail.missing or not _held_names(classes):
        return result
    states, unseen = _backupdr_days(instance, detail, classes, facts, ctx)
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    result.details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                          unknown_days=[isos[d] for d in unknown])
    words, thresholds = _class_thresholds(ctx, classes, _BDR_THRESHOLDS, _bdr_resolver, moment=())
    if thresholds:
        result.details["thresholds"] = thresholds
    whys = []
    unclassed = [d for d in unknown if not classes.of(d).names]
    if unclassed:
        whys.append(f"its classification is unknown on {daily.day_ranges(unclassed)} ({classes.why(unclassed)})")
    no_backup = [d for d in unknown if d in unseen and d not in set(unclassed)]
    if no_backup:
        whys.append(f"{daily.day_ranges(no_backup)}: {_NO_BACKUP}")
    rest = [d for d in unknown if d not in set(unclassed) and d not in set(no_backup)]
    if rest:
        whys.append(f"{daily.day_ranges(rest)}: " + _why_days(ctx, classes, rest, daily.why_unknown(
            facts.history, instance.resource, ctx.period, ctx.as_of)))
    why = "; ".join(whys)
    day_words = ""
    if broken:
        day_words += (f" Day by day, outside the policy on {len(broken)} day{'s' if len(broken) != 1 else ''}: "
                      f"{daily.day_ranges(broken)}.")
    if unknown:
        day_words += f" {len(unknown)} days are unknown ({daily.day_ranges(unknown)}): {why}."
    if not broken and not unknown:
        kept = [d for d, st in states.items() if st == "kept"]
        day_words += f" Day by day, within the policy on each of the {len(kept)} days it existed in the period."
    if words:
        day_words += f" {words}"
    result.message += day_words
    if broken:
        result.status = FAIL
    elif unknown and result.status == PASS:
        result.status = INCONCLUSIVE
    if result.status == INCONCLUSIVE and unknown:
        result.details["unverified"] = list(result.details.get("unverified") or []) + [
            incomplete_data(f"{len(unknown)} days ({daily.day_ranges(unknown)}): {why}")]
    return result
