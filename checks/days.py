"""Day states shared by the controls judged day by day: several settings' timelines combined into one
state per day, in the results' vocabulary (auditor.results.v2 `day_state`), and their wording.

A day is `broken` when any setting the control reads was outside the policy at some moment of it,
`unknown` when none was but one could not be established, `kept` when every one is known and within
the policy; `not_due` (after the evidence date) and `not_applicable` (the resource did not exist)
come from the resource's lifetime and are the same for each setting.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

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


def why_unknown(history: Any, resource: str, period: Any) -> str:
    """Why days are unknown, in words: a change logged without its body, or no evidence covering them."""
    unlogged = unlogged_changes(history, resource, period)
    if unlogged:
        when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method})" for c in unlogged)
        return (f"the Admin Activity entries of {when} were logged without the request body, so the settings they "
                "set are unknown until the next configuration read")
    return ("no configuration read covers them and no complete Admin Activity log query joins them to a read")


def iso_days(states: dict[date, str], isos: dict[date, str]) -> dict[str, str]:
    return {isos[d]: s for d, s in states.items()}


__all__ = ["combine", "exception_days", "unlogged_changes", "why_unknown", "iso_days", "day_ranges"]
