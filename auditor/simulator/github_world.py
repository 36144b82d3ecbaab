"""Real git repositories for the simulated GitHub, and the company's local backup of them.

Built once when the simulator starts, in a work folder the simulator owns (removed at stop):
`upstream/<org>/<repo>` are the repositories "on GitHub" (commit dates follow the scenario clock
through GIT_AUTHOR_DATE/GIT_COMMITTER_DATE), `backup/` is the local backup in the scenario's
layout, made when each repository's `backup.fetched` says, with FETCH_HEAD's mtime set to that time.
Everything the GitHub routes serve (branch heads, tags, trees, ancestry) is read from these
repositories once, at build time.

The scenario clock moves (`set_clock`, one step per day of a quarter for daily lockers): GitHub then
serves each repository as it stood at the clock (pushes after it are not there yet), and a backup
with a `nightly` schedule is rewound to its last nightly fetch before the clock (its refs as GitHub
held them then, FETCH_HEAD dated then). A rewound mirror keeps the objects of later commits in its
object store, unreferenced (git fsck --no-dangling and a clone ignore them), so the collector may
count a lag with git itself where a real mirror would need GitHub's compare.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from auditor.errors import ScenarioError
from auditor.simulator.gitwrite import write_fetch_head, write_refs
from auditor.simulator.scenario_github import Github, Organization, Repository

_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
    "GIT_AUTHOR_NAME": "Bangkok Dev", "GIT_AUTHOR_EMAIL": "dev@bangkoksolutions.example",
    "GIT_COMMITTER_NAME": "Bangkok Dev", "GIT_COMMITTER_EMAIL": "dev@bangkoksolutions.example",
}
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


def lfs_content(repo: str) -> bytes:
    """The file an LFS repository stores (its pointer names this content's SHA-256, as git-lfs does)."""
    return (f"simulated binary asset of {repo}\n" * 64).encode()


def git(*args: str, cwd: Path | None = None, when: dt.datetime | None = None) -> str:
    env = {**os.environ, **_GIT_ENV}
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    proc = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "gc.auto=0", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ScenarioError(f"simulator: git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class RepoState:
    """What GitHub knows about one repository, read from its upstream git repository."""

    org: str
    spec: Repository
    path: Path
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict] = field(default_factory=dict)  # sha -> {tree, parents, time, message}
    size_kib: int = 0

    def at(self, moment: dt.datetime) -> "RepoState":
        """The repository as GitHub held it at `moment`: the default branch at its last push by then (every
        push is one commit on it; the extra branches and tags sit on the first commit)."""
        pushes = [p for p in self.spec.pushes if p <= moment] or self.spec.pushes[:1]
        if len(pushes) == len(self.spec.pushes):
            return self
        head = self.branches.get(self.spec.default_branch)
        chain = []
        while head:
            chain.append(head)
            parents = self.commits.get(head, {}).get("parents") or []
            head = parents[0] if parents else None
        chain.reverse()  # oldest first: chain[i] is push i
        keep = set(chain[:len(pushes)])
        branches = {**self.branches, self.spec.default_branch: chain[len(pushes) - 1]}
        return RepoState(org=self.org, spec=self.spec.model_copy(update={"pushes": pushes}), path=self.path,
                         branches=branches, tags=dict(self.tags),
                         commits={sha: c for sha, c in self.commits.items() if sha in keep}, size_kib=self.size_kib)

    def ancestors(self, sha: str) -> set[str]:
        seen, stack = set(), [sha]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            stack.extend(self.commits[current]["parents"])
        return seen


def backup_path(root: Path, org: str, repo: str, layout: str, bare: bool, multi_org: bool) -> Path:
    """Where each tool puts a repository's backup (the collector reads the same layouts)."""
    if layout == "mirror":
        return root / org / f"{repo}.git"
    if layout == "python-github-backup":
        base = root / org if multi_org else root
        return base / "repositories" / repo / "repository"
    return root / (f"{org}_backup" if bare else org) / repo


class GitWorld:
    def __init__(self, spec: Github, workdir: Path) -> None:
        self.spec = spec
        self.workdir = workdir
        self.backup_root = workdir / "backup"
        self.repos: dict[tuple[str, str], RepoState] = {}
        self.lfs_objects: dict[tuple[str, str], dict[str, bytes]] = {}  # (org, repo) -> oid -> content (served by git_http)
        self.lfs_secret = secrets.token_hex(16)  # LFS download links carry it (GitHub's short-lived RemoteAuth header)
        self.clock: Callable[[], dt.datetime] | None = None  # the scenario clock (None: every push is served)
        self._views: dict[tuple[str, str, int], RepoState] = {}  # (org, repo, pushes visible) -> the state then
        self._backups: dict[tuple[str, str], tuple[Path, bool]] = {}  # nightly backups: (path, bare)
        self._rendered: dict[tuple[str, str], dt.datetime | None] = {}
        multi = len(spec.organizations) > 1
        for org in spec.organizations:
            for repo in org.repositories:
                self.repos[(org.login.lower(), repo.name.lower())] = self._build(org, repo, multi)
            for name in org.orphan_backups:
                dest = backup_path(self.backup_root, org.login, name, spec.backup_layout, spec.backup_bare, multi)
                dest.parent.mkdir(parents=True, exist_ok=True)
                git("init", "-q", "--bare" if spec.backup_bare or spec.backup_layout == "mirror" else "-q", str(dest))

    def repo(self, org: str, name: str) -> RepoState | None:
        key = (org.lower(), name.lower())
        state = self.repos.get(key)
        if state is None or self.clock is None:
            return state
        now = self.clock()
        if state.spec.pushes[-1] <= now:
            return state
        visible = sum(1 for p in state.spec.pushes if p <= now)
        view = self._views.get((*key, visible))
        if view is None:
            view = self._views[(*key, visible)] = state.at(now)
        return view

    def set_clock(self, clock: Callable[[], dt.datetime]) -> None:
        """Serve GitHub as it stands at `clock()` (pushes after it are not there yet), and rewind each nightly
        backup to its last fetch before that moment (called again whenever the scenario clock is moved)."""
        self.clock = clock
        moment = clock().astimezone(dt.timezone.utc)
        for key, (path, bare) in self._backups.items():
            state = self.repos[key]
            backup = state.spec.backup
            assert backup is not None
            fetched = backup.fetch_before(moment, state.spec.pushes[0])
            if fetched is None or self._rendered.get(key) == fetched:
                continue
            then = state.at(fetched)
            git_dir = path if bare else path / ".git"
            prefix = "refs/heads/" if bare else "refs/remotes/origin/"
            refs = {prefix + b: sha for b, sha in then.branches.items()}
            refs.update({f"refs/tags/{t}": sha for t, sha in then.tags.items()})
            for folder in ("heads", "tags", "remotes"):
                shutil.rmtree(git_dir / "refs" / folder, ignore_errors=True)
            (git_dir / "refs" / "heads").mkdir(parents=True, exist_ok=True)
            (git_dir / "refs" / "tags").mkdir(parents=True, exist_ok=True)
            write_refs(git_dir, refs)
            write_fetch_head(git_dir, refs, str(state.path), fetched)
            self._rendered[key] = fetched

    def wiki_path(self, state: RepoState) -> Path | None:
        """The wiki repository GitHub would serve at `{repo}.wiki.git` (None: the wiki is off)."""
        path = state.path.parent / f"{state.path.name}.wiki"
        return path if state.spec.has_wiki and path.is_dir() else None

    def push(self, org: str, name: str, when: dt.datetime, message: str = "a later push") -> RepoState:
        """One more commit on the default branch "on GitHub" (e.g. after a backup ran), served from then on."""
        state = self.repo(org, name)
        if state is None:
            raise KeyError(f"no repository {org}/{name}")
        when = when.astimezone(dt.timezone.utc)
        (state.path / "README.md").write_text(f"# {state.spec.name}\n\n{message} ({when.isoformat()}, push {len(state.spec.pushes)})\n")
        git("commit", "-q", "-a", "-m", message, cwd=state.path, when=when)
        spec = state.spec.model_copy(update={"pushes": [*state.spec.pushes, when]})
        fresh = self._read_state(state.org, spec, state.path)
        self.repos[(state.org.lower(), spec.name.lower())] = fresh
        return fresh

    def _build(self, org: Organization, repo: Repository, multi: bool) -> RepoState:
        path = self.workdir / "upstream" / org.login / repo.name
        path.mkdir(parents=True)
        git("init", "-q", "-b", repo.default_branch, str(path))
        backup = repo.backup
        backed_up = False
        for index, when in enumerate(repo.pushes):
            if backup and backup.fetched is not None and not backed_up and when > backup.fetched:
                self._make_backup(org, repo, path, multi)
                backed_up = True
            (path / "README.md").write_text(f"# {repo.name}\n\nrelease {index}\n")
            if index == 0 and repo.lfs:
                content = lfs_content(repo.name)
                oid = hashlib.sha256(content).hexdigest()
                self.lfs_objects.setdefault((org.login.lower(), repo.name.lower()), {})[oid] = content
                (path / ".gitattributes").write_text("*.psd filter=lfs diff=lfs merge=lfs -text\n")
                (path / "logo.psd").write_text(LFS_POINTER.format(oid=oid, size=len(content)))
            git("add", "-A", cwd=path)
            git("commit", "-q", "-m", f"release {index}", cwd=path, when=when)
            if index == 0:
                for branch in repo.branches:
                    git("branch", branch, cwd=path)
                for tag in repo.tags:
                    git("tag", tag, cwd=path)
        if backup and not backed_up:
            self._make_backup(org, repo, path, multi)
        if repo.has_wiki:  # GitHub keeps a wiki as its own repository, `{repo}.wiki.git`
            wiki = path.parent / f"{repo.name}.wiki"
            git("init", "-q", "-b", "master", str(wiki))
            (wiki / "Home.md").write_text(f"# {repo.name} wiki\n")
            git("add", "-A", cwd=wiki)
            git("commit", "-q", "-m", "wiki home", cwd=wiki, when=repo.pushes[0])
        return self._read_state(org.login, repo, path)

    def _make_backup(self, org: Organization, repo: Repository, upstream: Path, multi: bool) -> None:
        spec, backup = self.spec, repo.backup
        assert backup is not None
        bare = spec.backup_bare or spec.backup_layout == "mirror"
        dest = backup_path(self.backup_root, org.login, repo.name, spec.backup_layout, spec.backup_bare, multi)
        dest.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "-q", "--mirror" if bare else "--no-hardlinks", str(upstream), str(dest))
        git("fetch", "-q", "--tags", "origin", cwd=dest)  # writes FETCH_HEAD, like the nightly job
        git_dir = dest if bare else dest / ".git"
        if backup.fetched is not None:
            stamp = backup.fetched.timestamp()
            os.utime(git_dir / "FETCH_HEAD", (stamp, stamp))
        else:  # nightly: made after every push, rewound to the clock's last fetch by set_clock
            self._backups[(org.login.lower(), repo.name.lower())] = (dest, bare)
        if backup.corrupt:
            first = git("rev-list", "--max-parents=0", "HEAD", cwd=upstream).split()[0]
            blob = git("rev-parse", f"{first}:README.md", cwd=upstream).strip()
            (git_dir / "objects" / blob[:2] / blob[2:]).unlink()
        if backup.lfs_objects:
            (git_dir / "lfs" / "objects" / "ab" / "ab").mkdir(parents=True)
            (git_dir / "lfs" / "objects" / "ab" / "ab" / ("ab" * 32)).write_bytes(b"\0" * 16)
        if backup.wiki:
            wiki = dest.parent / (f"{repo.name}.wiki.git" if spec.backup_layout == "mirror" else "wiki")
            if spec.backup_layout == "ghorg":
                wiki = dest.parent / f"{repo.name}.wiki"
            git("init", "-q", "--bare", str(wiki))

    @staticmethod
    def _read_state(org: str, repo: Repository, path: Path) -> RepoState:
        state = RepoState(org=org, spec=repo, path=path)
        for line in git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags", cwd=path).splitlines():
            ref, sha = line.split()
            if ref.startswith("refs/heads/"):
                state.branches[ref.removeprefix("refs/heads/")] = sha
            else:
                state.tags[ref.removeprefix("refs/tags/")] = sha
        for line in git("log", "--all", "--format=%H|%T|%P|%ct|%s", cwd=path).splitlines():
            sha, tree, parents, stamp, message = line.split("|", 4)
            state.commits[sha] = {"tree": tree, "parents": parents.split(), "message": message,
                                  "time": dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc)}
        state.size_kib = max(1, sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) // 1024)
        return state

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
