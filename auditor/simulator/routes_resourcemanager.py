"""Cloud Resource Manager API v1: projects.testIamPermissions, for `auditor validate --online`.

POST /v1/projects/{project}:testIamPermissions with {"permissions": [...]} answers the subset the
caller holds on the project (IAM is independent of whether an API is enabled). A project the caller
cannot see is a 403, as Google answers; the scenario's `permission_denied` APIs withhold their
permissions (cloudsql.* for sqladmin, and each API's own prefix otherwise).
"""

from __future__ import annotations

from typing import Any

from auditor.simulator import apierror
from auditor.simulator.routing import Request, Route

API = "cloudresourcemanager"
PREFIX_API = {"cloudsql": "sqladmin", "storage": "storage", "cloudasset": "cloudasset", "cloudkms": "cloudkms",
              "monitoring": "monitoring", "logging": "logging"}


def test_iam_permissions(req: Request) -> dict[str, Any]:
    project = req.scenario.project(req.params["project"])
    if project is None:
        raise apierror.permission_denied(API, req.params["project"])
    body = req.body if isinstance(req.body, dict) else {}
    asked = body.get("permissions")
    if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
        raise apierror.invalid_argument("permissions: a list of permission names is required.")
    granted = [p for p in asked if PREFIX_API.get(p.split(".", 1)[0]) not in project.permission_denied]
    return {"permissions": granted} if granted else {}


ROUTES = [Route("POST", "/v1/projects/{project}:testIamPermissions", API, test_iam_permissions)]
