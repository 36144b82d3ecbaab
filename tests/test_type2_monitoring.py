"""backup-monitoring day by day: an alert policy switched off for two weeks, from 92 daily lockers and from one run.

Each project holds one Cloud SQL primary, one log-based metric counting failed automated backups, one email
channel and one threshold policy on that metric. The policy is switched off at 10:00 on Aug 3 and back on at
10:00 on Aug 17 (UTC) by two UpdateAlertPolicy calls:

  mon-unlogged  the entries carry no request body (whether Monitoring logs it is unconfirmed: API notes);
  mon-logged    the entries carry UpdateAlertPolicyRequest {alertPolicy.enabled, updateMask "enabled"};
  mon-unverified  never switched off, but its only channel is UNVERIFIED ("requires verification to function");
  mon-absent    never switched off; its channel reports no verificationStatus (the API's "not applicable");
  mon-metric    the policy stays on, but the log-based metric it counts is disabled from 10:00 Aug 20 to 10:00
                Aug 27 by two UpdateLogMetric calls without a request body (unconfirmed for Logging too).

The metric and channel were created a year before the history starts and never changed; their own records
(createTime/updateTime, creationRecord/mutationRecords) say so. Expected days are written by hand from that.
"""

from __future__ import annotations

import datetime as dt

import pytest
from testkit import daily_lockers, days_between, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
OFF = {"from": "2026-08-03T10:00:00Z", "to": "2026-08-17T10:00:00Z"}
FAILED = ('resource.type="cloudsql_database" AND protoPayload.methodName="cloudsql.instances.automatedBackup" '
          'AND protoPayload.metadata.windowStatus="STATUS_FAILED"')


def _project(ident: str, number: str, disabled=(), verification="VERIFIED", metric_off=()) -> dict:
    channel = {"id": "dba", "display_name": "DBA", "type": "email"}
    if verification != "VERIFIED":
        channel["verification"] = verification
    return {"id": ident, "number": number,
            "sql_instances": [{"name": "db", "region": "us-east1", "database_version": "POSTGRES_16",
                               "labels": {"data-classification": "internal"}, "create_time": "2025-01-01T00:00:00Z",
                               "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1",
                                          "retained_backups": 7}}],
            "log_metrics": [{"name": "backup-failures", "filter": FAILED, "disabled_spells": list(metric_off)}],
            "notification_channels": [channel],
            "alert_policies": [{"id": "backup-failed", "display_name": "Backup failed", "metric_threshold": "backup-failures",
                                "channels": ["dba"], "disabled": list(disabled)}]}


PROJECTS = ("mon-unlogged", "mon-logged", "mon-unverified", "mon-absent", "mon-metric")
METRIC_OFF = {"from": "2026-08-20T10:00:00Z", "to": "2026-08-27T10:00:00Z"}
SCENARIO = {
    "name": "monitoring", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "997", "display_name": "monitoring.example"},
    "projects": [_project("mon-unlogged", "401", [OFF]), _project("mon-logged", "402", [{**OFF, "body_logged": True}]),
                 _project("mon-unverified", "403", verification="UNVERIFIED"), _project("mon-absent", "404", verification=None),
                 _project("mon-metric", "405", metric_off=[METRIC_OFF])],
}
CONFIG = {
    "organization": "Monitoring Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": list(PROJECTS), "credentials": "anonymous"},
    "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}},
}
QUARTER = days_between("2026-07-01", "2026-09-30")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory.mktemp("monitoring"), CONFIG, SCENARIO)


@pytest.fixture(scope="module")
def single(setup):
    root, scenario, config = setup
    with Simulator(scenario, port=0, now=dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC)) as sim:
        return evaluate([collect(config.with_endpoints(sim.url), root / "single" / "evidence").evidence_dir])


@pytest.fixture(scope="module")
def daily(setup):
    """One locker a day at 06:00 UTC, Jul 1 .. Sep 30, merged (92 collections, about 100 s on 2 cores: `make type2`)."""
    return daily_lockers(setup)


def _monitoring(results) -> dict:
    (control,) = [c for c in results["controls"] if c["id"] == "backup-monitoring"]
    return {f["resource"].rsplit("/", 1)[-1]: f for f in control["findings"]}


def test_daily_lockers_show_the_two_weeks_off_as_exceptions_logged_or_not(daily):
    found = _monitoring(daily)
    for project in ("mon-unlogged", "mon-logged"):
        finding = found[project]
        assert finding["status"] == "fail", finding["message"]
        # off from 10:00 Aug 3 to 10:00 Aug 17: each day touched. The unlogged updates are joined to the next
        # day's 06:00 read by the complete log query in between (and by the policy's own mutationRecord).
        assert finding["details"]["exception_days"] == days_between("2026-08-03", "2026-08-17"), project
        assert finding["details"]["unknown_days"] == []
        assert "2026-08-03..2026-08-17" in finding["message"]
        assert set(finding["details"]["days"]) == set(QUARTER)
    assert found["mon-absent"]["status"] == "pass"
    assert found["mon-unverified"]["details"]["exception_days"] == QUARTER
    metric = found["mon-metric"]
    assert metric["status"] == "fail", metric["message"]
    assert metric["details"]["exception_days"] == days_between("2026-08-20", "2026-08-27")
    assert metric["details"]["unknown_days"] == []


def test_one_run_with_bodies_logged_shows_the_same_exception_days(single):
    finding = _monitoring(single)["mon-logged"]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-08-03", "2026-08-17")
    # before the first logged change nothing was read: a change says what it set, not what was there before
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-02")
    assert {d: s for d, s in finding["details"]["days"].items() if d > "2026-08-17"} == {
        d: "kept" for d in days_between("2026-08-18", "2026-09-30")}


def test_one_run_with_changes_logged_without_bodies_is_unknown_and_says_why(single):
    finding = _monitoring(single)["mon-unlogged"]
    assert finding["status"] == "inconclusive", finding["message"]  # never more favourable than the lockers' fail
    assert finding["details"]["exception_days"] == []
    # unknown from the start (nothing read before the first change) to the Aug 17 change, whose value the
    # policy's mutationRecord and the Sep 30 read confirm from 10:00 Aug 17 on
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-17")
    assert "without the request body" in finding["message"]
    assert "2026-08-03 10:00 UTC" in finding["message"] and "2026-08-17 10:00 UTC" in finding["message"]
    assert "most recent change (2026-08-17 10:00 UTC)" in finding["message"]
    # the day's own evidence for sampling: the two changes' entries on their days, the read on Sep 30
    assert set(finding["details"]["day_entries"]) == {"2026-08-03", "2026-08-17"}
    assert finding["details"]["day_evidence"]["2026-09-30"]
    # a day with nothing of its own names the reads carried into it: Sep 10 rests on the Sep 30 listings
    assert set(finding["details"]["day_evidence"]["2026-09-10"]) <= set(finding["details"]["day_evidence"]["2026-09-30"])
    assert finding["details"]["day_evidence"]["2026-09-10"]


def test_an_unverified_channel_alerts_nobody_and_an_absent_status_is_not_held_against_it(single):
    found = _monitoring(single)
    unverified = found["mon-unverified"]
    assert unverified["status"] == "fail"
    assert unverified["details"]["exception_days"] == QUARTER
    assert "UNVERIFIED" in unverified["message"]
    absent = found["mon-absent"]
    assert absent["status"] == "pass", absent["message"]
    assert set(absent["details"]["days"].values()) == {"kept"}


def test_one_run_after_a_metric_disabled_without_bodies_is_unknown_up_to_its_update_time(single):
    """The policy and channel are known all quarter (their own records: last changed a year before); the metric's
    filter and `disabled` are unknown until its last UpdateLogMetric (Aug 27 10:00), which its updateTime and the
    Sep 30 read confirm; before the first change nothing says what they were."""
    finding = _monitoring(single)["mon-metric"]
    assert finding["status"] == "inconclusive", finding["message"]
    assert finding["details"]["exception_days"] == []
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-27")
    assert "UpdateLogMetric of log-based metric 'backup-failures'" in finding["message"]


def test_a_run_60_days_after_the_period_carries_the_reads_back_over_the_log_read_to_the_read_time(setup):
    """Read on Nov 29, the Admin Activity query answered to that moment: nothing changed after Aug 27, so by hand
    the days are those of the quarter-end run; nothing after the period is judged."""
    root, scenario, config = setup
    with Simulator(scenario, port=0, now=dt.datetime(2026, 11, 29, 6, 0, tzinfo=UTC)) as sim:
        late = _monitoring(evaluate([collect(config.with_endpoints(sim.url), root / "late" / "evidence").evidence_dir]))
    assert late["mon-logged"]["status"] == "fail"
    assert late["mon-logged"]["details"]["exception_days"] == days_between("2026-08-03", "2026-08-17")
    assert late["mon-logged"]["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-02")
    assert late["mon-unlogged"]["status"] == "inconclusive"
    assert late["mon-unlogged"]["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-17")
    assert set(late["mon-unlogged"]["details"]["days"]) == set(QUARTER)
    assert late["mon-absent"]["status"] == "pass"
