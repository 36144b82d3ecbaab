"""Encryption parity day by day: a key version destroyed mid-quarter, and one disabled for three days.

`treasury-pg` (key `treasury`, destroyScheduledDuration 1 day): version 2 is created at 09:00 on Sep 20
and made primary; version 1, which encrypts the live data until Sep 20 and every backup taken up to
Sep 20, is scheduled for destruction at 10:00 on Sep 20 (DestroyCryptoKeyVersion) and destroyed at
10:00 on Sep 21. DESTROY_SCHEDULED already counts as unusable (the rule of issue 13), so the
exception days start on Sep 20; 30 backups are retained, so backups encrypted by version 1 (Sep 1..20)
are still retained on every later day of the quarter, Sep 30 included (the clock is 06:00 on Sep 30).

`toggle-pg` (key `toggle`): version 1 is disabled at 12:00 on Aug 10 and re-enabled at 12:00 on Aug 12
(UpdateCryptoKeyVersion logged without its body: whether KMS logs it is unconfirmed), its backups of
Aug 11 and 12 failed. From daily lockers the reads settle the updates: Aug 10..12 are exception days.
From one quarter-end run nothing says what either update set: unknown, never a pass.

Every expected day below is written by hand from those facts.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from testkit import daily_lockers, days_between, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
TREASURY = "//cloudsql.googleapis.com/projects/enc-prod/instances/treasury-pg"
TOGGLE = "//cloudsql.googleapis.com/projects/enc-prod/instances/toggle-pg"
PLAIN = "//cloudsql.googleapis.com/projects/enc-prod/instances/plain-pg"
KEYS = "projects/enc-prod/locations/us-east1/keyRings/sql/cryptoKeys"


def _instance(name, key, **more):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
            "kms_key": f"{KEYS}/{key}",
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 30}, **more}


SCENARIO = {
    "name": "encryption", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "997", "display_name": "encryption.example"},
    "projects": [{
        "id": "enc-prod", "number": "335",
        "kms_keys": [
            {"key_ring": "sql", "name": "treasury", "location": "us-east1", "versions": ["ENABLED"],
             "destroy_scheduled_days": 1,
             "history": [{"time": "2026-09-20T09:00:00Z", "action": "create"},
                         {"time": "2026-09-20T09:05:00Z", "action": "primary", "version": 2},
                         {"time": "2026-09-20T10:00:00Z", "action": "destroy", "version": 1}]},
            {"key_ring": "sql", "name": "toggle", "location": "us-east1", "versions": ["ENABLED"],
             "history": [{"time": "2026-08-10T12:00:00Z", "action": "disable", "version": 1},
                         {"time": "2026-08-12T12:00:00Z", "action": "enable", "version": 1},
                         # a refused destroy (status.code 9): it changed nothing and must not count
                         {"time": "2026-09-01T12:00:00Z", "action": "destroy", "version": 1, "failed": True}]},
            {"key_ring": "sql", "name": "plain", "location": "us-east1", "versions": ["ENABLED"]},
        ],
        "sql_instances": [
            _instance("treasury-pg", "treasury", kms_key_version=2, live_key_versions={"2026-06-20..2026-09-20": 1},
                      backup_key_versions={"2026-06-20..2026-09-20": 1}),
            _instance("toggle-pg", "toggle", days={"2026-08-11..2026-08-12": "failed"}),
            _instance("plain-pg", "plain"),
        ]}],
}
CONFIG = {
    "organization": "Encryption Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": ["enc-prod"], "credentials": "anonymous"},
    "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7,
                                                                 "encryption": "cmek"}}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory.mktemp("encryption"), CONFIG, SCENARIO)


@pytest.fixture(scope="module")
def daily(setup):
    """One locker a day at 06:00 UTC, Jul 1 .. Sep 30, merged (92 collections: `make type2`)."""
    return daily_lockers(setup)


@pytest.fixture(scope="module")
def single(setup):
    root, scenario, config = setup
    with Simulator(scenario, port=0, now=dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC)) as sim:
        return evaluate([collect(config.with_endpoints(sim.url), root / "single" / "evidence").evidence_dir])


def _encryption(results):
    (control,) = [c for c in results["controls"] if c["id"] == "backup-encryption-parity"]
    return {f["resource"]: f for f in control["findings"]}


DESTROYED_DAYS = days_between("2026-09-20", "2026-09-30")


def test_daily_lockers_show_the_destroyed_version_from_the_day_its_destruction_was_scheduled(daily):
    finding = _encryption(daily)[TREASURY]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == DESTROYED_DAYS
    assert finding["details"]["unknown_days"] == []
    assert set(finding["details"]["days"]) == set(days_between("2026-07-01", "2026-09-30"))
    assert "2026-09-20..2026-09-30" in finding["message"]
    assert "DESTROY_SCHEDULED then DESTROYED" in finding["message"]


def test_one_run_shows_the_same_days_from_the_versions_own_destroy_time(single):
    """destroyEventTime (Sep 21 10:00) less the key's destroyScheduledDuration (1 day) says when the version
    became unusable; the retained backups encrypted by version 1 prove it was ENABLED before, and the key's
    complete log query carries that back to Jul 1."""
    finding = _encryption(single)[TREASURY]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == DESTROYED_DAYS
    assert finding["details"]["unknown_days"] == []
    assert {d: s for d, s in finding["details"]["days"].items() if d < "2026-09-20"} == {
        d: "kept" for d in days_between("2026-07-01", "2026-09-19")}


def test_daily_lockers_settle_the_updates_logged_without_bodies(daily):
    finding = _encryption(daily)[TOGGLE]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-08-10", "2026-08-12")
    assert finding["details"]["unknown_days"] == []


def test_one_run_cannot_tell_what_the_unlogged_updates_set(single):
    finding = _encryption(single)[TOGGLE]
    assert finding["status"] == "inconclusive", finding["message"]  # never more favourable than the lockers' fail
    assert finding["details"]["exception_days"] == []
    # before the Aug 10 update nothing read says the state (an update says nothing of what was there); after
    # the Aug 12 update, its value is what the Sep 30 read shows (the log query joins them); the refused
    # destroy of Sep 1 changed nothing
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-12")
    assert "without the request body" in finding["message"] and "2026-08-10 12:00 UTC" in finding["message"]
    assert {d: s for d, s in finding["details"]["days"].items() if d > "2026-08-12"} == {
        d: "kept" for d in days_between("2026-08-13", "2026-09-30")}


def test_a_key_without_history_passes_every_day_from_one_run(single):
    finding = _encryption(single)[PLAIN]
    assert finding["status"] == "pass", finding["message"]
    assert set(finding["details"]["days"].values()) == {"kept"}
    assert len(finding["details"]["days"]) == 92


def test_exception_days_name_their_own_evidence_for_sampling(single):
    finding = _encryption(single)[TREASURY]
    # Sep 20's destroy entry is that day's own evidence (auditor.day_evidence), not a quarter-long page
    assert any(key.startswith("log:") for key in finding["details"]["day_entries"].get("2026-09-20", []))
    assert finding["details"]["day_evidence"].get("2026-09-20")


SAMPLE_TREASURY = "//cloudsql.googleapis.com/projects/bks-platform/instances/treasury-pg"


@pytest.fixture(scope="module")
def sample_daily(sample_dir, tmp_path_factory):
    """The sample scenario's own case (treasury-pg in bks-platform, alone), one locker a day at the sample's
    02:00 clock, Jul 1 .. Sep 30 (`make type2`)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take about a minute; run with `make type2` (TYPE2_DAILY=full)")
    from auditor.config import load_config
    from auditor.simulator import load_scenario

    scenario = load_scenario(sample_dir / "scenario.yaml")
    (platform,) = [p for p in scenario.projects if p.id == "bks-platform"]
    platform = platform.model_copy(update={"sql_instances": [i for i in platform.sql_instances if i.name == "treasury-pg"],
                                           "kms_keys": [k for k in platform.kms_keys if k.name == "treasury"]})
    scenario = scenario.model_copy(update={"projects": [platform], "github": None})
    config = load_config(sample_dir / "auditor.yaml")
    config = config.model_copy(update={"github": None, "gcp": config.gcp.model_copy(
        update={"projects": ["bks-platform"], "monitoring_project": None})})
    root = tmp_path_factory.mktemp("sample-treasury")
    dirs, day = [], dt.date(2026, 7, 1)
    with Simulator(scenario, port=0, now=dt.datetime(2026, 7, 1, 2, 0, tzinfo=UTC)) as sim:
        while day <= dt.date(2026, 9, 30):
            sim.set_clock(dt.datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC))
            dirs.append(collect(config.with_endpoints(sim.url), root / f"daily-{day}" / "evidence").evidence_dir)
            day += dt.timedelta(days=1)
    return evaluate(dirs)


def test_the_sample_case_from_daily_lockers_has_the_scenarios_hand_written_days(sample_daily, sample_dir):
    import yaml

    expected = yaml.safe_load((sample_dir / "scenario.yaml").read_text())["expect"]["backup-encryption-parity"][SAMPLE_TREASURY]
    finding = _encryption(sample_daily)[SAMPLE_TREASURY]
    assert finding["status"] == expected["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == [str(d) for d in expected["exception_days"]] == DESTROYED_DAYS
    assert finding["details"]["unknown_days"] == []
