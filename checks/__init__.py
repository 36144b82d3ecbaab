"""Built-in checks, listed explicitly (third-party checks use the `auditor.checks` entry-point group)."""

from auditor.checks import backup_enabled, backup_encryption_parity, backup_frequency, backup_monitoring, restore_testing

BUILTIN = [
    backup_enabled.CHECK,
    backup_frequency.CHECK,
    backup_encryption_parity.CHECK,
    backup_monitoring.CHECK,
    restore_testing.CHECK,
]
