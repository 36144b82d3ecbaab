"""The scenario's GitHub part: organisations, repositories (as a push history), the local backup, faults.

Each repository is described by the times it was pushed to (one commit on the default branch per
push); the simulator turns that into a real git repository on disk with those commit dates, and
the `backup` block into a real local backup made at `fetched` (so it holds exactly the commits
pushed by then, and its FETCH_HEAD carries that time).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Layout = Literal["mirror", "python-github-backup", "ghorg"]


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (e.g. a trailing Z)")
    return value.astimezone(dt.timezone.utc)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Missed(_Strict):
    """Nightly fetches that did not run: every day from `first` to `last`, inclusive (UTC dates)."""

    first: dt.date
    last: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> "Missed":
        if self.last < self.first:
            raise ValueError("missed.last is before missed.first")
        return self


class RepoBackup(_Strict):
    # the backup holds the pushes up to this time; FETCH_HEAD gets this mtime. Give `fetched` (one fetch, the
    # state at the scenario's `now`) or `nightly` (a fetch every day at that UTC time, from the first push's day:
    # the backup at any clock is the last nightly fetch before it, so daily lockers see it change day by day)
    fetched: dt.datetime | None = None
    nightly: dt.time | None = None
    missed: list[Missed] = []  # nightly fetches that did not run (the mirror keeps its last fetch meanwhile)
    corrupt: bool = False  # a blob of the first commit is deleted from the backup's object store
    lfs_objects: bool = False  # the backup carries an lfs/objects folder (a mirror never does by itself)
    wiki: bool = False  # a wiki backup sits beside the repository's

    _utc_fetched = field_validator("fetched")(lambda v: v if v is None else _utc(v))

    @model_validator(mode="after")
    def _one_schedule(self) -> "RepoBackup":
        if (self.fetched is None) == (self.nightly is None):
            raise ValueError("give backup.fetched (one fetch) or backup.nightly (a daily fetch time), not both or neither")
        if self.missed and self.nightly is None:
            raise ValueError("backup.missed needs backup.nightly")
        if self.nightly is not None and self.nightly.tzinfo is not None:
            raise ValueError("backup.nightly is a UTC time of day without an offset (e.g. \"01:00\")")
        return self

    def fetch_before(self, moment: dt.datetime, first_push: dt.datetime) -> dt.datetime | None:
        """The last fetch at or before `moment`: `fetched`, or the newest nightly fetch that ran (None: none yet)."""
        if self.nightly is None:
            return self.fetched if self.fetched is not None and self.fetched <= moment else None
        day = moment.astimezone(dt.timezone.utc).date()
        while day >= first_push.date():
            when = dt.datetime.combine(day, self.nightly, tzinfo=dt.timezone.utc)
            if when <= moment and when >= first_push and not any(m.first <= day <= m.last for m in self.missed):
                return when
            day -= dt.timedelta(days=1)
        return None


class Repository(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")
    private: bool = True
    archived: bool = False
    fork: bool = False
    has_wiki: bool = False
    default_branch: str = Field(default="main", pattern=r"^[A-Za-z0-9._-]+$")
    created: dt.datetime | None = None  # default: the first push
    pushes: list[dt.datetime] = Field(min_length=1)
    branches: list[str] = []  # extra branches, created at the first commit
    tags: list[str] = []  # lightweight tags on the first commit
    lfs: bool = False  # the first commit adds .gitattributes with filter=lfs and a pointer file
    backup: RepoBackup | None = None  # None: no local backup at all

    @field_validator("pushes")
    @classmethod
    def _ordered(cls, value: list[dt.datetime]) -> list[dt.datetime]:
        value = [_utc(v) for v in value]
        if value != sorted(value):
            raise ValueError("pushes must be in time order")
        return value

    @model_validator(mode="after")
    def _backup_after_first_push(self) -> "Repository":
        if self.backup is not None and self.backup.fetched is not None and self.backup.fetched < self.pushes[0]:
            raise ValueError("backup.fetched is before the first push")
        if self.backup is not None and self.backup.corrupt and len(self.pushes) < 2:
            raise ValueError("a corrupt backup needs at least two pushes (the first commit's blob is removed)")
        return self


class Generate(_Strict):
    """A large organisation made at start by synthetic_github.py (scale tests, the benchmark); shares are of all generated."""

    real: int = Field(default=200, ge=0, le=20000)  # own history; backup made with `git clone --mirror`
    synthetic: int = Field(default=1800, ge=0, le=100000)  # a template's history; backup borrows its objects
    seed: int = 7
    prefix: str = Field(default="repo", pattern=r"^[A-Za-z0-9._-]{1,40}$")  # names are <prefix>-00001, ...
    missing: float = Field(default=0.02, ge=0, le=1)  # no local backup
    stale: float = Field(default=0.04, ge=0, le=1)  # fetched before the last push, outside the 24 h window
    lagging: float = Field(default=0.03, ge=0, le=1)  # fetched before the last push, inside the window
    archived: float = Field(default=0.03, ge=0, le=1)
    forks: float = Field(default=0.02, ge=0, le=1)
    wide: int = Field(default=1, ge=0)  # real repositories with 150 branches and 120 tags (two pages each)
    corrupt: int = Field(default=1, ge=0)  # real backups with a blob of the first commit deleted

    @model_validator(mode="after")
    def _shares(self) -> "Generate":
        if self.missing + self.stale + self.lagging > 1:
            raise ValueError("missing + stale + lagging is more than all repositories")
        return self


class Organization(_Strict):
    login: str = Field(pattern=r"^[A-Za-z0-9-]{1,39}$")
    hidden_repositories: int = Field(default=0, ge=0)  # counted in the totals, invisible to the token
    repositories: list[Repository] = []
    orphan_backups: list[str] = []  # backup folders whose repository no longer exists
    # the token may not read this organisation: GitHub answers its endpoints with 403, for an organisation that
    # enforces SAML SSO the token was not authorised for ("saml_sso", with X-GitHub-SSO) or for a fine-grained
    # token without the permission ("fine_grained_token", with X-Accepted-GitHub-Permissions)
    refused: Literal["saml_sso", "fine_grained_token"] | None = None
    generate: Generate | None = None  # add a generated organisation's repositories (synthetic_github.py)

    @model_validator(mode="after")
    def _unique(self) -> "Organization":
        names = [r.name.lower() for r in self.repositories]
        if len(names) != len(set(names)):
            raise ValueError("duplicate repository names")
        return self


class Fault(_Strict):
    """GitHub responses replaced by an error for `count` requests from the `at_request`-th one."""

    kind: Literal["primary_rate_limit", "secondary_rate_limit", "server_error"]
    at_request: int = Field(ge=1)
    count: int = Field(default=1, ge=1)
    retry_after: int = Field(default=1, ge=0)  # secondary: Retry-After; primary: seconds to the reset


class Github(_Strict):
    token_scopes: list[str] | None = ["repo", "read:org"]  # None: a fine-grained token (no X-OAuth-Scopes)
    user: str = Field(default="backup-bot", pattern=r"^[A-Za-z0-9-]{1,39}$")  # the token's own account (GET /user)
    # False: an installation or GitHub Actions token, which has no user: GitHub answers GET /user with 403
    token_has_user: bool = True
    backup_layout: Layout = "mirror"
    backup_bare: bool = True  # python-github-backup --bare / ghorg --backup; false: normal clones
    organizations: list[Organization]
    faults: list[Fault] = []

    @model_validator(mode="after")
    def _generated_backups_are_bare(self) -> "Github":
        if any(o.generate for o in self.organizations) and not (self.backup_bare or self.backup_layout == "mirror"):
            raise ValueError("generated organisations make bare backups: use backup_layout mirror or backup_bare true")
        return self
