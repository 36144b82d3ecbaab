"""Day states shared by the controls judged day by day: several settings' timelines combined into one
state per day, in the results' vocabulary (auditor.results.v2 `day_state`), and their wording.

A day is `broken` when any setting the control reads was outside the policy at some moment of it,
`unknown` when none was but one could not be established, `kept` when every one is known and within
the policy; `not_due` (after the evidence date) and `not_applicable` (the resource did not exist)
come from the resource's lifetime and are the same for each setting.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from auditor.facts.declare import project_scope
from auditor.period import day_ranges

_RANK = {"broken": 3, "unknown": 2, "kept": 1}


def combine(per_setting: Iterable[dict[date, str]]) -> dict[date, str]:
    out: dict[date, str] = {}
    for states in per_setting:
        for day, state in states.items():
            held = out.get(day)
            if held is None or (_RANK.get(state, 0) > _RANK.get(held, 0) and held in _RANK):
                out[day] = state
    return out


def exception_days(states: dict[date, str]) -> tuple[list[date], list[date]]:
    """(broken days, unknown days), each sorted."""
    return (sorted(d for d, s in states.items() if s == "broken"), sorted(d for d, s in states.items() if s == "unknown"))


def unlogged_changes(history: Any, resource: str, period: Any) -> list[Any]:
    """The period's Admin Activity changes whose entry carried no new value (request body not logged)."""
    return [c for c in history.changes(resource) if not c.deleted and c.settings
            and all(v is None for v in c.settings.values()) and period.starts_at <= c.time < period.ends_at]


def log_gaps_words(history: Any, resource: str, start: datetime, end: datetime) -> str | None:
    """The breaks in the audit-log chain of the resource's project between `start` and `end`, in words
    (None when the complete queries given cover all of it)."""
    if end <= start:
        return None
    gaps = history.log_gaps(resource, start, end)
    if not gaps:
        return None
    stretches = ", ".join(f"{lo:%Y-%m-%d %H:%M} .. {hi:%Y-%m-%d %H:%M} UTC" for lo, hi in gaps)
    return (f"no complete audit-log query of {project_scope(resource)} covers {stretches} (a break in the log chain: "
            "a locker missing from those given, a query that failed, a chain started with --since later, or a log read "
            "that stopped before the configuration read), so nothing carries a setting across it")


def why_unknown(history: Any, resource: str, period: Any, as_of: datetime | None = None) -> str:
    """Why days are unknown, in words: a change logged without its body, a break in the log chain between
    the period's start and the evidence date (`as_of`), or no evidence covering them."""
    unlogged = unlogged_changes(history, resource, period)
    gaps = log_gaps_words(history, resource, period.starts_at, as_of) if as_of is not None else None
    if unlogged:
        when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method})" for c in unlogged)
        return (f"the Admin Activity entries of {when} were logged without the request body, so the settings they "
                "set are unknown until the next configuration read" + (f"; and {gaps}" if gaps else ""))
    if gaps:
        return gaps
    return ("no configuration read covers them and no complete Admin Activity log query joins them to a read")


def iso_days(states: dict[date, str], isos: dict[date, str]) -> dict[str, str]:
    return {isos[d]: s for d, s in states.items()}


__all__ = ["combine", "exception_days", "unlogged_changes", "why_unknown", "log_gaps_words", "iso_days", "day_ranges"]
