"""backup-enabled: every Cloud SQL primary has automated backups switched on."""

from __future__ import annotations

from auditor.checks_api import Check, CheckContext
from auditor.facts.model import Facts
from auditor.results import FAIL, INCONCLUSIVE, PASS, Finding
from auditor.checks.common import instances, replica_finding, unread_projects
from auditor.unverified import incomplete_data

ID = "backup-enabled"


def evaluate(facts: Facts, ctx: CheckContext) -> list[Finding]:
    findings = list(unread_projects(facts, ID, "sqladmin", "instances.list", "Cloud SQL automated backups"))
    for instance in instances(facts):
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "enabled"))
            continue
        enabled = instance.backup_enabled
        observed = {"enabled": enabled, "start_time": instance.backup_start_time.strftime("%H:%M") if instance.backup_start_time else None,
                    "activation_policy": instance.activation_policy, "state": instance.state}
        if enabled is None:
            status, message = INCONCLUSIVE, f"{instance.display}: the instance's backup configuration could not be read ({'; '.join(instance.problems)})."
        elif enabled:
            status, message = PASS, f"{instance.display}: automated backups are enabled (window starts {observed['start_time'] or 'unset'} UTC)."
        else:
            status, message = FAIL, f"{instance.display}: automated backups are disabled; no automated process backs this data up."
        if enabled and instance.activation_policy == "NEVER":
            message += " The instance is stopped as of the evidence date, so no backups run while it stays stopped."
        details = {"unverified": [incomplete_data(problem, instance.evidence) for problem in instance.problems]} \
            if status == INCONCLUSIVE else {}
        findings.append(Finding(ID, instance.resource, "enabled", status, message, observed=observed,
                                expected={"enabled": True}, details=details, evidence=list(instance.evidence)))
    return findings


CHECK = Check(
    id=ID,
    title="Automated backups are enabled on every Cloud SQL primary",
    criteria=("CC9.1", "A1.2"),
    policy_clause="Bangkok Solutions performs automatic backups of all customer and system data ... An automated process will back up all data.",
    description="Inspects each Cloud SQL instance's backupConfiguration.enabled via the Cloud SQL Admin API (instances.list). "
                "Read replicas cannot be backed up and are not applicable.",
    needs=("sql_instances", "coverage"),
    evaluate=evaluate,
)
