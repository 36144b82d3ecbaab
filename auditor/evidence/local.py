"""Local observations as evidence: every git command run on a backup, and every file looked at.

Reading a backup is information produced by the entity just like an API response, so each command
goes through `run` (and each file-system look through `observe`), which stores what was run, where,
the exit code and the output as one page of the running call, via the same capture layer as HTTP.
Git runs with system and global configuration ignored, no prompts, C locale, and
`safe.directory=*` (a backup owned by the backup job's user must still be readable by the auditor).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.evidence.capture import record_local

TIMEOUT_SECONDS = 600
MAX_OUTPUT = 256 * 1024
_GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
            "GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True)
class Output:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def _store(label: str, payload: dict[str, Any]) -> None:
    record_local(label, json.dumps(payload, indent=1, sort_keys=True).encode())


def git(*args: str, cwd: Path) -> Output:
    """Run `git -C cwd ARGS`, record it, and return its output. A timeout raises TimeoutError."""
    argv = ["git", "-c", "safe.directory=*", "-C", str(cwd), *args]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_SECONDS, env={**os.environ, **_GIT_ENV})
    except subprocess.TimeoutExpired as err:
        _store(f"local:git {' '.join(args)}", {"command": ["git", *args], "cwd": str(cwd), "exit_code": None,
                                                 "error": f"timed out after {TIMEOUT_SECONDS} s"})
        raise TimeoutError(f"git {args[0]} on {cwd} timed out after {TIMEOUT_SECONDS} s") from err
    except OSError as err:
        raise RuntimeError(f"cannot run git: {err.strerror or err}") from err
    out = Output(proc.returncode, proc.stdout[:MAX_OUTPUT].decode("utf-8", "replace"),
                 proc.stderr[:MAX_OUTPUT].decode("utf-8", "replace"))
    _store(f"local:git {' '.join(args)}", {"command": ["git", *args], "cwd": str(cwd), "exit_code": out.exit_code,
                                            "stdout": out.stdout, "stderr": out.stderr})
    return out


def observe(what: str, data: dict[str, Any]) -> None:
    """Record a look at the file system (a folder listing, a file's mtime) or a locally derived fact."""
    _store(f"local:{what}", {"observation": what, **data})
