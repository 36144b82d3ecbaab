"""`auditor verify DIR`: is this evidence pack exactly as the tool wrote it?

The pack is a chain of SHA-256 digests, each link checked here:
  SHA256SUMS          lists every file and pack-manifest.json itself;
  pack-manifest.json  lists every file (path, SHA-256, bytes), written last by the run;
  report.html         carries results.json's SHA-256 (meta auditor-results-sha256, also on the PDF cover);
  results.json        carries each evidence manifest's SHA-256 (lockers[].manifest_sha256);
  evidence/manifest.json lists every response page (path, SHA-256, bytes).
Every file is named as changed, added or removed; a broken link between two files is named as a
problem. A folder without pack-manifest.json or SHA256SUMS is not a pack (a usage error, exit 2).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import reading
from auditor.errors import AuditorError, EvidenceError
from auditor.evidence import shape

PACK_MANIFEST = "pack-manifest.json"
SUMS = "SHA256SUMS"
_META = re.compile(rb'<meta name="auditor-results-sha256" content="([0-9a-f]{64})">')


class NotAPackError(AuditorError):
    """The folder is not an evidence pack (usage error)."""

    exit_code = 2


@dataclass
class Verification:
    files_checked: int = 0
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.changed or self.added or self.removed or self.problems)

    def _add(self, bucket: list[str], path: str) -> None:
        if path not in bucket:
            bucket.append(path)

    def lines(self) -> list[str]:
        return ([f"changed: {p}" for p in self.changed] + [f"added: {p}" for p in self.added]
                + [f"removed: {p}" for p in self.removed] + [f"problem: {p}" for p in self.problems])


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_sums(path: Path) -> dict[str, str] | None:
    try:
        entries = {}
        for line in reading.read_text(path, "pack manifest", error=EvidenceError).splitlines():
            digest, name = line.split("  ", 1)
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                return None
            entries[name] = digest
        return entries
    except (EvidenceError, ValueError):
        return None


def _read_json(path: Path) -> Any:
    """A JSON file of the pack through the one reading path (regular files only, size and depth
    limits); None when it cannot be read or parsed."""
    try:
        return reading.read_json(path, "manifest", error=EvidenceError)[1]
    except EvidenceError:
        return None


def _misshaped(result: "Verification", rel: str, problem: str) -> None:
    """A pack file that parses but is not shaped as the tool writes it: tampering (exit 1) when its
    digest also differs from the pack manifest's; otherwise an unreadable tool input (exit 2)."""
    if rel in result.changed:
        result.problems.append(f"{rel} is not as the tool writes it: {problem}")
        return
    raise EvidenceError(f"{rel}: {problem}")


def verify_pack(pack: Path) -> Verification:
    pack = Path(pack)
    if not pack.is_dir():
        raise NotAPackError(f"{pack}: not a folder")
    if not (pack / PACK_MANIFEST).is_file() and not (pack / SUMS).is_file() and (
            (pack / "evidence").is_dir() or (pack / "results.json").exists()):
        raise NotAPackError(f"{pack}: an incomplete pack: no {PACK_MANIFEST} or {SUMS}, so the run that wrote it "
                            "did not finish (it was stopped, or a write failed); run it again")
    if not (pack / PACK_MANIFEST).is_file() and not (pack / SUMS).is_file():
        raise NotAPackError(f"{pack}: not an evidence pack (no {PACK_MANIFEST} or {SUMS}); give the folder `auditor run --out` wrote")
    result = Verification()
    manifest = _read_json(pack / PACK_MANIFEST) if (pack / PACK_MANIFEST).is_file() else None
    sums = _read_sums(pack / SUMS) if (pack / SUMS).is_file() else None
    if not (pack / PACK_MANIFEST).is_file():
        result._add(result.removed, PACK_MANIFEST)
    if not (pack / SUMS).is_file():
        result._add(result.removed, SUMS)

    listed: dict[str, dict[str, Any]] = {}
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), list):
        try:
            listed = {f["path"]: f for f in manifest["files"]}
        except (TypeError, KeyError):
            listed = {}
            result._add(result.changed, PACK_MANIFEST)
    elif (pack / PACK_MANIFEST).is_file():
        result._add(result.changed, PACK_MANIFEST)

    if sums is None and (pack / SUMS).is_file():
        result._add(result.changed, SUMS)
    if sums is not None:
        if PACK_MANIFEST in sums and (pack / PACK_MANIFEST).is_file() and sums[PACK_MANIFEST] != _sha(pack / PACK_MANIFEST):
            result._add(result.changed, PACK_MANIFEST)
        if PACK_MANIFEST not in sums:
            result._add(result.changed, SUMS)
        if listed and {k: v for k, v in sums.items() if k != PACK_MANIFEST} != {p: f.get("sha256") for p, f in listed.items()}:
            if PACK_MANIFEST not in result.changed:
                result._add(result.changed, SUMS)
        if not listed:  # the pack manifest is unreadable: fall back on SHA256SUMS for the list of files
            listed = {p: {"path": p, "sha256": d} for p, d in sums.items() if p != PACK_MANIFEST}

    on_disk = {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()} - {PACK_MANIFEST, SUMS}
    for path, entry in sorted(listed.items()):
        target = pack / path
        if not isinstance(path, str) or shape.safe_item_path(path) or target.is_symlink():
            result.problems.append(f"{str(path)[:200]!r} is listed but is not a plain file inside the pack")
            continue
        if not target.is_file():
            result._add(result.removed, path)
            continue
        result.files_checked += 1
        if _sha(target) != entry.get("sha256") or ("bytes" in entry and target.stat().st_size != entry["bytes"]):
            result._add(result.changed, path)
    for path in sorted(on_disk - set(listed)):
        result._add(result.added, path)

    _check_evidence(pack, result)
    _check_links(pack, result)
    return result


def _check_evidence(pack: Path, result: Verification) -> None:
    """Every page listed in each evidence manifest, by its own digest; pages the manifest does not list are added."""
    for manifest_path in sorted(pack.rglob("manifest.json")):
        locker = manifest_path.parent
        manifest = _read_json(manifest_path)
        if not isinstance(manifest, dict) or manifest.get("schema") != "auditor.evidence/v1":
            if locker.name == "evidence":
                result._add(result.changed, manifest_path.relative_to(pack).as_posix())
            continue
        try:
            shape.check_manifest(manifest, manifest_path.relative_to(pack).as_posix())
        except EvidenceError as err:
            _misshaped(result, manifest_path.relative_to(pack).as_posix(), str(err).split(": ", 1)[-1])
            continue
        listed = set()
        for item in manifest["items"]:
            rel = (locker / item["path"]).relative_to(pack).as_posix()
            listed.add(rel)
            path = pack / rel
            if path.is_symlink() or not path.resolve().is_relative_to(pack.resolve()):
                result.problems.append(f"{rel} (evidence item {item['id']}) leads out of the pack; it was not read")
                continue
            if not path.is_file():
                result._add(result.removed, rel)
            elif _sha(path) != item["sha256"]:
                result._add(result.changed, rel)
        items_dir = locker / "items"
        if items_dir.is_dir():
            for path in sorted(items_dir.rglob("*")):
                rel = path.relative_to(pack).as_posix()
                if path.is_file() and rel not in listed:
                    result._add(result.added, rel)


def _check_links(pack: Path, result: Verification) -> None:
    """report.html -> results.json -> evidence/manifest.json digests agree."""
    results_path = pack / "results.json"
    results = _read_json(results_path) if results_path.is_file() else None
    evidence_manifest = pack / "evidence" / "manifest.json"
    if results is not None and (not isinstance(results, dict) or not isinstance(results.get("lockers", []), list)):
        _misshaped(result, "results.json", "lockers is not a list of the lockers the results were computed from"
                   if isinstance(results, dict) else "not a JSON object")
        return
    if isinstance(results, dict) and evidence_manifest.is_file():
        recorded = {l.get("manifest_sha256") for l in results.get("lockers", []) if isinstance(l, dict)}
        if _sha(evidence_manifest) not in recorded:
            result.problems.append("evidence/manifest.json does not have the SHA-256 that results.json records for its locker")
    html = pack / "report.html"
    if html.is_file() and results_path.is_file():
        match = _META.search(html.read_bytes())
        if match and match.group(1).decode() != _sha(results_path):
            result.problems.append("results.json does not have the SHA-256 printed in report.html (and on the PDF's cover)")
