"""What the auditing identity may do on each project: Cloud Resource Manager's testIamPermissions.

One call per project in scope (configured or discovered), asking about every read permission the
declared sources need and a few write permissions (auditor.permissions.probe). Google answers the
subset held; the answer is evidence like any other page, so the pack can say "held N of M, missing
..." and warn when the identity can write. The call needs no permission of its own, but it can still
fail (the Resource Manager API disabled for the quota project, a timeout): the call record says so,
and the pack reports "not tested" with that reason, never "all held".
"""

from __future__ import annotations

from typing import Iterator

from auditor.collectors.paging import fetch_one
from auditor.permissions import probe
from auditor.scheduler import Call

METHOD = "projects.testIamPermissions"


def test_call(clients, project: str) -> Call:
    wanted = probe()

    def perform() -> list[str]:
        request = clients.collection("cloudresourcemanager", "projects").testIamPermissions(
            resource=project, body={"permissions": wanted})
        answer = fetch_one(request, f"cloudresourcemanager {METHOD} for projects/{project}")
        return list(answer.get("permissions") or [])

    return Call("cloudresourcemanager", METHOD, {"resource": project, "permissions": wanted}, f"projects/{project}", perform)


def project_calls(ctx, project: str) -> Iterator[Call]:
    yield test_call(ctx.google, project)
