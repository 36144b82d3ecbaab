"""The shape of a scenario's organisation as the auditing identity would see it (auditor.cost's input).

Read from the simulator's own data (what each listing would return), never from a locker, so a test
can compare the requests a collection made with the formula independently of the collectors.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from auditor.config import Config
from auditor.collectors.kms import key_history_filter
from auditor.cost import BACKUP_PROJECT, OrgShape, ProjectShape
from auditor.facts.projects import asset_scopes
from auditor.logfilter import compile_filter
from auditor.period import Period
from auditor.simulator.routes_cloudasset import project_assets
from auditor.simulator.routes_logging import project_entries
from auditor.simulator.routes_sqladmin import project_backup_runs, project_instances
from auditor.simulator.routes_sqlbackups import project_backups
from auditor.simulator.scenario import Project, Scenario

REPLICAS = ("READ_REPLICA_INSTANCE", "READ_POOL_INSTANCE")
MONITORING = frozenset({("logging", "metrics.list"), ("monitoring", "alertPolicies.list"),
                        ("monitoring", "notificationChannels.list"), ("logging", "entries.list")})


def _usable(project: Project | None, api: str) -> bool:
    return project is not None and api not in project.apis_disabled and api not in project.permission_denied


def _scope_projects(scenario: Scenario, scope: str) -> list[Project]:
    kind, _, ident = scope.partition("/")
    if kind == "organizations":
        return list(scenario.projects) if ident == scenario.organization.id else []
    if kind == "folders":
        return [p for p in scenario.projects if p.folder == ident]
    found = next((p for p in scenario.projects if ident in (p.id, p.number)), None)
    return [found] if _usable(found, "cloudasset") else []


def _operations_needed(project: Project, name: str, now: datetime, horizon: datetime, cap: int = 500) -> int:
    """Operations the collector reads for one instance: every page up to the first reaching past the horizon."""
    inst = project.instance(name)
    times = sorted((o.time for o in inst.operations if o.time <= now), reverse=True) if inst else []
    for index, moment in enumerate(times):
        if moment < horizon:
            return min(len(times), (index // cap + 1) * cap)
    return len(times)


BACKUPDR_LISTS = ("backupVaults.list", "backupPlans.list", "backupPlanAssociations.list", "resourceBackupConfigs.list",
                  "restoreVerificationPlans.list", "operations.list")


def _backupdr_shape(scenario: Scenario, project: Project, keys: dict[str, str]) -> dict:
    """What the Backup and DR listings of one project return (and the keys its backups name)."""
    from auditor.simulator import routes_backupdr as bdr

    held = bdr.protected(scenario)
    sources, backups = [], []
    for vault in project.backup_vaults:
        mine = [p for p in held if p[2] is project and p[4] is vault]
        sources.append(len(mine))
        for workload, inst, plan_project, plan, _vault in mine:
            items = bdr._backups(scenario, workload, inst, plan_project, plan, vault)
            backups.append(len(items))
            for item in items:
                for version in item.get("kmsKeyVersions") or []:
                    keys.setdefault(version.split("/cryptoKeyVersions/")[0], project.id)
    associations = [p for p in held if p[0] is project and p[1].exists_at(scenario.now)]
    summaries = [i for i in project.sql_instances if i.exists_at(scenario.now) and i.type == "CLOUD_SQL_INSTANCE"]
    return dict(bdr_vaults=len(project.backup_vaults), bdr_plans=len(project.backup_plans), bdr_associations=len(associations),
                bdr_summaries=len(summaries), bdr_verification_plans=len(project.restore_verification_plans),
                bdr_operations=len(bdr._restore_operations(scenario, project, "-")),
                bdr_sources=tuple(sources), bdr_backups=tuple(backups))


def _backup_projects(scenario: Scenario, audited: list[str]) -> list[str]:
    """Projects a plan or an association of an audited project names, not audited themselves."""
    from auditor.simulator import routes_backupdr as bdr

    out = []
    for workload, _inst, plan_project, _plan, _vault in bdr.protected(scenario):
        if workload.id in audited and plan_project.id not in audited:
            out.append(plan_project.id)
    return list(dict.fromkeys(out))


def org_shape(scenario: Scenario, config: Config, asset_types: tuple[str, ...] | None = None) -> OrgShape:
    from auditor.collectors import assets, logging as logging_collector

    types = asset_types or assets.ASSET_TYPES
    period = Period.from_config(config.period)
    start, end = period.starts_at - timedelta(days=1), period.ends_at + timedelta(days=1)
    intervals = [c.restore_test_interval for c in config.policy.classifications.values() if c.restore_test_interval]
    horizon = period.starts_at - max(intervals, default=timedelta(0))

    asset_results, audited = [], list(config.gcp.projects)
    history_names: dict[str, set[str]] = {}
    reaches = assets.history_window(period, scenario.now) is not None
    for scope in asset_scopes(config.gcp):
        found = [a for p in _scope_projects(scenario, scope) for a in project_assets(scenario, p) if a["assetType"] in types]
        asset_results.append(len(found))
        for p in _scope_projects(scenario, scope):
            for a in project_assets(scenario, p):
                if reaches and a["assetType"] in types and a["assetType"] in assets.DATA_STORE_TYPES:
                    history_names.setdefault(p.id, set()).add(a["name"])
        audited += [a["additionalAttributes"]["projectId"] for a in found if a["assetType"] == assets.PROJECT_TYPE]
    audited = list(dict.fromkeys(audited))
    monitoring_only = [config.gcp.monitoring_project] if config.gcp.monitoring_project and \
        config.gcp.monitoring_project not in audited else []

    shapes, keys = [], {}
    for ident in audited + monitoring_only:
        project = scenario.project(ident)
        unreadable = set()
        for method, api in (("instances.list", "sqladmin"), ("backupRuns.list", "sqladmin"), ("entries.list", "logging"),
                            ("metrics.list", "logging"), ("alertPolicies.list", "monitoring"),
                            ("notificationChannels.list", "monitoring"), ("buckets.list", "storage"),
                            ("Backups.list", "sqladmin"), *((m, "backupdr") for m in BACKUPDR_LISTS)):
            if not _usable(project, api):
                unreadable.add((api, method))
        if project is None:
            shapes.append(ProjectShape(ident, unreadable=frozenset(unreadable)))
            continue
        if ident in monitoring_only:  # not audited: the monitoring collector's three listings and its audit log
            wanted = compile_filter(logging_collector.cloudsql_audit_filter(ident, start, end))
            shapes.append(ProjectShape(ident, log_metrics=len(project.log_metrics), alert_policies=len(project.alert_policies),
                                       notification_channels=len(project.notification_channels),
                                       audit_entries=sum(1 for e in project_entries(scenario, project) if wanted(e))
                                       if _usable(project, "logging") else 0,
                                       unreadable=frozenset(unreadable), only=MONITORING))
            continue
        listed = project_instances(scenario, project) if _usable(project, "sqladmin") else []
        runs = project_backup_runs(scenario, project) if _usable(project, "sqladmin") else []
        wanted = compile_filter(logging_collector.cloudsql_audit_filter(ident, start, end))
        primaries = [i["name"] for i in listed if i.get("instanceType") not in REPLICAS and not i.get("masterInstanceName")]
        for item in listed + runs:
            for name in ((item.get("diskEncryptionConfiguration") or {}).get("kmsKeyName"),
                         (item.get("diskEncryptionStatus") or {}).get("kmsKeyVersionName")):
                if name:
                    keys.setdefault(name.split("/cryptoKeyVersions/")[0], ident)
        for item in (project_backups(scenario, project) if _usable(project, "sqladmin") else []):
            if item.get("kmsKey"):
                keys.setdefault(item["kmsKey"].split("/cryptoKeyVersions/")[0], ident)
        bdr = _backupdr_shape(scenario, project, keys) if _usable(project, "backupdr") else {}
        shapes.append(ProjectShape(
            ident, instances=len(listed), backup_runs=len(runs),
            sql_backups=len(project_backups(scenario, project)) if _usable(project, "sqladmin") else 0, **bdr,
            audit_entries=sum(1 for e in project_entries(scenario, project) if wanted(e)) if _usable(project, "logging") else 0,
            log_metrics=len(project.log_metrics), alert_policies=len(project.alert_policies),
            notification_channels=len(project.notification_channels),
            buckets=sum(1 for b in project.buckets if b.admin_listed and not b.gone_at(scenario.now)) if _usable(project, "storage") else 0,
            operations=tuple(_operations_needed(project, name, scenario.now, horizon) for name in primaries),
            asset_history_names=len(history_names.get(ident, ())), unreadable=frozenset(unreadable)))
    for ident in _backup_projects(scenario, audited):
        project = scenario.project(ident)
        unreadable = {("backupdr", m) for m in ("backupVaults.list", "backupPlans.list")} if not _usable(project, "backupdr") else set()
        bdr = _backupdr_shape(scenario, project, keys) if _usable(project, "backupdr") else {}
        shapes.append(ProjectShape(ident, **bdr, unreadable=frozenset(unreadable), only=BACKUP_PROJECT))
    key_versions, key_entries = [], []
    for key in keys:
        parts = key.split("/")
        owner = scenario.project(parts[1]) if len(parts) > 1 else None
        match = [k for k in (owner.kms_keys if _usable(owner, "cloudkms") else [])
                 if k.full_name(owner.id) == key]
        key_versions.append((len(match[0].states_at(scenario.now)[0]) if match[0].history else len(match[0].versions))
                            if match else 0)
        # the key's own history query (auditor.collectors.kms): its entries, where the key's project serves Logging
        history = compile_filter(key_history_filter(key, start))
        key_entries.append(sum(1 for e in project_entries(scenario, owner) if history(e))
                           if owner is not None and _usable(owner, "logging") else 0)
    return OrgShape(tuple(shapes), tuple(asset_results), tuple(key_versions), tuple(keys.values()), tuple(key_entries))

