"""Facts about GitHub repositories and their local backups (read by the three source-backup checks)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def repo_resource(org: str, name: str, host: str = "github.com") -> str:
    """HOST/ORG/REPO: github.com for GitHub.com, the server's host for GitHub Enterprise Server."""
    return f"{host}/{org}/{name}"


def draw_sample(population: list[str], seed: str, size: int) -> list[str]:
    """The integrity sample, reproducible: rank names by SHA-256 of "seed:name", take the first `size`, sort by name."""
    ranked = sorted(population, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())
    return sorted(ranked[:size])


@dataclass(frozen=True)
class GithubOrg:
    login: str
    public_repos: int | None
    total_private_repos: int | None  # None: the token may not see private totals (not a member)
    owned_private_repos: int | None
    scopes: tuple[str, ...] | None  # X-OAuth-Scopes; None: header absent (fine-grained token or GitHub App)
    evidence: tuple[str, ...] = ()

    @property
    def total(self) -> int | None:
        if self.public_repos is None or self.total_private_repos is None:
            return None
        return self.public_repos + self.total_private_repos


@dataclass(frozen=True)
class Repository:
    resource: str
    org: str
    name: str
    archived: bool
    fork: bool
    private: bool | None
    pushed_at: datetime | None
    default_branch: str | None
    has_wiki: bool
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenOwner:
    """The GitHub token's owner (GET /user); login None with the status when no user is behind the token."""

    host: str
    login: str | None
    status: int | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefListing:
    """A repository's branches (or tags) as GitHub lists them: name -> head commit; one per listing call."""

    resource: str
    refs: dict[str, str]
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """GitHub's compare of the backup's head (base) with GitHub's (head): how far the backup lags."""

    resource: str
    base: str
    head: str
    status: str | None
    ahead_by: int
    behind_by: int | None
    evidence: str


@dataclass(frozen=True)
class CommitTree:
    """The tree GitHub reports for one commit (repos.git.commits.get)."""

    resource: str
    sha: str
    tree: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackupListing:
    """An organisation's local backup folders (git backup.list): one per listing, possibly with no folder."""

    org_scope: str  # HOST/ORG
    folders: tuple[tuple[str, str], ...]  # (repository name as the folder spells it, path)
    evidence: tuple[str, ...] = ()

    def by_name(self) -> dict[str, str]:
        """lower-case repository name -> backup path"""
        return {name.lower(): path for name, path in self.folders}


@dataclass(frozen=True)
class FsckResult:
    resource: str
    exit_code: int | None
    output: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntegritySample:
    """The integrity sample recorded at collection: seed, population and sample, to be drawn again by the check."""

    org_scope: str
    record: dict[str, Any]
    evidence: tuple[str, ...] = ()


@dataclass
class BackupState:
    """One backup as git reported it (every value from a recorded command or observation)."""

    path: str
    resource: str = ""
    bare: bool | None = None
    refs: dict[str, str] = field(default_factory=dict)
    fetch_head: bool = False
    fetched_at: datetime | None = None
    own_date: datetime | None = None  # no FETCH_HEAD: the newest of its refs, packed-refs and reflog (backup-own-dates)
    own_date_basis: str | None = None  # which of those gave own_date ("packed-refs", "reflog entry", ...)
    size_kib: int | None = None
    lfs_in_tree: bool = False  # the default branch's .gitattributes routes files through filter=lfs
    lfs_objects: int = 0
    lfs_dir: str | None = None
    wiki_backup: bool = False
    present: dict[str, bool] = field(default_factory=dict)  # GitHub sha -> object exists in the backup
    ancestor: dict[tuple[str, str], bool] = field(default_factory=dict)  # (a, b) -> a is an ancestor of b
    behind: dict[tuple[str, str], int] = field(default_factory=dict)  # (backup sha, github sha) -> commits
    evidence: list[str] = field(default_factory=list)

    @property
    def updated_at(self) -> datetime | None:
        """When the backup last took in GitHub's refs: its last fetch, or for a clone never fetched, its own files."""
        return self.fetched_at or self.own_date

    def ref_prefix(self) -> str:
        return "refs/heads/" if self.bare is not False else "refs/remotes/origin/"


@dataclass
class Drill:
    resource: str = ""
    cloned: bool | None = None
    clone_error: str = ""
    refs: dict[str, str] = field(default_factory=dict)
    default_tree: str | None = None
    evidence: list[str] = field(default_factory=list)
