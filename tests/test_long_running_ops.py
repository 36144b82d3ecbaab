"""Long-running operations in the Admin Activity log: only the last entry's result (status.code 0) and time apply.

The entries are transcribed from the documented shapes: `LogEntry.operation` (`id`, `producer`, `first`,
`last`: the Logging v2 LogEntryOperation schema, every field optional) and the AuditLog payload
(`status` a google.rpc.Status, `request` with its `@type`; Cloud SQL's request types in the older
`cloudsql.admin` and the newer `google.cloud.sql.v1` naming). Cloud SQL's docs say its long-running
methods "usually generate two entries: start and end" (API notes); whether the body is logged on
either is unconfirmed, so both placements are read.
"""

from __future__ import annotations

from datetime import datetime, timezone

from auditor.facts.sources import audit_log
from auditor.facts.sources.audit_log import FACTS

UTC = timezone.utc
PROJECT, INSTANCE = "ops-prod", "orders-pg"
RESOURCE = f"//cloudsql.googleapis.com/projects/{PROJECT}/instances/{INSTANCE}"
OPERATION_ID = "operation-1723280400000-61f6a2b0c0d3e-5a8c1b2d-9e3f4a7b"


def entry(insert_id, when, *, first=None, last=None, body=None, status=None, method="cloudsql.instances.update",
          request_type="type.googleapis.com/google.cloud.sql.v1.SqlInstancesUpdateRequest", operation_id=OPERATION_ID,
          producer="cloudsql.googleapis.com"):
    proto = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "serviceName": "cloudsql.googleapis.com",
        "methodName": method,
        "resourceName": f"projects/{PROJECT}/instances/{INSTANCE}",
        "authenticationInfo": {"principalEmail": "dba@ops.example"},
    }
    if status is not None:
        proto["status"] = status
    if body is not None:
        proto["request"] = {"@type": request_type, "project": PROJECT, "instance": INSTANCE, "body": body}
    out = {"insertId": insert_id, "logName": f"projects/{PROJECT}/logs/cloudaudit.googleapis.com%2Factivity",
           "timestamp": when, "receiveTimestamp": when, "severity": "NOTICE", "protoPayload": proto,
           "resource": {"type": "cloudsql_database", "labels": {"database_id": f"{PROJECT}:{INSTANCE}", "project_id": PROJECT,
                                                                "region": "us-central"}}}
    if first is not None or last is not None:
        operation = {"id": operation_id}
        if producer is not None:
            operation["producer"] = producer
        if first is not None:
            operation["first"] = first
        if last is not None:
            operation["last"] = last
        out["operation"] = operation
    return out


RETENTION_CUT = {"settings": {"backupConfiguration": {"backupRetentionSettings": {"retainedBackups": 3, "retentionUnit": "COUNT"}}}}
STOP = {"settings": {"activationPolicy": "NEVER"}}


def read(*pages):
    """What the reader emits for each page, then each collection's merge (per scope, as the build does)."""
    emitted = {"config_changes": [], "activation_changes": [], "backup_windows": []}
    for number, page in enumerate(pages):
        audit_log.read({"scope": f"projects/{PROJECT}"}, {"entries": page}, f"item-{number}", lambda f, v: emitted[f].append(v))
    facts = {fact.name: fact for fact in FACTS}
    return {name: facts[name].dedupe(values) for name, values in emitted.items()}


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_the_last_entrys_time_applies_with_the_first_entrys_body():
    changes = read([entry("a1", "2026-08-09T23:58:10.114Z", first=True, body=RETENTION_CUT),
                    entry("a2", "2026-08-10T00:03:41.902Z", last=True, status={})])["config_changes"]
    (change,) = changes
    assert change.time == stamp("2026-08-10T00:03:41.902Z")  # effective when it ended: Aug 10, not Aug 9
    assert change.settings == {"retained_backups": 3}
    assert set(change.evidence) == {"item-0"} and change.key == "log:a2"


def test_a_failed_last_entry_changed_nothing():
    failed = {"code": 9, "message": "Operation failed: the instance is not in a state to be updated."}
    out = read([entry("b1", "2026-08-10T09:00:00Z", first=True, body=RETENTION_CUT),
                entry("b2", "2026-08-10T09:02:00Z", last=True, status=failed)])
    assert out["config_changes"] == []


def test_a_first_entry_without_its_last_is_a_change_of_unknown_value_at_its_time():
    (change,) = read([entry("c1", "2026-09-29T23:59:00Z", first=True, body=RETENTION_CUT)])["config_changes"]
    # not seen to take effect: what it set, and whether, is unknown until a read the log joins to it
    assert change.time == stamp("2026-09-29T23:59:00Z")
    assert set(change.settings.values()) == {None} and "retained_backups" in change.settings


def test_the_body_on_the_last_entry_is_read_too():
    (change,) = read([entry("d1", "2026-08-10T09:00:00Z", first=True),
                      entry("d2", "2026-08-10T09:05:00Z", last=True, body=RETENTION_CUT, status={"code": 0})])["config_changes"]
    assert change.time == stamp("2026-08-10T09:05:00Z") and change.settings == {"retained_backups": 3}


def test_first_and_last_on_different_pages_or_lockers_pair_by_operation_id():
    out = read([entry("e2", "2026-08-10T09:05:00Z", last=True)],  # the newer locker's page first
               [entry("e1", "2026-08-10T09:00:00Z", first=True, body=RETENTION_CUT,
                      request_type="type.googleapis.com/cloudsql.admin.InstancesUpdateRequest")])  # older @type naming
    (change,) = out["config_changes"]
    assert change.time == stamp("2026-08-10T09:05:00Z") and change.settings == {"retained_backups": 3}
    assert set(change.evidence) == {"item-0", "item-1"}


def test_two_operations_are_not_mixed_and_a_short_call_applies_at_once():
    out = read([entry("f1", "2026-08-10T09:00:00Z", first=True, body=RETENTION_CUT, operation_id="op-A"),
                entry("g1", "2026-08-11T09:00:00Z", first=True, last=True, operation_id="op-B", producer=None,
                      body={"settings": {"backupConfiguration": {"enabled": False}}}),
                entry("f2", "2026-08-10T09:04:00Z", last=True, operation_id="op-A")])
    assert [(c.time, c.settings) for c in out["config_changes"]] == [
        (stamp("2026-08-10T09:04:00Z"), {"retained_backups": 3}), (stamp("2026-08-11T09:00:00Z"), {"backup_enabled": False})]


def test_an_entry_between_first_and_last_is_not_applied():
    out = read([entry("h1", "2026-08-10T09:00:00Z", first=True, body=RETENTION_CUT),
                entry("h2", "2026-08-10T09:01:00Z", body={"settings": {"backupConfiguration": {"enabled": False}}}, last=False),
                entry("h3", "2026-08-10T09:03:00Z", last=True)])
    (change,) = out["config_changes"]
    assert change.settings == {"retained_backups": 3} and change.time == stamp("2026-08-10T09:03:00Z")


def test_an_entry_without_operation_is_applied_at_its_own_time():
    (change,) = read([entry("i1", "2026-08-10T09:00:00Z", body=RETENTION_CUT)])["config_changes"]
    assert change.time == stamp("2026-08-10T09:00:00Z") and change.settings == {"retained_backups": 3}


def test_a_stop_applies_when_its_operation_ended():
    out = read([entry("j1", "2026-08-01T09:00:00Z", first=True, body=STOP),
                entry("j2", "2026-08-01T09:06:30Z", last=True, status={})])
    (stop,) = out["activation_changes"]
    assert (stop.time, stop.policy) == (stamp("2026-08-01T09:06:30Z"), "NEVER")
    assert out["config_changes"] == []  # the body touched no backup setting


def test_a_failed_stop_did_not_stop_it_and_an_unfinished_one_is_unknown():
    failed = read([entry("k1", "2026-08-01T09:00:00Z", first=True, body=STOP),
                   entry("k2", "2026-08-01T09:01:00Z", last=True, status={"code": 13, "message": "internal error"})])
    assert failed["activation_changes"] == []
    (pending,) = read([entry("l1", "2026-08-01T09:00:00Z", first=True, body=STOP)])["activation_changes"]
    assert pending.policy is None and pending.time == stamp("2026-08-01T09:00:00Z")


def test_a_deletion_takes_effect_at_its_last_entry():
    out = read([entry("m1", "2026-09-12T10:00:00Z", first=True, method="cloudsql.instances.delete"),
                entry("m2", "2026-09-12T10:02:00Z", last=True, method="cloudsql.instances.delete")])
    (deletion,) = out["config_changes"]
    assert deletion.deleted and deletion.time == stamp("2026-09-12T10:02:00Z")


def test_the_collector_asks_for_the_operation_field():
    from auditor.collectors.logging import ENTRY_FIELDS

    assert ",operation," in ENTRY_FIELDS
