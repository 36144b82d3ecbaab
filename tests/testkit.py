"""Helpers for tests that run the tool against the simulator with faults: a fast retry policy, runs, route discovery."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from auditor import retry
from auditor.config import load_config
from auditor.evidence.locker import Locker
from auditor.runner import collect, evaluate
from auditor.simulator.routing import Route

FAST = dict(retries=2, timeout=2.0, sleep=lambda seconds: None, max_empty_pages=5)


@contextmanager
def fast_policy(**changes) -> Iterator[None]:
    """Timeouts of one second and no backoff sleeps, so fault tests stay quick."""
    with retry.overridden(**{**FAST, **changes}):
        yield


def spine_config(sample_dir: Path):
    """The sample company's config narrowed to its first two projects, Google only (no GitHub, no central
    monitoring project): a small population whose collection is complete when nothing is faulted."""
    config = load_config(sample_dir / "auditor.yaml")
    gcp = config.gcp.model_copy(update={"projects": ["bks-prod", "bks-analytics"], "monitoring_project": None})
    return config.model_copy(update={"github": None, "gcp": gcp})


def spine_scenario(sample_dir: Path):
    """The sample scenario with only those two projects, and no GitHub."""
    from auditor.simulator import load_scenario

    scenario = load_scenario(sample_dir / "scenario.yaml")
    projects = [p for p in scenario.projects if p.id in ("bks-prod", "bks-analytics")]
    return scenario.model_copy(update={"projects": projects, "github": None})


def run_against(sample_dir: Path, simulator, out: Path, config=None):
    """Collect and evaluate (no rendering): (collection, results, exit code the CLI would give)."""
    config = (config or spine_config(sample_dir)).with_endpoints(simulator.url)
    collection = collect(config, out / "evidence")
    results = evaluate([collection.evidence_dir])
    return collection, results, 0 if collection.complete else 3


def routes_used(simulator, manifest: dict) -> dict[Route, set[str]]:
    """The simulator routes the collectors actually hit, each with the ids of the calls that hit it.

    Derived from the registry and the fault-free run's evidence (each item records its URL), so a
    new collector's routes join the fault matrix without editing it.
    """
    from urllib.parse import urlsplit

    used: dict[Route, set[str]] = {}
    for item in manifest["items"]:
        path = urlsplit(item["url"]).path
        for route in simulator.registry.routes:
            if route.match(path) is not None:
                used.setdefault(route, set()).add(item["call_id"])
                break
    return used


def all_items_verify(evidence_dir: Path) -> int:
    locker = Locker(evidence_dir)
    for item_id in locker.items:
        locker.body(item_id)  # raises EvidenceError on a hash mismatch
    return len(locker.items)


def freeze_clock(simulator):
    """Serve the scenario's `now` exactly, however long the test takes (results stay comparable)."""
    simulator.now = lambda: simulator.scenario.now
    return simulator


def find_secrets(secrets: list[str], files_under: list[Path] = (), texts: list[str] = ()) -> list[str]:
    """Where any secret appears: every file under the given folders (bytes, so PDFs and items count)
    and every captured text (logs, stdout, stderr, exception messages). Empty when nothing leaked.

    Generic on purpose: the GitHub token (i4) and any future credential are added to `secrets`.
    """
    hits = []
    needles = [s.encode() for s in secrets if s]
    for root in files_under:
        for path in Path(root).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                hits += [f"{path}: {n.decode()[:12]}..." for n in needles if n in data]
    for index, text in enumerate(texts):
        hits += [f"text #{index}: {s[:12]}..." for s in secrets if s and s in text]
    return hits


def days_between(first: str, last: str) -> list[str]:
    """Every ISO date from `first` to `last`, inclusive: the day lists tests write their expectations in."""
    import datetime as dt

    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def scenario_setup(root: Path, config: dict, scenario: dict):
    """(folder, parsed scenario, config) for a small hand-written scenario audited without GitHub."""
    import yaml

    from auditor.simulator.scenario import parse_scenario

    (root / "auditor.yaml").write_text(yaml.safe_dump(config))
    return root, parse_scenario(scenario), load_config(root / "auditor.yaml").model_copy(update={"github": None})


def daily_lockers(setup) -> dict:
    """The `make type2` form: one locker a day at 06:00 UTC, Jul 1 .. Sep 30 2026, merged (92 collections, over a
    minute on 2 cores). Skipped unless TYPE2_DAILY=full; `setup` is scenario_setup's (folder, scenario, config)."""
    import datetime as dt
    import os

    import pytest

    from auditor.simulator import Simulator

    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    root, scenario, config = setup
    utc = dt.timezone.utc
    dirs, day = [], dt.date(2026, 7, 1)
    with Simulator(scenario, port=0, now=dt.datetime(2026, 7, 1, 6, 0, tzinfo=utc)) as sim:
        while day <= dt.date(2026, 9, 30):
            sim.set_clock(dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=utc))
            dirs.append(collect(config.with_endpoints(sim.url), root / f"daily-{day}" / "evidence").evidence_dir)
            day += dt.timedelta(days=1)
    return evaluate(dirs)
