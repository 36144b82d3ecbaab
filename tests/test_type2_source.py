"""The source-code controls day by day, from each day's own locker (auditor.locker_days).

The mirror case is the sample company's `ops-runbooks` (samples/bangkok-solutions/scenario.yaml, branch
src block): a nightly 01:00 `git fetch` that did not run Aug 12..Aug 16, with a push on Aug 11 12:00 that
waited for the Aug 17 fetch. `steady` is fetched every night; it is pushed on Sep 11 at 03:00, after that
night's fetch. The configuration of the lockers from Sep 11 on narrows policy.source_code.backup_interval
from 24 h to 4 h: at 06:00 on Sep 11 its fetch is 5 h old and GitHub holds the 03:00 commit it lacks, so
that day is stale under the new threshold (inside the old one); from Sep 12 the mirror holds every commit.

Expected days are written by hand from those times (lockers at 06:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.locker_days import LockerDay, judge
from auditor.period import Period
from auditor.results import Finding
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
TOKEN_ENV = "AUDITOR_SRC_TEST_TOKEN"
PAUSED = "github.com/srcco/ops-runbooks"
STEADY = "github.com/srcco/steady"
NARROWED_FROM = dt.date(2026, 9, 11)


def _sample_repo(sample_dir, name):
    data = yaml.safe_load((sample_dir / "scenario.yaml").read_text())
    (org,) = data["github"]["organizations"]
    return next(r for r in org["repositories"] if r["name"] == name)


def _scenario(sample_dir):
    return parse_scenario({
        "name": "source", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
        "organization": {"id": "997", "display_name": "source.example"}, "projects": [],
        "github": {"organizations": [{"login": "srcco", "repositories": [
            _sample_repo(sample_dir, "ops-runbooks"),
            {"name": "steady", "pushes": ["2026-06-01T10:00:00Z", "2026-08-11T12:00:00Z", "2026-09-11T03:00:00Z"],
             "backup": {"nightly": "01:00"}}]}]},
    })


def _config(root, interval):
    folder = root / f"config-{interval}"
    folder.mkdir(exist_ok=True)
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Source Ltd", "period": {"quarter": "2026-Q3"},
        "gcp": {"projects": [], "credentials": "anonymous"},
        "github": {"organizations": ["srcco"], "token_env": TOKEN_ENV, "backup": {"layout": "mirror", "root": str(root)}},
        "policy": {"classifications": {"internal": {}}, "source_code": {"backup_interval": interval}},
    }))
    return load_config(folder / "auditor.yaml")


def _collect_on(days, root, scenario, monkeypatch):
    """One locker per day at 06:00 UTC; from Sep 11 each locker's configuration says 4h."""
    monkeypatch.setenv(TOKEN_ENV, "ghp_sourceTestToken0123456789")
    wide, narrow = _config(root, "24h"), _config(root, "4h")
    dirs, ids = [], {}
    with Simulator(scenario, port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = (narrow if day >= NARROWED_FROM else wide).for_simulator(sim)
            run = collect(config, root / f"daily-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    ids["dirs"] = dirs
    return evaluate(dirs), ids


def _findings(results, check):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def daily(sample_dir, tmp_path_factory):
    """92 lockers, one a day (about 15 s on 2 cores: `make type2`)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take about 15 s; run with `make type2` (TYPE2_DAILY=full)")
    with pytest.MonkeyPatch.context() as mp:
        days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
        return _collect_on(days, tmp_path_factory.mktemp("source-daily"), _scenario(sample_dir), mp)


@pytest.fixture(scope="module")
def few(sample_dir, tmp_path_factory):
    """Three lockers: Aug 12 (inside the pause), Sep 11 (the narrowed threshold's first day), Sep 30."""
    with pytest.MonkeyPatch.context() as mp:
        days = [dt.date(2026, 8, 12), dt.date(2026, 9, 11), dt.date(2026, 9, 30)]
        return _collect_on(days, tmp_path_factory.mktemp("source-few"), _scenario(sample_dir), mp)


@pytest.fixture(scope="module")
def single(sample_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return _collect_on([dt.date(2026, 9, 30)], tmp_path_factory.mktemp("source-single"), _scenario(sample_dir), mp)[0]


# -- 92 daily lockers (make type2) -----------------------------------------------------------------

def test_daily_lockers_show_the_five_unfetched_days_and_no_other(daily):
    results, _ = daily
    paused = _findings(results, "source-backup-freshness")[PAUSED]
    assert paused["status"] == "fail", paused["message"]
    assert paused["details"]["exception_days"] == days_between("2026-08-12", "2026-08-16")
    assert paused["details"]["unknown_days"] == []
    assert "2026-08-12..2026-08-16" in paused["message"]
    assert set(paused["details"]["days"]) == set(days_between("2026-07-01", "2026-09-30"))
    for check in ("source-backup-coverage", "source-backup-integrity"):  # backed up and intact every day
        finding = _findings(results, check)[PAUSED]
        assert finding["status"] == "pass", (check, finding["message"])
        assert set(finding["details"]["days"].values()) == {"kept"}


def test_daily_lockers_apply_each_days_threshold_and_name_its_key_and_locker(daily):
    results, ids = daily
    steady = _findings(results, "source-backup-freshness")[STEADY]
    assert steady["status"] == "fail", steady["message"]
    assert steady["details"]["exception_days"] == ["2026-09-11"]  # 5 h old, lacking the 03:00 commit, 4 h window
    changes = steady["details"]["thresholds"]
    assert [c["from"] for c in changes] == ["2026-07-01", "2026-09-11"]
    assert changes[1]["locker"] == ids["2026-09-11"]
    assert changes[0]["expected"]["window_hours"] == 24 and changes[1]["expected"]["window_hours"] == 4
    assert changes[1]["config_keys"]["window_hours"] == "policy.source_code.backup_interval"
    assert "policy.source_code.backup_interval" in steady["message"] and ids["2026-09-11"] in steady["message"]


def test_daily_day_evidence_is_that_days_own_locker(daily):
    results, ids = daily
    paused = _findings(results, "source-backup-freshness")[PAUSED]
    for day in ("2026-08-12", "2026-09-30"):
        assert paused["details"]["day_lockers"][day] == [ids[day]]
        assert paused["details"]["day_evidence"][day]  # that day's locker items
    # evidence ids follow content: Aug 11's GitHub listing lacks the 12:00 push that Aug 12's shows
    assert paused["details"]["day_evidence"]["2026-08-11"] != paused["details"]["day_evidence"]["2026-08-12"]


# -- a few lockers (in the suite) ----------------------------------------------------------------

def test_a_few_lockers_judge_their_own_days_and_leave_the_rest_unknown(few):
    results, ids = few
    paused = _findings(results, "source-backup-freshness")[PAUSED]
    assert paused["status"] == "fail"
    assert paused["details"]["exception_days"] == ["2026-08-12"]
    days = paused["details"]["days"]
    assert days["2026-09-11"] == "kept" and days["2026-09-30"] == "kept"
    assert paused["details"]["unknown_days"] == [d for d in days_between("2026-07-01", "2026-09-30")
                                                 if d not in ("2026-08-12", "2026-09-11", "2026-09-30")]
    steady = _findings(results, "source-backup-freshness")[STEADY]
    assert steady["details"]["exception_days"] == ["2026-09-11"]
    assert steady["details"]["days"]["2026-08-12"] == "kept"
    assert steady["details"]["thresholds"][1]["locker"] == ids["2026-09-11"]
    assert steady["details"]["thresholds"][1]["from"] == "2026-09-11"


def test_each_locker_stores_the_configuration_it_ran_with(few, tmp_path_factory):
    """The threshold of a day comes from the configuration that day's locker recorded, not from the newest one."""
    results, _ = few
    windows = {}
    for entry in results["lockers"]:
        day = entry["as_of"][:10]
        windows[day] = entry
    assert set(windows) == {"2026-08-12", "2026-09-11", "2026-09-30"}
    coverage = _findings(results, "source-backup-coverage")[PAUSED]
    assert "thresholds" not in coverage["details"]  # what coverage compares with did not change


# -- one quarter-end run (in the suite) ------------------------------------------------------------

def test_one_run_cannot_know_past_fetches_those_days_are_unknown_and_named(single):
    paused = _findings(single, "source-backup-freshness")[PAUSED]
    assert paused["status"] == "inconclusive"  # never more favourable than the daily lockers' fail
    assert paused["details"]["exception_days"] == []
    assert paused["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-29")
    assert paused["details"]["days"]["2026-09-30"] == "kept"
    assert "unknown on 91 days (2026-07-01..2026-09-29), which had no locker" in paused["message"]
    assert any("no evidence locker was collected" in u["message"] and "FETCH_HEAD" in u["message"]
               for u in paused["details"]["unverified"])


def test_one_run_passes_no_source_control_over_the_period(single):
    for check in ("source-backup-coverage", "source-backup-freshness", "source-backup-integrity"):
        statuses = {f["resource"]: f["status"] for f in _findings(single, check).values()}
        assert "pass" not in statuses.values(), (check, statuses)
        (control,) = [c for c in single["controls"] if c["id"] == check]
        assert "each day's own locker only: 1 of 92 days" in control["coverage"]["statement"]
        assert not control["coverage"]["complete"]


def test_the_nightly_mirror_is_rewound_to_its_last_fetch(sample_dir):
    """The simulator's mirror (a real bare repository in tmp) at two clocks: inside the pause it still holds the
    Aug 11 01:00 fetch and lacks the Aug 11 12:00 commit GitHub serves; after Aug 17 01:00 it holds it."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    with Simulator(_scenario(sample_dir), port=0, now=dt.datetime(2026, 8, 14, 6, tzinfo=UTC)) as sim:
        mirror = sim.github_backup_root / "srcco" / "ops-runbooks.git"

        def mirror_state():
            head = subprocess.run(["git", "rev-parse", "refs/heads/main"], cwd=mirror, env=env, capture_output=True,
                                  text=True, check=True).stdout.strip()
            fetched = dt.datetime.fromtimestamp((mirror / "FETCH_HEAD").stat().st_mtime, UTC)
            return head, fetched, sim.github.world.repo("srcco", "ops-runbooks").branches["main"]

        head, fetched, github = mirror_state()
        assert fetched == dt.datetime(2026, 8, 11, 1, tzinfo=UTC)
        assert head != github  # GitHub has the Aug 11 12:00 commit; the mirror does not reference it
        sim.set_clock(dt.datetime(2026, 8, 17, 6, tzinfo=UTC))
        head, fetched, github = mirror_state()
        assert fetched == dt.datetime(2026, 8, 17, 1, tzinfo=UTC) and head == github


# -- the combination rule on hand-made verdicts ----------------------------------------------------

def _finding(status, resource="github.com/o/r", rule="fresh", window=24):
    return Finding("source-backup-freshness", resource, rule, status, f"{status} that day.",
                   expected={"window_hours": window}, evidence=[f"item-{status}"])


def _period():
    from auditor.config import PeriodConfig

    return Period.from_config(PeriodConfig(quarter="2026-Q3"))


def _at(day):
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(6), tzinfo=UTC)


def test_a_resource_missing_on_a_day_is_unknown_when_its_organisation_was_not_listed():
    unlisted = Finding("source-backup-freshness", "github.com/o", "listing", "inconclusive", "not listed")
    days = [LockerDay(_at("2026-09-28"), "L1", [_finding("pass")]),
            LockerDay(_at("2026-09-29"), "L2", [unlisted]),
            LockerDay(_at("2026-09-30"), "L3", [_finding("pass")])]
    (judged, *_) = judge([_finding("pass")], days, _period(), _at("2026-09-30"))
    assert judged.details["days"]["2026-09-29"] == "unknown"
    assert judged.details["days"]["2026-09-28"] == "kept" and judged.status == "inconclusive"
    assert "whose locker could not establish it" in judged.message
    assert any("that day's own locker could not establish it" in u["message"] for u in judged.details["unverified"])


def test_a_resource_absent_from_a_listed_day_did_not_exist_then():
    days = [LockerDay(_at("2026-09-29"), "L2", []), LockerDay(_at("2026-09-30"), "L3", [_finding("fail")])]
    (judged,) = judge([_finding("fail")], days, _period(), _at("2026-09-30"))
    assert judged.details["days"]["2026-09-29"] == "not_applicable"
    assert judged.status == "fail" and judged.details["exception_days"] == ["2026-09-30"]


def test_a_resource_gone_by_the_newest_locker_keeps_its_failing_days():
    days = [LockerDay(_at("2026-09-29"), "L2", [_finding("fail", resource="github.com/o/gone")]),
            LockerDay(_at("2026-09-30"), "L3", [_finding("pass")])]
    judged = {f.resource: f for f in judge([_finding("pass")], days, _period(), _at("2026-09-30"))}
    assert judged["github.com/o/gone"].status == "fail"
    assert judged["github.com/o/gone"].details["days"]["2026-09-30"] == "not_applicable"


def test_two_lockers_on_one_day_give_the_worse_state_and_both_evidence():
    days = [LockerDay(_at("2026-09-30"), "L1", [_finding("pass")]),
            LockerDay(_at("2026-09-30") + dt.timedelta(hours=6), "L2", [_finding("fail")])]
    (judged,) = judge([_finding("fail")], days, _period(), _at("2026-09-30") + dt.timedelta(hours=6))
    assert judged.details["days"]["2026-09-30"] == "broken"
    assert judged.details["day_evidence"]["2026-09-30"] == ["item-fail", "item-pass"]
    assert judged.details["day_lockers"]["2026-09-30"] == ["L1", "L2"]


# -- the fault matrix on a day's locker (every GitHub and git call of the middle locker) ---------------------

def test_no_fault_in_a_days_locker_makes_a_day_or_a_finding_more_favourable(few, tmp_path):
    """Each call of the Sep 11 locker failed before its first page, or answered with a body that is not JSON: the
    three source controls judged from the three lockers: no day becomes kept that was not kept, and no finding
    passes that did not pass without the fault."""
    from test_fault_differential import Variant, materialise, rewrite

    from auditor.evidence.locker import Locker

    base, ids = few
    first, middle, last = ids["dirs"]
    manifest = Locker(middle).manifest
    calls = [c for c in manifest["calls"] if c["api"] in ("github", "git") and c["outcome"] == "ok" and c["items"]]
    assert len(calls) >= 10
    source_checks = ("source-backup-coverage", "source-backup-freshness", "source-backup-integrity")

    def judged(results):
        return {f["id"]: f for c in results["controls"] if c["id"] in source_checks for f in c["findings"]}

    before = judged(base)
    changed = 0
    for number, call in enumerate(calls):
        kind = ("before-first-page", "not-an-object")[number % 2]
        variant = Variant(kind, call["id"], f"{call['api']} {call['method']}", call["scope"])
        faulted_manifest, bodies, _ = rewrite(manifest, [variant])
        folder = materialise(middle, faulted_manifest, bodies, tmp_path / f"v{number}" / "evidence")
        after = judged(evaluate([first, folder, last]))
        for fid, finding in after.items():
            was = before.get(fid)
            assert finding["status"] != "pass" or (was and was["status"] == "pass"), (variant.name, fid)
            if was is None:
                continue
            for day, state in (finding["details"].get("days") or {}).items():
                held = (was["details"].get("days") or {}).get(day)
                # a fault may hide a failure (broken -> unknown: a missing read proves nothing) but never show a kept day
                assert state != "kept" or held in (None, "kept"), (variant.name, fid, day, held)
                changed += state != held
    assert changed  # the faults did reach the day states


def test_the_report_lists_findings_unknown_only_for_want_of_lockers_once_not_row_by_row(single, few):
    from auditor.reports.view import exceptions_in_order, locker_gap_only

    (control,) = [c for c in single["controls"] if c["id"] == "source-backup-freshness"]
    steady = _findings(single, "source-backup-freshness")[STEADY]
    assert locker_gap_only(steady)  # kept on its one locker's day, unknown on the 91 without
    assert steady["id"] not in {f["id"] for f in exceptions_in_order(control, single)}
    failing = _findings(few[0], "source-backup-freshness")[PAUSED]
    assert not locker_gap_only(failing)  # a broken day is an exception row
