"""Weakening rules: which changes of a finding's `observed` values weaken a control.

A status flip is easy to see; drift that weakens a control while it still passes (retention cut
from 30 to 7 days against a 7-day minimum, CMEK removed where the policy allows Google-managed keys,
backups moved to another region) is not. The gate reads these rules to name such drift.

The table is declarative and keyed by the `observed` key a check emits, so check authors only need
to use these key names (documented in the README) for their drift to be caught. Unknown keys are
ignored, and a value of an unexpected type never raises: it just does not match a rule.

Kinds:
  minimum   a number where lower is weaker (retention days, retained copies): weakened when it went down
  maximum   a number where higher is weaker (missed days, longest gap): weakened when it went up
  flag      a boolean safeguard (backups enabled, CMEK in use): weakened when true became false or vanished
  identity  a location or key that must not move silently: weakened when a set value changed or was removed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["minimum", "maximum", "flag", "identity"]


@dataclass(frozen=True)
class Rule:
    key: str
    kind: Kind
    meaning: str


RULES: tuple[Rule, ...] = (
    # backups on at all
    Rule("enabled", "flag", "automated backups enabled"),
    Rule("backup_enabled", "flag", "automated backups enabled"),
    Rule("pitr_enabled", "flag", "point-in-time recovery enabled"),
    # retention
    Rule("retained_backups", "minimum", "number of automated backups retained"),
    Rule("retention_days", "minimum", "backup retention in days"),
    Rule("log_retention_days", "minimum", "transaction-log retention in days"),
    Rule("retention_locked", "flag", "retention policy locked"),
    Rule("versioning_enabled", "flag", "object versioning enabled"),
    Rule("soft_delete_days", "minimum", "soft-delete retention in days"),
    # location
    Rule("backup_location", "identity", "where backups are stored"),
    Rule("cross_region", "flag", "backups kept in a separate region"),
    # encryption
    Rule("kms_key", "identity", "customer-managed encryption key of the live data"),
    Rule("backup_kms_key", "identity", "customer-managed encryption key of the backups"),
    Rule("cmek", "flag", "customer-managed encryption in use"),
    Rule("key_version_enabled", "flag", "the encryption key version is enabled"),
    # monitoring
    Rule("alert_enabled", "flag", "backup-failure alert policy enabled"),
    Rule("alert_policies", "minimum", "enabled alert policies covering backup failures"),
    Rule("notification_channels", "minimum", "notification channels on the backup alert"),
    # outcomes over the period (drift before the status flips)
    Rule("missed_days", "maximum", "days without a successful backup"),
    Rule("unknown_days", "maximum", "days that could not be verified"),
    Rule("disabled_days", "maximum", "days with backups disabled"),
    Rule("longest_gap_hours", "maximum", "longest interval without a successful backup (hours)"),
    Rule("days_since_restore_test", "maximum", "days since the last restore test"),
    Rule("stale_mirrors", "maximum", "source mirrors behind GitHub"),
)
RULES_BY_KEY = {rule.key: rule for rule in RULES}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def weakened(rule: Rule, before: Any, after: Any) -> bool:
    """Did the value move in the weakening direction? Values of unexpected types never match."""
    if rule.kind in ("minimum", "maximum"):
        old, new = _number(before), _number(after)
        if old is None:
            return False
        if new is None:
            return rule.kind == "minimum" and after is None  # a minimum that disappeared
        return new < old if rule.kind == "minimum" else new > old
    if rule.kind == "flag":
        return before is True and after is not True
    # identity: a set value changed or was removed (set where unset before is not a weakening)
    return isinstance(before, str) and bool(before) and before != after


def drift(observed_before: dict[str, Any], observed_after: dict[str, Any]) -> list[tuple[Rule, Any, Any]]:
    """(rule, before, after) for every observed key that weakened; unknown keys are ignored."""
    if not isinstance(observed_before, dict) or not isinstance(observed_after, dict):
        return []
    found = []
    for key in sorted(observed_before):
        rule = RULES_BY_KEY.get(key)
        if rule and weakened(rule, observed_before[key], observed_after.get(key)):
            found.append((rule, observed_before[key], observed_after.get(key)))
    return found
