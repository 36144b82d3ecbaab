"""The whole sample, two ways: a single quarter-end run against lockers spread over the quarter.

Issue 13: "a single run is never more favourable than the lockers". Each case has its own test; this one
holds the rule over every control, every resource and every day of the sample at once, so a control that
judges a day `kept` from one run but not from the lockers is caught wherever it hides.

The lockers are collected from the same simulated world at chosen moments; the last is the single run
itself (the scenario's `now`), so the lockers hold all the single run's evidence and more. Hence, for each
finding of the single run and each day of it:
- a day the single run keeps, the lockers keep too (more evidence cannot break a day one run proved kept
  without one of the two being wrong);
- a day the single run finds broken, the lockers find broken too (the same entry or read is in both);
- a finding that passes from the single run passes from the lockers.
The lockers may know more: a day unknown from the single run may be kept or broken from them.

Eight collections of the whole sample take minutes on 2 cores: `make type2` (TYPE2_DAILY=full) only.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator, load_scenario

UTC = dt.timezone.utc

# Moments chosen around the sample's cases (scenario.yaml): before the retention cut (Aug 10), inside the
# alert policy's two weeks off (Aug 3..17), the morning of marketing-mysql's deletion (Aug 14 12:00), inside
# the mirror's five unfetched days (Aug 12..16), the moved backup location (Aug 20..30), the bucket retention
# removed (Sep 8..12), after the key version's destruction (Sep 20); the last is the scenario's own `now`.
MOMENTS = [dt.datetime(2026, 7, 2, 6, tzinfo=UTC), dt.datetime(2026, 8, 5, 6, tzinfo=UTC),
           dt.datetime(2026, 8, 14, 6, tzinfo=UTC), dt.datetime(2026, 8, 25, 6, tzinfo=UTC),
           dt.datetime(2026, 9, 10, 6, tzinfo=UTC), dt.datetime(2026, 9, 22, 6, tzinfo=UTC)]


def _run(sample_dir, root, moments, monkeypatch):
    scenario = load_scenario(sample_dir / "scenario.yaml")
    config = load_config(sample_dir / "auditor.yaml")
    if config.github is not None:
        monkeypatch.setenv(config.github.token_env, "ghp_singleVsLockers0123456789abcdef")
    dirs = []
    with Simulator(scenario, port=0) as sim:
        for moment in [*moments, scenario.now]:
            sim.set_clock(moment)
            dirs.append(collect(config.for_simulator(sim), root / f"at-{moment:%m%d%H}" / "evidence").evidence_dir)
    return dirs


@pytest.fixture(scope="module")
def both(sample_dir, tmp_path_factory):
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("eight collections of the whole sample take minutes; run with `make type2` (TYPE2_DAILY=full)")
    root = tmp_path_factory.mktemp("single-vs-lockers")
    with pytest.MonkeyPatch.context() as mp:
        dirs = _run(sample_dir, root, MOMENTS, mp)
    return evaluate(dirs[-1:]), evaluate(dirs)


def _by_key(results):
    return {(c["id"], f["resource"], f["rule"]): f for c in results["controls"] for f in c["findings"]}


def _days(finding):
    return (finding.get("details") or {}).get("days") or {}


def test_no_day_the_single_run_keeps_is_anything_but_kept_from_the_lockers(both):
    single, lockers = (_by_key(r) for r in both)
    worse = []
    for key, finding in single.items():
        other = lockers.get(key)
        if other is None:
            worse.append(f"{key}: judged by the single run, missing from the lockers")
            continue
        theirs = _days(other)
        worse += [f"{key} {day}: kept from one run, {theirs.get(day)} from the lockers"
                  for day, state in _days(finding).items() if state == "kept" and theirs.get(day) != "kept"]
    assert not worse, "\n".join(worse[:40])


def test_no_day_the_single_run_finds_broken_is_kept_or_unknown_from_the_lockers(both):
    single, lockers = (_by_key(r) for r in both)
    softer = [f"{key} {day}: broken from one run, {_days(lockers[key]).get(day)} from the lockers"
              for key, finding in single.items() if key in lockers
              for day, state in _days(finding).items() if state == "broken" and _days(lockers[key]).get(day) != "broken"]
    assert not softer, "\n".join(softer[:40])


def test_no_finding_passes_from_the_single_run_and_not_from_the_lockers(both):
    single, lockers = (_by_key(r) for r in both)
    flipped = [f"{key}: pass from one run, {lockers[key]['status'] if key in lockers else 'missing'} from the lockers"
               for key, finding in single.items() if finding["status"] == "pass"
               and (key not in lockers or lockers[key]["status"] != "pass")]
    assert not flipped, "\n".join(flipped)


def test_the_lockers_know_days_the_single_run_cannot(both):
    """Not a tautology of the three above: the lockers must add knowledge somewhere (the mirror's past
    fetches at least, which one run cannot see), or the comparison proves nothing."""
    single, lockers = (_by_key(r) for r in both)
    learned = sum(1 for key, finding in single.items() if key in lockers
                  for day, state in _days(finding).items() if state == "unknown" and _days(lockers[key]).get(day) in ("kept", "broken"))
    assert learned > 0
