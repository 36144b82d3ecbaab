"""Per-scenario caches of the simulator's derived data, so a large organisation is served cheaply.

Everything a handler derives from the scenario (a project's backup timeline, its audit-log entries,
its retained runs, its asset-index entries, the bucket index, the result of a filtered query) is a
pure function of the scenario object, computed on first use and kept: later pages of a query slice
the cached result instead of regenerating and re-filtering a project's history, and backupRuns and
entries.list share one timeline. Moving the clock (`Simulator.set_clock`) makes a new scenario
object and so a fresh cache. `prime(scenario)` computes every project's data ahead of time (the
benchmark does this before any clock starts: a real service's data exists before it is queried).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from auditor.simulator.scenario import Scenario

MAX_SCENARIOS = 4


class Memo:
    """Computed values by key; concurrent builders of one key may both compute (the results are equal)."""

    def __init__(self) -> None:
        self._data: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        try:
            return self._data[key]
        except KeyError:
            pass
        value = build()  # outside the lock: requests for other projects are not serialised behind it
        with self._lock:
            return self._data.setdefault(key, value)


_memos: OrderedDict[int, tuple[Scenario, Memo]] = OrderedDict()
_lock = threading.Lock()


def memo(scenario: Scenario) -> Memo:
    """The cache of one scenario object (held with it, so its id is never reused while cached)."""
    with _lock:
        held = _memos.get(id(scenario))
        if held is None or held[0] is not scenario:
            held = (scenario, Memo())
            _memos[id(scenario)] = held
            while len(_memos) > MAX_SCENARIOS:
                _memos.popitem(last=False)
        _memos.move_to_end(id(scenario))
        return held[1]


def prime(scenario: Scenario) -> None:
    """Compute every project's timeline, backup runs, audit-log entries and asset entries now."""
    from auditor.simulator.routes_cloudasset import project_assets
    from auditor.simulator.routes_logging import project_entries
    from auditor.simulator.routes_sqladmin import project_backup_runs
    from auditor.simulator.routes_storage import bucket_index

    bucket_index(scenario)
    for project in scenario.projects:
        project_backup_runs(scenario, project)
        project_entries(scenario, project)
        project_assets(scenario, project)
