"""The inventory controls under the policy in force each day, and stores deleted during the period (issue 13, inv2).

Three lockers collected from the simulator at 06:00 UTC on Aug 12, Sep 1 and Sep 30, each with its own
configuration (the thresholds in force on a day are those of the newest locker made by that day's end; the days
before the first locker take its configuration: checks.days.config_segments):

- A, the Aug 12 locker, in force Jul 1 .. Aug 31: classifications {internal}, classification_label
  `data-classification`, no default, inventory_review_interval 365d;
- B, the Sep 1 locker, in force Sep 1 .. Sep 29: classifications {internal, restricted}, the label key renamed to
  `data-class`, no default, inventory_review_interval 100d;
- C, the Sep 30 locker, in force Sep 30: as B, with default_classification internal.

The data map lives in a git repository, so the map in force is known on every day: reviewed 2026-06-01, committed on
Jun 15 (restricted-pg restricted, gone-pg internal) and again on Aug 20 10:00 with gone-pg removed (after its deletion).

The stores (project invp-prod; none has a label change, and the audit log covers the quarter, so each store's
labels are known on every day it existed):
- restricted-pg: labelled restricted under both keys, declared restricted. Under A `restricted` is no
  classification (label and declaration invalid): broken Jul 1 .. Aug 31; under B and C valid: kept.
- oldkey-pg: labelled internal under `data-classification` only, not declared. A reads that key: kept Jul 1 ..
  Aug 31; B reads `data-class`, absent, no declaration, no default: broken Sep 1 .. Sep 29; C's default applies: kept.
- newkey-pg: labelled internal under `data-class` only, not declared: broken Jul 1 .. Aug 31 (A's key is absent),
  kept from Sep 1.
- gone-pg: labelled internal (both keys), declared internal, deleted Aug 14 12:00 with a FINAL backup (its snapshot
  is the last read): in the map in force Jul 1 .. Aug 14 (kept in both controls), Aug 15 .. Sep 30 not in its
  population (not applicable). Removed from the map on Aug 20: correct, so no finding says the map is wrong.
- unlisted-pg: created Jul 20 10:00, deleted Aug 14 12:00 with a FINAL backup, never declared: completeness broken
  Jul 20 .. Aug 14, not applicable before and after; classification kept on those days (labelled internal).
- unseen-pg: deleted Aug 10 09:00 without a FINAL backup, before the first locker: only the Admin Activity log
  shows it, nothing says its labels or when it was created: inconclusive, its days Jul 1 .. Aug 10 unknown.

The data map's review (reviewed 2026-06-01): under A's 365 days never overdue; under B's 100 days overdue from the
day 2026-06-01 + 100 days is passed, Sep 10 (Sep 9 is day 100): exceptions Sep 10 .. Sep 30, not from Sep 1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.results import validate_results
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
P = "//cloudsql.googleapis.com/projects/invp-prod/instances/"
RESTRICTED, OLDKEY, NEWKEY, GONE, UNLISTED, UNSEEN = (P + n for n in ("restricted-pg", "oldkey-pg", "newkey-pg", "gone-pg",
                                                                      "unlisted-pg", "unseen-pg"))
LOCKER_DAYS = (dt.date(2026, 8, 12), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
MAP_CHANGED = "2026-08-20T10:00:00+00:00"


def _instance(name, labels, created="2025-02-01T00:00:00Z", deleted=None, final=True):
    out = {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "labels": labels, "create_time": created,
           "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7}}
    if deleted:
        out["delete_time"] = deleted
        if final:
            out["final_backup_days"] = 90  # kept past Sep 30: a quarter-end run still lists it
    return out


BOTH = {"data-classification": "internal", "data-class": "internal"}
SCENARIO = {
    "name": "inventory-policy", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "998", "display_name": "policy.example"},
    "projects": [{"id": "invp-prod", "number": "446", "sql_instances": [
        _instance("restricted-pg", {"data-classification": "restricted", "data-class": "restricted"}),
        _instance("oldkey-pg", {"data-classification": "internal"}),
        _instance("newkey-pg", {"data-class": "internal"}),
        _instance("gone-pg", BOTH, deleted="2026-08-14T12:00:00Z"),
        _instance("unlisted-pg", BOTH, created="2026-07-20T10:00:00Z", deleted="2026-08-14T12:00:00Z"),
        _instance("unseen-pg", BOTH, deleted="2026-08-10T09:00:00Z", final=False)]}],
}
ENTRY = {"owner": "team", "backup": "cloudsql-automated"}
MAP_BEFORE = {"reviewed": "2026-06-01", "stores": [{"resource": RESTRICTED, "classification": "restricted", **ENTRY},
                                                   {"resource": GONE, "classification": "internal", **ENTRY}]}
MAP_AFTER = {"reviewed": "2026-06-01", "stores": [{"resource": RESTRICTED, "classification": "restricted", **ENTRY}]}
INTERNAL = {"backup_interval": "24h", "retention_min_days": 7}
POLICIES = {
    "A": {"classification_label": "data-classification", "inventory_review_interval": "365d",
          "classifications": {"internal": INTERNAL}},
    "B": {"classification_label": "data-class", "inventory_review_interval": "100d",
          "classifications": {"internal": INTERNAL, "restricted": INTERNAL}},
    "C": {"classification_label": "data-class", "inventory_review_interval": "100d", "default_classification": "internal",
          "classifications": {"internal": INTERNAL, "restricted": INTERNAL}},
}


def _git(repo, *args, when=None):
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-c", "user.name=Data Owner", "-c", "user.email=owner@policy.example", *args], cwd=repo,
                   env=env, check=True, capture_output=True)


def _config(root, name):
    folder = root / f"config-{name}"
    folder.mkdir(exist_ok=True)
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Policy Ltd", "period": {"quarter": "2026-Q3"},
        "gcp": {"projects": ["invp-prod"], "credentials": "anonymous"},
        "policy": {"country": "US", **POLICIES[name]}, "inventory": str(root / "map" / "inventory.yaml")}))
    return load_config(folder / "auditor.yaml").model_copy(update={"github": None})


def _collect(root, plan):
    """plan: [(locker day, configuration name)]. The map is committed on Jun 15, and changed on Aug 20 once the
    collection has passed that day (the Aug 12 locker stores the first version)."""
    folder = root / "map"
    folder.mkdir()
    (folder / "inventory.yaml").write_text(yaml.safe_dump(MAP_BEFORE))
    _git(folder, "init", "-q")
    _git(folder, "add", "inventory.yaml")
    _git(folder, "commit", "-q", "-m", "data map", when="2026-06-15T10:00:00+00:00")
    scenario = parse_scenario(SCENARIO)
    dirs, ids = [], {}
    with Simulator(scenario, port=0, now=dt.datetime.combine(plan[0][0], dt.time(6), tzinfo=UTC)) as sim:
        for day, name in plan:
            if day > dt.date(2026, 8, 20) and yaml.safe_load((folder / "inventory.yaml").read_text()) != MAP_AFTER:
                (folder / "inventory.yaml").write_text(yaml.safe_dump(MAP_AFTER))
                _git(folder, "commit", "-q", "-am", "gone-pg deleted", when=MAP_CHANGED)
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            run = collect(_config(root, name).with_endpoints(sim.url), root / f"locker-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    return evaluate(dirs), ids


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is installed by .ci/run")


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    """The three lockers A, B, C (a few seconds)."""
    if shutil.which("git") is None:
        pytest.skip("git is installed by .ci/run")
    return _collect(tmp_path_factory.mktemp("inv-policy"), list(zip(LOCKER_DAYS, "ABC")))


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """One quarter-end run with configuration C: one configuration for the whole period."""
    if shutil.which("git") is None:
        pytest.skip("git is installed by .ci/run")
    return _collect(tmp_path_factory.mktemp("inv-policy-single"), [(dt.date(2026, 9, 30), "C")])[0]


def _found(results, control_id, rule):
    (control,) = [c for c in results["controls"] if c["id"] == control_id]
    return {f["resource"]: f for f in control["findings"] if f["rule"] == rule}


def _days(finding):
    return finding["details"]["exception_days"], finding["details"]["unknown_days"]


def _state_days(finding, state):
    return sorted(d for d, s in finding["details"]["days"].items() if s == state)


# --- (a) a classification added to the policy on Sep 1 ------------------------------------------------------------

def test_a_classification_added_on_sep_1_leaves_exactly_july_and_august_as_exceptions(few):
    results, ids = few
    restricted = _found(results, "inventory-classification", "classified")[RESTRICTED]
    assert restricted["status"] == "fail", restricted["message"]
    assert _days(restricted) == (days_between("2026-07-01", "2026-08-31"), [])
    assert _state_days(restricted, "kept") == days_between("2026-09-01", "2026-09-30")
    message = restricted["message"]
    assert ("policy.classifications was (internal) until 2026-08-31, (internal, restricted) from 2026-09-01 (the "
            f"configuration stored in locker {ids['2026-09-01']})") in message
    thresholds = restricted["details"]["thresholds"]
    assert [t["from"] for t in thresholds] == ["2026-07-01", "2026-09-01", "2026-09-30"]
    assert [t["locker"] for t in thresholds] == [ids[d] for d in ("2026-08-12", "2026-09-01", "2026-09-30")]
    assert thresholds[0]["expected"]["classifications"] == ["internal"]
    assert thresholds[1]["expected"]["classifications"] == ["internal", "restricted"]
    assert thresholds[1]["config_keys"]["classifications"] == "policy.classifications"
    validate_results(json.loads(json.dumps(results)))  # the thresholds, in JSON as results.json holds them


# --- (c) the label key renamed, and a default set, mid-quarter ----------------------------------------------------

def test_each_day_reads_the_label_key_and_default_in_force_that_day(few):
    results, ids = few
    found = _found(results, "inventory-classification", "classified")
    old, new = found[OLDKEY], found[NEWKEY]
    # A reads data-classification; B reads data-class (absent: no label, no declaration, no default); C's default applies
    assert old["status"] == "fail" and _days(old) == (days_between("2026-09-01", "2026-09-29"), []), old["message"]
    assert _state_days(old, "kept") == days_between("2026-07-01", "2026-08-31") + ["2026-09-30"]
    assert new["status"] == "fail" and _days(new) == (days_between("2026-07-01", "2026-08-31"), []), new["message"]
    assert ("policy.classification_label was 'data-classification' until 2026-08-31, 'data-class' from 2026-09-01 "
            f"(the configuration stored in locker {ids['2026-09-01']})") in old["message"]
    assert ("policy.default_classification was none until 2026-09-29, 'internal' from 2026-09-30 (the configuration "
            f"stored in locker {ids['2026-09-30']})") in old["message"]
    assert old["details"]["thresholds"][2]["expected"]["default_classification"] == "internal"
    assert old["details"]["thresholds"][1]["expected"]["label_key"] == "data-class"


# --- (b) the review interval shortened mid-quarter ----------------------------------------------------------------

def test_a_shortened_review_interval_makes_the_map_overdue_from_the_day_it_passes_it(few):
    results, ids = few
    (review,) = _found(results, "inventory-completeness", "reviewed").values()
    assert review["status"] == "fail", review["message"]
    assert _days(review) == (days_between("2026-09-10", "2026-09-30"), [])  # 2026-06-01 + 100 days = Sep 9
    assert _state_days(review, "kept") == days_between("2026-07-01", "2026-09-09")
    assert ("policy.inventory_review_interval was 365 days until 2026-08-31, 100 days from 2026-09-01 (the "
            f"configuration stored in locker {ids['2026-09-01']})") in review["message"]
    thresholds = review["details"]["thresholds"]
    assert [(t["from"], t["expected"]["max_age_days"]) for t in thresholds] == [("2026-07-01", 365), ("2026-09-01", 100)]
    assert thresholds[1]["config_keys"] == {"max_age_days": "policy.inventory_review_interval"}


# --- deleted stores: judged for the days they existed -------------------------------------------------------------

def test_a_deleted_store_the_map_listed_while_it_existed_passes_and_its_later_days_are_not_in_the_population(few):
    results, _ = few
    for control, rule in (("inventory-completeness", "declared"), ("inventory-classification", "classified")):
        gone = _found(results, control, rule)[GONE]
        assert gone["status"] == "pass", (control, gone["message"])
        assert _state_days(gone, "kept") == days_between("2026-07-01", "2026-08-14"), control
        assert _state_days(gone, "not_applicable") == days_between("2026-08-15", "2026-09-30"), control
        assert "deleted on 2026-08-14 12:00 UTC" in gone["message"] and "not in its population" in gone["message"]
    # removed from the map after its deletion: correct, so nothing says the map lists a store that does not exist
    assert GONE not in _found(results, "inventory-completeness", "exists")


def test_a_deleted_store_never_in_the_map_is_an_exception_on_exactly_the_days_it_existed(few):
    results, _ = few
    unlisted = _found(results, "inventory-completeness", "declared")[UNLISTED]
    assert unlisted["status"] == "fail", unlisted["message"]
    assert _days(unlisted) == (days_between("2026-07-20", "2026-08-14"), [])
    assert _state_days(unlisted, "not_applicable") == days_between("2026-07-01", "2026-07-19") + days_between("2026-08-15", "2026-09-30")
    classified = _found(results, "inventory-classification", "classified")[UNLISTED]
    assert classified["status"] == "pass" and _state_days(classified, "kept") == days_between("2026-07-20", "2026-08-14")


def test_a_deletion_only_the_audit_log_shows_is_inconclusive_for_the_days_before_it(few):
    results, _ = few
    for control, rule in (("inventory-completeness", "declared"), ("inventory-classification", "classified")):
        unseen = _found(results, control, rule)[UNSEEN]
        assert unseen["status"] == "inconclusive", (control, unseen["message"])
        assert unseen["details"]["unknown_days"] == days_between("2026-07-01", "2026-08-10"), control


# --- a single run: one configuration, behaviour unchanged ---------------------------------------------------------

def test_a_single_run_judges_every_day_by_its_one_configuration_and_names_no_change(single):
    classified = _found(single, "inventory-classification", "classified")
    for finding in classified.values():
        assert "thresholds" not in finding["details"] and "value in force that day" not in finding["message"]
    assert classified[RESTRICTED]["status"] == "pass", classified[RESTRICTED]["message"]  # C knows restricted
    assert classified[OLDKEY]["status"] == "pass"  # C's key is absent, C's default applies on every day
    (review,) = _found(single, "inventory-completeness", "reviewed").values()
    assert "thresholds" not in review["details"] and "policy.inventory_review_interval was" not in review["message"]
    assert _days(review) == (days_between("2026-09-10", "2026-09-30"), [])  # 100 days on every day


def test_a_single_run_judges_the_deleted_stores_from_their_final_backups_on_the_same_days(single):
    """No locker read gone-pg or unlisted-pg: each FINAL backup's snapshot (Aug 14, before the 12:00 deletion) is the
    only read, carried back by the complete audit log; the map in force comes from git. Same days as the lockers."""
    completeness = _found(single, "inventory-completeness", "declared")
    classification = _found(single, "inventory-classification", "classified")
    assert completeness[GONE]["status"] == "pass", completeness[GONE]["message"]
    assert _state_days(completeness[GONE], "kept") == days_between("2026-07-01", "2026-08-14")
    assert _days(completeness[UNLISTED]) == (days_between("2026-07-20", "2026-08-14"), [])
    for resource in (GONE, UNLISTED):
        first = "2026-07-01" if resource == GONE else "2026-07-20"
        assert classification[resource]["status"] == "pass", classification[resource]["message"]
        assert _state_days(classification[resource], "kept") == days_between(first, "2026-08-14")
        assert _state_days(classification[resource], "not_applicable")[-1] == "2026-09-30"
        assert "deleted on 2026-08-14 12:00 UTC" in classification[resource]["message"]
    assert _found(single, "inventory-classification", "classified")[UNSEEN]["status"] == "inconclusive"


# --- 92 daily lockers (make type2): A through Aug 31, B Sep 1 .. Sep 29, C on Sep 30 -----------------------------

@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """One locker a day at 06:00 UTC, each with the configuration in force that day (about a minute: `make type2`)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take about a minute; run with `make type2` (TYPE2_DAILY=full)")
    if shutil.which("git") is None:
        pytest.skip("git is installed by .ci/run")
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    plan = [(day, "A" if day < dt.date(2026, 9, 1) else "B" if day < dt.date(2026, 9, 30) else "C") for day in days]
    return _collect(tmp_path_factory.mktemp("inv-policy-daily"), plan)


def test_daily_lockers_judge_each_day_by_its_own_configuration(daily):
    """The same days as the three lockers: the policy in force comes from each day's own locker now."""
    results, ids = daily
    classified = _found(results, "inventory-classification", "classified")
    assert _days(classified[RESTRICTED]) == (days_between("2026-07-01", "2026-08-31"), [])
    assert _days(classified[OLDKEY]) == (days_between("2026-09-01", "2026-09-29"), [])
    assert _days(classified[NEWKEY]) == (days_between("2026-07-01", "2026-08-31"), [])
    assert [t["locker"] for t in classified[RESTRICTED]["details"]["thresholds"]] == [
        ids[d] for d in ("2026-07-01", "2026-09-01", "2026-09-30")]
    (review,) = _found(results, "inventory-completeness", "reviewed").values()
    assert _days(review) == (days_between("2026-09-10", "2026-09-30"), [])


def test_daily_lockers_judge_deleted_stores_for_the_days_they_existed(daily):
    """unseen-pg is read by the lockers of Jul 1 .. Aug 10 now (deleted Aug 10 09:00): never in the map, so
    completeness is broken on exactly those days; labelled internal under A's key, so classification keeps them."""
    results, _ = daily
    completeness = _found(results, "inventory-completeness", "declared")
    classification = _found(results, "inventory-classification", "classified")
    assert completeness[GONE]["status"] == "pass" and classification[GONE]["status"] == "pass"
    assert _state_days(completeness[GONE], "kept") == days_between("2026-07-01", "2026-08-14")
    assert _days(completeness[UNLISTED]) == (days_between("2026-07-20", "2026-08-14"), [])
    assert _days(completeness[UNSEEN]) == (days_between("2026-07-01", "2026-08-10"), [])
    assert classification[UNSEEN]["status"] == "pass"
    assert _state_days(classification[UNSEEN], "kept") == days_between("2026-07-01", "2026-08-10")
    assert GONE not in _found(results, "inventory-completeness", "exists")
