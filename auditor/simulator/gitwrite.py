"""Write git repositories with Python alone: loose objects, packed refs, HEAD, alternates.

Starting `git` costs a few milliseconds a command; a simulated organisation of thousands of
repositories would spend minutes on it. Git's on-disk format is simple and stable (an object is
zlib("<type> <size>\\0<content>"), named by the SHA-1 of that text), so the scale generator writes
histories, bare repositories and backups directly, and git itself reads them exactly as it reads
its own (for-each-ref, cat-file, merge-base, fsck and clone all work on them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

AUTHOR = "Bangkok Dev <dev@bangkoksolutions.example>"


@dataclass(frozen=True)
class Written:
    """A commit as the GitHub routes describe it (the same fields github_world reads back with git log)."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    time: dt.datetime
    message: str

    def as_state(self) -> dict:
        return {"tree": self.tree, "parents": list(self.parents), "message": self.message, "time": self.time}


class ObjectWriter:
    """Loose objects into one objects directory this writer owns; each object is written once. `size` counts bytes."""

    def __init__(self, objects: Path) -> None:
        self.objects = objects
        self.size = 0
        self._names: set[str] = set()
        objects.mkdir(parents=True, exist_ok=True)

    def put(self, kind: str, data: bytes) -> str:
        raw = f"{kind} {len(data)}\0".encode() + data
        sha = hashlib.sha1(raw).hexdigest()  # noqa: S324 - git's object name, not a security use
        if sha in self._names:
            return sha
        folder = os.path.join(self.objects, sha[:2])
        os.makedirs(folder, exist_ok=True)
        packed = zlib.compress(raw, 1)
        with open(os.path.join(folder, sha[2:]), "wb") as out:
            out.write(packed)
        self._names.add(sha)
        self.size += len(packed)
        return sha

    def blob(self, text: str) -> str:
        return self.put("blob", text.encode())

    def tree(self, files: dict[str, str]) -> str:
        """A flat tree of regular files (name -> blob sha), sorted as git sorts them."""
        body = b"".join(b"100644 " + name.encode() + b"\0" + bytes.fromhex(sha) for name, sha in sorted(files.items()))
        return self.put("tree", body)

    def commit(self, tree: str, parents: tuple[str, ...], when: dt.datetime, message: str) -> Written:
        stamp = f"{int(when.timestamp())} +0000"
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents), f"author {AUTHOR} {stamp}", f"committer {AUTHOR} {stamp}"]
        sha = self.put("commit", ("\n".join(lines) + "\n\n" + message + "\n").encode())
        return Written(sha, tree, parents, when.astimezone(dt.timezone.utc), message)


def init_bare(path: Path, default_branch: str, *, remote: str | None = None, alternates: list[Path] | None = None) -> Path:
    """A bare repository (a mirror's shape when `remote` is given), optionally borrowing objects from `alternates`."""
    (path / "objects" / "info").mkdir(parents=True, exist_ok=True)
    (path / "refs").mkdir(exist_ok=True)  # refs live in packed-refs; git makes refs/heads when it needs it
    (path / "HEAD").write_text(f"ref: refs/heads/{default_branch}\n")
    config = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
    if remote is not None:
        config += f'[remote "origin"]\n\turl = {remote}\n\tfetch = +refs/*:refs/*\n\tmirror = true\n'
    (path / "config").write_text(config)
    if alternates:
        (path / "objects" / "info" / "alternates").write_text("".join(f"{a.resolve()}\n" for a in alternates))
    return path


def write_refs(path: Path, refs: dict[str, str]) -> None:
    """All refs in one packed-refs file (as `git pack-refs --all` leaves them); lightweight tags need no peeling."""
    lines = ["# pack-refs with: peeled fully-peeled sorted"] + [f"{sha} {ref}" for ref, sha in sorted(refs.items())]
    (path / "packed-refs").write_text("\n".join(lines) + "\n")


def write_fetch_head(path: Path, refs: dict[str, str], remote: str, when: dt.datetime) -> None:
    """FETCH_HEAD as a mirror fetch leaves it, with its mtime set to the fetch time (what freshness reads)."""
    lines = [f"{sha}\tnot-for-merge\t'{ref}' of {remote}" for ref, sha in sorted(refs.items())]
    target = path / "FETCH_HEAD"
    target.write_text("\n".join(lines) + "\n")
    stamp = when.timestamp()
    os.utime(target, (stamp, stamp))
