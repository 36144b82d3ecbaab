"""backup-monitoring's population over time: the primaries with automated backups on each day, not as last listed.

Each project holds `steady` (a primary with backups on all quarter, created 2025-01-01) and one alert policy
whose log-match filter names `steady` alone (resource.labels.database_id), so `steady` is covered every day and
any other primary is covered by nothing. The other primary is the case:

  mon-deleted   `gone`, deleted Aug 14 12:00 UTC with a 90-day FINAL backup (its snapshot is the read left of it): in the
                population Jul 1 .. Aug 14 12:00, so exceptions exactly Jul 1 .. Aug 14, kept after;
  mon-created   `fresh`, created Sep 10 12:00: exceptions Sep 10 .. Sep 30, kept before;
  mon-enabled   `late`, backups off from Jun 28 10:00 to Aug 20 10:00 (two patches logged with their body): in the
                population from Aug 20 10:00, so exceptions Aug 20 .. Sep 30. Days before it: a read showing them off
                (a locker) makes them kept; a single run from Jul 1 has only the Aug 20 patch, which says what it
                set, not what was there before, so whether `late` had to be covered is unknown Jul 1 .. Aug 19;
  mon-covered   the same `late`, its patches logged WITHOUT a body, but the policy names the whole project (project_id):
                its backup setting is unknown before Aug 20 in a single run, yet it is covered anyway: every day kept;
  mon-unseen    `ghost`, deleted Aug 14 12:00 without a FINAL backup: a single run sees only the Admin Activity delete
                entry (no read of its configuration or labels), so Jul 1 .. Aug 14 are unknown, never passed; lockers
                read before the deletion show it, so those days are exceptions;
  mon-moved     one primary and no policy of its own; the central project mon-central (not audited) holds a policy
                on project_id "mon-moved" with a verified pager. The lockers' configurations leave gcp.monitoring_project
                unset before Sep 11 and set it to mon-central from Sep 11: days before are judged without the central
                project (exceptions Jul 1 .. Sep 10), the days from Sep 11 with it (kept). A single run stores one
                configuration (mon-central) for the whole period: every day kept, as before this change;
  mon-off       one primary whose backups were never on, and no policy: nothing to alert on, on any day (not applicable);
  mon-emptied   its only primary, `gone` as in mon-deleted, and no policy: nothing listed at the read, yet Jul 1 .. Aug 14
                are exceptions; from Aug 15 it holds no primary (not applicable days).

Policies and channels were created long before the period and never changed (their own records say so), so every
alerting setting is known throughout; the expected days below follow from the times above alone (lockers at 06:00).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
MOVED_FROM = dt.date(2026, 9, 11)
FAILED = 'protoPayload.methodName="cloudsql.instances.automatedBackup" AND protoPayload.metadata.windowStatus="STATUS_FAILED"'
BACKUP = {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7}


def _db(name: str, **extra) -> dict:
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
            "create_time": "2025-01-01T00:00:00Z", "backup": dict(BACKUP), **extra}


def _late(body_logged: bool) -> dict:
    return _db("late", backup={**BACKUP, "disabled": [{"from": "2026-06-28T10:00:00Z", "to": "2026-08-20T10:00:00Z",
                                                         "body_logged": body_logged}]})


def _project(ident: str, number: str, other: dict | None, whole_project: bool = False) -> dict:
    match = (f'resource.labels.project_id="{ident}"' if whole_project else f'resource.labels.database_id="{ident}:steady"')
    return {"id": ident, "number": number, "sql_instances": [_db("steady")] + ([other] if other else []),
            "notification_channels": [{"id": "dba", "display_name": "DBA", "type": "email"}],
            "alert_policies": [{"id": "backup-failed", "display_name": "Backup failed", "channels": ["dba"],
                                "log_filter": f'resource.type="cloudsql_database" AND {match} AND {FAILED}'}]}


PROJECTS = ("mon-deleted", "mon-created", "mon-enabled", "mon-covered", "mon-unseen", "mon-moved", "mon-off", "mon-emptied")
SCENARIO = {
    "name": "monitoring-population", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "996", "display_name": "population.example"},
    "projects": [
        _project("mon-deleted", "501", _db("gone", delete_time="2026-08-14T12:00:00Z", final_backup_days=90)),
        _project("mon-created", "502", _db("fresh", create_time="2026-09-10T12:00:00Z")),
        _project("mon-enabled", "503", _late(True)),
        _project("mon-covered", "504", _late(False), whole_project=True),
        _project("mon-unseen", "505", _db("ghost", delete_time="2026-08-14T12:00:00Z")),
        {"id": "mon-moved", "number": "506", "sql_instances": [_db("db")]},
        {"id": "mon-off", "number": "508", "sql_instances": [_db("db", backup={**BACKUP, "enabled": False})]},
        {"id": "mon-emptied", "number": "509",
         "sql_instances": [_db("gone", delete_time="2026-08-14T12:00:00Z", final_backup_days=90)]},
        {"id": "mon-central", "number": "507",
         "notification_channels": [{"id": "pager", "display_name": "Pager", "type": "pagerduty"}],
         "alert_policies": [{"id": "moved", "display_name": "Moved backups failed", "channels": ["pager"],
                             "log_filter": f'resource.type="cloudsql_database" AND resource.labels.project_id="mon-moved" '
                                           f'AND {FAILED}'}]},
    ],
}
QUARTER = days_between("2026-07-01", "2026-09-30")


def _config(root, central: str | None):
    folder = root / f"config-{central or 'none'}"
    folder.mkdir(exist_ok=True)
    gcp = {"projects": list(PROJECTS), "credentials": "anonymous", **({"monitoring_project": central} if central else {})}
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Population Ltd", "period": {"quarter": "2026-Q3"}, "gcp": gcp,
        "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}}}))
    return load_config(folder / "auditor.yaml").model_copy(update={"github": None})


def _collect_on(days: list[dt.date], root) -> tuple[dict, dict[str, str]]:
    """One locker a day at 06:00 UTC; from Sep 11 each locker's configuration names mon-central."""
    scenario = parse_scenario(SCENARIO)
    before, after = _config(root, None), _config(root, "mon-central")
    dirs, ids = [], {}
    with Simulator(scenario, port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = (after if day >= MOVED_FROM or len(days) == 1 else before).with_endpoints(sim.url)
            run = collect(config, root / f"daily-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    return evaluate(dirs), ids


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return _collect_on([dt.date(2026, 9, 30)], tmp_path_factory.mktemp("population-single"))[0]


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    """Three lockers: Aug 12 (before both deletions, backups still off on `late`), Sep 11 (mon-central's first day),
    Sep 30."""
    return _collect_on([dt.date(2026, 8, 12), dt.date(2026, 9, 11), dt.date(2026, 9, 30)],
                       tmp_path_factory.mktemp("population-few"))


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """92 lockers, one a day (`make type2`)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    return _collect_on(days, tmp_path_factory.mktemp("population-daily"))


def _monitoring(results) -> dict:
    (control,) = [c for c in results["controls"] if c["id"] == "backup-monitoring"]
    return {f["resource"].rsplit("/", 1)[-1]: f for f in control["findings"]}


def _days(finding) -> tuple[list[str], list[str]]:
    return finding["details"]["exception_days"], finding["details"]["unknown_days"]


# what every form shows alike: the deleted primary's days, the new one's, the covered-anyway project
def _common(found):
    deleted = found["mon-deleted"]
    assert deleted["status"] == "fail", deleted["message"]
    assert _days(deleted) == (days_between("2026-07-01", "2026-08-14"), [])
    assert "gone was deleted on 2026-08-14 12:00 UTC" in deleted["message"]
    assert deleted["details"]["population"]["deleted"] == {"gone": "2026-08-14T12:00:00+00:00"}
    created = found["mon-created"]
    assert created["status"] == "fail", created["message"]
    assert _days(created) == (days_between("2026-09-10", "2026-09-30"), [])
    covered = found["mon-covered"]
    assert covered["status"] == "pass", covered["message"]
    assert set(covered["details"]["days"].values()) == {"kept"} and set(covered["details"]["days"]) == set(QUARTER)
    emptied = found["mon-emptied"]
    assert emptied["status"] == "fail", emptied["message"]
    assert emptied["details"]["days"] == {**{d: "broken" for d in days_between("2026-07-01", "2026-08-14")},
                                          **{d: "not_applicable" for d in days_between("2026-08-15", "2026-09-30")}}
    off = found["mon-off"]
    assert off["status"] == "not_applicable", off["message"]
    assert off["details"]["days"] == {day: "not_applicable" for day in QUARTER}


def test_single_run_judges_the_population_on_each_day(single):
    found = _monitoring(single)
    _common(found)
    enabled = found["mon-enabled"]
    assert enabled["status"] == "fail", enabled["message"]
    assert _days(enabled) == (days_between("2026-08-20", "2026-09-30"), days_between("2026-07-01", "2026-08-19"))
    assert "whether late had automated backups on then" in enabled["message"]
    unseen = found["mon-unseen"]
    assert unseen["status"] == "inconclusive", unseen["message"]  # never passed: ghost's days cannot be judged
    assert _days(unseen) == ([], days_between("2026-07-01", "2026-08-14"))
    assert "ghost" in unseen["message"] and unseen["details"]["population"]["deleted_unread"] == ["ghost"]
    moved = found["mon-moved"]  # one configuration for the whole period: as before
    assert moved["status"] == "pass", moved["message"]
    assert "thresholds" not in moved["details"] and "gcp.monitoring_project was" not in moved["message"]


def test_three_lockers_judge_each_day_by_the_monitoring_project_in_force(few):
    results, ids = few
    found = _monitoring(results)
    _common(found)
    # the Aug 12 read shows late's backups off, carried back to Jul 1 and on to the Aug 20 patch
    assert _days(found["mon-enabled"]) == (days_between("2026-08-20", "2026-09-30"), [])
    # ghost was read on Aug 12; the logged deletion ends it
    assert _days(found["mon-unseen"]) == (days_between("2026-07-01", "2026-08-14"), [])
    moved = found["mon-moved"]
    assert moved["status"] == "fail", moved["message"]
    assert _days(moved) == (days_between("2026-07-01", "2026-09-10"), [])
    assert (f"gcp.monitoring_project was unset (none) until 2026-09-10, mon-central from 2026-09-11 (the configuration "
            f"stored in locker {ids['2026-09-11']})") in moved["message"]
    keys = {"monitoring_project": "gcp.monitoring_project"}
    assert moved["details"]["thresholds"] == [
        {"from": "2026-07-01", "locker": ids["2026-08-12"], "expected": {"monitoring_project": None}, "config_keys": keys},
        {"from": "2026-09-11", "locker": ids["2026-09-11"], "expected": {"monitoring_project": "mon-central"},
         "config_keys": keys}]


def test_daily_lockers_show_the_same_days(daily):
    results, ids = daily
    found = _monitoring(results)
    _common(found)
    assert _days(found["mon-enabled"]) == (days_between("2026-08-20", "2026-09-30"), [])
    assert _days(found["mon-unseen"]) == (days_between("2026-07-01", "2026-08-14"), [])
    moved = found["mon-moved"]
    assert _days(moved) == (days_between("2026-07-01", "2026-09-10"), [])
    assert moved["details"]["thresholds"][1] == {"from": "2026-09-11", "locker": ids["2026-09-11"],
                                                 "expected": {"monitoring_project": "mon-central"},
                                                 "config_keys": {"monitoring_project": "gcp.monitoring_project"}}
