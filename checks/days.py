"""Day states shared by the controls judged day by day: several settings' timelines combined into one
state per day, in the results' vocabulary (auditor.results.v2 `day_state`), and their wording.

A day is `broken` when any setting the control reads was outside the policy at some moment of it,
`unknown` when none was but one could not be established, `kept` when every one is known and within
the policy; `not_due` (after the evidence date) and `not_applicable` (the resource did not exist)
come from the resource's lifetime and are the same for each setting.
"""

from __future__ import annotations

import weakref
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

from auditor.facts.declare import project_scope
from auditor.facts.timeline import contradiction_words
from auditor.period import day_ranges

_RANK = {"broken": 3, "unknown": 2, "kept": 1}
_ONE_DAY = timedelta(days=1)


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
    contradicted = [contradiction_words(t) for t in history.contradicted(resource)]
    if contradicted:
        return "; ".join(contradicted) + (f"; and {gaps}" if gaps else "")
    if unlogged:
        when = ", ".join(f"{c.time:%Y-%m-%d %H:%M} UTC ({c.method})" for c in unlogged)
        return (f"the Admin Activity entries of {when} were logged without the request body, so the settings they "
                "set are unknown until the next configuration read" + (f"; and {gaps}" if gaps else ""))
    if gaps:
        return gaps
    return ("no configuration read covers them and no complete Admin Activity log query joins them to a read")


def config_segments(ctx: Any, resolve: Callable[..., Any], classes: Any = None) -> list[tuple[list[date], Any, str | None]]:
    """The period's days grouped by the threshold in force: [(days, resolve(config), locker id that set it)].

    A day's configuration is the one stored by the newest locker collected by that day's end (a locker
    records the configuration it ran with); days before the first locker take the first one's. Without
    stored configurations (facts assembled by hand) the whole period has `ctx.config`'s.

    With `classes` (checks.class_days.ClassDays) the threshold also depends on the store's classification that
    day: `resolve(config, classification)`, with the class held at the day's end (None when unknown)."""
    days = list(ctx.period.days())
    stored = sorted(getattr(ctx, "configs", ()) or (), key=lambda c: c[0])
    if not stored:
        made = [(days[0] if days else None, None, ctx.config)]
    else:
        made = [(ctx.period.day_of(moment), locker, config) for moment, locker, config in stored]
    if classes is None and len(made) == 1:  # one configuration over the period: one threshold
        return [(days, resolve(made[0][2]), made[0][1])] if days else []
    values: dict[int, Any] = {}  # without classes, resolve once per configuration (not once per day)
    out: list[tuple[list[date], Any, str | None]] = []
    index = 0
    for day in days:
        while index + 1 < len(made) and made[index + 1][0] <= day:
            index += 1
        config, locker = made[index][2], made[index][1]
        if classes is None:
            value = values[index] if index in values else values.setdefault(index, resolve(config))
        else:
            value = resolve(config, classes.of(day).name)
        if out and out[-1][1] == value:
            out[-1][0].append(day)
        else:
            out.append(([day], value, locker))
    return out


_BY_DAY: list[Any] = []  # (a weak reference to the context, its configurations by day): one per evaluation


def configs_by_day(ctx: Any) -> dict[date, Any]:
    """The configuration in force on each day (config_segments' rule), computed once per context: every store of
    every control asks for the same calendar. Read it, do not change it."""
    if _BY_DAY and _BY_DAY[0]() is ctx:
        return _BY_DAY[1]
    out: dict[date, Any] = {}
    for days, config, _ in config_segments(ctx, lambda c: _Same(c)):
        out.update({day: config.config for day in days})
    _BY_DAY[:] = [weakref.ref(ctx), out]
    return out


class _Same:
    """A configuration compared by identity (config_segments groups equal values; two lockers' equal configurations
    are still two segments only when they are different objects, which is harmless here)."""

    __slots__ = ("config",)

    def __init__(self, config: Any) -> None:
        self.config = config

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.config is self.config

    __hash__ = None  # type: ignore[assignment]


def by_config(ctx: Any, resolve: Callable[..., Any], states_for: Callable[[Any], dict[date, str]],
              classes: Any = None) -> tuple[dict[date, str], list[tuple[date, Any, str | None]]]:
    """Day states judged against the threshold in force each day: `states_for(value)` over the days `value`
    held (config_segments); and the thresholds with the first day each held and the locker that set it.

    With `classes`, `resolve(config, classification)`: each day is judged under each class it held that day
    (checks.class_days.judge: kept only if kept under each, broken only if broken under each); a day whose class
    is unknown is unknown (its lifetime's not_due / not_applicable stand, from `resolve(config, None)`)."""
    segments = config_segments(ctx, resolve, classes)
    states: dict[date, str] = {}
    if classes is None:
        for days, value, _ in segments:
            judged = states_for(value)
            states.update({day: judged[day] for day in days if day in judged})
        return states, [(days[0], value, locker) for days, value, locker in segments]
    from auditor.checks.class_days import judge

    one = getattr(classes, "constant", None)  # a stand-in with `of` alone (a check's own view of the classes)
    if one is not None and len(one.names) == 1:  # one class all period: the plain rule, with that class bound
        name = one.names[0]
        return by_config(ctx, lambda config: resolve(config, name), states_for)

    judged_by: list[tuple[Any, dict[date, str]]] = []

    def states_of(value: Any) -> dict[date, str]:
        for held, found in judged_by:
            if held == value:
                return found
        found = states_for(value)
        judged_by.append((value, found))
        return found

    configs = configs_by_day(ctx)
    for day in ctx.period.days():
        config = configs[day]
        held = classes.of(day).names
        if not held:
            life = states_of(resolve(config, None)).get(day)
            if life is not None:
                states[day] = life if life in ("not_due", "not_applicable") else "unknown"
            continue
        states[day] = judge(classes, lambda d, name: states_of(resolve(config, name)).get(d), day)
    return states, [(days[0], value, locker) for days, value, locker in segments]


def threshold_words(changes: list[tuple[date, Any, str | None]], key: str, render: Callable[[Any], str] = str) -> str:
    """'policy.X was 30 until 2026-08-31, 45 from 2026-09-01 (the configuration stored in locker L).' or ''."""
    if len(changes) < 2:
        return ""
    parts = [f"{render(changes[0][1])} until {changes[1][0] - _ONE_DAY}"]
    for (day, value, locker), following in zip(changes[1:], [*changes[2:], None]):
        until = f" until {following[0] - _ONE_DAY}" if following else ""
        parts.append(f"{render(value)} from {day}{until} (the configuration stored in locker {locker})")
    return f"{key} was " + ", ".join(parts) + "; each day is judged against the value in force that day."


def iso_days(states: dict[date, str], isos: dict[date, str]) -> dict[str, str]:
    return {isos[d]: s for d, s in states.items()}


__all__ = ["combine", "exception_days", "unlogged_changes", "why_unknown", "log_gaps_words", "iso_days", "day_ranges",
           "config_segments", "by_config", "configs_by_day", "threshold_words"]


# thr: several thresholds of one finding, judged day by day (by_config), each named where it changed
def thresholds_changed(changes: list[tuple[date, Any, str | None]], keys: list[tuple[str, Callable[[Any], str], Callable[[Any], Any]]],
                       missing: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """by_config's changes of a tuple of thresholds, per key: (sentences, `details.thresholds` entries).

    `keys` names each position of the value tuple: (configuration key, its wording, its JSON value). A position
    holding None is absent from that configuration; a value whose first position (the classification's own
    threshold) is None, or a value of None, is a configuration lacking the classification (`missing` names it):
    its days are unknown, and the sentence names the lockers whose configuration it was. Only keys whose value changed are named;
    each entry is {key, value, from (the first day it held), locker (the one whose stored configuration set it)}."""
    words: list[str] = []
    entries: list[dict[str, Any]] = []
    for index, (key, render, plain) in enumerate(keys):
        picked = [(day, None if value is None else value[index], locker) for day, value, locker in changes]
        merged = [c for i, c in enumerate(picked) if i == 0 or c[1] != picked[i - 1][1]]
        if len(merged) < 2:
            continue
        words.append(threshold_words(merged, key, lambda v, render=render: "absent" if v is None else render(v)))
        entries += [{"key": key, "value": None if value is None else plain(value), "from": day.isoformat(), "locker": locker}
                    for day, value, locker in merged]
    absent = [(first, locker) for first, value, locker in changes if value is None or value[0] is None]
    if absent and missing:
        where = ", ".join(f"locker {locker} (in force from {first})" for first, locker in absent)
        words.append(f"The configuration stored in {where} has no {missing}, so the days it was in force are unknown.")
    return " ".join(w for w in words if w), entries


__all__ += ["thresholds_changed"]
