"""Shared by the two inventory checks: the data map's own finding when it is missing or unreadable."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from auditor.checks_api import CheckContext
from auditor.results import INCONCLUSIVE, Finding


def map_resource(facts: Any, ctx: CheckContext) -> str:
    doc = facts.stores.inventory_document
    path = doc.path if doc else (str(ctx.config.inventory) if ctx.config.inventory else "inventory")
    return f"inventory:{Path(path).name}"


def missing_map(facts: Any, ctx: CheckContext, check: str) -> Finding | None:
    """An inconclusive finding when there is no usable declared inventory; None when there is one."""
    if ctx.inventory is not None:
        return None
    problem = facts.stores.inventory_problem or (
        "no declared inventory was configured (inventory: PATH in auditor.yaml)" if ctx.config.inventory is None
        else "the declared inventory was not collected into the evidence")
    return Finding(check, map_resource(facts, ctx), "declared", INCONCLUSIVE,
                   f"The data map cannot be checked: {problem}.", observed={"problem": problem})


# --- day by day (issue 13): the data map in force, each store's existence and labels on each day -----------

def day_maps(facts: Any, ctx: CheckContext) -> dict[date, Any]:
    """The data map in force on each day of the period (auditor.facts.inventory_days): a day with a locker has its
    own; others the map's git history at the day's end; else unknown with the reason. The evidence date's day
    has the map the newest locker ran with (ctx.inventory) even when no version of it was stored."""
    from auditor.facts.inventory_days import DayMap
    from auditor.facts.stores import MapVersion

    found = facts.inventory_days.maps.by_day(ctx.period)
    today = ctx.period.day_of(ctx.as_of)
    if today in found and found[today].version is None and ctx.inventory is not None:
        doc = facts.stores.inventory_document
        found[today] = DayMap(MapVersion(ctx.as_of, "locker", ctx.inventory, None, doc.sha256 if doc else "", None,
                                         tuple(doc.evidence) if doc else ()))
    return found


def existence(ctx: CheckContext, life: Any, seen: set[date]) -> dict[date, str]:
    """Per day: 'yes', 'no' (before its creation, after its deletion), 'unknown' (no creation time and not seen
    that day), 'not_due' (after the evidence date)."""
    stamps, as_of = ctx.period.day_stamps, ctx.as_of.timestamp()
    created = life.created.timestamp() if life.created else None
    gone = life.gone_by.timestamp() if life.gone_by else None
    alive = life.alive_until.timestamp() if life.alive_until else None
    out: dict[date, str] = {}
    for number, day in enumerate(ctx.period.days()):
        start, end = stamps[number], min(stamps[number + 1], as_of)
        if start >= as_of:
            out[day] = "not_due"
        elif (created is not None and end <= created) or (gone is not None and start >= gone):
            out[day] = "no"
        elif day in seen:
            out[day] = "yes"  # inv3: a read showed it that day (its last sighting's day too)
        elif alive is not None and gone is not None and end > alive and gone != alive:
            out[day] = "unknown"  # between its last sighting and the listing that no longer showed it
        elif created is None and day not in seen:
            out[day] = "unknown"
        else:
            out[day] = "yes"
    return out


def seen_days(facts: Any, ctx: CheckContext, resource: str) -> set[date]:
    """The days some read showed the store (its label timeline's events)."""
    return set(ctx.period.days_of(facts.inventory_days.sightings(resource)))


def map_evidence(day_map: Any) -> list[str]:
    return list(day_map.version.evidence) if day_map.version is not None else []


def day_items(facts: Any, ctx: CheckContext, resource: str, maps: dict[date, Any], states: dict[date, str]) -> dict[str, list[str]]:
    """Each judged day's own evidence: the stored data map in force that day and the reads or log entries of the
    store's labels that day (the sampler points a sampled day at these)."""
    isos = ctx.period.day_isos
    out: dict[str, set[str]] = {}
    events = facts.inventory_days.labels(resource).events
    for event, day in zip(events, ctx.period.days_of([e.time for e in events])):
        if day in states:
            out.setdefault(isos[day], set()).update(event.evidence)
    for day, state in states.items():
        if state in ("not_due", "not_applicable") or day not in maps:
            continue
        out.setdefault(isos[day], set()).update(map_evidence(maps[day]))
    return {day: sorted(items) for day, items in sorted(out.items()) if items}


def day_entries(facts: Any, ctx: CheckContext, resource: str, states: dict[date, str]) -> dict[str, list[str]]:
    """Each judged day's audit-log entries about the store's labels (`log:<insertId>`), for the sampler."""
    isos = ctx.period.day_isos
    changes = facts.inventory_days.label_changes(resource)
    out: dict[str, set[str]] = {}
    for change, day in zip(changes, ctx.period.days_of([c.time for c in changes])):
        if states.get(day) not in (None, "not_due", "not_applicable"):
            out.setdefault(isos[day], set()).add(change.key)
    return {day: sorted(keys) for day, keys in sorted(out.items())}


def map_reasons(maps: dict[date, Any], days: list[date]) -> str:
    """Why the map in force is unknown on these days, each reason once with its days."""
    from auditor.checks.days import day_ranges

    grouped: dict[str, list[date]] = {}
    for day in days:
        reason = maps[day].reason if day in maps and maps[day].inventory is None else None
        if reason:
            grouped.setdefault(reason, []).append(day)
    if len(grouped) == 1:
        return next(iter(grouped))
    return "; ".join(f"{day_ranges(ds)}: {why}" for why, ds in grouped.items())


# --- inv2 (issue 13): the policy in force each day, and stores deleted during the period -----------------------

def policy_changes(changes: list[tuple[date, Any, str | None]], keys: dict[str, tuple[str, Any]]) -> tuple[str, list[dict]]:
    """The words and `details.thresholds` for the policy values in force each day (checks.days.by_config's changes,
    each value a tuple). `keys`: {name: (configuration key, render)} in the tuple's order. Each key that changed is
    named with its values, the first day each held and the locker that set it (checks.days.threshold_words); ('', [])
    when nothing changed (a single run's lockers: one configuration for the whole period)."""
    from auditor.checks.days import threshold_words

    if len(changes) < 2:
        return "", []
    words = []
    for index, (name, (key, render)) in enumerate(keys.items()):
        picked = [(day, value[index], locker) for day, value, locker in changes]
        merged = [c for i, c in enumerate(picked) if i == 0 or c[1] != picked[i - 1][1]]
        said = threshold_words(merged, key, render)
        if said:
            words.append(said)
    names = list(keys)
    details = [{"from": day.isoformat(), "locker": locker,
                "expected": {name: (list(v) if isinstance(v, tuple) else v) for name, v in zip(names, value)},
                "config_keys": {name: key for name, (key, _) in keys.items()}} for day, value, locker in changes]
    return " ".join(words), details


class _WithHistory:
    """The check's facts with the Cloud SQL history the inventory facts were built on (facts.inventory_days.history),
    so the shared deleted-instance helpers (checks.common) read the same lifetimes without the whole history fact."""

    def __init__(self, facts: Any) -> None:
        self._facts = facts
        self.history = facts.inventory_days.history

    def __getattr__(self, name: str) -> Any:
        return getattr(self._facts, name)


def deleted_stores(facts: Any, ctx: CheckContext) -> list[tuple[Any, Any]]:
    """Cloud SQL instances deleted during the period that a FINAL backup's snapshot shows (checks.common.deleted_instances):
    [(a Store as the snapshot shows it, its lifetime)]. They are in these controls' population for the days they
    existed; the days after the deletion are not. One deleted before the period began is in no day of it."""
    from auditor.checks.common import deleted_instances
    from auditor.facts.discovery import Store
    from auditor.facts.stores import SQL_TYPE

    out = []
    for instance in deleted_instances(_WithHistory(facts)):
        life = facts.inventory_days.lifetime(instance.resource, instance.create_time)
        if life.gone_by is None or life.gone_by <= ctx.period.starts_at or instance.resource in facts.stores.found:
            continue
        store = Store(instance.resource, SQL_TYPE, instance.project, instance.region, dict(instance.labels),
                      instance.create_time, in_assets=False, in_admin=True,
                      replica_of=instance.master if instance.is_replica else None, evidence=list(instance.evidence))
        out.append((store, life))
    return out


def deleted_unread(facts: Any, ctx: CheckContext, check: str, rule: str) -> list[Finding]:
    """Instances the Admin Activity log shows deleted during the period that no read shows (checks.common.deleted_unseen):
    one inconclusive finding each, naming the days they existed."""
    from auditor.checks.common import deleted_unseen

    return deleted_unseen(_WithHistory(facts), check, ctx, rule)


def is_gone(life: Any, ctx: CheckContext) -> bool:
    """Whether the store no longer existed at the evidence date (a logged deletion, a FINAL backup's deletion time, or
    a listing after its last sighting that no longer showed it)."""
    return life.gone_by is not None and life.gone_by < ctx.as_of


def gone_words(life: Any) -> str:
    """'it was deleted on ...' (a logged or recorded deletion), or 'it was last seen on ... and no longer listed on ...'
    (inv3: only a later complete listing shows it gone)."""
    gone, alive = life.gone_by, life.alive_until
    return (f"it was deleted on {gone:%Y-%m-%d %H:%M} UTC" if alive is None or alive == gone else
            f"it was last seen on {alive:%Y-%m-%d %H:%M} UTC and no longer listed on {gone:%Y-%m-%d %H:%M} UTC")


def between_days(life: Any, ctx: CheckContext, days: list[date]) -> list[date]:
    """Those of `days` that fall between the store's last sighting and the complete listing that no longer showed it
    (inv3): whether it still existed on them is unknown."""
    if life is None or life.alive_until is None or life.gone_by is None or life.alive_until == life.gone_by:
        return []
    stamps, wanted = ctx.period.day_stamps, set(days)
    alive, gone = life.alive_until.timestamp(), life.gone_by.timestamp()
    return [d for n, d in enumerate(ctx.period.days()) if d in wanted and stamps[n + 1] > alive and stamps[n] < gone]


def between_words(life: Any, ctx: CheckContext, days: list[date]) -> str | None:
    """Why these days are unknown when they fall between the store's last sighting and the complete listing that no
    longer showed it (inv3), None when none does."""
    from auditor.checks.days import day_ranges

    inside = between_days(life, ctx, days)
    if not inside:
        return None
    return (f"{gone_words(life)}, so whether it still existed on {day_ranges(inside)} is unknown (no read or logged "
            "deletion says when it went)")


def deletion_words(life: Any, ctx: CheckContext) -> str:
    """' It was deleted on ...: judged for the days it existed; the days after are not in its population.'"""
    if not is_gone(life, ctx):
        return ""
    said = gone_words(life)
    when = said[0].upper() + said[1:]
    return (f" {when}: it is judged for the days it existed, and the days after the deletion are not in its "
            "population (the data map need not list it then).")
