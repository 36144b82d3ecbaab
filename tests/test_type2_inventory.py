"""Inventory completeness and classification day by day: an unregistered database created on Aug 1 and labels
changed mid-quarter to a classification the policy does not have, from 92 daily lockers and from one quarter-end run.

The scenario (by hand, mirroring the sample company's two cases):
- `intake-pg`, created Aug 1 01:00 UTC, is never in the data map;
- `relabel-pg`'s label is "top-secret" Aug 12 09:00 .. Aug 19 09:00, both updates logged with the request body;
- `unlogged-pg`: the same spell, the updates logged without their body;
- `recent-pg`: "top-secret" Sep 10 09:00 .. Sep 17 09:00 without bodies, inside Cloud Asset Inventory's 35 days;
- `secret-bucket` is labelled "secret" all quarter (bucket label changes are not read from the log: only reads
  and the asset history, 35 days, show its label).
The data map is committed on Jun 15 to a git repository (so its version in force is known every day), or read
from a folder outside any repository (then only the locker's own day has a known map).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import pytest
import yaml
from testkit import daily_lockers, days_between, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
P = "//cloudsql.googleapis.com/projects/inv-prod/instances/"
INTAKE, RELABEL, UNLOGGED, RECENT, REGISTERED = (P + n for n in ("intake-pg", "relabel-pg", "unlogged-pg", "recent-pg",
                                                                 "registered-pg"))
BUCKET = "//storage.googleapis.com/inv-secret-bucket"
TOP = {"data-classification": "top-secret"}


def _instance(name, created="2025-02-01T00:00:00Z", spells=()):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
            "create_time": created, "label_changes": list(spells),
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7}}


SCENARIO = {
    "name": "inventory", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "997", "display_name": "inventory.example"},
    "projects": [{"id": "inv-prod", "number": "445",
                  "sql_instances": [
                      _instance("registered-pg"),
                      _instance("intake-pg", created="2026-08-01T01:00:00Z"),
                      _instance("relabel-pg", spells=[{"from": "2026-08-12T09:00:00Z", "to": "2026-08-19T09:00:00Z",
                                                       "labels": TOP, "body_logged": True}]),
                      _instance("unlogged-pg", spells=[{"from": "2026-08-12T09:00:00Z", "to": "2026-08-19T09:00:00Z",
                                                        "labels": TOP}]),
                      _instance("recent-pg", spells=[{"from": "2026-09-10T09:00:00Z", "to": "2026-09-17T09:00:00Z",
                                                      "labels": TOP}])],
                  "buckets": [{"name": "inv-secret-bucket", "location": "US-WEST1", "labels": {"data-classification": "secret"}}]}],
}
MAP = {"reviewed": "2026-06-01", "stores": [
    {"resource": P + name, "classification": "internal", "owner": "team", "backup": "cloudsql-automated"}
    for name in ("registered-pg", "relabel-pg", "unlogged-pg", "recent-pg")] + [
    {"resource": BUCKET, "classification": "internal", "owner": "team"}]}
CONFIG = {
    "organization": "Inventory Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": ["inv-prod"], "credentials": "anonymous"},
    "policy": {"country": "US", "inventory_review_interval": "365d",
               "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}},
    "inventory": "map/inventory.yaml",
}


def _git(repo, *args, when=None):
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-c", "user.name=Data Owner", "-c", "user.email=owner@inventory.example", *args], cwd=repo,
                   env=env, check=True, capture_output=True)


def _setup(root, in_git):
    found = scenario_setup(root, CONFIG, SCENARIO)
    folder = root / "map"
    folder.mkdir()
    (folder / "inventory.yaml").write_text(yaml.safe_dump(MAP))
    if in_git:
        _git(folder, "init", "-q")
        _git(folder, "add", "inventory.yaml")
        _git(folder, "commit", "-q", "-m", "data map", when="2026-06-15T10:00:00+00:00")
    return found


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is installed by .ci/run")


@pytest.fixture(scope="module")
def in_git(tmp_path_factory):
    return _setup(tmp_path_factory.mktemp("inv-git"), in_git=True)


@pytest.fixture(scope="module")
def no_git(tmp_path_factory):
    return _setup(tmp_path_factory.mktemp("inv-plain"), in_git=False)


def _single(setup, name):
    root, scenario, config = setup
    with Simulator(scenario, port=0, now=dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC)) as sim:
        return evaluate([collect(config.with_endpoints(sim.url), root / name / "evidence").evidence_dir])


@pytest.fixture(scope="module")
def single_git(in_git):
    return _single(in_git, "single")


@pytest.fixture(scope="module")
def single_plain(no_git):
    return _single(no_git, "single")


@pytest.fixture(scope="module")
def daily(no_git):
    """One locker a day at 06:00 UTC, Jul 1 .. Sep 30, merged (92 collections: `make type2`). Each stores the map."""
    return daily_lockers(no_git)


def _found(results, control_id):
    (control,) = [c for c in results["controls"] if c["id"] == control_id]
    return {f["resource"]: f for f in control["findings"] if f["rule"] in ("declared", "classified", "reviewed")}


def _days(finding):
    return finding["details"]["exception_days"], finding["details"]["unknown_days"]


# --- 92 daily lockers: exactly the changed days are exceptions --------------------------------------------------

def test_daily_lockers_show_the_unregistered_database_from_its_creation_day(daily):
    found = _found(daily, "inventory-completeness")
    intake = found[INTAKE]
    assert intake["status"] == "fail", intake["message"]
    assert _days(intake) == (days_between("2026-08-01", "2026-09-30"), [])
    assert {d for d, s in intake["details"]["days"].items() if s == "not_applicable"} == set(days_between("2026-07-01", "2026-07-31"))
    for resource in (REGISTERED, RELABEL, UNLOGGED, RECENT, BUCKET):
        assert found[resource]["status"] == "pass", found[resource]["message"]
    # each judged day names that day's own stored data map (the sampler points at it)
    assert all(intake["details"]["day_evidence"].get(d) for d in days_between("2026-08-01", "2026-09-30"))


def test_daily_lockers_show_each_label_spell_on_exactly_its_days_logged_or_not(daily):
    found = _found(daily, "inventory-classification")
    for resource in (RELABEL, UNLOGGED):
        assert found[resource]["status"] == "fail", found[resource]["message"]
        assert _days(found[resource]) == (days_between("2026-08-12", "2026-08-19"), []), resource
        assert "2026-08-12..2026-08-19" in found[resource]["message"]
    assert _days(found[RECENT]) == (days_between("2026-09-10", "2026-09-17"), [])
    assert _days(found[BUCKET]) == (days_between("2026-07-01", "2026-09-30"), [])  # "secret" all quarter
    assert found[REGISTERED]["status"] == "pass" and found[INTAKE]["status"] == "pass"  # labelled internal, declared nowhere


# --- one quarter-end run --------------------------------------------------------------------------------------

@needs_git
def test_one_run_with_the_maps_git_history_confirms_the_unregistered_days_by_creation_time(single_git):
    found = _found(single_git, "inventory-completeness")
    assert _days(found[INTAKE]) == (days_between("2026-08-01", "2026-09-30"), [])
    assert found[REGISTERED]["status"] == "pass", found[REGISTERED]["message"]
    assert set(found[REGISTERED]["details"]["maps_in_force"].values()) >= {"locker"}  # Sep 30: the locker's own map


def test_one_run_without_past_maps_leaves_the_days_unknown_and_says_why(single_plain):
    found = _found(single_plain, "inventory-completeness")
    intake = found[INTAKE]
    assert intake["status"] == "fail"  # the day it was read unregistered is proven
    assert _days(intake) == (["2026-09-30"], days_between("2026-08-01", "2026-09-29"))
    assert "not in a git repository" in intake["message"] and "past versions are unknown" in intake["message"]
    registered = found[REGISTERED]
    assert registered["status"] == "inconclusive" and registered["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-29")


@needs_git
def test_one_run_shows_a_logged_label_change_on_the_same_days(single_git):
    relabel = _found(single_git, "inventory-classification")[RELABEL]
    assert relabel["status"] == "fail"
    # before the first logged update nothing shows the label (a change says what it set, not what was there)
    assert _days(relabel) == (days_between("2026-08-12", "2026-08-19"), days_between("2026-07-01", "2026-08-11"))
    # a sampled day names that day's own evidence: the update's log entry (not the day's backup window)
    entries = relabel["details"]["day_entries"]
    assert set(entries) == {"2026-08-12", "2026-08-19"} and all(k.startswith("log:") for k in entries["2026-08-12"])
    assert relabel["details"]["day_evidence"]["2026-08-12"]


@needs_git
def test_one_run_with_label_changes_logged_without_bodies_is_unknown_and_says_why(single_git):
    unlogged = _found(single_git, "inventory-classification")[UNLOGGED]
    assert unlogged["status"] == "inconclusive"  # never more favourable than the lockers' fail
    assert _days(unlogged) == ([], days_between("2026-07-01", "2026-08-19"))
    assert "without the request body" in unlogged["message"] and "2026-08-12 09:00 UTC" in unlogged["message"]


@needs_git
def test_one_run_fills_a_recent_unlogged_change_from_the_asset_history(single_git):
    """Sep 10..17 lie inside the 35 days Cloud Asset Inventory keeps: its windows say what the labels were,
    so the days the body-less updates leave unknown are known, and match the lockers."""
    found = _found(single_git, "inventory-classification")
    assert _days(found[RECENT]) == (days_between("2026-09-10", "2026-09-17"), [])
    # the bucket's label changes are read from nowhere but reads and the asset history: 35 days back only
    bucket = found[BUCKET]
    assert bucket["status"] == "fail"
    assert _days(bucket) == (days_between("2026-08-26", "2026-09-30"), days_between("2026-07-01", "2026-08-25"))


def test_the_asset_history_call_asks_for_35_days_at_most(single_plain):
    (control,) = [c for c in single_plain["controls"] if c["id"] == "inventory-classification"]
    bucket = {f["resource"]: f for f in control["findings"]}[BUCKET]
    assert bucket["details"]["exception_days"][0] == "2026-08-26"  # Sep 30 06:00 less 35 days, plus a margin


def test_a_single_run_is_never_more_favourable_than_the_lockers(daily, single_git, single_plain):
    for control in ("inventory-completeness", "inventory-classification"):
        lockers = _found(daily, control)
        for single in (single_git, single_plain):
            for resource, finding in _found(single, control).items():
                if resource not in lockers:
                    continue
                assert not (finding["status"] == "pass" and lockers[resource]["status"] != "pass"), (control, resource)
                for day, state in lockers[resource]["details"].get("days", {}).items():
                    if state == "broken":
                        assert finding["details"]["days"].get(day) in ("broken", "unknown"), (control, resource, day)
