"""Built-in checks, listed explicitly (third-party checks use the `auditor.checks` entry-point group)."""

from auditor.checks import backup_enabled, backup_frequency

BUILTIN = [
    backup_enabled.CHECK,
    backup_frequency.CHECK,
]
