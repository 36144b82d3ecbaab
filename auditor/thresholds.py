"""Which configuration key set each threshold a finding was judged against.

A finding's `expected` holds the values it was compared with (``retention_min_days: 14``); an
auditor must be able to trace each to the configuration that set it
(``policy.classifications.confidential.retention_min_days``), not to the tool. This table maps the
`expected` keys the built-in checks use to their keys in auditor.yaml; a key not in it is reported
as set by the check itself, never attributed to a configuration key it did not come from.
"""

from __future__ import annotations

from typing import Any

#: expected key -> configuration key; "{c}" is the data's classification.
CONFIG_KEYS = {
    "retention_min_days": "policy.classifications.{c}.retention_min_days",
    "retention_max_days": "policy.classifications.{c}.retention_max_days",
    "point_in_time_recovery": "policy.classifications.{c}.point_in_time_recovery",
    "encryption": "policy.classifications.{c}.encryption",
    "separate_region": "policy.classifications.{c}.cross_region",
    "interval_hours": "policy.classifications.{c}.backup_interval",
    "restore_test_interval_days": "policy.classifications.{c}.restore_test_interval",
    "tolerance_hours": "policy.backup_window",
    "max_age_days": "policy.inventory_review_interval",
    "one_of": "policy.classifications",
    "window_hours": "policy.source_code.backup_interval",
    "layout": "github.backup.layout",
}
PER_CLASSIFICATION = "{c}"


def _classification(finding: dict[str, Any]) -> str | None:
    for section in ("expected", "details", "observed"):
        value = (finding.get(section) or {}).get("classification")
        if isinstance(value, str) and value:
            return value
    return None


def config_keys(finding: dict[str, Any]) -> dict[str, str]:
    """expected key -> the configuration key that set it (only keys whose source is known)."""
    keys: dict[str, str] = {}
    classification = _classification(finding)
    for key in finding.get("expected") or {}:
        template = CONFIG_KEYS.get(key)
        if template is None:
            continue
        if PER_CLASSIFICATION in template:
            if classification is None:
                continue  # which classification's key is unknown: say nothing rather than guess
            template = template.replace(PER_CLASSIFICATION, classification)
        keys[key] = template
    return keys
