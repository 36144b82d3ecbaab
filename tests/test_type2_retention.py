"""Retention day by day: a mid-quarter retention cut, from 92 daily lockers and from one quarter-end run.

The scenario cuts the retained backups from 14 to 3 at 09:00 on Aug 10 and restores them at 09:00 on
Sep 5 (internal data: at least 7 days). `logged-pg`'s updates carry the request body; `unlogged-pg`'s
do not (whether Cloud SQL logs it is unconfirmed). Expected days are written by hand from that.
"""

from __future__ import annotations

import datetime as dt

import pytest
from testkit import daily_lockers, days_between, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
LOGGED = "//cloudsql.googleapis.com/projects/ret-prod/instances/logged-pg"
UNLOGGED = "//cloudsql.googleapis.com/projects/ret-prod/instances/unlogged-pg"
CUT = {"from": "2026-08-10T09:00:00Z", "to": "2026-09-05T09:00:00Z", "retained_backups": 3}


def _instance(name, body_logged):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 14,
                       "changes": [{**CUT, "body_logged": body_logged}]}}


MOVED_PG = "//cloudsql.googleapis.com/projects/ret-prod/instances/moved-pg"
# backups moved into the primary's own region (us-east1) for ten days, the updates logged without bodies
MOVED = {"name": "moved-pg", "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 14,
                    "changes": [{"from": "2026-08-15T12:00:00Z", "to": "2026-08-25T12:00:00Z", "location": "us-east1"}]}}

SCENARIO = {
    "name": "retention", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "998", "display_name": "retention.example"},
    "projects": [{"id": "ret-prod", "number": "334",
                  "sql_instances": [_instance("logged-pg", True), _instance("unlogged-pg", False), MOVED]}],
}
CONFIG = {
    "organization": "Retention Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": ["ret-prod"], "credentials": "anonymous"},
    "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory.mktemp("retention"), CONFIG, SCENARIO)


@pytest.fixture(scope="module")
def daily(setup):
    """One locker a day at 06:00 UTC, Jul 1 .. Sep 30, merged (92 collections, about 70 s on 2 cores: `make type2`)."""
    return daily_lockers(setup)


@pytest.fixture(scope="module")
def single(setup):
    root, scenario, config = setup
    with Simulator(scenario, port=0, now=dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC)) as sim:
        return evaluate([collect(config.with_endpoints(sim.url), root / "single" / "evidence").evidence_dir])


def _retention(results):
    (control,) = [c for c in results["controls"] if c["id"] == "backup-retention"]
    return {f["resource"]: f for f in control["findings"]}


def test_daily_lockers_show_the_cut_on_exactly_its_days_logged_or_not(daily):
    found = _retention(daily)
    for resource in (LOGGED, UNLOGGED):
        finding = found[resource]
        assert finding["status"] == "fail", finding["message"]
        # Aug 10 (from 09:00) .. Sep 5 (until 09:00): each day the cut touched. The unlogged updates are
        # joined to the next day's 06:00 read by the complete log query in between.
        assert finding["details"]["exception_days"] == days_between("2026-08-10", "2026-09-05"), resource
        assert finding["details"]["unknown_days"] == []
        assert "2026-08-10..2026-09-05" in finding["message"]
        assert set(finding["details"]["days"]) == set(days_between("2026-07-01", "2026-09-30"))


def test_one_run_with_the_new_values_logged_shows_the_same_exceptiondays_between(single):
    finding = _retention(single)[LOGGED]
    assert finding["status"] == "fail"
    assert finding["details"]["exception_days"] == days_between("2026-08-10", "2026-09-05")
    # before the first logged change nothing was read: a change says what it set, not what was there before
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-09")


def test_one_run_with_changes_logged_without_bodies_is_unknown_and_says_why(single):
    finding = _retention(single)[UNLOGGED]
    assert finding["status"] == "inconclusive"  # never more favourable than the daily lockers' fail
    assert finding["details"]["exception_days"] == []
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-05")
    assert "without the request body" in finding["message"] and "2026-08-10 09:00 UTC" in finding["message"]
    assert {d: s for d, s in finding["details"]["days"].items() if d >= "2026-09-06"} == {
        d: "kept" for d in days_between("2026-09-06", "2026-09-30")}


def _placement(results):
    (control,) = [c for c in results["controls"] if c["id"] == "backup-cross-region"]
    return {f["resource"]: f for f in control["findings"]}


def test_daily_lockers_show_ten_days_in_the_primarys_region(daily):
    moved = _placement(daily)[MOVED_PG]
    assert moved["status"] == "fail", moved["message"]
    assert moved["details"]["exception_days"] == days_between("2026-08-15", "2026-08-25")
    assert moved["details"]["unknown_days"] == []
    assert _placement(daily)[LOGGED]["status"] == "pass"  # the retention cut leaves its location alone


def test_one_run_cannot_tell_the_move_logged_without_bodies(single):
    moved = _placement(single)[MOVED_PG]
    assert moved["status"] == "inconclusive"
    assert moved["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-25")


def test_a_run_60_days_after_the_period_carries_the_state_back_over_the_log_read_to_the_read_time(setup):
    """Read on Nov 29, with the Admin Activity query answered to that moment (the call's recorded
    coverage): the read is joined to the period by the complete query, so by hand the days are those of
    a quarter-end run (the two single-run tests above); nothing after the period is judged."""
    root, scenario, config = setup
    with Simulator(scenario, port=0, now=dt.datetime(2026, 11, 29, 6, 0, tzinfo=UTC)) as sim:
        late = evaluate([collect(config.with_endpoints(sim.url), root / "late" / "evidence").evidence_dir])
    found = _retention(late)
    assert found[LOGGED]["status"] == "fail"
    assert found[LOGGED]["details"]["exception_days"] == days_between("2026-08-10", "2026-09-05")
    assert found[LOGGED]["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-09")
    assert found[UNLOGGED]["status"] == "inconclusive"
    assert found[UNLOGGED]["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-05")
    assert set(found[UNLOGGED]["details"]["days"]) == set(days_between("2026-07-01", "2026-09-30"))
