"""The IAM permission each Google API call of the collectors needs, and the read-only custom role made of them.

One table, keyed by the (api, method) the collectors put on their calls (auditor/scheduler.Call), so
`auditor roles` prints exactly what the code calls: tests/test_roles.py fails when a collector makes
a Google call this table does not name, and when the sample collection made a call the role lacks.
(Per-source declarations with their IAM permissions are coming to auditor/facts/sources/; until
they are on main this table is the declaration; it then should be generated from them.)

Calls of the local kinds (`inventory` reads the data map, `git` inspects backups) need no IAM
permission; GitHub's calls need a token that can read the organisation's repositories.
"""

from __future__ import annotations

from typing import Any

#: (api, method) -> the IAM permission Google checks for it (Google's IAM permissions reference)
PERMISSIONS: dict[tuple[str, str], str] = {
    ("cloudasset", "searchAllResources"): "cloudasset.assets.searchAllResources",
    ("sqladmin", "instances.list"): "cloudsql.instances.list",
    ("sqladmin", "backupRuns.list"): "cloudsql.backupRuns.list",
    ("sqladmin", "operations.list"): "cloudsql.instances.get",  # operations are read with the instance's get permission
    ("storage", "buckets.list"): "storage.buckets.list",
    ("cloudkms", "cryptoKeys.get"): "cloudkms.cryptoKeys.get",
    ("cloudkms", "cryptoKeyVersions.list"): "cloudkms.cryptoKeyVersions.list",
    ("monitoring", "alertPolicies.list"): "monitoring.alertPolicies.list",
    ("monitoring", "notificationChannels.list"): "monitoring.notificationChannels.list",
    ("logging", "metrics.list"): "logging.logMetrics.list",
    ("logging", "entries.list"): "logging.logEntries.list",  # Admin Activity and System Event logs (not Data Access)
}
#: calls of `auditor validate --online` only (testIamPermissions needs no permission of its own)
PERMISSIONS_FREE = {("cloudresourcemanager", "projects.testIamPermissions")}
#: APIs whose calls are not Google's and need no IAM permission
NOT_IAM = {"inventory": "reads the declared data map from disk", "git": "inspects the local backups with git",
           "github": "GitHub's REST API, with the token of github.token_env"}
#: the service to enable for each Google API a collector calls
SERVICES = {"cloudasset": "cloudasset.googleapis.com", "sqladmin": "sqladmin.googleapis.com", "storage": "storage.googleapis.com",
            "cloudkms": "cloudkms.googleapis.com", "monitoring": "monitoring.googleapis.com", "logging": "logging.googleapis.com"}

ROLE_ID = "soc2BackupAuditor"


def permission_for(api: str, method: str) -> str | None:
    """The permission a call needs; None for a call that needs none (local, GitHub); KeyError for one nobody declared."""
    if api in NOT_IAM or (api, method) in PERMISSIONS_FREE:
        return None
    return PERMISSIONS[(api, method)]


def role() -> dict[str, Any]:
    """The custom role, as `gcloud iam roles create ROLE --organization=ORG --file=FILE` reads it."""
    return {
        "title": "SOC 2 backup auditor (read-only)",
        "description": "Exactly the read permissions the soc2-backup-auditor collectors use; grant it on the "
                       "organisation (Cloud Asset Inventory search runs there) or on each audited project.",
        "stage": "GA",
        "includedPermissions": sorted(set(PERMISSIONS.values())),
    }


def role_yaml() -> str:
    import yaml

    head = ("# Custom read-only role for the SOC 2 backup auditor, generated from auditor/permissions.py.\n"
            f"#   gcloud iam roles create {ROLE_ID} --organization=ORGANIZATION_ID --file=auditor-role.yaml\n"
            f"#   (or --project=PROJECT_ID for a single project)\n")
    return head + yaml.safe_dump(role(), sort_keys=False, width=100)
