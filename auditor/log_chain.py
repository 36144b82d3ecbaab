"""Daily collection that does not grow with the period: each audit-log query starts where the
previous locker's coverage ended (`--since PREV`).

A quarter judged from daily lockers needs the Admin Activity and system-event log of the whole
period, but not from every locker: the day's locker reads the log from where the locker it
continues had read it to, and the spans chain when facts are built from all of them
(auditor.facts.timeline merges touching spans). A break in that chain (a locker missing from the
ones given, the last locker's query failed) leaves its time uncovered: those days are unknown, and
the findings name the stretch (checks/days.py).

Where each scope's query starts, per scope (`projects/P`):
- the end of the previous locker's complete query of that scope (`covered.to`), less OVERLAP
  (Logging may make an entry readable minutes after its timestamp; the two answers overlap, and
  entries merge by `insertId`);
- where the previous locker's query of that scope failed or was partial, the start that locker
  used (`previous.log_from`): the new query reads that day again, so one failed day is healed by
  the next, not left as a hole;
- a scope the previous locker never read: the period's start, as without `--since`.

The previous locker is trusted only after it verifies: its manifest reads and has the evidence
shape, every item it lists matches its recorded SHA-256, and, when it sits in a pack, the pack's
SHA256SUMS line for its manifest matches. A locker that does not is an error naming it (exit 1
for a digest mismatch, 2 for a manifest that cannot be read), before anything is collected.
The new locker's manifest records the link (`previous`: the locker's id, manifest SHA-256 and
as-of time, and `log_from`, where each scope's query started).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.errors import EvidenceError, TamperedError
from auditor.evidence.locker import MANIFEST, Locker, iso
from auditor.evidence.shape import timestamp

#: how far a query reaches back before the previous one's end (late-arriving entries)
OVERLAP = timedelta(hours=1)
LOG_API, LOG_METHOD = "logging", "entries.list"
_START = re.compile(r'timestamp\s*>=\s*"([^"]+)"')  # the first (outermost) lower bound of the query's filter


@dataclass(frozen=True)
class LogChain:
    """The previous locker a collection continues, and where each scope's audit-log query starts."""

    link: dict[str, Any]  # what the manifest records as `previous`
    starts: dict[str, datetime] = field(default_factory=dict)

    def start_for(self, scope: str, default: datetime) -> datetime:
        """Where the query of `scope` starts: the chain's end for it, else `default` (the period's start)."""
        return self.starts.get(scope, default)


def locker_folder(folder: Path) -> Path:
    """A locker folder (holding manifest.json) or a pack folder (holding evidence/manifest.json)."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file() and (folder / "evidence" / MANIFEST).is_file():
        return folder / "evidence"
    return folder


def trusted(folder: Path) -> Locker:
    """The previous locker, read and verified; EvidenceError (2) or TamperedError (1) naming it otherwise."""
    where = locker_folder(folder)
    try:
        locker = Locker(where)
    except TamperedError:
        raise
    except EvidenceError as err:
        raise EvidenceError(f"--since {folder}: not a locker this one can continue: {err}") from err
    try:
        for item_id in locker.items:
            locker.body(item_id)  # each page against the digest the manifest records
    except TamperedError as err:
        raise TamperedError(f"--since {folder}: the previous locker does not verify, so nothing is continued "
                            f"from it: {err}") from err
    except EvidenceError as err:
        raise EvidenceError(f"--since {folder}: the previous locker cannot be read: {err}") from err
    _check_pack_sum(where, locker)
    return locker


def _check_pack_sum(where: Path, locker: Locker) -> None:
    """In a pack, SHA256SUMS vouches for the locker's manifest: it must still match."""
    sums = where.parent / "SHA256SUMS"
    if where.name != "evidence" or not sums.is_file():
        return
    try:
        lines = sums.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EvidenceError(f"--since {where.parent}: {sums} cannot be read: {err}") from err
    for line in lines:
        digest, _, name = line.partition("  ")
        if name.strip().lstrip("*") == f"evidence/{MANIFEST}":
            if digest.strip() != locker.manifest_sha256:
                raise TamperedError(f"--since {where.parent}: evidence/{MANIFEST} does not match its line in {sums}: "
                                    "the previous locker was changed after its pack was written")
            return


def chain_starts(locker: Locker) -> dict[str, datetime]:
    """Per scope, where the next query starts after `locker`: its complete query's covered end less
    OVERLAP, else (the query failed or was partial) where its own query of that scope started."""
    previous = locker.manifest.get("previous")
    carried = previous.get("log_from") if isinstance(previous, dict) and isinstance(previous.get("log_from"), dict) else {}
    ends: dict[str, datetime] = {}
    failed: dict[str, datetime] = {}
    for call in locker.calls(LOG_API, LOG_METHOD):
        scope = call.get("scope")
        covered = call.get("covered") if isinstance(call.get("covered"), dict) else {}
        end = timestamp(covered.get("to"))
        if call.get("outcome") == "ok" and end is not None:
            ends[scope] = max(end, ends.get(scope, end))
        else:
            bound = _START.search(str((call.get("params") or {}).get("filter", "")))
            start = timestamp(bound.group(1)) if bound else timestamp(carried.get(scope))
            if start is not None:
                failed[scope] = min(start, failed.get(scope, start))
    starts = {scope: end - OVERLAP for scope, end in ends.items()}
    for scope, start in failed.items():
        starts.setdefault(scope, start)  # the failed query's span is read again by the next locker
    return starts


def continue_from(folder: Path, organization: str | None) -> LogChain:
    """The chain a collection made with `--since folder` continues (verified), and where its queries start."""
    locker = trusted(folder)
    config = locker.manifest.get("config") if isinstance(locker.manifest.get("config"), dict) else {}
    theirs = config.get("organization")
    if organization is not None and theirs is not None and theirs != organization:
        raise EvidenceError(f"--since {folder}: a locker of organisation {theirs!r}, not {organization!r}")
    starts = chain_starts(locker)
    link = {"locker_id": str(locker.manifest.get("locker_id")), "manifest_sha256": locker.manifest_sha256,
            "as_of": str(locker.manifest.get("as_of")), "found": "--since",
            "log_from": {scope: iso(start) for scope, start in sorted(starts.items())}}
    return LogChain(link, starts)
