"""Cloud KMS: the keys that encrypt Cloud SQL data and its backups, and the state of every version.

Follow-ups of the Cloud SQL listings (the keys are named there); a key is read once however many
instances and backups use it (the scheduler never repeats a call). A key version that is
disabled, scheduled for destruction or destroyed makes the backups it encrypts unrestorable.
"""

from __future__ import annotations

from typing import Iterator

from auditor.collectors.iam import key_test_call
from auditor.collectors.paging import drain, fetch_one
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
