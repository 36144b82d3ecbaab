"""The GitHub collector over real HTTP: PyGithub -> simulator (/api/v3) -> capture layer -> locker -> facts -> checks.

Scenarios are small (a handful of tiny git repositories) so each simulator builds in well under a second.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from github import Auth, Github

from auditor.checks_api import CheckContext
from auditor.checks import source_backup_coverage, source_backup_freshness, source_backup_integrity
from auditor.collectors import github as collector
from auditor.config import Config
from auditor.evidence.locker import Locker, LockerWriter
from auditor.facts import build_facts
from auditor.period import Period
from auditor.scheduler import Scheduler
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

TOKEN = "ghp_TESTtokenValue0123456789abcdefXYZ"
NOW = "2026-09-30T02:00:00Z"

BASE_SCENARIO = {
    "name": "gh-test", "now": NOW, "history_start": "2026-09-01",
    "organization": {"id": "1", "display_name": "x"}, "projects": [],
    "github": {
        "organizations": [{
            "login": "acme",
            "repositories": [
                {"name": "alpha", "pushes": ["2026-09-01T10:00:00Z", "2026-09-29T10:00:00Z"], "branches": ["dev"],
                 "tags": ["v1"], "backup": {"fetched": "2026-09-30T01:00:00Z"}},
                {"name": "beta", "pushes": ["2026-09-01T10:00:00Z", "2026-09-29T10:00:00Z"],
                 "backup": {"fetched": "2026-09-20T01:00:00Z"}},
                {"name": "gamma", "pushes": ["2026-09-01T10:00:00Z"], "backup": {"fetched": "2026-09-02T01:00:00Z"}},
                {"name": "delta", "pushes": ["2026-09-01T10:00:00Z"]},
                {"name": "epsilon", "fork": True, "private": False, "pushes": ["2026-09-01T10:00:00Z"]},
            ],
        }],
    },
}


def scenario(**github_changes):
    data = copy.deepcopy(BASE_SCENARIO)
    data["github"].update(github_changes)
    return parse_scenario(data)


def make_config(layout: str = "mirror", sample: int = 10) -> Config:
    return Config.model_validate({
        "organization": "Acme", "period": {"quarter": "2026-Q3"},
        "github": {"organizations": ["acme"], "token_env": "AUDITOR_TEST_GH_TOKEN", "backup": {"layout": layout}},
        "policy": {"classifications": {"internal": {}}, "source_code": {"integrity_sample": sample}},
    })


def collect(sim, out: Path, monkeypatch, *, layout="mirror", per_page=100, sample=10):
    monkeypatch.setenv("AUDITOR_TEST_GH_TOKEN", TOKEN)
    config = make_config(layout, sample).for_simulator(sim)
    sleeps: list[float] = []
    tuning = collector.GithubTuning(seconds_between_requests=0, per_page=per_page, sleep=sleeps.append)
    ctx = SimpleNamespace(config=config, github_tuning=tuning)
    locker = LockerWriter(out, config_snapshot=config.snapshot(), identity={"github": "token from $AUDITOR_TEST_GH_TOKEN"})
    Scheduler(locker).run(list(collector.scope_calls(ctx)))
    manifest = locker.close()
    facts = build_facts([Locker(out)])
    check_ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=facts.as_of)
    return SimpleNamespace(manifest=manifest, facts=facts, ctx=check_ctx, sleeps=sleeps, out=out)


def by_resource(findings):
    return {f.resource: f for f in findings}


@pytest.fixture(scope="module")
def base_sim():
    with Simulator(scenario(), port=0) as sim:
        yield sim


@pytest.fixture(scope="module")
def paged(base_sim, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return collect(base_sim, tmp_path_factory.mktemp("paged"), mp, per_page=2)


def test_every_page_is_followed_and_stored(paged):
    (listing,) = [c for c in paged.manifest["calls"] if c["method"] == "orgs.repos.list"]
    assert listing["outcome"] == "ok" and len(listing["items"]) == 3  # 5 repositories, 2 per page
    items = {i["id"]: i for i in paged.manifest["items"]}
    first = items[listing["items"][0]]
    assert 'rel="next"' in first["headers"]["Link"] and first["headers"]["Link"].startswith("<http://127.0.0.1:")
    assert sorted(r.name for r in paged.facts.github_repositories.at("github.com/acme").items) == [
        "alpha", "beta", "delta", "epsilon", "gamma"]
    assert paged.facts.github_branches.at("github.com/acme/alpha").items[0].refs.keys() == {"main", "dev"}
    assert paged.facts.github_tags.at("github.com/acme/alpha").items[0].refs.keys() == {"v1"}


def test_token_scopes_and_totals_are_recorded(paged):
    (org,) = paged.facts.github_orgs.at("github.com/acme").items
    assert org.scopes == ("repo", "read:org") and org.total == 5
    finding = by_resource(source_backup_coverage.evaluate(paged.facts, paged.ctx))["github.com/acme"]
    assert finding.status == "pass" and finding.observed["token_scopes"] == ["repo", "read:org"]


def test_verdicts_on_the_small_organisation(paged):
    coverage = by_resource(source_backup_coverage.evaluate(paged.facts, paged.ctx))
    fresh = by_resource(source_backup_freshness.evaluate(paged.facts, paged.ctx))
    integrity = by_resource(source_backup_integrity.evaluate(paged.facts, paged.ctx))
    assert coverage["github.com/acme/delta"].status == "fail"
    assert coverage["github.com/acme/epsilon"].status == "not_applicable"
    assert fresh["github.com/acme/alpha"].status == "pass"
    beta = fresh["github.com/acme/beta"]
    assert beta.status == "fail" and beta.observed["commits_behind"] == 1 and "stale" in beta.message
    assert fresh["github.com/acme/gamma"].status == "pass"  # old fetch, nothing pushed since
    assert {integrity[f"github.com/acme/{n}"].status for n in ("alpha", "beta", "gamma")} == {"pass"}
    assert integrity["github.com/acme"].status == "pass"
    assert "proves only the day" in beta.details["period_note"]


def test_the_capture_layer_routes_pygithub_through_one_client_only(base_sim):
    client = collector.route_through_capture(Github(base_url=base_sim.url + "/api/v3", auth=Auth.Token(TOKEN)))
    connection = getattr(client.requester, collector._CONNECTION_CLASS)
    assert connection.__name__.startswith("Capturing")
    other = Github(base_url=base_sim.url + "/api/v3", auth=Auth.Token(TOKEN))
    assert not getattr(other.requester, collector._CONNECTION_CLASS).__name__.startswith("Capturing")  # no global state


def test_the_sample_is_reproducible_and_bounded(base_sim, tmp_path, monkeypatch):
    run = collect(base_sim, tmp_path, monkeypatch, sample=1)
    recorded = run.facts.git_integrity_samples.at("github.com/acme").items[0].record
    assert recorded["population"] == ["alpha", "beta", "gamma"] and len(recorded["sample"]) == 1
    integrity = by_resource(source_backup_integrity.evaluate(run.facts, run.ctx))
    statuses = sorted(integrity[f"github.com/acme/{n}"].status for n in ("alpha", "beta", "gamma"))
    assert statuses == ["not_applicable", "not_applicable", "pass"]
    assert len([c for c in run.manifest["calls"] if c["method"] == "backup.restore_drill"]) == 1


def test_primary_rate_limit_waits_for_the_reset(tmp_path, monkeypatch):
    faults = [{"kind": "primary_rate_limit", "at_request": 2, "retry_after": 30}]
    with Simulator(scenario(faults=faults), port=0) as sim:
        run = collect(sim, tmp_path, monkeypatch)
    assert run.manifest["counts"]["failed_calls"] == 0
    assert any(25 <= s <= 35 for s in run.sleeps), run.sleeps  # waited until X-RateLimit-Reset (+1 s)


def test_secondary_rate_limit_honours_retry_after(tmp_path, monkeypatch):
    faults = [{"kind": "secondary_rate_limit", "at_request": 3, "retry_after": 7}]
    with Simulator(scenario(faults=faults), port=0) as sim:
        run = collect(sim, tmp_path, monkeypatch)
    assert run.manifest["counts"]["failed_calls"] == 0
    assert 7 in run.sleeps


def test_a_short_5xx_burst_is_retried(tmp_path, monkeypatch):
    with Simulator(scenario(faults=[{"kind": "server_error", "at_request": 2, "count": 3}]), port=0) as sim:
        run = collect(sim, tmp_path, monkeypatch)
    assert run.manifest["counts"]["failed_calls"] == 0
    assert len(run.facts.github_repositories.at("github.com/acme").items) == 5


def test_a_long_5xx_burst_is_an_explicit_gap(tmp_path, monkeypatch):
    with Simulator(scenario(faults=[{"kind": "server_error", "at_request": 2, "count": 50}]), port=0) as sim:
        run = collect(sim, tmp_path, monkeypatch)
    (listing,) = [c for c in run.manifest["calls"] if c["method"] == "orgs.repos.list"]
    assert listing["outcome"] == "error"
    for check in (source_backup_coverage, source_backup_freshness, source_backup_integrity):
        finding = by_resource(check.evaluate(run.facts, run.ctx))["github.com/acme"]
        assert finding.status == "inconclusive" and "orgs.repos.list" in finding.message


def test_partial_visibility_is_inconclusive_with_both_numbers(tmp_path, monkeypatch):
    data = copy.deepcopy(BASE_SCENARIO)
    data["github"]["organizations"][0]["hidden_repositories"] = 3
    data["github"]["token_scopes"] = None
    with Simulator(parse_scenario(data), port=0) as sim:
        run = collect(sim, tmp_path, monkeypatch)
    finding = by_resource(source_backup_coverage.evaluate(run.facts, run.ctx))["github.com/acme"]
    assert finding.status == "inconclusive"
    assert "8 repositories" in finding.message and "only 5" in finding.message
    assert finding.observed["token_scopes"] is None and "fine-grained" in finding.message


@pytest.mark.parametrize("layout,bare", [("mirror", True), ("python-github-backup", True), ("python-github-backup", False),
                                         ("ghorg", False), ("ghorg", True)])
def test_each_backup_layout(layout, bare, tmp_path, monkeypatch):
    with Simulator(scenario(backup_layout=layout, backup_bare=bare), port=0) as sim:
        run = collect(sim, tmp_path, monkeypatch, layout=layout)
    (listing,) = run.facts.git_backup_listings.at("github.com/acme").items
    assert sorted(name for name, _path in listing.folders) == ["alpha", "beta", "gamma"]
    (alpha,) = run.facts.git_backups.at("github.com/acme/alpha").items
    assert alpha.bare is (bare or layout == "mirror")
    assert alpha.fetched_at == dt.datetime(2026, 9, 30, 1, tzinfo=dt.timezone.utc)
    fresh = by_resource(source_backup_freshness.evaluate(run.facts, run.ctx))
    assert fresh["github.com/acme/alpha"].status == "pass", fresh["github.com/acme/alpha"].message
    assert fresh["github.com/acme/beta"].status == "fail"
    integrity = by_resource(source_backup_integrity.evaluate(run.facts, run.ctx))
    assert integrity["github.com/acme/alpha"].status == "pass", integrity["github.com/acme/alpha"].message


def test_simulator_is_strict_like_github(base_sim):
    api = base_sim.url + "/api/v3"
    auth = {"Authorization": f"token {TOKEN}"}
    unknown = requests.get(f"{api}/orgs/acme/nothing", headers=auth, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["message"] == "Not Found"
    assert requests.get(f"{api}/orgs/acme", timeout=5).status_code == 401
    assert requests.get(f"{api}/orgs/acme/repos?bogus=1", headers=auth, timeout=5).status_code == 422
    page = requests.get(f"{api}/orgs/acme/repos?per_page=500", headers=auth, timeout=5)
    assert len(page.json()) == 5 and int(page.headers["X-RateLimit-Limit"]) == 5000
    assert page.headers["X-OAuth-Scopes"] == "repo, read:org"


def test_missing_token_is_a_config_error(base_sim, monkeypatch):
    from auditor.errors import ConfigError

    monkeypatch.delenv("AUDITOR_TEST_GH_TOKEN", raising=False)
    ctx = SimpleNamespace(config=make_config().for_simulator(base_sim), github_tuning=None)
    with pytest.raises(ConfigError, match="AUDITOR_TEST_GH_TOKEN"):
        list(collector.scope_calls(ctx))


def test_the_token_appears_in_no_output_of_a_run(sample_pack):
    """The session's demo run through the CLI had a distinctive token (tests/conftest.py); grep every file,
    stdout, stderr and every log record of that run."""
    assert sample_pack.token == TOKEN
    assert sample_pack.exit_code == 3, sample_pack.output  # the sample denies one project and disables an API, on purpose
    out = sample_pack.out
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 50
    needle = TOKEN.encode()
    for path in files:
        assert needle not in path.read_bytes(), path
    assert TOKEN not in sample_pack.output and TOKEN not in sample_pack.logs
    assert sample_pack.logs  # the logs were captured at DEBUG: an empty capture would prove nothing
    manifest = json.loads((out / "evidence" / "manifest.json").read_text())
    assert any(c["api"] == "github" for c in manifest["calls"])


def test_an_unreadable_backup_folder_leaves_freshness_inconclusive_not_failed(base_sim, tmp_path, monkeypatch):
    """No backup listing read means "no backup" is not known: coverage and freshness say inconclusive."""
    monkeypatch.setenv("AUDITOR_TEST_GH_TOKEN", TOKEN)
    config = make_config().for_simulator(base_sim)
    github = config.github.model_copy(update={"backup": config.github.backup.model_copy(update={"root": tmp_path / "gone"})})
    config = config.model_copy(update={"github": github})
    tuning = collector.GithubTuning(seconds_between_requests=0, sleep=lambda s: None)
    out = tmp_path / "ev"
    locker = LockerWriter(out, config_snapshot=config.snapshot(), identity={"github": "token"})
    Scheduler(locker).run(list(collector.scope_calls(SimpleNamespace(config=config, github_tuning=tuning))))
    manifest = locker.close()
    assert [c["outcome"] for c in manifest["calls"] if c["method"] == "backup.list"] == ["error"]
    facts = build_facts([Locker(out)])
    ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=facts.as_of)
    for check in (source_backup_coverage, source_backup_freshness):
        per_repo = [f for f in check.evaluate(facts, ctx)  # the fork is out of scope: not applicable
                    if f.resource.startswith("github.com/acme/") and f.status != "not_applicable"]
        assert per_repo and {f.status for f in per_repo} == {"inconclusive"}, (check.__name__, per_repo)


# --- per-scope Known/Unknown: an unread listing or backup is never an empty one --------------------------

def _faulted(run, tmp_path, method: str, scope: str, kind: str = "before-first-page"):
    """The run's locker as if `method` for `scope` had failed (its dependent calls dropped); facts rebuilt from it."""
    from test_fault_differential import Variant, materialise, rewrite

    (call,) = [c for c in run.manifest["calls"] if c["method"] == method and c["scope"] == scope]
    manifest, bodies, _removed = rewrite(Locker(run.out).manifest, [Variant(kind, call["id"], f"{call['api']} {method}", scope)])
    folder = materialise(run.out, manifest, bodies, tmp_path / f"faulted-{method}")
    facts = build_facts([Locker(folder)])
    return facts, {f.id: f for check in (source_backup_coverage, source_backup_freshness, source_backup_integrity)
                   for f in check.evaluate(facts, run.ctx)}


@pytest.fixture(scope="module")
def base_run(base_sim, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return collect(base_sim, tmp_path_factory.mktemp("base"), mp)


def _statuses(findings):
    return {fid: f.status for fid, f in findings.items()}


@pytest.mark.parametrize("kind", ["before-first-page", "not-an-object"])
def test_an_unread_backup_listing_is_unknown_not_empty(base_run, tmp_path, kind):
    """delta has no backup: with the listing read, coverage and freshness fail it and integrity has nothing to test;
    with the listing unread, none of that is known, so each is inconclusive (not fail, not not_applicable)."""
    base = {f.id: f for check in (source_backup_coverage, source_backup_freshness, source_backup_integrity)
            for f in check.evaluate(base_run.facts, base_run.ctx)}
    delta = "github.com/acme/delta"
    assert base[f"source-backup-coverage:{delta}:backup"].status == "fail"
    assert base[f"source-backup-freshness:{delta}:fresh"].status == "fail"
    assert base[f"source-backup-integrity:{delta}:restore"].status == "not_applicable"
    facts, faulted = _faulted(base_run, tmp_path, "backup.list", "github.com/acme", kind)
    assert not facts.git_backup_listings.at("github.com/acme").known
    for repo in ("alpha", "beta", "gamma", "delta"):
        assert faulted[f"source-backup-coverage:github.com/acme/{repo}:backup"].status == "inconclusive"
        assert faulted[f"source-backup-integrity:github.com/acme/{repo}:restore"].status == "inconclusive"
    assert faulted[f"source-backup-freshness:{delta}:fresh"].status == "inconclusive"
    assert faulted["source-backup-integrity:github.com/acme:sample"].status == "inconclusive"
    assert not any(fid.endswith(":orphan") for fid in faulted)
    passing = {fid for fid, s in _statuses(faulted).items() if s == "pass"}
    assert passing <= {fid for fid, s in _statuses(base).items() if s == "pass"}


def test_an_unread_repository_listing_lists_no_repository(base_run, tmp_path):
    facts, faulted = _faulted(base_run, tmp_path, "orgs.repos.list", "github.com/acme")
    read = facts.github_repositories.at("github.com/acme")
    assert not read.known and "orgs.repos.list" in read.describe() and not hasattr(read, "items")
    assert {fid: f.status for fid, f in faulted.items()} == {
        f"{check}:github.com/acme:listing": "inconclusive"
        for check in ("source-backup-coverage", "source-backup-freshness", "source-backup-integrity")}


def test_an_unread_backup_is_unknown_not_absent(base_run, tmp_path):
    facts, faulted = _faulted(base_run, tmp_path, "backup.inspect", "github.com/acme/alpha")
    assert base_run.facts.git_backups.at("github.com/acme/alpha").items  # read in full: alpha's backup
    assert base_run.facts.git_backups.at("github.com/acme/delta").known  # read in full: delta has none
    assert not base_run.facts.git_backups.at("github.com/acme/delta").items
    assert not facts.git_backups.at("github.com/acme/alpha").known
    finding = faulted["source-backup-freshness:github.com/acme/alpha:fresh"]
    assert finding.status == "inconclusive" and "backup.inspect" in finding.message
    assert faulted["source-backup-integrity:github.com/acme/alpha:restore"].status == "inconclusive"


def test_unread_github_branches_are_not_an_empty_ref_list(base_run, tmp_path):
    """With no branch listing, 'every branch on GitHub is in the backup' would be vacuously true: inconclusive."""
    _facts, faulted = _faulted(base_run, tmp_path, "repos.branches.list", "github.com/acme/alpha")
    finding = faulted["source-backup-freshness:github.com/acme/alpha:fresh"]
    assert finding.status == "inconclusive" and "repos.branches.list" in finding.message


def test_a_malformed_git_page_keeps_none_of_its_items(base_run, tmp_path):
    facts, _ = _faulted(base_run, tmp_path, "orgs.get", "github.com/acme", "not-an-object")
    assert not facts.github_orgs.at("github.com/acme").known
