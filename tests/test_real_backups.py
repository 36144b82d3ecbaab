"""Backups made by real tools through the simulator's HTTPS and git transport, then audited.

One simulator for the module: the sample organisation's GitHub part over TLS, its clock set to the
wall clock (the tools stamp their files with it). python-github-backup (PyPI `github-backup`) is run
as its users run it (`--github-host`, Basic `token:x-oauth-basic`, `https://` hard-coded, trusting our
CA through SSL_CERT_FILE and GIT_SSL_CAINFO), and so are `git clone --mirror` plus `git remote update`.
The audit then runs two days later on the scenario clock, so a repository pushed after the backup is
stale; one backup folder is deleted, so that repository has none. Every verdict below follows from
what the tool wrote (checked on disk first), not from the simulator's own backup.

git runs with system and global configuration ignored (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL): a
backup host where nobody ran `git lfs install`, so LFS content arrives only with `--lfs`.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from auditor.checks import source_backup_coverage, source_backup_freshness, source_backup_integrity
from auditor.checks_api import CheckContext
from auditor.collectors import github as collector
from auditor.config import GithubBackupConfig, load_config
from auditor.evidence.locker import Locker, LockerWriter
from auditor.facts import build_facts
from auditor.period import Period
from auditor.scheduler import Scheduler
from auditor.simulator import Simulator, load_scenario

ORG = "bangkok-solutions"
TOKEN = "ghp_realBackupToolToken0123456789abcdef"
IN_SCOPE = ["api-server", "billing-service", "data-pipeline", "design-assets", "infra", "mobile-app", "old-website",
            "ops-runbooks", "web-app"]
STALE, DELETED = "billing-service", "infra"
LATER = dt.timedelta(days=2)  # the audit's evidence time after the backup (the policy window is 24 h)
HAS_LFS = shutil.which("git-lfs") is not None


@pytest.fixture(scope="module")
def sim(sample_dir):
    scenario = load_scenario(sample_dir / "scenario.yaml")
    scenario = scenario.model_copy(update={"projects": []})
    with Simulator(scenario, port=0, tls=True, now=dt.datetime.now(dt.timezone.utc)) as simulator:
        yield simulator


@pytest.fixture
def clock(sim):
    """Each test starts on the wall clock (backups are stamped with it) and may move the scenario clock on."""
    sim.set_clock(dt.datetime.now(dt.timezone.utc))
    return sim


def git_env(sim, home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "SSL_CERT_FILE": str(sim.ca_file),
            "GIT_SSL_CAINFO": str(sim.ca_file), "REQUESTS_CA_BUNDLE": str(sim.ca_file)}


def host(sim) -> str:
    return sim.url.removeprefix("https://")


def refs(repo: Path) -> dict[str, str]:
    out = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"], check=True,
                         capture_output=True, text=True, env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1"}).stdout
    return dict(line.split() for line in out.splitlines())


def audit(sim, root: Path, layout: str, out: Path, sample_dir: Path, monkeypatch) -> SimpleNamespace:
    """Collect GitHub and the backup folder (the real collector, PyGithub over TLS), then run the three checks."""
    monkeypatch.setenv("AUDITOR_TEST_GH_TOKEN", TOKEN)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.ca_file))
    config = load_config(sample_dir / "auditor.yaml")
    github = config.github.model_copy(update={"base_url": sim.url + "/api/v3", "token_env": "AUDITOR_TEST_GH_TOKEN",
                                              "seconds_between_requests": 0, "host": "github.com",  # it plays github.com
                                              "backup": GithubBackupConfig(root=root, layout=layout)})
    config = config.model_copy(update={"github": github})
    ctx = SimpleNamespace(config=config, github_tuning=collector.GithubTuning(seconds_between_requests=0))
    locker = LockerWriter(out, config_snapshot=config.snapshot(), identity={"github": "token"})
    Scheduler(locker).run(list(collector.scope_calls(ctx)))
    locker.close()
    facts = build_facts([Locker(out)])
    check_ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=facts.as_of)
    verdicts = {}
    for check in (source_backup_coverage, source_backup_freshness, source_backup_integrity):
        verdicts[check.ID] = {f.resource: f for f in check.evaluate(facts, check_ctx)}
    return SimpleNamespace(facts=facts, as_of=facts.as_of, **{k.replace("-", "_"): v for k, v in verdicts.items()})


def repo(name: str) -> str:
    return f"github.com/{ORG}/{name}"


def after_the_backup(sim) -> dt.datetime:
    """Push to STALE "on GitHub" a day after the backup, and serve the evidence time two days after it."""
    backed_up = sim.now()
    sim.github.world.push(ORG, STALE, backed_up + dt.timedelta(days=1), "pushed after the backup")
    sim.set_clock(backed_up + LATER)
    return backed_up


# -- python-github-backup ----------------------------------------------------------------------------

def github_backup(sim, out: Path, home: Path, *flags: str) -> subprocess.CompletedProcess:
    pytest.importorskip("github_backup", reason="python-github-backup (PyPI github-backup, the test extra) is not installed")
    argv = [sys.executable, "-m", "github_backup", ORG, "--organization", "--token", TOKEN, "--github-host", host(sim),
            "--output-directory", str(out), "--repositories", "--private", *flags]
    done = subprocess.run(argv, env=git_env(sim, home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


VARIANTS = [pytest.param(bare, lfs, id=f"{'bare' if bare else 'clone'}{'-lfs' if lfs else ''}",
                         marks=[pytest.mark.skipif(lfs and not HAS_LFS, reason="git-lfs is not installed (.ci/run installs "
                                                                                 "Debian's git-lfs); only --lfs needs it")])
            for bare in (True, False) for lfs in (False, True)]


@pytest.mark.parametrize("bare,lfs", VARIANTS)
def test_python_github_backup_output_is_audited_as_written(clock, bare, lfs, tmp_path, sample_dir, monkeypatch):
    sim = clock
    out = tmp_path / "backup"
    flags = [*(["--bare"] if bare else []), *(["--lfs"] if lfs else []), *(["--wikis"] if bare else [])]
    before_packs, before_lfs = sim.count("git", "POST", "/git-upload-pack"), sim.count("git", "POST", "/info/lfs/objects/batch")
    github_backup(sim, out, tmp_path, *flags)
    assert sim.count("github", "GET", "/user") >= 1  # python-github-backup asks who the token is first

    # what the tool wrote: one folder per repository that is not a fork (no --fork), a mirror or a clone
    written = sorted(p.name for p in (out / "repositories").iterdir())
    assert written == IN_SCOPE
    web = out / "repositories" / "web-app" / "repository"
    on_github = sim.github.world.repo(ORG, "web-app")
    web_refs = refs(web)
    prefix = "refs/heads/" if bare else "refs/remotes/origin/"
    assert {r for r in web_refs if r.startswith(prefix) and not r.endswith("/HEAD")} == {prefix + b for b in on_github.branches}
    assert web_refs["refs/tags/v1.0.0"] == on_github.tags["v1.0.0"]
    assert not (web / ("FETCH_HEAD" if bare else ".git/FETCH_HEAD")).exists()  # a first run clones; it never fetches
    git_dir = lambda name: out / "repositories" / name / "repository" / ("" if bare else ".git")  # noqa: E731
    lfs_files = [p for p in (git_dir("design-assets") / "lfs" / "objects").rglob("*") if p.is_file()]
    assert len(lfs_files) == (1 if lfs else 0)
    assert (out / "repositories" / "api-server" / "wiki").is_dir() is bare  # --wikis only with the bare runs

    assert sim.count("git", "POST", "/git-upload-pack") > before_packs  # the clones came through the git transport
    assert (sim.count("git", "POST", "/info/lfs/objects/batch") > before_lfs) is lfs
    shutil.rmtree(out / "repositories" / DELETED)
    backed_up = after_the_backup(sim)
    run = audit(sim, out, "python-github-backup", tmp_path / "evidence", sample_dir, monkeypatch)

    assert run.as_of >= backed_up + LATER - dt.timedelta(minutes=1)
    coverage, fresh, integrity = run.source_backup_coverage, run.source_backup_freshness, run.source_backup_integrity
    assert coverage[repo(DELETED)].status == "fail"
    assert coverage[repo("forked-lib")].status == "not_applicable"
    assert all(coverage[repo(n)].status == "pass" for n in IN_SCOPE if n != DELETED)
    assert fresh[repo(DELETED)].status == "fail" and "no local backup" in fresh[repo(DELETED)].message

    stale = fresh[repo(STALE)]
    assert stale.status == "fail" and "stale" in stale.message, stale.message
    assert {r["ref"]: r["state"] for r in stale.details["refs"]}["branch main"] == "behind"
    assert "never fetched since it was cloned (no FETCH_HEAD)" in stale.message

    design = fresh[repo("design-assets")]
    assert design.observed["lfs_in_tree"] is True and design.observed["lfs_objects"] == len(lfs_files)
    assert design.status == ("pass" if lfs else "fail"), design.message
    assert ("pointer files" in design.message) is not lfs

    api = fresh[repo("api-server")]
    assert api.status == "pass" and api.details["wiki_backup"] is bare
    assert ("--wikis" in api.message) is not bare, api.message

    for name in ("web-app", "mobile-app", "data-pipeline", "old-website"):
        finding = fresh[repo(name)]
        assert finding.status == "pass", finding.message
        assert all(r["state"] == "current" for r in finding.details["refs"])
        assert finding.observed["last_fetch"] is None and finding.observed["dated_from"]
        updated = dt.datetime.fromisoformat(finding.observed["last_update"])
        assert backed_up - dt.timedelta(minutes=5) <= updated <= backed_up + dt.timedelta(minutes=1)
    for name in IN_SCOPE:
        if name != DELETED:
            assert integrity[repo(name)].status == "pass", integrity[repo(name)].message


def test_a_second_python_github_backup_run_fetches_and_is_dated_by_fetch_head(clock, tmp_path, sample_dir, monkeypatch):
    sim = clock
    out = tmp_path / "backup"
    github_backup(sim, out, tmp_path, "--bare", "--repository", "web-app")
    github_backup(sim, out, tmp_path, "--bare", "--repository", "web-app")  # the update path: git fetch --all
    assert (out / "repositories" / "web-app" / "repository" / "FETCH_HEAD").is_file()
    run = audit(sim, out, "python-github-backup", tmp_path / "evidence", sample_dir, monkeypatch)
    finding = run.source_backup_freshness[repo("web-app")]
    assert finding.status == "pass" and finding.observed["dated_from"] == "FETCH_HEAD", finding.message
    assert "last fetched" in finding.message and "never fetched" not in finding.message
    assert run.source_backup_coverage[repo("infra")].status == "fail"  # only web-app was backed up


# -- git clone --mirror + git remote update ----------------------------------------------------------

def test_a_mirror_made_with_git_itself_then_updated_nightly(clock, tmp_path, sample_dir, monkeypatch):
    sim = clock
    env = git_env(sim, tmp_path)
    root = tmp_path / "mirrors"
    for name in IN_SCOPE:
        if name != DELETED:
            url = f"https://{TOKEN}:x-oauth-basic@{host(sim)}/{ORG}/{name}.git"
            subprocess.run(["git", "clone", "--quiet", "--mirror", url, str(root / ORG / f"{name}.git")], env=env, check=True,
                           capture_output=True, timeout=60)
    sim.github.world.push(ORG, "web-app", sim.now(), "pushed before the nightly update")
    for mirror in (root / ORG).iterdir():
        subprocess.run(["git", "-C", str(mirror), "remote", "update"], env=env, check=True, capture_output=True, timeout=60)
    assert all((m / "FETCH_HEAD").is_file() for m in (root / ORG).iterdir())
    backed_up = after_the_backup(sim)
    run = audit(sim, root, "mirror", tmp_path / "evidence", sample_dir, monkeypatch)

    fresh = run.source_backup_freshness
    web = fresh[repo("web-app")]  # the update took in the push made after the clone
    assert web.status == "pass" and web.observed["dated_from"] == "FETCH_HEAD", web.message
    assert all(r["state"] == "current" for r in web.details["refs"])
    assert refs(root / ORG / "web-app.git")["refs/heads/main"] == sim.github.world.repo(ORG, "web-app").branches["main"]
    stale = fresh[repo(STALE)]
    assert stale.status == "fail" and "last fetched" in stale.message and "stale" in stale.message
    assert stale.observed["commits_behind"] == 1
    assert abs(dt.datetime.fromisoformat(stale.observed["last_fetch"]) - backed_up) < dt.timedelta(minutes=5)
    assert fresh[repo("design-assets")].status == "fail"  # a mirror carries LFS pointers, not their content
    assert "git clone --mirror" in fresh[repo("api-server")].message  # the mirror layout's own wiki hint
    assert run.source_backup_coverage[repo(DELETED)].status == "fail"


# -- the two freshness defects found with real backups ----------------------------------------------

def test_a_clone_never_fetched_is_dated_from_its_own_files_not_judged_never_fetched(clock, tmp_path, sample_dir, monkeypatch):
    """A first-run clone has no FETCH_HEAD. Dated from its packed-refs, it is inside the window even though
    GitHub was pushed after it; judged "no fetch recorded" (as before), it was stale."""
    sim = clock
    env = git_env(sim, tmp_path)
    root = tmp_path / "mirrors"
    url = f"https://{TOKEN}:x-oauth-basic@{host(sim)}/{ORG}/web-app.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", url, str(root / ORG / "web-app.git")], env=env, check=True,
                   capture_output=True, timeout=60)
    cloned = sim.now()
    sim.github.world.push(ORG, "web-app", cloned + dt.timedelta(hours=2), "after the clone")
    sim.set_clock(cloned + dt.timedelta(hours=3))  # inside the 24 h window
    run = audit(sim, root, "mirror", tmp_path / "evidence", sample_dir, monkeypatch)
    finding = run.source_backup_freshness[repo("web-app")]
    assert finding.status == "pass", finding.message
    assert "no FETCH_HEAD" in finding.message and "dated from its own files" in finding.message
    assert finding.observed["dated_from"] in ("packed-refs", "a loose ref", "the reflog", "a reflog entry")
    assert abs(dt.datetime.fromisoformat(finding.observed["last_update"]) - cloned) < dt.timedelta(minutes=5)
    assert {r["ref"]: r["state"] for r in finding.details["refs"]}["branch main"] == "behind"


def test_a_fetch_after_the_evidence_time_is_inconclusive_not_a_negative_age(clock, tmp_path, sample_dir, monkeypatch):
    sim = clock
    env = git_env(sim, tmp_path)
    root = tmp_path / "mirrors"
    mirror = root / ORG / "web-app.git"
    url = f"https://{TOKEN}:x-oauth-basic@{host(sim)}/{ORG}/web-app.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", url, str(mirror)], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(["git", "-C", str(mirror), "remote", "update"], env=env, check=True, capture_output=True, timeout=60)
    sim.set_clock(sim.now() - dt.timedelta(days=63))  # the API's clock is two months behind the backup host's
    run = audit(sim, root, "mirror", tmp_path / "evidence", sample_dir, monkeypatch)
    finding = run.source_backup_freshness[repo("web-app")]
    assert finding.status == "inconclusive", finding.message
    assert "after the evidence time" in finding.message and "FETCH_HEAD" in finding.message
    assert re.search(r"-\d+ (day|hour|minute)", finding.message) is None and "before the evidence time" not in finding.message
    assert finding.observed["dated_from"] == "FETCH_HEAD" and "fetch_age_hours" not in finding.observed


# -- TLS with the clients users have -----------------------------------------------------------------

def test_requests_pygithub_and_git_trust_the_printed_ca(sim, tmp_path, monkeypatch):
    from github import Auth, Github

    ca = str(sim.ca_file)
    me = requests.get(f"{sim.url}/api/v3/user", auth=(TOKEN, "x-oauth-basic"), verify=ca, timeout=10)
    assert me.status_code == 200 and me.json()["login"] == "backup-bot"
    assert requests.get(f"{sim.url}/api/v3/user", headers={"Authorization": f"Bearer {TOKEN}"}, verify=ca,
                        timeout=10).status_code == 200
    assert requests.get(f"{sim.url}/api/v3/user", verify=ca, timeout=10).status_code == 401
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sim.url}/api/v3/user", timeout=10)  # not trusted by default: it is a real, private CA
    listed = requests.get(f"{sim.url}/api/v3/orgs/{ORG}/repos?per_page=100", auth=(TOKEN, "x-oauth-basic"), verify=ca,
                          timeout=10).json()
    web = next(r for r in listed if r["name"] == "web-app")
    assert web["clone_url"] == f"{sim.url}/{ORG}/web-app.git" and web["html_url"] == f"{sim.url}/{ORG}/web-app"

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)  # how a PyGithub user trusts a private CA (requests reads it)
    client = Github(base_url=f"{sim.url}/api/v3", auth=Auth.Token(TOKEN), seconds_between_requests=0)
    assert client.get_user().login == "backup-bot"
    names = sorted(r.name for r in client.get_organization(ORG).get_repos())
    assert names == sorted([*IN_SCOPE, "forked-lib"])
    assert client.get_repo(f"{ORG}/web-app").get_branch("develop").commit.sha == \
        sim.github.world.repo(ORG, "web-app").branches["develop"]

    env = git_env(sim, tmp_path)
    public = subprocess.run(["git", "clone", "--quiet", web["clone_url"].replace("web-app", "old-website"), str(tmp_path / "o")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert public.returncode == 0, public.stderr  # a public repository clones without credentials, as on GitHub
    private = subprocess.run(["git", "clone", "--quiet", web["clone_url"], str(tmp_path / "w")], env=env, capture_output=True,
                             text=True, timeout=60)
    assert private.returncode != 0 and "Username" in private.stderr  # 401: git asks for credentials it may not prompt for
    untrusted = subprocess.run(["git", "clone", "--quiet", web["clone_url"].replace("web-app", "old-website"), str(tmp_path / "u")],
                               env={**env, "GIT_SSL_CAINFO": os.devnull, "SSL_CERT_FILE": os.devnull},
                               capture_output=True, text=True, timeout=60)
    assert untrusted.returncode != 0
    push = subprocess.run(["git", "-C", str(tmp_path / "o"), "push", "origin", "HEAD:refs/heads/x"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert push.returncode != 0  # the simulated GitHub is read-only


def test_auditor_simulate_tls_prints_the_ca_to_trust(sample_dir, tmp_path, monkeypatch):
    from github import Auth, Github

    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: t\nnow: '2026-09-30T02:00:00Z'\nhistory_start: '2026-09-20'\n"
                        "organization: {id: '1', display_name: t}\nprojects: []\n"
                        "github: {organizations: [{login: acme, repositories: [{name: a, pushes: ['2026-09-01T10:00:00Z']}]}]}\n")
    auditor = Path(sys.executable).parent / "auditor"
    proc = subprocess.Popen([str(auditor), "simulate", "--scenario", str(scenario), "--port", "0", "--tls"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any(line.startswith("  export ") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = next(line for line in lines if line.startswith("serving")).split(" at ")[1].split()[0]
        ca = next(line for line in lines if line.startswith("trust this CA: ")).removeprefix("trust this CA: ").strip()
        assert url.startswith("https://127.0.0.1:")
        for name in ("REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO", "SSL_CERT_FILE"):
            assert f"{name}={ca}" in lines[-1]
        assert requests.get(f"{url}/api/v3/orgs/acme", headers={"Authorization": "token t"}, verify=ca, timeout=10).json()["login"] == "acme"
        cloned = subprocess.run(["git", "clone", "--quiet", f"https://t:x-oauth-basic@{url.removeprefix('https://')}/acme/a.git",
                                 str(tmp_path / "a")], env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                                                            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_SSL_CAINFO": ca,
                                                            "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=60)
        assert cloned.returncode == 0, cloned.stderr
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)
        client = Github(base_url=f"{url}/api/v3", auth=Auth.Token("t"), seconds_between_requests=0)
        assert [r.name for r in client.get_organization("acme").get_repos()] == ["a"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.parametrize("header,token", [
    ("token abc", "abc"), ("Bearer abc", "abc"), ("bearer abc", "abc"),
    ("Basic " + base64.b64encode(b"abc:x-oauth-basic").decode(), "abc"),  # python-github-backup, git URLs
    ("Basic " + base64.b64encode(b"x-access-token:abc").decode(), "abc"),  # GitHub Apps
    ("Basic " + base64.b64encode(b"someone:abc").decode(), "abc"),  # the token as password
    ("Basic " + base64.b64encode(b"abc:").decode(), "abc"),
    ("Basic not-base64!", ""), ("Digest abc", ""), ("", ""),
])
def test_the_credentials_github_accepts(header, token):
    from auditor.simulator.github_auth import token_from

    assert token_from({"Authorization": header}) == token


@pytest.mark.parametrize("layout,flag", [("python-github-backup", "--wikis"), ("ghorg", "--clone-wiki"),
                                         ("mirror", "git clone --mirror")])
def test_the_wiki_hint_names_the_layout_tools_own_flag(layout, flag, sample_dir):
    config = load_config(sample_dir / "auditor.yaml")
    config = config.model_copy(update={"github": config.github.model_copy(update={
        "backup": GithubBackupConfig(root=sample_dir, layout=layout)})})
    ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=dt.datetime.now(dt.timezone.utc))
    hint = source_backup_freshness.wiki_hint(ctx)
    assert flag in hint and all(other not in hint for other in ("--wikis", "--clone-wiki") if other != flag)


def test_a_backups_own_date_is_the_newest_of_what_it_holds():
    from auditor.facts.sources.github import _own_date

    body = {"observation": "backup-own-dates", "path": "/b/x.git",
            "refs": {"files": 1, "newest": "2026-09-29T10:00:00Z", "newest_path": "/b/x.git/refs/heads/main"},
            "packed_refs": {"path": "/b/x.git/packed-refs", "exists": True, "mtime": "2026-09-29T11:00:00Z"},
            "reflog": {"files": 2, "newest": "2026-09-29T09:00:00Z", "newest_path": "/b/x.git/logs/HEAD",
                       "newest_entry": "2026-09-29T12:30:00Z"}}
    when, basis = _own_date(body)
    assert when == dt.datetime(2026, 9, 29, 12, 30, tzinfo=dt.timezone.utc) and basis == "a reflog entry"
    bare_mirror = {"refs": {"files": 0, "newest": None}, "packed_refs": {"exists": True, "mtime": "2026-09-29T11:00:00Z"},
                   "reflog": {"files": 0, "newest": None, "newest_entry": None}}  # a mirror keeps no reflog
    assert _own_date(bare_mirror) == (dt.datetime(2026, 9, 29, 11, tzinfo=dt.timezone.utc), "packed-refs")
    assert _own_date({"refs": {}, "packed_refs": {"exists": False, "mtime": None}, "reflog": {}}) == (None, None)
    assert _own_date({"packed_refs": {"mtime": "not a time"}}) == (None, None)  # unreadable: no date, never a guess
