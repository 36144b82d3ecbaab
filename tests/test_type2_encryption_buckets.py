"""backup-encryption-parity: a declared backup bucket (`backup-bucket:` in the data map) judged against the
`encryption` requirement in force each day, not parity alone (branch enc3, issue 13).

A bucket holds the backups of its source, so the data's classification applies to it each day (the source's
class in force that day), and so does the bucket's own (its own entry in the map or label): the stricter wins.
`cmek` needs a customer-managed default key (`encryption.defaultKmsKeyName`); `any` accepts Google-managed
encryption. Parity with a CMEK source is judged as before.

1. The reader, on Bucket resources transcribed from the Cloud Storage JSON API reference (storage#bucket), with
   and without `encryption`, and on Admin Activity bucket updates with and without it in the request.
2. The key's days, from hand-built reads and logged updates (auditor.facts.bucket_history.key_timeline), under a
   confidential (cmek) source: every expected day is written by hand in each test's docstring.
3. Three lockers (Aug 12, Sep 11, Sep 30 at 06:00, from the simulator), whose stored data maps move a source's
   class on Sep 11: the bucket's days follow the map each locker stored.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import yaml
from testkit import days_between, scenario_setup

from auditor.checks.backup_encryption_parity import _bucket_days
from auditor.checks_api import CheckContext
from auditor.config import load_config
from auditor.facts.bucket_history import GOOGLE_MANAGED, bucket_change, build_bucket_history, key_timeline
from auditor.facts.model import LogSpan
from auditor.facts.sources.buckets import bucket as read_bucket
from auditor.inventory import parse_inventory
from auditor.period import Period
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator

UTC = dt.timezone.utc
KEY = "projects/enc-prod/locations/us-east1/keyRings/storage/cryptoKeys/exports"
SOURCE = "//cloudsql.googleapis.com/projects/enc-prod/instances/orders-pg"
AS_OF = dt.datetime(2026, 9, 30, 12, tzinfo=UTC)

# storage#bucket as the JSON API reference lays it out; an older bucket carries no `encryption` at all
BUCKET_WITHOUT = {
    "kind": "storage#bucket", "selfLink": "https://www.googleapis.com/storage/v1/b/enc-exports", "id": "enc-exports",
    "name": "enc-exports", "projectNumber": "401", "metageneration": "3", "location": "US-EAST1",
    "storageClass": "STANDARD", "etag": "CAM=", "timeCreated": "2025-03-01T10:00:00.000Z",
    "updated": "2026-06-01T10:00:00.000Z", "locationType": "region",
    "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"},
    "labels": {"data-classification": "internal"}}
BUCKET_WITH = {**BUCKET_WITHOUT, "encryption": {"defaultKmsKeyName": KEY}}
# a newer response: the encryption-type enforcement configs beside (or without) the default key
BUCKET_NEWER = {**BUCKET_WITHOUT, "encryption": {
    "defaultKmsKeyName": KEY,
    "googleManagedEncryptionEnforcementConfig": {"restrictionMode": "FullyRestricted",
                                                 "effectiveTime": "2026-05-01T00:00:00.000Z"}}}
BUCKET_ENFORCEMENT_ONLY = {**BUCKET_WITHOUT, "encryption": {
    "customerSuppliedEncryptionEnforcementConfig": {"restrictionMode": "FullyRestricted"}}}


def _entry(when: str, request, insert="u1", code=None):
    """An Admin Activity entry of a bucket update, as bucket_history reads it (storage.buckets.update)."""
    proto = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "storage.googleapis.com",
             "methodName": "storage.buckets.update", "resourceName": "projects/_/buckets/enc-exports",
             "authenticationInfo": {"principalEmail": "ops@enc-prod.example"}, "status": {"code": code} if code else {}}
    if request is not None:
        proto["request"] = request
    return {"insertId": insert, "timestamp": when, "protoPayload": proto, "logName": "projects/enc-prod/logs/x",
            "resource": {"type": "gcs_bucket", "labels": {"bucket_name": "enc-exports", "project_id": "enc-prod"}}}


def test_the_reader_takes_the_default_key_with_and_without_encryption():
    assert read_bucket(BUCKET_WITHOUT, "enc-prod", "item:1").kms_key is None
    assert read_bucket(BUCKET_WITH, "enc-prod", "item:1").kms_key == KEY
    assert read_bucket(BUCKET_NEWER, "enc-prod", "item:1").kms_key == KEY
    assert read_bucket(BUCKET_ENFORCEMENT_ONLY, "enc-prod", "item:1").kms_key is None  # no default key: Google-managed


def test_a_logged_update_says_what_encryption_it_set_only_where_both_a_patch_and_an_update_would():
    def seen(request):
        return bucket_change(_entry("2026-08-10T09:00:00Z", request), "page:1").encryption

    assert seen({"encryption": {"defaultKmsKeyName": KEY}}) == (True, KEY)
    assert seen({"bucket": {"encryption": {"defaultKmsKeyName": KEY}}}) == (True, KEY)
    assert seen({"encryption": None}) == (True, GOOGLE_MANAGED)
    assert seen({"encryption": {"defaultKmsKeyName": None}}) == (True, GOOGLE_MANAGED)
    # an encryption object without the default key: a patch keeps it, an update drops it: unknown
    assert seen({"encryption": {"googleManagedEncryptionEnforcementConfig": {"restrictionMode": "NotRestricted"}}}) == (True, None)
    assert seen({"retentionPolicy": None}) == (False, None)  # says nothing of the key
    assert seen(None) == (False, None)
    assert bucket_change(_entry("2026-08-10T09:00:00Z", {"encryption": None}, code=7), "page:1") is None  # failed


@pytest.fixture(scope="module")
def config(sample_dir):
    """The sample policy: restricted requires CMEK; confidential and internal accept any encryption."""
    return load_config(sample_dir / "auditor.yaml")


def _ctx(config, source_class, bucket_class=None):
    stores = [{"resource": SOURCE, "classification": source_class, "owner": "team",
               "backup": [{"backup-bucket": "//storage.googleapis.com/enc-exports"}]}]
    if bucket_class:
        stores.append({"resource": "//storage.googleapis.com/enc-exports", "classification": bucket_class, "owner": "team"})
    from pathlib import Path

    inventory = parse_inventory(yaml.safe_dump({"reviewed": "2026-06-01", "stores": stores}), Path("inventory.yaml"))
    return CheckContext(config=config, period=Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30)), as_of=AS_OF,
                        inventory=inventory)


def _read(payload, when):
    moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    from dataclasses import replace

    return replace(read_bucket(payload, "enc-prod", f"item:{when}"), observed_at=moment)


def _history(reads, entries, covered=True):
    changes = [c for c in (bucket_change(e, f"page:{e['insertId']}") for e in entries) if c]
    spans = [LogSpan("projects/enc-prod", dt.datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "logging")] if covered else []
    return build_bucket_history(reads, changes, spans)


def _judge(config, history, source_class, bucket_class=None, source_key=None):
    newest = history.observations("//storage.googleapis.com/enc-exports")[-1]
    source = SimpleNamespace(resource=SOURCE, labels={}, kms_key=source_key, display="enc-prod/orders-pg")
    found = _bucket_days(newest, source, SimpleNamespace(bucket_history=history), _ctx(config, source_class, bucket_class))
    return {d.isoformat(): s for d, s in found["states"].items()}, found


def _span(states, first, last):
    return {states[d] for d in days_between(first, last)}


def test_a_key_set_mid_quarter_breaks_the_days_before_it_under_cmek_only(config):
    """Read Jul 1 00:00 Google-managed; an update on Aug 10 09:00 sets the default key (logged with its request);
    read Sep 30 12:00 with the key; the bucket-update log covers the quarter. Under a restricted source (cmek):
    Jul 1 .. Aug 10 broken (Google-managed at some moment; Aug 10 until 09:00), Aug 11 .. Sep 30 kept. Under an
    internal source (any): every day kept, whatever the key."""
    history = _history([_read(BUCKET_WITHOUT, "2026-07-01T00:00:00Z"), _read(BUCKET_WITH, "2026-09-30T12:00:00Z")],
                       [_entry("2026-08-10T09:00:00Z", {"encryption": {"defaultKmsKeyName": KEY}})])
    states, _ = _judge(config, history, "restricted")
    assert _span(states, "2026-07-01", "2026-08-10") == {"broken"}
    assert _span(states, "2026-08-11", "2026-09-30") == {"kept"}
    states, _ = _judge(config, history, "internal")
    assert _span(states, "2026-07-01", "2026-09-30") == {"kept"}


def test_the_bucket_s_own_class_applies_beside_its_source_s(config):
    """The same bucket of an internal source, itself declared restricted in the map: the stricter class (cmek)
    applies: the same days as under a restricted source."""
    history = _history([_read(BUCKET_WITHOUT, "2026-07-01T00:00:00Z"), _read(BUCKET_WITH, "2026-09-30T12:00:00Z")],
                       [_entry("2026-08-10T09:00:00Z", {"encryption": {"defaultKmsKeyName": KEY}})])
    states, _ = _judge(config, history, "internal", bucket_class="restricted")
    assert _span(states, "2026-07-01", "2026-08-10") == {"broken"}
    assert _span(states, "2026-08-11", "2026-09-30") == {"kept"}


def test_updates_that_do_not_say_the_key_leave_days_unknown_never_kept(config):
    """Read Jul 1 00:00 Google-managed; updates on Aug 10 09:00 and Aug 20 09:00 whose requests name only the
    retention policy (a patch that left the key alone and an update that dropped it look the same); read Sep 30
    12:00 with the key; the log covers the quarter. Jul 1 .. Aug 10 broken (Google-managed until 09:00 on Aug 10);
    Aug 11 .. Aug 20 unknown (from the first update to the second nothing says the key; the second is joined to
    the Sep 30 read by the complete log, from 09:00 only); Aug 21 .. Sep 30 kept. Under cmek."""
    history = _history([_read(BUCKET_WITHOUT, "2026-07-01T00:00:00Z"), _read(BUCKET_WITH, "2026-09-30T12:00:00Z")],
                       [_entry("2026-08-10T09:00:00Z", {"retentionPolicy": {"retentionPeriod": "2592000"}}, "u1"),
                        _entry("2026-08-20T09:00:00Z", {"retentionPolicy": {"retentionPeriod": "2592000"}}, "u2")])
    states, found = _judge(config, history, "restricted")
    assert _span(states, "2026-07-01", "2026-08-10") == {"broken"}
    assert _span(states, "2026-08-11", "2026-08-20") == {"unknown"}
    assert _span(states, "2026-08-21", "2026-09-30") == {"kept"}
    assert any("2026-08-10 09:00 UTC" in r and "logged without saying what its encryption became" in r
               for r in found["reasons"])


def test_without_log_coverage_only_each_day_s_own_read_counts(config):
    """Reads Jul 1 00:00 (Google-managed) and Sep 30 06:00 (the key), no audit-log coverage: Jul 1 broken (its own
    read), Jul 2 .. Sep 29 unknown (nothing shows the key), Sep 30 kept (a day is judged by what its own reads show,
    auditor.facts.timeline; the evidence date is 12:00). Parity with a CMEK source needs CMEK whatever the class:
    the same days under an internal source that uses a key."""
    history = _history([_read(BUCKET_WITHOUT, "2026-07-01T00:00:00Z"), _read(BUCKET_WITH, "2026-09-30T06:00:00Z")], [],
                       covered=False)
    for source_class, source_key in (("restricted", None), ("internal", KEY)):
        states, _ = _judge(config, history, source_class, source_key=source_key)
        assert states["2026-07-01"] == "broken"
        assert _span(states, "2026-07-02", "2026-09-29") == {"unknown"}
        assert states["2026-09-30"] == "kept"
    states, _ = _judge(config, history, "internal")
    assert _span(states, "2026-07-01", "2026-09-30") == {"kept"}  # any: nothing to establish


def test_the_key_timeline_reads_each_read_and_update():
    history = _history([_read(BUCKET_WITH, "2026-09-30T12:00:00Z")],
                       [_entry("2026-08-10T09:00:00Z", {"encryption": None})])
    timeline = key_timeline(history, "//storage.googleapis.com/enc-exports")
    assert [(e.time.isoformat(), e.value, e.source) for e in timeline.events] == [
        ("2026-08-10T09:00:00+00:00", GOOGLE_MANAGED, "change"), ("2026-09-30T12:00:00+00:00", KEY, "observation")]


# --- three lockers whose stored maps move the source's class -------------------------------------------------

P = "//cloudsql.googleapis.com/projects/enc-prod/instances/"
B = "//storage.googleapis.com/"
SCENARIO = {
    "name": "encryption-buckets", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "995", "display_name": "buckets.example"},
    "projects": [{"id": "enc-prod", "number": "401",
                  "sql_instances": [
                      {"name": name, "region": "us-east1", "database_version": "POSTGRES_16",
                       "labels": {"data-classification": "internal"}, "create_time": "2025-02-01T00:00:00Z",
                       "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7}}
                      for name in ("rising-pg", "falling-pg", "steady-pg")],
                  "buckets": [{"name": "enc-rising", "location": "US-WEST1"},
                              {"name": "enc-falling", "location": "US-WEST1"},
                              {"name": "enc-keyed", "location": "US-WEST1", "kms_key": KEY},
                              {"name": "enc-plain", "location": "US-WEST1"}]}],
}


def _map(rising, falling):
    def store(name, classification, *buckets):
        return {"resource": P + name, "classification": classification, "owner": "team",
                "backup": ["cloudsql-automated", *({"backup-bucket": B + b} for b in buckets)]}

    return {"reviewed": "2026-06-01", "stores": [store("rising-pg", rising, "enc-rising"),
                                                 store("falling-pg", falling, "enc-falling", "enc-keyed"),
                                                 store("steady-pg", "internal", "enc-plain")]}


@pytest.fixture(scope="module")
def lockers(tmp_path_factory):
    """rising-pg internal then restricted from the Sep 11 locker's map; falling-pg restricted then internal."""
    root = tmp_path_factory.mktemp("enc-buckets")
    (root / "map").mkdir()
    config = {"organization": "Buckets Ltd", "period": {"quarter": "2026-Q3"},
              "gcp": {"projects": ["enc-prod"], "credentials": "anonymous"}, "inventory": "map/inventory.yaml",
              "policy": {"country": "US", "classifications": {
                  "internal": {"backup_interval": "24h", "retention_min_days": 7, "encryption": "any"},
                  "restricted": {"backup_interval": "24h", "retention_min_days": 7, "encryption": "cmek"}}}}
    folder, scenario, loaded = scenario_setup(root, config, SCENARIO)
    dirs = []
    with Simulator(scenario, port=0, now=dt.datetime(2026, 8, 12, 6, tzinfo=UTC)) as sim:
        for day in (dt.date(2026, 8, 12), dt.date(2026, 9, 11), dt.date(2026, 9, 30)):
            moved = day >= dt.date(2026, 9, 11)
            (root / "map" / "inventory.yaml").write_text(yaml.safe_dump(
                _map("restricted" if moved else "internal", "internal" if moved else "restricted")))
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            dirs.append(collect(loaded.with_endpoints(sim.url), folder / f"daily-{day}" / "evidence").evidence_dir)
    (control,) = [c for c in evaluate(dirs)["controls"] if c["id"] == "backup-encryption-parity"]
    return {f["resource"]: f for f in control["findings"] if f["resource"].startswith(B)}


def test_a_bucket_follows_its_source_s_class_each_locker_stored(lockers):
    """enc-rising (Google-managed) holds rising-pg's backups: internal (any) Jul 1 .. Sep 10 (the days before the
    first locker take its map; then the newest stored before them), restricted (cmek) from Sep 11: Jul 1 .. Sep 10
    kept, Sep 11 .. Sep 30 broken (20 days): fail, the key named."""
    rising = lockers[B + "enc-rising"]
    assert rising["status"] == "fail", rising["message"]
    assert rising["details"]["exception_days"] == days_between("2026-09-11", "2026-09-30")
    assert rising["details"]["unknown_days"] == []
    assert {rising["details"]["days"][d] for d in days_between("2026-07-01", "2026-09-10")} == {"kept"}
    assert "policy.classifications.restricted.encryption" in rising["message"]
    assert "Of its source enc-prod/rising-pg: its classification was internal on 2026-07-01 .. 2026-09-10" in rising["message"]
    assert [(c["from"], c["to"], c["classification"]) for c in rising["details"]["classifications"]] == [
        ("2026-07-01", "2026-09-10", "internal"), ("2026-09-11", "2026-09-30", "restricted")]
    assert rising["expected"]["encryption"] == "cmek"


def test_a_bucket_kept_under_the_newest_class_fails_for_the_days_a_stricter_one_was_in_force(lockers):
    """enc-falling (Google-managed) holds falling-pg's backups: restricted Jul 1 .. Sep 10, internal from Sep 11.
    The newest class accepts it; Jul 1 .. Sep 10 (72 days) are exceptions: fail. enc-keyed (CMEK) holds the same
    backups and passes every day; enc-plain (Google-managed, steady-pg internal all quarter) passes, as before."""
    falling = lockers[B + "enc-falling"]
    assert falling["status"] == "fail", falling["message"]
    assert falling["expected"]["encryption"] == "any"
    assert falling["details"]["exception_days"] == days_between("2026-07-01", "2026-09-10")
    assert "required on 72 days, 2026-07-01..2026-09-10" in falling["message"]
    for name in ("enc-keyed", "enc-plain"):
        found = lockers[B + name]
        assert found["status"] == "pass", found["message"]
        assert set(found["details"]["days"].values()) == {"kept"}
