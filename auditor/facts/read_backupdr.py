"""Google Cloud Backup and DR (backupdr v1): pure readers, one per resource, from one list item each.

What the API shapes and why the readers do what they do:
- A BackupVault has no `location` field: it is the `locations/{l}` segment of its name.
- A vault is immutable when it enforces a minimum retention (`backupMinimumEnforcedRetentionDuration`,
  a duration such as "2592000s") and is locked: `effectiveTime` is "the time after which the
  BackupVault is locked". Without `effectiveTime` the retention can still be lowered.
- Backup plan associations carry one `rulesConfigInfo[]` entry per rule: the last backup's state
  (FIRST_BACKUP_PENDING, PERMISSION_DENIED, SUCCEEDED, FAILED), the last success's consistency
  time and the last error (a google.rpc.Status).
- A Backup's `consistencyTime` is the point it captured; `enforcedRetentionEndTime` is when it can
  first be deleted and `expireTime` when it will be; `verificationSummary` holds the last automated
  restore verification. Its location is its vault's.
- Every list except resourceBackupConfigs carries `unreachable[]`: locations not read, so the
  answer is partial (the locker and the build mark it so: auditor.facts.access.partial_marks).
Resources are named by the API as a path (`projects/p/instances/i`) or a full resource name
(`//sqladmin.googleapis.com/projects/p/instances/i`); `store_of` maps both onto the auditor's names.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from auditor.facts.backup_model import (
    BackupPlan,
    BackupRule,
    BackupSchedule,
    BackupVault,
    DataSource,
    PlanAssociation,
    ProtectionSummary,
    RestoreVerificationPlan,
    RetainedBackup,
    RuleState,
    VaultRestore,
)
from auditor.facts.model import sql_resource
from auditor.facts.access import boolean, get, integer, text, timestamp

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")
_SQL_PATH = re.compile(r"^projects/([^/]+)/instances/([^/]+)$")
_NAMED = re.compile(r"^projects/([^/]+)/locations/([^/]+)/")
SQL_RESOURCE_TYPES = ("sqladmin.googleapis.com/Instance", "sql.googleapis.com/Instance", "cloudsql.googleapis.com/Instance",
                      "CLOUD_SQL_INSTANCE")


def duration(value: Any) -> timedelta | None:
    """A google-duration string ("604800s", "3.5s") as a timedelta; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    if not match:
        return None
    try:
        return timedelta(seconds=float(match.group(1)))
    except OverflowError:  # "99999999999999999999s": longer than any date can express, so malformed
        return None


def project_and_location(name: str | None) -> tuple[str, str] | None:
    """projects/P/locations/L/... -> (P, L)."""
    match = _NAMED.match(name or "")
    return (match.group(1), match.group(2)) if match else None


def store_of(resource: str | None, resource_type: str | None = None) -> str | None:
    """The auditor's full resource name for what Backup and DR protects (Cloud SQL: //cloudsql.googleapis.com/...)."""
    if not resource:
        return None
    host, path = None, resource
    if resource.startswith("//"):
        host, _, path = resource[2:].partition("/")
    match = _SQL_PATH.match(path)
    if match and (host in (None, "sqladmin.googleapis.com", "cloudsql.googleapis.com", "sql.googleapis.com")
                  or (resource_type or "") in SQL_RESOURCE_TYPES):
        return sql_resource(match.group(1), match.group(2).split(":")[-1])
    if host:
        return resource
    if path.startswith("projects/") and "/disks/" in path:
        return f"//compute.googleapis.com/{path}"
    return None


def _status_message(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return None
    return text(value, "message") or (f"error code {value.get('code')}" if value.get("code") is not None else "an error")


def vault(data: Any, evidence: str) -> BackupVault | None:
    where = project_and_location(text(data, "name"))
    if not isinstance(data, dict) or where is None:
        return None
    return BackupVault(
        name=data["name"], project=where[0], location=where[1].lower(), state=text(data, "state"),
        minimum_enforced_retention=duration(get(data, "backupMinimumEnforcedRetentionDuration")),
        locked_from=timestamp(get(data, "effectiveTime")), access_restriction=text(data, "accessRestriction"),
        retention_inheritance=text(data, "backupRetentionInheritance"),
        kms_key=text(data, "encryptionConfig", "kmsKeyName"), backup_count=integer(data, "backupCount"),
        evidence=(evidence,))


def schedule(data: Any) -> BackupSchedule | None:
    if not isinstance(data, dict):
        return None
    window = get(data, "backupWindow") if isinstance(get(data, "backupWindow"), dict) else {}
    days = get(data, "daysOfWeek")
    months = get(data, "daysOfMonth")
    return BackupSchedule(
        recurrence=text(data, "recurrenceType"), hourly_frequency=integer(data, "hourlyFrequency"),
        days_of_week=tuple(d for d in days if isinstance(d, str)) if isinstance(days, list) else (),
        days_of_month=tuple(d for d in months if isinstance(d, int)) if isinstance(months, list) else (),
        time_zone=text(data, "timeZone"),
        window_start_hour=integer(window, "startHourOfDay") if window else None,
        window_end_hour=integer(window, "endHourOfDay") if window else None)


def plan(data: Any, evidence: str) -> BackupPlan | None:
    where = project_and_location(text(data, "name"))
    if not isinstance(data, dict) or where is None:
        return None
    rules = tuple(BackupRule(text(r, "ruleId") or f"rule-{n}", integer(r, "backupRetentionDays"), schedule(get(r, "standardSchedule")))
                  for n, r in enumerate(get(data, "backupRules") or []) if isinstance(r, dict))
    return BackupPlan(name=data["name"], project=where[0], location=where[1].lower(), resource_type=text(data, "resourceType"),
                      vault=text(data, "backupVault"), state=text(data, "state"), rules=rules,
                      log_retention_days=integer(data, "logRetentionDays"), evidence=(evidence,))


def rule_state(data: dict[str, Any]) -> RuleState:
    return RuleState(rule_id=text(data, "ruleId") or "", last_state=text(data, "lastBackupState"),
                     last_success=timestamp(get(data, "lastSuccessfulBackupConsistencyTime")),
                     last_error=_status_message(get(data, "lastBackupError")))


def association(data: Any, evidence: str) -> PlanAssociation | None:
    where = project_and_location(text(data, "name"))
    if not isinstance(data, dict) or where is None or not text(data, "resource"):
        return None
    kind = text(data, "resourceType")
    return PlanAssociation(
        name=data["name"], project=where[0], location=where[1].lower(), resource=data["resource"],
        store=store_of(data["resource"], kind), resource_type=kind, plan=text(data, "backupPlan"),
        data_source=text(data, "dataSource"), state=text(data, "state"),
        rules=tuple(rule_state(r) for r in get(data, "rulesConfigInfo") or [] if isinstance(r, dict)),
        instance_create_time=timestamp(get(data, "cloudSqlInstanceBackupPlanAssociationProperties", "instanceCreateTime")),
        evidence=(evidence,))


def data_source(data: Any, evidence: str) -> DataSource | None:
    name = text(data, "name")
    if not isinstance(data, dict) or not name or "/dataSources/" not in name:
        return None
    resource = get(data, "dataSourceGcpResource") if isinstance(get(data, "dataSourceGcpResource"), dict) else {}
    kind = text(resource, "type")
    config = get(data, "backupConfigInfo") if isinstance(get(data, "backupConfigInfo"), dict) else {}
    return DataSource(
        name=name, vault=name.split("/dataSources/")[0],
        store=store_of(text(resource, "gcpResourcename") or text(resource, "cloudSqlInstanceDatasourceProperties", "name"), kind),
        resource_type=kind, state=text(data, "state"), config_state=text(data, "configState"),
        backup_count=integer(data, "backupCount"), last_state=text(config, "lastBackupState"),
        last_success=timestamp(get(config, "lastSuccessfulBackupConsistencyTime")),
        plan=text(config, "gcpBackupConfig", "backupPlan"), association=text(config, "gcpBackupConfig", "backupPlanAssociation"),
        evidence=(evidence,))


def backup(data: Any, evidence: str, source: DataSource | None = None, vaults: dict[str, BackupVault] | None = None) -> RetainedBackup | None:
    """One dataSources.backups item as a retained backup of the store it came from (its data source's, or
    the one its own gcpResource / cloudSqlInstanceBackupProperties names)."""
    name = text(data, "name")
    if not isinstance(data, dict) or not name or "/backups/" not in name:
        return None
    sql = get(data, "cloudSqlInstanceBackupProperties") if isinstance(get(data, "cloudSqlInstanceBackupProperties"), dict) else {}
    store = (source.store if source else None) or store_of(text(data, "gcpResource", "gcpResourcename"), text(data, "gcpResource", "type")) \
        or store_of(text(sql, "sourceInstance"), "sqladmin.googleapis.com/Instance")
    if not store:
        return None
    vault_name = name.split("/dataSources/")[0]
    where = project_and_location(name)
    held_in = (vaults or {}).get(vault_name)
    versions = [v for v in get(data, "kmsKeyVersions") or [] if isinstance(v, str) and v]
    summary = get(data, "verificationSummary") if isinstance(get(data, "verificationSummary"), dict) else {}
    state = text(data, "state") or "STATE_UNSPECIFIED"
    return RetainedBackup(
        instance=store, key=f"backupdr:{name}", kind=text(data, "backupType") or "BACKUP_TYPE_UNSPECIFIED", state=state,
        usable=state == "ACTIVE", taken_at=timestamp(get(data, "consistencyTime")),
        location=where[1].lower() if where else None,
        kms_key=(versions[0].split("/cryptoKeyVersions/")[0] if versions else (held_in.kms_key if held_in else None)),
        kms_key_version=versions[0] if versions else None,
        expires_at=timestamp(get(data, "expireTime")), source="backupdr", evidence=(evidence,),
        enforced_until=timestamp(get(data, "enforcedRetentionEndTime")),
        instance_deleted_at=timestamp(get(sql, "instanceDeleteTime")) if boolean(sql, "finalBackup") else None,
        vault=vault_name, verified=text(summary, "lastVerificationState"),
        verified_at=timestamp(get(summary, "lastVerificationTime")))


def summary(data: Any, evidence: str) -> ProtectionSummary | None:
    target = text(data, "targetResource")
    if not isinstance(data, dict) or not target:
        return None
    details = [d for d in get(data, "backupConfigsDetails") or [] if isinstance(d, dict)]
    latest = [t for t in (timestamp(get(d, "latestSuccessfulBackupTime")) for d in details) if t]
    kind = text(data, "targetResourceType")
    return ProtectionSummary(
        target=store_of(target, kind) or target, target_type=kind, configured=boolean(data, "backupConfigured"),
        vaulted=boolean(data, "vaulted"), sources=tuple(text(d, "backupConfigSource") or "" for d in details),
        vaults=tuple(v for v in (text(d, "backupVault") for d in details) if v),
        latest_success=max(latest) if latest else None,
        locations=tuple(sorted({(text(loc, "locationId") or "").lower() for d in details
                                for loc in get(d, "backupLocations") or [] if isinstance(loc, dict) and text(loc, "locationId")})),
        evidence=(evidence,),
        details=tuple((text(d, "type"), text(d, "state"), text(d, "backupConfigSource")) for d in details))


def verification_plan(data: Any, evidence: str) -> RestoreVerificationPlan | None:
    where = project_and_location(text(data, "name"))
    if not isinstance(data, dict) or where is None:
        return None
    return RestoreVerificationPlan(name=data["name"], project=where[0], location=where[1].lower(), schedule=text(data, "schedule"),
                                   time_zone=text(data, "timeZone") or "UTC", state=text(data, "state"), evidence=(evidence,))


def restore_operation(data: Any, evidence: str) -> VaultRestore | None:
    """One operations.list item, when it is a restore of a backup (metadata.verb "restore", target a backup)."""
    meta = get(data, "metadata") if isinstance(get(data, "metadata"), dict) else {}
    target, name = text(meta, "target"), text(data, "name")
    if not isinstance(data, dict) or not name or text(meta, "verb") != "restore" or not target or "/backups/" not in target:
        return None
    resource = get(data, "response", "targetResource", "gcpResource")
    resource = resource if isinstance(resource, dict) else {}
    done = boolean(data, "done") is True
    return VaultRestore(name=name, backup=target, started=timestamp(get(meta, "createTime")), ended=timestamp(get(meta, "endTime")),
                        done=done, error=_status_message(get(data, "error")),
                        into=store_of(text(resource, "gcpResourcename"), text(resource, "type")), evidence=(evidence,))


def named_projects(*names: str | None) -> set[str]:
    """The projects that plans, associations and data sources name (a vault often lives in a backup project)."""
    out = set()
    for name in names:
        where = project_and_location(name)
        if where:
            out.add(where[0])
    return out
