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


@dataclass
class BackupState:
    """One backup as git reported it (every value from a recorded command or observation)."""

    path: str
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
    cloned: bool | None = None
    clone_error: str = ""
    refs: dict[str, str] = field(default_factory=dict)
    default_tree: str | None = None
    evidence: list[str] = field(default_factory=list)


@dataclass
class SourceFacts:
    orgs: dict[str, GithubOrg] = field(default_factory=dict)
    repositories: dict[str, list[Repository]] = field(default_factory=dict)  # org -> listed repositories
    backup_listings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # org -> backup folders
    backup_listing_evidence: dict[str, list[str]] = field(default_factory=dict)
    branches: dict[str, dict[str, str]] = field(default_factory=dict)  # resource -> name -> sha
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    ref_evidence: dict[str, list[str]] = field(default_factory=dict)
    compares: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    backups: dict[str, BackupState | None] = field(default_factory=dict)  # None: no backup found
    fsck: dict[str, tuple[int | None, str, list[str]]] = field(default_factory=dict)
    drills: dict[str, Drill] = field(default_factory=dict)
    github_trees: dict[tuple[str, str], tuple[str, list[str]]] = field(default_factory=dict)  # (resource, sha) -> tree
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)  # org -> the recorded integrity sample
