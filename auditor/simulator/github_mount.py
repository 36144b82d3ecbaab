"""Mount the GitHub REST subset on the simulator: build the git world at start, remove it at stop.

Kept apart from server.py so the Google-flavoured server knows only three hooks: start, stop and
whether a path belongs to GitHub (everything under /api/v3, like GitHub Enterprise Server).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from auditor.simulator import synthetic_github
from auditor.simulator.github_world import GitWorld
from auditor.simulator.routes_github import PREFIX, GithubApi

__all__ = ["GithubApi", "serves", "start", "stop"]


def serves(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def start(sim: Any) -> GithubApi | None:
    spec = sim.scenario.github
    if spec is None:
        return None
    workdir = Path(tempfile.mkdtemp(prefix="auditor-sim-github-"))
    try:
        if synthetic_github.wanted(spec):
            world = synthetic_github.ScaleWorld(spec, workdir, sim.scenario.now)
        else:
            world = GitWorld(spec, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return GithubApi(world.spec, world, sim._record)


def stop(api: GithubApi | None) -> None:
    if api is not None:
        api.world.close()
    return None
