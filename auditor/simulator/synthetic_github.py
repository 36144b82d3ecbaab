"""A large GitHub organisation for the simulator, made in seconds: `generate:` on a scenario organisation.

```yaml
github:
  organizations:
    - login: scale
      generate: {real: 200, synthetic: 1800, seed: 7}   # shares: missing, stale, lagging, archived, forks
```

Two kinds of generated repository, so that every backup is real enough for the collector's git
inspection (for-each-ref, cat-file, merge-base, fsck, a restore clone) while creation stays fast:

- real: its own history (commits no other repository shares, written as loose objects by
  `gitwrite`, no git process), an upstream bare repository, and a backup made by git itself with
  `git clone --mirror` at the fetch time (one git process per repository); newer pushes are written
  to the upstream after the clone, so a stale backup truly lacks them.
- synthetic: a copy of one of a few template histories. GitHub serves the template's branches, tags
  and commits under the repository's own name; the backup is a bare mirror whose refs and
  FETCH_HEAD are written directly and whose objects are borrowed through objects/info/alternates
  (what `git clone --shared` makes) from a pool holding exactly the commits pushed before its fetch.
  So a stale synthetic backup also truly lacks GitHub's newest commit, and the collector must ask
  GitHub's compare API about it, as for a real one.

Backup states, drawn per repository: fresh (fetched after the last push; for real repositories a
quarter are fetched long ago with nothing pushed since), stale (fetched before the last push and
outside the 24 h window: freshness fails), lagging (fetched before the last push but inside the
window: fresh, yet GitHub must count the missing commits), missing (no backup: coverage and
freshness fail), and `corrupt` real backups (a blob of the first commit deleted: fsck fails if sampled).
The `wide` real repositories have more branches and tags than one page holds. Every draw comes from
random.Random(org + seed), so a scenario always makes the same organisation. `world.shapes` says
what was made, in the terms of auditor.cost_github's formula.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from auditor.cost_github import RepoShape
from auditor.errors import ScenarioError
from auditor.simulator.github_world import GitWorld, RepoState, backup_path, git
from auditor.simulator.gitwrite import ObjectWriter, Written, init_bare, write_fetch_head, write_refs
from auditor.simulator.scenario_github import Generate, Github, Organization, RepoBackup, Repository

TEMPLATES = 8
HOUR = dt.timedelta(hours=1)


def wanted(spec: Github) -> bool:
    return any(org.generate is not None for org in spec.organizations)


@dataclass
class History:
    """One repository's commits on GitHub (default branch linear; extra branches and tags at the first commit)."""

    default_branch: str
    commits: list[Written]
    branches: list[str]
    tags: list[str]

    def refs(self, upto: int) -> dict[str, str]:
        """Refs as they stood once commit `upto` was pushed."""
        first = self.commits[0].sha
        refs = {f"refs/heads/{self.default_branch}": self.commits[upto].sha}
        refs.update({f"refs/heads/{b}": first for b in self.branches})
        refs.update({f"refs/tags/{t}": first for t in self.tags})
        return refs

    def state(self, org: str, spec: Repository, path: Path, size_kib: int) -> RepoState:
        refs = self.refs(len(self.commits) - 1)
        return RepoState(org=org, spec=spec, path=path, size_kib=size_kib,
                         branches={r.removeprefix("refs/heads/"): s for r, s in refs.items() if r.startswith("refs/heads/")},
                         tags={r.removeprefix("refs/tags/"): s for r, s in refs.items() if r.startswith("refs/tags/")},
                         commits={c.sha: c.as_state() for c in self.commits})


def write_history(store: ObjectWriter, name: str, pushes: list[dt.datetime], upto: int | None = None, start: int = 0,
                  previous: list[Written] | None = None) -> list[Written]:
    """Commits `start..upto` of a repository whose README names it (so its objects are its own)."""
    commits = list(previous or [])
    last = len(pushes) - 1 if upto is None else upto
    for index in range(start, last + 1):
        tree = store.tree({"README.md": store.blob(f"# {name}\n\nrelease {index}\n")})
        parents = (commits[-1].sha,) if commits else ()
        commits.append(store.commit(tree, parents, pushes[index], f"release {index}"))
    return commits


@dataclass
class Template:
    history: History
    pushes: list[dt.datetime]
    pools: dict[int, Path] = field(default_factory=dict)  # commits included - 1 -> objects folder
    state_size: int = 1


class ScaleWorld(GitWorld):
    """GitWorld plus the generated repositories of every organisation with `generate:`.

    `spec` is the scenario's GitHub part with the generated repositories added (what the routes serve);
    `shapes[org]` describes them for the cost formula, `states[org]` gives each one's backup state (what
    the checks should conclude) and `kinds[org]` whether it is real or synthetic, `timings` says how long creation took and how many git processes it ran.
    """

    def __init__(self, spec: Github, workdir: Path, now: dt.datetime) -> None:
        started = time.perf_counter()
        super().__init__(spec, workdir)  # the hand-written repositories and orphan backups
        self.now = now
        self.shapes: dict[str, list[RepoShape]] = {}
        self.states: dict[str, dict[str, str]] = {}  # org -> repository -> fresh|stale|lagging|missing|corrupt
        self.kinds: dict[str, dict[str, str]] = {}  # org -> repository -> real|synthetic
        self.git_processes = 0
        multi = len(spec.organizations) > 1
        organizations = []
        for org in spec.organizations:
            if org.generate is None:
                organizations.append(org)
                continue
            made = _Generator(self, org, org.generate, multi).run()
            organizations.append(org.model_copy(update={"repositories": [*org.repositories, *made]}))
        self.spec = spec.model_copy(update={"organizations": organizations})
        self.timings = {"seconds": time.perf_counter() - started, "git_processes": self.git_processes}


class _Generator:
    def __init__(self, world: ScaleWorld, org: Organization, gen: Generate, multi: bool) -> None:
        self.world, self.org, self.gen, self.multi = world, org, gen, multi
        self.rng = random.Random(f"{org.login}:{gen.seed}")
        self.now = world.now
        self.base = world.workdir / "generated" / org.login
        self.remote = f"https://github.example/{org.login}"
        self.pending: list[tuple[Path, Path | None, Callable[[], None]]] = []  # real repositories awaiting their clone
        taken = {r.name.lower() for r in org.repositories}
        total = gen.real + gen.synthetic
        self.names = [f"{gen.prefix}-{i:05d}" for i in range(1, total + 1)]
        if taken & {n.lower() for n in self.names}:
            raise ScenarioError(f"github: {org.login}: generated names {gen.prefix}-NNNNN collide with listed repositories")

    # -- the organisation -------------------------------------------------------------------
    def run(self) -> list[Repository]:
        gen, rng = self.gen, self.rng
        kinds = ["real"] * gen.real + ["synthetic"] * gen.synthetic
        rng.shuffle(kinds)
        real_left = {"wide": gen.wide, "corrupt": gen.corrupt}
        templates = [self._template(k) for k in range(min(TEMPLATES, gen.synthetic))]
        made, shapes, states = [], [], {}
        for index, (name, kind) in enumerate(zip(self.names, kinds)):
            u = rng.random()
            state = ("missing" if u < gen.missing else "stale" if u < gen.missing + gen.stale
                     else "lagging" if u < gen.missing + gen.stale + gen.lagging else "fresh")
            flags = {"archived": rng.random() < gen.archived, "fork": rng.random() < gen.forks,
                     "private": rng.random() < 0.8}
            if kind == "real":
                wide = real_left["wide"] > 0
                if wide or (state == "fresh" and real_left["corrupt"] > 0):  # in scope and backed up, to be audited
                    flags.update(archived=False, fork=False)
                    state = "fresh" if state == "missing" else state
                corrupt = not wide and state == "fresh" and real_left["corrupt"] > 0
                real_left["wide"] -= wide
                real_left["corrupt"] -= corrupt
                spec, history = self._real(name, state, flags, wide, corrupt)
            else:
                spec, history = self._synthetic(name, state, flags, templates[index % len(templates)])
            made.append(spec)
            states[name] = "corrupt" if kind == "real" and spec.backup is not None and spec.backup.corrupt else state
            shapes.append(RepoShape(name=name, branches=1 + len(history.branches), tags=len(history.tags),
                                    backed_up=spec.backup is not None, lacking=int(state in ("stale", "lagging")),
                                    archived=spec.archived, fork=spec.fork))
        self._clone_all()
        self.world.shapes[self.org.login] = shapes
        self.world.states[self.org.login] = states
        self.world.kinds[self.org.login] = dict(zip(self.names, kinds))
        return made

    def _backup_dest(self, name: str) -> Path:
        spec = self.world.spec
        dest = backup_path(self.world.backup_root, self.org.login, name, spec.backup_layout, spec.backup_bare, self.multi)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def _times(self, state: str, count: int, template: bool = False) -> tuple[list[dt.datetime], dt.datetime | None]:
        """Push times and the fetch time for a backup state (None: no backup)."""
        rng, now = self.rng, self.now

        def ago(low: float, high: float) -> dt.datetime:
            return now - dt.timedelta(hours=rng.uniform(low, high))

        if state in ("stale", "lagging"):
            fetched = ago(30, 144) if state == "stale" else ago(4, 20)
            last = fetched + (now - fetched) * rng.uniform(0.2, 0.8)
            earlier = sorted(fetched - dt.timedelta(hours=rng.uniform(1, 720)) for _ in range(count - 1))
            return [*earlier, last], fetched
        last = ago(2, 720)
        earlier = sorted(last - dt.timedelta(hours=rng.uniform(1, 720)) for _ in range(count - 1))
        if state == "missing":
            return [*earlier, last], None
        fetched = last + HOUR if rng.random() < 0.25 and last < now - 2 * HOUR else ago(0.1, 1.5)
        return [*earlier, last], max(fetched, last + dt.timedelta(minutes=5))

    @staticmethod
    def _spec(name: str, pushes: list[dt.datetime], history: History, fetched: dt.datetime | None, flags: dict,
              corrupt: bool = False) -> Repository:
        return Repository(name=name, default_branch=history.default_branch, pushes=pushes, branches=history.branches,
                          tags=history.tags, created=pushes[0] - dt.timedelta(days=30),
                          backup=RepoBackup(fetched=fetched, corrupt=corrupt) if fetched else None, **flags)

    # -- real repositories ------------------------------------------------------------------
    def _real(self, name: str, state: str, flags: dict, wide: bool, corrupt: bool) -> tuple[Repository, History]:
        """Write the upstream as it stood at the fetch; the clone and the later pushes wait for `_clone_all`."""
        rng = self.rng
        count = rng.randint(2, 4) if state in ("stale", "lagging") or corrupt else rng.randint(1, 4)
        pushes, fetched = self._times(state, count)
        default = "master" if rng.random() < 0.1 else "main"
        branches = [f"feature-{i:03d}" for i in range(149)] if wide else sorted(rng.sample(["dev", "release", "staging"], rng.randint(0, 3)))
        tags = [f"v0.{i:03d}" for i in range(120)] if wide else [f"v{i}.0" for i in range(rng.randint(0, 3))]
        upstream = init_bare(self.base / "upstream" / f"{name}.git", default)
        store = ObjectWriter(upstream / "objects")
        history = History(default, [], branches, tags)
        spec = self._spec(name, pushes, history, fetched, flags, corrupt)
        cut = len(pushes) - 1 if fetched is None else max(i for i, when in enumerate(pushes) if when <= fetched)
        history.commits = write_history(store, name, pushes, upto=cut)
        write_refs(upstream, history.refs(cut))

        def after_clone() -> None:
            if fetched is not None:
                write_fetch_head(dest, history.refs(cut), f"{self.remote}/{name}", fetched)
                if corrupt:  # the first commit's README blob (already written: this only names it)
                    blob = store.blob(f"# {name}\n\nrelease 0\n")
                    (dest / "objects" / blob[:2] / blob[2:]).unlink()
            history.commits = write_history(store, name, pushes, start=cut + 1, previous=history.commits)
            write_refs(upstream, history.refs(len(history.commits) - 1))
            self.world.repos[(self.org.login.lower(), name.lower())] = history.state(
                self.org.login, spec, upstream, max(1, store.size // 1024))

        dest = self._backup_dest(name) if fetched is not None else None
        self.pending.append((upstream, dest, after_clone))
        return spec, history

    def _clone_all(self) -> None:
        """`git clone --mirror` every real backup (a few at a time: each is one git process), then push the rest."""
        jobs = [(upstream, dest) for upstream, dest, _ in self.pending if dest is not None]
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda job: git("clone", "-q", "--mirror", str(job[0]), str(job[1])), jobs))
        self.world.git_processes += len(jobs)
        for _upstream, _dest, after_clone in self.pending:
            after_clone()
        self.pending.clear()

    # -- synthetic repositories -------------------------------------------------------------
    def _template(self, k: int) -> Template:
        """A history many synthetic repositories share: last push 2-3 h ago, the one before 3-10 days ago."""
        rng, now = self.rng, self.now
        count = 2 + k % 3
        last = now - dt.timedelta(hours=rng.uniform(2, 3))
        previous = now - dt.timedelta(days=rng.uniform(3, 10))
        pushes = [*sorted(previous - dt.timedelta(days=rng.uniform(1, 60)) for _ in range(count - 2)), previous, last]
        default = "master" if k == TEMPLATES - 1 else "main"
        branches = ["dev", "release", "staging"][: k % 4]
        tags = [f"v{i}.0" for i in range((k // 2) % 3)]
        template = Template(History(default, [], list(branches), tags), pushes)
        name = f"template-{self.org.login}-{k}"
        for upto in (count - 2, count - 1):  # a pool for backups fetched before the last push, one for after
            store = ObjectWriter(self.base / "pools" / f"t{k}-{upto}" / "objects")
            template.history.commits = write_history(store, name, pushes, upto=upto)
            template.pools[upto] = store.objects
            template.state_size = max(1, store.size // 1024)
        return template

    def _synthetic(self, name: str, state: str, flags: dict, template: Template) -> tuple[Repository, History]:
        rng, now, history = self.rng, self.now, template.history
        pushes = template.pushes
        last = len(pushes) - 1
        if state == "missing":
            fetched, upto = None, last
        elif state == "stale":
            fetched, upto = _between(rng, pushes[-2], min(pushes[-1], now - 30 * HOUR)), last - 1
        elif state == "lagging":
            fetched, upto = _between(rng, max(pushes[-2], now - 20 * HOUR), pushes[-1]), last - 1
        else:
            fetched, upto = _between(rng, pushes[-1], now), last
        if fetched is not None:
            dest = self._backup_dest(name)
            url = f"{self.remote}/{name}"
            init_bare(dest, history.default_branch, remote=url, alternates=[template.pools[upto]])
            write_refs(dest, history.refs(upto))
            write_fetch_head(dest, history.refs(upto), url, fetched)
        spec = self._spec(name, pushes, history, fetched, flags)
        self.world.repos[(self.org.login.lower(), name.lower())] = history.state(
            self.org.login, spec, template.pools[last], template.state_size)
        return spec, history


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        raise ScenarioError("github generate: no room for a fetch time between two pushes")
    return start + (end - start) * rng.uniform(0.1, 0.9)
