"""A bucket a later complete listing no longer shows, in the inventory controls (issue 13, inv3; the 92-locker form
under `make type2`).

Cloud Storage's buckets.list records no time of absence and the facts read no storage.buckets.delete entry, so a bucket
an earlier locker listed and a later one does not had a lifetime with no end: the days after its deletion were judged
against maps that (rightly) no longer list it. Now (auditor.facts.inventory_days.listing_lifetimes) it is alive until
the last read that showed it and gone by the first moment every listing that had shown it (the project's
buckets.list, the asset search) was read again in full without it; the days between are unknown, the days after not
in its population. A failed listing proves nothing.

Three lockers collected from the simulator at 06:00 UTC on Aug 12, Sep 1 and Sep 30 (the period 2026-Q3). Project
invb-prod has three buckets, each labelled data-classification=internal, created 2025-01-01:

- keep-bkt: declared internal, never deleted;
- gone-bkt: declared internal, deleted Aug 20 12:00; removed from the map on Sep 5 10:00 (after the Sep 1 locker
  found it gone);
- never-bkt: never declared, deleted Aug 20 12:00;
- and a Spanner instance, gone-span (a store only the asset search lists), declared internal, deleted Aug 20 12:00 and
  removed from the map on Sep 5 like gone-bkt.

The data map lives in git: committed Jun 15 (keep-bkt, gone-bkt) and Sep 5 10:00 (keep-bkt only), so the map in
force is known on every day: the first version Jul 1 .. Sep 4, the second Sep 5 .. Sep 30.

Expected by hand, complete listings (Aug 12 shows both deleted buckets; Sep 1 and Sep 30 show neither): last seen
Aug 12 06:00, no longer listed Sep 1 06:00 (both its sources). Aug 12 (read that day) it existed; Aug 13 .. Sep 1 (Sep 1
began before the listing) it may have existed; from Sep 2 it did not.
- completeness, gone-bkt: in the map on every day it may have existed: kept Jul 1 .. Sep 1, not applicable Sep 2 ..
  Sep 30: pass (before inv3: broken Sep 5 .. Sep 30 against the second map: a false fail).
- completeness, never-bkt: broken Jul 1 .. Aug 12, unknown Aug 13 .. Sep 1, not applicable Sep 2 .. Sep 30: fail.
- completeness, gone-span: as gone-bkt (its only source, the project's asset search, no longer lists it on Sep 1).
- classification, gone-bkt: not applicable Sep 2 .. Sep 30, and Aug 12 .. Sep 1 unknown (the label timeline leaves
  the last sighting's day unknown too: it may have been gone for most of it).

Variant: locker 2's buckets.list denied (403). Its asset search still answered in full without the buckets, but the
bucket listing that had shown them was next read in full on Sep 30 06:00, so they are gone only by then: Aug 13 ..
Sep 30 unknown (Sep 30 began before that listing), no day not applicable.
- completeness, gone-bkt: kept Jul 1 .. Sep 4 (the first map lists it), unknown Sep 5 .. Sep 30: inconclusive, never a pass.
- completeness, never-bkt: broken Jul 1 .. Aug 12, unknown Aug 13 .. Sep 30: fail.
- completeness, gone-span: unchanged from the complete run (no bucket listing ever showed it): kept Jul 1 .. Sep 1,
  not applicable Sep 2 .. Sep 30.

A single run (the Aug 12 locker alone, one listing of each): nothing ends a lifetime; every bucket is judged alive
up to the evidence date, the days after it not due.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import pytest
import yaml
from testkit import days_between, fast_policy

from auditor.config import load_config
from auditor.facts.inventory_days import listing_lifetimes
from auditor.facts.stores import BUCKET_TYPE, LabelsSeen, StoreListing
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.faults import Fault
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
KEEP, GONE, NEVER = (f"//storage.googleapis.com/{n}" for n in ("keep-bkt", "gone-bkt", "never-bkt"))
SPAN = "//spanner.googleapis.com/projects/invb-prod/instances/gone-span"
LOCKER_DAYS = (dt.date(2026, 8, 12), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
LABELS = {"data-classification": "internal"}


def _bucket(name, deleted=None):
    out = {"name": name, "location": "US-EAST1", "labels": LABELS, "retention_days": 30, "versioning": True}
    if deleted:
        out["delete_time"] = deleted
    return out


SCENARIO = {
    "name": "inventory-bucket-gone", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "997", "display_name": "buckets.example"},
    "projects": [{"id": "invb-prod", "number": "447", "buckets": [
        _bucket("keep-bkt"), _bucket("gone-bkt", "2026-08-20T12:00:00Z"), _bucket("never-bkt", "2026-08-20T12:00:00Z")],
        "other_stores": [{"asset_type": "spanner.googleapis.com/Instance", "name": SPAN, "location": "us-east1",
                          "labels": LABELS, "delete_time": "2026-08-20T12:00:00Z"}]}],
}
ENTRY = {"owner": "team", "backup": "none", "classification": "internal"}
MAP_BEFORE = {"reviewed": "2026-06-01", "stores": [{"resource": KEEP, **ENTRY}, {"resource": GONE, **ENTRY},
                                                   {"resource": SPAN, **ENTRY}]}
MAP_AFTER = {"reviewed": "2026-06-01", "stores": [{"resource": KEEP, **ENTRY}]}


def _git(repo, *args, when=None):
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-c", "user.name=Data Owner", "-c", "user.email=owner@buckets.example", *args], cwd=repo,
                   env=env, check=True, capture_output=True)


def _config(root):
    (root / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Buckets Ltd", "period": {"quarter": "2026-Q3"},
        "gcp": {"projects": ["invb-prod"], "credentials": "anonymous"},
        "policy": {"country": "US", "classification_label": "data-classification", "inventory_review_interval": "365d",
                   "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}},
        "inventory": str(root / "map" / "inventory.yaml")}))
    return load_config(root / "auditor.yaml").model_copy(update={"github": None})


def _collect(root, days, deny_second_listing=False):
    """The map committed Jun 15, changed Sep 5 10:00 once the collection has passed that day; one locker a day given.
    `deny_second_listing`: the Sep 1 locker's buckets.list answers 403 (every other call as usual)."""
    folder = root / "map"
    folder.mkdir()
    (folder / "inventory.yaml").write_text(yaml.safe_dump(MAP_BEFORE))
    _git(folder, "init", "-q")
    _git(folder, "add", "inventory.yaml")
    _git(folder, "commit", "-q", "-m", "data map", when="2026-06-15T10:00:00+00:00")
    config = _config(root)
    dirs = []
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            if day > dt.date(2026, 9, 5) and yaml.safe_load((folder / "inventory.yaml").read_text()) != MAP_AFTER:
                (folder / "inventory.yaml").write_text(yaml.safe_dump(MAP_AFTER))
                _git(folder, "commit", "-q", "-am", "gone-bkt deleted", when="2026-09-05T10:00:00+00:00")
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            sim.faults.clear()
            if deny_second_listing and day == dt.date(2026, 9, 1):
                sim.faults.add(Fault(kind="status", status=403, reason="forbidden", api="storage", route="GET /storage/v1/b",
                                     message="The caller does not have storage.buckets.list access to the project."))
            with fast_policy():
                dirs.append(collect(config.with_endpoints(sim.url), root / f"locker-{day}" / "evidence").evidence_dir)
        sim.faults.clear()
    return evaluate(dirs)


def _needs_git():
    if shutil.which("git") is None:
        pytest.skip("git is installed by .ci/run")


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    _needs_git()
    return _collect(tmp_path_factory.mktemp("bucket-gone"), LOCKER_DAYS)


@pytest.fixture(scope="module")
def denied(tmp_path_factory):
    _needs_git()
    return _collect(tmp_path_factory.mktemp("bucket-gone-denied"), LOCKER_DAYS, deny_second_listing=True)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    _needs_git()
    return _collect(tmp_path_factory.mktemp("bucket-gone-single"), LOCKER_DAYS[:1])


def _found(results, control_id, rule):
    (control,) = [c for c in results["controls"] if c["id"] == control_id]
    return {f["resource"]: f for f in control["findings"] if f["rule"] == rule}


def _state_days(finding, state):
    return sorted(d for d, s in finding["details"]["days"].items() if s == state)


def test_a_bucket_no_longer_listed_is_judged_for_the_days_it_may_have_existed(complete):
    declared = _found(complete, "inventory-completeness", "declared")
    for resource in (GONE, SPAN):
        gone = declared[resource]
        assert gone["status"] == "pass", gone["message"]
        assert _state_days(gone, "kept") == days_between("2026-07-01", "2026-09-01"), resource
        assert _state_days(gone, "not_applicable") == days_between("2026-09-02", "2026-09-30"), resource
        assert "last seen on 2026-08-12 06:00 UTC and no longer listed on 2026-09-01 06:00 UTC" in gone["message"]
        assert "not in its population" in gone["message"]
        assert resource not in _found(complete, "inventory-completeness", "exists")  # removed after its deletion: correct
    keep = declared[KEEP]
    assert keep["status"] == "pass" and _state_days(keep, "kept") == days_between("2026-07-01", "2026-09-30")


def test_a_bucket_never_declared_fails_while_it_existed_and_is_unknown_until_the_listing_without_it(complete):
    never = _found(complete, "inventory-completeness", "declared")[NEVER]
    assert never["status"] == "fail", never["message"]
    assert never["details"]["exception_days"] == days_between("2026-07-01", "2026-08-12")
    assert never["details"]["unknown_days"] == days_between("2026-08-13", "2026-09-01")
    assert _state_days(never, "not_applicable") == days_between("2026-09-02", "2026-09-30")
    assert "no longer listed on 2026-09-01 06:00 UTC, so whether it still existed on" in never["message"]


def test_classification_of_a_bucket_no_longer_listed(complete):
    """The labels (internal, valid) are known from the first locker's asset history, which reaches back to Aug 12 06:00
    - 35 days + 30 min = Jul 8 06:30: kept Jul 8 .. Aug 11; unknown before (no read, no history); Aug 12 .. Sep 1 unknown
    (it may already have been gone: the label timeline does not count the last sighting's day as kept); not applicable
    from Sep 2. No day is broken, so never a fail; the unknown days make it inconclusive, with both reasons."""
    found = _found(complete, "inventory-classification", "classified")
    for resource in (GONE, NEVER):
        finding = found[resource]
        assert finding["status"] == "inconclusive", finding["message"]
        assert _state_days(finding, "kept") == days_between("2026-07-08", "2026-08-11"), resource
        assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-07-07") + days_between("2026-08-12", "2026-09-01")
        assert _state_days(finding, "not_applicable") == days_between("2026-09-02", "2026-09-30"), resource
        assert "no longer listed on 2026-09-01 06:00 UTC, so whether it still existed on 2026-08-12..2026-09-01" in finding["message"]
        assert "on 2026-07-01..2026-07-07: no read shows the labels then" in finding["message"]
    keep = found[KEEP]
    assert not _state_days(keep, "not_applicable")
    # each locker's asset history (its own 35 days, cut at its own read): Jul 8 06:30 .. Aug 12, Jul 28 06:30 .. Sep 1,
    # Aug 26 06:30 .. Sep 30, joined by the listings' reads: kept from Jul 8; before, nothing reaches (inv3: when only
    # the newest locker's view of the window was kept, Jul 8 .. Aug 11 and Aug 13 .. Aug 25 were unknown too)
    assert _state_days(keep, "kept") == days_between("2026-07-08", "2026-09-30")
    assert keep["details"]["unknown_days"] == days_between("2026-07-01", "2026-07-07")


def test_a_denied_listing_proves_nothing_the_days_stay_unknown_never_not_applicable(denied):
    declared = _found(denied, "inventory-completeness", "declared")
    gone, never = declared[GONE], declared[NEVER]
    assert gone["status"] == "inconclusive", gone["message"]
    assert _state_days(gone, "kept") == days_between("2026-07-01", "2026-09-04")
    assert gone["details"]["unknown_days"] == days_between("2026-09-05", "2026-09-30")
    assert never["status"] == "fail", never["message"]
    assert never["details"]["exception_days"] == days_between("2026-07-01", "2026-08-12")
    assert never["details"]["unknown_days"] == days_between("2026-08-13", "2026-09-30")
    span = declared[SPAN]  # the asset search that listed it answered in full on Sep 1: the denied bucket listing is no source of it
    assert span["status"] == "pass" and _state_days(span, "not_applicable") == days_between("2026-09-02", "2026-09-30")
    classified = _found(denied, "inventory-classification", "classified")
    for finding in (gone, never, classified[GONE], classified[NEVER]):
        assert not _state_days(finding, "not_applicable"), finding["message"]
        assert finding["status"] != "pass", finding["message"]


def test_a_single_run_ends_no_lifetime(single):
    """The Aug 12 locker alone: each bucket listed once; every day after the evidence date is not due, none is not
    applicable, and no message says a bucket went."""
    for control, rule in (("inventory-completeness", "declared"), ("inventory-classification", "classified")):
        found = _found(single, control, rule)
        assert set(found) == {KEEP, GONE, NEVER, SPAN}, control
        for finding in found.values():
            assert not _state_days(finding, "not_applicable"), (control, finding["message"])
            assert _state_days(finding, "not_due") == days_between("2026-08-13", "2026-09-30")
            assert "no longer listed" not in finding["message"] and "deleted" not in finding["message"]
    declared = _found(single, "inventory-completeness", "declared")
    assert declared[GONE]["status"] == "pass" and _state_days(declared[GONE], "kept") == days_between("2026-07-01", "2026-08-12")
    assert declared[NEVER]["details"]["exception_days"] == days_between("2026-07-01", "2026-08-12")


# --- the rule on hand-built reads ---------------------------------------------------------------------------------

def _at(day, hour=6):
    return dt.datetime(2026, 8, day, hour, 0, tzinfo=UTC)


def _seen(resource, when, source="storage buckets.list", scope="projects/p"):
    return LabelsSeen(resource, when, (), source, ("e",), scope)


BUCKETS = "storage buckets.list"
SEARCH = "cloudasset searchAllResources"


def test_every_source_that_showed_a_store_must_list_it_no_more():
    """b1: its listing and the search showed it on Aug 1; both read in full without it on Aug 10 (the search a minute
    later): gone by the later, 06:01. b2: the search never showed it (not indexed), its listing did: its listing
    alone ends it. b3: the search dropped it on Aug 10 while its own listing still showed it that day: alive."""
    search = ("storage.googleapis.com/Bucket", "sqladmin.googleapis.com/Instance")
    seen = [_seen("//storage.googleapis.com/b1", _at(1)), _seen("//storage.googleapis.com/b1", _at(1), SEARCH, "projects/p"),
            _seen("//storage.googleapis.com/b2", _at(1)),
            _seen("//storage.googleapis.com/b3", _at(1), SEARCH, "projects/p"), _seen("//storage.googleapis.com/b3", _at(10))]
    listings = [StoreListing(BUCKETS, "projects/p", _at(1), (BUCKET_TYPE,)), StoreListing(SEARCH, "projects/p", _at(1), search),
                StoreListing(BUCKETS, "projects/p", _at(10), (BUCKET_TYPE,)),
                StoreListing(SEARCH, "projects/p", _at(10) + dt.timedelta(minutes=1), search)]
    lives = listing_lifetimes(seen, listings)
    assert lives["//storage.googleapis.com/b1"] == (_at(1), _at(10) + dt.timedelta(minutes=1))
    assert lives["//storage.googleapis.com/b2"] == (_at(1), _at(10))
    assert lives["//storage.googleapis.com/b3"] == (_at(10), None)


def test_no_complete_listing_of_the_scope_and_type_ends_nothing():
    """A failed or partial listing records no StoreListing. What remains ends nothing: a listing of another project,
    a search that did not ask for buckets, a read without a scope (hand-built), a listing at the sighting itself."""
    seen = [_seen("//storage.googleapis.com/b1", _at(1)), _seen("//storage.googleapis.com/b2", _at(1), SEARCH, "projects/p"),
            _seen("//storage.googleapis.com/b3", _at(1), scope=None)]
    listings = [StoreListing(BUCKETS, "projects/q", _at(10), (BUCKET_TYPE,)), StoreListing(BUCKETS, "projects/p", _at(1)),
                StoreListing(SEARCH, "projects/p", _at(10), ("sqladmin.googleapis.com/Instance",))]
    lives = listing_lifetimes(seen, listings)
    assert all(gone is None for _alive, gone in lives.values()), lives


# --- 92 daily lockers (make type2) --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """One locker a day at 06:00 UTC, Jul 1 .. Sep 30 (about a minute: `make type2`)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take about a minute; run with `make type2` (TYPE2_DAILY=full)")
    _needs_git()
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    return _collect(tmp_path_factory.mktemp("bucket-gone-daily"), days)


def test_daily_lockers_end_a_lifetime_at_the_first_listing_after_the_deletion(daily):
    """Deleted Aug 20 12:00: last seen by the Aug 20 06:00 locker, no longer listed by the Aug 21 06:00 one, so only
    Aug 21 (which began before that listing) is unknown; Aug 22 .. Sep 30 are not in the population. gone-bkt and
    gone-span were in the map on every day they may have existed (kept Jul 1 .. Aug 21); never-bkt was not (broken
    Jul 1 .. Aug 20, Aug 21 unknown)."""
    declared = _found(daily, "inventory-completeness", "declared")
    for resource in (GONE, SPAN):
        gone = declared[resource]
        assert gone["status"] == "pass", gone["message"]
        assert _state_days(gone, "kept") == days_between("2026-07-01", "2026-08-21"), resource
        assert _state_days(gone, "not_applicable") == days_between("2026-08-22", "2026-09-30"), resource
        assert "last seen on 2026-08-20 06:00 UTC and no longer listed on 2026-08-21 06:00 UTC" in gone["message"]
    never = declared[NEVER]
    assert never["status"] == "fail", never["message"]
    assert never["details"]["exception_days"] == days_between("2026-07-01", "2026-08-20")
    assert never["details"]["unknown_days"] == ["2026-08-21"]
    assert _state_days(never, "not_applicable") == days_between("2026-08-22", "2026-09-30")
    assert _state_days(declared[KEEP], "kept") == days_between("2026-07-01", "2026-09-30")


def test_each_lockers_view_of_an_asset_history_window_ends_at_its_own_read():
    """The current window as the v1 reference gives it (endTime far in the future, or absent in older answers), read by
    two lockers: each ends at its own call's time (not at the merged lockers' evidence date), each is cut at its own
    readTimeWindow.startTime, and both are kept when the lockers merge."""
    from auditor.facts.sources import asset_history

    current = {"window": {"startTime": "2025-01-01T00:00:00Z", "endTime": "9999-12-31T23:59:59Z"}, "deleted": False,
               "asset": {"name": KEEP, "assetType": BUCKET_TYPE,
                         "resource": {"version": "v1", "discoveryName": "Bucket", "data": {"name": "keep-bkt", "labels": LABELS}}},
               "priorAssetState": "DOES_NOT_EXIST"}
    older = {**current, "window": {"startTime": "2025-01-01T00:00:00Z"}}
    emitted = []
    for body, read_from, read_at in ((current, "2026-07-08T06:30:00Z", "2026-08-12T06:00:05Z"),
                                     (older, "2026-08-26T06:30:00Z", "2026-09-30T06:00:05Z")):
        call = {"params": {"readTimeWindow": {"startTime": read_from}}, "server_date": read_at}
        asset_history.read(call, {"assets": [body]}, "e", lambda fact, item: emitted.append(item))
    kept = asset_history._windows(emitted)
    assert [(w.read_from, w.end) for w in kept] == [
        (dt.datetime(2026, 7, 8, 6, 30, tzinfo=UTC), dt.datetime(2026, 8, 12, 6, 0, 5, tzinfo=UTC)),
        (dt.datetime(2026, 8, 26, 6, 30, tzinfo=UTC), dt.datetime(2026, 9, 30, 6, 0, 5, tzinfo=UTC))]


def test_a_map_that_still_lists_a_bucket_no_longer_listed_is_wrong():
    """buckets.list items as the JSON API reference lays them out, read on Jul 3 06:00 and again, in full and without
    the bucket, on Jul 8 06:00 (period Jul 1 .. Jul 10, evidence date Jul 11 12:00). The newest map still declares it:
    the `exists` rule fails, naming both moments; its own days after Jul 8 are not in its population (Jul 8 began
    before that listing: unknown, as are Jul 1 .. Jul 7, whose map in force no version shows)."""
    from test_deleted_instance import AS_OF, PERIOD, config

    from auditor.checks import inventory_completeness
    from auditor.checks_api import CheckContext
    from auditor.facts.build import assemble
    from auditor.facts.sources import buckets
    from auditor.inventory import DeclaredInventory

    item = {"kind": "storage#bucket", "selfLink": "https://www.googleapis.com/storage/v1/b/exports-bkt", "id": "exports-bkt",
            "name": "exports-bkt", "projectNumber": "123456", "metageneration": "3", "location": "US-EAST1",
            "locationType": "region", "storageClass": "STANDARD", "etag": "CAM=", "timeCreated": "2025-03-01T10:00:00.000Z",
            "updated": "2026-06-01T10:00:00.000Z", "labels": {"data-classification": "restricted"}}
    emitted: dict[str, list] = {}

    def emit(fact, value, at=None):
        emitted.setdefault(fact, []).append(value)

    for when, body in (("2026-07-03T06:00:00Z", {"kind": "storage#buckets", "items": [item]}),
                       ("2026-07-08T06:00:00Z", {"kind": "storage#buckets"})):
        call = {"params": {"project": "p"}, "scope": "projects/p", "server_date": when}
        buckets.read(call, body, f"e-{when[:10]}", emit)
        buckets.on_complete(call, {}, emit)
    facts = assemble(AS_OF, ["p"], items={k: v for k, v in emitted.items() if k != "bucket_observations"},
                     answered=[("storage", "buckets.list", "projects/p")])
    resource = "//storage.googleapis.com/exports-bkt"
    newest = DeclaredInventory.model_validate({"reviewed": "2026-07-01", "stores": [
        {"resource": resource, "classification": "restricted", "owner": "data", "backup": "none"}]})
    ctx = CheckContext(config=config(), period=PERIOD, as_of=AS_OF, inventory=newest)
    found = {(f.resource, f.rule): f for f in inventory_completeness.evaluate(facts, ctx)}
    exists = found[(resource, "exists")]
    assert exists.status == "fail", exists.message
    assert "last seen on 2026-07-03 06:00 UTC and no longer listed on 2026-07-08 06:00 UTC" in exists.message
    declared = found[(resource, "declared")]
    assert declared.details["days"] == {**{f"2026-07-{d:02d}": "unknown" for d in range(1, 9)},
                                        "2026-07-09": "not_applicable", "2026-07-10": "not_applicable"}
