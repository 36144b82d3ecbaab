"""backup-enabled: every Cloud SQL primary has automated backups switched on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.period import day_ranges
from auditor.checks_api import Check, CheckContext
from auditor.facts.model import SqlInstance
from auditor.results import FAIL, INCONCLUSIVE, PASS, Finding
from auditor.checks.common import deleted_instances, deleted_unseen, deletion_note, instances, replica_finding, sql_gaps, unverified
from auditor.checks.protection_summary import cross_check
from auditor.unverified import incomplete_data
from auditor.checks.days import log_gaps_words

ID = "backup-enabled"


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings = sql_gaps(facts, ctx, ID, "Cloud SQL automated backups")
    for instance in instances(facts) + deleted_instances(facts):
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "enabled"))
            continue
        findings.append(_evaluate_instance(instance, facts, ctx))
    findings += deleted_unseen(facts, ID, ctx, "enabled")
    return findings


def _evaluate_instance(instance: SqlInstance, facts: Any, ctx: CheckContext) -> Finding:
    """Day by day: was automated backup switched on throughout each day of the period? (the setting's
    timeline: facts.history; a day no evidence covers is unknown)"""
    enabled = instance.backup_enabled
    history = facts.history
    states = history.day_states(instance.resource, "backup_enabled", ctx.period, ctx.as_of, weak=False)
    disabled = [d for d, s in states.items() if s == "broken"]
    unknown = [d for d, s in states.items() if s == "unknown"]
    checked = [d for d, s in states.items() if s in ("kept", "broken", "unknown")]
    changes = [c for c in history.changes(instance.resource) if ctx.period.starts_at <= c.time < ctx.period.ends_at]
    observations = history.observations(instance.resource)
    observed = {"enabled": enabled, "start_time": instance.backup_start_time.strftime("%H:%M") if instance.backup_start_time else None,
                "activation_policy": instance.activation_policy, "state": instance.state,
                "disabled_days": len(disabled), "unknown_days": len(unknown)}
    as_of_text = f"as of {instance.observed_at:%Y-%m-%d %H:%M} UTC" if instance.observed_at else "at the last read"
    if enabled is None:
        status = INCONCLUSIVE
        message = f"{instance.display}: the instance's backup configuration could not be read ({'; '.join(instance.problems)})."
    elif disabled:
        status = FAIL
        message = (f"{instance.display}: automated backups were switched off on {len(disabled)} of {len(checked)} days of the "
                   f"period ({day_ranges(disabled)}); no automated process backed this data up then.")
        message += f" They are {'enabled' if enabled else 'still disabled'} {as_of_text}."
    elif unknown:
        status = INCONCLUSIVE
        message = (f"{instance.display}: automated backups are enabled {as_of_text}, but {len(unknown)} days "
                   f"({day_ranges(unknown)}) have no configuration evidence (no read that day and no complete "
                   "Admin Activity log query covering the time between that day and a read, to carry the setting across).")
        gaps = log_gaps_words(history, instance.resource, ctx.period.starts_at, ctx.as_of)
        if gaps:
            message += f" Why: {gaps}."
    elif not enabled:
        status = FAIL
        message = f"{instance.display}: automated backups are disabled {as_of_text}; no automated process backs this data up."
    elif not checked:
        status = INCONCLUSIVE
        message = f"{instance.display}: no day of the period was covered by the evidence."
    else:
        status = PASS
        message = (f"{instance.display}: automated backups were enabled on each of {len(checked)} days of the period "
                   f"(window starts {observed['start_time'] or 'unset'} UTC).")
    if enabled and instance.activation_policy == "NEVER":
        message += " The instance is stopped as of the evidence date, so no backups run while it stays stopped."
    extra: dict = {}
    if history.lifetime(instance.resource).gone_by is None:  # Google's protection summary lists what exists
        check = cross_check(instance, facts, ctx)
        observed["backupdr_protection"] = check.observed
        if check.status == FAIL or (check.status == INCONCLUSIVE and status == PASS):
            status = FAIL if FAIL in (check.status, status) else check.status
        if check.text:
            message += f" Held against Google's own list of protected resources: {check.text}."
        if check.unread is not None:
            extra["unverified"] = unverified(check.unread)
        elif check.status == INCONCLUSIVE:  # the two Backup and DR answers disagree: say so, by content, not by page ids
            extra["unverified"] = [incomplete_data(f"{instance.display}: {check.text}")]
        instance = replace(instance, evidence=instance.evidence + tuple(e for e in check.evidence if e not in instance.evidence))
    gone = [d for d, s in states.items() if s == "not_applicable" and instance.create_time and d >= instance.create_time.date()]
    deleted = deletion_note(facts, instance, ctx)
    if deleted:
        message += deleted
    elif gone:
        message += f" The instance no longer exists from {gone[0]}; those days are not applicable."
    isos = ctx.period.day_isos
    return Finding(
        ID, instance.resource, "enabled", status, message, observed=observed, expected={"enabled": True},
        details={"days": {isos[d]: s for d, s in states.items()},
                 "disabled_days": [isos[d] for d in disabled], "unknown_days": [isos[d] for d in unknown],
                 "changes": [{"time": c.time.isoformat(), "method": c.method, "principal": c.principal,
                              "settings": c.settings, "deleted": c.deleted} for c in changes],
                 "observations": len(observations), **extra},
        evidence=list(instance.evidence) + [e for o in observations for e in o.evidence] + [e for c in changes for e in c.evidence],
    )


CHECK = Check(
    id=ID,
    frequency="daily",
    title="Automated backups are enabled on every Cloud SQL primary, every day of the period",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For each day of the period, whether each Cloud SQL instance's backupConfiguration.enabled was on: from the "
                "configuration reads of the Cloud SQL Admin API (instances.list, one per evidence locker), the Admin Activity "
                "audit log (cloudsql.instances.update/patch/delete) and the automated backup windows that ran; held against "
                "Backup and DR's protection summary (resourceBackupConfigs.list) and its backup plan associations. "
                "Read replicas cannot be backed up and are not applicable.",
    needs=("sql_instances", "history", "sql_stores", "final_snapshots", "backupdr_summaries", "backupdr_associations",
           "config_changes"),
    evaluate=evaluate,
)
