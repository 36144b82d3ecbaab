"""Built-in checks, listed explicitly (third-party checks use the `auditor.checks` entry-point group)."""

from auditor.checks import backup_cross_region, backup_enabled, backup_frequency, backup_retention
from auditor.checks import inventory_classification, inventory_completeness

BUILTIN = [
    backup_enabled.CHECK,
    backup_frequency.CHECK,
    inventory_completeness.CHECK,
    inventory_classification.CHECK,
    backup_cross_region.CHECK,
    backup_retention.CHECK,
]
