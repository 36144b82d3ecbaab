"""Auditor sampling: a reproducible random sample of resource-days for every control.

SOC 2 fieldwork tests a recurring control on a sample whose size follows how often the control
operates. Each check declares that frequency in its metadata (auditor.checks_api.Check.frequency,
carried into results.json as `control.frequency.declared`); the sizes come from the configuration's
`sampling:` table (daily 25, weekly 5, monthly 2, quarterly 1, annual 1 by default). Nothing is
guessed from a finding's keys: a control whose results declare no frequency is listed as not sampled,
with that reason. The auditor supplies the seed, so the sample cannot be steered by the company; the
draw is a pure function of (results, seed, sizes), so anyone can redraw it:

  population  for a finding judged day by day (`details.days`): every (resource, day) whose day state
              is in the period and due (not_due, stopped and not_applicable days are outside it);
              for a finding judged at one moment only (no day states): one unit, (resource, the
              evidence date), marked point in time; not-applicable findings are outside it.
              Ordered by resource, then date, then finding id.
  draw        Python's ``random.Random(f"{seed}|{control id}").sample(range(len(population)), k)``
              with k = min(size for the control's frequency, population size).

Each unit names the evidence of its own day: the day's audit-log entries (`log:<insertId>`) and the
locker items (pages) that hold them, and the locker collected that day; only where the day has none
of its own does it fall back to the finding's evidence (`evidence_scope` says which).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

SCHEMA = "auditor.samples/v2"
OUTSIDE_STATES = ("not_due", "stopped", "not_applicable")
DEFAULT_SIZES = {"daily": 25, "weekly": 5, "monthly": 2, "quarterly": 1, "annual": 1}
_DECLARED = {"annually": "annual"}  # results.v2's word for the sampling table's `annual`
METHOD = ("population: every (resource, day) of a finding with day states whose state is not not_due, stopped or "
          "not_applicable, and one (resource, evidence date) unit for each in-scope finding judged at a single moment, "
          "ordered by resource, date, finding id; draw: Python random.Random(f'{seed}|{control id}')"
          ".sample(range(len(population)), k), k = min(sample size for the control's declared frequency, population "
          "size); items listed by date.")


@dataclass(frozen=True)
class Unit:
    resource: str
    day: str
    state: str
    finding: str
    finding_status: str
    evidence: tuple[str, ...]
    evidence_scope: str  # "day": that day's own evidence; "locker": the locker of that day; "resource"; "point_in_time"
    entries: tuple[str, ...] = ()
    lockers: tuple[str, ...] = ()


def frequency_of(control: dict[str, Any]) -> str | None:
    """The control's declared frequency as the sampling table names it; None when the results declare none."""
    declared = control.get("frequency")
    if isinstance(declared, dict):
        declared = declared.get("declared")
    if not isinstance(declared, str) or not declared:
        return None
    declared = _DECLARED.get(declared, declared)
    return declared if declared in DEFAULT_SIZES else None


def lockers_by_day(results: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """{ISO day: locker ids collected that day} in the period's time zone."""
    tz = ZoneInfo((results.get("period") or {}).get("timezone") or "UTC")
    out: dict[str, list[str]] = {}
    for locker in results.get("lockers") or []:
        try:
            moment = datetime.fromisoformat(str(locker["as_of"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        out.setdefault(moment.astimezone(tz).date().isoformat(), []).append(str(locker.get("id")))
    return {day: tuple(sorted(ids)) for day, ids in out.items()}


def _as_of_day(results: dict[str, Any]) -> str:
    tz = ZoneInfo((results.get("period") or {}).get("timezone") or "UTC")
    text = str(results.get("as_of") or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(tz).date().isoformat()
    except ValueError:
        return text[:10]


def _in_period(results: dict[str, Any]):
    period = results.get("period") or {}
    try:
        first, last = date.fromisoformat(period["start"]).isoformat(), date.fromisoformat(period["end"]).isoformat()
    except (KeyError, ValueError, TypeError):
        return lambda day: True
    return lambda day: first <= day <= last


def population(control: dict[str, Any], results: dict[str, Any] | None = None) -> list[Unit]:
    """Every unit the control's sample is drawn from, in the documented order."""
    results = results or {}
    lockers = lockers_by_day(results)
    in_period = _in_period(results)
    as_of_day = _as_of_day(results)
    units = []
    for finding in control["findings"]:
        details = finding.get("details") or {}
        days = details.get("days")
        if not isinstance(days, dict) or not days:
            if finding["status"] == "not_applicable":
                continue
            units.append(Unit(finding["resource"], as_of_day, finding["status"], finding["id"], finding["status"],
                              tuple(finding["evidence"]), "point_in_time", (), lockers.get(as_of_day, ())))
            continue
        day_evidence = details.get("day_evidence") if isinstance(details.get("day_evidence"), dict) else {}
        day_entries = details.get("day_entries") if isinstance(details.get("day_entries"), dict) else {}
        for day, state in days.items():
            if state in OUTSIDE_STATES or not in_period(day):
                continue
            own = tuple(day_evidence.get(day) or ())
            entries = tuple(day_entries.get(day) or ())
            that_day = lockers.get(day, ())
            if own or entries:
                scope, evidence = "day", own
            elif that_day:
                scope, evidence = "locker", ()
            else:  # e.g. a missed day: nothing of its own, so the data store's evidence for the period
                scope, evidence = "resource", tuple(finding["evidence"])
            units.append(Unit(finding["resource"], day, state, finding["id"], finding["status"], evidence, scope,
                              entries, that_day))
    return sorted(units, key=lambda u: (u.resource, u.day, u.finding))


def default_seed(results: dict[str, Any]) -> str:
    """When the auditor gives no seed: one derived from the evidence manifests' digests (reproducible, fixed by the evidence)."""
    digest = hashlib.sha256("|".join(l["manifest_sha256"] for l in results["lockers"]).encode()).hexdigest()
    return f"evidence-{digest[:16]}"


def _item(n: int, u: Unit) -> dict[str, Any]:
    return {"n": n, "resource": u.resource, "date": u.day, "state": u.state, "finding": u.finding,
            "finding_status": u.finding_status, "evidence": list(u.evidence), "evidence_scope": u.evidence_scope,
            "entries": list(u.entries), "lockers": list(u.lockers)}


def draw(results: dict[str, Any], seed: str | None = None, sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """The samples document (samples.json): the same inputs always give the same sample."""
    chosen_sizes = {**DEFAULT_SIZES, **{k: int(v) for k, v in (sizes or {}).items() if k in DEFAULT_SIZES}}
    seed_source = "auditor" if seed is not None else "derived from the evidence manifest digest (no --seed given)"
    seed = str(seed) if seed is not None else default_seed(results)
    controls, not_sampled = [], []
    for control in results["controls"]:
        frequency = frequency_of(control)
        if frequency is None:
            not_sampled.append({"control": control["id"], "reason": "the results declare no frequency for this control"})
            continue
        units = population(control, results)
        if not units:
            not_sampled.append({"control": control["id"], "reason": "the population is empty"})
            continue
        size = min(chosen_sizes[frequency], len(units))
        picks = random.Random(f"{seed}|{control['id']}").sample(range(len(units)), size)
        chosen = sorted((units[i] for i in picks), key=lambda u: (u.day, u.resource, u.finding))
        controls.append({
            "control": control["id"], "title": control["title"], "frequency": frequency,
            "population": len(units), "resources": len({u.resource for u in units}), "size": size,
            "point_in_time": all(u.evidence_scope == "point_in_time" for u in units),
            "items": [_item(n, u) for n, u in enumerate(chosen, start=1)],
        })
    return {"schema": SCHEMA, "seed": seed, "seed_source": seed_source, "sizes": chosen_sizes,
            "method": METHOD, "results_as_of": results["as_of"], "controls": controls, "not_sampled": not_sampled}
