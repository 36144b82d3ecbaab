"""A Cloud SQL instance's backup settings, read per engine and edition (a pure function of one instances.list item).

Why per engine: the switch for point-in-time recovery is not the same field everywhere. MySQL's
is `binaryLogEnabled` ("(MySQL only) Whether binary log is enabled"; the docs enable MySQL PITR
with --enable-bin-log); PostgreSQL and SQL Server use `pointInTimeRecoveryEnabled`. Reading only
the latter reports a MySQL instance with PITR on as "off". How many days of logs may be kept
depends on the edition: 1-7 for Enterprise, up to 35 for Enterprise Plus (the discovery document
still says "1-7"; the edition pages say 35). A value beyond the edition's limit is not believed.
"""

from __future__ import annotations

from typing import Any

from auditor.facts.backup_model import EngineSettings
from auditor.facts.access import boolean, get, integer, text

ENTERPRISE_LOG_DAYS = 7
ENTERPRISE_PLUS_LOG_DAYS = 35
TIERS = ("STANDARD", "ENHANCED", "ADVANCED")
LOG_STORAGE = ("DISK", "SWITCHING_TO_CLOUD_STORAGE", "SWITCHED_TO_CLOUD_STORAGE", "CLOUD_STORAGE")


def engine_of(database_version: str | None) -> str | None:
    """MYSQL_8_0 -> mysql, POSTGRES_16 -> postgres, SQLSERVER_2022_STANDARD -> sqlserver."""
    version = (database_version or "").upper()
    for prefix, engine in (("MYSQL", "mysql"), ("POSTGRES", "postgres"), ("SQLSERVER", "sqlserver")):
        if version.startswith(prefix):
            return engine
    return None


def log_limit(edition: str | None) -> int:
    return ENTERPRISE_PLUS_LOG_DAYS if edition == "ENTERPRISE_PLUS" else ENTERPRISE_LOG_DAYS


def engine_settings(data: dict[str, Any]) -> EngineSettings:
    """The per-engine reading of one DatabaseInstance (instances.list item, or a backup's instanceSettings)."""
    settings = get(data, "settings") if isinstance(get(data, "settings"), dict) else {}
    backup = get(settings, "backupConfiguration") if isinstance(get(settings, "backupConfiguration"), dict) else {}
    engine = engine_of(text(data, "databaseVersion"))
    edition = text(settings, "edition")
    edition = None if edition == "EDITION_UNSPECIFIED" else edition
    problems: list[str] = []
    if engine == "mysql":
        field = "binaryLogEnabled"
        pitr = boolean(backup, "binaryLogEnabled")
    else:
        field = "pointInTimeRecoveryEnabled"
        pitr = boolean(backup, "pointInTimeRecoveryEnabled")
        if pitr is None and boolean(backup, "replicationLogArchivingEnabled") is not None:
            problems.append("only the deprecated replicationLogArchivingEnabled is reported; pointInTimeRecoveryEnabled is absent")
    if engine is None:
        problems.append(f"database version {text(data, 'databaseVersion')!r} names no known engine, so the "
                        "point-in-time recovery field is uncertain")
    if pitr is None and backup.get("enabled") is not False:
        problems.append(f"settings.backupConfiguration.{field} is missing, so whether point-in-time recovery is on is unknown")
    limit = log_limit(edition)
    days = integer(backup, "transactionLogRetentionDays")
    if days is not None and not 1 <= days <= limit:
        problems.append(f"transactionLogRetentionDays {days} is outside the {edition or 'ENTERPRISE'} edition's 1-{limit} days")
        days = None
    tier = text(backup, "backupTier")
    tier = None if tier in (None, "BACKUP_TIER_UNSPECIFIED") else tier
    storage = text(backup, "transactionalLogStorageState")
    final = get(settings, "finalBackupConfig") if isinstance(get(settings, "finalBackupConfig"), dict) else {}
    return EngineSettings(
        engine=engine, edition=edition, pitr_enabled=pitr, pitr_field=field,
        log_retention_days=days, log_retention_limit=limit,
        log_storage=storage if storage in LOG_STORAGE else None,
        backup_tier=tier,
        retain_backups_on_delete=boolean(settings, "retainBackupsOnDelete"),
        final_backup_enabled=boolean(final, "enabled"),
        final_backup_retention_days=integer(final, "retentionDays"),
        deletion_protection=boolean(settings, "deletionProtectionEnabled"),
        problems=tuple(problems),
    )


def backups_after_deletion(engine: EngineSettings) -> int | None:
    """How many days some backup outlives the instance's deletion: a final backup's retention, or
    None when neither a final backup nor retained backups are configured (or it is unknown).
    retainBackupsOnDelete keeps ON_DEMAND backups until deleted and AUTOMATED ones by their own
    retention, so it counts as 'kept', without a number of days (returned as 0)."""
    if engine.final_backup_enabled and engine.final_backup_retention_days:
        return engine.final_backup_retention_days
    if engine.retain_backups_on_delete:
        return 0
    return None
