"""ret3: what would outlive a live Cloud SQL instance's deletion, as a setting over time (issue 13).

Two settings decide it (sqladmin v1 discovery document, revision 20261018, `Settings`):
`finalBackupConfig {enabled bool, retentionDays int32}` ("The final backup will be purged at
(time_of_instance_deletion + retention_days)") and `retainBackupsOnDelete` (bool). The field names are
confirmed there and in Google's client libraries; no `finalBackupRetentionDays` field exists in v1 (the
nearest is `instances.delete`'s `finalBackupTtlDays` query parameter, a one-off at deletion). Should the
days ever be spelled otherwise, a read shows a final backup enabled with no `retentionDays`, and that is
an unknown value here, never a pass.

The protection, in the order `auditor.facts.sqlengine.backups_after_deletion` reads it:
`("final", days)` (a final backup kept that long), `("retain",)` (retainBackupsOnDelete keeps backups,
with no stated end: it counts), `("none",)`, or None (unknown).

An Admin Activity update may carry only some of these fields. Whether a PATCH merges or replaces the
`finalBackupConfig` object cannot be told from the entry (a PATCH is logged as `cloudsql.instances.update`
too), so a field missing beside one the body did set is judged both ways, and the value is known only
when both give the same protection; a setting the body did not mention keeps its value where a complete
log query carries the value before it (as every other setting's). Else the value is unknown until the
next read.
"""

from __future__ import annotations

from typing import Any, Iterable

from auditor.facts.access import boolean, get, integer

SETTING = "final_backup"
_UNSET = "unset"  # a partial update did not say it


def read_value(settings: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(enabled, retentionDays, retainBackupsOnDelete) of one configuration read: an absent field is its
    default (not enabled, no days, not retained)."""
    final = get(settings, "finalBackupConfig") if isinstance(get(settings, "finalBackupConfig"), dict) else {}
    return (boolean(final, "enabled") is True, integer(final, "retentionDays"), boolean(settings, "retainBackupsOnDelete") is True)


def logged_value(settings: Any) -> tuple[tuple[str, Any], ...] | None:
    """The fields an update's `request.body.settings` set, as sorted (name, value) pairs, or None when it set none
    of them. `object` marks a `finalBackupConfig` object in the body (its missing fields are judged both ways)."""
    if not isinstance(settings, dict):
        return None
    out: dict[str, Any] = {}
    final = settings.get("finalBackupConfig")
    if isinstance(final, dict):
        out["object"] = True
        if boolean(final, "enabled") is not None:
            out["enabled"] = boolean(final, "enabled")
        if integer(final, "retentionDays") is not None:
            out["days"] = integer(final, "retentionDays")
    if boolean(settings, "retainBackupsOnDelete") is not None:
        out["retain"] = boolean(settings, "retainBackupsOnDelete")
    return tuple(sorted(out.items())) or None


def protection(enabled: Any, days: Any, retain: Any) -> tuple | None:
    """What outlives a deletion, from the three fields (each True/False/int/None, or unset: then the answer is
    None unless it does not depend on it)."""
    if enabled == _UNSET:
        both = {protection(True, days, retain), protection(False, days, retain)}
        return both.pop() if len(both) == 1 else None
    if enabled is True and days == _UNSET:
        return None
    if enabled is True and days:
        return ("final", days)
    if retain == _UNSET:
        return None
    if retain is True:
        return ("retain",)
    if enabled is True:
        return None  # a final backup enabled with no stated retention: unknown
    return ("none",)


def merged(before: tuple | None, logged: tuple[tuple[str, Any], ...]) -> tuple[tuple | None, tuple | None]:
    """(the fields after an update, its protection) from the fields before (None: unknown) and what it logged."""
    said = dict(logged)
    enabled_b, days_b, retain_b = before if before is not None else (_UNSET, _UNSET, _UNSET)
    retain = said.get("retain", retain_b)
    if said.get("object"):  # the object's missing fields: kept (a merge) or reset to their defaults (a replace)
        as_merge = (said.get("enabled", enabled_b), said.get("days", days_b), retain)
        as_replace = (said.get("enabled", False), said.get("days"), retain)
        found = {protection(*as_merge), protection(*as_replace)}
        value = found.pop() if len(found) == 1 else None
        fields = as_merge if as_merge == as_replace else None
    else:
        fields = (enabled_b, days_b, retain)
        value = protection(*fields)
    return (fields if fields is not None and _UNSET not in fields else None), value


def events(reads: Iterable[tuple[Any, tuple, tuple]], changes: Iterable[tuple[Any, Any, tuple]], covers: Any) -> list[tuple]:
    """(time, protection, source, evidence) of every read and every update that set these fields, oldest first.
    `reads`: (time, read_value, evidence); `changes`: (time, logged_value or None (body not logged), evidence);
    `covers(t0, t1)`: whether a complete log query carries a value from t0 to t1 (the fields before an update)."""
    ordered = sorted([(t, "observation", v, e) for t, v, e in reads] + [(t, "change", v, e) for t, v, e in changes],
                     key=lambda x: (x[0], x[1] != "change"))
    out: list[tuple] = []
    fields: tuple | None = None
    at: Any = None
    for time, source, value, evidence in ordered:
        if source == "observation":
            fields, found = value, protection(*value)
        elif value is None:
            fields, found = None, None
        else:
            carried = fields if fields is not None and at is not None and covers(at.timestamp(), time.timestamp()) else None
            fields, found = merged(carried, value)
        at = time
        out.append((time, found, source, evidence))
    return out


def outlives(value: Any, wanted: int) -> bool:
    """Whether a known protection keeps some backup `wanted` days after a deletion (retainBackupsOnDelete counts)."""
    if value is None:
        return False
    if value[0] == "retain":
        return True
    return value[0] == "final" and value[1] >= wanted


__all__ = ["SETTING", "read_value", "logged_value", "protection", "merged", "events", "outlives"]
