"""A store deleted during the period in the inventory controls (issue 13, inv2), on facts assembled by hand from the
FINAL backup transcribed in tests/test_deleted_instance.py (the Cloud SQL Admin v1 `Backup` resource: its
`instanceSettings` is the instance at deletion, labels in settings.userLabels).

The period is Jul 1 .. Jul 10; crm-mysql is deleted on Jul 6 12:00 (its FINAL backup started 11:54); the audit log
covers Jun 30 to the read, so the snapshot's labels hold back to Jul 1. The data map's git history: a version
committed Jun 1 that declares crm-mysql restricted, and one committed Jul 8 without it (removed after the deletion:
correct). Expected by hand: Jul 1 .. Jul 6 judged (it existed for part of Jul 6), Jul 7 .. Jul 10 not applicable.
"""

from __future__ import annotations

from datetime import datetime

from test_deleted_instance import AS_OF, DB, FINAL, PERIOD, UTC, config, days, read_final  # the transcribed FINAL backup

from auditor.checks import inventory_classification, inventory_completeness
from auditor.checks_api import CheckContext
from auditor.facts.build import assemble
from auditor.facts.history import build_history
from auditor.facts.inventory_days import build_inventory_days
from auditor.facts.sources import asset_history
from auditor.facts.model import ConfigChange, LogSpan
from auditor.facts.stores import MapVersion
from auditor.inventory import DeclaredInventory

DECLARED = DeclaredInventory.model_validate({"reviewed": "2026-06-01", "stores": [
    {"resource": DB, "classification": "restricted", "owner": "crm-team", "backup": "cloudsql-automated"}]})
REMOVED = DeclaredInventory.model_validate({"reviewed": "2026-07-08", "stores": []})
UNLABELLED = {**FINAL, "instanceSettings": {**FINAL["instanceSettings"], "settings": {
    k: v for k, v in FINAL["instanceSettings"]["settings"].items() if k != "userLabels"}}}


def _facts(payload=FINAL, maps=(DECLARED, REMOVED)):
    """The FINAL backup read (the same reader as test_deleted_instance), the logged deletion, the log's coverage, and
    the map's git history."""
    versions = [MapVersion(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), "git", maps[0], None, "sha-1", "c1", ("e-map-1",)),
                MapVersion(datetime(2026, 7, 8, 10, 0, tzinfo=UTC), "git", maps[1], None, "sha-2", "c2", ("e-map-2",))]
    items = {**read_final(payload), "sql_instances": [], "backup_runs": [], "inventory_versions": versions,
             "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-log")],
             "config_changes": [ConfigChange(DB, datetime(2026, 7, 6, 12, 0, tzinfo=UTC), "cloudsql.instances.delete", {},
                                             "ops@example.com", "log:del", deleted=True, evidence=("e-del",))]}
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")]
    return assemble(AS_OF, ["p"], items=items, answered=answered)


def _judge(check, facts, newest=REMOVED):
    ctx = CheckContext(config=config(), period=PERIOD, as_of=AS_OF, inventory=newest)
    return {f.resource: f for f in check.evaluate(facts, ctx) if f.rule in ("declared", "classified", "exists")}


def test_a_deleted_store_the_map_listed_while_it_existed_passes_both_controls():
    facts = _facts()
    for check in (inventory_completeness, inventory_classification):
        finding = _judge(check, facts)[DB]
        assert finding.status == "pass", (check.ID, finding.message)
        assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}, check.ID
        assert "deleted on 2026-07-06 12:00 UTC" in finding.message and "not in its population" in finding.message


def test_a_deleted_store_without_labels_is_judged_by_the_maps_of_its_days_not_by_the_newest():
    """No label at all: the newest map (without it, rightly) and no default would make a point-in-time reading say
    'no classification'; the days it existed had it declared restricted, so it passes."""
    finding = _judge(inventory_classification, _facts(UNLABELLED))[DB]
    assert finding.status == "pass", finding.message
    assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}


def test_a_deleted_store_never_in_the_map_fails_on_the_days_it_existed_only():
    finding = _judge(inventory_completeness, _facts(maps=(REMOVED, REMOVED)))[DB]
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == [f"2026-07-{d:02d}" for d in range(1, 7)]
    assert finding.details["days"] == {**days(1, 6, "broken"), **days(7, 10, "not_applicable")}


def test_a_map_that_still_lists_a_deleted_store_is_wrong():
    found = _judge(inventory_completeness, _facts(maps=(DECLARED, DECLARED)), newest=DECLARED)
    assert found[DB].rule == "exists" and found[DB].status == "fail"
    assert "deleted on 2026-07-06 12:00 UTC" in found[DB].message


def test_without_the_final_backup_read_the_days_are_not_passed():
    """Backups.list not answered: only the logged deletion shows the store, so its days are unknown, never kept."""
    deletion = ConfigChange(DB, datetime(2026, 7, 6, 12, 0, tzinfo=UTC), "cloudsql.instances.delete", {}, "ops@example.com",
                            "log:del", deleted=True, evidence=("e-del",))
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [], "config_changes": [deletion],
                                          "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c")]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("logging", "entries.list", "projects/p")])
    for check in (inventory_completeness, inventory_classification):
        finding = _judge(check, facts)[DB]
        assert finding.status == "inconclusive", (check.ID, finding.message)
        assert finding.details["unknown_days"] == [f"2026-07-{d:02d}" for d in range(1, 7)]


def test_a_deletion_the_asset_history_shows_ends_a_stores_lifetime():
    """A bucket's TemporalAssets as the v1 reference lays them out (window, deleted, asset): its content from Aug 20,
    then a `deleted` window from Sep 20 12:00 with the far-future endTime of the current content. Without a Cloud SQL
    history, the asset history's deletion ends its lifetime; a later window that is not deleted (re-created) undoes it."""
    bucket = "//storage.googleapis.com/my-bucket"
    content = {"window": {"startTime": "2026-08-20T00:00:00Z", "endTime": "2026-09-20T12:00:00Z"}, "deleted": False,
               "asset": {"name": bucket, "assetType": "storage.googleapis.com/Bucket",
                         "resource": {"version": "v1", "discoveryName": "Bucket",
                                      "data": {"name": "my-bucket", "timeCreated": "2024-01-01T00:00:00Z",
                                               "labels": {"data-classification": "internal"}}}},
               "priorAssetState": "PRESENT"}
    gone = {"window": {"startTime": "2026-09-20T12:00:00Z", "endTime": "9999-12-31T23:59:59Z"}, "deleted": True,
            "asset": {"name": bucket, "assetType": "storage.googleapis.com/Bucket"}, "priorAssetState": 1}
    back = {**content, "window": {"startTime": "2026-09-25T00:00:00Z"}, "priorAssetState": "DELETED"}
    as_of = datetime(2026, 9, 30, 6, 0, tzinfo=UTC)
    windows = [asset_history.window(w, datetime(2026, 8, 26, tzinfo=UTC), f"e-{n}") for n, w in enumerate((content, gone))]
    history = build_history([], [], [], [], [], [])
    life = build_inventory_days(None, [], [], [], [], windows, [], history, as_of).lifetime(bucket, None)
    assert life.gone_by == life.alive_until == datetime(2026, 9, 20, 12, 0, tzinfo=UTC)
    windows.append(asset_history.window(back, datetime(2026, 8, 26, tzinfo=UTC), "e-3"))
    assert build_inventory_days(None, [], [], [], [], windows, [], history, as_of).lifetime(bucket, None).gone_by is None
