"""The classification in force on each day of the period, for the controls whose thresholds it picks
(retention, frequency, placement, encryption, restore testing).

A store's classification on a day is the one the data map in force that day declares, else its
classification label that day (the label key of that day's stored configuration), else that
configuration's default, as `CheckContext.classification_of` resolves it at one moment. Each part
comes from its own history (auditor.facts.inventory_days):

- **The data map.** The version a locker of that day stored, or the one its git history had at the
  day's end. A day with neither takes the newest version stored before it, and days before the
  first version take the first one's: the rule the configuration's thresholds follow
  (checks.days.config_segments), since the map is the auditor's input and each locker records the
  one it ran with. A version that did not parse leaves its days unknown.
- **The label.** Its timeline (reads, Admin Activity updates that logged their body, the asset
  history) where it knows the label. A day it does not know takes the class the events on either side
  of it give, when they agree (before the first read, the first read's; after the last, the last's).
  The later side counts only when it is a read: an update says what it set, never what it replaced.
  When they disagree, the class changed at a moment nothing shows, and the day's class is unknown.
- **A day the class changed during** (a label updated at 09:00) held two classes. It is judged by
  both: kept only if kept under each, broken only if broken under each, unknown otherwise (also when one
  class asks nothing of the control that day and another does).

A day whose class is unknown (or that has none, and no default applies) is unknown, with the reason:
it is never judged by the class of another day.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from auditor.period import day_ranges



@dataclass(frozen=True)
class DayClass:
    """The classes a store held on one day (empty: unknown or none), how each is known, and why not."""

    names: tuple[str, ...]
    basis: str  # declared | label | default | carried-label | unknown | none
    why: str | None = None

    @property
    def name(self) -> str | None:
        """The class at the day's end (the one a later day inherits), None when unknown or none."""
        return self.names[-1] if self.names else None


class ClassDays:
    """One store's classification on each day of the period (`constant`: the same DayClass on every day, kept as
    one object: thousands of stores whose class never changed cost nothing per day)."""

    def __init__(self, by_day: dict[date, DayClass] | None, newest: str | None, constant: DayClass | None = None,
                 days: tuple[date, ...] = ()) -> None:
        self._by_day = by_day
        self._constant = constant
        self._days = days
        self.newest = newest

    @property
    def constant(self) -> DayClass | None:
        """The one DayClass every day has, when the class never changed over the period (else None)."""
        return self._constant

    @property
    def by_day(self) -> dict[date, DayClass]:
        if self._by_day is None:
            self._by_day = {day: self._constant for day in self._days}  # type: ignore[misc]
        return self._by_day

    def of(self, day: date) -> DayClass:
        if self._constant is not None:
            return self._constant
        return self.by_day.get(day) or DayClass((), "unknown", "the day is outside the period")

    @property
    def changed(self) -> bool:
        """Whether any day's class differs from the newest one (or is unknown): only then is it worth saying."""
        newest = (self.newest,) if self.newest else ()
        if self._constant is not None:
            return self._constant.names != newest
        return any(c.names != newest for c in self.by_day.values())

    def unknown_days(self) -> list[date]:
        return sorted(d for d, c in self.by_day.items() if not c.names)

    def why(self, days: list[date]) -> str:
        """Why those days' classes are unknown, each reason once with its days."""
        grouped: dict[str, list[date]] = {}
        for day in days:
            found = self.of(day)
            if not found.names:
                grouped.setdefault(found.why or "its classification is unknown", []).append(day)
        return "; ".join(f"{day_ranges(ds)}: {why}" if len(grouped) > 1 else why for why, ds in grouped.items())

    def spans(self) -> list[tuple[date, date, DayClass]]:
        """Consecutive days with the same classes and basis: [(first, last, the DayClass)]."""
        out: list[tuple[date, date, DayClass]] = []
        for day in sorted(self.by_day):
            held = self.by_day[day]
            if out and out[-1][2] == held and (day - out[-1][1]).days == 1:
                out[-1] = (out[-1][0], day, held)
            else:
                out.append((day, day, held))
        return out

    def details(self) -> list[dict[str, Any]]:
        """`details.classifications`: each stretch of days with its class(es), the basis, and why when unknown."""
        return [{"from": first.isoformat(), "to": last.isoformat(), "classification": held.name,
                 "classifications": list(held.names), "basis": held.basis,
                 **({"why": held.why} if held.why and not held.names else {})}
                for first, last, held in self.spans()]

    def words(self) -> str:
        """'Its classification was restricted until 2026-08-11, confidential from 2026-08-12 (...); each day is judged
        against the thresholds of the classification in force that day.' ('' when every day had the newest class.)"""
        if not self.changed:
            return ""
        parts = []
        for first, last, held in self.spans():
            when = f"{first}" if first == last else f"{first} .. {last}"
            if len(held.names) > 1:
                parts.append(f"{' then '.join(held.names)} on {when} (it changed that day)")
            elif held.names:
                parts.append(f"{held.names[0]} on {when} ({_BASIS_WORDS.get(held.basis, held.basis)})")
            else:
                parts.append(f"unknown on {when} ({held.why})")
        return ("Its classification was " + "; ".join(parts)
                + ". Each day is judged against the thresholds of the classification in force that day.")


_BASIS_WORDS = {"declared": "declared in the data map in force", "label": "its label",
                "carried-label": "its label as the reads around those days show it", "default": "the policy default"}


def class_days(facts: Any, ctx: Any, resource: str, labels_now: dict[str, str]) -> ClassDays:
    """`resource`'s classification on each day of the period (module docstring). `labels_now` are the labels of
    the newest read, used for every day when no history of the store's labels exists (facts built without one).
    Computed once per store and evaluation: the controls that read it share it."""
    history = _inventory_days(facts)
    shared = _shared(history, ctx)
    key = (resource, tuple(sorted(labels_now.items())))
    found = shared["classes"].get(key)
    if found is None:
        found = shared["classes"][key] = _class_days(history, ctx, resource, labels_now, shared)
    return found


def _class_days(history: Any, ctx: Any, resource: str, labels_now: dict[str, str], shared: dict) -> ClassDays:
    newest, _ = ctx.classification_of(labels_now, resource=resource)
    days, rules, maps = shared["days"], shared["rules"], shared["maps"]
    if shared["constant"]:  # one label key, default and map over the whole period: only the label can change
        (key, default, _), (inventory, map_why) = rules[days[0]], maps[days[0]]
        timeline = history.labels(resource) if history is not None else None
        values = {e.value for e in timeline.events} if timeline is not None and timeline.events else {_frozen(labels_now)}
        declared = inventory.classification(resource) if inventory is not None else None
        if inventory is None and map_why is not None:
            return ClassDays(None, newest, _intern(DayClass((), "unknown", f"the data map in force is unknown ({map_why})")), tuple(days))
        if declared:
            return ClassDays(None, newest, _intern(DayClass((declared,), "declared")), tuple(days))
        first = timeline.events[0].source if timeline is not None and timeline.events else "observation"
        if len(values) == 1 and None not in values and first != "change":  # a change is never carried back
            return ClassDays(None, newest, _one(next(iter(values)), key, default, "label"), tuple(days))
    labels = _labels_by_day(history, ctx, resource, days, labels_now, _created(history, resource))
    out: dict[date, DayClass] = {}
    for day in days:
        key, default, _ = rules[day]
        inventory, map_why = maps[day]
        if inventory is None and map_why is not None:
            out[day] = _intern(DayClass((), "unknown", f"the data map in force is unknown ({map_why})"))
            continue
        declared = inventory.classification(resource) if inventory is not None else None
        if declared:
            out[day] = _intern(DayClass((declared,), "declared"))
            continue
        held, basis, label_why = labels[day]
        if held is None:
            out[day] = _intern(DayClass((), "unknown", label_why))
            continue
        out[day] = _many(held, key, default, basis)
    if len(set(out.values())) == 1:  # interned: one object when every day has the same class
        return ClassDays(None, newest, next(iter(out.values())), tuple(days))
    return ClassDays(out, newest)


_INTERNED: dict[DayClass, DayClass] = {}


def _intern(found: DayClass) -> DayClass:
    return _INTERNED.setdefault(found, found)


def _frozen(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def _one(labels: Any, key: str, default: str | None, basis: str) -> DayClass:
    return _many([labels], key, default, basis)


def _many(held: list, key: str, default: str | None, basis: str) -> DayClass:
    """The class(es) the label sets held that day give under the day's label key and default."""
    names: list[str] = []
    for one in held:
        name = dict(one).get(key) or default
        if name and name not in names:
            names.append(name)
    if not names:
        return _intern(DayClass((), "none", f"it has no classification (not in the data map, no {key} label, and no "
                                            "policy default)"))
    if any(dict(one).get(key) for one in held):
        return _intern(DayClass(tuple(names), basis))
    return _intern(DayClass(tuple(names), "default"))


_SHARED: "weakref.WeakKeyDictionary[Any, tuple[Any, dict]]" = weakref.WeakKeyDictionary()
_NO_HISTORY: list = []  # (ctx weak reference, shared) for facts built without an inventory history


def _shared(history: Any, ctx: Any) -> dict:
    """The per-evaluation part every store shares: the label key and default, and the data map, on each day; the
    stores' ClassDays. Held weakly: it goes with the facts."""
    held = _SHARED.get(history) if history is not None else (_NO_HISTORY[0] if _NO_HISTORY else None)
    if held is not None and held[0]() is ctx:
        return held[1]
    days = list(ctx.period.days())
    rules = _rules_by_day(ctx, days)
    maps = _maps_by_day(history, ctx, days)
    constant = (len({rules[d] for d in days}) == 1 and len({id(maps[d][0]) for d in days}) == 1
                and len({maps[d][1] for d in days}) == 1) if days else False
    shared = {"days": days, "rules": rules, "maps": maps, "constant": constant, "classes": {}}
    if history is not None:
        _SHARED[history] = (weakref.ref(ctx), shared)
    else:
        _NO_HISTORY[:] = [(weakref.ref(ctx), shared)]
    return shared


def _inventory_days(facts: Any) -> Any:
    try:
        return facts.inventory_days
    except AttributeError:
        return None


def _rules_by_day(ctx: Any, days: list[date]) -> dict[date, tuple[str, str | None, frozenset[str]]]:
    from auditor.checks.days import config_segments

    out: dict[date, tuple[str, str | None, frozenset[str]]] = {}
    for group, value, _ in config_segments(ctx, lambda c: (c.policy.classification_label, c.policy.default_classification,
                                                           frozenset(c.policy.classifications))):
        out.update({day: value for day in group})
    return out


def _maps_by_day(history: Any, ctx: Any, days: list[date]) -> dict[date, tuple[Any, str | None]]:
    """Per day: (the data map in force, None) or (None, why it is unknown); (None, None) when no map is configured."""
    if ctx.config.inventory is None:
        return {day: (None, None) for day in days}
    if ctx.inventory is None and ctx.inventory_problem and history is None:
        return {day: (None, ctx.inventory_problem) for day in days}
    if history is None:
        return {day: (ctx.inventory, None) for day in days}
    from auditor.checks.inventory_common import day_maps

    own = day_maps(_WithInventory(history), ctx)
    versions = sorted(history.maps.versions, key=lambda v: v.time)
    stamps = ctx.period.day_stamps
    times = [v.time.timestamp() for v in versions]
    out: dict[date, tuple[Any, str | None]] = {}
    for number, day in enumerate(days):
        found = own.get(day)
        if found is not None and found.inventory is not None:
            out[day] = (found.inventory, None)
            continue
        if found is not None and found.version is not None:  # that day's own version did not parse
            out[day] = (None, found.reason)
            continue
        before = bisect_left(times, stamps[number + 1]) - 1
        carried = versions[before] if before >= 0 else (versions[0] if versions else None)
        if carried is None:
            if ctx.inventory is not None:
                out[day] = (ctx.inventory, None)
            else:
                out[day] = (None, ctx.inventory_problem or (found.reason if found else "no version of it was read"))
        elif carried.inventory is None:
            out[day] = (None, f"the version in force then did not parse ({carried.problem})")
        else:
            out[day] = (carried.inventory, None)
    return out


class _WithInventory:
    """The facts day_maps reads (inventory_days, stores.inventory_document), from the inventory history alone."""

    def __init__(self, history: Any) -> None:
        self.inventory_days = history
        self.stores = _NoDocument()


class _NoDocument:
    inventory_document = None


def _created(history: Any, resource: str) -> float | None:
    """When the store was created (the inventory history's lifetime), as a timestamp; None when unknown."""
    lifetime = getattr(history, "lifetime", None)
    if lifetime is None:
        return None
    created = lifetime(resource, None).created
    return created.timestamp() if created else None


def _labels_by_day(history: Any, ctx: Any, resource: str, days: list[date], labels_now: dict[str, str],
                   created: float | None = None) -> dict[date, tuple[list | None, str, str | None]]:
    """Per day: (the label sets it held, basis, None) or (None, 'unknown', why). The time before the store's
    creation needs no class: a day it was created on starts at its creation."""
    now = tuple(sorted(labels_now.items()))
    timeline = history.labels(resource) if history is not None else None
    if timeline is None or not timeline.events:
        return {day: ([now], "label", None) for day in days}
    timeline = _without_instants(timeline)
    values = []
    for event in timeline.events:
        if event.value is not None and event.value not in values:
            values.append(event.value)
    stamps, as_of = ctx.period.day_stamps, ctx.as_of.timestamp() + 1  # the evidence date's read is that day's
    per_value = [timeline.day_states(stamps, days, as_of, (lambda v, x=value: v == x)) for value in values]
    whole = timeline.day_states(stamps, days, as_of, (lambda v: False))  # kept: the labels are known all day
    events, times = timeline.events, timeline.times
    out: dict[date, tuple[list | None, str, str | None]] = {}
    for number, day in enumerate(days):
        held = [value for value, per in zip(values, per_value) if per[day] == "broken"]  # held at some moment
        if held and whole[day] in ("kept", "not_due"):
            out[day] = (held, "label", None)
            continue
        start = stamps[number] if created is None else max(stamps[number], created)
        first, end = bisect_left(times, start), bisect_left(times, min(stamps[number + 1], as_of))
        if any(e.value is None for e in events[first:end]):
            out[day] = (None, "unknown", "an update logged without its request body changed its labels that day")
            continue
        lead, why = _lead(events, first, created)
        if lead is None:
            out[day] = (None, "unknown", why)
        elif len({lead, *held}) == 1:
            out[day] = ([lead], "carried-label", None)
        else:
            out[day] = (None, "unknown", "its labels differ between the reads before and after that day, and no "
                                          "complete audit-log query shows when they changed")
    return out


def _without_instants(timeline: Any) -> Any:
    """The timeline without updates that held for no time: one logged without its body at the same instant as a later
    one (a spell restored and the next set together) set labels nobody ever had, so it leaves no day unknown."""
    events, times = timeline.events, timeline.times
    fleeting = {i for i in range(len(events) - 1)
                if events[i].value is None and events[i].source == "change" and times[i + 1] == times[i]}
    if not fleeting:
        return timeline
    from datetime import datetime, timezone

    from auditor.facts.timeline import Timeline

    covered = [(datetime.fromtimestamp(lo, timezone.utc), datetime.fromtimestamp(hi, timezone.utc)) for lo, hi in timeline.covered]
    return Timeline(timeline.resource, timeline.setting, [e for i, e in enumerate(events) if i not in fleeting], covered)


def _lead(events: tuple, first: int, created: float | None = None) -> tuple[Any, str | None]:
    """The labels at the start of a day no complete log query joins to a read, from the events around it (the
    event before the day, and `events[first]`, the first at or after its start): at the ends of the history the
    nearest one alone (a read, or before the first event only a read: an update says what it set, never what it
    replaced); between two events, both when the later one is a read and they agree, the earlier one when the later
    is an update. An earlier update logged without its body knows nothing. A change at the store's creation (within
    the asset index's lag of it) replaced nothing: it is what the store had from its creation."""
    from auditor.facts.discovery import ASSET_INDEX_LAG

    before = events[first - 1] if first > 0 else None
    after = events[first] if first < len(events) else None
    if (before is None and after is not None and after.value is not None and created is not None
            and after.time.timestamp() - created <= ASSET_INDEX_LAG.total_seconds()):
        return after.value, None
    if before is not None and before.value is None:
        return None, "an update logged without its request body changed its labels before that day, and no read since shows them"
    if before is None:
        if after is not None and after.source != "change" and after.value is not None:
            return after.value, None
        return None, "no read before it shows its labels (an update says what it set, not what it replaced)"
    if after is None or after.source == "change":
        return before.value, None
    if after.value == before.value:
        return before.value, None
    return None, ("its labels differ between the reads before and after that day, and no complete audit-log query "
                  "shows when they changed")


def judge(day_classes: ClassDays, states_by_class: Callable[[date, str], str | None], day: date) -> str:
    """One day's state from its classes: the state under each when they agree, else unknown."""
    held = day_classes.of(day).names
    found = [states_by_class(day, name) for name in held]
    found = [s for s in found if s is not None]
    if not held or not found:
        return "unknown"
    if len(set(found)) == 1:
        return found[0]
    # The lifetime's not_due / not_applicable are the same under every class, so a mix is the classes disagreeing
    # (one asks nothing, another is broken): which part of the day broke it is unknown.
    return "unknown"


__all__ = ["DayClass", "ClassDays", "class_days", "judge"]
