"""GitHub at scale: a generated organisation, the real collector, GitHub's limits, and the serial latency bound.

    python benchmarks/github_scale.py --real 200 --synthetic 1800 --latency 0.05

What it does, in order:
1. starts the simulator in its own process (so its CPU is not the collector's), with an organisation
   made by `generate:` (auditor/simulator/synthetic_github.py: `real` repositories with their own
   history and a `git clone --mirror` backup, `synthetic` ones sharing template histories, some
   backups missing, stale, lagging or corrupt), GitHub's primary and secondary rate limits enforced,
   and `latency` seconds added to every GitHub response;
2. collects with `auditor.runner.collect` and a GitHub-only config: PyGithub, serial (GitHub asks
   for one request at a time per token), with explicit pacing (`seconds_between_requests`);
3. runs every check (`auditor.runner.evaluate`) on the locker;
4. returns the figures: requests made per method against the design minimum of
   auditor/cost_github.py, the serial latency bound requests x (latency + pacing), wall times, local
   git commands and their time, rate-limit refusals, and how long the organisation took to make.

`measure_github()` is the function the whole-organisation benchmark calls; run alone, this prints
the figures. Nothing here is a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from auditor import runner
from auditor.config import Config
from auditor.cost_github import PER_RUN, RepoShape, git_commands, github_minimum, pacing_within_limits, serial_bound
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

ORG = "scale"
TOKEN_ENV = "AUDITOR_BENCH_GITHUB_TOKEN"
NOW = "2026-09-30T02:00:00Z"


def scenario(real: int, synthetic: int, seed: int) -> dict[str, Any]:
    return {"name": "github-scale", "now": NOW, "history_start": "2026-09-01",
            "organization": {"id": "1", "display_name": ORG}, "projects": [],
            "github": {"organizations": [{"login": ORG, "generate": {"real": real, "synthetic": synthetic, "seed": seed}}]}}


def serve(request: dict[str, Any]) -> None:
    """The simulator's own process (`github_scale.py --serve`): build the organisation, report it as one JSON
    line on stdout, serve until a line arrives on stdin, report what it saw, stop (removing what it made)."""
    tempfile.tempdir = request["tmpdir"]  # the generated repositories and backups live under the work folder
    started = time.perf_counter()
    sim = Simulator(parse_scenario(request["scenario"]), port=0, latency=request["latency"]).start()
    world = sim.github.world
    _say({"url": sim.url, "backup_root": str(sim.github_backup_root), "start_seconds": time.perf_counter() - started,
          "generate": world.timings, "shapes": [asdict(s) for s in world.shapes[ORG]],
          "states": Counter(world.states[ORG].values()), "kinds": Counter(world.kinds[ORG].values())})
    sys.stdin.readline()
    github = sim.github
    _say({"requests": github.requests, "refusals": dict(github.limiter.refusals),
          "rate_headers": github.limiter.headers(os.environ.get(TOKEN_ENV, ""))})
    sim.stop()


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _hear(server: subprocess.Popen) -> dict[str, Any]:
    """The simulator process's next line; an error if it ended instead of answering."""
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        raise RuntimeError(f"the simulator process ended (exit code {server.wait()}) before answering")
    return json.loads(line)


class _Timer:
    """A scheduler progress hook: seconds each call ran, per (api, method), from its record's start and end
    (a call is `started` when queued; its record opens when a worker takes it)."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)

    def started(self, call) -> None:
        pass

    def finished(self, call, record, queued: int) -> None:
        ran = datetime.fromisoformat(record.ended_at) - datetime.fromisoformat(record.started_at)
        self.seconds[call.api, call.method] += ran.total_seconds()


def _config(url: str, backup_root: str, pacing: float, sample: int) -> Config:
    config = Config.model_validate({
        "organization": "GitHub scale benchmark", "period": {"quarter": "2026-Q3"},
        "github": {"organizations": [ORG], "token_env": TOKEN_ENV},
        "policy": {"classifications": {"internal": {}}, "source_code": {"integrity_sample": sample}},
    })
    config = config.for_simulator(SimpleNamespace(url=url, github_backup_root=backup_root))
    assert config.github is not None
    return config.model_copy(update={"github": config.github.model_copy(update={"seconds_between_requests": pacing})})


def measure_github(latency: float, real: int, synthetic: int, workdir: Path, *, pacing: float | None = None,
                   sample: int = 10, seed: int = 7) -> dict[str, Any]:
    """Build the organisation, collect and check it; return the figures (see the module docstring).

    `pacing` is PyGithub's `seconds_between_requests`; None picks the least that keeps each endpoint under
    GitHub's 900 points a minute given that the collector alternates branch and tag listings
    (60/900/2 - latency, never negative; the simulator enforces the limit and the figures count refusals).
    """
    pacing = pacing_within_limits(latency, alternating=2) if pacing is None else pacing
    workdir = Path(workdir)
    (workdir / "sim").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault(TOKEN_ENV, "ghp_benchmarkTokenNotASecret000000000")
    began = time.perf_counter()
    server = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None
    try:
        server.stdin.write(json.dumps({"scenario": scenario(real, synthetic, seed), "latency": latency,
                                       "tmpdir": str(workdir / "sim")}) + "\n")
        server.stdin.flush()
        world = _hear(server)
        world["shapes"] = [RepoShape(**s) for s in world["shapes"]]
        setup_seconds = time.perf_counter() - began
        config = _config(world["url"], world["backup_root"], pacing, sample)
        timer = _Timer()
        started = time.perf_counter()
        collection = runner.collect(config, workdir / "evidence", progress=timer)
        collect_seconds = time.perf_counter() - started
        started = time.perf_counter()
        results = runner.evaluate([collection.evidence_dir])
        check_seconds = time.perf_counter() - started
        server.stdin.write("stop\n")
        server.stdin.flush()
        served = _hear(server)
        server.wait(timeout=300)  # it removes the organisation it made
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    run = SimpleNamespace(world=world, served=served, collection=collection, timer=timer, results=results,
                          collect_seconds=collect_seconds, check_seconds=check_seconds, setup_seconds=setup_seconds,
                          total_seconds=time.perf_counter() - began)
    return _figures(run, latency=latency, pacing=pacing, sample=sample, real=real, synthetic=synthetic, seed=seed)


def _figures(run: SimpleNamespace, *, latency: float, pacing: float, sample: int, real: int, synthetic: int,
             seed: int) -> dict[str, Any]:
    world, served, collection, timer = run.world, run.served, run.collection, run.timer
    minimum = github_minimum(world["shapes"], sample=sample) + PER_RUN
    made: Counter[str] = Counter()
    for call in collection.manifest["calls"]:
        if call["api"] == "github":
            made[call["method"]] += call["requests"]
    requests = sum(made.values())
    design = sum(minimum.values())
    bound = serial_bound(requests, latency, pacing)
    git_items = [i for i in collection.manifest["items"] if i["url"].startswith("local:git ")]
    github_seconds = sum(s for (api, _), s in timer.seconds.items() if api == "github")
    git_seconds = sum(s for (api, _), s in timer.seconds.items() if api == "git")
    statuses = {c["id"]: Counter(f["status"] for f in c["findings"]) for c in run.results["controls"]
                if c["id"].startswith("source-")}
    return {
        "organisation": {"real": real, "synthetic": synthetic, "seed": seed,
                         "repositories": len(world["shapes"]), "backups": dict(world["states"])},
        "creation_seconds": round(world["start_seconds"], 2),
        "setup_seconds": round(run.setup_seconds, 1),
        "total_seconds": round(run.total_seconds, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "cpus": os.cpu_count(),
        "creation_git_processes": world["generate"]["git_processes"],
        "latency_seconds": latency,
        "pacing_seconds": round(pacing, 4),
        "pacing_rule": "PyGithub seconds_between_requests, waited after each response; default 60/900/2 - latency: "
                       "branch and tag listings alternate, so each endpoint stays under 900 points a minute",
        "requests": requests,
        "requests_by_method": dict(sorted(made.items())),
        "design_minimum": design,
        "design_minimum_by_method": {m: n for (_, m), n in sorted(minimum.items())},
        "ratio_to_minimum": round(requests / design, 3) if design else None,
        "requests_seen_by_simulator": served["requests"],
        "rate_limit_refusals": served["refusals"],
        "primary_budget_used": int(served["rate_headers"]["X-RateLimit-Used"]),
        "primary_budget": int(served["rate_headers"]["X-RateLimit-Limit"]),
        "serial_latency_bound_seconds": round(bound, 1),
        "collect_wall_seconds": round(run.collect_seconds, 1),
        "ratio_to_bound": round(run.collect_seconds / bound, 3) if bound else None,
        "github_call_seconds": round(github_seconds, 1),
        "git_commands": len(git_items),
        "git_commands_formula": git_commands(world["shapes"], sample=sample),
        "git_calls": sum(1 for c in collection.manifest["calls"] if c["api"] == "git"),
        "git_seconds": round(git_seconds, 1),
        "other_collect_seconds": round(run.collect_seconds - github_seconds - git_seconds, 1),
        "failed_calls": collection.manifest["counts"]["failed_calls"],
        "check_seconds": round(run.check_seconds, 2),
        "source_findings": {k: dict(v) for k, v in statuses.items()},
    }


def render(figures: dict[str, Any]) -> str:
    f = figures
    org = f["organisation"]
    lines = [
        f"GitHub organisation: {org['repositories']} repositories ({org['real']} real, {org['synthetic']} synthetic, "
        f"seed {org['seed']}); backups {org['backups']}",
        f"  made in {f['creation_seconds']} s ({f['creation_git_processes']} git processes); simulator process ready after "
        f"{f['setup_seconds']} s",
        f"latency {f['latency_seconds'] * 1000:.0f} ms per request; pacing {f['pacing_seconds'] * 1000:.1f} ms "
        f"(seconds_between_requests; {f['pacing_rule']})",
        f"requests: {f['requests']} made, design minimum {f['design_minimum']}, ratio {f['ratio_to_minimum']}"
        f" (simulator saw {f['requests_seen_by_simulator']})",
    ]
    lines += [f"  {method:24} {n:6}  (minimum {f['design_minimum_by_method'].get(method, 0)})"
              for method, n in f["requests_by_method"].items()]
    lines += [
        f"rate limits: primary {f['primary_budget_used']} of {f['primary_budget']} an hour used; "
        f"refusals {f['rate_limit_refusals'] or 'none'}",
        f"collection: {f['collect_wall_seconds']} s wall, serial latency bound {f['serial_latency_bound_seconds']} s "
        f"(requests x (latency + pacing)), ratio {f['ratio_to_bound']}",
        f"  GitHub calls {f['github_call_seconds']} s; local git {f['git_seconds']} s for {f['git_commands']} commands "
        f"in {f['git_calls']} calls (formula {f['git_commands_formula']}); other {f['other_collect_seconds']} s",
        f"  failed calls: {f['failed_calls']}",
        f"checks: {f['check_seconds']} s; source findings {f['source_findings']}",
        f"total {f['total_seconds']} s (simulator start to its exit); {f['cpus']} CPUs, load average {f['load_average']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=1800)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every GitHub response")
    parser.add_argument("--pacing", type=float, default=None, help="seconds_between_requests (default: 60/900/2 - latency)")
    parser.add_argument("--sample", type=int, default=10, help="policy.source_code.integrity_sample")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="where the organisation and the locker go (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the simulator's own process
    args = parser.parse_args(argv)
    if args.serve:
        serve(json.loads(sys.stdin.readline()))
        return 0
    with tempfile.TemporaryDirectory(prefix="auditor-github-scale-") as scratch:
        figures = measure_github(args.latency, args.real, args.synthetic, args.workdir or Path(scratch), pacing=args.pacing,
                                 sample=args.sample, seed=args.seed)
        removing = time.perf_counter()
    figures["cleanup_seconds"] = round(time.perf_counter() - removing, 1)  # the locker and anything left behind
    print(json.dumps(figures, indent=2) if args.json else render(figures) + f"\nwork folder removed in {figures['cleanup_seconds']} s")
    return 0 if figures["failed_calls"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
