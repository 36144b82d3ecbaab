"""A backup bucket's retention-policy lock judged day by day (issue 13, ret2: auditor.facts.bucket_history), and an
instance deleted mid-quarter judged by backup-retention for the days it existed, over real HTTP.

Readers first. The Bucket payloads are transcribed from the Cloud Storage JSON API reference's Bucket resource
(`retentionPolicy {retentionPeriod (int64 seconds, as a string), effectiveTime, isLocked}`, absent when the
bucket has none). No published Admin Activity entry of a lock was found: the lock entry below is the published
`storage.buckets.update` entry (tests/test_bucket_history.py's ENTRY) with the methodName the JSON API reference
gives the method, `storage.buckets.lockRetentionPolicy` (unconfirmed for the log: the module docstring).

The rule, by hand: locking is permanent (the reference: "Permanently locks ... an irreversible action"), so the
policy is locked from the first moment the evidence shows it (a lock entry, a read showing `isLocked: true`);
the first lock entry also says it was unlocked just before; `effectiveTime` is when the period took effect and
says nothing of the lock. Where the classification is `immutable`, a day with an unlocked moment is an
exception, a day no evidence covers is unknown.

The HTTP scenario: lock-exports (30-day policy, locked Aug 20 10:00) holds exports-pg's exports; gone-pg (7
daily backups, internal: 7..90 days) is deleted Aug 14 12:00 with a 60-day final backup. The suite runs one
quarter-end run and three lockers; the 92 daily lockers run under `make type2` (TYPE2_DAILY=full).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

import pytest
import yaml
from test_bucket_history import ENTRY
from testkit import days_between

from auditor.config import PeriodConfig, load_config
from auditor.facts.bucket_history import LOCK_METHOD, BucketChange, bucket_change, build_bucket_history, of_bucket
from auditor.facts.model import LogSpan
from auditor.facts.sources.buckets import bucket
from auditor.period import Period
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.quota import Quota
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
NAME = "//storage.googleapis.com/exports"
BASE = {"kind": "storage#bucket", "id": "exports", "name": "exports", "projectNumber": "123", "location": "US-EAST1",
        "timeCreated": "2026-01-05T10:00:00.000Z", "updated": "2026-01-05T10:00:00.000Z", "metageneration": "3"}
ABSENT = dict(BASE)
UNLOCKED = {**BASE, "retentionPolicy": {"retentionPeriod": "2592000", "effectiveTime": "2026-01-05T10:00:00.000Z"}}
LOCKED = {**BASE, "retentionPolicy": {"retentionPeriod": "2592000", "effectiveTime": "2026-01-05T10:00:00.000Z",
                                      "isLocked": True}}
LOCK_AT = dt.datetime(2026, 8, 20, 10, 0, tzinfo=UTC)
END = dt.datetime(2026, 9, 30, 6, 30, tzinfo=UTC)


def test_the_lock_is_read_from_isLocked_and_a_policy_without_it_is_unlocked():
    assert of_bucket(bucket(LOCKED, "p", "i")).locked is True
    assert of_bucket(bucket(UNLOCKED, "p", "i")).locked is False
    assert of_bucket(bucket(ABSENT, "p", "i")).locked is False and of_bucket(bucket(ABSENT, "p", "i")).seconds is None
    # a value that is not a JSON boolean is no lock (fail closed)
    assert of_bucket(bucket({**BASE, "retentionPolicy": {"retentionPeriod": "60", "isLocked": "true"}}, "p", "i")).locked is False


def _lock_entry(**proto):
    return {**ENTRY, "insertId": "lock1", "timestamp": "2026-08-20T10:00:00.000Z",
            "protoPayload": {**ENTRY["protoPayload"], "methodName": LOCK_METHOD, **proto}}


def test_a_lock_entry_locks_without_saying_anything_of_the_period():
    change = bucket_change(_lock_entry(), "page-1")
    assert change.locked is True and change.retention is None and change.method == LOCK_METHOD
    assert change.time == LOCK_AT and change.key == "log:lock1" and change.logged_request is False
    with_params = bucket_change(_lock_entry(request={"bucket": "my-bucket", "ifMetagenerationMatch": "3"}), "page-1")
    assert with_params.locked is True and with_params.logged_request is True
    assert bucket_change(_lock_entry(status={"code": 9, "message": "FAILED_PRECONDITION"}), "p") is None
    # a lock is no bucket update logged without its body: the retention period is not made unknown by it
    history = build_bucket_history([_read("2026-09-30", LOCKED)], [change], [])
    assert history.unlogged(NAME, _period()) == []


# -- the lock's timeline ----------------------------------------------------------------------------------------

def _period():
    return Period.from_config(PeriodConfig(quarter="2026-Q3"))


def _read(day, payload):
    return replace(bucket(payload, "p", f"read-{day}"), observed_at=dt.datetime.fromisoformat(f"{day}T06:00:00+00:00"))


def _lock(moment=LOCK_AT):
    return BucketChange(NAME, "p", moment, LOCK_METHOD, None, None, f"log:lock-{moment:%m%d}", ("page-lock",), locked=True)


def _update(moment, logged_request):
    return BucketChange(NAME, "p", moment, "storage.buckets.update", None, None, f"log:up-{moment:%m%d}", ("page-up",),
                        logged_request=logged_request)


def _lock_days(reads, changes, lock_covered=True):
    span = [LogSpan("projects/p", dt.datetime(2026, 6, 30, tzinfo=UTC), END, "c-1")]
    history = build_bucket_history(reads, changes, span, span if lock_covered else [])
    return {d.isoformat(): s for d, s in history.lock_day_states(NAME, _period(), END).items()}


def _with(states, state):
    return [d for d, s in states.items() if s == state]


def test_one_read_after_a_logged_lock_shows_unlocked_days_before_it_and_locked_days_after():
    """Locked Aug 20 10:00, read locked Sep 30, the lock query covering Jun 30..: unlocked from Jul 1 to the lock
    (the first lock's moment before, carried back over the covered log), so Jul 1..Aug 20 broken (Aug 20 until
    10:00), Aug 21..Sep 30 locked throughout."""
    states = _lock_days([_read("2026-09-30", LOCKED)], [_lock()])
    assert _with(states, "broken") == days_between("2026-07-01", "2026-08-20")
    assert _with(states, "kept") == days_between("2026-08-21", "2026-09-30")


def test_without_a_query_that_asked_for_locks_only_the_locks_day_and_the_days_after_are_known():
    """No lock coverage: nothing is carried; the lock's own day holds its unlocked moment (broken), and locking is
    permanent, so every day from Aug 21 on is locked; Jul 1..Aug 19 unknown."""
    states = _lock_days([_read("2026-09-30", LOCKED)], [_lock()], lock_covered=False)
    assert _with(states, "unknown") == days_between("2026-07-01", "2026-08-19")
    assert _with(states, "broken") == ["2026-08-20"]
    assert _with(states, "kept") == days_between("2026-08-21", "2026-09-30")


def test_a_locked_read_with_no_lock_logged_holds_back_over_the_covered_log_and_effective_time_is_not_the_lock():
    assert set(_lock_days([_read("2026-09-30", LOCKED)], []).values()) == {"kept"}
    # an older locker's query (no lock method asked): only the read's own day; effectiveTime (Jan 5) proves no lock
    states = _lock_days([_read("2026-09-30", LOCKED)], [], lock_covered=False)
    assert _with(states, "kept") == ["2026-09-30"] and _with(states, "unknown") == days_between("2026-07-01", "2026-09-29")


def test_daily_reads_show_the_unlocked_days_and_an_unlogged_update_before_a_locked_read():
    """Reads Aug 1 (unlocked) and Sep 30 (locked), an update logged without a request on Sep 10 12:00 and no lock
    entry: the update could be the lock logged under the update's name, and the complete query joins it to the
    Sep 30 read, so it set the lock; unlocked Jul 1..Sep 10 (to 12:00), locked Sep 11..Sep 30."""
    states = _lock_days([_read("2026-08-01", UNLOCKED), _read("2026-09-30", LOCKED)],
                        [_update(dt.datetime(2026, 9, 10, 12, tzinfo=UTC), logged_request=False)])
    assert _with(states, "broken") == days_between("2026-07-01", "2026-09-10")
    assert _with(states, "kept") == days_between("2026-09-11", "2026-09-30")
    # lead: the same update logged with its request is no lock, yet the Sep 30 read is locked: the policy was
    # locked at some moment the complete query did not show, so the query is contradicted for the lock and
    # carries nothing (auditor.facts.timeline): only each day's own read counts. Aug 1 is broken by its unlocked
    # read, Sep 30 is judged by its locked read (kept: a day with a read is judged by its events), and every other
    # day, before and between, is unknown rather than carried either way.
    states = _lock_days([_read("2026-08-01", UNLOCKED), _read("2026-09-30", LOCKED)],
                        [_update(dt.datetime(2026, 9, 10, 12, tzinfo=UTC), logged_request=True)])
    assert _with(states, "broken") == ["2026-08-01"]
    assert _with(states, "kept") == ["2026-09-30"]
    assert _with(states, "unknown") == days_between("2026-07-01", "2026-07-31") + days_between("2026-08-02", "2026-09-29")


def test_a_read_showing_it_locked_before_a_repeated_lock_call_wins():
    """Read locked on Aug 1; a lock entry on Aug 20 (the call is idempotent): no unlocked moment is inferred."""
    states = _lock_days([_read("2026-08-01", LOCKED), _read("2026-09-30", LOCKED)], [_lock()])
    assert set(states.values()) == {"kept"}


# -- over real HTTP: a backup bucket locked mid-quarter ------------------------------------------------------------

SQL = "//cloudsql.googleapis.com/projects/lock-prod/instances/exports-pg"
GONE = "//cloudsql.googleapis.com/projects/lock-prod/instances/gone-pg"
BUCKET = "//storage.googleapis.com/lock-exports"


def _setup(root, body_logged):
    scenario = parse_scenario({
        "name": "lock", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
        "organization": {"id": "994", "display_name": "lock.example"},
        "projects": [{"id": "lock-prod", "number": "337",
                      "buckets": [{"name": "lock-exports", "location": "US-EAST1", "labels": {"data-classification": "internal"},
                                   "retention_days": 30, "retention_locked": True, "locked_at": "2026-08-20T10:00:00Z",
                                   "lock_body_logged": body_logged, "versioning": True, "lifecycle_delete_age_days": 60}],
                      "sql_instances": [{"name": "exports-pg", "region": "us-west1", "database_version": "POSTGRES_16",
                                         "labels": {"data-classification": "internal"},
                                         "backup": {"enabled": True, "start_time": "04:00", "location": "us-east1",
                                                    "retained_backups": 7}},
                                        {"name": "gone-pg", "region": "us-west1", "database_version": "POSTGRES_16",
                                         "labels": {"data-classification": "internal"}, "create_time": "2025-03-01T08:00:00Z",
                                         "delete_time": "2026-08-14T12:00:00Z", "final_backup_days": 60,
                                         "backup": {"enabled": True, "start_time": "05:00", "location": "us-east1",
                                                    "retained_backups": 7}}]}],
    })
    (root / "inventory.yaml").write_text(yaml.safe_dump({
        "reviewed": "2026-06-30", "owner": "data@lock.example",
        "stores": [{"resource": SQL, "classification": "internal", "owner": "data",
                    "backup": ["cloudsql-automated", {"backup-bucket": BUCKET}]},
                   {"resource": BUCKET, "classification": "internal", "owner": "data"}]}))
    configs = {}
    for immutable in (False, True):
        folder = root / f"config-{immutable}"
        folder.mkdir(exist_ok=True)
        (folder / "auditor.yaml").write_text(yaml.safe_dump({
            "organization": "Lock Ltd", "period": {"quarter": "2026-Q3"}, "inventory": str(root / "inventory.yaml"),
            "gcp": {"projects": ["lock-prod"], "credentials": "anonymous"},
            "policy": {"country": "US", "classifications": {"internal": {
                "backup_interval": "24h", "retention_min_days": 7, "retention_max_days": 90, "immutable": immutable,
                "final_backup_days": 14}}}}))
        configs[immutable] = load_config(folder / "auditor.yaml").model_copy(update={"github": None})
    return scenario, configs


def _run(root, scenario, configs, days, immutable_from):
    dirs, ids = [], {}
    with Simulator(scenario, port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC), quota=Quota(limits=[])) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = configs[immutable_from is not None and day >= immutable_from]
            run = collect(config.with_endpoints(sim.url), root / f"day-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    results = evaluate(dirs)
    (control,) = [c for c in results["controls"] if c["id"] == "backup-retention"]
    found = {f["resource"]: f for f in control["findings"]}
    ids["gone"] = found[GONE]
    return found[BUCKET], ids


@pytest.mark.parametrize("body_logged", [False, True])
def test_one_run_of_an_immutable_classification_shows_the_days_before_the_lock(tmp_path, body_logged):
    """One run on Sep 30 (immutable throughout): the logged lock of Aug 20 10:00 with the query from Jun 30:
    Jul 1..Aug 20 exceptions, Aug 21..Sep 30 kept; the 30-day policy is within 7..90 on every day."""
    scenario, configs = _setup(tmp_path, body_logged)
    finding, _ = _run(tmp_path, scenario, configs, [dt.date(2026, 9, 30)], immutable_from=dt.date(2026, 7, 1))
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-07-01", "2026-08-20")
    assert finding["details"]["unknown_days"] == []
    assert "not locked on 51 days: 2026-07-01..2026-08-20 (locked from 2026-08-20 10:00 UTC)" in finding["message"]


def test_a_non_immutable_classification_keeps_its_days_as_before(tmp_path):
    """The same bucket, `immutable` never set: the lock is not a day requirement (judged at the read: locked)."""
    scenario, configs = _setup(tmp_path, False)
    finding, ids = _run(tmp_path, scenario, configs, [dt.date(2026, 9, 30)], immutable_from=None)
    assert finding["status"] == "pass", finding["message"]
    assert set(finding["details"]["days"].values()) == {"kept"} and "lock_days" not in finding["details"]
    # gone-pg from this one run: its FINAL backup's snapshot (Aug 14 11:54, 7 backups) holds back to Jul 1 over the
    # log, so Jul 1..Aug 14 kept, Aug 15..Sep 30 not applicable; its final backup is kept 60 days >= 14 (a shorter one, expired by the read, would leave no read at all)
    gone = ids["gone"]
    assert gone["status"] == "pass", gone["message"]
    assert gone["details"]["days"] == {**{d: "kept" for d in days_between("2026-07-01", "2026-08-14")},
                                       **{d: "not_applicable" for d in days_between("2026-08-15", "2026-09-30")}}
    assert "60 days after deletion (policy: at least 14" in gone["message"]


def test_three_lockers_with_immutable_set_from_the_second_lockers_configuration(tmp_path):
    """Lockers Aug 1 (unlocked read; immutable false), Aug 10 (immutable true from here), Sep 30. Days before Aug 10
    do not require a lock (kept); Aug 10..Aug 20 unlocked under an immutable classification (exceptions, the Aug 1
    and Aug 10 reads carried to the lock over the chained queries); Aug 21..Sep 30 locked."""
    scenario, configs = _setup(tmp_path, False)
    days = [dt.date(2026, 8, 1), dt.date(2026, 8, 10), dt.date(2026, 9, 30)]
    finding, ids = _run(tmp_path, scenario, configs, days, immutable_from=dt.date(2026, 8, 10))
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-08-10", "2026-08-20")
    assert finding["details"]["unknown_days"] == []
    assert finding["details"]["days"]["2026-08-09"] == "kept" and finding["details"]["days"]["2026-08-21"] == "kept"
    assert ("policy.classifications.internal.immutable was False until 2026-08-09, True from 2026-08-10 (the "
            f"configuration stored in locker {ids['2026-08-10']})") in finding["message"]
    first, second = finding["details"]["thresholds"]
    assert (second["from"], second["locker"], second["expected"]["immutable"]) == ("2026-08-10", ids["2026-08-10"], True)
    assert first["expected"]["immutable"] is False
    # gone-pg, listed by the Aug 1 and Aug 10 lockers, deleted Aug 14 12:00: from Aug 10 its classification requires
    # immutable backups, which Cloud SQL's own are not: Aug 10..Aug 14 exceptions; Jul 1..Aug 9 kept; after: not applicable
    gone = ids["gone"]
    assert gone["status"] == "fail", gone["message"]
    assert gone["details"]["exception_days"] == days_between("2026-08-10", "2026-08-14")
    assert gone["details"]["days"]["2026-08-09"] == "kept" and gone["details"]["days"]["2026-08-15"] == "not_applicable"


def test_daily_lockers_show_the_unlocked_days_and_the_deleted_instances_days(tmp_path):
    """92 lockers (immutable throughout): each day's read. Jul 1..Aug 20 unlocked (Aug 20 until 10:00), Aug 21..Sep 30
    locked; gone-pg: its classification requires immutable backups every day it existed (Jul 1..Aug 14 exceptions)."""
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    scenario, configs = _setup(tmp_path, False)
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    finding, ids = _run(tmp_path, scenario, configs, days, immutable_from=dt.date(2026, 7, 1))
    assert finding["details"]["exception_days"] == days_between("2026-07-01", "2026-08-20")
    assert finding["details"]["unknown_days"] == []
    gone = ids["gone"]
    assert gone["details"]["exception_days"] == days_between("2026-07-01", "2026-08-14")
    assert gone["details"]["unknown_days"] == []
    assert {d for d, s in gone["details"]["days"].items() if s == "not_applicable"} == set(days_between("2026-08-15", "2026-09-30"))
