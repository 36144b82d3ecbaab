"""What the auditing identity may do on each project (Cloud Resource Manager's testIamPermissions) and on
each Cloud KMS key the evidence names (the key's own testIamPermissions).

One call per project in scope (configured or discovered), asking about every read permission the
declared sources need and a few write permissions (auditor.permissions.probe); one per key, asking
about the KMS reads and destroying a version (auditor.permissions.key_probe), because a key is often
kept in a central project outside the scope, or granted on its key ring or itself alone. Google answers the
subset held; the answer is evidence like any other page, so the pack can say "held N of M, missing
..." and warn when the identity can write. The call needs no permission of its own, but it can still
fail (the Resource Manager API disabled for the quota project, a timeout): the call record says so,
and the pack reports "not tested" with that reason, never "all held".
"""

from __future__ import annotations

from typing import Iterator

from auditor.collectors.paging import fetch_one
from auditor.permissions import key_probe, probe
from auditor.scheduler import Call

METHOD = "projects.testIamPermissions"
KEY_METHOD = "cryptoKeys.testIamPermissions"


def test_call(clients, project: str) -> Call:
    wanted = probe()

    def perform() -> list[str]:
        request = clients.collection("cloudresourcemanager", "projects").testIamPermissions(
            resource=project, body={"permissions": wanted})
        answer = fetch_one(request, f"cloudresourcemanager {METHOD} for projects/{project}")
        return list(answer.get("permissions") or [])

    return Call("cloudresourcemanager", METHOD, {"resource": project, "permissions": wanted}, f"projects/{project}", perform)


def key_test_call(clients, key: str) -> Call:
    """The key's own testIamPermissions (a follow-up of the listings that name the key, beside cryptoKeys.get)."""
    wanted = key_probe()

    def perform() -> list[str]:
        keys = clients.collection("cloudkms", "projects.locations.keyRings.cryptoKeys")
        answer = fetch_one(keys.testIamPermissions(resource=key, body={"permissions": wanted}),
                           f"cloudkms {KEY_METHOD} for {key}")
        return list(answer.get("permissions") or [])

    return Call("cloudkms", KEY_METHOD, {"resource": key, "permissions": wanted}, key, perform)


def project_calls(ctx, project: str) -> Iterator[Call]:
    yield test_call(ctx.google, project)
