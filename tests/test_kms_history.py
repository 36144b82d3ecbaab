"""Cloud KMS key-version history: the readers on payloads transcribed from the Cloud KMS reference, and
the day states the history gives from them.

CryptoKeyVersion (projects.locations.keyRings.cryptoKeys.cryptoKeyVersions): `destroyTime` is "the time
this CryptoKeyVersion's key material is scheduled for destruction. Only present if state is
DESTROY_SCHEDULED"; `destroyEventTime` is "the time this CryptoKeyVersion's key material was destroyed.
Only present if state is DESTROYED". CryptoKey `destroyScheduledDuration` is immutable (default 30
days; older keys 24 hours). cryptoKeyVersions.destroy "sets state to DESTROY_SCHEDULED, and destroyTime
to destroyScheduledDuration in the future"; restore leaves the version DISABLED. Audit entries are
AuditLog protoPayloads with short method names; whether UpdateCryptoKeyVersion's entry carries its
request body is unconfirmed, so both shapes are read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from auditor.facts.controls import KmsKey
from auditor.facts.kms_history import build_kms_history
from auditor.facts.kms_log import kms_change
from auditor.facts.model import LogSpan
from auditor.facts.protection import BackupCopy
from auditor.facts.sources import kms_key_versions, kms_keys
from auditor.facts.sources.audit_log import read as read_log
from auditor.period import Period

UTC = timezone.utc
KEY = "projects/p1/locations/us-east1/keyRings/sql/cryptoKeys/k"
V1, V2 = f"{KEY}/cryptoKeyVersions/1", f"{KEY}/cryptoKeyVersions/2"
PERIOD = Period(date(2026, 9, 1), date(2026, 9, 30))
AS_OF = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
INSTANCE = "//cloudsql.googleapis.com/projects/p1/instances/db"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _versions(body, when="2026-09-30T12:00:00Z"):
    out = []
    kms_key_versions.read({"server_date": when}, body, "e-page", lambda fact, item: out.append((fact, item)))
    return [item for fact, item in out if fact == "kms_key_versions"]


# --- readers --------------------------------------------------------------------------------------

def test_version_reader_reads_each_state_with_its_documented_fields():
    body = {"cryptoKeyVersions": [
        {"name": V1, "state": "DESTROYED", "protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
         "createTime": "2025-01-01T00:00:00Z", "generateTime": "2025-01-01T00:00:00Z",
         "destroyEventTime": "2026-09-21T10:00:03.123456Z"},
        {"name": V2, "state": "ENABLED", "protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
         "createTime": "2026-09-20T09:00:00.5Z"},
        {"name": f"{KEY}/cryptoKeyVersions/3", "state": "DESTROY_SCHEDULED", "destroyTime": "2026-10-30T00:00:00Z"},
        {"name": f"{KEY}/cryptoKeyVersions/4", "state": "DISABLED"},
    ], "totalSize": 4}
    v1, v2, v3, v4 = _versions(body)
    assert (v1.state, v1.destroy_event_time, v1.destroy_time) == ("DESTROYED", at("2026-09-21T10:00:03.123456Z"), None)
    assert v1.create_time == at("2025-01-01T00:00:00Z") and v1.key == KEY
    assert (v2.state, v2.create_time, v2.destroy_time, v2.destroy_event_time) == ("ENABLED", at("2026-09-20T09:00:00.5Z"), None, None)
    assert (v3.state, v3.destroy_time) == ("DESTROY_SCHEDULED", at("2026-10-30T00:00:00Z"))
    assert (v4.state, v4.create_time) == ("DISABLED", None)  # createTime absent: not invented
    assert v1.observed_at == at("2026-09-30T12:00:00Z")


def test_version_reader_skips_nameless_items_and_an_empty_answer():
    assert _versions({"cryptoKeyVersions": [{"state": "ENABLED"}]}) == []
    assert _versions({}) == []  # an empty key lists no field at all


def test_key_reader_reads_the_destroy_schedule_or_leaves_it_unknown():
    out = []
    kms_keys.read({}, {"name": KEY, "purpose": "ENCRYPT_DECRYPT", "destroyScheduledDuration": "86400s",
                       "primary": {"name": V2, "state": "ENABLED"}}, "e-k", lambda f, i: out.append(i))
    kms_keys.read({}, {"name": KEY + "2", "purpose": "ENCRYPT_DECRYPT"}, "e-k2", lambda f, i: out.append(i))
    assert out[0].destroy_scheduled == timedelta(days=1) and out[0].primary_version == V2
    assert out[1].destroy_scheduled is None


def _entry(method, resource=V1, request=None, response=None, status=None, when="2026-09-20T10:00:00Z", insert="i1"):
    proto = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "cloudkms.googleapis.com",
             "methodName": method, "resourceName": resource,
             "authenticationInfo": {"principalEmail": "sec@example.com"}}
    if status is not None:
        proto["status"] = status
    if request is not None:
        proto["request"] = request
    if response is not None:
        proto["response"] = response
    return {"insertId": insert, "timestamp": when, "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
            "resource": {"type": "cloudkms_cryptokeyversion", "labels": {"project_id": "p1"}}, "protoPayload": proto}


def test_destroy_only_schedules_destruction_with_or_without_its_request():
    empty = {"@type": "type.googleapis.com/google.cloud.kms.v1.DestroyCryptoKeyVersionRequest", "name": V1}
    for request in (empty, None):
        change = kms_change(_entry("DestroyCryptoKeyVersion", request=request, status={}), "e-log")
        assert (change.version, change.state, change.key_name, change.key) == (V1, "DESTROY_SCHEDULED", KEY, "log:i1")
        assert change.time == at("2026-09-20T10:00:00Z") and change.evidence == ("e-log",)


def test_only_successful_entries_count():
    refused = _entry("DestroyCryptoKeyVersion", status={"code": 9, "message": "FAILED_PRECONDITION"})
    assert kms_change(refused, "e") is None
    assert kms_change(_entry("DestroyCryptoKeyVersion", status={"code": 0}), "e").state == "DESTROY_SCHEDULED"


def test_restore_leaves_the_version_disabled():
    assert kms_change(_entry("RestoreCryptoKeyVersion"), "e").state == "DISABLED"


def test_update_reads_the_new_state_from_a_body_and_is_unknown_without_one():
    body = {"@type": "type.googleapis.com/google.cloud.kms.v1.UpdateCryptoKeyVersionRequest",
            "cryptoKeyVersion": {"name": V1, "state": "DISABLED"}, "updateMask": "state"}
    assert kms_change(_entry("UpdateCryptoKeyVersion", request=body), "e").state == "DISABLED"
    assert kms_change(_entry("UpdateCryptoKeyVersion", request={**body, "updateMask": {"paths": ["state"]}}), "e").state == "DISABLED"
    unlogged = kms_change(_entry("UpdateCryptoKeyVersion"), "e")
    assert (unlogged.version, unlogged.state) == (V1, None)  # unknown until the next read
    other = {**body, "updateMask": "externalProtectionLevelOptions"}
    assert kms_change(_entry("UpdateCryptoKeyVersion", request=other), "e") is None  # the state was left alone
    answered = kms_change(_entry("UpdateCryptoKeyVersion", response={"name": V1, "state": "ENABLED"}), "e")
    assert answered.state == "ENABLED"  # a logged response says what the call left


def test_create_names_its_version_only_through_a_response():
    bare = kms_change(_entry("CreateCryptoKeyVersion", resource=KEY), "e")
    assert (bare.key_name, bare.version, bare.state) == (KEY, None, None)
    full = kms_change(_entry("CreateCryptoKeyVersion", resource=KEY, response={"name": V2, "state": "ENABLED"}), "e")
    assert (full.version, full.state) == (V2, "ENABLED")


def test_primary_change_names_the_new_primary_when_logged_and_sets_no_state():
    change = kms_change(_entry("UpdateCryptoKeyPrimaryVersion", resource=KEY, request={"name": KEY, "cryptoKeyVersionId": "2"}), "e")
    assert (change.version, change.state, change.primary) == (None, None, V2)
    assert kms_change(_entry("UpdateCryptoKeyPrimaryVersion", resource=KEY), "e").primary is None


def test_fully_qualified_method_names_and_other_services():
    qualified = _entry("google.cloud.kms.v1.KeyManagementService.DestroyCryptoKeyVersion")
    assert kms_change(qualified, "e").state == "DESTROY_SCHEDULED"
    assert kms_change(_entry("GetCryptoKey"), "e") is None
    assert kms_change({"insertId": "x", "timestamp": "2026-09-20T10:00:00Z"}, "e") is None


def test_the_logging_source_files_kms_entries_apart_from_cloud_sql_ones():
    out = []
    read_log({}, {"entries": [_entry("DestroyCryptoKeyVersion")]}, "e-log", lambda fact, item: out.append((fact, item)))
    assert [fact for fact, _ in out] == ["kms_version_changes"]


# --- day states -----------------------------------------------------------------------------------

def _read(name, state, when, **fields):
    (version,) = _versions({"cryptoKeyVersions": [{"name": name, "state": state, **fields}]}, when)
    return version


def _history(reads, changes=(), covered=((at("2026-08-31T00:00:00Z"), AS_OF),), schedule=timedelta(days=1), copies=()):
    keys = [KmsKey(KEY, "us-east1", "ENCRYPT_DECRYPT", V2, destroy_scheduled=schedule)]
    spans = [LogSpan(KEY, start, end, "c-log") for start, end in covered]
    return build_kms_history(keys, list(reads), list(changes), spans, list(copies), [], {})


def _days(history, version):
    states = history.version_days(version, PERIOD, AS_OF)
    return {day.isoformat(): state for day, state in states.items()}


def _september(first: int, last: int) -> list[str]:
    return [f"2026-09-{d:02d}" for d in range(first, last + 1)]


def test_one_read_of_a_destroyed_version_dates_its_scheduling_from_destroy_event_time():
    """DESTROYED, destroyEventTime Sep 21 10:00, schedule 1 day: unusable from Sep 20 10:00 on, whatever
    the log says. Before it, nothing read says the state (a change is not carried backwards): unknown."""
    history = _history([_read(V1, "DESTROYED", "2026-09-30T12:00:00Z", destroyEventTime="2026-09-21T10:00:00Z")])
    days = _days(history, V1)
    assert [d for d, s in days.items() if s == "broken"] == _september(20, 30)
    assert [d for d, s in days.items() if s == "unknown"] == _september(1, 19)


def test_without_the_destroy_schedule_only_the_destruction_itself_is_known():
    history = _history([_read(V1, "DESTROYED", "2026-09-30T12:00:00Z", destroyEventTime="2026-09-21T10:00:00Z")],
                       schedule=None)
    assert [d for d, s in _days(history, V1).items() if s == "broken"] == _september(21, 30)


def test_a_scheduled_destruction_counts_as_unusable_from_its_scheduling():
    """DESTROY_SCHEDULED read on Sep 30, destroyTime Oct 29 12:00 with a 30-day schedule: scheduled Sep 29 12:00."""
    history = _history([_read(V1, "DESTROY_SCHEDULED", "2026-09-30T12:00:00Z", destroyTime="2026-10-29T12:00:00Z")],
                       schedule=timedelta(days=30))
    days = _days(history, V1)
    assert [d for d, s in days.items() if s == "broken"] == ["2026-09-29", "2026-09-30"]


def test_backups_encrypted_by_a_version_prove_it_enabled_and_the_log_carries_that_back():
    copies = [BackupCopy(INSTANCE, at(f"2026-09-{d:02d}T03:00:00Z"), "automated", "us-west1", KEY, V1, None, "succeeded", ("e-run",))
              for d in range(10, 21)]
    destroy = kms_change(_entry("DestroyCryptoKeyVersion"), "e-log")
    history = _history([_read(V1, "DESTROYED", "2026-09-30T12:00:00Z", destroyEventTime="2026-09-21T10:00:00Z")],
                       [destroy], copies=copies)
    days = _days(history, V1)
    # the log query covers from Aug 31, so the first backup (Sep 10, ENABLED) holds back to Sep 1
    assert [d for d, s in days.items() if s == "kept"] == _september(1, 19)
    assert [d for d, s in days.items() if s == "broken"] == _september(20, 30)


def test_an_update_without_its_body_is_unknown_until_the_next_read():
    disable = kms_change(_entry("UpdateCryptoKeyVersion", when="2026-09-10T12:00:00Z"), "e-log")
    reads = [_read(V1, "ENABLED", "2026-09-05T06:00:00Z"), _read(V1, "ENABLED", "2026-09-30T12:00:00Z")]
    days = _days(_history(reads, [disable]), V1)
    # the Sep 30 read is joined to the update by the complete query, so the update set ENABLED: nothing broken
    assert set(days.values()) == {"kept"}
    # with a read of DISABLED in between, the update is settled to DISABLED up to the re-read
    reads.insert(1, _read(V1, "DISABLED", "2026-09-12T06:00:00Z"))
    enable = kms_change(_entry("UpdateCryptoKeyVersion", when="2026-09-15T12:00:00Z", insert="i2"), "e-log")
    days = _days(_history(reads, [disable, enable]), V1)
    assert [d for d, s in days.items() if s == "broken"] == _september(10, 15)
    # without log coverage nothing is carried, and the unlogged updates leave their days unknown
    days = _days(_history(reads, [disable, enable], covered=()), V1)
    assert "kept" not in {days[d] for d in _september(10, 15)}
    assert days["2026-09-20"] == "unknown"


def test_a_version_created_mid_period_did_not_exist_before():
    history = _history([_read(V2, "ENABLED", "2026-09-30T12:00:00Z", createTime="2026-09-20T09:00:00Z")])
    days = _days(history, V2)
    assert [d for d, s in days.items() if s == "not_applicable"] == _september(1, 19)
    assert [d for d, s in days.items() if s == "kept"] == _september(20, 30)


def test_instance_days_need_a_protected_copy_to_break_and_a_listing_to_clear():
    """Version 1 is disabled Sep 10..30; the only backup on it was taken Sep 5 and last listed Sep 12."""
    disabled = kms_change(_entry("UpdateCryptoKeyVersion", when="2026-09-10T00:00:00Z",
                                 request={"cryptoKeyVersion": {"name": V1, "state": "DISABLED"}, "updateMask": "state"}), "e-log")
    reads = [_read(V1, "DISABLED", "2026-09-30T12:00:00Z"), _read(V2, "ENABLED", "2026-09-30T12:00:00Z")]
    copy = BackupCopy(INSTANCE, at("2026-09-05T03:00:00Z"), "automated", None, KEY, V1, None, "succeeded", ("e-old",))
    history = build_kms_history([KmsKey(KEY, "us-east1", "ENCRYPT_DECRYPT", V2, destroy_scheduled=timedelta(days=1))],
                                reads, [disabled], [LogSpan(KEY, at("2026-08-31T00:00:00Z"), AS_OF, "c")], [copy], [],
                                {"c-runs": {"api": "sqladmin", "method": "backupRuns.list", "scope": "projects/p1",
                                            "outcome": "ok", "server_date": "2026-09-12T06:00:00Z", "items": ["e-old"]}})
    states, why = history.instance_days(INSTANCE, KEY, [copy], PERIOD, AS_OF)
    by_iso = {d.isoformat(): s for d, s in states.items()}
    assert [d for d, s in by_iso.items() if s == "broken"] == _september(10, 12)  # the backup is retained then
    # afterwards no read of the day lists what the instance held: unknown, never kept
    assert [d for d, s in by_iso.items() if s == "unknown"] == _september(13, 30)
    assert why[date(2026, 9, 10)][0].protects == ("backup taken 2026-09-05",)
