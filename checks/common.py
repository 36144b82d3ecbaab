"""Scoping shared by the Cloud SQL checks: which instances are in scope, and which projects could not be read."""

from __future__ import annotations

from typing import Iterator

from auditor.facts.model import Facts, SqlInstance, project_resource
from auditor.results import INCONCLUSIVE, NOT_APPLICABLE, Finding
from auditor.unverified import entry as unverified_entry, not_collected


def unread_projects(facts: Facts, check: str, api: str, method: str, what: str) -> Iterator[Finding]:
    """An explicit inconclusive finding for every project whose listing did not come back whole."""
    for project in facts.projects:
        scope = f"projects/{project}"
        if facts.coverage.was_read(api, method, scope):
            continue
        gap = facts.coverage.gap(api, scope, method)
        reason = gap.describe() if gap else f"{api} {method} for {scope} was not collected"
        yield Finding(
            check=check, resource=project_resource(project), rule="listing", status=INCONCLUSIVE,
            message=f"Could not verify {what} in project {project}: {reason}.",
            observed={"api": api, "method": method, "error_kind": gap.kind if gap else "not_collected",
                      "reason": gap.reason if gap else None},
            details={"call": gap.call_id if gap else None,
                     "unverified": [unverified_entry(gap) if gap else not_collected(api, method, scope)]},
        )


def instances(facts: Facts) -> list[SqlInstance]:
    return sorted(facts.sql_instances, key=lambda i: i.resource)


def replica_finding(check: str, instance: SqlInstance, rule: str) -> Finding:
    return Finding(
        check=check, resource=instance.resource, rule=rule, status=NOT_APPLICABLE,
        message=f"{instance.display} is a read replica of {instance.master or 'another instance'}; replicas cannot hold backups.",
        observed={"instance_type": instance.instance_type, "master": instance.master},
        evidence=list(instance.evidence),
    )
