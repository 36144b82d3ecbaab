"""Google Cloud Backup and DR v1 (backupdr), the read methods the collectors use, shaped as the API shapes them.

Lists take `pageSize` (capped at 500 here; the API states only "server default") and `pageToken`;
`filter`/`orderBy` are declared by the API but not supported here (a non-empty value is a 400, so a
collector can never believe a filter was applied). `{location}` may be `-` (all locations, as the
API documents for vaults, plans, associations, data sources and restore verification plans).
Every answer but resourceBackupConfigs carries `unreachable[]` when the project has unreachable
regions. Vaults have no `location` field (it is in the name); durations are "Ns" strings.

Everything is derived from the scenario: an ENHANCED instance's `backupdr.plan` names a plan, whose
vault holds one data source for the instance, with one backup per daily run inside the rule's
window, kept for the rule's retention days; from `failed_from` on, runs fail (the association's
lastBackupState is FAILED with lastBackupError).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Iterator

from auditor.simulator.apierror import ApiError, not_found
from auditor.simulator.memo import memo
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario import Project, Scenario, SqlInstance
from auditor.simulator.scenario_backupdr import BackupPlan, BackupRule, BackupVault
from auditor.simulator.timeline import jitter

API = "backupdr"
CAP = 500
SQL_TYPE = "sqladmin.googleapis.com/Instance"


def vault_name(project: Project, vault: BackupVault) -> str:
    return f"projects/{project.id}/locations/{vault.location}/backupVaults/{vault.id}"


def plan_name(project: Project, plan: BackupPlan) -> str:
    return f"projects/{project.id}/locations/{plan.location}/backupPlans/{plan.id}"


def _duration(days: int) -> str:
    return f"{days * 86400}s"


def _find_plan(scenario: Scenario, name: str) -> tuple[Project, BackupPlan] | None:
    for project in scenario.projects:
        for plan in project.backup_plans:
            if plan_name(project, plan) == name:
                return project, plan
    return None


def protected(scenario: Scenario) -> list[tuple[Project, SqlInstance, Project, BackupPlan, BackupVault]]:
    """(workload project, instance, plan project, plan, vault) of every ENHANCED instance with a plan that exists."""
    def build():
        out = []
        for project in scenario.projects:
            for inst in project.sql_instances:
                found = _find_plan(scenario, inst.backupdr.plan) if inst.backupdr else None
                if found:
                    plan_project, plan = found
                    vault = next(v for v in plan_project.backup_vaults if v.id == plan.vault)
                    out.append((project, inst, plan_project, plan, vault))
        return out

    return memo(scenario).get(("backupdr-protected",), build)


def data_source_name(workload: Project, inst: SqlInstance, plan_project: Project, vault: BackupVault) -> str:
    digest = hashlib.sha256(f"{workload.id}|{inst.name}".encode()).hexdigest()[:16]
    return f"{vault_name(plan_project, vault)}/dataSources/ds-{digest}"


def _runs(scenario: Scenario, inst: SqlInstance, rule: BackupRule) -> Iterator[tuple[dt.datetime, bool]]:
    """(scheduled consistency time, succeeded) of every daily run up to the clock, oldest first."""
    start = inst.backupdr.protected_since or inst.create_time
    day = max(scenario.history_start - dt.timedelta(days=rule.retention_days), start.date())
    while day <= scenario.now.date():
        at = dt.datetime(day.year, day.month, day.day, rule.window_start_hour, tzinfo=dt.timezone.utc) + dt.timedelta(
            minutes=jitter(inst.name, day, "bdr", lo=8, hi=40))
        if start <= at <= scenario.now and inst.exists_at(at):
            yield at, not (inst.backupdr.failed_from and day >= inst.backupdr.failed_from)
        day += dt.timedelta(days=1)


def _backups(scenario: Scenario, workload: Project, inst: SqlInstance, plan_project: Project, plan: BackupPlan,
             vault: BackupVault) -> list[dict[str, Any]]:
    source = data_source_name(workload, inst, plan_project, vault)
    rule = plan.rules[0]
    every = inst.backupdr.verified_every_days
    out = []
    for at, ok in _runs(scenario, inst, rule):
        expire = at + dt.timedelta(days=rule.retention_days)
        if not ok or expire <= scenario.now:
            continue
        body: dict[str, Any] = {
            "name": f"{source}/backups/{at:%Y%m%d%H%M}", "state": "ACTIVE", "backupType": "SCHEDULED",
            "consistencyTime": ts(at), "createTime": ts(at + dt.timedelta(minutes=3)), "updateTime": ts(at + dt.timedelta(minutes=9)),
            "expireTime": ts(expire), "resourceSizeBytes": str(10 * 1024 ** 3),
            "backupRetentionInheritance": "INHERIT_VAULT_RETENTION",
            "gcpBackupPlanInfo": {"backupPlan": plan_name(plan_project, plan), "backupPlanRuleId": rule.id,
                                  "backupPlanRevisionId": "1"},
            "gcpResource": {"gcpResourcename": f"projects/{workload.id}/instances/{inst.name}", "location": inst.region,
                            "type": SQL_TYPE},
            "cloudSqlInstanceBackupProperties": {"sourceInstance": f"projects/{workload.id}/instances/{inst.name}",
                                                 "finalBackup": False, "instanceCreateTime": ts(inst.create_time),
                                                 "instanceTier": inst.tier, "databaseInstalledVersion": inst.database_version}}
        if vault.min_retention_days:
            body["enforcedRetentionEndTime"] = ts(at + dt.timedelta(days=vault.min_retention_days))
        if vault.kms_key:
            body["kmsKeyVersions"] = [f"{vault.kms_key}/cryptoKeyVersions/1"]
        verified = at + dt.timedelta(hours=4)
        if every and (at.date() - dt.date(2026, 1, 5)).days % every == 0 and verified <= scenario.now:
            body["verificationSummary"] = {"lastVerificationState": "SUCCEEDED", "lastVerificationTime": ts(verified),
                                           "lastVerificationExecution": f"{plan_name(plan_project, plan)}/executions/{at:%Y%m%d}"}
        out.append(body)
    return sorted(out, key=lambda b: b["consistencyTime"], reverse=True)


def _last(scenario: Scenario, inst: SqlInstance, rule: BackupRule) -> tuple[str, dt.datetime | None]:
    runs = list(_runs(scenario, inst, rule))
    successes = [at for at, ok in runs if ok]
    if not runs:
        return "FIRST_BACKUP_PENDING", None
    return ("SUCCEEDED" if runs[-1][1] else "FAILED"), (successes[-1] if successes else None)


def _rule_info(scenario: Scenario, inst: SqlInstance, rule: BackupRule) -> dict[str, Any]:
    state, success = _last(scenario, inst, rule)
    info: dict[str, Any] = {"ruleId": rule.id, "lastBackupState": state}
    if success:
        info["lastSuccessfulBackupConsistencyTime"] = ts(success)
    if state == "FAILED":
        info["lastBackupError"] = {"code": 13, "message": inst.backupdr.error}
    return info


def _in(location: str, wanted: str) -> bool:
    return wanted == "-" or location == wanted


def _project(req: Request) -> Project:
    project = req.project(req.params["project"], API)
    for name in ("filter", "orderBy"):
        if req.query.get(name):
            raise ApiError(400, f"The simulator does not support {name} on Backup and DR lists.", reason="invalid")
    return project


def _page(req: Request, project: Project, field: str, items: list[dict[str, Any]], *parts: Any, partial: bool = True) -> dict[str, Any]:
    size = page_size(req.query.get("pageSize"), name="pageSize", default=CAP, cap=CAP)
    page, nxt = paginate(items, req.query.get("pageToken"), size, query_key("backupdr", field, project.id, *parts))
    out: dict[str, Any] = {field: page} if page else {}
    if nxt:
        out["nextPageToken"] = nxt
    if partial and project.unreachable_regions:
        out["unreachable"] = list(project.unreachable_regions)
    return out


def vault_json(project: Project, vault: BackupVault, scenario: Scenario) -> dict[str, Any]:
    held = [p for p in protected(scenario) if p[2] is project and p[4] is vault]
    body: dict[str, Any] = {
        "name": vault_name(project, vault), "state": vault.state, "accessRestriction": vault.access_restriction,
        "backupMinimumEnforcedRetentionDuration": _duration(vault.min_retention_days),
        "backupRetentionInheritance": "INHERIT_VAULT_RETENTION", "createTime": ts(vault.create_time),
        "updateTime": ts(vault.create_time), "deletable": not held,
        "backupCount": str(sum(len(_backups(scenario, *p[:2], p[2], p[3], p[4])) for p in held)),
        "serviceAccount": f"vault-{project.number}@gcp-sa-backupdr-pr.iam.gserviceaccount.com", "uid": vault.id + "-uid"}
    if vault.locked_from:
        body["effectiveTime"] = ts(vault.locked_from)
    if vault.kms_key:
        body["encryptionConfig"] = {"kmsKeyName": vault.kms_key}
    return body


def list_vaults(req: Request) -> dict[str, Any]:
    project = _project(req)
    items = [vault_json(project, v, req.scenario) for v in project.backup_vaults if _in(v.location, req.params["location"])]
    return _page(req, project, "backupVaults", items, req.params["location"])


def list_plans(req: Request) -> dict[str, Any]:
    project = _project(req)
    items = []
    for plan in project.backup_plans:
        if not _in(plan.location, req.params["location"]):
            continue
        vault = next(v for v in project.backup_vaults if v.id == plan.vault)
        body: dict[str, Any] = {
            "name": plan_name(project, plan), "resourceType": plan.resource_type, "supportedResourceTypes": [plan.resource_type],
            "backupVault": vault_name(project, vault), "state": "ACTIVE", "revisionId": "1",
            "revisionName": f"{plan_name(project, plan)}/revisions/1",
            "backupRules": [{"ruleId": r.id, "backupRetentionDays": r.retention_days,
                             "standardSchedule": {"recurrenceType": r.recurrence, "timeZone": "UTC",
                                                  **({"hourlyFrequency": r.hourly_frequency} if r.hourly_frequency else {}),
                                                  "backupWindow": {"startHourOfDay": r.window_start_hour,
                                                                   "endHourOfDay": r.window_end_hour}}} for r in plan.rules]}
        if plan.log_retention_days:
            body["logRetentionDays"] = str(plan.log_retention_days)
        items.append(body)
    return _page(req, project, "backupPlans", items, req.params["location"])


def list_associations(req: Request) -> dict[str, Any]:
    project = _project(req)
    items = []
    for workload, inst, plan_project, plan, vault in protected(req.scenario):
        if workload is not project or not _in(inst.region, req.params["location"]) or not inst.exists_at(req.scenario.now):
            continue
        name = f"projects/{project.id}/locations/{inst.region}/backupPlanAssociations/{inst.name}"
        items.append({
            "name": name, "resource": f"projects/{project.id}/instances/{inst.name}", "resourceType": SQL_TYPE,
            "backupPlan": plan_name(plan_project, plan), "backupPlanRevisionId": "1", "state": "ACTIVE",
            "dataSource": data_source_name(workload, inst, plan_project, vault),
            "createTime": ts(inst.backupdr.protected_since or inst.create_time),
            "rulesConfigInfo": [_rule_info(req.scenario, inst, r) for r in plan.rules],
            "cloudSqlInstanceBackupPlanAssociationProperties": {"instanceCreateTime": ts(inst.create_time)}})
    return _page(req, project, "backupPlanAssociations", items, req.params["location"])


def _vault(req: Request, project: Project) -> BackupVault:
    vault = next((v for v in project.backup_vaults if v.id == req.params["vault"] and v.location == req.params["location"]), None)
    if vault is None:
        raise not_found(f"Resource 'projects/{project.id}/locations/{req.params['location']}/backupVaults/{req.params['vault']}' "
                        "was not found", reason="notFound")
    return vault


def list_data_sources(req: Request) -> dict[str, Any]:
    project = _project(req)
    vault = _vault(req, project)
    items = []
    for workload, inst, plan_project, plan, held_in in protected(req.scenario):
        if plan_project is not project or held_in is not vault:
            continue
        backups = _backups(req.scenario, workload, inst, plan_project, plan, vault)
        state, success = _last(req.scenario, inst, plan.rules[0])
        config: dict[str, Any] = {"lastBackupState": state, "gcpBackupConfig": {
            "backupPlan": plan_name(plan_project, plan), "backupPlanRevisionId": "1",
            "backupPlanAssociation": f"projects/{workload.id}/locations/{inst.region}/backupPlanAssociations/{inst.name}",
            "backupPlanRules": [r.id for r in plan.rules]}}
        if success:
            config["lastSuccessfulBackupConsistencyTime"] = ts(success)
        if state == "FAILED":
            config["lastBackupError"] = {"code": 13, "message": inst.backupdr.error}
        items.append({
            "name": data_source_name(workload, inst, plan_project, vault), "state": "ACTIVE",
            "configState": "ACTIVE" if inst.exists_at(req.scenario.now) else "PASSIVE",
            "backupCount": str(len(backups)), "backupConfigInfo": config, "createTime": ts(inst.create_time),
            "dataSourceGcpResource": {"gcpResourcename": f"projects/{workload.id}/instances/{inst.name}", "location": inst.region,
                                      "type": SQL_TYPE,
                                      "cloudSqlInstanceDatasourceProperties": {"name": f"projects/{workload.id}/instances/{inst.name}",
                                                                               "databaseInstalledVersion": inst.database_version,
                                                                               "instanceCreateTime": ts(inst.create_time),
                                                                               "instanceTier": inst.tier}}})
    return _page(req, project, "dataSources", items, vault.id)


def list_backups(req: Request) -> dict[str, Any]:
    project = _project(req)
    vault = _vault(req, project)
    for workload, inst, plan_project, plan, held_in in protected(req.scenario):
        if plan_project is project and held_in is vault and \
                data_source_name(workload, inst, plan_project, vault).endswith("/" + req.params["source"]):
            items = _backups(req.scenario, workload, inst, plan_project, plan, vault)
            return _page(req, project, "backups", items, vault.id, req.params["source"])
    raise not_found(f"Resource 'dataSources/{req.params['source']}' was not found", reason="notFound")


def list_resource_configs(req: Request) -> dict[str, Any]:
    """The protection summary of the project's Cloud SQL instances (no `unreachable` in this answer)."""
    project = _project(req)
    by_instance = {inst.name: (plan_project, plan, vault) for workload, inst, plan_project, plan, vault in protected(req.scenario)
                   if workload is project}
    items = []
    for inst in project.sql_instances:
        if not inst.exists_at(req.scenario.now) or inst.type != "CLOUD_SQL_INSTANCE" or not _in(inst.region, req.params["location"]):
            continue
        details = []
        told = inst.backupdr.summary if inst.backupdr is not None else "actual"
        if told == "unlisted":
            continue
        if told == "unprotected":
            pass  # Google's summary shows no backup configuration at all
        elif inst.name in by_instance:
            plan_project, plan, vault = by_instance[inst.name]
            state, success = _last(req.scenario, inst, plan.rules[0])
            detail: dict[str, Any] = {"type": "BACKUPDR_BACKUP_PLAN", "state": "ACTIVE", "backupConfigSource": plan_name(plan_project, plan),
                                      "backupVault": vault_name(plan_project, vault),
                                      "backupLocations": [{"locationId": vault.location, "type": "REGIONAL"}]}
            if success:
                detail["latestSuccessfulBackupTime"] = ts(success)
            details.append(detail)
        elif inst.backup is not None and inst.backup.enabled_at(req.scenario.now):
            details.append({"type": "CLOUD_SQL_INSTANCE_BACKUP_CONFIG", "state": "ACTIVE",
                            "backupConfigSource": f"projects/{project.id}/instances/{inst.name}",
                            "backupLocations": [{"locationId": inst.backup.location or "us", "type": "REGIONAL"}]})
        uid = hashlib.sha256(f"{project.id}|{inst.name}".encode()).hexdigest()[:12]
        items.append({"name": f"projects/{project.id}/locations/{inst.region}/resourceBackupConfigs/{uid}", "uid": uid,
                      "targetResource": f"//sqladmin.googleapis.com/projects/{project.id}/instances/{inst.name}",
                      "targetResourceDisplayName": inst.name, "targetResourceType": "CLOUD_SQL_INSTANCE",
                      "backupConfigured": bool(details), "vaulted": any("backupVault" in d for d in details),
                      "backupConfigsDetails": details})
    return _page(req, project, "resourceBackupConfigs", items, req.params["location"], partial=False)


def _restore_operations(scenario: Scenario, project: Project, location: str) -> list[dict[str, Any]]:
    """The restores from the project's vaults, as long-running operations (metadata: verb `restore`, target the
    backup; response: the resource restored into), newest first."""
    out = []
    for workload, inst, plan_project, plan, vault in protected(scenario):
        if plan_project is not project or not _in(vault.location, location):
            continue
        source = data_source_name(workload, inst, plan_project, vault)
        runs = [at for at, ok in _runs(scenario, inst, plan.rules[0]) if ok]
        for restore in inst.backupdr.restores:
            if restore.time > scenario.now:
                continue
            taken = [at for at in runs if at < restore.time]
            if not taken:
                continue
            digest = hashlib.sha256(f"{source}|{restore.time.isoformat()}".encode()).hexdigest()[:20]
            end = restore.time + dt.timedelta(minutes=restore.minutes)
            done = end <= scenario.now
            meta: dict[str, Any] = {"@type": "type.googleapis.com/google.cloud.backupdr.v1.OperationMetadata",
                                    "createTime": ts(restore.time), "target": f"{source}/backups/{taken[-1]:%Y%m%d%H%M}",
                                    "verb": "restore", "requestedCancellation": False, "apiVersion": "v1"}
            op: dict[str, Any] = {"name": f"projects/{project.id}/locations/{vault.location}/operations/operation-{digest}",
                                  "metadata": meta, "done": done}
            if done:
                meta["endTime"] = ts(end)
                if restore.error:
                    op["error"] = {"code": 13, "message": restore.error}
                else:
                    op["response"] = {"@type": "type.googleapis.com/google.cloud.backupdr.v1.RestoreBackupResponse",
                                      "targetResource": {"gcpResource": {
                                          "gcpResourcename": f"projects/{workload.id}/instances/{restore.into}",
                                          "location": inst.region, "type": SQL_TYPE}}}
            out.append(op)
    return sorted(out, key=lambda o: o["metadata"]["createTime"], reverse=True)


def list_operations(req: Request) -> dict[str, Any]:
    """operations.list of a project's location (`-`: every location, as the API documents with returnPartialSuccess)."""
    project = req.project(req.params["project"], API)
    if req.query.get("filter"):
        raise ApiError(400, "The simulator does not support filter on Backup and DR operations.", reason="invalid")
    items = _restore_operations(req.scenario, project, req.params["location"])
    return _page(req, project, "operations", items, "operations", req.params["location"])


def list_verification_plans(req: Request) -> dict[str, Any]:
    project = _project(req)
    items = [{"name": f"projects/{project.id}/locations/{p.location}/restoreVerificationPlans/{p.id}", "schedule": p.schedule,
              "timeZone": "UTC", "state": p.state} for p in project.restore_verification_plans if _in(p.location, req.params["location"])]
    return _page(req, project, "restoreVerificationPlans", items, req.params["location"])


_LIST = frozenset({"pageSize", "pageToken", "filter", "orderBy"})
_BASE = "/v1/projects/{project}/locations/{location}"
ROUTES = [
    Route("GET", f"{_BASE}/backupVaults", API, list_vaults, _LIST | {"view"}),
    Route("GET", f"{_BASE}/backupPlans", API, list_plans, _LIST),
    Route("GET", f"{_BASE}/backupPlanAssociations", API, list_associations, frozenset({"pageSize", "pageToken", "filter"})),
    Route("GET", f"{_BASE}/backupVaults/{{vault}}/dataSources", API, list_data_sources, _LIST),
    Route("GET", f"{_BASE}/backupVaults/{{vault}}/dataSources/{{source}}/backups", API, list_backups, _LIST | {"view"}),
    Route("GET", f"{_BASE}/resourceBackupConfigs", API, list_resource_configs, _LIST),
    Route("GET", f"{_BASE}/restoreVerificationPlans", API, list_verification_plans, _LIST),
    Route("GET", f"{_BASE}/operations", API, list_operations, frozenset({"pageSize", "pageToken", "filter", "returnPartialSuccess"})),
]
