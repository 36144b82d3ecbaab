"""restore-testing day by day against the interval in force each day, and a population that changes (issue 13).

Lockers collected from the simulator; the configuration each one stores sets restricted data's
`restore_test_interval` to 90 days until Aug 31 and to 30 days from Sep 1 (a locker made on Sep 1 or later
runs with the 30-day configuration). A day is judged against the configuration of the newest locker made
by that day (days before the first locker take the first one's). Times in UTC, lockers at 06:00.

  july-pg    restored from backups Apr 10 and Jul 3. Under 90 days Jul 3 covers to Oct 1, so every day to
             Aug 31 is kept; under 30 days it covers only to Aug 2, so from Sep 1 (the new interval's first
             day) every day is an exception: Sep 1..Sep 30.
  august-pg  restored May 20 (covers to Aug 18 under 90 days) and Aug 10: kept to Aug 31; under 30 days
             Aug 10 covers to Sep 9, so Sep 10..Sep 30 are the exceptions.
  gone-pg    restored Jun 1 (Cloud SQL operations.list) and cloned to a point in time on Jul 20 (the Admin
             Activity log), deleted Aug 14 12:00 with a FINAL backup kept 90 days. Jun 1 covers Jul 1..Aug 30 under 90 days,
             so each day it existed (Jul 1..Aug 14) is kept; Aug 15..Sep 30 are not applicable. Its operations
             can be listed only while it exists: a locker made before the deletion (Aug 10) holds them; a
             single run after it does not, so there only the log's clone counts: Jul 20..Aug 14 kept, Jul 1..
             Jul 19 unknown (not failed: the unread listing could hold a test), the finding inconclusive.
  logged-pg  restored Jun 1, deleted Aug 14 12:00 without a final backup. The Aug 10 locker read it, so the
             lockers judge it like gone-pg; a single run after the deletion has only the log's delete entry: no
             read shows how it was configured or tested, so its days Jul 1..Aug 14 are inconclusive.
  new-pg     created Aug 20 09:00, never restore-tested. Before Aug 20 it did not exist (not applicable); its
             first test is owed within the interval from its creation: not yet due Aug 20..Aug 31 (90 days) and
             Sep 1..Sep 19 (30 days: Aug 20 + 30 = Sep 19); Sep 20..Sep 30 are the exceptions.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from testkit import days_between

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario
from auditor.config import load_config

UTC = dt.timezone.utc
NARROWED = dt.date(2026, 9, 1)
PREFIX = "//cloudsql.googleapis.com/projects/rst-prod/instances/"
JULY, AUGUST, GONE, NEW, LOGGED = (PREFIX + n for n in ("july-pg", "august-pg", "gone-pg", "new-pg", "logged-pg"))
KEY = "policy.classifications.restricted.restore_test_interval"


def _instance(name, operations, **more):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16",
            "labels": {"data-classification": "restricted"}, "operations": operations,
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 30, "pitr": True},
            **more}


def _restore(when, backup_id):
    return {"type": "RESTORE_VOLUME", "time": when, "backup_id": backup_id}


SCENARIO = {
    "name": "restore-interval", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "996", "display_name": "restore.example"},
    "projects": [{"id": "rst-prod", "number": "335", "sql_instances": [
        _instance("july-pg", [_restore("2026-04-10T10:00:00Z", "101"), _restore("2026-07-03T10:00:00Z", "102")]),
        _instance("august-pg", [_restore("2026-05-20T10:00:00Z", "201"), _restore("2026-08-10T10:00:00Z", "202")]),
        _instance("gone-pg", [_restore("2026-06-01T10:00:00Z", "301"),
                              {"type": "CLONE", "time": "2026-07-20T10:00:00Z", "point_in_time": "2026-07-19T23:00:00Z",
                               "into": "gone-pg-check"}],
                  delete_time="2026-08-14T12:00:00Z", final_backup_days=90),
        _instance("logged-pg", [_restore("2026-06-01T10:00:00Z", "401")], delete_time="2026-08-14T12:00:00Z"),
        _instance("new-pg", [], create_time="2026-08-20T09:00:00Z"),
    ]}],
}


def _config(root, interval):
    import yaml

    folder = root / f"config-{interval}"
    folder.mkdir(exist_ok=True)
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Restore Ltd", "period": {"quarter": "2026-Q3"},
        "gcp": {"projects": ["rst-prod"], "credentials": "anonymous"},
        "policy": {"country": "US", "classifications": {"restricted": {
            "backup_interval": "24h", "retention_min_days": 7, "point_in_time_recovery": True, "encryption": "any",
            "restore_test_interval": interval}}},
    }))
    return load_config(folder / "auditor.yaml").model_copy(update={"github": None})


def _collect_on(days, root):
    """One locker a day at 06:00 UTC; from Sep 1 each locker's configuration says 30 days, before it 90."""
    wide, narrow = _config(root, "90d"), _config(root, "30d")
    dirs, ids = [], {}
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = (narrow if day >= NARROWED else wide).with_endpoints(sim.url)
            run = collect(config, root / f"locker-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    return evaluate(dirs), ids


def _restore_findings(results):
    (control,) = [c for c in results["controls"] if c["id"] == "restore-testing"]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    """Three lockers: Aug 10 (90 days, gone-pg still exists), Sep 1 (the 30-day interval's first day), Sep 30."""
    return _collect_on([dt.date(2026, 8, 10), NARROWED, dt.date(2026, 9, 30)], tmp_path_factory.mktemp("restore-few"))


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """92 lockers, one a day (`make type2`)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    return _collect_on(days, tmp_path_factory.mktemp("restore-daily"))


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return _collect_on([dt.date(2026, 9, 30)], tmp_path_factory.mktemp("restore-single"))[0]


def _by_state(finding, state):
    return [d for d, s in finding["details"]["days"].items() if s == state]


def _assert_narrowed(found, ids, first_locker):
    july = found[JULY]
    assert july["status"] == "fail", july["message"]
    assert july["details"]["exception_days"] == days_between("2026-09-01", "2026-09-30")
    assert _by_state(july, "kept") == days_between("2026-07-01", "2026-08-31")
    assert july["details"]["unknown_days"] == []
    assert july["details"]["days_since_test"]["2026-09-01"] == 60  # Jul 3 to Sep 1
    changes = july["details"]["thresholds"]
    assert [(c["from"], c["restore_test_interval_days"], c["locker"]) for c in changes] == [
        ("2026-07-01", 90, ids[first_locker]), ("2026-09-01", 30, ids["2026-09-01"])]
    assert KEY in july["message"] and ids["2026-09-01"] in july["message"]
    assert "90 days until 2026-08-31, 30 days from 2026-09-01" in july["message"]
    august = found[AUGUST]
    assert august["status"] == "fail", august["message"]
    assert august["details"]["exception_days"] == days_between("2026-09-10", "2026-09-30")
    assert _by_state(august, "kept") == days_between("2026-07-01", "2026-09-09")


def test_a_few_lockers_judge_each_day_by_the_interval_its_configuration_set(few):
    results, ids = few
    _assert_narrowed(_restore_findings(results), ids, "2026-08-10")


def test_daily_lockers_judge_each_day_by_the_interval_its_configuration_set(daily):
    results, ids = daily
    _assert_narrowed(_restore_findings(results), ids, "2026-07-01")


def _assert_deleted_judged_while_it_existed(gone):
    assert gone["status"] == "pass", gone["message"]
    assert _by_state(gone, "kept") == days_between("2026-07-01", "2026-08-14")
    assert _by_state(gone, "not_applicable") == days_between("2026-08-15", "2026-09-30")
    assert "deleted on 2026-08-14 12:00 UTC" in gone["message"] and "not applicable" in gone["message"]
    assert gone["details"]["days_since_test"]["2026-07-19"] == 48  # the Jun 1 restore, read while it existed


def test_a_deleted_instance_is_judged_for_the_days_it_existed_with_the_tests_read_before_its_deletion(few):
    found = _restore_findings(few[0])
    _assert_deleted_judged_while_it_existed(found[GONE])
    _assert_deleted_judged_while_it_existed(found[LOGGED])
    # a sampled day points at the test that covers it (beside the day's own backup-run pages): Jul 19 at the Jun 1
    # restore (operations.list's page), Jul 20 at the Jul 20 clone (the audit log's pages), which Jul 19 lacks
    evidence, cited = found[GONE]["details"]["day_evidence"], set(found[GONE]["evidence"])
    assert set(evidence["2026-07-19"]) & cited
    clone_pages = set(evidence["2026-07-20"]) - set(evidence["2026-07-19"])
    assert clone_pages and clone_pages <= cited
    # no FINAL backup: the read that shows it is the Aug 10 locker's listing
    assert "its last configuration read: 2026-08-10 06:00 UTC" in found[LOGGED]["message"]


def test_daily_lockers_judge_the_deleted_instance_for_the_days_it_existed(daily):
    _assert_deleted_judged_while_it_existed(_restore_findings(daily[0])[GONE])


def test_an_instance_created_mid_period_owes_its_first_test_by_its_creation_plus_the_interval(few):
    new = _restore_findings(few[0])[NEW]
    assert new["status"] == "fail", new["message"]
    assert new["details"]["exception_days"] == days_between("2026-09-20", "2026-09-30")
    assert _by_state(new, "not_applicable") == days_between("2026-07-01", "2026-09-19")
    assert "created on 2026-08-20 09:00 UTC" in new["message"] and "owed from 2026-09-20" in new["message"]


def test_one_run_judges_the_whole_period_by_its_one_configuration(single):
    """One locker, one configuration (30 days) for every day, as before. By hand: july-pg's Apr 10 test is 82
    days old on Jul 1 (broken), Jul 3 covers Jul 3..Aug 2, then broken to Sep 30."""
    found = _restore_findings(single)
    july = found[JULY]
    assert july["status"] == "fail"
    assert july["details"]["exception_days"] == ["2026-07-01", "2026-07-02", *days_between("2026-08-03", "2026-09-30")]
    assert "thresholds" not in july["details"] and KEY not in july["message"]
    assert "at least every 30 days" in july["message"]


def test_one_run_after_the_deletion_cannot_list_its_operations_and_leaves_those_days_unknown(single):
    gone = _restore_findings(single)[GONE]
    # one 30-day configuration: the log's Jul 20 clone covers Jul 20..Aug 14 (it existed to Aug 14 12:00)
    assert gone["status"] == "inconclusive", gone["message"]  # never more favourable than the lockers' pass
    assert gone["details"]["unknown_days"] == days_between("2026-07-01", "2026-07-19")
    assert _by_state(gone, "kept") == days_between("2026-07-20", "2026-08-14")
    assert gone["details"]["exception_days"] == []
    assert "not every source was read" in gone["message"] and "operations.list" in gone["message"]


def test_one_run_reports_an_instance_only_the_log_shows_as_inconclusive_for_the_days_it_existed(single):
    logged = _restore_findings(single)[LOGGED]
    assert logged["status"] == "inconclusive", logged["message"]
    assert logged["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-14")
    assert "no read of it survives" in logged["message"]
