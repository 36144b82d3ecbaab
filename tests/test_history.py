"""A quarter assembled from daily lockers, against one run over the whole quarter's audit log.

The collector runs against the simulator with the scenario clock set to each day of 2026-Q3 in
turn (`Simulator(now=...)`), one locker a day; `evaluate` merges them. Expected days are written
by hand from the scenario below, never taken from the tool's output.
"""

from __future__ import annotations

import datetime as dt

import pytest
from testkit import days_between, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
TOGGLED = "//cloudsql.googleapis.com/projects/hist-prod/instances/toggled-pg"
STEADY = "//cloudsql.googleapis.com/projects/hist-prod/instances/steady-pg"
GONE = "//cloudsql.googleapis.com/projects/hist-prod/instances/gone-pg"

SCENARIO = {
    "name": "history", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "999", "display_name": "history.example"},
    "projects": [{"id": "hist-prod", "number": "333", "sql_instances": [
        {"name": "steady-pg", "region": "us-east1", "database_version": "POSTGRES_16",
         "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1"},
         "days": {"2026-07-15": "failed", "2026-09-01..2026-09-02": "none"}},
        # Backups switched off at 14:00 on Aug 10 and back on at 09:00 on Aug 14 (Admin Activity patch entries,
        # here with their request body: without it one run cannot tell the spell, tests/test_type2_retention.py).
        {"name": "toggled-pg", "region": "us-east1", "database_version": "POSTGRES_16",
         "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1",
                    "disabled": [{"from": "2026-08-10T14:00:00Z", "to": "2026-08-14T09:00:00Z", "body_logged": True}]}},
        # Deleted at 12:00 on Aug 20.
        {"name": "gone-pg", "region": "us-east1", "database_version": "POSTGRES_16",
         "labels": {"data-classification": "internal"}, "delete_time": "2026-08-20T12:00:00Z",
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1"}},
    ]}],
}
CONFIG = {
    "organization": "History Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": ["hist-prod"], "credentials": "anonymous"},
    "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory.mktemp("history"), CONFIG, SCENARIO)


def _collect(scenario, config, now, out):
    with Simulator(scenario, port=0, now=now) as sim:
        return collect(config.with_endpoints(sim.url), out).evidence_dir


@pytest.fixture(scope="module")
def daily(setup):
    """One locker a day at 06:00 UTC, Jul 1 .. Sep 30, merged."""
    root, scenario, config = setup
    dirs = []
    day = dt.date(2026, 7, 1)
    with Simulator(scenario, port=0, now=dt.datetime(2026, 7, 1, 6, 0, tzinfo=UTC)) as sim:
        while day <= dt.date(2026, 9, 30):
            sim.set_clock(dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC))
            dirs.append(collect(config.with_endpoints(sim.url), root / f"daily-{day}" / "evidence").evidence_dir)
            day += dt.timedelta(days=1)
    return dirs, evaluate(dirs)


@pytest.fixture(scope="module")
def single(setup):
    root, scenario, config = setup
    return evaluate([_collect(scenario, config, dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC), root / "single" / "evidence")])


def _findings(results, check):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}


def _comparable(finding):
    """Everything but evidence ids and entry keys, which name different lockers' pages and runs for the same facts."""
    details = {k: v for k, v in finding["details"].items() if k not in ("day_evidence", "day_entries")}
    return {**{k: v for k, v in finding.items() if k != "evidence"}, "details": details}


def test_daily_lockers_give_the_same_backup_frequency_as_one_run_over_the_quarters_log(daily, single):
    merged, one = _findings(daily[1], "backup-frequency"), _findings(single, "backup-frequency")
    # a deleted instance is not listed at the quarter's end and left no final backup: one run knows only that the
    # Admin Activity log shows it deleted, so the days it existed are unknown (sql2, issue 14), never dropped
    assert set(one) == {STEADY, TOGGLED, GONE}
    assert one[GONE]["status"] == "inconclusive"
    assert one[GONE]["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-20")
    for resource in (STEADY, TOGGLED):
        assert _comparable(merged[resource]) == _comparable(one[resource]), resource
    # by hand: steady-pg missed Jul 15 (failed) and Sep 1-2 (no window); toggled-pg's 03:00 windows of
    # Aug 11..14 fell inside the disabled spell (Aug 10's ran before it began at 14:00).
    assert one[STEADY]["details"]["missed_days"] == ["2026-07-15", "2026-09-01", "2026-09-02"]
    assert one[TOGGLED]["details"]["missed_days"] == days_between("2026-08-11", "2026-08-14")


def test_a_mid_quarter_switch_off_is_an_exception_on_exactly_the_days_it_touched(daily, single):
    # off from Aug 10 14:00 to Aug 14 09:00: every day that spell touched, in both assemblies
    for results in (daily[1], single):
        toggled = _findings(results, "backup-enabled")[TOGGLED]
        assert toggled["status"] == "fail"
        assert toggled["details"]["disabled_days"] == days_between("2026-08-10", "2026-08-14")
        assert toggled["details"]["unknown_days"] == []
        assert "2026-08-10..2026-08-14" in toggled["message"]
        assert [c["settings"] for c in toggled["details"]["changes"]] == [{"backup_enabled": False}, {"backup_enabled": True}]
        assert _findings(results, "backup-enabled")[STEADY]["status"] == "pass"


def test_configuration_reads_are_kept_per_day_not_collapsed(daily):
    toggled = _findings(daily[1], "backup-enabled")[TOGGLED]
    assert toggled["details"]["observations"] == 92



def test_an_instance_deleted_mid_quarter_stays_for_the_days_it_existed(daily):
    gone_enabled = _findings(daily[1], "backup-enabled")[GONE]
    days = gone_enabled["details"]["days"]
    assert gone_enabled["status"] == "pass"
    assert all(days[d] == "kept" for d in days_between("2026-07-01", "2026-08-20"))
    assert all(days[d] == "not_applicable" for d in days_between("2026-08-21", "2026-09-30"))
    gone_frequency = _findings(daily[1], "backup-frequency")[GONE]
    assert gone_frequency["status"] == "pass", gone_frequency["message"]
    freq_days = gone_frequency["details"]["days"]
    assert freq_days["2026-08-20"] == "kept"  # its 03:00 window ran before the 12:00 deletion
    assert all(freq_days[d] == "not_applicable" for d in days_between("2026-08-21", "2026-09-30"))


def test_results_say_which_lockers_and_logs_they_drew_on(daily):
    dirs, results = daily
    assert len(results["lockers"]) == 92
    assert [l["as_of"][:10] for l in results["lockers"]] == days_between("2026-07-01", "2026-09-30")
    first = results["lockers"][0]["logs"][0]
    assert first["scope"] == "projects/hist-prod" and first["outcome"] == "ok"
    assert first["from"] == "2026-06-30T00:00:00Z" and first["to"] == "2026-10-02T00:00:00Z"
