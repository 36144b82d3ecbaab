"""Cloud Resource Manager API v1: projects.testIamPermissions, asked by `collect` and `auditor validate --online`.

POST /v1/projects/{project}:testIamPermissions with {"permissions": [...]} answers the subset the
caller holds on the project (IAM is independent of whether an API is enabled). A project the caller
cannot see is a 403, as Google answers; the scenario's `permission_denied` APIs withhold their
permissions (cloudsql.* for sqladmin, and each API's own prefix otherwise). The identity is read-only
unless the project's `write_permissions` name what else it holds: a permission whose verb is not a
read (list, get, search, export...) is granted only when listed there. Wildcards are refused, as the
reference says ("Permissions with wildcards (such as * or storage.*) are not allowed").
"""

from __future__ import annotations

from typing import Any

from auditor.simulator import apierror
from auditor.simulator.routing import Request, Route

API = "cloudresourcemanager"
PREFIX_API = {"cloudsql": "sqladmin", "storage": "storage", "cloudasset": "cloudasset", "cloudkms": "cloudkms",
              "monitoring": "monitoring", "logging": "logging", "backupdr": "backupdr"}
#: verbs of permissions that only read (exportResource: Cloud Asset history and exports, in roles/cloudasset.viewer)
READ_VERBS = ("list", "get", "search", "export")


def _is_read(permission: str) -> bool:
    return permission.rsplit(".", 1)[-1].startswith(READ_VERBS)


def test_iam_permissions(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], API)  # unknown: 403; the scenario may disable or deny this API too
    body = req.body if isinstance(req.body, dict) else {}
    asked = body.get("permissions")
    if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
        raise apierror.invalid_argument("permissions: a list of permission names is required.")
    if any("*" in p for p in asked):
        raise apierror.invalid_argument("permissions: wildcards (such as * or storage.*) are not allowed.")
    granted = granted_of(project, asked)
    return {"permissions": granted} if granted else {}


def granted_of(project: Any, asked: list[str]) -> list[str]:
    """The asked permissions the auditing identity holds in the project (also the KMS keys' answer)."""
    return [p for p in asked if PREFIX_API.get(p.split(".", 1)[0]) not in project.permission_denied
            and (_is_read(p) or p in project.write_permissions)]


ROUTES = [Route("POST", "/v1/projects/{project}:testIamPermissions", API, test_iam_permissions)]
