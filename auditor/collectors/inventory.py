"""The declared inventory, read into the evidence locker like any API page, with its git history.

The data map is the company's own record, but the checks must re-perform from the locker alone,
so its exact text is stored as evidence (with the file's SHA-256) by a call of api "inventory".
The file is validated before any API call is made: a malformed map is a configuration error
(exit 2), not an inconclusive control.

A Type II period asks which map was in force on each day. A daily locker answers that for its own
day; for the other days, when the file lives in a git repository (`inventory_history: auto`), each
commit that touched it is stored too (its time and its text as committed), so the version in force
at each day's end can be read from the locker. No repository, or git not installed, is said in the
stored page: those days stay unknown, never assumed to be today's map.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

from auditor.evidence.capture import record_local
from auditor.inventory import load_inventory
from auditor.scheduler import Call

GIT_TIMEOUT = 20  # seconds for one git command on a local repository
MAX_VERSIONS = 400  # a data map edited more than daily for a year is cut here (the page says so)


def _git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} exited {done.returncode}")
    return done.stdout.decode("utf-8", "replace")


def git_history(path: Path) -> dict[str, Any]:
    """The commits that touched `path`, newest first: {repository, path, versions[{commit, time, sha256, text}]}
    or {problem} when there is no history to read (no repository, no git, the file never committed)."""
    folder = path.resolve().parent
    if shutil.which("git") is None:
        return {"problem": "git is not installed, so the data map's git history could not be read"}
    try:
        top = _git(["rev-parse", "--show-toplevel"], folder).strip()
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return {"problem": f"{path.name} is not in a git repository"}
    relative = path.resolve().relative_to(Path(top).resolve()).as_posix()
    try:
        log = _git(["log", f"--max-count={MAX_VERSIONS + 1}", "--format=%H %cI", "--", relative], Path(top))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
        return {"problem": f"git log of the data map failed: {err}"}
    versions, truncated = [], False
    for number, line in enumerate(log.splitlines()):
        if number == MAX_VERSIONS:
            truncated = True
            break
        commit, _, when = line.partition(" ")
        try:
            text = _git(["show", f"{commit}:{relative}"], Path(top))
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            text = None  # the commit deleted the file: no version in force from then
        versions.append({"commit": commit, "time": when, "deleted": text is None, "text": text,
                         "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None})
    if not versions:
        return {"problem": f"the data map ({relative}) was never committed to its git repository"}
    return {"repository": top, "path": relative, "versions": versions, "truncated": truncated}


def scope_calls(ctx) -> Iterator[Call]:
    path = ctx.config.inventory
    if path is None:
        return
    load_inventory(path)  # raises ConfigError naming file, line and key
    with_history = getattr(ctx.config, "inventory_history", "auto") == "auto"

    def read() -> None:
        text, _inventory = load_inventory(path)
        data = text.encode("utf-8")
        body: dict[str, Any] = {"documents": [{"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "text": text}]}
        body["git"] = git_history(path) if with_history else {
            "problem": "inventory_history: none"}
        record_local(path.resolve().as_uri(), json.dumps(body, indent=1).encode())

    yield Call("inventory", "read", {"path": str(path)}, "inventory", read)
