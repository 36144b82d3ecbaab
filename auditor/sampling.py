"""Auditor sampling: a reproducible random sample of resource-days for each control that operates on a schedule.

SOC 2 fieldwork tests a recurring control on a sample whose size follows how often the control
operates (daily 25, weekly 5, monthly 2, quarterly 1 by default; configurable under `sampling:`).
The auditor supplies the seed, so the sample cannot be steered by the company; the draw is a pure
function of (results, seed, sizes), so anyone can redraw it:

  population  every (resource, day) of the control whose day state is due: succeeded, missed or
              unknown (not_due, stopped and not_applicable days are outside the population),
              ordered by resource then date;
  draw        Python's ``random.Random(f"{seed}|{control id}").sample(range(len(population)), k)``
              with k = min(size for the control's frequency, population size).

A control is scheduled when its findings carry ``details.days``; its frequency is the control's own
``frequency`` key when present, otherwise derived from the shortest ``expected.interval_hours`` of
its findings (24 h or less is daily). Controls without day records are not sampled.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

SCHEMA = "auditor.samples/v1"
DUE_STATES = ("succeeded", "missed", "unknown")
DEFAULT_SIZES = {"daily": 25, "weekly": 5, "monthly": 2, "quarterly": 1, "annual": 1}
METHOD = ("population: every (resource, day) whose day state is succeeded, missed or unknown, ordered by resource "
          "then date; draw: Python random.Random(f'{seed}|{control id}').sample(range(len(population)), k), "
          "k = min(sample size for the control's frequency, population size); items listed by date.")


@dataclass(frozen=True)
class Unit:
    resource: str
    day: str
    state: str
    finding: str
    finding_status: str
    evidence: tuple[str, ...]
    evidence_scope: str  # "day" when the ids are that day's own evidence, "resource" otherwise


def frequency_of(control: dict[str, Any]) -> str | None:
    """daily/weekly/monthly/quarterly/annual for a scheduled control; None when it keeps no day records."""
    if control.get("frequency"):
        return str(control["frequency"])
    with_days = [f for f in control["findings"] if isinstance(f.get("details", {}).get("days"), dict)]
    if not with_days:
        return None
    hours = [f["expected"].get("interval_hours") for f in with_days]
    hours = [h for h in hours if isinstance(h, (int, float))]
    shortest = min(hours) if hours else 24
    for limit, name in ((24, "daily"), (24 * 7, "weekly"), (24 * 31, "monthly"), (24 * 92, "quarterly")):
        if shortest <= limit:
            return name
    return "annual"


def population(control: dict[str, Any]) -> list[Unit]:
    units = []
    for finding in control["findings"]:
        details = finding.get("details") or {}
        days = details.get("days")
        if not isinstance(days, dict):
            continue
        day_evidence = details.get("day_evidence") if isinstance(details.get("day_evidence"), dict) else None
        for day, state in days.items():
            if state not in DUE_STATES:
                continue
            own = tuple(day_evidence.get(day, ())) if day_evidence is not None else None
            own = own or None  # a missed day has no evidence of its own: point at the data store's evidence for the period
            units.append(Unit(finding["resource"], day, state, finding["id"], finding["status"],
                              own if own is not None else tuple(finding["evidence"]),
                              "day" if own is not None else "resource"))
    return sorted(units, key=lambda u: (u.resource, u.day))


def default_seed(results: dict[str, Any]) -> str:
    """When the auditor gives no seed: one derived from the evidence manifests' digests (reproducible, fixed by the evidence)."""
    digest = hashlib.sha256("|".join(l["manifest_sha256"] for l in results["lockers"]).encode()).hexdigest()
    return f"evidence-{digest[:16]}"


def draw(results: dict[str, Any], seed: str | None = None, sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """The samples document (samples.json): the same inputs always give the same sample."""
    chosen_sizes = {**DEFAULT_SIZES, **(sizes or {})}
    seed_source = "auditor" if seed is not None else "derived from the evidence manifest digest (no --seed given)"
    seed = str(seed) if seed is not None else default_seed(results)
    controls = []
    for control in results["controls"]:
        frequency = frequency_of(control)
        if frequency is None:
            continue
        units = population(control)
        size = min(chosen_sizes.get(frequency, DEFAULT_SIZES["daily"]), len(units))
        picks = random.Random(f"{seed}|{control['id']}").sample(range(len(units)), size)
        chosen = sorted((units[i] for i in picks), key=lambda u: (u.day, u.resource))
        controls.append({
            "control": control["id"], "title": control["title"], "frequency": frequency,
            "population": len(units), "resources": len({u.resource for u in units}), "size": size,
            "items": [{"n": n, "resource": u.resource, "date": u.day, "state": u.state, "finding": u.finding,
                       "finding_status": u.finding_status, "evidence": list(u.evidence), "evidence_scope": u.evidence_scope}
                      for n, u in enumerate(chosen, start=1)],
        })
    return {"schema": SCHEMA, "seed": seed, "seed_source": seed_source, "sizes": chosen_sizes,
            "method": METHOD, "results_as_of": results["as_of"], "controls": controls}
