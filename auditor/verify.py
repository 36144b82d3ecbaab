"""`auditor verify DIR`: is this evidence pack exactly as the tool wrote it, and who vouches for it?

The checks run in this order, and each proves one thing (STEPS below; the CLI prints them):
  1 paths      every path SHA256SUMS, pack-manifest.json and each evidence manifest names stays inside
               the pack (relative, no `..`, no symlink on the way), and the pack holds no symlink at all:
               every byte checked below is the pack's own.
  2 sums       SHA256SUMS lists pack-manifest.json's SHA-256 and exactly the files the manifest lists.
  3 files      every listed file has its SHA-256 and size; no file is added or removed.
  4 evidence   each evidence manifest's pages have their SHA-256; no page is added or removed.
  5 links      report.html and report.pdf each carry results.json's SHA-256 and the evidence manifests'
               (a report without them fails); results.json records evidence/manifest.json's SHA-256.
  6 signature  with --public-key: pack-signature.json is a valid signature, by that key, over
               pack-manifest.json as it is now.
Steps 1-5 prove the pack is consistent: anyone who edits a finding and re-renders the pack with the
tool makes a consistent pack, and these steps then say "intact". Only step 6 proves who wrote it.
Every file is named as changed, added or removed; a broken link is named as a problem. A folder
without pack-manifest.json or SHA256SUMS is not a pack (a usage error, exit 2).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import reading
from auditor.errors import AuditorError, EvidenceError
from auditor.evidence import shape
from auditor.outdir import unfinished
from auditor.signing import SIGNATURE_FILE, fingerprint, verify_signature

PACK_MANIFEST = "pack-manifest.json"
SUMS = "SHA256SUMS"
_META = re.compile(rb'<meta name="auditor-results-sha256" content="([0-9a-f]{64})">')
_META_EVIDENCE = re.compile(rb'<meta name="auditor-evidence-manifest-sha256" content="([0-9a-f]{64})">')
_HEX64 = re.compile(r"[0-9a-f]{64}")
EVIDENCE_SCHEMA = "auditor.evidence/v1"

#: (name, what it proves), in the order the checks run.
STEPS = [
    ("paths", "every path the manifests name is inside the pack, and the pack holds no symlink"),
    ("sums", "SHA256SUMS and pack-manifest.json agree on the pack manifest and the list of files"),
    ("files", "every file has the SHA-256 and size the pack manifest records; none added or removed"),
    ("evidence", "every API response page has the SHA-256 its evidence manifest records; none added or removed"),
    ("links", "report.html and report.pdf carry results.json's SHA-256 and the evidence manifests'; "
              "results.json records the evidence manifest's"),
    ("signature", "the pack manifest, as it is now, is signed by the given key (who wrote the pack)"),
]


class NotAPackError(AuditorError):
    """The folder is not an evidence pack (usage error)."""

    exit_code = 2


@dataclass
class Step:
    name: str
    proves: str
    status: str = "ok"  # ok, failed, not checked
    notes: list[str] = field(default_factory=list)


@dataclass
class Verification:
    files_checked: int = 0
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    signer: str | None = None  # the key fingerprint a valid signature was made with

    @property
    def intact(self) -> bool:
        return not (self.changed or self.added or self.removed or self.problems)

    def _add(self, bucket: list[str], path: str) -> None:
        if path not in bucket:
            bucket.append(path)

    def problem(self, step: str, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)
        self.step(step).notes.append(text)
        self.step(step).status = "failed"

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        proves = dict(STEPS).get(name, "")
        self.steps.append(Step(name, proves))
        return self.steps[-1]

    def add_step(self, name: str, proves: str, problems: list[str], notes: list[str] | None = None,
                 status: str | None = None) -> Step:
        """A step checked outside this module (the locker chain, the bucket), folded into the outcome."""
        step = Step(name, proves, status or ("failed" if problems else "ok"), list(notes or []))
        self.steps.append(step)
        for text in problems:
            step.notes.append(text)
            if text not in self.problems:
                self.problems.append(text)
        return step

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


def _misshaped(result: "Verification", rel: str, problem: str, step: str = "evidence") -> None:
    """A pack file that parses but is not shaped as the tool writes it: tampering (exit 1) when its
    digest also differs from the pack manifest's; otherwise an unreadable tool input (exit 2)."""
    if rel in result.changed:
        result.problem(step, f"{rel} is not as the tool writes it: {problem}")
        return
    raise EvidenceError(f"{rel}: {problem}")


def unconfined(pack: Path, rel: Any) -> str | None:
    """Why `rel` (a path a manifest names) does not stay inside the pack, or None when it does.

    Relative POSIX paths only: no absolute path, no `..` or `.` segment, no backslash or NUL, and no
    symlink at any step from the pack's root (a symlinked item would let verify hash a file that is
    not in the pack).
    """
    why = shape.safe_item_path(rel)
    if why:
        return why
    parts = rel.split("/")
    if "." in parts:
        return f"path {rel[:200]!r} has a '.' segment"
    current = pack
    for part in parts:
        current = current / part
        if current.is_symlink():
            return "a symlink"
    return None


def _walk(pack: Path) -> tuple[set[str], list[str]]:
    """(every regular file of the pack, relative; every symlink in it), never following a link."""
    files: set[str] = set()
    links: list[str] = []
    for root, dirs, names in os.walk(pack, followlinks=False):
        base = Path(root)
        for name in list(dirs):
            if (base / name).is_symlink():
                links.append((base / name).relative_to(pack).as_posix())
                dirs.remove(name)
        for name in names:
            path = base / name
            rel = path.relative_to(pack).as_posix()
            if path.is_symlink():
                links.append(rel)
            elif path.is_file():
                files.add(rel)
    return files, sorted(links)


def verify_pack(pack: Path, public_key: Any = None) -> Verification:
    """Every check of STEPS, in order. `public_key` (cryptography public key) adds the signature check."""
    pack = Path(pack)
    if not pack.is_dir():
        raise NotAPackError(f"{pack}: not a folder")
    why = unfinished(pack)
    if why is not None:
        raise NotAPackError(f"an incomplete pack: {why}")
    if not (pack / PACK_MANIFEST).is_file() and not (pack / SUMS).is_file() and (
            (pack / "evidence").is_dir() or (pack / "results.json").exists()):
        raise NotAPackError(f"{pack}: an incomplete pack: no {PACK_MANIFEST} or {SUMS}, so the run that wrote it "
                            "did not finish (it was stopped, or a write failed); run it again")
    if not (pack / PACK_MANIFEST).is_file() and not (pack / SUMS).is_file():
        raise NotAPackError(f"{pack}: not an evidence pack (no {PACK_MANIFEST} or {SUMS}); give the folder `auditor run --out` wrote")
    result = Verification()
    for name, _proves in STEPS:
        result.step(name)
    on_disk, links = _walk(pack)
    for link in links:
        result.problem("paths", f"{link} is a symlink: a pack holds only its own files")

    manifest_path, sums_path = pack / PACK_MANIFEST, pack / SUMS
    manifest = _read_json(manifest_path) if PACK_MANIFEST in on_disk else None
    sums = _read_sums(sums_path) if SUMS in on_disk else None
    for name in (PACK_MANIFEST, SUMS):
        if name not in on_disk and name not in links:
            result._add(result.removed, name)
            result.step("sums").status = "failed"

    listed: dict[str, dict[str, Any]] = {}
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), list):
        try:
            listed = {f["path"]: f for f in manifest["files"]}
        except (TypeError, KeyError):
            listed = {}
            result._add(result.changed, PACK_MANIFEST)
    elif PACK_MANIFEST in on_disk:
        result._add(result.changed, PACK_MANIFEST)

    if sums is None and SUMS in on_disk:
        result._add(result.changed, SUMS)
    if sums is not None:
        if PACK_MANIFEST in sums and PACK_MANIFEST in on_disk and sums[PACK_MANIFEST] != _sha(manifest_path):
            result._add(result.changed, PACK_MANIFEST)
        if PACK_MANIFEST not in sums:
            result._add(result.changed, SUMS)
        if listed and {k: v for k, v in sums.items() if k != PACK_MANIFEST} != {p: f.get("sha256") for p, f in listed.items()}:
            if PACK_MANIFEST not in result.changed:
                result._add(result.changed, SUMS)
        if not listed:  # the pack manifest is unreadable: fall back on SHA256SUMS for the list of files
            listed = {p: {"path": p, "sha256": d} for p, d in sums.items() if p != PACK_MANIFEST}
    if PACK_MANIFEST in result.changed or SUMS in result.changed:
        result.step("sums").status = "failed"

    # 1 paths: anything a manifest names outside the pack is refused before a byte of it is read
    safe: dict[str, dict[str, Any]] = {}
    for path, entry in sorted(listed.items(), key=lambda kv: str(kv[0])):
        why = unconfined(pack, path)
        if why:
            result.problem("paths", f"{str(path)[:200]!r} is listed but is not a plain file inside the pack ({why})")
        elif isinstance(entry, dict):
            safe[path] = entry
        else:
            result._add(result.changed, PACK_MANIFEST)
    if sums is not None:
        for path in sorted(sums):
            why = unconfined(pack, path)
            if why and path not in listed:
                result.problem("paths", f"SHA256SUMS names {path!r}, {why}: not a file of this pack")

    # 3 files
    for path, entry in sorted(safe.items()):
        if path not in on_disk:
            result._add(result.removed, path)
            result.step("files").status = "failed"
            continue
        target = pack / path
        result.files_checked += 1
        if _sha(target) != entry.get("sha256") or ("bytes" in entry and target.stat().st_size != entry["bytes"]):
            result._add(result.changed, path)
            result.step("files").status = "failed"
    for path in sorted(on_disk - set(listed) - {PACK_MANIFEST, SUMS, SIGNATURE_FILE}):
        result._add(result.added, path)
        result.step("files").status = "failed"

    _check_evidence(pack, on_disk, result)
    _check_links(pack, on_disk, result)
    _check_signature(pack, public_key, result)
    return result


def _check_evidence(pack: Path, on_disk: set[str], result: Verification) -> None:
    """Every page listed in each evidence manifest, by its own digest; pages the manifest does not list are added."""
    for manifest_rel in sorted(p for p in on_disk if p.rsplit("/", 1)[-1] == "manifest.json"):
        manifest_path = pack / manifest_rel
        locker = manifest_path.parent
        locker_rel = "" if locker == pack else locker.relative_to(pack).as_posix() + "/"
        manifest = _read_json(manifest_path)
        if not isinstance(manifest, dict) or manifest.get("schema") != EVIDENCE_SCHEMA:
            if locker.name == "evidence":
                result._add(result.changed, manifest_rel)
                result.step("evidence").status = "failed"
            continue
        try:
            shape.check_manifest(manifest, manifest_rel)
        except EvidenceError as err:
            _misshaped(result, manifest_rel, str(err).split(": ", 1)[-1])
            continue
        listed = set()
        for item in manifest["items"]:
            path = item.get("path")
            why = unconfined(pack / locker_rel if locker_rel else pack, path)
            if why:
                result.problem("paths", f"{locker_rel}{str(path)[:200]} (evidence item {item.get('id')}) leads out of the pack "
                                        f"({why}); it was not read")
                continue
            rel = locker_rel + path
            listed.add(rel)
            if rel not in on_disk:
                result._add(result.removed, rel)
                result.step("evidence").status = "failed"
            elif _sha(pack / rel) != item.get("sha256"):
                result._add(result.changed, rel)
                result.step("evidence").status = "failed"
        items_prefix = locker_rel + "items/"
        for rel in sorted(p for p in on_disk if p.startswith(items_prefix)):
            if rel not in listed:
                result._add(result.added, rel)
                result.step("evidence").status = "failed"


def pdf_digests(data: bytes) -> tuple[str | None, list[str]] | None:
    """(results.json SHA-256, evidence manifest SHA-256s) from a report PDF's document information;
    None when the file is not a readable PDF. WeasyPrint writes `<meta name="auditor-...">` there with
    the punctuation dropped from the key (`/auditorresultssha256`), so keys are compared without it."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        info = PdfReader(io.BytesIO(data)).metadata or {}
        entries = {re.sub(r"[^a-z0-9]", "", str(k).lower()): str(v) for k, v in info.items()}
    except (PyPdfError, ValueError, TypeError, KeyError, OSError, AttributeError):
        return None
    results = entries.get("auditorresultssha256")
    evidence = entries.get("auditorevidencemanifestssha256", "").split()
    return (results if results and _HEX64.fullmatch(results) else None), [d for d in evidence if _HEX64.fullmatch(d)]


def _check_links(pack: Path, on_disk: set[str], result: Verification) -> None:
    """report.html and report.pdf -> results.json -> evidence/manifest.json digests agree; a report that
    carries no digest is not linked to anything, so it fails (it could be any file)."""
    results = _read_json(pack / "results.json") if "results.json" in on_disk else None
    if results is not None and (not isinstance(results, dict) or not isinstance(results.get("lockers", []), list)):
        _misshaped(result, "results.json", "lockers is not a list of the lockers the results were computed from"
                   if isinstance(results, dict) else "not a JSON object", "links")
        return
    if not isinstance(results, dict):
        if "results.json" in on_disk:
            result.problem("links", "results.json cannot be read, so no report can be linked to it")
        return
    results_sha = _sha(pack / "results.json")
    lockers = results.get("lockers") if isinstance(results.get("lockers"), list) else []
    recorded = {l.get("manifest_sha256") for l in lockers if isinstance(l, dict)} - {None}
    if "evidence/manifest.json" in on_disk and _sha(pack / "evidence" / "manifest.json") not in recorded:
        result.problem("links", "evidence/manifest.json does not have the SHA-256 that results.json records for its locker")
    if "report.html" in on_disk:
        html = (pack / "report.html").read_bytes()
        match = _META.search(html)
        if not match:
            result.problem("links", "report.html carries no results.json SHA-256 (meta auditor-results-sha256): "
                                    "it is not linked to the results it claims to show")
        elif match.group(1).decode() != results_sha:
            result.problem("links", "results.json does not have the SHA-256 printed in report.html (and on the PDF's cover)")
        printed = {m.decode() for m in _META_EVIDENCE.findall(html)}
        if printed != recorded:
            result.problem("links", "report.html does not carry the evidence manifest SHA-256s that results.json records")
    if "report.pdf" in on_disk:
        found = pdf_digests((pack / "report.pdf").read_bytes())
        if found is None:
            result.problem("links", "report.pdf is not a readable PDF, so its digests cannot be checked")
            return
        pdf_results, pdf_evidence = found
        if pdf_results is None:
            result.problem("links", "report.pdf carries no results.json SHA-256 in its document information: "
                                    "it is not linked to the results it claims to show")
        elif pdf_results != results_sha:
            result.problem("links", "results.json does not have the SHA-256 embedded in report.pdf: the PDF shows other results")
        if set(pdf_evidence) != recorded:
            result.problem("links", "report.pdf does not carry the evidence manifest SHA-256s that results.json records")


def _check_signature(pack: Path, public_key: Any, result: Verification) -> None:
    step = result.step("signature")
    signed = (pack / SIGNATURE_FILE).is_file()
    if public_key is None:
        step.status = "not checked"
        step.notes.append(("pack-signature.json is present but no --public-key was given" if signed else "the pack is not signed")
                          + ": without a signature, a pack re-rendered by anyone with the tool is also 'intact'")
        return
    check = verify_signature(pack, public_key)
    if check.ok:
        result.signer = check.signer_fingerprint
        step.notes.append(f"signed by key {check.signer_fingerprint} ({check.key_ref}) at {check.signed_at}")
    else:
        result.problem("signature", f"signature: {check.problem}")
        step.notes.append(f"the given key is {fingerprint(public_key)}")
