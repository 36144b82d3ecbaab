"""Benchmark: audit a large simulated organisation and print every scale figure against its target.

    python benchmarks/run.py [--projects 200] [--instances 2000] [--buckets 5000] [--latency 0.05] [--quick]

(`make bench` runs it with the defaults.) The simulator runs in its own process (so its CPU does not
share the collector's interpreter lock) and serves a synthetic organisation
(benchmarks/synthetic.py) with per-request latency and Cloud Logging's read quota; it
prepares its data before any clock starts. Printed, each with its ratio and target:

- Google HTTP requests made against the design minimum (auditor/cost.py, from the organisation's shape);
- Google collection wall time against the latency bound, and against a serial run of the same
  collectors in this process (on a share of the projects, extrapolated by requests, as printed);
- CPU seconds per request on each side (what bounds the wall time on a small machine);
- check time over the whole organisation (facts, every check, results validated);
- the per-day hot path (every timeline's day states) in its current form and in a pandas form, with their
  ratio (benchmarks/day_states.py; issue 13 adopts pandas only if it is both simpler and faster);
- report time (HTML, PDF with its page count and size, workbook), peak memory, the machine;
- GitHub at scale (benchmarks/github_scale.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS = {"calls": 1.1, "bound": 1.5, "speedup": 20.0, "checks": 5.0, "pdf": 30.0, "memory_mb": 1536.0}
#: sqladmin carries two thirds of the requests (an operations listing per primary), so it gets more workers;
#: cloudasset is one chain of pages. More workers lower the latency bound but not the CPU a request costs.
PARALLELISM = {"default": 8, "sqladmin": 12, "logging": 8, "monitoring": 8, "cloudkms": 8, "storage": 8, "cloudasset": 1}
HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(shape_args: dict[str, Any], latency: float, conn: Any) -> None:
    """Child process: build, prepare and serve the synthetic organisation until told to stop."""
    from auditor.config import load_config
    from auditor.simulator import Simulator
    from auditor.simulator.memo import prime
    from auditor.simulator.shape import org_shape
    from synthetic import Shape, synthetic_scenario

    started = time.perf_counter()
    scenario = synthetic_scenario(Shape(**shape_args))
    prime(scenario)
    with Simulator(scenario, port=0, latency=latency) as sim:
        conn.send({"url": sim.url, "prepare_seconds": time.perf_counter() - started})
        while True:
            message = conn.recv()
            if message == "cpu":
                conn.send(_cpu())
            elif isinstance(message, tuple) and message[0] == "shape":
                conn.send(org_shape(scenario, load_config(message[1])))
            else:
                break
        conn.send({"requests": sum(sim.stats.values()), "rejected": sim.quota.rejected,
                   "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        ram = f"{kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        ram = "RAM unknown"
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} at start"
    return f"{os.cpu_count()} CPUs ({cpu}), {ram}, Python {platform.python_version()}, {platform.system()} {platform.release()}{load}"


def row(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {label:<42} {value:<48} {target}{mark}", flush=True)


def with_collection(config: Any, parallelism: dict[str, int]) -> Any:
    """The config with the benchmark's parallelism per API."""
    collection = config.collection.model_copy(update={"parallelism": {**config.collection.parallelism, **parallelism}})
    return config.model_copy(update={"collection": collection})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--instances", type=int, default=2000, help="Cloud SQL instances across the organisation")
    parser.add_argument("--buckets", type=int, default=5000, help="Cloud Storage buckets across the organisation")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per simulated request")
    parser.add_argument("--serial-fraction", type=float, default=0.05, help="share of projects for the serial run")
    parser.add_argument("--quick", action="store_true", help="a small organisation (10 projects) for a fast look")
    parser.add_argument("--github-real", type=int, default=200, help="real git repositories (GitHub section)")
    parser.add_argument("--github-synthetic", type=int, default=1800, help="synthetic repositories (GitHub section)")
    parser.add_argument("--out", type=Path, default=None, help="keep the pack here (default: a temporary folder)")
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.instances, args.buckets = 10, 100, 250
        args.github_real, args.github_synthetic = 10, 90
        args.serial_fraction = max(args.serial_fraction, 0.2)

    os.environ.setdefault("NO_GCE_CHECK", "True")
    from auditor.config import load_config
    from auditor.cost import GOOGLE_APIS, Tally, design_minimum, latency_bound, requests_by_method
    from auditor.runner import collect, evaluate
    from synthetic import Shape, project_id, write_synthetic

    shape = Shape(projects=args.projects, instances=args.instances, buckets=args.buckets)
    out = args.out or Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    if args.out is not None and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)

    print(f"machine: {machine()}")
    print(f"organisation: {shape.projects} projects (+1 monitoring project), {shape.instances} Cloud SQL instances "
          f"(every {shape.replicas_every}th a replica), {shape.buckets} buckets, daily backup history "
          f"{shape.history_start}..{shape.now[:10]}, period {shape.quarter}; {args.latency * 1000:.0f} ms per request, "
          "Cloud Logging entries.list 60/minute/project", flush=True)
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    shape_args = {"projects": shape.projects, "instances": shape.instances, "buckets": shape.buckets}
    proc = spawn.Process(target=_serve, args=(shape_args, args.latency, child), daemon=True)
    proc.start()
    ready = parent.recv()
    print(f"simulator ready at {ready['url']} in its own process (prepared its data in {ready['prepare_seconds']:.1f} s, "
          "not timed)", flush=True)
    _scenario, config_path = write_synthetic(shape, out / "config", ready["url"])
    del _scenario
    config = with_collection(load_config(config_path), PARALLELISM)
    parent.send(("shape", str(config_path)))
    org = parent.recv()
    minimum = design_minimum(org)

    # -- Google collection, parallel ------------------------------------------------------------
    parent.send("cpu")
    sim_cpu0, cpu0 = parent.recv(), _cpu()
    started = time.perf_counter()
    collection = collect(config, out / "pack" / "evidence")
    collect_seconds = time.perf_counter() - started
    parent.send("cpu")
    sim_cpu, client_cpu = parent.recv() - sim_cpu0, _cpu() - cpu0
    manifest = collection.manifest
    made = requests_by_method(manifest["calls"], GOOGLE_APIS)
    tally = Tally(made, minimum)
    by_api: dict[str, int] = {}
    for (api, _method), n in made.items():
        by_api[api] = by_api.get(api, 0) + n
    parallelism = dict(config.collection.parallelism)
    bound = latency_bound(by_api, minimum, parallelism, args.latency)
    requests = sum(made.values())

    # -- checks and reports ---------------------------------------------------------------------
    started = time.perf_counter()
    results = evaluate([collection.evidence_dir])
    check_seconds = time.perf_counter() - started
    findings = sum(len(c["findings"]) for c in results["controls"])
    before_reports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reports = render(results, manifest, out / "pack", pdf=not args.no_pdf)
    memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # what `auditor run` does: collect, check, report
    # the pandas comparison is the benchmark's own (it builds the facts a second time beside the results, about
    # 750 MB more): measured after the auditor's figures, so they stay the auditor's (ru_maxrss only grows)
    day_figures = day_states_section(collection.evidence_dir, config)
    with_day_states_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # -- serial run of the same collectors, on a share of the projects ----------------------------
    n_serial = max(1, round(shape.projects * args.serial_fraction))
    subset = config.model_copy(update={"gcp": config.gcp.model_copy(update={
        "organization": None, "projects": [project_id(p) for p in range(n_serial)], "monitoring_project": None})})
    started = time.perf_counter()
    serial = collect(subset, out / "serial" / "evidence", serial=True)
    serial_seconds = time.perf_counter() - started
    serial_requests = sum(requests_by_method(serial.manifest["calls"], GOOGLE_APIS).values())
    serial_estimate = serial_seconds * requests / max(1, serial_requests)

    parent.send("stop")
    sim_stats = parent.recv()
    proc.join(timeout=10)

    # -- figures --------------------------------------------------------------------------------
    print("\nGoogle collection")
    row("HTTP requests made", f"{requests} in {manifest['counts']['calls']} calls, "
        f"{manifest['counts'].get('retries', 0)} retries")
    row("design minimum (auditor/cost.py)", f"{minimum.total}: " + ", ".join(f"{a} {n}" for a, n in minimum.by_api.items()))
    row("requests / design minimum", f"{tally.ratio:.3f}" + (f" (extra: {tally.extra})" if tally.extra else ""),
        f"<= {TARGETS['calls']}", tally.ratio <= TARGETS["calls"])
    row("simulator answered", f"{sim_stats['requests']} requests, {sim_stats['rejected']} rejected by the quota "
        "(parallel and serial runs)")
    row("parallelism per API", ", ".join(f"{a} {n}" for a, n in sorted(parallelism.items())))
    row("latency bound", f"{bound:.2f} s (longest chain {minimum.longest_chain} pages; "
        f"busiest API {max(by_api, key=lambda a: by_api[a] / max(1, parallelism.get(a, parallelism.get('default', 1))))})")
    row("collection wall time", f"{collect_seconds:.2f} s ({requests / collect_seconds:.0f} requests/s)")
    row("wall time / latency bound", f"{collect_seconds / bound:.2f}x", f"<= {TARGETS['bound']}x",
        collect_seconds / bound <= TARGETS["bound"])
    row("CPU during collection", f"collector {client_cpu:.1f} s ({client_cpu / requests * 1000:.2f} ms/request), "
        f"simulator {sim_cpu:.1f} s ({sim_cpu / requests * 1000:.2f} ms/request)")
    row("serial run (same collectors, one at a time)", f"{serial_seconds:.1f} s for {n_serial} projects, "
        f"{serial_requests} requests ({serial_seconds / max(1, serial_requests) * 1000:.1f} ms/request)")
    row("serial, whole organisation (extrapolated)", f"{serial_estimate:.0f} s (x {requests}/{serial_requests} requests)")
    row("speed-up over serial", f"{serial_estimate / collect_seconds:.1f}x", f">= {TARGETS['speedup']}x",
        serial_estimate / collect_seconds >= TARGETS["speedup"])
    print("\nChecks and reports")
    row("checks (facts, every check, results)", f"{check_seconds:.2f} s ({findings} findings)", f"< {TARGETS['checks']} s",
        check_seconds < TARGETS["checks"])
    report_day_states(day_figures)
    row("report HTML", f"{reports['html_seconds']:.2f} s ({reports['html_bytes'] / 1e6:.1f} MB)")
    if "pdf_seconds" in reports:
        row("report PDF (print-form HTML included)", f"{reports['pdf_seconds']:.2f} s ({reports['pdf_pages']} pages, "
            f"{reports['pdf_bytes'] / 1e6:.1f} MB; print form {reports['print_html_seconds']:.1f} s, "
            f"{reports['print_html_bytes'] / 1e6:.1f} MB)",
            f"< {TARGETS['pdf']} s", reports["pdf_seconds"] < TARGETS["pdf"])
    row("workbook (every finding)", f"{reports['workbook_seconds']:.2f} s ({reports['workbook_bytes'] / 1e6:.1f} MB)")
    row("peak memory, auditor process (ru_maxrss)", f"{memory_mb:.0f} MB", f"< {TARGETS['memory_mb']:.0f} MB",
        memory_mb < TARGETS["memory_mb"])
    row("  of which before the reports", f"{before_reports_mb:.0f} MB (collection and checks)")
    row("  with the day-state comparison after", f"{with_day_states_mb:.0f} MB (the benchmark's pandas form, not the auditor's)")
    row("peak memory, simulator process", f"{sim_stats['maxrss_mb']:.0f} MB")
    github_section(args, out)
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    else:
        print(f"\npack kept in {out / 'pack'}")
    return 0


def day_states_section(evidence_dir: Path, config: Any) -> dict[str, Any]:
    """The per-day hot path, current form against a pandas form (benchmarks/day_states.py), untimed above."""
    from day_states import measure

    from auditor.evidence.locker import Locker
    from auditor.facts import build_facts
    from auditor.period import Period

    return measure(build_facts([Locker(evidence_dir)]), Period.from_config(config.period))


def report_day_states(figures: dict[str, Any]) -> None:
    from day_states import report

    report(figures, row)


def render(results: dict[str, Any], manifest: dict[str, Any], out: Path, *, pdf: bool) -> dict[str, Any]:
    """The reports `auditor run` writes, each timed (the same functions runner.render_reports calls)."""
    from auditor.reports.html import render_html
    from auditor.reports.workbook import render_workbook
    from auditor.sampling import draw

    figures: dict[str, Any] = {}
    samples = draw(results, None, (manifest.get("config") or {}).get("sampling"))
    if pdf:  # first, as auditor.outputs.render does: the PDF from the print form, which this time includes
        from auditor.reports.pdf import render_pdf

        started = time.perf_counter()
        printed = render_html(results, manifest, samples=samples, form="print")
        figures["print_html_seconds"], figures["print_html_bytes"] = time.perf_counter() - started, len(printed.encode())
        data = render_pdf(printed)
        del printed
        figures["pdf_seconds"], figures["pdf_bytes"] = time.perf_counter() - started, len(data)
        (out / "report.pdf").write_bytes(data)
        try:
            from pypdf import PdfReader

            figures["pdf_pages"] = len(PdfReader(io.BytesIO(data)).pages)
        except ImportError:
            figures["pdf_pages"] = "?"
    started = time.perf_counter()
    html = render_html(results, manifest, samples=samples)
    figures["html_seconds"], figures["html_bytes"] = time.perf_counter() - started, len(html.encode())
    (out / "report.html").write_text(html, encoding="utf-8")
    del html
    started = time.perf_counter()
    book = render_workbook(results, manifest, samples)
    figures["workbook_seconds"], figures["workbook_bytes"] = time.perf_counter() - started, len(book)
    (out / "workbook.xlsx").write_bytes(book)
    return figures


def github_section(args: argparse.Namespace, out: Path) -> None:
    print("\nGitHub")
    path = HERE / "github_scale.py"  # loaded from its file: benchmarks/ is not a package
    spec = importlib.util.spec_from_file_location("github_scale", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    figures = module.measure_github(args.latency, args.github_real, args.github_synthetic, out / "github")
    print("\n".join("  " + line for line in module.render(figures).splitlines()))


if __name__ == "__main__":
    sys.exit(main())
