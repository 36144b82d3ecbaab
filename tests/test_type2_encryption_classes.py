"""backup-encryption-parity under the classification in force each day (branch enc3, issue 13).

Policy: `internal` allows any encryption, `confidential` requires CMEK. Every instance below uses Google-managed
keys (no diskEncryptionConfiguration: an instance's key is chosen at creation, so the newest read says what it
was all along), so a day is kept under `internal` and broken under `confidential`. A day whose classification
changed during it (a label update at 09:00) held both classes: kept under one, broken under the other, so
unknown (checks.class_days.judge). The single run is collected at Sep 30 06:00 UTC (Sep 30 is judged up to the
clock); its Admin Activity query covers the quarter; Cloud Asset Inventory keeps 35 days, so its history
reaches back to about Aug 26 and shows the labels held then (a window cut at the query's start is a read).

Single run, by hand:
- `relabel-gm`: internal, relabelled confidential Sep 10 09:00 by an update that logged its body (inside the
  asset history's reach: its window before the change reads internal, carried back to Jul 1 over the
  complete log). Jul 1 .. Sep 9 kept, Sep 10 unknown (both classes), Sep 11 .. Sep 30 broken (20 days): fail.
- `declassified-gm`: confidential, relabelled internal Sep 10 09:00 (body logged). The newest class allows
  Google-managed keys, so judging every day by it would pass; under the class in force each day Jul 1 .. Sep 9
  (71 days) are broken, Sep 10 unknown, Sep 11 .. Sep 30 kept: fail (the fail-closed direction).
- `vaulted-gm`: like relabel-gm on the Backup and DR route (backupTier ENHANCED, a vault without a
  customer-managed key): its Backup and DR backups (one a day, kept 100 days) report no key version. The same
  days as relabel-gm.
- `gone-gm`: like relabel-gm, deleted Sep 20 12:00 (its FINAL backup's snapshot is its last read). Gone from
  the asset search, it has no asset history, so the first evidence of its labels is the Sep 10 09:00 update,
  which says what it set and not what was there: Jul 1 .. Sep 10 unknown (Sep 10 before 09:00 too), Sep 11 ..
  Sep 20 broken (Sep 20 up to the deletion), Sep 21 .. Sep 30 not applicable: fail.
- `unlogged-gm`: internal, labelled confidential Aug 12 09:00 .. Aug 19 09:00 by two updates logged without
  their body; the asset history does not reach them (its first window starts Aug 19, cut at its query's start:
  a read of internal). The reads agree (internal) on either side of updates whose new labels nobody logged, so
  what the labels were before Aug 20 is unknown: Jul 1 .. Aug 19 unknown (never kept), Aug 20 .. Sep 30 kept
  (the read carried back to the Aug 19 update over the complete log): inconclusive, the reason named.
- `steady-gm`: internal all quarter, no change: every day kept, pass, and the finding says nothing of
  classifications (as before this change).
- `bare-gm`: no classification label, no data map, no policy default: no classification on any day, so the
  finding of old: inconclusive (whether its Google-managed data needed CMEK cannot be judged), every day unknown.

Three lockers (Aug 12, Sep 11, Sep 30 at 06:00), the data map declaring `mapped-gm` internal in the first and
confidential from the second: Jul 1 .. Sep 10 internal (the days before the first locker take its map; the days
after a locker the newest stored before them), Sep 11 .. Sep 30 confidential: Jul 1 .. Sep 10 kept, Sep 11 ..
Sep 30 broken (20 days).
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from testkit import days_between, scenario_setup

from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
P = "//cloudsql.googleapis.com/projects/cls-prod/instances/"
CONF, INTERNAL = {"data-classification": "confidential"}, {"data-classification": "internal"}
PLAN = "projects/cls-prod/locations/us-west1/backupPlans/sql-daily"


def _instance(name, labels, spells=(), **more):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": labels,
            "create_time": "2025-02-01T00:00:00Z", "label_changes": list(spells),
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7}, **more}


def _spell(start, labels, end=None, logged=True):
    return {"from": start, **({"to": end} if end else {}), "labels": labels, "body_logged": logged}


SCENARIO = {
    "name": "encryption-classes", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "996", "display_name": "classes.example"},
    "projects": [{
        "id": "cls-prod", "number": "339",
        "backup_vaults": [{"id": "plain-vault", "location": "us-west1", "min_retention_days": 30}],
        "backup_plans": [{"id": "sql-daily", "location": "us-west1", "vault": "plain-vault", "log_retention_days": 7,
                          "rules": [{"id": "daily", "recurrence": "DAILY", "window_start_hour": 2, "window_end_hour": 6,
                                     "retention_days": 100}]}],
        "sql_instances": [
            _instance("relabel-gm", INTERNAL, [_spell("2026-09-10T09:00:00Z", CONF)]),
            _instance("declassified-gm", CONF, [_spell("2026-09-10T09:00:00Z", INTERNAL)]),
            {**_instance("vaulted-gm", INTERNAL, [_spell("2026-09-10T09:00:00Z", CONF)]),
             "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7,
                        "tier": "ENHANCED"},
             "backupdr": {"plan": PLAN}},
            _instance("gone-gm", INTERNAL, [_spell("2026-09-10T09:00:00Z", CONF)], delete_time="2026-09-20T12:00:00Z",
                      final_backup_days=90),
            _instance("unlogged-gm", INTERNAL, [_spell("2026-08-12T09:00:00Z", CONF, "2026-08-19T09:00:00Z", logged=False)]),
            _instance("steady-gm", INTERNAL),
            _instance("bare-gm", {"team": "x"}),
            _instance("mapped-gm", INTERNAL),
        ],
    }],
}
POLICY = {"country": "US", "classifications": {
    "internal": {"backup_interval": "24h", "retention_min_days": 7, "encryption": "any"},
    "confidential": {"backup_interval": "24h", "retention_min_days": 7, "encryption": "cmek"}}}
CONFIG = {"organization": "Classes Ltd", "period": {"quarter": "2026-Q3"},
          "gcp": {"projects": ["cls-prod"], "credentials": "anonymous"}, "policy": POLICY}


def _encryption(results):
    (control,) = [c for c in results["controls"] if c["id"] == "backup-encryption-parity"]
    return {f["resource"]: f for f in control["findings"]}


def _days(finding, first, last):
    return {finding["details"]["days"][d] for d in days_between(first, last)}


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    root = tmp_path_factory.mktemp("enc-classes-single")
    folder, scenario, config = scenario_setup(root, CONFIG, SCENARIO)
    with Simulator(scenario, port=0, now=dt.datetime(2026, 9, 30, 6, tzinfo=UTC)) as sim:
        run = collect(config.with_endpoints(sim.url), folder / "single" / "evidence")
    return _encryption(evaluate([run.evidence_dir]))


def _assert_relabelled(found, last_broken="2026-09-30"):
    assert found["status"] == "fail", found["message"]
    assert _days(found, "2026-07-01", "2026-09-09") == {"kept"}
    assert found["details"]["days"]["2026-09-10"] == "unknown"  # internal then confidential: kept, then broken
    assert _days(found, "2026-09-11", last_broken) == {"broken"}
    assert found["expected"]["classification"] == "confidential"  # the newest class


def test_a_logged_relabel_judges_each_side_under_its_own_class(single):
    found = single[P + "relabel-gm"]
    _assert_relabelled(found)
    assert found["details"]["exception_days"] == days_between("2026-09-11", "2026-09-30")
    assert found["details"]["unknown_days"] == ["2026-09-10"]
    spans = [(c["from"], c["to"], c["classifications"]) for c in found["details"]["classifications"]]
    assert spans == [("2026-07-01", "2026-09-09", ["internal"]), ("2026-09-10", "2026-09-10", ["internal", "confidential"]),
                     ("2026-09-11", "2026-09-30", ["confidential"])]
    assert [(t["from"], t["to"], t["classification"], t["expected"]["encryption"], t["config_keys"]["encryption"])
            for t in found["details"]["thresholds"]] == [
        ("2026-07-01", "2026-09-09", "internal", "any", "policy.classifications.internal.encryption"),
        ("2026-09-10", "2026-09-10", "internal", "any", "policy.classifications.internal.encryption"),
        ("2026-09-10", "2026-09-10", "confidential", "cmek", "policy.classifications.confidential.encryption"),
        ("2026-09-11", "2026-09-30", "confidential", "cmek", "policy.classifications.confidential.encryption")]
    message = found["message"]
    assert "internal then confidential on 2026-09-10 (it changed that day)" in message
    assert "any (policy.classifications.internal.encryption) on 2026-07-01 .. 2026-09-09" in message
    assert "cmek (policy.classifications.confidential.encryption) on 2026-09-11 .. 2026-09-30" in message
    assert "required on 20 days, 2026-09-11..2026-09-30" in message


def test_a_day_kept_under_the_newest_class_is_broken_under_the_class_in_force(single):
    found = single[P + "declassified-gm"]
    assert found["status"] == "fail", found["message"]  # the newest class (internal) would have passed it
    assert found["expected"]["classification"] == "internal"
    assert found["details"]["exception_days"] == days_between("2026-07-01", "2026-09-09")
    assert found["details"]["days"]["2026-09-10"] == "unknown"
    assert _days(found, "2026-09-11", "2026-09-30") == {"kept"}
    assert "required on 71 days, 2026-07-01..2026-09-09" in found["message"]


def test_the_backup_and_dr_route_and_a_deleted_instance_follow_the_class_each_day(single):
    _assert_relabelled(single[P + "vaulted-gm"])
    gone = single[P + "gone-gm"]
    assert gone["status"] == "fail", gone["message"]
    assert gone["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-10")
    assert gone["details"]["exception_days"] == days_between("2026-09-11", "2026-09-20")
    assert _days(gone, "2026-09-21", "2026-09-30") == {"not_applicable"}
    assert "no read before it shows its labels (an update says what it set, not what it replaced)" in gone["message"]


def test_a_relabel_logged_without_its_body_leaves_the_days_unknown_and_says_why(single):
    found = single[P + "unlogged-gm"]
    assert found["status"] == "inconclusive", found["message"]  # never pass: the lockers show Aug 12..19 broken
    assert found["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-19")
    assert _days(found, "2026-08-20", "2026-09-30") == {"kept"}
    assert "an update logged without its request body changed its labels" in found["message"]
    unknown = [(c["from"], c["to"]) for c in found["details"]["classifications"] if c["basis"] == "unknown"]
    assert unknown[0][0] == "2026-07-01" and unknown[-1][1] == "2026-08-19"


def test_a_class_that_never_changed_gives_the_finding_of_old(single):
    found = single[P + "steady-gm"]
    assert found["status"] == "pass", found["message"]
    assert set(found["details"]["days"].values()) == {"kept"}
    assert "classifications" not in found["details"] and "thresholds" not in found["details"]
    assert "classification was" not in found["message"]


def _map(classification):
    return {"reviewed": "2026-06-01", "stores": [{"resource": P + "mapped-gm", "classification": classification,
                                                  "owner": "team", "backup": "cloudsql-automated"}]}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    root = tmp_path_factory.mktemp("enc-classes-map")
    (root / "map").mkdir()
    (root / "map" / "inventory.yaml").write_text(yaml.safe_dump(_map("internal")))
    scenario = {**SCENARIO, "projects": [{**SCENARIO["projects"][0],
                                          "sql_instances": [_instance("mapped-gm", INTERNAL)]}]}
    folder, scenario, config = scenario_setup(root, {**CONFIG, "inventory": "map/inventory.yaml"}, scenario)
    dirs = []
    with Simulator(scenario, port=0, now=dt.datetime(2026, 8, 12, 6, tzinfo=UTC)) as sim:
        for day in (dt.date(2026, 8, 12), dt.date(2026, 9, 11), dt.date(2026, 9, 30)):
            if day >= dt.date(2026, 9, 11):
                (root / "map" / "inventory.yaml").write_text(yaml.safe_dump(_map("confidential")))
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            dirs.append(collect(config.with_endpoints(sim.url), folder / f"daily-{day}" / "evidence").evidence_dir)
    return _encryption(evaluate(dirs))


def test_the_declared_class_follows_the_data_map_each_locker_stored(mapped):
    found = mapped[P + "mapped-gm"]
    assert found["status"] == "fail", found["message"]
    assert _days(found, "2026-07-01", "2026-09-10") == {"kept"}
    assert found["details"]["exception_days"] == days_between("2026-09-11", "2026-09-30")
    assert found["details"]["unknown_days"] == []
    assert [(c["from"], c["to"], c["classification"], c["basis"]) for c in found["details"]["classifications"]] == [
        ("2026-07-01", "2026-09-10", "internal", "declared"), ("2026-09-11", "2026-09-30", "confidential", "declared")]


def test_a_store_with_no_classification_on_any_day_keeps_its_inconclusive_path(single):
    found = single[P + "bare-gm"]
    assert found["status"] == "inconclusive", found["message"]
    assert "its data has no classification" in found["message"]
    assert set(found["details"]["days"].values()) == {"unknown"}
    assert "classifications" not in found["details"]


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """The `make type2` form: a locker a day at 06:00 (testkit.daily_lockers), the same scenario and policy."""
    from testkit import daily_lockers

    root = tmp_path_factory.mktemp("enc-classes-daily")
    return _encryption(daily_lockers(scenario_setup(root, CONFIG, SCENARIO)))


def test_daily_lockers_show_the_label_spells_on_their_days(daily):
    """Each day's own 06:00 read shows its label. relabel-gm: the same days as the single run (Sep 10's locker reads
    internal, the 09:00 update confidential: both). unlogged-gm: the Aug 12 and Aug 19 updates carry no body, but
    each is joined to the next locker's read by the complete log: Aug 12 internal then confidential (unknown), Aug 13
    .. Aug 18 confidential (broken), Aug 19 confidential then internal (unknown), Jul 1 .. Aug 11 and Aug 20 .. Sep 30
    kept. gone-gm: its reads from Jul 1 show internal: Jul 1 .. Sep 9 kept, Sep 10 unknown, Sep 11 .. Sep 20 broken."""
    _assert_relabelled(daily[P + "relabel-gm"])
    unlogged = daily[P + "unlogged-gm"]
    assert unlogged["status"] == "fail", unlogged["message"]
    assert unlogged["details"]["exception_days"] == days_between("2026-08-13", "2026-08-18")
    assert unlogged["details"]["unknown_days"] == ["2026-08-12", "2026-08-19"]
    gone = daily[P + "gone-gm"]
    assert _days(gone, "2026-07-01", "2026-09-09") == {"kept"}
    assert gone["details"]["exception_days"] == days_between("2026-09-11", "2026-09-20")


def test_a_single_run_is_never_more_favourable_than_the_lockers(daily, single):
    for resource, found in single.items():
        if resource not in daily:
            continue
        assert not (found["status"] == "pass" and daily[resource]["status"] != "pass"), resource
        for day, state in daily[resource]["details"].get("days", {}).items():
            if state == "broken":
                assert found["details"]["days"].get(day) in ("broken", "unknown"), (resource, day)
