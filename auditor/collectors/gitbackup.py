"""The local backup of GitHub repositories, read with git itself (calls with api "git").

Layouts (`github.backup.layout`), relative to `github.backup.root`:
  mirror                `<root>/<org>/<repo>.git` (`git clone --mirror`); when `<root>/<org>` does not
                        exist, `<root>/<repo>.git` (a root holding one organisation's mirrors)
  python-github-backup  `<root>/repositories/<repo>/repository`, or `<root>/<org>/repositories/...`
                        when that exists; a bare mirror (`--bare`) or a normal clone
  ghorg                 `<root>/<org>/<repo>` (normal clones) or `<root>/<org>_backup/<repo>` (`--backup`,
                        mirrors); `<repo>.git` is accepted too
Repository names match case-insensitively, as on GitHub. Every command and every look at the file
system is stored as evidence through `auditor.evidence.local`; deciding what it means is left to
the facts and checks.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.evidence import local
from auditor.evidence.locker import iso


@dataclass
class Backup:
    name: str  # as found on disk (without .git)
    path: Path


@dataclass
class Inspection:
    """What the collector needs for follow-up calls (the facts re-read all of it from the evidence)."""

    path: Path
    refs: dict[str, str] = field(default_factory=dict)  # refname -> commit sha
    default_ref: str | None = None
    held: set[str] = field(default_factory=set)  # GitHub heads that differ from the backup's but whose commit it holds


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _is_repo(path: Path) -> bool:
    return _is_git_dir(path) or _is_git_dir(path / ".git")


def org_folder(root: Path, layout: str, org: str) -> Path:
    if layout == "mirror":
        return root / org if (root / org).is_dir() else root
    if layout == "python-github-backup":
        base = root / org if (root / org / "repositories").is_dir() else root
        return base / "repositories"
    for candidate in (root / f"{org}_backup", root / org):
        if candidate.is_dir():
            return candidate
    return root / org


def list_backups(root: Path, layout: str, org: str) -> dict[str, Backup]:
    """Every backup folder of an organisation, by lower-case repository name; recorded as evidence."""
    folder = org_folder(root, layout, org)
    found: dict[str, Backup] = {}
    if not folder.is_dir():
        local.observe("backup-listing", {"root": str(root), "layout": layout, "organization": org, "folder": str(folder),
                                         "exists": False, "backups": []})
        raise FileNotFoundError(f"backup folder {folder} does not exist")
    for entry in sorted(folder.iterdir()):
        if layout == "python-github-backup":
            path, name = entry / "repository", entry.name
        else:
            path, name = entry, entry.name.removesuffix(".git")
        if name.endswith(".wiki") or not entry.is_dir() or not _is_repo(path):
            continue
        found[name.lower()] = Backup(name, path)
    local.observe("backup-listing", {
        "root": str(root), "layout": layout, "organization": org, "folder": str(folder), "exists": True,
        "backups": [{"name": b.name, "path": str(b.path)} for b in found.values()],
    })
    return found


def wiki_path(backup: Backup, layout: str) -> Path:
    if layout == "python-github-backup":
        return backup.path.parent / "wiki"
    suffix = ".wiki.git" if layout == "mirror" else ".wiki"
    return backup.path.parent / f"{backup.name}{suffix}"


def inspect(backup: Backup | None, layout: str, default_branch: str, github_refs: dict[str, str]) -> Inspection | None:
    """Refs, last fetch, size, LFS and wiki, and how each GitHub head relates to the backup's."""
    if backup is None:
        local.observe("backup-absent", {"layout": layout})
        return None
    path = backup.path
    bare = local.git("rev-parse", "--is-bare-repository", cwd=path).stdout.strip() == "true"
    git_dir = path if bare else path / ".git"
    listing = local.git("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", cwd=path)
    if not listing.ok:
        raise RuntimeError(f"git for-each-ref failed in {path}: {listing.stderr.strip()[:300]}")
    refs: dict[str, str] = {}
    for line in listing.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            refs[parts[0]] = parts[2] if len(parts) > 2 else parts[1]  # annotated tags: the commit they point at
    fetch_head = git_dir / "FETCH_HEAD"
    mtime = datetime.fromtimestamp(fetch_head.stat().st_mtime, timezone.utc) if fetch_head.is_file() else None
    local.observe("fetch-head", {"path": str(fetch_head), "exists": mtime is not None, "mtime": iso(mtime) if mtime else None})
    if mtime is None:  # a clone never fetched since (python-github-backup's first run): its own files date it
        own_dates(git_dir)
    local.git("count-objects", "-v", cwd=path)
    prefix = "refs/heads/" if bare else "refs/remotes/origin/"
    default_ref = prefix + default_branch
    if default_ref in refs:
        local.git("cat-file", "-p", f"{default_ref}:.gitattributes", cwd=path)
    lfs_dir = git_dir / "lfs" / "objects"
    lfs_files = sum(1 for p in lfs_dir.rglob("*") if p.is_file()) if lfs_dir.is_dir() else 0
    local.observe("lfs-objects", {"path": str(lfs_dir), "exists": lfs_dir.is_dir(), "files": lfs_files})
    wiki = wiki_path(backup, layout)
    local.observe("wiki-backup", {"path": str(wiki), "exists": _is_repo(wiki)})
    held: set[str] = set()
    for name, github_sha in sorted(github_refs.items()):
        ref = name if name.startswith("refs/tags/") else prefix + name.removeprefix("refs/heads/")
        mine = refs.get(ref)
        if mine is None or mine == github_sha:
            continue
        if not local.git("cat-file", "-e", f"{github_sha}^{{commit}}", cwd=path).ok:
            continue  # the backup lacks GitHub's commit: only GitHub's compare API can count what is missing
        held.add(github_sha)
        if local.git("merge-base", "--is-ancestor", github_sha, mine, cwd=path).ok:
            continue  # the backup's head already contains GitHub's
        local.git("merge-base", "--is-ancestor", mine, github_sha, cwd=path)  # behind (0) or diverged (1)
        local.git("rev-list", "--count", f"{mine}..{github_sha}", cwd=path)  # what GitHub has that the backup lacks
    return Inspection(path=path, refs=refs, default_ref=default_ref, held=held)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _newest(paths: list[Path]) -> dict[str, Any]:
    files = [p for p in paths if p.is_file()]
    if not files:
        return {"files": 0, "newest": None, "newest_path": None}
    newest = max(files, key=lambda p: p.stat().st_mtime)
    return {"files": len(files), "newest": iso(_mtime(newest)), "newest_path": str(newest)}


def _reflog_newest(logs: Path) -> str | None:
    """The newest entry time written inside the reflog (`<old> <new> <who> <epoch> <tz>\t<message>` lines)."""
    newest: int | None = None
    for log in (p for p in logs.rglob("*") if p.is_file()) if logs.is_dir() else ():
        try:
            lines = log.read_text("utf-8", "replace").splitlines()
        except OSError:
            continue
        for line in lines[-5:]:  # entries are appended: the last ones are the newest
            head = line.split("\t", 1)[0].split()
            if len(head) >= 2 and head[-2].isdigit():
                newest = max(newest or 0, int(head[-2]))
    return iso(datetime.fromtimestamp(newest, timezone.utc)) if newest is not None else None


def own_dates(git_dir: Path) -> None:
    """When a repository without FETCH_HEAD last took in refs: its loose refs, packed-refs and reflog, as found."""
    packed = git_dir / "packed-refs"
    refs = [p for p in (git_dir / "refs").rglob("*")] if (git_dir / "refs").is_dir() else []
    logs = [p for p in (git_dir / "logs").rglob("*")] if (git_dir / "logs").is_dir() else []
    local.observe("backup-own-dates", {
        "path": str(git_dir), "refs": _newest(refs),
        "packed_refs": {"path": str(packed), "exists": packed.is_file(), "mtime": iso(_mtime(packed)) if packed.is_file() else None},
        "reflog": {**_newest(logs), "newest_entry": _reflog_newest(git_dir / "logs")},
    })


def fsck(path: Path) -> None:
    local.git("fsck", "--no-progress", "--no-dangling", cwd=path)


def restore_drill(path: Path, default_ref: str) -> None:
    """Clone the backup into a scratch folder with the pack protocol (every object is read), list the
    restored refs and the default branch's tree; the scratch folder is removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="auditor-restore-"))
    try:
        clone = local.git("clone", "--mirror", "--no-local", "--quiet", str(path), "restored.git", cwd=scratch)
        local.observe("restore-clone", {"source": str(path), "exit_code": clone.exit_code})
        if clone.ok:
            restored = scratch / "restored.git"
            local.git("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", cwd=restored)
            local.git("rev-parse", "--verify", f"{default_ref}^{{tree}}", cwd=restored)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def describe(backups: dict[str, Backup]) -> list[dict[str, Any]]:
    return [{"name": b.name, "path": str(b.path)} for b in backups.values()]
