"""The IAM permissions each Google API call of the collectors needs, and the read-only custom role made of them.

Generated from the evidence-source declarations (auditor/facts/sources: one `Source` per API method,
with the permissions its call needs), so `auditor roles` cannot drift from what the code calls:
tests/test_validate.py fails when a collector makes a Google call no source declares, and when the
sample collection made a call the role lacks.

Calls of the local kinds (`inventory` reads the data map, `git` inspects backups) need no IAM
permission; GitHub's calls need a token that can read the organisation's repositories (their
declared "permissions" are token scopes, not IAM).
"""

from __future__ import annotations

from typing import Any

from auditor.facts.sources import SOURCES

#: APIs whose calls are not Google's and need no IAM permission
NOT_IAM = {"inventory": "reads the declared data map from disk", "git": "inspects the local backups with git",
           "github": "GitHub's REST API, with the token of github.token_env or a GitHub App installation"}
#: (api, method) -> the IAM permissions Google checks for it: a view over the source declarations
PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    source.key: tuple(source.permissions) for source in SOURCES
    if not source.legacy and source.api not in NOT_IAM and source.method != "*"}
#: calls that need no permission of their own (testIamPermissions: "There are no permissions required for
#: making this API call", Resource Manager reference)
PERMISSIONS_FREE = {("cloudresourcemanager", "projects.testIamPermissions"), ("cloudkms", "cryptoKeys.testIamPermissions")}
#: a few write permissions tested beside the read ones, each a way to change or destroy what is audited
#: (or who may): any of them held means the identity is not read-only, which the pack warns about
WRITE_PROBES = ("cloudkms.cryptoKeyVersions.destroy", "cloudsql.instances.update", "resourcemanager.projects.setIamPolicy",
                "storage.buckets.update")
#: the service to enable for each Google API a collector calls
SERVICES = {"cloudasset": "cloudasset.googleapis.com", "sqladmin": "sqladmin.googleapis.com", "storage": "storage.googleapis.com",
            "cloudkms": "cloudkms.googleapis.com", "monitoring": "monitoring.googleapis.com", "logging": "logging.googleapis.com"}

ROLE_ID = "soc2BackupAuditor"


def permissions_for(api: str, method: str) -> tuple[str, ...]:
    """The permissions a call needs; () for a call that needs none (local, GitHub); KeyError for one nobody declared."""
    if api in NOT_IAM or (api, method) in PERMISSIONS_FREE:
        return ()
    return PERMISSIONS[(api, method)]


def all_permissions() -> list[str]:
    return sorted({p for needed in PERMISSIONS.values() for p in needed})


def key_probe() -> list[str]:
    """What `collect` asks a Cloud KMS key's own testIamPermissions: the role's KMS reads (a key often lives in a
    central project outside the audit's scope, or is granted on the key ring or key alone, where the project's
    answer says nothing), and destroying a key version (a write probe)."""
    reads = sorted(p for p in all_permissions() if p.startswith("cloudkms."))
    return reads + [p for p in sorted(WRITE_PROBES) if p.startswith("cloudkms.") and p not in reads]


def probe() -> list[str]:
    """What `collect` asks testIamPermissions about on each project: every read permission of the role,
    then the write probes (no wildcards: the API refuses them)."""
    return all_permissions() + sorted(p for p in WRITE_PROBES if p not in all_permissions())


def role() -> dict[str, Any]:
    """The custom role, as `gcloud iam roles create ROLE --organization=ORG --file=FILE` reads it."""
    return {
        "title": "SOC 2 backup auditor (read-only)",
        "description": "Exactly the read permissions the soc2-backup-auditor collectors use; grant it on the "
                       "organisation (Cloud Asset Inventory search runs there) or on each audited project.",
        "stage": "GA",
        "includedPermissions": all_permissions(),
    }


def role_yaml() -> str:
    import yaml

    head = ("# Custom read-only role for the SOC 2 backup auditor, generated from the evidence-source declarations.\n"
            f"#   gcloud iam roles create {ROLE_ID} --organization=ORGANIZATION_ID --file=auditor-role.yaml\n"
            f"#   (or --project=PROJECT_ID for a single project)\n")
    return head + yaml.safe_dump(role(), sort_keys=False, width=100)
