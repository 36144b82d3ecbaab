"""A run made 60 days after the period (issue 13, "done when"): the scenario clock at 2026-11-29 06:00 UTC,
the quarter 2026-Q3. Two forms of the same run:

- the Admin Activity log read to the read time (the collector's own behaviour): the read of Nov 29 is
  joined to the period by the complete query, so it carries the state back;
- the log read only to the period's end (as a locker of an earlier version, or a log export that
  stops there): the same read tells nothing about the period, the days no other evidence covers are
  unknown and the findings inconclusive.

Three instances (internal data: at least 7 days of backups, one a day): `steady-pg` keeps 14 backups
throughout; `cut-pg` is cut to 3 from Aug 10 09:00 to Sep 5 09:00 (updates logged with their body);
`after-pg` keeps 14 in the period and is changed to 10 on Nov 1 09:00, after the period and before
the read (logged with its body). Every expectation below is worked out by hand from that.
"""

from __future__ import annotations

import datetime as dt

import pytest
from testkit import days_between, freeze_clock, scenario_setup

from auditor.collectors import logging as log_collector
from auditor.evidence.locker import iso
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
PROJECT = "late-prod"
READ = dt.datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # Sep 30 + 60 days
QUERY_END = dt.datetime(2026, 10, 2, tzinfo=UTC)  # the period's end plus the collector's day
STEADY, CUT, AFTER = (f"//cloudsql.googleapis.com/projects/{PROJECT}/instances/{n}" for n in ("steady-pg", "cut-pg", "after-pg"))
QUARTER = days_between("2026-07-01", "2026-09-30")


def _instance(name, changes=()):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 14,
                       "changes": list(changes)}}


SCENARIO = {
    "name": "late-run", "now": iso(READ), "history_start": "2026-06-25",
    "organization": {"id": "997", "display_name": "late.example"},
    "projects": [{"id": PROJECT, "number": "335", "sql_instances": [
        _instance("steady-pg"),
        _instance("cut-pg", [{"from": "2026-08-10T09:00:00Z", "to": "2026-09-05T09:00:00Z", "retained_backups": 3,
                              "body_logged": True}]),
        _instance("after-pg", [{"from": "2026-11-01T09:00:00Z", "retained_backups": 10, "body_logged": True}]),
    ]}],
}
CONFIG = {
    "organization": "Late Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": [PROJECT], "credentials": "anonymous"},
    "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory.mktemp("late"), CONFIG, SCENARIO)


def _run(setup, name):
    root, scenario, config = setup
    with Simulator(scenario, port=0) as sim:
        freeze_clock(sim)  # the read is at 06:00:00 exactly however slowly the machine runs
        return collect(config.with_endpoints(sim.url), root / name / "evidence").evidence_dir


@pytest.fixture(scope="module")
def to_the_read(setup):
    folder = _run(setup, "to-read")
    return folder, evaluate([folder])


@pytest.fixture(scope="module")
def to_the_period_end(setup):
    """The same run with the Admin Activity query bounded by the period's end (plus a day), as the whole
    query was before it ran to the read, and its answer recorded as covering only that far."""
    original = log_collector.cloudsql_audit_filter
    patch = pytest.MonkeyPatch()
    patch.setattr(log_collector, "cloudsql_audit_filter",
                  lambda project, start, end: f'({original(project, start, end)}) AND timestamp<"{iso(end)}"')
    patch.setattr(log_collector, "covered_span", lambda start, read_at: {"from": iso(start), "to": iso(min(read_at, QUERY_END))})
    try:
        folder = _run(setup, "to-period-end")
    finally:
        patch.undo()
    return folder, evaluate([folder])


def _findings(results, check):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}


def _log_call(folder):
    from auditor.evidence.locker import Locker

    (call,) = list(Locker(folder).calls("logging", "entries.list"))
    return call


def test_the_two_forms_differ_only_in_how_far_the_log_was_read(to_the_read, to_the_period_end):
    assert _log_call(to_the_read[0])["covered"] == {"from": "2026-06-30T00:00:00Z", "to": "2026-11-29T06:00:00Z"}
    assert _log_call(to_the_period_end[0])["covered"] == {"from": "2026-06-30T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
    assert to_the_read[1]["as_of"] == to_the_period_end[1]["as_of"] == "2026-11-29T06:00:00Z"


def test_read_to_the_read_time_carries_the_state_back_over_the_quarter(to_the_read):
    found = _findings(to_the_read[1], "backup-retention")
    steady = found[STEADY]
    assert steady["status"] == "pass", steady["message"]
    assert steady["details"]["days"] == {d: "kept" for d in QUARTER}
    cut = found[CUT]
    assert cut["status"] == "fail"
    assert cut["details"]["exception_days"] == days_between("2026-08-10", "2026-09-05")
    # before the first change nothing was read or logged with a value: a change says what it set, not what was there
    assert cut["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-09")
    assert {d: s for d, s in cut["details"]["days"].items() if d >= "2026-09-06"} == {d: "kept" for d in days_between("2026-09-06", "2026-09-30")}
    # the read (10) holds back only to the Nov 1 change that set it; what was there before is not logged
    after = found[AFTER]
    assert after["status"] == "inconclusive"
    assert after["details"]["unknown_days"] == QUARTER


def test_read_only_to_the_period_end_leaves_the_uncovered_days_unknown_and_inconclusive(to_the_period_end):
    found = _findings(to_the_period_end[1], "backup-retention")
    steady = found[STEADY]
    assert steady["status"] == "inconclusive"  # the Nov 29 read is not joined to the period: never a pass
    assert steady["details"]["unknown_days"] == QUARTER
    assert f"no complete audit-log query of projects/{PROJECT} covers 2026-10-02 00:00 .. 2026-11-29 06:00 UTC" \
        in steady["message"]
    cut = found[CUT]
    # the logged changes still carry their own values over the covered quarter
    assert cut["status"] == "fail"
    assert cut["details"]["exception_days"] == days_between("2026-08-10", "2026-09-05")
    assert cut["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-09")
    after = found[AFTER]
    assert after["status"] == "inconclusive"
    assert after["details"]["unknown_days"] == QUARTER


def test_backup_outcomes_are_read_for_the_period_in_both_forms(to_the_read, to_the_period_end):
    for _folder, results in (to_the_read, to_the_period_end):
        for resource in (STEADY, CUT, AFTER):
            frequency = _findings(results, "backup-frequency")[resource]
            assert frequency["status"] == "pass", frequency["message"]
            assert set(frequency["details"]["days"].values()) == {"kept"}
            # each day's automated backup window that ran says backups were on that day
            assert _findings(results, "backup-enabled")[resource]["status"] == "pass"


def test_a_single_late_run_is_never_more_favourable_with_less_log(to_the_read, to_the_period_end):
    rank = {"pass": 0, "not_applicable": 0, "inconclusive": 1, "fail": 2}
    for check in ("backup-retention", "backup-enabled", "backup-frequency", "backup-cross-region"):
        full, short = _findings(to_the_read[1], check), _findings(to_the_period_end[1], check)
        for resource in (STEADY, CUT, AFTER):
            assert rank[short[resource]["status"]] >= rank[full[resource]["status"]], (check, resource)
