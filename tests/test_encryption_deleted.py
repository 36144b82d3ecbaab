"""Encryption parity for an instance deleted mid-period, and against the requirement in force each day (branch enc2).

The FINAL backups below are transcribed from the Cloud SQL Admin v1 reference's `Backup` resource: `type` FINAL,
`state` SUCCESSFUL, `backupInterval`, `expiryTime`, `instanceDeletionTime`, `location`, `databaseVersion`,
`kmsKey` ("the resource name of the KMS key for disk encryption"), `kmsKeyVersion` ("the version of the KMS key
that's used to encrypt the Cloud SQL instance") and `instanceSettings`, a `DatabaseInstance` whose encryption is
`diskEncryptionConfiguration.kmsKeyName` and `diskEncryptionStatus.kmsKeyVersionName` (both optional: absent for
Google-managed keys, and a snapshot may omit them). The key and versions are transcribed from the Cloud KMS
reference (`CryptoKey.destroyScheduledDuration`, `CryptoKeyVersion.state`, `createTime`, `destroyEventTime`).

The period is Jul 1 .. Jul 10, the evidence date Jul 11 12:00; `crm-mysql` is deleted on Jul 6 at 12:00, so Jul 1 ..
Jul 6 are its days and Jul 7 .. Jul 10 are not applicable (not in the population). Expected days are written by hand:
- Google-managed (`FINAL_GOOGLE`): kept on its days under `any`; broken on them under `cmek`.
- CMEK, version 1 destroyed after the deletion (scheduled Jul 7 10:00, destroyed Jul 8 10:00, one-day schedule):
  its days are kept (the key's log query covers the period; its backups prove the version ENABLED when taken);
  the FINAL backup, still listed on Jul 11, cannot be restored: said, not counted.
- CMEK, version 1 destroyed while the instance existed (scheduled Jul 4 10:00, destroyed Jul 5 10:00): Jul 1 .. 3
  kept, Jul 4 .. 6 broken (the runs of Jul 1 .. 3, on version 1, were retained then; the snapshot of Jul 6 shows the
  live data on it too).
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone

from auditor.checks import backup_encryption_parity as parity
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.model import BackupAttempt, ConfigChange, LogSpan, sql_resource
from auditor.facts.sources import kms_key_versions, kms_keys
from auditor.facts.sources.sql_backups import read as read_backups
from auditor.facts.sources.sql_instances import sql_instance
from auditor.period import Period

UTC = timezone.utc
PERIOD = Period(date(2026, 7, 1), date(2026, 7, 10))
AS_OF = datetime(2026, 7, 11, 12, 0, tzinfo=UTC)
DB = sql_resource("p", "crm-mysql")
DELETED = datetime(2026, 7, 6, 12, 0, tzinfo=UTC)
KEY = "projects/p/locations/us-east1/keyRings/sql/cryptoKeys/crm"
V1 = f"{KEY}/cryptoKeyVersions/1"

FINAL_GOOGLE = {
    "kind": "sql#backup",
    "name": "projects/p/backups/1783339200007",
    "instance": "crm-mysql",
    "type": "FINAL",
    "state": "SUCCESSFUL",
    "backupKind": "SNAPSHOT",
    "description": "Final backup of instance crm-mysql",
    "backupInterval": {"startTime": "2026-07-06T11:54:00Z", "endTime": "2026-07-06T11:59:00Z"},
    "expiryTime": "2026-08-05T12:00:00Z",
    "instanceDeletionTime": "2026-07-06T12:00:00Z",
    "location": "us-east1",
    "databaseVersion": "MYSQL_8_0",
    "timeZone": "UTC",
    "selfLink": "https://sqladmin.googleapis.com/v1/projects/p/backups/1783339200007",
    "instanceSettings": {
        "kind": "sql#instance", "name": "crm-mysql", "project": "p", "region": "us-west1",
        "databaseVersion": "MYSQL_8_0", "state": "RUNNABLE", "instanceType": "CLOUD_SQL_INSTANCE",
        "createTime": "2025-01-10T08:00:00Z",
        "settings": {"kind": "sql#settings", "tier": "db-custom-2-7680", "activationPolicy": "ALWAYS",
                     "userLabels": {"data-classification": "internal"},
                     "finalBackupConfig": {"enabled": True, "retentionDays": 30},
                     "backupConfiguration": {"kind": "sql#backupConfiguration", "enabled": True, "startTime": "03:00",
                                             "location": "us-east1", "binaryLogEnabled": True,
                                             "transactionLogRetentionDays": 7,
                                             "backupRetentionSettings": {"retainedBackups": 30, "retentionUnit": "COUNT"}}},
    },
}


def final_cmek(snapshot_keys: bool = True) -> dict:
    """The same FINAL backup of a CMEK instance: the backup's kmsKey/kmsKeyVersion, and (or not) the snapshot's own."""
    payload = copy.deepcopy(FINAL_GOOGLE)
    payload.update(kmsKey=KEY, kmsKeyVersion=V1)
    if snapshot_keys:
        payload["instanceSettings"]["diskEncryptionConfiguration"] = {"kmsKeyName": KEY, "kind": "sql#diskEncryptionConfiguration"}
        payload["instanceSettings"]["diskEncryptionStatus"] = {"kmsKeyVersionName": V1, "kind": "sql#diskEncryptionStatus"}
    return payload


def key_items(destroy_event: str | None) -> dict[str, list]:
    """cryptoKeys.get and cryptoKeyVersions.list answers read on Jul 11 12:00: version 1, ENABLED or DESTROYED."""
    out: dict[str, list] = {}
    emit = (lambda fact, item: out.setdefault(fact, []).append(item))
    kms_keys.read({}, {"name": KEY, "purpose": "ENCRYPT_DECRYPT", "createTime": "2025-01-01T00:00:00Z",
                       "destroyScheduledDuration": "86400s", "primary": {"name": V1, "state": "ENABLED"}}, "e-key", emit)
    version = {"name": V1, "state": "ENABLED", "protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
               "createTime": "2025-01-01T00:00:00Z", "generateTime": "2025-01-01T00:00:00Z"}
    if destroy_event:
        version.update(state="DESTROYED", destroyEventTime=destroy_event)
    kms_key_versions.read({"server_date": AS_OF.isoformat()}, {"cryptoKeyVersions": [version]}, "e-versions", emit)
    return out


def config(encryption: str = "any", classes: tuple[str, ...] = ("internal",)) -> Config:
    return Config.model_validate({
        "organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"country": "US", "classifications": {c: {"backup_interval": "24h", "encryption": encryption} for c in classes}},
    })


def read_final(payload: dict) -> dict[str, list]:
    emitted: dict[str, list] = {}
    call = {"api": "sqladmin", "method": "Backups.list", "params": {"parent": "projects/p"}, "scope": "projects/p"}
    read_backups(call, {"backups": [payload]}, "e-final", lambda fact, item, at=None: emitted.setdefault(fact, []).append(item))
    return emitted


def run(day: int, version: str | None = V1) -> BackupAttempt:
    start = datetime(2026, 7, day, 3, 0, tzinfo=UTC)
    return BackupAttempt(DB, start, "succeeded", "backup-run", "SUCCESSFUL", start + timedelta(minutes=20), f"r{day}",
                         (f"e-r{day}",), "us-east1", KEY if version else None, version)


def facts_for(payload: dict, runs: list[BackupAttempt] = (), destroy_event: str | None = None, instances: list = ()):
    items = {**read_final(payload), "sql_instances": list(instances), "backup_runs": list(runs),
             "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-log"),
                              LogSpan(KEY, datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-kms-log")],
             "config_changes": [ConfigChange(DB, DELETED, "cloudsql.instances.delete", {}, "ops@example.com", "log:del",
                                             deleted=True, evidence=("e-del",))]}
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")]
    if payload.get("kmsKey"):
        items.update(key_items(destroy_event))
        answered += [("cloudkms", "cryptoKeys.get", KEY), ("cloudkms", "cryptoKeyVersions.list", KEY)]
    return assemble(AS_OF, ["p"], items=items, answered=answered)


def judge(facts, cfg: Config | None = None, configs=()):
    ctx = CheckContext(config=cfg or config(), period=PERIOD, as_of=AS_OF, configs=tuple(configs))
    return {f.resource: f for f in parity.evaluate(facts, ctx)}


def days(first: int, last: int, state: str) -> dict[str, str]:
    return {f"2026-07-{d:02d}": state for d in range(first, last + 1)}


# --- readers ---------------------------------------------------------------------------------------

def test_the_final_backup_and_its_snapshot_carry_the_key_where_present():
    emitted = read_final(final_cmek())
    (backup,) = emitted["sql_backups"]
    assert (backup.kind, backup.kms_key, backup.kms_key_version, backup.instance_deleted_at) == ("FINAL", KEY, V1, DELETED)
    (snapshot,) = emitted["final_snapshots"]
    assert (snapshot.kms_key, snapshot.kms_key_version) == (KEY, V1)
    bare = read_final(final_cmek(snapshot_keys=False))
    assert (bare["final_snapshots"][0].kms_key, bare["final_snapshots"][0].kms_key_version) == (None, None)
    assert bare["sql_backups"][0].kms_key_version == V1
    google = read_final(FINAL_GOOGLE)
    assert google["sql_backups"][0].kms_key is None and google["final_snapshots"][0].kms_key is None


# --- deleted instances -----------------------------------------------------------------------------

def test_a_deleted_google_managed_instance_is_judged_for_the_days_it_existed():
    finding = judge(facts_for(FINAL_GOOGLE))[DB]
    assert finding.status == "pass", finding.message
    assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    assert "deleted on 2026-07-06 12:00 UTC" in finding.message and "days after the deletion are not applicable" in finding.message


def test_a_deleted_instance_whose_data_required_cmek_fails_on_its_days_only():
    finding = judge(facts_for(FINAL_GOOGLE), config("cmek"))[DB]
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == [f"2026-07-{d:02d}" for d in range(1, 7)]
    assert finding.details["days"] == {**days(1, 6, "broken"), **days(7, 10, "not_applicable")}


def test_a_version_destroyed_after_the_deletion_leaves_its_days_kept_and_its_final_backup_unrestorable():
    facts = facts_for(final_cmek(), runs=[run(d) for d in range(1, 7)], destroy_event="2026-07-08T10:00:00Z")
    finding = judge(facts)[DB]
    assert finding.status == "pass", finding.message
    assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    assert finding.observed["kms_key"] == KEY
    assert "cannot be restored" in finding.message and "does not change the finding" in finding.message
    (gone,) = [u for u in finding.details["unrestorable_after_deletion"] if u["kind"] == "final"]
    assert gone["key_version"] == V1 and gone["state"] == "DESTROYED"


def test_a_version_destroyed_while_the_instance_existed_breaks_the_days_from_its_scheduling():
    facts = facts_for(final_cmek(), runs=[run(d) for d in range(1, 4)], destroy_event="2026-07-05T10:00:00Z")
    finding = judge(facts)[DB]
    assert finding.status == "fail", finding.message
    assert finding.details["days"] == {**days(1, 3, "kept"), **days(4, 6, "broken"), **days(7, 10, "not_applicable")}
    assert "2026-07-04..2026-07-06" in finding.message


def test_a_snapshot_without_its_encryption_takes_the_final_backups_key():
    facts = facts_for(final_cmek(snapshot_keys=False), runs=[run(d) for d in range(1, 7)])
    finding = judge(facts)[DB]
    assert (finding.observed["kms_key"], finding.observed["kms_key_version"]) == (KEY, V1)
    assert finding.status == "pass", finding.message
    assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}


def test_an_unread_key_leaves_the_deleted_instances_days_unknown_never_kept():
    facts = facts_for(final_cmek(), runs=[run(d) for d in range(1, 7)])
    bare = assemble(AS_OF, ["p"], items={k: v for k, v in {**read_final(final_cmek()), "sql_instances": [],
                                                             "backup_runs": [run(d) for d in range(1, 7)]}.items()},
                    answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                              ("sqladmin", "Backups.list", "projects/p")])
    assert judge(facts)[DB].status == "pass"
    finding = judge(bare)[DB]
    assert finding.status == "inconclusive", finding.message
    assert "kept" not in finding.details["days"].values()


def test_an_instance_only_the_log_shows_deleted_is_inconclusive_for_its_days():
    ghost = sql_resource("p", "ghost-pg")
    deletion = ConfigChange(ghost, datetime(2026, 7, 4, 15, 0, tzinfo=UTC), "cloudsql.instances.delete", {}, "ops@example.com",
                            "log:ghost", deleted=True, evidence=("e-ghost",))
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [], "backup_runs": [], "config_changes": [deletion],
                                          "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c")]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                               ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")])
    finding = judge(facts)[ghost]
    assert finding.status == "inconclusive"
    assert finding.details["unknown_days"] == ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04"]


# --- the requirement in force each day ---------------------------------------------------------------

LIVE = {"kind": "sql#instance", "name": "live-pg", "project": "p", "region": "us-west1", "databaseVersion": "POSTGRES_16",
        "state": "RUNNABLE", "instanceType": "CLOUD_SQL_INSTANCE", "createTime": "2025-01-10T08:00:00Z",
        "settings": {"userLabels": {"data-classification": "internal"}, "activationPolicy": "ALWAYS",
                     "backupConfiguration": {"enabled": True, "startTime": "03:00", "location": "us-east1",
                                             "backupRetentionSettings": {"retainedBackups": 7, "retentionUnit": "COUNT"}}}}
LIVE_DB = sql_resource("p", "live-pg")


def _live_facts(keyed: bool = False, keyless_from: int = 99):
    payload = copy.deepcopy(LIVE)
    if keyed:
        payload["diskEncryptionConfiguration"] = {"kmsKeyName": KEY}
        payload["diskEncryptionStatus"] = {"kmsKeyVersionName": V1}
    instance = sql_instance(payload, "e-live")
    from dataclasses import replace

    instance = replace(instance, observed_at=AS_OF)
    runs = [BackupAttempt(LIVE_DB, datetime(2026, 7, d, 3, tzinfo=UTC), "succeeded", "backup-run", "SUCCESSFUL",
                          datetime(2026, 7, d, 3, 20, tzinfo=UTC), f"l{d}", (f"e-l{d}",), "us-east1",
                          KEY if keyed and d < keyless_from else None, V1 if keyed and d < keyless_from else None)
            for d in range(4, 11)]
    items = {"sql_instances": [instance], "backup_runs": runs,
             "log_coverage": [LogSpan(KEY, datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-kms-log")]}
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                ("sqladmin", "Backups.list", "projects/p")]
    if keyed:
        items.update(key_items(None))
        answered += [("cloudkms", "cryptoKeys.get", KEY), ("cloudkms", "cryptoKeyVersions.list", KEY)]
    return assemble(AS_OF, ["p"], items=items, answered=answered)


def _at(day: int) -> datetime:
    return datetime(2026, 7, day, 6, 0, tzinfo=UTC)


def test_cmek_required_until_jul_5_then_any_fails_those_days_only():
    """cmek from the first locker (Jul 1) to Jul 5; `any` from the locker of Jul 6: the newest configuration alone
    would pass the Google-managed instance; judged day by day, Jul 1 .. 5 are exceptions."""
    configs = [(_at(1), "L1", config("cmek")), (_at(6), "L6", config("any"))]
    finding = judge(_live_facts(), config("any"), configs)[LIVE_DB]
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == [f"2026-07-{d:02d}" for d in range(1, 6)]
    assert finding.details["days"] == {**days(1, 5, "broken"), **days(6, 10, "kept")}
    assert "policy.classifications.internal.encryption was cmek until 2026-07-05, any from 2026-07-06 " \
           "(the configuration stored in locker L6)" in finding.message
    assert [(t["from"], t["locker"]) for t in finding.details["thresholds"]] == [("2026-07-01", "L1"), ("2026-07-06", "L6")]


def test_a_day_whose_configuration_lacks_the_classification_is_unknown_never_kept():
    """Locker L4's configuration (in force Jul 4 .. Jul 7) defines no `internal`: those days are unknown, for the
    Google-managed instance and for the CMEK one alike (whatever the keys say)."""
    configs = [(_at(1), "L1", config("any")), (_at(4), "L4", config("any", classes=("other",))), (_at(8), "L8", config("any"))]
    for keyed in (False, True):
        finding = judge(_live_facts(keyed), config("any"), configs)[LIVE_DB]
        assert finding.status == "inconclusive", (keyed, finding.message)
        assert finding.details["unknown_days"] == [f"2026-07-{d:02d}" for d in range(4, 8)], keyed
        assert finding.details["days"] == {**days(1, 3, "kept"), **days(4, 7, "unknown"), **days(8, 10, "kept")}, keyed
        assert any("locker L4" in r and "'internal'" in r for r in finding.details["unknown_reasons"]), keyed
        assert "not defined" in finding.message


def test_one_stored_configuration_judges_as_the_newest_did():
    """One locker's configuration for the whole period: the same verdict and days as without stored configurations."""
    for encryption, status in (("any", "pass"), ("cmek", "fail")):
        alone = judge(_live_facts(), config(encryption))[LIVE_DB]
        stored = judge(_live_facts(), config(encryption), [(_at(10), "L10", config(encryption))])[LIVE_DB]
        assert alone.status == stored.status == status
        assert alone.details["days"] == stored.details["days"]
        assert "thresholds" not in stored.details and alone.message == stored.message


def test_backups_of_cmek_data_that_report_no_key_break_the_days_they_were_retained_whatever_the_requirement():
    """live-pg uses CMEK; its runs of Jul 8 .. 10 report no key (no diskEncryptionConfiguration/Status), each retained
    from its day to the read: Jul 8 .. 10 are exceptions under `any`, Jul 1 .. 7 kept."""
    finding = judge(_live_facts(keyed=True, keyless_from=8), config("any"))[LIVE_DB]
    assert finding.status == "fail", finding.message
    assert finding.details["days"] == {**days(1, 7, "kept"), **days(8, 10, "broken")}
    assert "no encryption key although the live data uses CMEK were retained on 3 days, 2026-07-08..2026-07-10" in finding.message


def test_an_instance_gone_without_a_final_backup_is_judged_from_its_last_read_for_the_days_it_existed():
    """Daily lockers read live-pg up to Jul 3 06:00; the Admin Activity log shows it deleted on Jul 6 12:00 and no FINAL
    backup was read (finalBackupConfig off): Jul 1 .. 6 are its days (Google-managed, `any`: kept), Jul 7 .. 10 not
    applicable; under `cmek` its days are exceptions. Dropped, it would be judged by nothing."""
    from dataclasses import replace

    last = replace(sql_instance(copy.deepcopy(LIVE), "e-jul3"), observed_at=datetime(2026, 7, 3, 6, 0, tzinfo=UTC))
    deletion = ConfigChange(LIVE_DB, DELETED, "cloudsql.instances.delete", {}, "ops@example.com", "log:del-live",
                            deleted=True, evidence=("e-del-live",))
    facts = assemble(AS_OF, ["p"], items={
        "sql_instances": [], "instance_observations": [last], "config_changes": [deletion],
        "backup_runs": [BackupAttempt(LIVE_DB, datetime(2026, 7, d, 3, tzinfo=UTC), "succeeded", "backup-run", "SUCCESSFUL",
                                      datetime(2026, 7, d, 3, 20, tzinfo=UTC), f"g{d}", (f"e-g{d}",), "us-east1")
                        for d in (1, 2, 3)],
        "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-log")]},
        answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                  ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")])
    finding = judge(facts)[LIVE_DB]
    assert finding.status == "pass", finding.message
    assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    assert "deleted on 2026-07-06 12:00 UTC" in finding.message and "no FINAL backup of it was read" in finding.message
    strict = judge(facts, config("cmek"))[LIVE_DB]
    assert strict.status == "fail" and strict.details["exception_days"] == [f"2026-07-{d:02d}" for d in range(1, 7)]
