"""backup-cross-region under the classification in force each day, and policy.country (xr3, issue 13).

Policy: `restricted` requires cross-region backups, `public` does not; accept_multi_region false. The period is
2026 Q3 (Jul 1 .. Sep 30, UTC). Every instance is in us-east1 unless said otherwise.

**One quarter-end run** (Sep 30 06:00 UTC; the audit-log query starts Jun 30 00:00 and covers to the read). A
label spell is set and restored by two `cloudsql.instances.update` entries (Jun 30 06:00 and Aug 12 09:00). By hand:

- relabel-pg (backups to us-east1, its own region; labelled restricted Jun 30 06:00 .. Aug 12 09:00, public after,
  both updates logged with their body): Jul 1 .. Aug 11 restricted, so a backup in the primary's own region breaks
  them; Aug 12 held restricted then public: broken under one, kept under the other, so unknown (never broken by
  one class alone, never kept); Aug 13 .. Sep 30 public, which asks for no separate region: kept. Judged by its
  newest class alone (public) it would be not applicable: the fail-closed direction.
- tightened-pg (the same, the other way: public until Aug 12 09:00, restricted after): Jul 1 .. Aug 11 kept,
  Aug 12 unknown, Aug 13 .. Sep 30 broken (not the whole quarter, as its newest class alone would say).
- unlogged-pg (as relabel-pg, but both updates logged without their body): nothing shows its labels before the
  Aug 12 09:00 update (the Jun 30 one set unknown labels): Jul 1 .. Aug 12 unknown, with that reason; from the
  Aug 12 update on the read at Sep 30 (public) is carried back over the complete log: Aug 13 .. Sep 30 kept.
- vault-relabel-pg (ENHANCED, its backups in the Backup and DR vault `v` in us-east1, its own region; labelled as
  relabel-pg): judged by stretch, the stretch Jul 1 .. Aug 11 (restricted) fails, named; Aug 13 .. on needs nothing.
- steady-pg (restricted all quarter, backups to us-west1): nothing changed: a pass with no classifications named.

**Three lockers** (Jul 10, Aug 20, Sep 30, 06:00 UTC), each storing its own data map and configuration:

- mapped-pg (backups to us-east1, its own region; declared restricted in the maps of Jul 10, public in those of
  Aug 20 and Sep 30): the days before the first locker take its map, a day without a locker the newest map stored
  before it: Jul 1 .. Aug 19 restricted, broken; Aug 20 .. Sep 30 public, kept. Its declared dump bucket
  xr-mapped-dumps (US-EAST1, created Jul 15 00:00, judged under mapped-pg's class): Jul 1 .. Jul 14 not
  applicable, Jul 15 .. Aug 19 broken, Aug 20 .. Sep 30 kept.
- abroad-pg (northamerica-northeast1, Montreal, backups to northamerica-northeast2, Toronto: a separate region in
  the same country, CA; labelled restricted): the Jul 10 configuration sets no policy.country, those of Aug 20
  and Sep 30 set US: Jul 1 .. Aug 19 kept, Aug 20 .. Sep 30 broken (outside US), the change named.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from testkit import days_between, freeze_clock, scenario_setup

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.quota import Quota
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
SQL = "//cloudsql.googleapis.com/projects/xr-prod/instances"
RELABEL, TIGHTENED, UNLOGGED, VAULTED, STEADY = (f"{SQL}/{n}" for n in
                                                  ("relabel-pg", "tightened-pg", "unlogged-pg", "vault-relabel-pg", "steady-pg"))
MAPPED, ABROAD = f"{SQL}/mapped-pg", f"{SQL}/abroad-pg"
DUMPS = "//storage.googleapis.com/xr-mapped-dumps"
SPELL = {"from": "2026-06-30T06:00:00Z", "to": "2026-08-12T09:00:00Z"}
POLICY = {"accept_multi_region": False, "classifications": {
    "restricted": {"backup_interval": "24h", "retention_min_days": 7, "cross_region": True},
    "public": {"backup_interval": "24h", "retention_min_days": 7, "cross_region": False}}}


def _instance(name, own, location, spell=None, logged=True, region="us-east1"):
    found = {"name": name, "region": region, "database_version": "POSTGRES_16", "labels": {"data-classification": own},
             "backup": {"enabled": True, "start_time": "03:00", "location": location, "retained_backups": 14}}
    if spell:
        found["label_changes"] = [{**SPELL, "labels": {"data-classification": spell}, "body_logged": logged}]
    return found


def _scenario(instances, vault=False):
    projects = [{"id": "xr-prod", "number": "441", "sql_instances": instances}]
    if vault:
        projects[0]["buckets"] = []
        projects.append({"id": "xr-vault", "number": "442",
                         "backup_vaults": [{"id": "v", "location": "us-east1", "min_retention_days": 7}],
                         "backup_plans": [{"id": "daily", "location": "us-east1", "vault": "v",
                                           "rules": [{"id": "daily", "retention_days": 100}]}]})
    return {"name": "xr3", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
            "organization": {"id": "995", "display_name": "xr3.example"}, "projects": projects}


SINGLE = _scenario([
    _instance("relabel-pg", "public", "us-east1", spell="restricted"),
    _instance("tightened-pg", "restricted", "us-east1", spell="public"),
    _instance("unlogged-pg", "public", "us-east1", spell="restricted", logged=False),
    {**_instance("vault-relabel-pg", "public", None, spell="restricted"),
     "backup": {"enabled": True, "tier": "ENHANCED"},
     "backupdr": {"plan": "projects/xr-vault/locations/us-east1/backupPlans/daily"}},
    _instance("steady-pg", "restricted", "us-west1")], vault=True)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    config = {"organization": "XR Ltd", "period": {"quarter": "2026-Q3"},
              "gcp": {"projects": ["xr-prod", "xr-vault"], "credentials": "anonymous"}, "policy": POLICY}
    root, scenario, config = scenario_setup(tmp_path_factory.mktemp("xr3-single"), config, SINGLE)
    with Simulator(scenario, port=0) as sim:
        freeze_clock(sim)
        run = collect(config.with_endpoints(sim.url), root / "evidence")
    return evaluate([run.evidence_dir])


def _found(results, check="backup-cross-region"):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}


def _days(finding, first, last):
    return {finding["details"]["days"][d] for d in days_between(first, last)}


def test_a_day_kept_under_the_newest_class_but_broken_under_the_class_in_force_is_broken(single):
    relabel = _found(single)[RELABEL]
    assert relabel["status"] == "fail", relabel["message"]
    assert relabel["details"]["exception_days"] == days_between("2026-07-01", "2026-08-11")
    assert relabel["details"]["unknown_days"] == ["2026-08-12"]
    assert _days(relabel, "2026-08-13", "2026-09-30") == {"kept"}
    assert relabel["expected"] == {"separate_region": True, "same_country": "US"}  # no policy.country set
    assert relabel["details"]["classification"] == "public"  # expected classification: the newest
    spans = [(s["from"], s["to"], s["classifications"]) for s in relabel["details"]["classifications"]]
    assert spans == [("2026-07-01", "2026-08-11", ["restricted"]), ("2026-08-12", "2026-08-12", ["restricted", "public"]),
                     ("2026-08-13", "2026-09-30", ["public"])]
    assert "restricted on 2026-07-01 .. 2026-08-11 (its label)" in relabel["message"]
    assert "restricted then public on 2026-08-12 (it changed that day)" in relabel["message"]


def test_each_side_of_a_tightening_is_judged_under_its_own_class(single):
    tightened = _found(single)[TIGHTENED]
    assert tightened["status"] == "fail", tightened["message"]
    assert _days(tightened, "2026-07-01", "2026-08-11") == {"kept"}
    assert tightened["details"]["unknown_days"] == ["2026-08-12"]
    assert tightened["details"]["exception_days"] == days_between("2026-08-13", "2026-09-30")


def test_a_label_change_logged_without_its_body_leaves_the_days_before_it_unknown_and_says_why(single):
    unlogged = _found(single)[UNLOGGED]
    assert unlogged["status"] == "inconclusive", unlogged["message"]
    assert unlogged["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-12")
    assert _days(unlogged, "2026-08-13", "2026-09-30") == {"kept"}
    assert ("an update logged without its request body changed its labels before that day, and no read since shows "
            "them") in unlogged["message"], unlogged["message"]  # checks.class_days' reason


def test_backup_and_dr_is_judged_by_the_stretch_each_class_held(single):
    vaulted = _found(single)[VAULTED]
    assert vaulted["status"] == "fail", vaulted["message"]
    assert "the backups of 2026-07-01..2026-08-11 (under the thresholds in force 2026-07-01..2026-08-11)" in vaulted["message"]
    assert "the same region as the source" in vaulted["message"]
    assert "2026-08-13" not in vaulted["message"].split("Its classification")[0]  # public asked for nothing


def test_nothing_changed_gives_the_finding_it_always_gave(single):
    steady = _found(single)[STEADY]
    assert steady["status"] == "pass", steady["message"]
    assert "classifications" not in steady["details"] and "thresholds" not in steady["details"]
    assert "Its classification was" not in steady["message"]


# -- three lockers: the data map's declared class and policy.country change between them ----------------------------

LOCKERS = (dt.date(2026, 7, 10), dt.date(2026, 8, 20), dt.date(2026, 9, 30))
MAPPED_SCENARIO = _scenario([_instance("mapped-pg", "public", "us-east1"),
                             _instance("abroad-pg", "restricted", "northamerica-northeast2", region="northamerica-northeast1")])
MAPPED_SCENARIO["projects"][0]["buckets"] = [{"name": "xr-mapped-dumps", "location": "US-EAST1",
                                             "create_time": "2026-07-15T00:00:00Z",
                                             "labels": {"data-classification": "public"}}]


def _locker_config(root, day):
    """The data map and configuration the locker of `day` ran with."""
    first = day == LOCKERS[0]
    folder = root / f"config-{day}"
    folder.mkdir()
    (folder / "inventory.yaml").write_text(yaml.safe_dump({
        "reviewed": "2026-06-30", "owner": "data@xr3.example",
        "stores": [{"resource": MAPPED, "classification": "restricted" if first else "public", "owner": "data",
                    "backup": ["cloudsql-automated", {"backup-bucket": DUMPS}]},
                   {"resource": DUMPS, "classification": "restricted" if first else "public", "owner": "data"}]}))
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "XR Ltd", "period": {"quarter": "2026-Q3"}, "inventory": str(folder / "inventory.yaml"),
        "gcp": {"projects": ["xr-prod"], "credentials": "anonymous"},
        "policy": {**POLICY, **({} if first else {"country": "US"})}}))
    return load_config(folder / "auditor.yaml").model_copy(update={"github": None})


@pytest.fixture(scope="module")
def lockers(tmp_path_factory):
    root = tmp_path_factory.mktemp("xr3-lockers")
    dirs, ids = [], {}
    with Simulator(parse_scenario(MAPPED_SCENARIO), port=0, now=dt.datetime.combine(LOCKERS[0], dt.time(6), tzinfo=UTC),
                   quota=Quota(limits=[])) as sim:
        for day in LOCKERS:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            run = collect(_locker_config(root, day).with_endpoints(sim.url), root / f"day-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day] = run.manifest["locker_id"]
    return evaluate(dirs), ids


def test_a_class_the_data_map_declares_is_the_one_of_the_map_in_force_each_day(lockers):
    results, _ = lockers
    mapped = _found(results)[MAPPED]
    assert mapped["status"] == "fail", mapped["message"]
    assert mapped["details"]["exception_days"] == days_between("2026-07-01", "2026-08-19")
    assert _days(mapped, "2026-08-20", "2026-09-30") == {"kept"}
    assert mapped["details"]["unknown_days"] == []
    assert "restricted on 2026-07-01 .. 2026-08-19 (declared in the data map in force)" in mapped["message"]


def test_a_backup_bucket_is_judged_under_its_sources_class_each_day(lockers):
    results, _ = lockers
    dumps = _found(results)[DUMPS]
    assert dumps["status"] == "fail", dumps["message"]
    assert _days(dumps, "2026-07-01", "2026-07-14") == {"not_applicable"}
    assert dumps["details"]["exception_days"] == days_between("2026-07-15", "2026-08-19")
    assert _days(dumps, "2026-08-20", "2026-09-30") == {"kept"}
    assert [s["classification"] for s in dumps["details"]["classifications"]] == ["restricted", "public"]


def test_policy_country_set_between_lockers_breaks_the_days_it_was_in_force(lockers):
    results, ids = lockers
    abroad = _found(results)[ABROAD]
    assert abroad["status"] == "fail", abroad["message"]
    assert _days(abroad, "2026-07-01", "2026-08-19") == {"kept"}  # a separate region in its own country, CA
    assert abroad["details"]["exception_days"] == days_between("2026-08-20", "2026-09-30")
    assert abroad["expected"]["country"] == "US"  # the newest configuration's
    assert {"key": "policy.country", "value": "US", "from": "2026-08-20", "locker": ids[LOCKERS[1]]} \
        in abroad["details"]["thresholds"]
    assert (f"policy.country was absent until 2026-08-19, US from 2026-08-20 (the configuration stored in locker "
            f"{ids[LOCKERS[1]]})") in abroad["message"]
    assert "outside US (policy.country)" in abroad["message"]


# -- policy.country in the placement rule, and in the configuration (by hand) -------------------------------------

def test_policy_country_is_a_further_rule_of_the_placement_verdict():
    """Frankfurt (DE) to Berlin (DE) is a separate region in the same country; with policy.country US it lies
    outside the country the policy names. Unset, nothing more is asked; equal to the source's country, the base
    rule already asks it. A failure of the base rule stands whatever the country rule says, with both reasons."""
    from auditor.checks.placement import judge
    from auditor.locations import lookup

    def verdict(source, target, country, accept=False):
        return judge(lookup(source), source, lookup(target), target, accept, country)

    assert verdict("europe-west3", "europe-west10", None).ok
    outside = verdict("europe-west3", "europe-west10", "US")
    assert not outside.ok and outside.known and "outside US (policy.country)" in outside.reason
    same = verdict("us-east1", "us-west1", "US")
    assert same.ok and same.reason.endswith("the country policy.country names")
    assert not verdict("us-east1", "us-east1", "US").ok  # its own region, whatever the country
    both = verdict("us-east1", "eu", "DE")
    assert not both.ok and both.known
    assert "spans several countries" in both.reason and "whether they lie in DE (policy.country) is unknown" in both.reason
    assert verdict("us-east1", "us", "US", accept=True).ok  # the US multi-region lies in one country, US


def test_a_location_whose_country_the_table_does_not_give_is_unknown_for_policy_country():
    """EU names no one country; a location missing from the table names none at all; EUR4 (Finland and the
    Netherlands) is known, and not all of it in Finland."""
    from auditor.checks.placement import in_country
    from auditor.locations import lookup

    eu = in_country(lookup("eu"), "eu", "DE")
    assert not eu.ok and not eu.known and "whose countries the table does not name" in eu.reason
    nowhere = in_country(None, "us-nowhere9", "US")
    assert not nowhere.ok and not nowhere.known and "us-nowhere9 is not in the table of regions" in nowhere.reason
    eur4 = in_country(lookup("eur4"), "eur4", "FI")
    assert not eur4.ok and eur4.known
    assert in_country(lookup("nam4"), "nam4", "US").ok


def test_policy_country_is_unset_by_default_and_a_bad_code_is_refused_naming_the_key(tmp_path):
    from auditor.errors import ConfigError

    base = {"organization": "XR Ltd", "period": {"quarter": "2026-Q3"},
            "gcp": {"projects": ["p"], "credentials": "anonymous"}, "policy": POLICY}
    (tmp_path / "auditor.yaml").write_text(yaml.safe_dump(base))
    assert load_config(tmp_path / "auditor.yaml").policy.country is None
    (tmp_path / "auditor.yaml").write_text(yaml.safe_dump({**base, "policy": {**POLICY, "country": "us"}}))
    assert load_config(tmp_path / "auditor.yaml").policy.country == "US"
    (tmp_path / "auditor.yaml").write_text(yaml.safe_dump({**base, "policy": {**POLICY, "country": "USA"}}))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "auditor.yaml")
    assert "policy.country" in str(err.value) and "'USA'" in str(err.value)


# -- 92 daily lockers (make type2): the single run's label cases, each day read at 06:00 UTC ------------------------

@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """One locker a day, Jul 1 .. Sep 30 at 06:00 UTC (skipped unless TYPE2_DAILY=full)."""
    from testkit import daily_lockers

    config = {"organization": "XR Ltd", "period": {"quarter": "2026-Q3"},
              "gcp": {"projects": ["xr-prod", "xr-vault"], "credentials": "anonymous"}, "policy": POLICY}
    return daily_lockers(scenario_setup(tmp_path_factory.mktemp("xr3-daily"), config, SINGLE))


def test_daily_lockers_judge_each_day_under_the_label_each_read_shows(daily):
    """By hand, from each day's 06:00 read: relabel-pg and tightened-pg as from the single run (Aug 12 read
    restricted, resp. public, at 06:00 and changed at 09:00: both classes that day, unknown). unlogged-pg: each read
    shows its labels, so the updates' missing bodies matter only between a read and the next: Jul 1 .. Aug 11
    restricted (the reads around each day agree), broken; Aug 12 read restricted, Aug 13 public: unknown; Aug 13 ..
    Sep 30 public, kept. Never more favourable than the single run's unknown days."""
    found = _found(daily)
    relabel, tightened, unlogged = found[RELABEL], found[TIGHTENED], found[UNLOGGED]
    assert relabel["details"]["exception_days"] == days_between("2026-07-01", "2026-08-11")
    assert relabel["details"]["unknown_days"] == ["2026-08-12"]
    assert tightened["details"]["exception_days"] == days_between("2026-08-13", "2026-09-30")
    assert _days(tightened, "2026-07-01", "2026-08-11") == {"kept"}
    assert unlogged["status"] == "fail", unlogged["message"]
    assert unlogged["details"]["exception_days"] == days_between("2026-07-01", "2026-08-11")
    assert unlogged["details"]["unknown_days"] == ["2026-08-12"]
    assert _days(unlogged, "2026-08-13", "2026-09-30") == {"kept"}
    assert found[STEADY]["status"] == "pass"


def test_a_deleted_instance_is_judged_under_the_class_of_each_day_it_existed():
    """crm-mysql (tests/test_deleted_instance.py: deleted Jul 6 12:00, period Jul 1..10), here in us-east1, so its
    backups in us-east1 are in its own region. Two label updates logged with their body: public on Jul 3 09:00,
    restricted on Jul 5 09:00; its FINAL backup's snapshot (Jul 6 11:54) reads restricted. By hand: Jul 1 .. Jul 3
    unknown (the first record of its labels is the Jul 3 change, which says what it set, not what was there); Jul 4
    public, kept (no separate region asked); Jul 5 public then restricted: kept under one, broken under the other,
    unknown; Jul 6 restricted: broken; Jul 7 .. Jul 10 after the deletion: not applicable."""
    from test_deleted_instance import AS_OF, DB, FINAL, PERIOD, days, read_final, window

    from auditor.checks import backup_cross_region
    from auditor.checks_api import CheckContext
    from auditor.config import Config
    from auditor.facts.build import assemble
    from auditor.facts.model import ConfigChange, LogSpan

    payload = {**FINAL, "instanceSettings": {**FINAL["instanceSettings"], "region": "us-east1"}}

    def relabel(day, value):
        return ConfigChange(DB, dt.datetime(2026, 7, day, 9, tzinfo=UTC), "cloudsql.instances.update",
                            {"labels": (("data-classification", value),)}, "ops@example.com", f"log:l{day}",
                            evidence=(f"e-l{day}",))

    deletion = ConfigChange(DB, dt.datetime(2026, 7, 6, 12, tzinfo=UTC), "cloudsql.instances.delete", {}, "ops@example.com",
                            "log:del", deleted=True, evidence=("e-del",))
    items = {**read_final(payload), "sql_instances": [], "backup_runs": [], "backup_windows": [window(d) for d in range(1, 7)],
             "log_coverage": [LogSpan("projects/p", dt.datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-log")],
             "config_changes": [relabel(3, "public"), relabel(5, "restricted"), deletion]}
    facts = assemble(AS_OF, ["p"], items=items, answered=[
        ("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
        ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")])
    config = Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
                                    "gcp": {"projects": ["p"], "credentials": "anonymous"}, "policy": POLICY})
    ctx = CheckContext(config=config, period=PERIOD, as_of=AS_OF)
    (placement,) = [f for f in backup_cross_region.evaluate(facts, ctx) if f.resource == DB]
    assert placement.status == "fail", placement.message
    assert placement.details["days"] == {**days(1, 3, "unknown"), "2026-07-04": "kept", "2026-07-05": "unknown",
                                         "2026-07-06": "broken", **days(7, 10, "not_applicable")}
    assert "deleted on 2026-07-06 12:00 UTC" in placement.message
    assert "no read before it shows its labels (an update says what it set, not what it replaced)" in placement.message
