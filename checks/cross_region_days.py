"""backup-cross-region's thresholds in force on each day of the period: (cross_region, accept_multi_region, country).

`cross_region` is the classification's, `accept_multi_region` and `country` the policy's, all from the
configuration in force that day (checks.days.config_segments), for the classification the store held that
day (checks.class_days): the map in force, the label's timeline, the day's default.

- One class over the period (nothing in the histories says otherwise): the newest class, as the check
  judged before classes had days. A store with no class on any day keeps that path too: data nothing
  classifies must be kept cross-region.
- A day of unknown class has no requirement anybody can name: its value's first place is None, and the
  reason (ClassDays.why) is kept per day. So is a day whose configuration lacks its class.
- A day the class changed during, whose two classes ask different things, is *mixed*: it is kept only if
  kept under each class, so a route judged by stretch (`settle`) keeps it only when it passes under the
  stricter one, and leaves it unknown otherwise (never broken by one class alone).

A classification no stored configuration names (an invalid label, say) must be kept cross-region, as before.

A label change says what it set, not what was there: when the first thing known of a store's labels is such a
change, the days before it (and the day it happened) have no known label, and are unknown (checks.class_days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from auditor.checks import days as daily
from auditor.checks.class_days import ClassDays, class_days
from auditor.checks_api import CheckContext

Value = tuple[Any, bool, Any]  # (cross_region: True | False | None (no requirement known), accept_multi_region, country)


@dataclass
class DayThresholds:
    """One store's placement thresholds on each day, and the words and details that name what changed."""

    classification: str | None  # the newest class (expected.classification)
    classes: ClassDays | None  # None: one class over the period
    resolve: Callable[..., Value]  # (config, class) with classes; (config) without
    days: dict[date, Value]
    lockers: dict[date, str | None]
    reasons: dict[date, str] = field(default_factory=dict)  # why a day has no requirement value
    mixed: dict[date, list[Value]] = field(default_factory=dict)  # a change day's values under each of its classes
    note: str = ""
    thresholds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def segments(self) -> list[tuple[list[date], Value, str | None]]:
        """config_segments' shape: consecutive days of one value, with the locker whose configuration set it."""
        out: list[tuple[list[date], Value, str | None]] = []
        for day in sorted(self.days):
            value = self.days[day]
            if out and out[-1][1] == value:
                out[-1][0].append(day)
            else:
                out.append(([day], value, self.lockers.get(day)))
        return out

    @property
    def varied(self) -> bool:
        return len(set(self.days.values())) > 1

    def details(self) -> dict[str, Any]:
        """`details.classifications` when the class changed; `details.thresholds` when a threshold did."""
        out: dict[str, Any] = {"thresholds": self.thresholds} if self.thresholds else {}
        if self.classes is not None:
            out["classifications"] = self.classes.details()
        return out

    def why(self, days: list[date]) -> str:
        """Why those days have no requirement value, each reason once (with its days when there are several)."""
        grouped: dict[str, list[date]] = {}
        for day in days:
            if day in self.reasons:
                grouped.setdefault(self.reasons[day], []).append(day)
        return "; ".join(f"on {daily.day_ranges(ds)}, {why}" if len(grouped) > 1 else why for why, ds in grouped.items())

    def settle(self, passes: Callable[[list[date], Value], bool]) -> None:
        """For a route judged by stretch: each mixed day takes the stricter class's value when its backups pass under
        it (then they pass under each); otherwise it stays without a value (unknown), with the reason."""
        for day, values in sorted(self.mixed.items()):
            strict = [v for v in values if v[0]]
            if all(v[0] is not None for v in values) and strict and all(passes([day], v) for v in strict):
                self.days[day] = strict[0]
                self.reasons.pop(day, None)
            else:
                self.reasons[day] = (f"its classification changed that day ({' then '.join(self.classes.of(day).names)}), "
                                     "and its backups are not kept under each class's threshold")


def thresholds_each_day(facts: Any, ctx: CheckContext, resource: str, labels: dict[str, str]) -> DayThresholds:
    """The store's thresholds on each day (module docstring)."""
    classification, _ = ctx.classification_of(labels, resource=resource)
    classes: ClassDays | None = class_days(facts, ctx, resource, labels)
    if not classes.changed or not any(c.names for c in classes.by_day.values()):
        classes = None
    configs = [ctx.config, *(c for _, _, c in getattr(ctx, "configs", ()) or ())]
    named = {name for c in configs for name in c.policy.classifications}
    by_id = {id(c): c for c in configs}

    def resolve(config: Any, name: str | None) -> Value:
        accept, country = config.policy.accept_multi_region, config.policy.country
        if name is None and classes is not None:  # a day of unknown class: nothing to name a requirement from
            return (None, accept, country)
        if name is None or name not in named:
            return (True, accept, country)
        policy = config.policy.classifications.get(name)
        return (None if policy is None else policy.cross_region, accept, country)

    plan = DayThresholds(classification, classes, resolve if classes is not None else (lambda c: resolve(c, classification)),
                         {}, {})
    for days, key, locker in daily.config_segments(ctx, id):
        config = by_id[key]
        for day in days:
            plan.lockers[day] = locker
            held = classes.of(day).names if classes is not None else (classification,)
            if not held:
                plan.days[day] = resolve(config, None)
                plan.reasons[day] = f"its classification that day is unknown ({classes.why([day])})"
                continue
            values = list(dict.fromkeys(resolve(config, name) for name in held))
            plan.days[day] = values[0] if len(values) == 1 else (None, values[0][1], values[0][2])
            if len(values) > 1:
                plan.mixed[day] = values
                plan.reasons[day] = (f"its classification changed that day ({' then '.join(held)}), whose thresholds "
                                     "differ, and it is not kept under each")
            elif values[0][0] is None:
                absent = next(name for name in held if resolve(config, name)[0] is None)
                plan.reasons[day] = (f"the configuration in force on them has no classification {absent!r} "
                                     f"(policy.classifications.{absent}), so no requirement applied")
    plan.note, plan.thresholds = _named(plan, ctx)
    return plan


def _named(plan: DayThresholds, ctx: CheckContext) -> tuple[str, list[dict[str, Any]]]:
    """The class change (ClassDays.words) and each threshold that changed, under the key of the class it belongs
    to (over the days that class was held) or the policy's: (sentences, `details.thresholds` entries)."""
    words, entries = [plan.classes.words()] if plan.classes is not None else [], []
    held: dict[str, list[date]] = {}
    for day in ctx.period.days():
        for name in (plan.classes.of(day).names if plan.classes is not None else (plan.classification,)):
            if name is not None:
                held.setdefault(name, []).append(day)
    resolve = plan.resolve if plan.classes is not None else (lambda c, name: plan.resolve(c))
    for name, days in held.items():
        wanted = set(days)
        changes = [(first, value, locker) for first, value, locker in _restricted(ctx, lambda c: resolve(c, name)[:1], wanted)]
        sentence, found = daily.thresholds_changed(
            changes, [(f"policy.classifications.{name}.cross_region", lambda v: str(v).lower(), bool)],
            missing=f"classification {name!r} (policy.classifications.{name})")
        words.append(sentence)
        entries += found
    changes = [(days[0], value, locker) for days, value, locker in
               daily.config_segments(ctx, lambda c: (c.policy.accept_multi_region, c.policy.country))]
    sentence, found = daily.thresholds_changed(changes, [("policy.accept_multi_region", lambda v: str(v).lower(), bool),
                                                         ("policy.country", str, str)])
    return " ".join(w for w in [*words, sentence] if w), entries + found


def _restricted(ctx: CheckContext, resolve: Callable[[Any], Any], wanted: set[date]) -> list[tuple[date, Any, str | None]]:
    """config_segments' changes over the `wanted` days only: [(first day, value, locker)], equal neighbours merged."""
    out: list[tuple[date, Any, str | None]] = []
    for days, value, locker in daily.config_segments(ctx, resolve):
        kept = [d for d in days if d in wanted]
        if kept and not (out and out[-1][1] == value):
            out.append((kept[0], value, locker))
    return out


__all__ = ["DayThresholds", "thresholds_each_day"]
