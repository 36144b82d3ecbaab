"""Built-in checks, listed explicitly (third-party checks use the `auditor.checks` entry-point group)."""

from auditor.checks import backup_cross_region, backup_enabled, backup_encryption_parity, backup_frequency, backup_monitoring
from auditor.checks import backup_retention, inventory_classification, inventory_completeness, restore_testing
from auditor.checks import source_backup_coverage, source_backup_freshness, source_backup_integrity

BUILTIN = [
    backup_enabled.CHECK,
    backup_frequency.CHECK,
    inventory_completeness.CHECK,
    inventory_classification.CHECK,
    backup_cross_region.CHECK,
    backup_encryption_parity.CHECK,
    backup_retention.CHECK,
    backup_monitoring.CHECK,
    restore_testing.CHECK,
    source_backup_coverage.CHECK,
    source_backup_freshness.CHECK,
    source_backup_integrity.CHECK,
]
