"""backup-frequency and backup-cross-region: each day judged by the thresholds of its own day's stored configuration.

Project `thr-prod`, every instance in us-east1, backed up once a day at 03:00 UTC (the simulator's daily
success), lockers at 06:00 UTC. Three configurations, each stored by the lockers that ran with it:

  A  (lockers before Aug 20)  narrowed 24h, widened cross_region false, legacy present, accept_multi_region false
  B  (from Aug 20)            as A, but widened cross_region true
  C  (from Sep 11)            as B, but narrowed 12h, accept_multi_region true, and no classification `legacy`

The days before the first locker take its configuration (A). backup_window is 4h throughout. By hand:

- narrow-pg (narrowed, backups to us-west1): one backup a day is within 24h + 4h, so Jul 1..Sep 10 are kept
  (each with its backup); from Sep 11 the limit is 12h + 4h = 16h, and every day from Sep 11 has a moment more than 16h
  after the previous 03:00 backup (Sep 11 00:00..03:00 is 21..24h after Sep 10's): Sep 11..Sep 30 broken (Sep 30
  too: at 00:00 its last backup is 21h old, before the 06:00 clock). Its placement passes under both values of
  accept_multi_region (us-west1 is a region).
- local-pg (widened, backups to us-east1, its own region): no separate region required until Aug 19 (kept),
  required from Aug 20: Aug 20..Sep 30 are exceptions. Its declared backup bucket local-dumps (US-EAST1,
  created Jul 15 00:00, its location fixed): Jul 1..Jul 14 not applicable, Jul 15..Aug 19 kept, Aug 20..Sep 30
  broken. Its frequency is unaffected (widened stays 24h): pass.
- multi-pg (internal, backups to the US multi-region): refused while accept_multi_region is false (Jul 1..Sep 10),
  accepted from Sep 11: exceptions exactly Jul 1..Sep 10.
- dropped-pg (legacy, backups to us-west1): configuration C has no `legacy`, so its days from Sep 11 are unknown
  (Sep 30 too: its 03:00 backup had succeeded by the 06:00 clock, but no interval was in force to judge it
  against), named; Jul 1..Sep 10 are kept.

- default-pg (internal, no backup location configured: Cloud SQL's default, the US multi-region): nothing in the
  history shows an unset location on a past day, so the days whose thresholds refuse the multi-region
  (Jul 1..Sep 10) are unknown, never passed; and the runs the earlier lockers listed (14 each, from Jul 29
  on) landed in US while it was refused: a failure of that stretch.
- vault-pg (widened, ENHANCED: its backups in the Backup and DR vault `v`, us-east1, its own region, a location
  a vault never changes): judged by stretch, it fails on the stretch that required a separate region
  (Aug 20..Sep 30), named.
- vault-narrow-pg (narrowed, ENHANCED, the same plan: one Backup and DR backup a day in its 02:00-06:00 window, kept
  100 days, so every day of the quarter still has its backup): its frequency is judged like narrow-pg's, Jul 1..Sep 10
  kept, Sep 11..Sep 30 broken (Sep 11 00:00 is about 22h after Sep 10's backup, over 12h + 4h).

One quarter-end run stores one configuration (C) for the whole period, judged as before: no threshold named.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.quota import Quota
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
SQL = "//cloudsql.googleapis.com/projects/thr-prod/instances"
NARROW, LOCAL, MULTI, DROPPED = (f"{SQL}/{n}" for n in ("narrow-pg", "local-pg", "multi-pg", "dropped-pg"))
DEFAULT, VAULTED, VAULT_NARROW = f"{SQL}/default-pg", f"{SQL}/vault-pg", f"{SQL}/vault-narrow-pg"
ENHANCED = {"backup": {"enabled": True, "tier": "ENHANCED"},
            "backupdr": {"plan": "projects/thr-vault/locations/us-east1/backupPlans/daily"}}
DUMPS = "//storage.googleapis.com/thr-local-dumps"
FEW = (dt.date(2026, 8, 12), dt.date(2026, 8, 20), dt.date(2026, 9, 11), dt.date(2026, 9, 30))


def _instance(name, classification, location):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16",
            "labels": {"data-classification": classification},
            "backup": {"enabled": True, "start_time": "03:00", "location": location, "retained_backups": 14}}


SCENARIO = {
    "name": "thresholds", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "994", "display_name": "thresholds.example"},
    "projects": [{"id": "thr-prod", "number": "337",
                  "sql_instances": [_instance("narrow-pg", "narrowed", "us-west1"), _instance("local-pg", "widened", "us-east1"),
                                    _instance("multi-pg", "internal", "us"), _instance("dropped-pg", "legacy", "us-west1"),
                                    _instance("default-pg", "internal", None),
                                    {**_instance("vault-pg", "widened", None), **ENHANCED},
                                    {**_instance("vault-narrow-pg", "narrowed", None), **ENHANCED}],
                  "buckets": [{"name": "thr-local-dumps", "location": "US-EAST1", "create_time": "2026-07-15T00:00:00Z",
                               "labels": {"data-classification": "widened"}}]},
                 {"id": "thr-vault", "number": "338",
                  "backup_vaults": [{"id": "v", "location": "us-east1", "min_retention_days": 7}],
                  "backup_plans": [{"id": "daily", "location": "us-east1", "vault": "v",
                                    "rules": [{"id": "daily", "retention_days": 100}]}]}],
}


def _policy(name):
    classes = {"narrowed": {"backup_interval": "12h" if name == "C" else "24h", "retention_min_days": 7},
               "widened": {"backup_interval": "24h", "retention_min_days": 7, "cross_region": name != "A"},
               "internal": {"backup_interval": "24h", "retention_min_days": 7}}
    if name != "C":
        classes["legacy"] = {"backup_interval": "24h", "retention_min_days": 7}
    return {"country": "US", "accept_multi_region": name == "C", "backup_window": "4h", "classifications": classes}


def _configs(root):
    (root / "inventory.yaml").write_text(yaml.safe_dump({
        "reviewed": "2026-06-30", "owner": "data@thresholds.example",
        "stores": [{"resource": LOCAL, "classification": "widened", "owner": "data",
                    "backup": ["cloudsql-automated", {"backup-bucket": DUMPS}]},
                   {"resource": DUMPS, "classification": "widened", "owner": "data"}]}))
    configs = {}
    for name in "ABC":
        folder = root / f"config-{name}"
        folder.mkdir(exist_ok=True)
        (folder / "auditor.yaml").write_text(yaml.safe_dump({
            "organization": "Thresholds Ltd", "period": {"quarter": "2026-Q3"}, "inventory": str(root / "inventory.yaml"),
            "gcp": {"projects": ["thr-prod"], "credentials": "anonymous"}, "policy": _policy(name)}))
        configs[name] = load_config(folder / "auditor.yaml").model_copy(update={"github": None})
    return configs


def _config_of(day):
    return "C" if day >= dt.date(2026, 9, 11) else "B" if day >= dt.date(2026, 8, 20) else "A"


def _run(root, days):
    """One locker per day at 06:00 UTC, each with the configuration of its day (`_config_of`); merged."""
    configs = _configs(root)
    dirs, ids = [], {}
    # no Logging read quota: the lockers stand for collections days apart, made here seconds apart
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC),
                   quota=Quota(limits=[])) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            run = collect(configs[_config_of(day)].with_endpoints(sim.url), root / f"day-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    ids["first"] = ids[days[0].isoformat()]  # its configuration is in force from Jul 1 (before it, nothing else was stored)
    ids["dirs"] = dirs
    return evaluate(dirs), ids


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    """Four lockers: Aug 12 (A), Aug 20 (B), Sep 11 (C), Sep 30 (C): a few seconds."""
    return _run(tmp_path_factory.mktemp("thr-few"), list(FEW))


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """92 lockers, one a day Jul 1 .. Sep 30 (over a minute on 2 cores: `make type2`)."""
    import os

    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    return _run(tmp_path_factory.mktemp("thr-daily"), days)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("thr-single"), [dt.date(2026, 9, 30)])[0]


def _found(results, check):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}


def _states(finding, first, last):
    return {finding["details"]["days"][d] for d in days_between(first, last)}


def _frequency_narrowed(results, ids, setter):
    narrow = _found(results, "backup-frequency")[NARROW]
    assert narrow["status"] == "fail", narrow["message"]
    assert narrow["details"]["exception_days"] == days_between("2026-09-11", "2026-09-30")
    assert _states(narrow, "2026-07-01", "2026-09-10") == {"kept"}
    assert _states(narrow, "2026-09-11", "2026-09-30") == {"broken"}
    assert narrow["details"]["missed_days"] == []  # each day had its backup; too few for 12h
    assert narrow["details"]["thresholds"] == [
        {"key": "policy.classifications.narrowed.backup_interval", "value": 24.0, "from": "2026-07-01", "locker": ids["first"]},
        {"key": "policy.classifications.narrowed.backup_interval", "value": 12.0, "from": "2026-09-11", "locker": ids[setter]}]
    assert ("policy.classifications.narrowed.backup_interval was 24h until 2026-09-10, 12h from 2026-09-11 "
            f"(the configuration stored in locker {ids[setter]})") in narrow["message"]
    assert "2026-09-11..2026-09-30" in narrow["message"]
    vaulted = _found(results, "backup-frequency")[VAULT_NARROW]
    assert vaulted["status"] == "fail", vaulted["message"]
    assert vaulted["details"]["exception_days"] == days_between("2026-09-11", "2026-09-30")
    assert _states(vaulted, "2026-07-01", "2026-09-10") == {"kept"}
    assert vaulted["details"]["thresholds"] == narrow["details"]["thresholds"]
    local = _found(results, "backup-frequency")[LOCAL]
    assert local["status"] == "pass", local["message"]  # widened stays 24h: nothing to name
    assert "thresholds" not in local["details"]


def _placement(results, ids, setters):
    found = _found(results, "backup-cross-region")
    local = found[LOCAL]
    assert local["status"] == "fail", local["message"]
    assert local["details"]["exception_days"] == days_between("2026-08-20", "2026-09-30")
    assert _states(local, "2026-07-01", "2026-08-19") == {"kept"}
    assert local["details"]["unknown_days"] == []
    assert {"key": "policy.classifications.widened.cross_region", "value": True, "from": "2026-08-20",
            "locker": ids[setters["B"]]} in local["details"]["thresholds"]
    assert ("policy.classifications.widened.cross_region was false until 2026-08-19, true from 2026-08-20 "
            f"(the configuration stored in locker {ids[setters['B']]})") in local["message"]

    multi = found[MULTI]
    assert multi["status"] == "fail", multi["message"]
    assert multi["details"]["exception_days"] == days_between("2026-07-01", "2026-09-10")
    assert _states(multi, "2026-09-11", "2026-09-30") == {"kept"}
    assert ("policy.accept_multi_region was false until 2026-09-10, true from 2026-09-11 "
            f"(the configuration stored in locker {ids[setters['C']]})") in multi["message"]
    assert {"key": "policy.accept_multi_region", "value": True, "from": "2026-09-11", "locker": ids[setters["C"]]} \
        in multi["details"]["thresholds"]

    narrow = found[NARROW]
    assert narrow["status"] == "pass", narrow["message"]  # a region: either value of accept_multi_region passes it
    assert _states(narrow, "2026-07-01", "2026-09-30") == {"kept"}

    dumps = found[DUMPS]
    assert dumps["status"] == "fail", dumps["message"]
    assert _states(dumps, "2026-07-01", "2026-07-14") == {"not_applicable"}
    assert _states(dumps, "2026-07-15", "2026-08-19") == {"kept"}
    assert dumps["details"]["exception_days"] == days_between("2026-08-20", "2026-09-30")
    assert "policy.classifications.widened.cross_region" in dumps["message"]


def _dropped(results, ids, setter):
    frequency = _found(results, "backup-frequency")[DROPPED]
    assert frequency["status"] == "inconclusive", frequency["message"]
    assert frequency["details"]["unknown_days"] == days_between("2026-09-11", "2026-09-30")
    assert _states(frequency, "2026-07-01", "2026-09-10") == {"kept"}
    assert "no classification 'legacy'" in frequency["message"] and ids[setter] in frequency["message"]
    assert {"key": "policy.classifications.legacy.backup_interval", "value": None, "from": "2026-09-11",
            "locker": ids[setter]} in frequency["details"]["thresholds"]
    placement = _found(results, "backup-cross-region")[DROPPED]
    assert placement["status"] == "inconclusive", placement["message"]
    assert placement["details"]["unknown_days"] == days_between("2026-09-11", "2026-09-30")
    assert _states(placement, "2026-07-01", "2026-09-10") == {"kept"}
    assert "no classification 'legacy'" in placement["message"]


# -- four lockers (in the suite) ---------------------------------------------------------------------------

def test_a_narrowed_interval_fails_exactly_the_days_from_the_locker_that_narrowed_it(few):
    results, ids = few
    _frequency_narrowed(results, ids, "2026-09-11")


def test_cross_region_turned_on_and_multi_region_accepted_mid_quarter_judge_their_own_days(few):
    results, ids = few
    _placement(results, ids, {"B": "2026-08-20", "C": "2026-09-11"})


def test_a_configuration_without_the_classification_leaves_its_days_unknown_and_says_so(few):
    results, ids = few
    _dropped(results, ids, "2026-09-11")


def _routes_by_stretch(results):
    found = _found(results, "backup-cross-region")
    default = found[DEFAULT]
    assert default["status"] == "fail", default["message"]
    # the runs the lockers listed (14 each: from Jul 29 on, the first locker's) landed in US while it was refused
    assert "(under the thresholds in force 2026-07-01..2026-09-10): the backups are in the multi-region US" in default["message"]
    assert "accept_multi_region: false" in default["message"]
    assert default["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-10")  # nothing shows its setting
    vaulted = found[VAULTED]
    assert vaulted["status"] == "fail", vaulted["message"]
    # two stretches required a separate region (configuration B, then C, which also accepts a multi-region)
    assert "the backups of 2026-08-20..2026-09-10 (under the thresholds in force 2026-08-20..2026-09-10)" in vaulted["message"]
    assert "the backups of 2026-09-11..2026-09-30 (under the thresholds in force 2026-09-11..2026-09-30)" in vaulted["message"]
    assert "the same region as the source" in vaulted["message"]
    assert "2026-07-01..2026-08-19" not in vaulted["message"]  # no separate region was required then
    assert {t["key"] for t in vaulted["details"]["thresholds"]} == {"policy.classifications.widened.cross_region",
                                                                    "policy.accept_multi_region"}


def test_backup_and_dr_and_the_default_location_are_judged_by_stretch_never_passed_on_days_they_cannot_show(few):
    _routes_by_stretch(few[0])


# -- one quarter-end run (in the suite): one configuration, judged as before ------------------------------------

def test_one_run_judges_the_whole_period_by_its_one_configuration_and_names_no_change(single):
    frequency, placement = _found(single, "backup-frequency"), _found(single, "backup-cross-region")
    for finding in [*frequency.values(), *placement.values()]:
        assert "thresholds" not in finding["details"], finding["resource"]
        assert " was " not in finding["message"] or "until" not in finding["message"], finding["message"]
    # configuration C over the whole quarter: 12h for narrow-pg (every day short of it), multi-region accepted,
    # widened required from Jul 1, and `legacy` in no configuration at all: the default daily interval, as before
    assert frequency[NARROW]["details"]["exception_days"] == days_between("2026-07-01", "2026-09-30")
    assert "over the 16-hour limit" in frequency[NARROW]["message"]
    assert placement[MULTI]["status"] == "pass", placement[MULTI]["message"]
    assert placement[LOCAL]["status"] == "fail"
    assert placement[DUMPS]["status"] == "fail" and "days" not in placement[DUMPS]["details"]
    assert frequency[DROPPED]["status"] == "pass", frequency[DROPPED]["message"]
    assert placement[DEFAULT]["status"] == "pass", placement[DEFAULT]["message"]  # point in time, as before
    assert placement[VAULTED]["status"] == "fail", placement[VAULTED]["message"]


# -- 92 daily lockers (make type2) -------------------------------------------------------------------------------

def test_daily_lockers_narrowed_interval(daily):
    results, ids = daily
    _frequency_narrowed(results, ids, "2026-09-11")


def test_daily_lockers_cross_region_and_multi_region(daily):
    results, ids = daily
    _placement(results, ids, {"B": "2026-08-20", "C": "2026-09-11"})


def test_daily_lockers_dropped_classification(daily):
    results, ids = daily
    _dropped(results, ids, "2026-09-11")


def test_daily_lockers_routes_by_stretch(daily):
    _routes_by_stretch(daily[0])


# -- an instance deleted mid-period (its FINAL backup's snapshot: tests/test_deleted_instance.py) -------------------

def _ctx_with(*stored):
    """A context whose lockers stored these configurations: (day of the locker at 06:00 UTC, policy)."""
    from test_deleted_instance import AS_OF, PERIOD

    from auditor.checks_api import CheckContext
    from auditor.config import Config

    def config(policy):
        return Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
                                      "gcp": {"projects": ["p"], "credentials": "anonymous"}, "policy": policy})

    configs = tuple((dt.datetime.combine(day, dt.time(6), tzinfo=UTC), f"L-{day:%m%d}", config(policy)) for day, policy in stored)
    return CheckContext(config=configs[-1][2], period=PERIOD, as_of=AS_OF, configs=configs)


def _restricted(interval="24h", cross_region=True):
    return {"classifications": {"restricted": {"backup_interval": interval, "cross_region": cross_region}}}


def test_a_deleted_instance_is_judged_by_the_interval_in_force_on_each_day_it_existed():
    """crm-mysql (restricted), backed up at 03:00 (done 03:20) Jul 1..6, deleted Jul 6 12:00. The locker of Jul 5
    stored restricted at 12h (limit 16h): Jul 5 00:00 is 20h40 after Jul 4's backup, Jul 6 00:00 20h40 after
    Jul 5's: both broken; Jul 1..4 under 24h kept; Jul 7..10 after the deletion not applicable."""
    from test_deleted_instance import DB, days, facts_for

    from auditor.checks import backup_frequency

    ctx = _ctx_with((dt.date(2026, 7, 2), _restricted("24h")), (dt.date(2026, 7, 5), _restricted("12h")))
    (finding,) = [f for f in backup_frequency.evaluate(facts_for(), ctx) if f.resource == DB]
    assert finding.status == "fail", finding.message
    assert finding.details["days"] == {**days(1, 4, "kept"), **days(5, 6, "broken"), **days(7, 10, "not_applicable")}
    assert finding.details["exception_days"] == ["2026-07-05", "2026-07-06"]
    assert "12h from 2026-07-05 (the configuration stored in locker L-0705)" in finding.message
    assert "deleted on 2026-07-06 12:00 UTC" in finding.message


def test_a_deleted_instances_days_under_a_configuration_without_its_classification_are_unknown():
    """The locker of Jul 4 stored no `restricted`: Jul 4..6 (it existed) unknown, never kept; Jul 1..3 kept."""
    from test_deleted_instance import DB, days, facts_for

    from auditor.checks import backup_cross_region, backup_frequency

    other = {"classifications": {"internal": {"backup_interval": "24h"}}}
    ctx = _ctx_with((dt.date(2026, 7, 2), _restricted()), (dt.date(2026, 7, 4), other))
    facts = facts_for()
    (frequency,) = [f for f in backup_frequency.evaluate(facts, ctx) if f.resource == DB]
    assert frequency.status == "inconclusive", frequency.message
    assert frequency.details["days"] == {**days(1, 3, "kept"), **days(4, 6, "unknown"), **days(7, 10, "not_applicable")}
    assert "no classification 'restricted'" in frequency.message and "L-0704" in frequency.message
    (placement,) = [f for f in backup_cross_region.evaluate(facts, ctx) if f.resource == DB]
    assert placement.status == "inconclusive", placement.message
    assert placement.details["days"] == {**days(1, 3, "kept"), **days(4, 6, "unknown"), **days(7, 10, "not_applicable")}
    assert "no classification 'restricted'" in placement.message


def test_cross_region_switched_off_for_a_deleted_instance_keeps_its_days_and_names_the_change():
    """Backups of the deleted crm-mysql went to us-east1 (its region us-west1): a separate region either way, so
    every day it existed is kept whether or not one was required; the change is named."""
    from test_deleted_instance import DB, days, facts_for

    from auditor.checks import backup_cross_region

    ctx = _ctx_with((dt.date(2026, 7, 2), _restricted()), (dt.date(2026, 7, 4), _restricted(cross_region=False)))
    (placement,) = [f for f in backup_cross_region.evaluate(facts_for(), ctx) if f.resource == DB]
    assert placement.status == "pass", placement.message
    assert placement.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    assert "policy.classifications.restricted.cross_region was true until 2026-07-03, false from 2026-07-04" in placement.message


def test_too_long_measures_each_stretch_from_the_last_success_and_restarts_after_a_stop():
    from auditor.checks.backup_frequency import too_long

    at = (lambda day, hour: dt.datetime(2026, 7, day, hour, tzinfo=UTC))
    limit = dt.timedelta(hours=16)
    successes = [at(1, 3), at(2, 3), at(2, 15)]
    # Jul 1 03:00 -> Jul 2 03:00 is 24h: over the limit from Jul 1 19:00; Jul 2 15:00 -> the end (Jul 3 12:00) 21h
    assert too_long(successes, [], at(1, 0), at(3, 12), limit) == [(at(1, 3), at(1, 19), at(2, 3)),
                                                                     (at(2, 15), at(3, 7), at(3, 12))]
    # stopped Jul 2 16:00 .. Jul 3 10:00: the clock restarts at 10:00, so 2h to the end is within it
    assert too_long(successes, [(at(2, 16), at(3, 10))], at(1, 0), at(3, 12), limit) == [(at(1, 3), at(1, 19), at(2, 3))]


def test_a_widened_backup_window_judges_each_day_by_its_own_limit():
    """restricted at 12h throughout; policy.backup_window 4h until Jul 4 (limit 16h), 12h from the Jul 5 locker
    (limit 24h). Backups once a day at 03:20: each 24h stretch is over 16h (Jul 1..4 broken: Jul 1 from 19:20)
    and not over 24h (Jul 5 and 6 kept); Jul 7..10 after the deletion not applicable."""
    from test_deleted_instance import DB, days, facts_for

    from auditor.checks import backup_frequency

    narrow, wide = ({**_restricted("12h"), "backup_window": window} for window in ("4h", "12h"))
    ctx = _ctx_with((dt.date(2026, 7, 2), narrow), (dt.date(2026, 7, 5), wide))
    (finding,) = [f for f in backup_frequency.evaluate(facts_for(), ctx) if f.resource == DB]
    assert finding.status == "fail", finding.message
    assert finding.details["days"] == {**days(1, 4, "broken"), **days(5, 6, "kept"), **days(7, 10, "not_applicable")}
    assert "policy.backup_window was 4h until 2026-07-04, 12h from 2026-07-05 (the configuration stored in locker L-0705)" \
        in finding.message
    assert finding.details["thresholds"] == [
        {"key": "policy.backup_window", "value": 4.0, "from": "2026-07-01", "locker": "L-0702"},
        {"key": "policy.backup_window", "value": 12.0, "from": "2026-07-05", "locker": "L-0705"}]


def test_the_control_calendar_draws_broken_days_as_exceptions_not_as_no_gaps(few):
    """The per-control calendar (reports.charts) on narrow-pg's frequency finding: its 20 broken days (Sep 11..30)
    are counted and named, not drawn grey beside "no gaps"."""
    from auditor.reports.charts import coverage_calendar

    narrow = _found(few[0], "backup-frequency")[NARROW]
    svg = str(coverage_calendar([narrow]))
    assert ">20 exception<" in svg and "no gaps" not in svg
    assert "2026-09-11 to 2026-09-30: outside the policy" in svg


def test_no_fault_in_the_lockers_makes_a_day_or_a_finding_more_favourable(few, tmp_path):
    """Each call of the lockers (by API, method and scope) failed before its first page, or answered with a body that
    is not JSON, in all four lockers at once (one locker's fault alone is made up by the others' reads): judged
    again, no frequency or placement day becomes kept (or succeeded) that was not, and no finding passes that did
    not. The suite runs every fourth call; `make type2` (TYPE2_DAILY=full) all of them."""
    import os

    from test_fault_differential import STORED_INPUTS, Variant, materialise, rewrite

    from auditor.evidence.locker import Locker

    base, ids = few
    manifests = [Locker(d).manifest for d in ids["dirs"]]
    # the tool's own stored inputs (the data map) stop re-performance when unreadable (exit 2): nothing to judge
    keys = sorted({(c["api"], c["method"], c["scope"]) for m in manifests for c in m["calls"]
                   if c["outcome"] == "ok" and c["items"] and c["api"] not in STORED_INPUTS})
    assert len(keys) >= 8
    chosen = keys if os.environ.get("TYPE2_DAILY") == "full" else keys[::4]
    checks = ("backup-frequency", "backup-cross-region")
    good = ("kept", "succeeded")

    def judged(results):
        return {f["id"]: f for c in results["controls"] if c["id"] in checks for f in c["findings"]}

    before = judged(base)
    changed = 0
    for number, key in enumerate(chosen):
        kind = ("before-first-page", "not-an-object")[number % 2]
        folders = []
        for index, (source, manifest) in enumerate(zip(ids["dirs"], manifests)):
            variants = [Variant(kind, c["id"], f"{c['api']} {c['method']}", c["scope"]) for c in manifest["calls"]
                        if (c["api"], c["method"], c["scope"]) == key and c["outcome"] == "ok" and c["items"]]
            faulted, bodies, _ = rewrite(manifest, variants)
            folders.append(materialise(source, faulted, bodies, tmp_path / f"v{number}-{index}" / "evidence"))
        after = judged(evaluate(folders))
        for fid, finding in after.items():
            was = before.get(fid)
            assert finding["status"] != "pass" or (was and was["status"] == "pass"), (kind, key, fid)
            for day, state in ((finding["details"].get("days") or {}).items() if was else ()):
                held = (was["details"].get("days") or {}).get(day)
                assert state not in good or held in (None, *good), (kind, key, fid, day, held, state)
                changed += state != held
    assert changed  # the faults did reach the day states
