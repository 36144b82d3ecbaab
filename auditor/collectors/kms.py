"""Cloud KMS: the keys that encrypt Cloud SQL data and its backups, and the state of every version.

Follow-ups of the Cloud SQL listings (the keys are named there); a key is read once however many
instances and backups use it (the scheduler never repeats a call). A key version that is
disabled, scheduled for destruction or destroyed makes the backups it encrypts unrestorable.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Iterator

from auditor.collectors.iam import key_test_call
from auditor.collectors.paging import drain, drain_body, fetch_one
from auditor.evidence.capture import current_recorder
from auditor.evidence.locker import iso, utc_now
from auditor.facts.kms_log import METHODS, SERVICE
from auditor.scheduler import Call

PAGE_SIZE = 1000


def key_name(name: str) -> str:
    """A key version's name -> its key's name; a key's name is returned as is."""
    return name.split("/cryptoKeyVersions/")[0]


def key_calls(ctx, key: str) -> Iterator[Call]:
    clients = ctx.google

    def get_key() -> None:
        keys = clients.collection("cloudkms", "projects.locations.keyRings.cryptoKeys")
        fetch_one(keys.get(name=key), f"cloudkms cryptoKeys.get for {key}")

    def list_versions() -> None:
        versions = clients.collection("cloudkms", "projects.locations.keyRings.cryptoKeys.cryptoKeyVersions")
        for _page in drain(versions, versions.list(parent=key, pageSize=PAGE_SIZE), f"cloudkms cryptoKeyVersions.list for {key}"):
            pass

    yield Call("cloudkms", "cryptoKeys.get", {"name": key}, key, get_key)
    yield Call("cloudkms", "cryptoKeyVersions.list", {"parent": key}, key, list_versions)
    yield key_test_call(clients, key)  # what the identity may do on the key itself (auditor.iam)
    yield key_history_call(ctx, key)


def key_history_filter(key: str, start) -> str:
    """The key's Admin Activity entries that change its versions, from `start` with no upper bound (up to
    the read, so a read's state can be carried back over the span the answer covers)."""
    project = key.split("/")[1]
    activity = f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"
    methods = " OR ".join(f'"{m}"' for m in METHODS)
    return (f'logName="{activity}" AND protoPayload.serviceName="{SERVICE}" AND protoPayload.methodName=({methods}) '
            f'AND protoPayload.resourceName:"{key}" AND timestamp>="{iso(start)}"')


def key_history_call(ctx, key: str) -> Call:
    """One Cloud Logging query per key, scoped to the key: its versions' history over the period (its
    coverage is the key's, apart from the Cloud SQL query of the key's project)."""
    from auditor.collectors.logging import PAGE_SIZE as LOG_PAGE, covered_span, parse_time

    clients = ctx.google
    start = ctx.period.starts_at - timedelta(days=1)
    if getattr(ctx, "log_chain", None) is not None:  # --since: from where the previous locker's query of the key ended
        start = ctx.log_chain.start_for(key, start)
    body = {"resourceNames": [f"projects/{key.split('/')[1]}"], "filter": key_history_filter(key, start),
            "orderBy": "timestamp asc", "pageSize": LOG_PAGE}

    def list_entries() -> None:
        entries = clients.collection("logging", "entries")
        recorder = current_recorder()
        read_at = None
        for _page in drain_body(lambda body: entries.list(body=body), body, f"logging entries.list for {key}"):
            if read_at is None and recorder is not None:
                read_at = parse_time(recorder.record.server_date) or utc_now()
        if recorder is not None:
            span = covered_span(start, read_at or utc_now())
            recorder.cover(span["from"], span["to"])

    return Call("logging", "entries.list", body, key, list_entries)
