"""The per-day hot path measured on the benchmark's organisation: every (resource, setting) timeline's day
states over the quarter, as the checks compute them (auditor.facts.timeline.Timeline.day_states), against
a pandas form of the same computation (issue 13: "use pandas where the per-day work is array-shaped, if it
is both simpler and faster").

The pandas form below is a scratch candidate, used only here: it computes the same states for all
timelines at once with `merge_asof` (the last event before each day's start, the events inside each
day, the covered span holding each moment) and vectorised rules; `compare` checks that both give the
same state for every resource-day before either is timed. pandas stays out of the runtime
dependencies unless this shows it both simpler and faster (docs/architecture.md records the figures).

    python benchmarks/day_states.py EVIDENCE_DIR [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

WEAK: dict[str, Any] = {  # the failing value, or a predicate on a known value, as the checks pass them
    "backup_enabled": False,
    "retained_backups": lambda v: v < 7,
    "pitr_enabled": False,
    "log_retention_days": lambda v: v > 35,
    "backup_location": lambda v: v == "us",
    "activation_policy": "NEVER",
}


def workload(facts: Any) -> list[tuple[Any, Any, Any]]:
    """(timeline, weak, lifetime) of every timeline the history holds."""
    history = facts.history
    return [(timeline, WEAK.get(timeline.setting, False), history.lifetime(timeline.resource))
            for timeline in history.timelines()]


def _stamp(moment: Any) -> float | None:
    return moment.timestamp() if moment else None


def current(jobs: list[tuple[Any, Any, Any]], period: Any, as_of: float) -> list[dict]:
    """The runtime's form: Timeline.day_states, one timeline at a time."""
    days = list(period.days())
    return [timeline.day_states(period.day_stamps, days, as_of, weak, created=_stamp(life.created),
                                gone_by=_stamp(life.gone_by), alive_until=_stamp(life.alive_until))
            for timeline, weak, life in jobs]


def with_pandas(jobs: list[tuple[Any, Any, Any]], period: Any, as_of: float) -> list[dict]:
    """The same states for every timeline at once (scratch candidate, see the module docstring)."""
    import numpy as np
    import pandas as pd

    days = list(period.days())
    stamps = np.asarray(period.day_stamps, dtype=float)
    n_days = len(days)
    ev_rows: list[tuple[int, float, int, int, int]] = []  # timeline, time, position, weak, none
    lead_first: list[Any] = []
    span_rows: list[tuple[int, float, float]] = []
    values: list[list[Any]] = []
    weak_lead: list[list[bool]] = []
    for tl, (timeline, weak, _life) in enumerate(jobs):
        is_weak = (lambda v, w=weak: v is not None and bool(w(v))) if callable(weak) else (lambda v, w=weak: v == w)
        vals = [e.value for e in timeline.events]
        values.append(vals)
        weak_lead.append([is_weak(v) for v in vals])
        for pos, (t, v) in enumerate(zip(timeline.times, vals)):
            ev_rows.append((tl, t, pos, int(weak_lead[tl][pos]), int(v is None)))
        first = timeline.events[0] if timeline.events else None
        lead_first.append(None if first is None or first.source == "change" else first.value)
        span_rows += [(tl, lo, hi) for lo, hi in timeline.covered]
    events = pd.DataFrame(ev_rows, columns=["tl", "t", "pos", "weak", "none"])
    events["weak_cum"] = events.groupby("tl")["weak"].cumsum()
    events["none_cum"] = events.groupby("tl")["none"].cumsum()
    events = events.sort_values("t", kind="stable")
    spans = pd.DataFrame(span_rows, columns=["tl", "lo", "hi"]).sort_values("lo", kind="stable")

    n = len(jobs)
    tl_index = np.repeat(np.arange(n), n_days)
    start = np.tile(stamps[:-1], n)
    end = np.minimum(np.tile(stamps[1:], n), as_of)
    life = np.array([[_stamp(l.created) or -np.inf, _stamp(l.gone_by) or np.inf,
                      _stamp(l.alive_until) if l.alive_until else np.nan] for _t, _w, l in jobs]).reshape(n, 3)
    created, gone, alive = life[tl_index, 0], life[tl_index, 1], life[tl_index, 2]
    not_due = start >= as_of
    not_applicable = ~not_due & ((end <= created) | (start >= gone))
    exists_unknown = ~np.isnan(alive) & (end > np.nan_to_num(alive, nan=np.inf)) & (start < gone) & (gone != alive)
    start = np.maximum(start, created)
    end = np.minimum(end, gone)
    frame = pd.DataFrame({"tl": tl_index, "start": start, "end": end, "row": np.arange(n * n_days)})

    def asof(left_on: str, exact: bool) -> pd.DataFrame:
        """Per day row, the last event with time <= (exact) or < (not exact) the row's `left_on`."""
        left = frame.sort_values(left_on, kind="stable")
        got = pd.merge_asof(left, events, left_on=left_on, right_on="t", by="tl", allow_exact_matches=exact,
                            direction="backward")
        return got.sort_values("row", kind="stable")

    last = asof("start", True)  # bisect_right(times, start) - 1
    before_start = asof("start", False)  # bisect_left(times, start) - 1: the events before the stretch
    before_end = asof("end", False)  # bisect_left(times, end) - 1
    count_of = (lambda got, col: got[col].fillna(0).to_numpy())
    weak_in = count_of(before_end, "weak_cum") - count_of(before_start, "weak_cum")
    none_in = count_of(before_end, "none_cum") - count_of(before_start, "none_cum")
    events_in = before_end["pos"].fillna(-1).to_numpy() - before_start["pos"].fillna(-1).to_numpy()

    def covers(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        probe = pd.DataFrame({"tl": tl_index, "a": a, "row": np.arange(len(a))}).sort_values("a", kind="stable")
        got = pd.merge_asof(probe, spans, left_on="a", right_on="lo", by="tl", direction="backward").sort_values("row")
        return (got["hi"].to_numpy() >= b) & ~np.isnan(got["hi"].to_numpy())

    has_last = last["pos"].notna().to_numpy()
    last_pos = last["pos"].fillna(0).astype(int).to_numpy()
    last_t = last["t"].to_numpy()
    first_t = np.array([j[0].times[0] if j[0].times else np.inf for j in jobs])[tl_index]
    has_first_lead = np.array([v is not None for v in lead_first])[tl_index]
    carried = np.where(has_last, covers(np.where(has_last, last_t, start), end),
                       covers(start, np.where(has_first_lead, np.maximum(end, first_t), end)))

    out: list[dict] = []
    for tl in range(n):
        vals, weak_of, states = values[tl], weak_lead[tl], {}
        first_value = lead_first[tl]
        for number, day in enumerate(days):
            i = tl * n_days + number
            if not_due[i]:
                states[day] = "not_due"
                continue
            if not_applicable[i]:
                states[day] = "not_applicable"
                continue
            if has_last[i]:
                lead, lead_weak = vals[last_pos[i]], weak_of[last_pos[i]]
            elif first_value is not None:
                lead, lead_weak = first_value, weak_of[0]
            else:
                lead, lead_weak = None, False
            nothing = False
            if not carried[i]:
                if events_in[i] == 0:
                    lead, lead_weak = None, False
                else:
                    nothing = True
            if weak_in[i] > 0 or (not nothing and lead_weak):
                states[day] = "broken"
            elif exists_unknown[i] or none_in[i] > 0 or (not nothing and lead is None):
                states[day] = "unknown"
            else:
                states[day] = "kept"
        out.append(states)
    return out


def compare(a: list[dict], b: list[dict]) -> int:
    """Resource-days on which the two forms differ (0 before either is timed)."""
    return sum(1 for x, y in zip(a, b) for day in x if x[day] != y.get(day))


def measure(facts: Any, period: Any, repeat: int = 3) -> dict[str, Any]:
    jobs = workload(facts)
    as_of = facts.as_of.timestamp()
    figures: dict[str, Any] = {"timelines": len(jobs), "events": sum(len(j[0].events) for j in jobs),
                               "resource_days": len(jobs) * len(list(period.days()))}
    baseline, candidate = current(jobs, period, as_of), with_pandas(jobs, period, as_of)
    figures["differences"] = compare(baseline, candidate)
    for name, form in (("current", current), ("pandas", with_pandas)):
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            form(jobs, period, as_of)
            best = min(best, time.perf_counter() - started)
        figures[f"{name}_seconds"] = best
    figures["ratio"] = figures["pandas_seconds"] / figures["current_seconds"]
    return figures


def report(figures: dict[str, Any], row: Any) -> None:
    row("day states: timelines x days", f"{figures['timelines']} timelines ({figures['events']} events) x 92 days = "
        f"{figures['resource_days']} resource-days")
    row("day states, current (Timeline.day_states)", f"{figures['current_seconds']:.3f} s "
        f"({figures['current_seconds'] / figures['resource_days'] * 1e6:.2f} us/resource-day)")
    row("day states, pandas form (benchmarks/day_states.py)", f"{figures['pandas_seconds']:.3f} s "
        f"({figures['pandas_seconds'] / figures['resource_days'] * 1e6:.2f} us/resource-day); "
        f"{figures['differences']} resource-days differ")
    row("pandas / current", f"{figures['ratio']:.2f}x", "< 1x to adopt (and simpler)", figures["ratio"] < 1)


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from auditor.config import config_from_snapshot
    from auditor.evidence.locker import Locker
    from auditor.facts import build_facts
    from auditor.period import Period

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    locker = Locker(args.evidence)
    facts = build_facts([locker])
    period = Period.from_config(config_from_snapshot(locker.manifest["config"]).period)
    report(measure(facts, period, args.repeat), lambda label, value, target="", ok=None: print(f"  {label:<52} {value}  {target}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
