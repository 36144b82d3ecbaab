"""How each control's period was covered: day by day from daily lockers, day by day from the audit-log
history of fewer lockers, or at one moment only (point in time), said plainly in the results.

A SOC 2 Type II report must not present point-in-time testing as operating effectiveness over the
period, so every control states its basis (`control.coverage.basis`, with a sentence for the report)
and counts its resource-days by state.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

DAILY, HISTORY, POINT = "daily_lockers", "audit_log_history", "point_in_time"


def _locker_days(lockers: list[dict[str, Any]], tz: ZoneInfo) -> set[str]:
    out = set()
    for locker in lockers:
        try:
            out.add(datetime.fromisoformat(str(locker["as_of"]).replace("Z", "+00:00")).astimezone(tz).date().isoformat())
        except (KeyError, ValueError):
            continue
    return out


def coverage(control: dict[str, Any], lockers: list[dict[str, Any]], period: dict[str, Any], as_of: str) -> dict[str, Any]:
    """The control's `coverage` object: basis, a plain sentence, and resource-day counts by state."""
    tz = ZoneInfo(period.get("timezone") or "UTC")
    counts: Counter[str] = Counter()
    for finding in control["findings"]:
        days = (finding.get("details") or {}).get("days")
        if isinstance(days, dict):
            counts.update(days.values())
    as_of_text = f"{as_of[:16].replace('T', ' ')} UTC"
    if not counts:
        return {"basis": POINT, "days": {}, "complete": False,
                "statement": f"Point in time: tested on the configuration as of {as_of_text} only; the evidence does not "
                             "show how this control operated on the other days of the period."}
    first, last = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    as_of_day = datetime.fromisoformat(as_of.replace("Z", "+00:00")).astimezone(tz).date()
    due = [d for d in (date.fromordinal(n) for n in range(first.toordinal(), min(last, as_of_day).toordinal() + 1))]
    held = _locker_days(lockers, tz)
    with_locker = sum(1 for d in due if d.isoformat() in held)
    unknown = counts.get("unknown", 0)
    tail = (f" {unknown} resource-days could not be established and are reported as unknown." if unknown
            else " Every resource-day in scope was established.")
    if due and with_locker == len(due):
        return {"basis": DAILY, "days": dict(sorted(counts.items())), "complete": not unknown,
                "statement": f"Day by day from daily evidence lockers: one collected on each of the {len(due)} days of the "
                             f"period up to the evidence date, joined by the Admin Activity audit log.{tail}"}
    if any((f.get("details") or {}).get("days_from") == "each day's own locker" for f in control["findings"]):
        return {"basis": HISTORY, "days": dict(sorted(counts.items())), "complete": not unknown,
                "statement": f"Day by day from each day's own locker only: {with_locker} of {len(due)} days have one. No "
                             "history source shows the others (a git mirror keeps only its last fetch), so they are "
                             f"unknown, never passed.{tail}"}
    return {"basis": HISTORY, "days": dict(sorted(counts.items())), "complete": not unknown,
            "statement": f"Day by day from history: {with_locker} of {len(due)} days have their own evidence locker; the "
                         "other days are established from the audit log, backup records and resources' own timestamps "
                         f"carried across complete audit-log queries.{tail}"}


def summary(controls: list[dict[str, Any]]) -> str:
    """One sentence for the cover: how many controls were tested on which basis."""
    by = Counter((c.get("coverage") or {}).get("basis", POINT) for c in controls)
    parts = []
    if by[DAILY]:
        parts.append(f"{by[DAILY]} day by day from daily evidence lockers")
    if by[HISTORY]:
        parts.append(f"{by[HISTORY]} day by day from audit-log history")
    if by[POINT]:
        parts.append(f"{by[POINT]} at one point in time only (not evidence of operation over the period)")
    return f"Of {len(controls)} controls: " + "; ".join(parts) + "."
