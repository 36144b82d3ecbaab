"""restore-testing judged under the classification in force each day (checks.class_days), not the newest one.

The policy: restricted data restore-tested every 90 days, confidential every 180, internal sets no interval.
Period 2026 Q3 (UTC). One quarter-end run against the simulator (clock Sep 30 06:00); the Admin Activity log
is read from Jun 30 00:00 (the period's start less a day), so every label update below is in it. Each store's
own labels are the ones the Sep 30 read shows; a label spell [from, to) is set and restored by
`cloudsql.instances.update` entries of `settings.userLabels`. Restores are RESTORE_VOLUME operations at 10:00.
By hand (day counts from the restore's day):

- rising-pg: internal from Jun 30 06:00 (a logged update with its body) until Aug 12 09:00, restricted from
  then (the update back, logged with its body; the Sep 30 read shows restricted). Restored May 1. Jul 1 .. Aug 11
  internal: no interval, not applicable. Aug 12 held internal then restricted: internal required nothing, so the
  day is judged under restricted, and so are Aug 13 .. Sep 30: from Aug 12 the days since the May 1 test count
  (103 on Aug 12, over 90), so Aug 12 .. Sep 30 are exceptions. A fail, not "not applicable" for its first six
  weeks. (Under the newest class alone, as before, Jul 1 .. Jul 30 would have been kept and Jul 31 .. Sep 30
  broken.)
- rising-ok-pg: the same labels; restored May 1 and Aug 1 (Aug 1 + 90 = Oct 30): Jul 1 .. Aug 11 not applicable,
  Aug 12 .. Sep 30 kept (11 days since the Aug 1 test on Aug 12): a pass, not "not applicable" overall.
- easing-pg: restricted from Jun 30 06:00 until Aug 12 09:00, confidential from then (both logged with bodies).
  Restored Apr 1 only (91 days before Jul 1, 180 before Sep 28). Jul 1 .. Aug 11 restricted: over 90 days,
  broken, although the newest class (confidential, 180) would keep them: the fail-closed direction. Aug 12
  held both: broken under restricted, kept under confidential: unknown. Aug 13 .. Sep 28 kept; Sep 29 and
  Sep 30 (181 and 182 days) broken.
- hidden-pg: restricted (the Sep 30 read), relabelled Aug 12 09:00 and back Aug 19 09:00 by updates logged
  WITHOUT their body. Restored Jul 20 (covers to Oct 18 under 90). The read holds back to the Aug 19 09:00 update
  only, so Aug 20 .. Sep 30 are restricted, kept. Before it nothing shows its label: the only read is after two
  updates whose new labels are unknown, so Jul 1 .. Aug 18, and Aug 19 before 09:00, are of unknown class: Jul 1
  .. Aug 19 unknown (never judged by the Sep 30 read's class), the reason named. Inconclusive.
- vault-pg (ENHANCED: its backups in a Backup and DR vault): rising-pg's labels; never restored but by Backup and
  DR, from its vault's backup on Aug 20 (the vault project's operations, verb restore). Jul 1 .. Aug 11 not
  applicable; Aug 12 .. Aug 19 exceptions (no restore test at all); Aug 20 .. Sep 30 kept.
- gone-pg: rising-pg's labels, deleted Sep 10 12:00 (a FINAL backup kept 90 days: the read that shows it); cloned
  to a point in time (Aug 19 23:00) on Aug 20, which the Admin Activity log shows. Its operations cannot be listed
  after its deletion, so a day no known test covers is unknown, not broken. Jul 1 .. Aug 11 not applicable (internal
  required no test, unread or not); Aug 12 .. Aug 19 unknown; Aug 20 .. Sep 10 kept; Sep 11 .. Sep 30 not applicable
  (it no longer existed). Inconclusive.
- steady-pg: restricted all quarter, no label change; restored Apr 25 (covers to Jul 24) and Jul 20: judged as
  before (kept every day), no classification words, no `details.classifications`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from testkit import daily_lockers, days_between, scenario_setup

from auditor.checks import restore_testing
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.controls import SqlOperation
from auditor.facts.model import SqlInstance, sql_resource
from auditor.facts.stores import MapVersion
from auditor.inventory import parse_inventory
from auditor.period import Period
from auditor.runner import collect, evaluate
from auditor.sampling import population
from auditor.simulator import Simulator

UTC = dt.timezone.utc
P = "//cloudsql.googleapis.com/projects/rcl-prod/instances/"
RISING, RISING_OK, EASING, HIDDEN, STEADY, VAULT, GONE = (P + n for n in (
    "rising-pg", "rising-ok-pg", "easing-pg", "hidden-pg", "steady-pg", "vault-pg", "gone-pg"))
KEY = "policy.classifications.{}.restore_test_interval"


def _label(name):
    return {"data-classification": name}


def _instance(name, own, restores, spells=()):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": _label(own),
            "create_time": "2025-02-01T00:00:00Z", "label_changes": list(spells),
            "operations": [{"type": "RESTORE_VOLUME", "time": f"{day}T10:00:00Z", "backup_id": f"{n}"}
                           for n, day in enumerate(restores, start=1)],
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 30,
                       "pitr": True}}


def _until_aug12(name, logged=True):
    return {"from": "2026-06-30T06:00:00Z", "to": "2026-08-12T09:00:00Z", "labels": _label(name), "body_logged": logged}


SCENARIO = {
    "name": "restore-classes", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "998", "display_name": "classes.example"},
    "projects": [{"id": "rcl-prod", "number": "446", "sql_instances": [
        _instance("rising-pg", "restricted", ["2026-05-01"], [_until_aug12("internal")]),
        _instance("rising-ok-pg", "restricted", ["2026-05-01", "2026-08-01"], [_until_aug12("internal")]),
        _instance("easing-pg", "confidential", ["2026-04-01"], [_until_aug12("restricted")]),
        _instance("hidden-pg", "restricted", ["2026-07-20"],
                  [{"from": "2026-08-12T09:00:00Z", "to": "2026-08-19T09:00:00Z", "labels": _label("internal")}]),
        _instance("steady-pg", "restricted", ["2026-04-25", "2026-07-20"]),
        {**_instance("vault-pg", "restricted", [], [_until_aug12("internal")]),
         "backup": {"enabled": True, "start_time": "02:00", "location": "us-west1", "retained_backups": 35, "pitr": True,
                    "tier": "ENHANCED"},
         "backupdr": {"plan": "projects/rcl-prod/locations/us-west1/backupPlans/daily",
                      "restores": [{"time": "2026-08-20T10:00:00Z", "minutes": 20, "into": "vault-pg-check"}]}},
        {**_instance("gone-pg", "restricted", [], [_until_aug12("internal")]),
         "operations": [{"type": "CLONE", "time": "2026-08-20T10:00:00Z", "point_in_time": "2026-08-19T23:00:00Z",
                         "into": "gone-pg-check"}],
         "delete_time": "2026-09-10T12:00:00Z", "final_backup_days": 90},
    ], "backup_vaults": [{"id": "vault", "location": "us-west1", "min_retention_days": 30}],
       "backup_plans": [{"id": "daily", "location": "us-west1", "vault": "vault",
                         "rules": [{"id": "daily", "recurrence": "DAILY", "window_start_hour": 2, "window_end_hour": 6,
                                    "retention_days": 35}]}]}],
}
CONFIG = {
    "organization": "Classes Ltd", "period": {"quarter": "2026-Q3"},
    "gcp": {"projects": ["rcl-prod"], "credentials": "anonymous"},
    "policy": {"country": "US", "classification_label": "data-classification", "classifications": {
        "restricted": {"backup_interval": "24h", "retention_min_days": 7, "restore_test_interval": "90d"},
        "confidential": {"backup_interval": "24h", "retention_min_days": 7, "restore_test_interval": "180d"},
        "internal": {"backup_interval": "24h", "retention_min_days": 7}}},
}


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """92 lockers, one a day at 06:00 (`make type2`): each day's own read shows its labels."""
    results = daily_lockers(scenario_setup(Path(tmp_path_factory.mktemp("restore-classes-daily")), CONFIG, SCENARIO))
    (control,) = [c for c in results["controls"] if c["id"] == "restore-testing"]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    root, scenario, config = scenario_setup(Path(tmp_path_factory.mktemp("restore-classes")), CONFIG, SCENARIO)
    with Simulator(scenario, port=0, now=dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC)) as sim:
        results = evaluate([collect(config.with_endpoints(sim.url), root / "single" / "evidence").evidence_dir])
    (control,) = [c for c in results["controls"] if c["id"] == "restore-testing"]
    return results, control, {f["resource"]: f for f in control["findings"]}


def _days(finding, state):
    return [d for d, s in finding["details"]["days"].items() if s == state]


def test_a_store_relabelled_from_internal_to_restricted_is_judged_from_that_day(single):
    rising = single[2][RISING]
    assert rising["status"] == "fail", rising["message"]
    assert _days(rising, "not_applicable") == days_between("2026-07-01", "2026-08-11")
    assert rising["details"]["exception_days"] == days_between("2026-08-12", "2026-09-30")
    assert _days(rising, "kept") == [] and rising["details"]["unknown_days"] == []
    assert rising["details"]["days_since_test"]["2026-08-12"] == 103  # May 1 to Aug 12
    assert "2026-08-11" not in rising["details"]["days_since_test"]  # a day that required nothing is not counted
    message = rising["message"]
    assert "at least every 90 days" in message and "its restricted data" in message
    assert f"set no {KEY.format('internal')}" in message and "2026-07-01..2026-08-11" in message
    assert "internal on 2026-07-01 .. 2026-08-11" in message and "internal then restricted on 2026-08-12" in message
    spans = [(s["from"], s["to"], s["classifications"]) for s in rising["details"]["classifications"]]
    assert spans == [("2026-07-01", "2026-08-11", ["internal"]), ("2026-08-12", "2026-08-12", ["internal", "restricted"]),
                     ("2026-08-13", "2026-09-30", ["restricted"])]
    assert rising["expected"]["classification"] == "restricted"  # the newest class, as before


def test_not_applicable_days_beside_kept_ones_leave_a_pass_not_a_not_applicable(single):
    ok = single[2][RISING_OK]
    assert ok["status"] == "pass", ok["message"]
    assert not ok.get("not_applicable_reason")
    assert _days(ok, "not_applicable") == days_between("2026-07-01", "2026-08-11")
    assert _days(ok, "kept") == days_between("2026-08-12", "2026-09-30")
    assert ok["details"]["days_since_test"]["2026-08-12"] == 11  # Aug 1 to Aug 12


def test_a_day_kept_under_the_newest_class_but_broken_under_the_class_in_force_is_broken(single):
    easing = single[2][EASING]
    assert easing["status"] == "fail", easing["message"]
    assert easing["details"]["exception_days"] == days_between("2026-07-01", "2026-08-11") + ["2026-09-29", "2026-09-30"]
    assert easing["details"]["unknown_days"] == ["2026-08-12"]
    assert _days(easing, "kept") == days_between("2026-08-13", "2026-09-28")
    assert "changed during the day" in easing["message"]
    # two intervals over the period: the message does not claim one
    assert "as often as the interval in force each day requires" in easing["message"]


def test_a_label_change_logged_without_its_body_leaves_the_days_before_the_next_read_unknown(single):
    hidden = single[2][HIDDEN]
    assert hidden["status"] == "inconclusive", hidden["message"]
    assert hidden["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-19")
    assert _days(hidden, "kept") == days_between("2026-08-20", "2026-09-30")
    assert "its classification is unknown" in hidden["message"] and "without" in hidden["message"]
    assert any("classification on" in u["message"] for u in hidden["details"]["unverified"])


def test_a_store_whose_class_never_changed_is_judged_as_before(single):
    steady = single[2][STEADY]
    assert steady["status"] == "pass", steady["message"]
    assert _days(steady, "kept") == days_between("2026-07-01", "2026-09-30")
    assert "classifications" not in steady["details"] and "Its classification was" not in steady["message"]
    assert "at least every 90 days" in steady["message"]


def test_a_backup_and_dr_restore_counts_for_the_days_its_class_required_one(single):
    vault = single[2][VAULT]
    assert vault["status"] == "fail", vault["message"]
    assert _days(vault, "not_applicable") == days_between("2026-07-01", "2026-08-11")
    assert vault["details"]["exception_days"] == days_between("2026-08-12", "2026-08-19")
    assert _days(vault, "kept") == days_between("2026-08-20", "2026-09-30")
    assert [t["type"] for t in vault["observed"]["restore_tests"]] == ["BACKUPDR_RESTORE"]


def test_a_deleted_instance_is_judged_under_its_class_each_day_it_existed(single):
    gone = single[2][GONE]
    assert gone["status"] == "inconclusive", gone["message"]
    assert _days(gone, "not_applicable") == days_between("2026-07-01", "2026-08-11") + days_between("2026-09-11", "2026-09-30")
    assert gone["details"]["unknown_days"] == days_between("2026-08-12", "2026-08-19")
    assert _days(gone, "kept") == days_between("2026-08-20", "2026-09-10")
    assert gone["details"]["exception_days"] == []
    assert "internal then restricted on 2026-08-12" in gone["message"]


def test_sampling_draws_only_the_days_a_class_required_a_test_each_with_the_test_that_covers_it(single):
    results, control, found = single
    units = [u for u in population(control, results) if u.resource == RISING]
    assert [u.day for u in units] == days_between("2026-08-12", "2026-09-30")  # the not applicable days are outside
    may_restore = set(found[RISING]["details"]["day_evidence"]["2026-08-12"])  # May 1's restore (and that day's runs)
    assert may_restore & set(found[RISING]["evidence"])
    assert all(u.evidence_scope == "day" and may_restore & set(u.evidence) for u in units)


# --- by hand: the data map's declared class changes between lockers (checks.class_days' map versions) -------------
# The store is labelled internal; the data map (which wins over the label) is stored by three lockers: Jul 10 06:00
# (declares it restricted), Aug 20 06:00 (confidential) and Sep 30 06:00 (confidential). Days before the first
# version take it; a day without its own version takes the newest stored before it. Evidence date Sep 30 12:00.

DB = sql_resource("p", "mapped-pg")
AS_OF = dt.datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
LOCKERS = [dt.datetime(2026, 7, 10, 6, tzinfo=UTC), dt.datetime(2026, 8, 20, 6, tzinfo=UTC), dt.datetime(2026, 9, 30, 6, tzinfo=UTC)]


def _map(name):
    text = (f"reviewed: 2026-06-01\nstores:\n  - resource: {DB}\n    classification: {name}\n    owner: team\n"
            "    backup: cloudsql-automated\n")
    return parse_inventory(text, Path("inventory.yaml"))


def _judge_mapped(classes_by_locker, restores, classifications=None):
    config = Config.model_validate({
        "organization": "T", "period": {"quarter": "2026-Q3"}, "inventory": "inventory.yaml",
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"classification_label": "data-classification",
                   "classifications": classifications or CONFIG["policy"]["classifications"]}})
    maps = [_map(name) for name in classes_by_locker]
    instance = SqlInstance(resource=DB, project="p", name="mapped-pg", region="us-east1", database_version="POSTGRES_16",
                           state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                           labels=_label("internal"), create_time=dt.datetime(2025, 1, 1, tzinfo=UTC), backup_enabled=True,
                           backup_start_time=None, backup_location="us-west1", pitr_enabled=True, log_retention_days=7,
                           retained_backups=30, backup_tier=None, kms_key=None, master=None, evidence=("e-inst",),
                           observed_at=AS_OF)
    ops = [SqlOperation(name=f"op-{day}", project="p", instance=DB, operation_type="RESTORE_VOLUME", status="DONE",
                        started=dt.datetime.fromisoformat(f"{day}T10:00:00+00:00"),
                        ended=dt.datetime.fromisoformat(f"{day}T10:20:00+00:00"), error=None, user="dba",
                        evidence=(f"e-op-{day}",)) for day in restores]
    versions = [MapVersion(when, "locker", parsed, None, f"sha-{n}", None, (f"e-map-{n}",))
                for n, (when, parsed) in enumerate(zip(LOCKERS, maps))]
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [instance], "sql_operations": ops, "sql_clones": [],
                                          "inventory_versions": versions},
                     answered=[("sqladmin", "instances.list", "projects/p"),
                               ("sqladmin", "operations.list", "projects/p/instances/mapped-pg"),
                               ("logging", "entries.list", "projects/p")])
    ctx = CheckContext(config=config, period=Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30)), as_of=AS_OF,
                       inventory=maps[-1], configs=tuple((when, f"L-{n}", config) for n, when in enumerate(LOCKERS)))
    (finding,) = [f for f in restore_testing.evaluate(facts, ctx) if f.resource == DB]
    return finding


def _states(finding, state):
    return [d for d, s in finding.details["days"].items() if s == state]


def test_a_declared_class_narrowed_by_the_map_in_force_breaks_the_days_the_stricter_class_held():
    """Restored Apr 20 only (90 days: to Jul 19; 180 days: to Oct 17). Jul 1 .. Aug 19 restricted (the Jul 10 map,
    carried back to Jul 1 and forward to Aug 19): Jul 1 .. Jul 19 kept, Jul 20 .. Aug 19 broken; Aug 20 .. Sep 30
    confidential: kept. The newest class alone (confidential) would have kept every day."""
    finding = _judge_mapped(["restricted", "confidential", "confidential"], ["2026-04-20"])
    assert finding.status == "fail", finding.message
    assert _states(finding, "kept") == days_between("2026-07-01", "2026-07-19") + days_between("2026-08-20", "2026-09-30")
    assert finding.details["exception_days"] == days_between("2026-07-20", "2026-08-19")
    assert finding.details["days_since_test"]["2026-07-20"] == 91
    assert finding.expected["classification"] == "confidential"
    assert "restricted on 2026-07-01 .. 2026-08-19 (declared in the data map in force)" in finding.message
    assert [s["classification"] for s in finding.details["classifications"]] == ["restricted", "confidential"]


def test_a_class_the_configuration_lacks_on_later_days_leaves_them_unknown_and_the_earlier_ones_judged():
    """The Aug 20 and Sep 30 maps declare "top-secret", a class the configuration does not have: those days'
    interval is unknown (never kept, never judged by restricted's), Jul 1 .. Aug 19 still judged under restricted.
    The newest class has no policy, yet the finding is not the no-classification inconclusive: it fails on Jul 20 ..
    Aug 19 and names the unknown days."""
    finding = _judge_mapped(["restricted", "top-secret", "top-secret"], ["2026-04-20"])
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == days_between("2026-07-20", "2026-08-19")
    assert finding.details["unknown_days"] == days_between("2026-08-20", "2026-09-30")
    assert "has no top-secret classification" in finding.message


def test_classes_that_all_set_no_interval_leave_the_finding_not_applicable_naming_each_key():
    """internal (Jul 10 map) then public (Aug 20, Sep 30): neither sets an interval, so no day required a test."""
    classes = {"internal": {"backup_interval": "24h"}, "public": {"backup_interval": "7d"}}
    finding = _judge_mapped(["internal", "public", "public"], [], classes)
    assert finding.status == "not_applicable", finding.message
    assert KEY.format("internal") in finding.not_applicable_reason and KEY.format("public") in finding.not_applicable_reason
    assert "internal on 2026-07-01 .. 2026-08-19" in finding.message


def test_a_map_that_narrows_into_restricted_is_judged_from_its_first_day():
    """The rule of the sample's interesting case, by the map: internal (Jul 10 map) until Aug 19, restricted from the
    Aug 20 map. Restored May 1 (days since on Aug 20: 111, over 90): Jul 1 .. Aug 19 not applicable, Aug 20 .. Sep 30
    broken; restored again Aug 1, every restricted day is kept (19 days since on Aug 20): a pass."""
    stale = _judge_mapped(["internal", "restricted", "restricted"], ["2026-05-01"])
    assert stale.status == "fail"
    assert _states(stale, "not_applicable") == days_between("2026-07-01", "2026-08-19")
    assert stale.details["exception_days"] == days_between("2026-08-20", "2026-09-30")
    assert stale.details["days_since_test"]["2026-08-20"] == 111
    fresh = _judge_mapped(["internal", "restricted", "restricted"], ["2026-05-01", "2026-08-01"])
    assert fresh.status == "pass", fresh.message
    assert _states(fresh, "kept") == days_between("2026-08-20", "2026-09-30")
    assert fresh.details["days_since_test"]["2026-08-20"] == 19


def test_daily_lockers_judge_the_same_days_under_the_class_each_day_held(daily):
    """The same stores from 92 daily lockers (each day's read shows the labels it had at 06:00; the updates at 09:00
    are in the log): the days written above for the single run, where a logged body already showed the class."""
    assert daily[RISING]["status"] == "fail"
    assert _days(daily[RISING], "not_applicable") == days_between("2026-07-01", "2026-08-11")
    assert daily[RISING]["details"]["exception_days"] == days_between("2026-08-12", "2026-09-30")
    assert daily[RISING_OK]["status"] == "pass"
    assert _days(daily[RISING_OK], "kept") == days_between("2026-08-12", "2026-09-30")
    assert daily[EASING]["details"]["exception_days"] == days_between("2026-07-01", "2026-08-11") + ["2026-09-29", "2026-09-30"]
    assert daily[EASING]["details"]["unknown_days"] == ["2026-08-12"]
    assert daily[VAULT]["details"]["exception_days"] == days_between("2026-08-12", "2026-08-19")
    assert _days(daily[STEADY], "kept") == days_between("2026-07-01", "2026-09-30")
