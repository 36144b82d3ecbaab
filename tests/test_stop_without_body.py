"""A stop and restart logged without their request body (the simulator's default: Cloud SQL's body logging
is unconfirmed), from daily lockers and from one run at the end.

`pg` backs up at 04:00 UTC and is stopped from Aug 3 09:00 to Aug 6 09:00; the period is Aug 1..10, the
last read Aug 10 06:00. By hand:
- daily lockers (06:00 each day): the reads of Aug 4, 5 and 6 show activationPolicy NEVER; the complete
  log joins the Aug 3 update to the Aug 4 read (it stopped the instance) and the Aug 6 update to the
  Aug 7 04:00 window that ran (it started it): the windows of Aug 4, 5 and 6 are stopped, no backup
  due; backups stay enabled throughout (each read says so);
- one run on Aug 10: between the two updates nothing says what they set (no read, no window): the
  windows of Aug 4..6 are unknown, not stopped and not missed, and backup-enabled cannot say Aug 3..6.
"""

from __future__ import annotations

import datetime as dt

import pytest
from testkit import days_between, freeze_clock, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
PG = "//cloudsql.googleapis.com/projects/stop-prod/instances/pg"
SCENARIO = {
    "name": "stop", "now": "2026-08-10T06:00:00Z", "history_start": "2026-07-25",
    "organization": {"id": "996", "display_name": "stop.example"},
    "projects": [{"id": "stop-prod", "number": "336", "sql_instances": [
        {"name": "pg", "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "04:00", "location": "us-west1", "retained_backups": 7},
         "stopped": [{"from": "2026-08-03T09:00:00Z", "to": "2026-08-06T09:00:00Z"}]}]}],
}
CONFIG = {"organization": "Stop Ltd", "period": {"start": "2026-08-01", "end": "2026-08-10"},
          "gcp": {"projects": ["stop-prod"], "credentials": "anonymous"},
          "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root, scenario, config = scenario_setup(tmp_path_factory.mktemp("stop"), CONFIG, SCENARIO)
    with Simulator(scenario, port=0) as sim:
        freeze_clock(sim)
        daily = []
        for day in range(1, 11):
            sim.set_clock(dt.datetime(2026, 8, day, 6, 0, tzinfo=UTC))
            daily.append(collect(config.with_endpoints(sim.url), root / f"day-{day}" / "evidence").evidence_dir)
    return evaluate(daily), evaluate([daily[-1]])


def _finding(results, check):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}[PG]


def test_the_served_updates_carry_no_body():
    from auditor.simulator.routes_logging import project_entries
    from auditor.simulator.scenario import parse_scenario

    scenario = parse_scenario(SCENARIO)
    updates = [e for e in project_entries(scenario, scenario.projects[0]) if e["logName"].endswith("activity")]
    assert len(updates) == 2 and not any("body" in e["protoPayload"]["request"] for e in updates)


def test_daily_lockers_see_the_stop_from_their_reads(runs):
    daily, _single = runs
    frequency = _finding(daily, "backup-frequency")
    assert frequency["status"] == "pass", frequency["message"]
    assert frequency["details"]["stopped_days"] == days_between("2026-08-04", "2026-08-06")
    assert frequency["details"]["unknown_days"] == [] and frequency["details"]["missed_days"] == []
    enabled = _finding(daily, "backup-enabled")
    assert enabled["status"] == "pass", enabled["message"]


def test_one_run_cannot_tell_the_stop_and_says_so(runs):
    _daily, single = runs
    frequency = _finding(single, "backup-frequency")
    assert frequency["status"] == "inconclusive"  # never more favourable than the daily lockers' pass
    assert frequency["details"]["unknown_days"] == days_between("2026-08-04", "2026-08-06")
    assert frequency["details"]["stopped_days"] == [] and frequency["details"]["missed_days"] == []
    assert "updates of 2026-08-03 09:00 UTC, 2026-08-06 09:00 UTC were logged without the request body" in frequency["message"]
    enabled = _finding(single, "backup-enabled")
    assert enabled["status"] == "inconclusive"
    assert enabled["details"]["unknown_days"] == days_between("2026-08-03", "2026-08-06")
