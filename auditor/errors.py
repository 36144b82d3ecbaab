"""One exception hierarchy for the library; only the CLI turns these into messages and exit codes."""


class AuditorError(Exception):
    """Base of every error the auditor raises on purpose."""

    exit_code = 2


class ConfigError(AuditorError):
    """The configuration (or a file it points at) is invalid; the message names file, key and value."""


class ScenarioError(AuditorError):
    """A simulator scenario file is invalid."""


class EvidenceError(AuditorError):
    """An evidence locker is missing, unreadable or inconsistent."""


class TamperedError(EvidenceError):
    """Evidence differs from what its manifest vouches for (a digest mismatch, a listed item gone):
    tampering, exit 1 in `check` as in `verify`."""

    exit_code = 1


class OutputError(AuditorError):
    """The output folder cannot be written (no space left, read-only, permission denied) or is taken
    by another run: the run stops (exit 2), leaves no temporary file and no pack claiming to be complete."""


class CollectionError(AuditorError):
    """Collection could not start at all (as opposed to individual calls failing, which are evidence)."""

    exit_code = 3


class ReportError(AuditorError):
    """A report could not be rendered."""
