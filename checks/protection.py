"""What protects a Cloud SQL instance, as the backup controls read it: every retained backup, and Backup and DR.

A bridge until the protection model (store, protection, backups) is the one thing checks read:
- `retained(facts, instance)`: every retained backup of every kind (automated and on-demand runs, the
  Backups resource's AUTOMATED / ON_DEMAND / FINAL entries, Backup and DR backups), each once;
- `engine(facts, instance)`: the per-engine reading (MySQL's PITR is the binary log);
- `backupdr(facts, instance)`: for an ENHANCED-tier instance, its association, data source, plan
  rule, vault and backups, and every read that is missing (a failed call, or a backup project the
  run never listed), so a check can judge it from Backup and DR or say exactly what it could not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from auditor.facts.backup_model import BackupPlan, BackupRule, BackupVault, DataSource, EngineSettings, PlanAssociation, RetainedBackup
from auditor.facts.model import CallGap, Facts, SqlInstance
from auditor.facts.read_backupdr import project_and_location
from auditor.unverified import entry as unverified_entry, not_collected


def engine(facts: Facts, instance: SqlInstance) -> EngineSettings | None:
    return facts.backups.engines.get(instance.resource)


def pitr_enabled(facts: Facts, instance: SqlInstance) -> bool | None:
    """Point-in-time recovery by engine (binaryLogEnabled for MySQL), falling back to the generic reading."""
    found = engine(facts, instance)
    return found.pitr_enabled if found is not None else instance.pitr_enabled


def retained(facts: Facts, instance: SqlInstance, usable_only: bool = True) -> list[RetainedBackup]:
    backups = facts.backups.retained_of(instance.resource)
    return [b for b in backups if b.usable] if usable_only else backups


@dataclass
class BackupdrView:
    """Everything Backup and DR says about one instance, and what could not be read."""

    associations: list[PlanAssociation] = field(default_factory=list)
    sources: list[DataSource] = field(default_factory=list)
    plans: list[BackupPlan] = field(default_factory=list)
    vaults: list[BackupVault] = field(default_factory=list)
    backups: list[RetainedBackup] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)  # unverified entries (auditor.unverified)
    evidence: list[str] = field(default_factory=list)

    @property
    def rules(self) -> list[BackupRule]:
        return [r for p in self.plans for r in p.rules]

    def reasons(self) -> str:
        return describe(self.missing)

    def window_start(self) -> time | None:
        hours = [r.schedule.window_start_hour for r in self.rules if r.schedule and r.schedule.window_start_hour is not None]
        return time(min(hours), 0, tzinfo=timezone.utc) if hours else None

    def window(self) -> timedelta | None:
        spans = [(r.schedule.window_end_hour or 24) - (r.schedule.window_start_hour or 0) for r in self.rules
                 if r.schedule and r.schedule.window_start_hour is not None]
        return timedelta(hours=max(spans)) if spans else None

    def retention_days(self) -> int | None:
        days = [r.retention_days for r in self.rules if r.retention_days]
        return min(days) if days else None

    def failing(self) -> list[str]:
        """Rules whose last backup did not succeed, in words."""
        out = []
        for association in self.associations:
            for rule in association.rules:
                if rule.last_state not in ("SUCCEEDED", "FIRST_BACKUP_PENDING", None):
                    last = f"; last success {rule.last_success:%Y-%m-%d %H:%M} UTC" if rule.last_success else ""
                    out.append(f"rule {rule.rule_id}: last backup {rule.last_state}"
                               f"{' (' + rule.last_error + ')' if rule.last_error else ''}{last}")
        return out


def describe(entries: list[dict[str, Any]]) -> str:
    """Unverified entries in words, each naming the call and the project or resource it was for."""
    from auditor.evidence.failure import KIND_WORDS

    out = []
    for m in entries:
        if m.get("kind") in ("not_collected", "incomplete_data") or not m.get("api"):
            out.append(m["message"])
        else:
            words = KIND_WORDS.get(m["kind"], m["kind"])
            out.append(f"{m['api']} {m['method']} for {m['scope']}: {words}" + (f" ({m['reason']})" if m.get("reason") else ""))
    return "; ".join(out)


def _read(facts: Facts, method: str, scope: str, missing: list[dict[str, Any]]) -> bool:
    if facts.coverage.was_read("backupdr", method, scope):
        return True
    gap: CallGap | None = facts.coverage.gap("backupdr", scope, method)
    missing.append(unverified_entry(gap) if gap else not_collected("backupdr", method, scope))
    return False


def backupdr(facts: Facts, instance: SqlInstance) -> BackupdrView:
    view = BackupdrView()
    found = facts.backups
    _read(facts, "backupPlanAssociations.list", f"projects/{instance.project}", view.missing)
    view.associations = [a for a in found.associations if a.store == instance.resource]
    for association in view.associations:
        view.evidence += list(association.evidence)
        plan_where = project_and_location(association.plan)
        if plan_where:
            _read(facts, "backupPlans.list", f"projects/{plan_where[0]}", view.missing)
        view.plans += [p for p in found.plans if p.name == association.plan]
        vault_name = association.data_source.split("/dataSources/")[0] if association.data_source else None
        for plan in view.plans:
            vault_name = vault_name or plan.vault
        vault_where = project_and_location(vault_name)
        if vault_name and vault_where:
            _read(facts, "backupVaults.list", f"projects/{vault_where[0]}", view.missing)
            vault = found.vault(vault_name)
            if vault:
                view.vaults.append(vault)
                view.evidence += list(vault.evidence)
                if _read(facts, "dataSources.list", vault_name, view.missing):
                    sources = [d for d in found.data_sources if d.vault == vault_name and
                               (d.store == instance.resource or d.name == association.data_source)]
                    view.sources += sources
                    for source in sources:
                        view.evidence += list(source.evidence)
                        _read(facts, "dataSources.backups.list", source.name, view.missing)
    for plan in view.plans:
        view.evidence += list(plan.evidence)
    view.backups = [b for b in found.retained_of(instance.resource) if b.source == "backupdr"]
    view.evidence += [e for b in view.backups for e in b.evidence]
    view.missing = list({(m.get("call"), m.get("method"), m.get("scope")): m for m in view.missing}.values())
    return view


def no_association(instance: SqlInstance) -> str:
    return (f"{instance.display}: its backups are managed by Backup and DR (backupTier ENHANCED), but no backup plan "
            "association names it")


def immutable(vaults: list[BackupVault], moment: datetime) -> bool:
    return bool(vaults) and all(v.immutable_at(moment) for v in vaults)
