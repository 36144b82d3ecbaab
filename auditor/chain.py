"""Daily lockers chained day to day: each manifest records the digest of the manifest it continues.

A locker's manifest says `previous: {locker_id, manifest_sha256, as_of, found}` (or `previous: null`
for the first of a chain). The previous locker is the one given with `--since`, or else the newest
locker of the same organisation in the evidence root: the folder that holds the run's output folder
(`packs/2026-09-02/evidence` continues `packs/2026-09-01/evidence`).

Merging a quarter (`auditor check --evidence ... --evidence ...`) then checks that the lockers, in
the order of their `as_of`, form one unbroken chain, and names every break:
- a gap: a locker continues one that is not among those given (a locker removed from the middle);
- a fork or a re-made locker: a locker continues a given locker that is not the one just before it
  (two lockers continue the same one; or a day's locker was made again later, with a newer as_of);
- a re-made or altered locker: a locker continues one whose as_of (or id) a given locker has, with
  another digest (the day was collected again, or its manifest changed);
- an unchained locker: a manifest with no `previous` at all (made before chaining), or one that
  starts a new chain in the middle.
The chain proves order and completeness relative to the newest locker; it cannot prove when each
was written (all could have been made on the last day): that is the bucket's `timeCreated` under a
locked retention policy (auditor.bucket_evidence).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import EvidenceError
from auditor.evidence.locker import MANIFEST, SCHEMA
from auditor.reading import parse_json


@dataclass(frozen=True)
class LockerHead:
    """What the chain needs of a locker: where, its digest, id, as_of and the link it records."""

    where: str  # the locker's folder, or gs://bucket/object of its manifest
    sha256: str
    locker_id: str
    as_of: str
    organization: str | None
    previous: Any  # the manifest's `previous` (dict or None); MISSING when the key is absent
    chained: bool  # the manifest has a `previous` key at all


def read_head(folder: Path) -> LockerHead:
    """A locker folder (holding manifest.json) or a pack folder (holding evidence/manifest.json)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file() and (folder / "evidence" / MANIFEST).is_file():
        path = folder / "evidence" / MANIFEST
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise EvidenceError(f"{path}: no evidence manifest here ({err.strerror or err})") from err
    return head_from_bytes(raw, str(path.parent), str(path))


def head_from_bytes(raw: bytes, where: str, name: str) -> LockerHead:
    """`name` is what an error names (the manifest's path or object)."""
    # the one reading path's JSON rules (depth, numbers past 64 bits), as for every other input
    manifest = parse_json(raw, f"{name}: manifest", error=EvidenceError)
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise EvidenceError(f"{name}: not an evidence manifest")
    config = manifest.get("config") if isinstance(manifest.get("config"), dict) else {}
    return LockerHead(where, hashlib.sha256(raw).hexdigest(), str(manifest.get("locker_id")), str(manifest.get("as_of")),
                      config.get("organization"), manifest.get("previous"), "previous" in manifest)


def head_of(locker: Any) -> LockerHead:
    """The head of an already read auditor.evidence.locker.Locker (no second read of a large manifest)."""
    manifest = locker.manifest
    config = manifest.get("config") if isinstance(manifest.get("config"), dict) else {}
    return LockerHead(str(locker.root), locker.manifest_sha256, str(manifest.get("locker_id")), str(manifest.get("as_of")),
                      config.get("organization"), manifest.get("previous"), "previous" in manifest)


def link(head: LockerHead, found: str) -> dict[str, Any]:
    return {"locker_id": head.locker_id, "manifest_sha256": head.sha256, "as_of": head.as_of, "found": found}


def previous_for(evidence_dir: Path, organization: str | None, since: Path | None) -> dict[str, Any] | None:
    """The `previous` a new locker at `evidence_dir` records: `--since`, else the newest locker of the
    same organisation beside the run's folder, else None (the first of a chain)."""
    if since is not None:
        return link(read_head(since), "--since")
    out_dir = Path(evidence_dir).resolve().parent
    root = out_dir.parent
    best: LockerHead | None = None
    try:
        candidates = sorted(root.glob(f"*/evidence/{MANIFEST}"))
    except OSError:
        return None
    for manifest in candidates:
        if manifest.parent.parent.resolve() == out_dir or manifest.is_symlink():
            continue
        try:
            head = read_head(manifest.parent)
        except EvidenceError:
            continue  # an unreadable neighbour is not a locker this one can continue
        if head.organization != organization:
            continue
        if best is None or head.as_of > best.as_of:
            best = head
    return None if best is None else link(best, "evidence root")


@dataclass
class ChainReport:
    lines: list[str] = field(default_factory=list)  # one per locker, in as_of order
    breaks: list[str] = field(default_factory=list)

    @property
    def unbroken(self) -> bool:
        return not self.breaks


def _name(head: LockerHead) -> str:
    return f"{head.locker_id} (as of {head.as_of}, {head.where})"


def check_heads(heads: list[LockerHead]) -> ChainReport:
    """The lockers, ordered by as_of, must each continue the one before; every break is named."""
    report = ChainReport()
    seen: dict[str, LockerHead] = {}
    for head in heads:
        if head.sha256 in seen:
            report.breaks.append(f"given twice: {_name(head)} is the same locker as {seen[head.sha256].where}")
        seen.setdefault(head.sha256, head)
    ordered = sorted(seen.values(), key=lambda h: (h.as_of, h.locker_id))
    by_sha = {h.sha256: h for h in ordered}
    by_id: dict[str, list[LockerHead]] = {}
    for head in ordered:
        by_id.setdefault(head.locker_id, []).append(head)
    successors: dict[str, list[LockerHead]] = {}
    for head in ordered:
        if isinstance(head.previous, dict) and head.previous.get("manifest_sha256") in by_sha:
            successors.setdefault(head.previous["manifest_sha256"], []).append(head)
    for sha, heads_after in successors.items():
        if len(heads_after) > 1:
            names = ", ".join(_name(h) for h in heads_after)
            report.breaks.append(f"fork: {_name(by_sha[sha])} is continued by {len(heads_after)} lockers ({names}): "
                                 "one of them was made again later or in parallel")
    for index, head in enumerate(ordered):
        before = ordered[index - 1] if index else None
        prev = head.previous
        if not head.chained:
            report.lines.append(f"{_name(head)}: records no previous locker (made before lockers were chained)")
            if before is not None:
                report.breaks.append(f"unchained: {_name(head)} records no previous locker, so nothing shows it continues {_name(before)}")
            continue
        if prev is None:
            report.lines.append(f"{_name(head)}: first of its chain")
            if before is not None:
                report.breaks.append(f"new chain: {_name(head)} starts a chain of its own after {_name(before)}")
            continue
        if not isinstance(prev, dict) or not isinstance(prev.get("manifest_sha256"), str):
            report.breaks.append(f"unreadable link: {_name(head)} has a malformed 'previous'")
            continue
        target = prev["manifest_sha256"]
        described = f"{prev.get('locker_id')} (as of {prev.get('as_of')}, SHA-256 {target[:16]}…)"
        if before is None:
            where = "given" if target in by_sha else "not given: it precedes the first locker merged"
            report.lines.append(f"{_name(head)}: continues {described}, {where}")
            continue
        if target == before.sha256:
            report.lines.append(f"{_name(head)}: continues {before.locker_id}, the locker before it")
            continue
        if target in by_sha:
            report.breaks.append(f"out of order: {_name(head)} continues {_name(by_sha[target])}, not {_name(before)}, "
                                 "the locker before it in time: it was re-made later, or the chain forks")
        elif prev.get("as_of") == before.as_of:
            report.breaks.append(f"re-made: {_name(head)} continues {described}, but the locker given for that time, "
                                 f"{_name(before)}, has another digest: it was made again (or changed) after "
                                 f"{head.locker_id} was written")
        elif prev.get("locker_id") in by_id:
            others = ", ".join(_name(h) for h in by_id[prev['locker_id']])
            report.breaks.append(f"altered: {_name(head)} continues locker {described}, but the locker with that id "
                                 f"given here ({others}) has another digest: it was changed or re-made after")
        else:
            report.breaks.append(f"gap: {_name(head)} continues {described}, which is not among the lockers given: "
                                 f"a locker is missing between {before.locker_id} (as of {before.as_of}) and {head.locker_id}")
        report.lines.append(f"{_name(head)}: continues {described}")
    return report


def check_chain(folders: list[Path]) -> ChainReport:
    return check_heads([read_head(folder) for folder in folders])
