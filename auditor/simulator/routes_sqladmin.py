"""Cloud SQL Admin API v1: instances.list/get and backupRuns.list, as the real API shapes them.

backupRuns lists only RETAINED runs (the last ``retained_backups`` successful automated runs
plus failed ones inside that span), which is why a quarter's history needs the audit logs.
Page caps: instances.list maxResults <= 500, backupRuns.list maxResults <= 100 (default = cap).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor.locations import nearest_multi_region
from auditor.simulator.apierror import ApiError, not_found
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario import Project, Scenario, SqlInstance
from auditor.simulator.memo import memo
from auditor.simulator.timeline import Attempt, jitter, project_attempts

API = "sqladmin"
INSTANCES_CAP = 500
BACKUP_RUNS_CAP = 100
SELF = "https://sqladmin.googleapis.com/v1"


def ts(t: dt.datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Google writes times (hot: every entry and run has several)."""
    if t.tzinfo is not dt.timezone.utc:
        t = t.astimezone(dt.timezone.utc)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def _running(inst: SqlInstance, now: dt.datetime) -> bool:
    return not inst.stopped_at(now)


def instance_json(scenario: Scenario, project: Project, inst: SqlInstance, at: dt.datetime | None = None) -> dict[str, Any]:
    """The instance as instances.list shows it at `at` (the clock by default; a FINAL backup's snapshot: its deletion)."""
    at = at or scenario.now
    settings: dict[str, Any] = {
        "kind": "sql#settings",
        "tier": inst.tier,
        "activationPolicy": "ALWAYS" if _running(inst, at) else "NEVER",
        "availabilityType": "ZONAL",
        "dataDiskType": "PD_SSD",
        "userLabels": inst.labels_at(scenario.now),
    }
    if inst.type == "READ_REPLICA_INSTANCE":
        settings["backupConfiguration"] = {"kind": "sql#backupConfiguration", "enabled": True}
    elif inst.backup is not None:
        b = inst.backup
        cfg: dict[str, Any] = {
            "kind": "sql#backupConfiguration",
            "enabled": b.enabled_at(at),
            "startTime": b.start_time,
            "transactionLogRetentionDays": b.setting_at("log_retention_days", at),
            "backupRetentionSettings": {"retainedBackups": b.setting_at("retained_backups", at),
                                        "retentionUnit": "COUNT"},
        }
        if inst.database_version.startswith("MYSQL"):
            cfg["binaryLogEnabled"] = b.binary_log  # MySQL's PITR switch; pointInTimeRecoveryEnabled is not MySQL's
        else:
            cfg["pointInTimeRecoveryEnabled"] = b.setting_at("pitr", at)
        if b.log_storage:
            cfg["transactionalLogStorageState"] = b.log_storage
        if b.setting_at("location", at):
            cfg["location"] = b.setting_at("location", at)
        if b.tier:
            cfg["backupTier"] = b.tier
        settings["backupConfiguration"] = cfg
    else:
        settings["backupConfiguration"] = {"kind": "sql#backupConfiguration", "enabled": False,
                                           "startTime": "00:00"}
    if inst.edition:
        settings["edition"] = inst.edition
    if inst.retain_backups_on_delete is not None:
        settings["retainBackupsOnDelete"] = inst.retain_backups_on_delete
    if inst.final_backup_days:
        settings["finalBackupConfig"] = {"enabled": True, "retentionDays": inst.final_backup_days}
    body: dict[str, Any] = {
        "kind": "sql#instance",
        "name": inst.name,
        "project": project.id,
        "connectionName": f"{project.id}:{inst.region}:{inst.name}",
        "region": inst.region,
        "gceZone": inst.zone or f"{inst.region}-b",
        "databaseVersion": inst.database_version,
        "backendType": "SECOND_GEN",
        "state": inst.state,
        "instanceType": inst.type,
        "createTime": ts(inst.create_time),
        "settings": settings,
        "selfLink": f"{SELF}/projects/{project.id}/instances/{inst.name}",
    }
    if inst.master:
        body["masterInstanceName"] = f"{project.id}:{inst.master}"
    replicas = [r.name for r in project.sql_instances if r.master == inst.name]
    if replicas:
        body["replicaNames"] = replicas
    if inst.kms_key:
        body["diskEncryptionConfiguration"] = {"kind": "sql#diskEncryptionConfiguration", "kmsKeyName": inst.kms_key}
        body["diskEncryptionStatus"] = {"kind": "sql#diskEncryptionStatus",
                                        "kmsKeyVersionName": f"{inst.kms_key}/cryptoKeyVersions/"
                                                             f"{inst.live_key_version(scenario.now.date())}"}
    return body


def runs_location(inst: SqlInstance, at: dt.datetime | None = None) -> str:
    """Where the instance's backups land: the scenario's override, the location configured at `at`, else the nearest multi-region."""
    b = inst.backup
    configured = b.setting_at("location", at) if at is not None else b.location
    return b.runs_location or configured or nearest_multi_region(inst.region) or "us"


def backup_runs(scenario: Scenario, project: Project, inst: SqlInstance) -> list[dict[str, Any]]:
    """Retained runs of one instance, newest first."""
    runs: list[dict[str, Any]] = []
    attempts: list[Attempt] = [a for a in project_attempts(scenario, project).get(inst.name, [])
                               if a.status in ("STATUS_SUCCEEDED", "STATUS_FAILED")]
    for a in reversed(attempts):  # newest first
        if a.backup_start is None or a.backup_start > scenario.now:
            continue
        enqueued = a.backup_start - dt.timedelta(seconds=jitter(a.project, a.instance, a.day, lo=5, hi=50))
        run: dict[str, Any] = {
            "kind": "sql#backupRun",
            "id": str(int(enqueued.timestamp()) * 1000 + jitter(a.project, a.instance, lo=0, hi=999)),
            "instance": inst.name,
            "type": "AUTOMATED",
            "backupKind": "SNAPSHOT",
            "enqueuedTime": ts(enqueued),
            "startTime": ts(a.backup_start),
            "windowStartTime": ts(a.window_start),
            "location": runs_location(inst, a.window_start),
        }
        if a.status == "STATUS_FAILED" and a.timestamp <= scenario.now:
            run["status"] = "FAILED"
            run["endTime"] = ts(a.timestamp)
            run["error"] = {"kind": "sql#operationError", "code": "INTERNAL_ERROR",
                            "message": "An internal error occurred during the automated backup."}
        elif a.status == "STATUS_SUCCEEDED" and a.backup_end is not None and a.backup_end <= scenario.now:
            run["status"] = "SUCCESSFUL"
            run["endTime"] = ts(a.backup_end)
        else:
            run["status"] = "RUNNING"
        if inst.kms_key:
            run["diskEncryptionConfiguration"] = {"kind": "sql#diskEncryptionConfiguration",
                                                  "kmsKeyName": inst.kms_key}
            run["diskEncryptionStatus"] = {"kind": "sql#diskEncryptionStatus",
                                           "kmsKeyVersionName": f"{inst.kms_key}/cryptoKeyVersions/"
                                                                f"{inst.backup_key_version(a.day)}"}
        run["selfLink"] = f"{SELF}/projects/{project.id}/instances/{inst.name}/backupRuns/{run['id']}"
        runs.append(run)
    kept, successes = [], 0
    for run in runs:
        if successes >= inst.backup.setting_at("retained_backups", scenario.now):
            break
        kept.append(run)
        successes += run["status"] == "SUCCESSFUL"
    # ON_DEMAND runs are kept until deleted (not counted against the automated retention)
    kept += [on_demand_run(project, inst, b) for b in inst.on_demand if b.time <= scenario.now]
    kept.sort(key=lambda r: r["enqueuedTime"], reverse=True)
    return kept


def on_demand_run(project: Project, inst: SqlInstance, b) -> dict[str, Any]:
    run: dict[str, Any] = {
        "kind": "sql#backupRun", "id": str(int(b.time.timestamp()) * 1000 + 1), "instance": inst.name, "type": "ON_DEMAND",
        "backupKind": "SNAPSHOT", "status": b.status, "enqueuedTime": ts(b.time), "startTime": ts(b.time + dt.timedelta(seconds=20)),
        "location": b.location or runs_location(inst)}
    if b.status != "RUNNING":
        run["endTime"] = ts(b.time + dt.timedelta(minutes=9))
    if inst.kms_key:
        run["diskEncryptionConfiguration"] = {"kind": "sql#diskEncryptionConfiguration", "kmsKeyName": inst.kms_key}
        run["diskEncryptionStatus"] = {"kind": "sql#diskEncryptionStatus",
                                       "kmsKeyVersionName": f"{inst.kms_key}/cryptoKeyVersions/{inst.backup_key_version(b.time.date())}"}
    run["selfLink"] = f"{SELF}/projects/{project.id}/instances/{inst.name}/backupRuns/{run['id']}"
    return run


def project_backup_runs(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    """Retained runs of every listed instance of a project (instance="-"), newest first; cached (memo.py)."""
    def build() -> list[dict[str, Any]]:
        runs = [r for i in project.sql_instances if i.backup is not None and _listed(i, scenario.now) and i.admin_listed
                for r in backup_runs(scenario, project, i)]
        runs.sort(key=lambda r: (r["enqueuedTime"], r["instance"]), reverse=True)
        return runs

    return memo(scenario).get(("runs", project.id), build)


def project_instances(scenario: Scenario, project: Project) -> list[dict[str, Any]]:
    """What instances.list shows of a project; cached (memo.py)."""
    return memo(scenario).get(("instances", project.id), lambda: [
        instance_json(scenario, project, i) for i in project.sql_instances if _listed(i, scenario.now) and i.admin_listed])


def _listed(inst: SqlInstance, now: dt.datetime) -> bool:
    """Created by the clock and not yet deleted."""
    return inst.exists_at(now)


def _instance(req: Request, project: Project) -> SqlInstance:
    inst = project.instance(req.params["instance"])
    if inst is None or not (_listed(inst, req.scenario.now) and inst.admin_listed):
        raise not_found("The Cloud SQL instance does not exist.", reason="instanceDoesNotExist")
    return inst


def list_instances(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], API)
    if req.query.get("filter"):
        raise ApiError(400, "The simulator does not support instances.list filter.", reason="invalid")
    size = page_size(req.query.get("maxResults"), name="maxResults", default=INSTANCES_CAP, cap=INSTANCES_CAP)
    items = project_instances(req.scenario, project)
    page, nxt = paginate(items, req.query.get("pageToken"), size, query_key("instances", project.id))
    out: dict[str, Any] = {"kind": "sql#instancesList"}
    if page:
        out["items"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


def get_instance(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], API)
    return instance_json(req.scenario, project, _instance(req, project))


def list_backup_runs(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], API)
    name = req.params["instance"]
    if name == "-":
        runs = project_backup_runs(req.scenario, project)
    else:
        inst = _instance(req, project)
        runs = backup_runs(req.scenario, project, inst) if inst.backup is not None else []
    size = page_size(req.query.get("maxResults"), name="maxResults", default=BACKUP_RUNS_CAP, cap=BACKUP_RUNS_CAP)
    page, nxt = paginate(runs, req.query.get("pageToken"), size, query_key("backupRuns", project.id, name))
    out: dict[str, Any] = {"kind": "sql#backupRunsList"}
    if page:
        out["items"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


_PAGED = frozenset({"maxResults", "pageToken"})
ROUTES = [
    Route("GET", "/v1/projects/{project}/instances", API, list_instances, _PAGED | {"filter"}),
    Route("GET", "/v1/projects/{project}/instances/{instance}", API, get_instance),
    Route("GET", "/v1/projects/{project}/instances/{instance}/backupRuns", API, list_backup_runs, _PAGED),
]
