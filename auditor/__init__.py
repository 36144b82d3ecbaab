"""SOC 2 backup-evidence auditor: checks a Backup Policy's promises on Google Cloud and GitHub."""

TOOL_NAME = "soc2-backup-auditor"
__version__ = "0.1.0"
