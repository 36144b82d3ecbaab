"""Google's own list of protected resources (Backup and DR `resourceBackupConfigs`, the "protection
summary") held against what the auditor read itself: the backup plan associations and the data map.

For one Cloud SQL instance, in the project's summary read in full:
- the store relies on Backup and DR (backupTier ENHANCED, or the data map declares `backupdr`) but the
  summary names no active Backup and DR plan for it: `fail` when no association we read names it either
  (both say nothing protects it), `inconclusive` when an association does (the two disagree);
- the summary names a plan that no association we read ties to the store: `inconclusive` (the
  association listing is incomplete or out of date: the plan Google names is not evidenced);
- a store relying on Backup and DR that the summary does not list at all: `inconclusive`.
A summary that could not be read concerns only a store relying on Backup and DR (`inconclusive`);
for the others it is a cross-check not made, which the project-level gap finding reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.checks_api import CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import SqlInstance
from auditor.results import FAIL, INCONCLUSIVE


@dataclass
class CrossCheck:
    status: str | None  # FAIL | INCONCLUSIVE | None (consistent, or nothing to hold it against)
    text: str
    observed: dict[str, Any]
    evidence: list[str] = field(default_factory=list)
    unread: Unknown | None = None


def relies_on_backupdr(instance: SqlInstance, ctx: CheckContext) -> str | None:
    """Why the store depends on Backup and DR, or None."""
    if instance.backup_tier == "ENHANCED":
        return "its backups are on the ENHANCED tier (managed by Backup and DR)"
    declared = ctx.inventory.store(instance.resource) if ctx.inventory is not None else None
    if declared is not None and "backupdr" in declared.backup:
        return "the data map declares it backed up by Backup and DR"
    return None


def cross_check(instance: SqlInstance, facts: Any, ctx: CheckContext) -> CrossCheck:
    scope = f"projects/{instance.project}"
    relies = relies_on_backupdr(instance, ctx)
    read = facts.backupdr_summaries.at(scope)
    if not isinstance(read, Known):
        text = (f"Backup and DR's protection summary of project {instance.project} could not be read ({read.describe()}), "
                f"so Google's own view of its protection cannot be compared, and {relies}") if relies else ""
        return CrossCheck(INCONCLUSIVE if relies else None, text, {"protection_summary": None}, unread=read if relies else None)
    summary = next((s for s in read.items if s.target == instance.resource), None)
    associations = facts.backupdr_associations.at(scope)
    seen = sorted({a.plan for a in associations.items if a.store == instance.resource and a.plan}) \
        if isinstance(associations, Known) else None
    observed = {"protection_summary": None if summary is None else {
        "backup_configured": summary.configured, "vaulted": summary.vaulted, "plans": list(summary.plans),
        "active_plans": list(summary.active_plans), "details": [list(d) for d in summary.details]},
        "association_plans": seen}
    evidence = list(summary.evidence) if summary else []
    where = f"Backup and DR's protection summary (resourceBackupConfigs) of project {instance.project}, read in full,"
    if summary is None:
        if relies:
            return CrossCheck(INCONCLUSIVE, f"{where} does not list it at all, although {relies}", observed, evidence)
        return CrossCheck(None, "", observed, evidence)
    if not isinstance(associations, Known):
        if relies:
            return CrossCheck(INCONCLUSIVE, (f"the backup plan associations of project {instance.project} could not be read "
                                             f"({associations.describe()}), so {where[:-len(', read in full,')]} cannot be held "
                                             f"against them, and {relies}"), observed, evidence, unread=associations)
        return CrossCheck(None, "", observed, evidence)
    google = set(summary.active_plans)
    configured = "absent" if summary.configured is None else str(summary.configured).lower()
    kinds = ", ".join(f"{k or 'unknown type'} {s or ''}".strip() for k, s, _ in summary.details) or "no backup configuration"
    if relies and not google:
        if seen:
            return CrossCheck(INCONCLUSIVE, (
                f"{where} lists it as protected by no active Backup and DR plan (backupConfigured {configured}; {kinds}), "
                f"yet the backup plan associations read name {', '.join(seen)} for it: "
                "Google's two answers disagree, so its protection cannot be concluded"), observed, evidence)
        if isinstance(associations, Known):
            return CrossCheck(FAIL, (
                f"{where} lists it as not protected by Backup and DR (backupConfigured {configured}; {kinds}), "
                f"and no backup plan association read names it, although {relies}"), observed, evidence)
    unseen = sorted(google - set(seen or ()))
    if unseen and seen is not None:
        return CrossCheck(INCONCLUSIVE, (
            f"{where} says {', '.join(unseen)} protect{'s' if len(unseen) == 1 else ''} it, but no backup plan association "
            f"read ties it to {'that plan' if len(unseen) == 1 else 'those plans'}: the association listing is incomplete or "
            "out of date, so that protection is not evidenced"), observed, evidence)
    return CrossCheck(None, "", observed, evidence)
