"""Built-in checks, listed explicitly (third-party checks use the `auditor.checks` entry-point group)."""

from auditor.checks import backup_enabled, backup_frequency
from auditor.checks import source_backup_coverage, source_backup_freshness, source_backup_integrity

BUILTIN = [
    backup_enabled.CHECK,
    backup_frequency.CHECK,
    source_backup_coverage.CHECK,
    source_backup_freshness.CHECK,
    source_backup_integrity.CHECK,
]
