"""Reliance on the providers: Google Cloud and GitHub as subservice organisations.

Every piece of evidence in the pack is information the providers' systems produced (their API
answers, their audit logs), and the backups themselves are made and kept by the providers'
services. An auditor therefore relies on controls operated at the providers, evidenced by their own
SOC 2 reports (and bridge letters for any gap between a report's period and the audit period), and
on complementary controls the company itself must operate for those to hold. This module states
that plainly, from the APIs the lockers actually called; the words are the tool's, generic to any
company, and say what to obtain, never that it was obtained.
"""

from __future__ import annotations

from typing import Any, Iterable

GOOGLE_APIS = {"sqladmin": "Cloud SQL Admin API", "storage": "Cloud Storage JSON API", "cloudasset": "Cloud Asset Inventory API",
               "cloudkms": "Cloud KMS API", "monitoring": "Cloud Monitoring API", "logging": "Cloud Logging API",
               "backupdr": "Backup and DR API", "compute": "Compute Engine API", "spanner": "Spanner API",
               "firestore": "Firestore API", "alloydb": "AlloyDB API", "file": "Filestore API",
               "gkebackup": "Backup for GKE API", "bigquery": "BigQuery API",
               "cloudresourcemanager": "Cloud Resource Manager API (the identity's permissions)"}

PROVIDERS = {
    "google-cloud": {
        "name": "Google Cloud (Google LLC)",
        "relied_on": [
            "the services run the configured automated backups, keep them for the configured retention and store them where configured",
            "Cloud Logging records every automated backup attempt and administrative change completely and accurately, and keeps it",
            "the Admin, Asset Inventory, KMS and Monitoring APIs answer completely and accurately for the identity that asks",
            "Cloud KMS keeps customer-managed keys available, and destroys key versions only as requested",
            "Cloud Monitoring evaluates alert policies and delivers notifications to the configured channels",
        ],
        "obtain": [
            "Google Cloud's SOC 2 Type II report covering the audit period (the services listed here in scope)",
            "a bridge letter from Google for any part of the audit period after that report's period ends",
        ],
    },
    "github": {
        "name": "GitHub (GitHub, Inc.)",
        "relied_on": [
            "repositories, branches and tags are stored and served completely and accurately",
            "the REST API answers completely and accurately for the token that asks (organisation totals, repository lists, refs)",
        ],
        "obtain": [
            "GitHub's SOC 2 Type II report covering the audit period (GitHub Enterprise Cloud / the hosting used)",
            "a bridge letter from GitHub for any part of the audit period after that report's period ends",
        ],
    },
}

#: Complementary user entity controls: what the company must operate for the providers' controls to hold.
COMPLEMENTARY = [
    "grant and review access to Google Cloud projects and GitHub organisations on least privilege (who can disable backups, "
    "shorten retention, destroy keys or delete repositories)",
    "keep the auditing identity read-only and protect its credentials (service-account keys, GitHub tokens)",
    "configure backups, retention, backup locations and encryption keys as the policy requires, and approve changes to them",
    "route backup-failure alerts to people who respond, and act on them",
    "operate, secure and monitor the host that keeps the local GitHub backups",
    "test restores, and keep the declared data map current",
]


def statement(lockers: Iterable[Any]) -> dict[str, Any]:
    """results.json's `reliance`: per provider, the evidence it generated in this run and what to obtain."""
    calls: dict[str, dict[str, int]] = {"google-cloud": {}, "github": {}}
    for locker in lockers:
        for call in locker.manifest["calls"]:
            provider = "google-cloud" if call["api"] in GOOGLE_APIS else "github" if call["api"] == "github" else None
            if provider:
                name = GOOGLE_APIS.get(call["api"], "GitHub REST API")
                calls[provider][name] = calls[provider].get(name, 0) + 1
    providers = []
    for key, spec in PROVIDERS.items():
        if not calls[key]:
            continue
        providers.append({
            "id": key, "name": spec["name"], "role": "subservice organisation (carve-out method)",
            "evidence_generated": [{"system": name, "calls": n} for name, n in sorted(calls[key].items())],
            "relied_on": list(spec["relied_on"]), "to_obtain": list(spec["obtain"]), "obtained": False,
        })
    return {
        "providers": providers,
        "complementary_user_entity_controls": list(COMPLEMENTARY),
        "note": "The evidence in this pack is information produced by the providers' systems. Its completeness and accuracy "
                "rest on controls at the providers, which this tool cannot test; the auditor obtains and evaluates the "
                "providers' SOC 2 reports and bridge letters listed here, and tests the complementary controls at the company.",
    }
