"""Rule edges of the inventory and backup-location/retention checks, on hand-made facts."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.checks import backup_cross_region, backup_retention, inventory_classification, inventory_completeness
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.facts.build import assemble
from auditor.facts.model import BackupAttempt, LogSpan, SqlInstance, sql_resource
from auditor.facts.stores import Asset, Bucket, LifecycleDelete, MapVersion
from auditor.inventory import parse_inventory
from auditor.period import Period

AS_OF = datetime(2026, 9, 30, 2, tzinfo=timezone.utc)
ORG = "organizations/42"


def ctx(inventory_text=None, accept=False):
    config = Config.model_validate({
        "organization": "T", "period": {"quarter": "2026-Q3"}, "gcp": {"organization": "42", "credentials": "anonymous"},
        "policy": {"accept_multi_region": accept, "classifications": {
            "restricted": {"retention_min_days": 30, "retention_max_days": 400, "point_in_time_recovery": True},
            "internal": {"retention_min_days": 7, "retention_max_days": 90}}}})
    inventory = parse_inventory(inventory_text, Path("inv.yaml")) if inventory_text else None
    return CheckContext(config=config, period=Period.from_config(config.period), as_of=AS_OF, inventory=inventory)


def instance(name="db", region="us-east1", location="us-west1", retained=30, **kw):
    base = dict(resource=sql_resource("p", name), project="p", name=name, region=region, database_version="POSTGRES_16",
                state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                labels={"data-classification": "restricted"}, create_time=datetime(2025, 1, 1, tzinfo=timezone.utc),
                backup_enabled=True, backup_start_time=None, backup_location=location, pitr_enabled=True,
                log_retention_days=7, retained_backups=retained, backup_tier=None, kms_key=None, master=None, evidence=("e-1",),
                observed_at=AS_OF)  # a dated read: with the audit-log coverage below it holds for the whole period
    base.update(kw)
    return SqlInstance(**base)


def run(resource, location):
    return BackupAttempt(instance=resource, window_start=datetime(2026, 9, 29, 3, tzinfo=timezone.utc), outcome="succeeded",
                         source="backup-run", raw_status="SUCCESSFUL", backup_time=None, key=f"run:{location}",
                         evidence=("e-2",), location=location)


def git_map(text, when=datetime(2026, 6, 1, tzinfo=timezone.utc)):
    """The data map as committed to its git repository at `when` (in force from then: auditor.facts.inventory_days)."""
    return MapVersion(when, "git", parse_inventory(text, Path("inv.yaml")), None, "sha-of-map", "c0ffee", ("e-map",))


def facts(*instances, runs=(), assets=(), buckets=(), maps=()):
    covered = [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=timezone.utc), AS_OF, "c-log")]  # a complete log query
    return assemble(AS_OF, ["p"], items={"sql_instances": list(instances), "backup_runs": list(runs), "assets": list(assets),
                                         "buckets": list(buckets), "log_coverage": covered, "inventory_versions": list(maps),
                                         # each bucket read dated, and the query asked for bucket updates: it holds all period
                                         "bucket_observations": list(buckets), "bucket_log_coverage": covered},
                    answered=[("sqladmin", "instances.list", "projects/p"), ("storage", "buckets.list", "projects/p"),
                              ("sqladmin", "backupRuns.list", "projects/p"), ("sqladmin", "Backups.list", "projects/p"),
                              ("cloudasset", "searchAllResources", ORG)],
                    gcp={"organization": "42"}, project_numbers={"7": "p"})


def asset(resource, asset_type, labels=None, created=datetime(2025, 1, 1, tzinfo=timezone.utc)):
    return Asset(resource, asset_type, "7", "us-east1", labels or {}, created, ORG, ("e-3",))


def by_resource(findings):
    return {f.resource: f for f in findings}


def test_replica_is_not_applicable():
    replica = instance("rep", instance_type="READ_REPLICA_INSTANCE", master="db", backup_location=None)
    found = by_resource(backup_cross_region.evaluate(facts(replica), ctx()))
    assert found[replica.resource].status == "not_applicable"
    assert by_resource(backup_retention.evaluate(facts(replica), ctx()))[replica.resource].status == "not_applicable"


def test_configuration_contradicted_by_where_runs_landed():
    db = instance(location="us-west1")
    finding = by_resource(backup_cross_region.evaluate(facts(db, runs=[run(db.resource, "us-central1")]), ctx()))[db.resource]
    assert finding.status == "fail" and "says us-west1" in finding.message and "us-central1" in finding.message


def test_agreeing_configuration_and_runs_pass_and_no_runs_is_inconclusive():
    db = instance(location="us-west1")
    assert by_resource(backup_cross_region.evaluate(facts(db, runs=[run(db.resource, "us-west1")]), ctx()))[db.resource].status == "pass"
    assert by_resource(backup_cross_region.evaluate(facts(db), ctx()))[db.resource].status == "inconclusive"


def test_unset_location_is_the_nearest_multi_region_and_says_so():
    db = instance(location=None)
    refused = by_resource(backup_cross_region.evaluate(facts(db, runs=[run(db.resource, "us")]), ctx()))[db.resource]
    assert refused.status == "fail" and "nearest multi-region (US)" in refused.message
    accepted = by_resource(backup_cross_region.evaluate(facts(db, runs=[run(db.resource, "us")]), ctx(accept=True)))[db.resource]
    assert accepted.status == "pass" and "accept_multi_region" in accepted.message


def test_unknown_region_never_passes():
    db = instance(region="us-east1", location="atlantis1")
    finding = by_resource(backup_cross_region.evaluate(facts(db, runs=[run(db.resource, "atlantis1")]), ctx()))[db.resource]
    assert finding.status == "fail" and "not a known" in finding.message


def test_asset_only_store_is_listed_inconclusive_in_backup_controls():
    spanner = asset("//spanner.googleapis.com/projects/p/instances/s", "spanner.googleapis.com/Instance")
    for check in (backup_cross_region, backup_retention):
        finding = by_resource(check.evaluate(facts(assets=[spanner]), ctx()))[spanner.resource]
        assert finding.status == "inconclusive" and "Spanner" in finding.message


def _bucket(**kw):
    base = dict(resource="//storage.googleapis.com/bk", name="bk", project="p", project_number="7", location="us-west1",
                location_type="region", data_locations=(), kms_key=None, retention_seconds=35 * 86400, retention_locked=True,
                retention_effective=None, soft_delete_seconds=7 * 86400, versioning=False,
                lifecycle_deletes=(LifecycleDelete(365, {"age": 365}),), labels={}, create_time=None, evidence=("e-4",),
                observed_at=AS_OF)
    base.update(kw)
    return Bucket(**base)


INVENTORY = """
reviewed: 2026-06-01
stores:
  - resource: //cloudsql.googleapis.com/projects/p/instances/db
    classification: restricted
    owner: team
    backup: [cloudsql-automated, {backup-bucket: //storage.googleapis.com/bk}]
"""


def test_backup_bucket_retention_locked_passes_unlocked_fails():
    db = instance()
    good = by_resource(backup_retention.evaluate(facts(db, buckets=[_bucket()]), ctx(INVENTORY)))["//storage.googleapis.com/bk"]
    assert good.status == "pass", good.message
    unlocked = by_resource(backup_retention.evaluate(facts(db, buckets=[_bucket(retention_locked=False)]), ctx(INVENTORY)))
    assert unlocked["//storage.googleapis.com/bk"].status == "fail" and "not locked" in unlocked["//storage.googleapis.com/bk"].message
    early = by_resource(backup_retention.evaluate(facts(db, buckets=[_bucket(lifecycle_deletes=(LifecycleDelete(5, {}),))]), ctx(INVENTORY)))
    assert "after 5 days" in early["//storage.googleapis.com/bk"].message


def test_backup_bucket_in_the_sources_region_fails():
    db = instance(region="us-west1")
    found = by_resource(backup_cross_region.evaluate(facts(db, runs=[run(db.resource, "us-west1")], buckets=[_bucket()]), ctx(INVENTORY)))
    assert found["//storage.googleapis.com/bk"].status == "fail" and "same region" in found["//storage.googleapis.com/bk"].message


def test_retention_below_and_above_the_classification():
    low, high = instance("low", retained=14), instance("high", retained=120, labels={"data-classification": "internal"})
    found = by_resource(backup_retention.evaluate(facts(low, high), ctx()))
    assert found[low.resource].status == "fail" and "below the 30-day minimum" in found[low.resource].message
    assert found[high.resource].status == "fail" and "beyond the 90-day maximum" in found[high.resource].message


def test_declared_classification_wins_over_the_label():
    db = instance(retained=14, labels={"data-classification": "internal"})  # internal would accept 14 days
    text = INVENTORY.replace("backup: [cloudsql-automated, {backup-bucket: //storage.googleapis.com/bk}]", "backup: cloudsql-automated")
    assert by_resource(backup_retention.evaluate(facts(db), ctx(text)))[db.resource].status == "fail"
    cls = by_resource(inventory_classification.evaluate(facts(db), ctx(text)))[db.resource]
    assert cls.status == "fail" and "'restricted'" in cls.message and "'internal'" in cls.message


def test_completeness_lag_unregistered_and_missing():
    db = instance()
    young = instance("young", create_time=datetime(2026, 9, 29, 22, tzinfo=timezone.utc))
    stray = asset("//storage.googleapis.com/stray", "storage.googleapis.com/Bucket")
    text = INVENTORY + """  - resource: //cloudsql.googleapis.com/projects/p/instances/gone
    classification: internal
    owner: team
  - resource: //cloudsql.googleapis.com/projects/elsewhere/instances/x
    classification: internal
    owner: team
"""
    f = facts(db, young, assets=[asset(db.resource, "sqladmin.googleapis.com/Instance"), stray], maps=[git_map(text)])
    f.stores.buckets = []
    findings = inventory_completeness.evaluate(f, ctx(text))
    found = by_resource(findings)
    assert found[db.resource].status == "pass", found[db.resource].message
    assert found[young.resource].status == "fail" and "created 2026-09-29 22:00 UTC" in found[young.resource].message
    # broken from its creation day on (the map in force never had it), not applicable before
    assert found[young.resource].details["exception_days"] == ["2026-09-29", "2026-09-30"]
    assert found[young.resource].details["days"]["2026-09-28"] == "not_applicable"
    rules = {x.rule: x for x in findings}
    assert "population-sqladmin" not in rules, "a 4-hour-old instance is index lag, not a mismatch"
    assert rules["population-storage"].observed["missing_from_admin_api"] == ["stray"]
    assert found["//cloudsql.googleapis.com/projects/p/instances/gone"].status == "fail"
    outside = found["//cloudsql.googleapis.com/projects/elsewhere/instances/x"]
    assert outside.status == "fail" and "not part of the audited scope" in outside.message
    assert rules["reviewed"].status == "pass"


def test_without_the_maps_past_versions_past_days_are_unknown_and_say_why():
    """One locker, no git history: only the evidence date's map is known; a store it declares is not shown
    declared on July 1 (inconclusive, with the reason), and an unregistered one still fails on that day."""
    db, young = instance(), instance("young", create_time=datetime(2026, 9, 29, 22, tzinfo=timezone.utc))
    f = facts(db, young, assets=[asset(db.resource, "sqladmin.googleapis.com/Instance"),
                                 asset(young.resource, "sqladmin.googleapis.com/Instance")])
    found = by_resource(inventory_completeness.evaluate(f, ctx(INVENTORY)))
    declared = found[db.resource]
    assert declared.status == "inconclusive" and "past versions are unknown" in declared.message
    assert declared.details["unknown_days"][0] == "2026-07-01" and declared.details["days"]["2026-09-30"] == "kept"
    assert found[young.resource].status == "fail" and found[young.resource].details["exception_days"] == ["2026-09-30"]
    assert found[young.resource].details["unknown_days"] == ["2026-09-29"]


def test_old_instance_missing_from_the_index_is_a_population_mismatch():
    old = instance("old")
    found = by_resource(backup_cross_region.evaluate(facts(old, runs=[run(old.resource, "us-west1")]), ctx()))
    mismatch = found["//cloudresourcemanager.googleapis.com/projects/p"]
    assert mismatch.status == "inconclusive" and mismatch.observed["admin_api_count"] == 1
    assert mismatch.observed["asset_inventory_count"] == 0


def test_stale_map_fails():
    stale = INVENTORY.replace("2026-06-01", "2025-06-30")
    (reviewed,) = [f for f in inventory_completeness.evaluate(facts(instance()), ctx(stale)) if f.rule == "reviewed"]
    assert reviewed.status == "fail" and "457 days" in reviewed.message


def test_no_inventory_is_inconclusive_not_pass():
    findings = inventory_completeness.evaluate(facts(instance()), ctx())
    assert [f.status for f in findings] == ["inconclusive"]


@pytest.mark.parametrize("text,needle", [
    ("reviewed: 2026-01-01\nstores:\n  - resource: not-a-name\n    classification: x\n    owner: o\n", "inv.yaml:3: stores.0.resource"),
    ("reviewed: 2026-01-01\nstores: []\nsurprise: 1\n", "inv.yaml:3: surprise: unknown key"),
    ("reviewed: 2026-01-01\nstores:\n  - resource: //storage.googleapis.com/a\n    classification: x\n    owner: o\n"
     "    backup: {backup-bucket: gs://a}\n", "is not a bucket's full resource name"),
])
def test_inventory_errors_name_file_line_and_key(text, needle):
    with pytest.raises(ConfigError, match="invalid inventory") as err:
        parse_inventory(text, Path("inv.yaml"))
    assert needle in str(err.value)
