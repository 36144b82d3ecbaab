"""backup-retention under the classification in force each day (ret3), against the simulator.

The policy: internal keeps at least 7 days (at most 90), confidential at least 14, restricted at least 30; a
daily backup interval, so a retained count of N is N days. The period is 2026 Q3; the audit log is read from
Jun 30 00:00 to each read, so it covers the whole quarter. Every expected day is written by hand from the times below.

- `relabel-pg` keeps 10 backups and is labelled confidential from Jun 30 01:00 to Aug 12 09:00, internal since (each
  relabel an Admin Activity update that logged its body). Under its newest class (internal: 10 >= 7) every day
  would be kept; under the class in force each day Jul 1 .. Aug 11 are broken (10 < 14), Aug 12 held both
  (broken under confidential, kept under internal: unknown), Aug 13 .. Sep 30 kept.
- `unlogged-pg` keeps 10 backups and is labelled confidential from Jun 30 01:00, restricted from Jul 12 09:00, internal
  from Jul 19 09:00, each relabel logged WITHOUT its body. Read by lockers on Jul 1, Aug 30 and Sep 30 (06:00); the
  asset history each locker reads reaches back 35 days, so none shows Jul 12 .. Jul 19.
- `early-pg` is relabelled as relabel-pg is, but its first relabel is on Jun 26, before the audit log read.
- `final-pg` (archival) keeps a 7-day final backup (finalBackupConfig); archival's final_backup_days is 14 in the
  configurations stored from Aug 30 on, and not set before.
- `map-pg` keeps 20 backups; the data map declares it restricted in the Jul 1 locker's map and confidential in the
  Aug 30 and Sep 30 lockers' maps, with its backup bucket `rcd-map-dumps` (declared internal itself; a locked
  20-day retention policy, versioning on).
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
SQL = "//cloudsql.googleapis.com/projects/rcd-prod/instances/"
RELABEL, UNLOGGED, MAPPED, EARLY = SQL + "relabel-pg", SQL + "unlogged-pg", SQL + "map-pg", SQL + "early-pg"
FINAL = SQL + "final-pg"
DUMPS = "//storage.googleapis.com/rcd-map-dumps"
LOCKERS = (dt.date(2026, 7, 1), dt.date(2026, 8, 30), dt.date(2026, 9, 30))


def _label(value):
    return {"data-classification": value}


def _instance(name, retained, labels, spells=()):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": _label(labels),
            "label_changes": list(spells),
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": retained}}


SCENARIO = {
    "name": "retention-classes", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "997", "display_name": "classes.example"},
    "projects": [{"id": "rcd-prod", "number": "335", "sql_instances": [
        _instance("relabel-pg", 10, "internal", [{"from": "2026-06-30T01:00:00Z", "to": "2026-08-12T09:00:00Z",
                                                 "labels": _label("confidential"), "body_logged": True}]),
        _instance("unlogged-pg", 10, "internal", [
            {"from": "2026-06-30T01:00:00Z", "to": "2026-07-12T09:00:00Z", "labels": _label("confidential")},
            {"from": "2026-07-12T09:00:00Z", "to": "2026-07-19T09:00:00Z", "labels": _label("restricted")}]),
        _instance("map-pg", 20, "internal"),
        _instance("early-pg", 10, "internal", [{"from": "2026-06-26T00:00:00Z", "to": "2026-08-12T09:00:00Z",
                                               "labels": _label("confidential"), "body_logged": True}]),
        {**_instance("final-pg", 10, "archival"), "final_backup_days": 7}],
        "buckets": [{"name": "rcd-map-dumps", "location": "US-WEST1", "retention_days": 20, "retention_locked": True,
                     "versioning": True}]}],
}
POLICY = {"country": "US", "classifications": {
    "internal": {"backup_interval": "24h", "retention_min_days": 7, "retention_max_days": 90},
    "confidential": {"backup_interval": "24h", "retention_min_days": 14},
    "restricted": {"backup_interval": "24h", "retention_min_days": 30}}}


def _policy(declared):
    """ret3 (part 2): archival sets final_backup_days 14 only in the configurations stored from Aug 30 on."""
    archival = {"backup_interval": "24h", "retention_min_days": 7}
    if declared == "confidential":
        archival["final_backup_days"] = 14
    return {**POLICY, "classifications": {**POLICY["classifications"], "archival": archival}}


def _config(root, declared):
    """The configuration of one locker, with its own data map (map-pg declared `declared`) and policy (`_policy`)."""
    folder = root / f"config-{declared}"
    folder.mkdir(exist_ok=True)
    (folder / "inventory.yaml").write_text(yaml.safe_dump({
        "reviewed": "2026-06-30", "owner": "data@classes.example",
        "stores": [{"resource": MAPPED, "classification": declared, "owner": "data",
                    "backup": ["cloudsql-automated", {"backup-bucket": DUMPS}]},
                   {"resource": DUMPS, "classification": "internal", "owner": "data"}]}))
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Classes Ltd", "period": {"quarter": "2026-Q3"}, "inventory": str(folder / "inventory.yaml"),
        "gcp": {"projects": ["rcd-prod"], "credentials": "anonymous"}, "policy": _policy(declared)}))
    return load_config(folder / "auditor.yaml").model_copy(update={"github": None})


def _collect(root, days):
    dirs = []
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = _config(root, "restricted" if day < dt.date(2026, 8, 30) else "confidential")
            dirs.append(collect(config.with_endpoints(sim.url), root / f"day-{day}" / "evidence").evidence_dir)
    return dirs


def _judged(dirs):
    (control,) = [c for c in evaluate(dirs)["controls"] if c["id"] == "backup-retention"]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The three lockers (the last, at the evidence date, is also the single quarter-end run)."""
    return _collect(tmp_path_factory.mktemp("rcd-lockers"), list(LOCKERS))


@pytest.fixture(scope="module")
def single(collected):
    return _judged(collected[-1:])


@pytest.fixture(scope="module")
def lockers(collected):
    return _judged(collected)


def _days(finding, state):
    return sorted(d for d, s in finding["details"]["days"].items() if s == state)


def _judged_like_relabel(finding):
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-07-01", "2026-08-11")
    assert finding["details"]["unknown_days"] == ["2026-08-12"]
    assert _days(finding, "kept") == days_between("2026-08-13", "2026-09-30")
    assert finding["expected"]["classification"] == "internal"  # the newest class, as before
    assert "confidential on 2026-07-01 .. 2026-08-11" in finding["message"]
    assert "confidential then internal on 2026-08-12" in finding["message"]
    spans = [(c["from"], c["to"], c["classifications"]) for c in finding["details"]["classifications"]]
    assert spans == [("2026-07-01", "2026-08-11", ["confidential"]), ("2026-08-12", "2026-08-12", ["confidential", "internal"]),
                     ("2026-08-13", "2026-09-30", ["internal"])]


def test_a_label_changed_with_its_body_logged_judges_each_side_under_its_own_class_from_one_run(single):
    """The single quarter-end run: the relabels' bodies are in the log, so the days are those of the docstring; the
    days kept under the newest class (internal) but broken under the class in force (confidential) are broken."""
    _judged_like_relabel(single[RELABEL])


def test_the_same_days_from_three_lockers(lockers):
    _judged_like_relabel(lockers[RELABEL])


def test_a_label_change_logged_without_its_body_leaves_its_days_unknown_and_names_why(lockers):
    """Jul 1 .. Jul 11: confidential (the Jul 1 read, carried to the Jul 12 update by the complete log): 10 < 14,
    broken. Jul 12 .. Jul 18: the labels are not known (updates without bodies) and the labels known around them
    disagree (confidential on Jul 1, internal from Jul 19): the class is unknown, so the days are unknown, never
    judged by the newest class. Jul 19: internal from 09:00 (the update is joined to the next read by the
    complete log), but its hours before are of unknown class and retained count: unknown.
    Jul 20 .. Sep 30: internal, kept."""
    finding = lockers[UNLOGGED]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-07-01", "2026-07-11")
    assert finding["details"]["unknown_days"] == days_between("2026-07-12", "2026-07-19")
    assert _days(finding, "kept") == days_between("2026-07-20", "2026-09-30")
    assert "its classification is unknown on 2026-07-12..2026-07-19" in finding["message"]
    assert "an update logged without its request body changed its labels" in finding["message"]


def test_a_declared_class_that_changes_between_lockers_judges_each_locker_s_days_by_its_map(lockers):
    """map-pg: restricted in the Jul 1 locker's map (and so Jul 1 .. Aug 29: the newest map stored before them),
    confidential from the Aug 30 locker's: 20 < 30 broken Jul 1 .. Aug 29, 20 >= 14 kept Aug 30 .. Sep 30. Its bucket
    takes its source's class each day (its own declared internal would pass every day): the same days."""
    finding = lockers[MAPPED]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-07-01", "2026-08-29")
    assert finding["details"]["unknown_days"] == []
    assert "declared in the data map in force" in finding["message"]
    bucket = lockers[DUMPS]
    assert bucket["status"] == "fail", bucket["message"]
    assert bucket["details"]["exception_days"] == days_between("2026-07-01", "2026-08-29")
    assert _days(bucket, "kept") == days_between("2026-08-30", "2026-09-30")
    assert "restricted on 2026-07-01 .. 2026-08-29" in bucket["message"]


def test_one_run_where_nothing_changed_names_no_class(single):
    """The single run stored one map (confidential): map-pg is confidential every day, kept; no class is named."""
    finding = single[MAPPED]
    assert finding["status"] == "pass", finding["message"]
    assert "classifications" not in finding["details"]
    assert "Its classification was" not in finding["message"]


def test_a_label_an_update_set_is_never_carried_back_before_it(single):
    """early-pg from the single run: the first label known is what the Aug 12 09:00 update set (its Jun 26 relabel
    is before the log read); an update says what it set, not what was there before, so Jul 1 .. Aug 12 (that day's
    hours before 09:00 too) have no known class: unknown, although internal (the newest class) would keep them.
    Aug 13 .. Sep 30: internal, kept."""
    finding = single[EARLY]
    assert finding["status"] == "inconclusive", finding["message"]
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-12")
    assert _days(finding, "kept") == days_between("2026-08-13", "2026-09-30")
    assert "its classification is unknown on 2026-07-01..2026-08-12" in finding["message"]
    assert "not what it replaced" in finding["message"]


def test_a_live_instances_final_backup_is_judged_each_day_against_the_final_backup_days_in_force(lockers, single):
    """final-pg's reads show a 7-day final backup on every locker. Jul 1 .. Aug 29 are judged under the Jul 1
    locker's configuration (no final_backup_days: kept); Aug 30 .. Sep 30 under the Aug 30 locker's (14: 7 < 14,
    broken). From the single run (its one configuration sets 14, and the log carries the read back over the
    quarter): every day broken."""
    finding = lockers[FINAL]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-08-30", "2026-09-30")
    assert _days(finding, "kept") == days_between("2026-07-01", "2026-08-29")
    assert "policy.classifications.archival.final_backup_days was absent until 2026-08-29, 14 days from 2026-08-30" \
        in finding["message"]
    one = single[FINAL]
    assert one["status"] == "fail"
    assert one["details"]["exception_days"] == days_between("2026-07-01", "2026-09-30")
    assert "final backup would be kept 7 days after deletion, below the 14-day rule" in one["message"]


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """92 lockers, one a day Jul 1 .. Sep 30 at 06:00, each with its day's map and policy (`make type2`)."""
    import os

    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    return _judged(_collect(tmp_path_factory.mktemp("rcd-daily"),
                            [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]))


def test_daily_lockers_judge_every_store_under_its_class_of_each_day(daily):
    """From 92 lockers. relabel-pg and early-pg (each day's read shows the label): as relabel-pg from the single run.
    unlogged-pg: every label is read the next morning, so Jul 1 .. Jul 11 confidential (broken), Jul 12 confidential
    then restricted (broken under both), Jul 13 .. Jul 18 restricted (broken), Jul 19 restricted then internal (broken
    under one, kept under the other: unknown), Jul 20 .. Sep 30 internal (kept). map-pg and its bucket: broken
    Jul 1 .. Aug 29 (restricted), kept from Aug 30. final-pg: kept Jul 1 .. Aug 29, broken Aug 30 .. Sep 30."""
    _judged_like_relabel(daily[RELABEL])
    _judged_like_relabel(daily[EARLY])
    unlogged = daily[UNLOGGED]
    assert unlogged["details"]["exception_days"] == days_between("2026-07-01", "2026-07-18")
    assert unlogged["details"]["unknown_days"] == ["2026-07-19"]
    assert _days(unlogged, "kept") == days_between("2026-07-20", "2026-09-30")
    for resource in (MAPPED, DUMPS):
        assert daily[resource]["details"]["exception_days"] == days_between("2026-07-01", "2026-08-29"), resource
        assert _days(daily[resource], "kept") == days_between("2026-08-30", "2026-09-30"), resource
    assert daily[FINAL]["details"]["exception_days"] == days_between("2026-08-30", "2026-09-30")
    assert _days(daily[FINAL], "kept") == days_between("2026-07-01", "2026-08-29")
