"""GitHub at scale, small: a generated organisation through the real collector makes exactly the design minimum.

The organisation comes from `generate:` (auditor/simulator/synthetic_github.py): real and synthetic
repositories whose backups are fresh, stale, lagging (pushed after a fetch still inside the window),
missing or corrupt. The call counts are compared with auditor/cost_github.py's formula, computed
from what the generator says it made (not from the collector's output); the verdicts with the rules
of the three source-backup checks applied by hand to each repository's generated state. No timing.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
import requests

from auditor import runner
from auditor.checks_api import CheckContext
from auditor.checks import source_backup_freshness
from auditor.collectors import github as collector
from auditor.config import Config
from auditor.cost_github import PER_RUN, RepoShape, git_commands, github_minimum, pages, serial_bound
from auditor.errors import ConfigError
from auditor.evidence.locker import Locker, LockerWriter
from auditor.facts import build_facts
from auditor.period import Period
from auditor.scheduler import Scheduler
from auditor.simulator import Simulator
from auditor.simulator.github_limits import Limits, RateLimiter
from auditor.simulator.scenario import parse_scenario
from auditor.simulator.synthetic_github import ScaleWorld

TOKEN = "ghp_SCALEtestToken0123456789abcdef"
SAMPLE = 50  # larger than the organisation: every backed-up repository is drilled, so the corrupt one is found
# seed 42 makes every state at this size (the first test asserts it, so a generator change cannot hide a case)
GENERATE = {"real": 4, "synthetic": 8, "seed": 42, "missing": 0.15, "stale": 0.2, "lagging": 0.15, "archived": 0.1,
            "forks": 0.1}
ROUTES = {"orgs.get": "GET /orgs/{org}", "orgs.repos.list": "GET /orgs/{org}/repos",
          "repos.branches.list": "GET /repos/{owner}/{repo}/branches", "repos.tags.list": "GET /repos/{owner}/{repo}/tags",
          "repos.compare": "GET /repos/{owner}/{repo}/compare/{basehead}",
          "repos.git.commits.get": "GET /repos/{owner}/{repo}/git/commits/{sha}"}


def scale_scenario(**generate):
    return parse_scenario({
        "name": "scale", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-01",
        "organization": {"id": "1", "display_name": "scale"}, "projects": [],
        "github": {"organizations": [{"login": "scale", "generate": {**GENERATE, **generate}}]},
    })


def github_only_config(sim) -> Config:
    return Config.model_validate({
        "organization": "Scale", "period": {"quarter": "2026-Q3"},
        "github": {"organizations": ["scale"], "token_env": "AUDITOR_SCALE_TOKEN"},
        "policy": {"classifications": {"internal": {}}, "source_code": {"integrity_sample": SAMPLE}},
    }).for_simulator(sim)


@pytest.fixture(scope="module")
def sim():
    with Simulator(scale_scenario(), port=0) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDITOR_SCALE_TOKEN", TOKEN)
        collection = runner.collect(github_only_config(sim), tmp_path_factory.mktemp("scale") / "evidence")
    results = runner.evaluate([collection.evidence_dir])
    controls = {c["id"]: {f["resource"]: f for f in c["findings"]} for c in results["controls"]}
    statuses = {c["id"]: c["status"] for c in results["controls"]}
    return SimpleNamespace(collection=collection, controls=controls, statuses=statuses, stats=dict(sim.stats))


def test_the_organisation_has_every_case(sim):
    states = sim.github.world.states["scale"]
    shapes = sim.github.world.shapes["scale"]
    assert set(states.values()) == {"fresh", "stale", "lagging", "missing", "corrupt"}
    assert any(s.fork for s in shapes) and any(s.archived for s in shapes)
    assert any(s.branches > 100 and s.tags > 100 for s in shapes)  # a repository needing two pages of each
    kinds = sim.github.world.kinds["scale"]
    assert Counter(kinds.values()) == {"real": 4, "synthetic": 8}
    assert {kinds[n] for n, state in states.items() if state == "stale"} == {"real", "synthetic"}


def test_github_calls_equal_the_design_minimum(sim, run):
    shapes = sim.github.world.shapes["scale"]
    expected = github_minimum(shapes, sample=SAMPLE) + PER_RUN  # one organisation, plus the token owner once
    made = Counter()
    for call in run.collection.manifest["calls"]:
        if call["api"] == "github":
            made["github", call["method"]] += call["requests"]
    assert run.collection.manifest["counts"]["failed_calls"] == 0
    assert made == expected
    served = {method: run.stats.get(("github", route), 0) for method, route in ROUTES.items()}
    assert served == {method: expected.get(("github", method), 0) for method in ROUTES}
    assert sum(v for (api, _), v in run.stats.items() if api == "github") == sum(expected.values())  # nothing else


def test_local_git_commands_follow_the_formula(sim, run):
    shapes = sim.github.world.shapes["scale"]
    states = sim.github.world.states["scale"]
    commands = [i for i in run.collection.manifest["items"] if i["url"].startswith("local:git ")]
    corrupt_drilled = sum(1 for s in states.values() if s == "corrupt")  # its clone fails: no look at the restored copy
    assert len(commands) == git_commands(shapes, sample=SAMPLE) - 2 * corrupt_drilled


def test_verdicts_follow_each_generated_state(sim, run):
    states = sim.github.world.states["scale"]
    forks = {s.name for s in sim.github.world.shapes["scale"] if s.fork}
    expected = {  # (coverage, freshness, integrity), from the checks' rules
        "fresh": ("pass", "pass", "pass"), "lagging": ("pass", "pass", "pass"), "stale": ("pass", "fail", "pass"),
        "missing": ("fail", "fail", "not_applicable"), "corrupt": ("pass", "pass", "fail"),
    }
    # the run's day is judged by those rules; the quarter's other days had no locker, so they are unknown and
    # what passed on the run's day is inconclusive over the period (auditor.locker_days)
    day_state = {"pass": "kept", "fail": "broken"}
    over_period = {"pass": "inconclusive", "fail": "fail", "not_applicable": "not_applicable"}
    for name, state in states.items():
        resource = f"github.com/scale/{name}"
        checks = ("source-backup-coverage", "source-backup-freshness", "source-backup-integrity")
        got = tuple(run.controls[c][resource]["status"] for c in checks)
        want = ("not_applicable",) * 3 if name in forks else tuple(over_period[s] for s in expected[state])
        if name not in forks:
            on_the_day = tuple(run.controls[c][resource]["details"].get("days", {}).get("2026-09-30") for c in checks)
            assert on_the_day == tuple(day_state.get(s) for s in expected[state]), (name, state)
        assert got == want, (name, state, [run.controls[c][resource]["message"] for c in run.controls if resource in run.controls[c]])
    stale = next(n for n, s in states.items() if s == "stale" and n not in forks)
    assert "stale" in run.controls["source-backup-freshness"][f"github.com/scale/{stale}"]["message"]


def test_a_github_only_audit_calls_no_google_api_and_passes_no_google_control(run):
    assert {c["api"] for c in run.collection.manifest["calls"]} == {"github", "git"}
    assert "gcp" not in run.collection.manifest["identity"]
    google = {k: v for k, v in run.statuses.items() if not k.startswith("source-")}
    assert google and set(google.values()) == {"inconclusive"}  # nothing in scope is never a pass


def test_backups_are_real_git_and_stale_ones_lack_githubs_head(sim):
    world = sim.github.world
    states = world.states["scale"]
    for name, state in states.items():
        if state not in ("stale", "fresh"):
            continue
        path = sim.github_backup_root / "scale" / f"{name}.git"
        head = world.repo("scale", name).branches[world.repo("scale", name).spec.default_branch]
        has_head = subprocess.run(["git", "-C", str(path), "cat-file", "-e", f"{head}^{{commit}}"], capture_output=True)
        assert (has_head.returncode == 0) is (state == "fresh"), name
        assert subprocess.run(["git", "-C", str(path), "fsck", "--no-progress"], capture_output=True).returncode == 0


def test_generation_is_deterministic(sim, tmp_path):
    again = ScaleWorld(scale_scenario().github, tmp_path, sim.scenario.now)
    first = sim.github.world
    assert again.states == first.states and again.shapes == first.shapes
    for key, state in first.repos.items():
        other = again.repos[key]
        assert (other.branches, other.tags, other.spec) == (state.branches, state.tags, state.spec)


def test_the_formula_counts_pages_and_scope():
    assert [pages(n) for n in (0, 1, 100, 101, 250)] == [1, 1, 1, 2, 3]
    repos = [RepoShape("a", branches=150, tags=0, backed_up=True, lacking=1), RepoShape("b", 1, 1, backed_up=False),
             RepoShape("c", 1, 1, backed_up=True, fork=True), RepoShape("d", 1, 1, backed_up=True, archived=True)]
    assert github_minimum(repos, sample=1) == {
        ("github", "orgs.get"): 1, ("github", "orgs.repos.list"): 1, ("github", "repos.branches.list"): 3,
        ("github", "repos.tags.list"): 2, ("github", "repos.compare"): 1, ("github", "repos.git.commits.get"): 1}
    assert github_minimum(repos, sample=5, include_archived=False, include_forks=True)[("github", "repos.git.commits.get")] == 2
    assert serial_bound(100, 0.05, 0.02) == pytest.approx(7.0)


def test_a_config_with_nothing_to_audit_is_refused(tmp_path):
    config = Config.model_validate({"organization": "X", "period": {"quarter": "2026-Q3"},
                                    "policy": {"classifications": {"internal": {}}}})
    with pytest.raises(ConfigError, match="github.organizations"):
        runner.collect(config, tmp_path / "evidence")


# -- GitHub's rate limits, enforced by the simulator --------------------------------------------

@pytest.fixture
def limited(sim):
    """The module's simulator with a limiter the test sets; the generous default comes back afterwards."""
    original = sim.github.limiter
    yield sim
    sim.github.limiter = original


def test_points_per_endpoint_are_limited(limited):
    limited.github.limiter = RateLimiter(Limits(points_per_minute=3))
    api, auth = limited.url + "/api/v3", {"Authorization": f"token {TOKEN}"}
    answers = [requests.get(f"{api}/orgs/scale", headers=auth, timeout=5) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    assert "secondary rate limit" in answers[3].json()["message"] and 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert requests.get(f"{api}/orgs/scale/repos", headers=auth, timeout=5).status_code == 200  # another endpoint
    assert requests.get(f"{api}/orgs/scale", headers={"Authorization": "token other"}, timeout=5).status_code == 200
    assert limited.github.limiter.refusals == {"points": 1}


def test_requests_in_flight_and_the_hourly_budget_are_limited(limited):
    api, auth = limited.url + "/api/v3", {"Authorization": f"token {TOKEN}"}
    limited.github.limiter = RateLimiter(Limits(concurrent=1))
    dispatch = limited.github._dispatch
    slow = threading.Event()

    def slow_dispatch(*args):  # the first request is still being served when the second arrives
        if not slow.is_set():
            slow.set()
            time.sleep(0.3)
        return dispatch(*args)

    limited.github._dispatch = slow_dispatch
    try:
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(requests.get(f"{api}/orgs/scale", headers=auth,
                                                                                 timeout=5).status_code)) for _ in range(2)]
        for thread in threads:
            thread.start()
            slow.wait(2)
        for thread in threads:
            thread.join()
    finally:
        del limited.github._dispatch
    assert sorted(statuses) == [200, 403]
    limited.github.limiter = RateLimiter(Limits(primary_per_hour=2))
    answers = [requests.get(f"{api}/orgs/scale", headers=auth, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 403]
    assert answers[1].headers["X-RateLimit-Remaining"] == "0" and answers[2].headers["X-RateLimit-Remaining"] == "0"
    assert "API rate limit exceeded" in answers[2].json()["message"]


def test_the_collector_waits_out_an_enforced_secondary_limit(limited, tmp_path, monkeypatch):
    """Few points a minute and a clock that moves only when the collector sleeps: every call still completes."""
    clock = SimpleNamespace(now=0.0)
    limited.github.limiter = RateLimiter(Limits(points_per_minute=4), clock=lambda: clock.now)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    monkeypatch.setenv("AUDITOR_SCALE_TOKEN", TOKEN)
    config = github_only_config(limited)
    ctx = SimpleNamespace(config=config, github_tuning=collector.GithubTuning(seconds_between_requests=0, sleep=sleep))
    locker = LockerWriter(tmp_path, config_snapshot=config.snapshot(), identity={"github": "token"})
    Scheduler(locker).run(list(collector.scope_calls(ctx)))
    manifest = locker.close()
    assert manifest["counts"]["failed_calls"] == 0
    assert limited.github.limiter.refusals["points"] > 0 and sleeps and all(1 <= s <= 60 for s in sleeps)
    facts = build_facts([Locker(tmp_path)])
    check_ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=facts.as_of)
    statuses = Counter(f.status for f in source_backup_freshness.evaluate(facts, check_ctx))
    assert statuses["inconclusive"] == 0 and statuses["fail"] > 0 and statuses["pass"] > 0



def test_no_compare_when_the_backup_holds_githubs_commit(tmp_path, monkeypatch):
    """A backup ahead of GitHub, and one that diverged but holds GitHub's commit: git answers, GitHub is not asked."""
    pushes = ["2026-09-01T10:00:00Z", "2026-09-29T10:00:00Z"]
    data = {"name": "held", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-01",
            "organization": {"id": "1", "display_name": "x"}, "projects": [],
            "github": {"organizations": [{"login": "scale", "repositories": [
                {"name": name, "pushes": pushes, "backup": {"fetched": "2026-09-30T01:00:00Z"}} for name in ("ahead", "split")]}]}}
    with Simulator(parse_scenario(data), port=0) as sim:
        for name, parent in (("ahead", "main"), ("split", "main~1")):  # a commit GitHub never had, on top of...
            backup = sim.github_backup_root / "scale" / f"{name}.git"

            def git(*args: str) -> str:
                return subprocess.run(["git", "-C", str(backup), *args], capture_output=True, text=True, check=True,
                                      env={"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x",
                                           "GIT_COMMITTER_EMAIL": "x@x", "PATH": "/usr/bin:/bin"}).stdout.strip()

            extra = git("commit-tree", f"{parent}^{{tree}}", "-p", parent, "-m", "only in the backup")
            git("update-ref", "refs/heads/main", extra)
        monkeypatch.setenv("AUDITOR_SCALE_TOKEN", TOKEN)
        config = github_only_config(sim)
        ctx = SimpleNamespace(config=config, github_tuning=collector.GithubTuning(seconds_between_requests=0))
        locker = LockerWriter(tmp_path, config_snapshot=config.snapshot(), identity={"github": "token"})
        Scheduler(locker).run(list(collector.scope_calls(ctx)))
        manifest = locker.close()
    assert not [c for c in manifest["calls"] if c["method"] == "repos.compare"]
    facts = build_facts([Locker(tmp_path)])
    check_ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=facts.as_of)
    rows = {f.resource.rsplit("/", 1)[1]: {r["ref"]: r for r in f.details["refs"]}["branch main"]
            for f in source_backup_freshness.evaluate(facts, check_ctx) if f.resource.count("/") == 2}
    assert rows["ahead"]["state"] == "current"
    assert rows["split"]["state"] == "diverged" and rows["split"]["commits_behind"] == 1
