"""A bucket's retention policy over time (auditor.facts.bucket_history) and backup-retention judging it day by day.

Readers first, on payloads transcribed from the Cloud Storage JSON API reference (Bucket resource:
`retentionPolicy {retentionPeriod (int64 seconds, as a string), effectiveTime, isLocked}`, absent when
the bucket has none) and from a published Admin Activity entry of a bucket update (methodName
`storage.buckets.update`, resourceName `projects/_/buckets/NAME`, resource type `gcs_bucket`, no
`request`). Then the sample company's case (samples/bangkok-solutions/scenario.yaml, branch src block):
bks-analytics-exports' policy removed Sep 8 14:00 and set again Sep 12 10:00. Days written by hand.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import yaml
from testkit import days_between

from auditor.config import PeriodConfig, load_config
from auditor.facts.bucket_history import NO_POLICY, Retention, bucket_change, build_bucket_history, of_bucket
from auditor.facts.model import LogSpan
from auditor.facts.sources.buckets import bucket
from auditor.period import Period
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.quota import Quota
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
BUCKET = "//storage.googleapis.com/bks-analytics-exports"
INSTANCE = "//cloudsql.googleapis.com/projects/bkt-prod/instances/exports-pg"
THIRTY_DAYS = "2592000"

# -- the Bucket resource, as the JSON API reference shows it ---------------------------------------------

LOCKED = {"kind": "storage#bucket", "id": "exports", "name": "exports", "projectNumber": "123", "location": "US-EAST1",
          "timeCreated": "2026-01-05T10:00:00.000Z", "updated": "2026-01-05T10:00:00.000Z",
          "retentionPolicy": {"retentionPeriod": THIRTY_DAYS, "effectiveTime": "2026-01-05T10:00:00.000Z", "isLocked": True}}
UNLOCKED_NO_FLAG = {**LOCKED, "retentionPolicy": {"retentionPeriod": "604800", "effectiveTime": "2026-02-01T00:00:00Z"}}
WITHOUT = {k: v for k, v in LOCKED.items() if k != "retentionPolicy"}


def test_a_locked_policy_is_read_with_its_period_lock_and_effective_time():
    read = bucket(LOCKED, "p", "item-1")
    assert read.retention_seconds == 2592000 and read.retention_locked is True
    assert read.retention_effective == dt.datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert of_bucket(read) == Retention(2592000, True) and of_bucket(read).days == 30


def test_a_policy_without_isLocked_is_unlocked():
    read = bucket(UNLOCKED_NO_FLAG, "p", "item-1")
    assert read.retention_locked is False and of_bucket(read) == Retention(604800, False)


def test_a_bucket_without_a_policy_has_none():
    read = bucket(WITHOUT, "p", "item-1")
    assert read.retention_seconds is None and of_bucket(read) == NO_POLICY


# -- Admin Activity entries of a bucket update -------------------------------------------------------------

ENTRY = {  # a published storage.buckets.update entry (a gsutil notification change): no request is logged
    "insertId": "asdf1234asdfg",
    "logName": "projects/gcp-project1/logs/cloudaudit.googleapis.com%2Factivity",
    "protoPayload": {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {"principalEmail": "user@company.io"},
        "authorizationInfo": [{"granted": True, "permission": "storage.buckets.update",
                               "resource": "projects/_/buckets/my-bucket", "resourceAttributes": {}}],
        "methodName": "storage.buckets.update",
        "requestMetadata": {"callerIP": "1.2.3.4", "requestAttributes": {"auth": {}, "time": "2023-03-09T10:05:23.610372568Z"}},
        "resourceName": "projects/_/buckets/my-bucket",
        "serviceName": "storage.googleapis.com",
        "status": {},
    },
    "receiveTimestamp": "2023-03-09T10:05:25.146Z",
    "resource": {"labels": {"bucket_name": "my-bucket", "location": "us-east1", "project_id": "gcp-project1"}, "type": "gcs_bucket"},
    "severity": "NOTICE",
    "timestamp": "2023-03-09T10:05:23.603Z",
}


def _with(**proto):
    return {**ENTRY, "protoPayload": {**ENTRY["protoPayload"], **proto}}


def test_an_update_logged_without_its_request_carries_no_new_policy():
    change = bucket_change(ENTRY, "page-1")
    assert change.bucket == "//storage.googleapis.com/my-bucket" and change.project == "gcp-project1"
    assert change.time == dt.datetime(2023, 3, 9, 10, 5, 23, 603000, tzinfo=UTC)
    assert change.retention is None and change.key == "log:asdf1234asdfg" and change.evidence == ("page-1",)
    assert change.principal == "user@company.io"


def test_a_logged_request_that_removes_the_policy_says_so():
    assert bucket_change(_with(request={"retentionPolicy": None}), "p").retention == NO_POLICY
    assert bucket_change(_with(request={"bucket": {"retentionPolicy": {}}}), "p").retention == NO_POLICY


def test_a_logged_request_that_sets_the_policy_gives_its_period_and_lock():
    set_ = bucket_change(_with(request={"retentionPolicy": {"retentionPeriod": THIRTY_DAYS}}), "p")
    assert set_.retention == Retention(2592000, False)
    nested = bucket_change(_with(request={"bucket": {"retentionPolicy": {"retentionPeriod": "86400", "isLocked": True}}}), "p")
    assert nested.retention == Retention(86400, True)


def test_a_logged_request_that_does_not_name_the_policy_is_unknown_not_unchanged():
    # a patch of labels and an update that dropped the policy look the same: unknown until the next read
    assert bucket_change(_with(request={"labels": {"team": "data"}}), "p").retention is None


def test_a_failed_update_changed_nothing_and_other_methods_are_not_bucket_changes():
    assert bucket_change(_with(status={"code": 7, "message": "PERMISSION_DENIED"}), "p") is None
    assert bucket_change(_with(methodName="storage.setIamPermissions"), "p") is None
    no_name = {**ENTRY, "resource": {"type": "gcs_bucket", "labels": {}}, "protoPayload": {**ENTRY["protoPayload"], "resourceName": ""}}
    assert bucket_change(no_name, "p") is None


# -- the timeline rule on a bucket ----------------------------------------------------------------------------

def _period():
    return Period.from_config(PeriodConfig(quarter="2026-Q3"))


def _read(day, seconds=2592000, locked=False):
    from dataclasses import replace

    data = dict(LOCKED, retentionPolicy={"retentionPeriod": str(seconds), "isLocked": locked}) if seconds else WITHOUT
    return replace(bucket({**data, "name": "exports"}, "p", f"read-{day}"),
                   observed_at=dt.datetime.fromisoformat(f"{day}T06:00:00+00:00"))


def _change(moment, retention):
    from auditor.facts.bucket_history import BucketChange

    return BucketChange("//storage.googleapis.com/exports", "p", dt.datetime.fromisoformat(moment), "storage.buckets.update",
                        retention, None, f"log:{moment}", (f"page-{moment}",))


def _states(observations, changes, covered_to):
    span = LogSpan("projects/p", dt.datetime(2026, 6, 30, tzinfo=UTC), covered_to, "c-1")
    history = build_bucket_history(observations, changes, [span])
    period = _period()
    states = history.day_states("//storage.googleapis.com/exports", period, covered_to,
                                weak=lambda r: r.seconds is None or r.seconds < 7 * 86400)
    return {d.isoformat(): s for d, s in states.items()}


def test_one_read_after_an_unlogged_removal_and_restore_leaves_the_days_before_the_restore_unknown():
    states = _states([_read("2026-09-30")], [_change("2026-09-08T14:00:00+00:00", None),
                                             _change("2026-09-12T10:00:00+00:00", None)],
                     dt.datetime(2026, 9, 30, 6, 30, tzinfo=UTC))
    assert [d for d, s in states.items() if s == "unknown"] == days_between("2026-07-01", "2026-09-12")
    assert [d for d, s in states.items() if s == "kept"] == days_between("2026-09-13", "2026-09-30")


def test_a_logged_removal_is_broken_from_its_moment_to_the_logged_restore():
    states = _states([_read("2026-09-30")], [_change("2026-09-08T14:00:00+00:00", NO_POLICY),
                                             _change("2026-09-12T10:00:00+00:00", Retention(2592000, False))],
                     dt.datetime(2026, 9, 30, 6, 30, tzinfo=UTC))
    assert [d for d, s in states.items() if s == "broken"] == days_between("2026-09-08", "2026-09-12")
    assert [d for d, s in states.items() if s == "unknown"] == days_between("2026-07-01", "2026-09-07")


def test_a_removal_read_by_the_next_days_locker_is_broken_even_unlogged():
    reads = [_read("2026-09-08"), _read("2026-09-09", seconds=None), _read("2026-09-13")]
    states = _states(reads, [_change("2026-09-08T14:00:00+00:00", None), _change("2026-09-12T10:00:00+00:00", None)],
                     dt.datetime(2026, 9, 13, 6, 30, tzinfo=UTC))
    # Sep 8: the removal is joined to the Sep 9 read (no policy) by the complete query in between; the Sep 9
    # read holds until the Sep 12 10:00 update; that update's value is what the Sep 13 read shows
    assert [d for d, s in states.items() if s == "broken"] == days_between("2026-09-08", "2026-09-12")
    assert [d for d, s in states.items() if s == "unknown"] == []
    assert states["2026-09-07"] == "kept" and states["2026-09-13"] == "kept" and states["2026-09-14"] == "not_due"


def test_a_query_that_did_not_ask_for_bucket_updates_covers_nothing_for_buckets():
    history = build_bucket_history([_read("2026-09-30")], [], [])  # an older locker's query: Cloud SQL only
    states = history.day_states("//storage.googleapis.com/exports", _period(), dt.datetime(2026, 9, 30, 6, 30, tzinfo=UTC),
                                weak=lambda r: r.seconds is None)
    assert {d.isoformat(): s for d, s in states.items() if s != "unknown"} == {"2026-09-30": "kept"}


# -- over real HTTP: the sample company's bucket in a small scenario -------------------------------------------

def _sample_bucket(sample_dir):
    data = yaml.safe_load((sample_dir / "scenario.yaml").read_text())
    (project,) = [p for p in data["projects"] if p["id"] == "bks-analytics"]
    return next(b for b in project["buckets"] if b["name"] == "bks-analytics-exports")


def _setup(root, sample_dir, body_logged):
    spell = dict(_sample_bucket(sample_dir))
    spell["retention_removed"] = [{**r, "body_logged": body_logged} for r in spell["retention_removed"]]
    scenario = parse_scenario({
        "name": "bucket", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
        "organization": {"id": "995", "display_name": "bucket.example"},
        "projects": [{"id": "bkt-prod", "number": "336", "buckets": [spell], "sql_instances": [
            {"name": "exports-pg", "region": "us-west1", "database_version": "POSTGRES_16",
             "labels": {"data-classification": "internal"},
             "backup": {"enabled": True, "start_time": "04:00", "location": "us-east1", "retained_backups": 7}}]}],
    })
    (root / "inventory.yaml").write_text(yaml.safe_dump({
        "reviewed": "2026-06-30", "owner": "data@bucket.example",
        "stores": [{"resource": "//cloudsql.googleapis.com/projects/bkt-prod/instances/exports-pg", "classification": "internal",
                    "owner": "data", "backup": ["cloudsql-automated", {"backup-bucket": BUCKET}]},
                   {"resource": BUCKET, "classification": "internal", "owner": "data"}]}))
    configs = {}
    for minimum in (7, 45):
        folder = root / f"config-{minimum}"
        folder.mkdir(exist_ok=True)
        (folder / "auditor.yaml").write_text(yaml.safe_dump({
            "organization": "Bucket Ltd", "period": {"quarter": "2026-Q3"}, "inventory": str(root / "inventory.yaml"),
            "gcp": {"projects": ["bkt-prod"], "credentials": "anonymous"},
            "policy": {"country": "US", "classifications": {"internal": {
                "backup_interval": "24h", "retention_min_days": minimum, "retention_max_days": 90}}}}))
        configs[minimum] = load_config(folder / "auditor.yaml").model_copy(update={"github": None})
    return scenario, configs


def _run(root, scenario, configs, days, raised_from=None):
    dirs, ids = [], {}
    # no Logging read quota: the lockers stand for collections a day apart, made here seconds apart
    with Simulator(scenario, port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC), quota=Quota(limits=[])) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = configs[45 if raised_from and day >= raised_from else 7]
            run = collect(config.with_endpoints(sim.url), root / f"day-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    results = evaluate(dirs)
    (control,) = [c for c in results["controls"] if c["id"] == "backup-retention"]
    found = {f["resource"]: f for f in control["findings"]}
    ids["instance"] = found[INSTANCE]
    return found[BUCKET], ids


def test_one_run_with_the_updates_logged_shows_the_removal_days(sample_dir, tmp_path):
    scenario, configs = _setup(tmp_path, sample_dir, body_logged=True)
    finding, _ = _run(tmp_path, scenario, configs, [dt.date(2026, 9, 30)])
    assert finding["status"] == "fail"
    assert finding["details"]["exception_days"] == days_between("2026-09-08", "2026-09-12")
    # a change says what it set, not what was there before: nothing is carried back past Sep 8
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-07")


def test_a_few_lockers_unlogged_updates_and_a_raised_minimum_from_a_later_lockers_configuration(sample_dir, tmp_path):
    """Lockers Sep 1, Sep 13 (minimum 7 days) and Sep 21 (its configuration raises the minimum to 45): the
    30-day policy is short from Sep 21; Sep 8..12 lie between a read and unlogged updates: unknown."""
    scenario, configs = _setup(tmp_path, sample_dir, body_logged=False)
    days = [dt.date(2026, 9, 1), dt.date(2026, 9, 13), dt.date(2026, 9, 21)]
    finding, ids = _run(tmp_path, scenario, configs, days, raised_from=dt.date(2026, 9, 21))
    assert finding["status"] == "fail"
    assert finding["details"]["exception_days"] == ["2026-09-21"]
    assert finding["details"]["unknown_days"] == days_between("2026-09-08", "2026-09-12")
    assert finding["details"]["days"]["2026-09-20"] == "kept" and finding["details"]["days"]["2026-07-01"] == "kept"
    assert finding["details"]["days"]["2026-09-22"] == "not_due"
    assert "policy.classifications.internal.retention_min_days was 7 days until 2026-09-20, 45 days from 2026-09-21" in finding["message"]
    assert ids["2026-09-21"] in finding["message"]
    assert "logged without the request body" in finding["message"]
    # the Cloud SQL instance's 7 retained daily backups: within the 7-day minimum, short of the 45 from Sep 21
    instance = ids["instance"]
    assert instance["details"]["exception_days"] == ["2026-09-21"] and instance["details"]["unknown_days"] == []
    assert "policy.classifications.internal.retention_min_days was 7 days until 2026-09-20, 45 days from 2026-09-21" in instance["message"]
    assert ids["2026-09-21"] in instance["message"]


@pytest.mark.parametrize("body_logged", [True, False])
def test_daily_lockers_show_exactly_the_removal_days_logged_or_not(sample_dir, tmp_path, body_logged):
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers: run with `make type2` (TYPE2_DAILY=full)")
    scenario, configs = _setup(tmp_path, sample_dir, body_logged)
    finding, _ = _run(tmp_path, scenario, configs, [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)])
    assert finding["status"] == "fail"
    assert finding["details"]["exception_days"] == days_between("2026-09-08", "2026-09-12")
    assert finding["details"]["unknown_days"] == []
