"""Cloud SQL's retained backups of every kind: the v1 `Backups` resource, and ON_DEMAND backup runs.

`projects/{project}/backups` (ListBackups) lists AUTOMATED, ON_DEMAND and FINAL backups, each with
where it landed (`location`), its key (`kmsKey`, `kmsKeyVersion`), when it expires (`expiryTime`;
`ttlDays` is input-only and never read back) and, for a FINAL backup, when its instance was
deleted and a snapshot of that instance (`instanceSettings`). A FINAL backup is the only Cloud
SQL evidence left of an instance deleted during the period. An answer carrying a `warnings[]`
entry with code REGION_UNREACHABLE is incomplete: the regions it names were not read.

Backup runs (`backupRuns.list`) of type ON_DEMAND prove nothing about the automated schedule, so
the frequency facts skip them; but they are retained backups, so placement, encryption and
retention must see them: `on_demand_run` turns one into a RetainedBackup.
"""

from __future__ import annotations

from typing import Any

from auditor.facts.backup_model import RetainedBackup
from auditor.facts.model import sql_resource
from auditor.facts.access import get, string_map, text, timestamp

BACKUP_TYPES = ("AUTOMATED", "ON_DEMAND", "FINAL")
BACKUP_STATES = ("ENQUEUED", "RUNNING", "FAILED", "SUCCESSFUL", "DELETING", "DELETION_FAILED")
USABLE_STATES = ("SUCCESSFUL",)


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _instance_of(data: dict[str, Any], project: str) -> str | None:
    """The instance a backup belongs to: `instance` is the bare name (the project is the listing's own)."""
    name = text(data, "instance")
    if not name:
        return None
    if name.startswith("projects/") and "/instances/" in name:
        parts = name.split("/")
        return sql_resource(parts[1], parts[3]) if len(parts) >= 4 else None
    return sql_resource(project, name.split(":")[-1])


def sql_backup(data: Any, project: str, evidence: str) -> RetainedBackup | None:
    """One ListBackups item; None when it names no backup or no instance (nothing to tie it to)."""
    if not isinstance(data, dict):
        return None
    name, instance = text(data, "name"), _instance_of(data, project)
    if not name or not instance:
        return None
    kind = text(data, "type") or "SQL_BACKUP_TYPE_UNSPECIFIED"
    state = text(data, "state") or "SQL_BACKUP_STATE_UNSPECIFIED"
    snapshot = get(data, "instanceSettings") if isinstance(get(data, "instanceSettings"), dict) else {}
    run = text(data, "backupRun")
    return RetainedBackup(
        instance=instance, key=f"sqlbackup:{name}", kind=kind, state=state, usable=state in USABLE_STATES,
        taken_at=timestamp(get(data, "backupInterval", "startTime")),
        location=_lower(text(data, "location")),
        kms_key=text(data, "kmsKey"), kms_key_version=text(data, "kmsKeyVersion"),
        expires_at=timestamp(get(data, "expiryTime")), source="sql-backups", evidence=(evidence,),
        instance_deleted_at=timestamp(get(data, "instanceDeletionTime")),
        run_id=run.rsplit("/", 1)[-1] if run else None,
        source_region=text(snapshot, "region"),
        source_labels=string_map(get(snapshot, "settings", "userLabels")),
    )


def on_demand_run(data: Any, project: str, evidence: str) -> RetainedBackup | None:
    """A backupRuns.list item of type ON_DEMAND as a retained backup (automated runs are read by the
    frequency facts, auditor.facts.sources.backup_runs)."""
    if not isinstance(data, dict) or text(data, "type") != "ON_DEMAND":
        return None
    instance, run_id = text(data, "instance"), text(data, "id") or (str(data["id"]) if data.get("id") else None)
    if not instance or not run_id:
        return None
    status = text(data, "status") or "UNKNOWN"
    return RetainedBackup(
        instance=sql_resource(project, instance), key=f"run:{project}/{instance}/{run_id}", kind="ON_DEMAND",
        state=status, usable=status == "SUCCESSFUL",
        taken_at=timestamp(get(data, "endTime")) or timestamp(get(data, "startTime")) or timestamp(get(data, "enqueuedTime")),
        location=_lower(text(data, "location")),
        kms_key=text(data, "diskEncryptionConfiguration", "kmsKeyName"),
        kms_key_version=text(data, "diskEncryptionStatus", "kmsKeyVersionName"),
        expires_at=None, source="backup-run", evidence=(evidence,), run_id=run_id,
    )
