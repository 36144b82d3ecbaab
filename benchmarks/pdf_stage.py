"""The PDF stage alone, on a locker a benchmark run kept: time it, or profile it.

    python benchmarks/run.py --out /tmp/bench                         # once: keeps the pack and its locker
    python benchmarks/pdf_stage.py /tmp/bench/pack/evidence [--profile pdf.prof] [--out report.pdf]

The results are computed once from the locker (`evaluate`, not timed) and cached beside it
(`results-cache.json`, keyed by the manifest's digest), so each later run measures only what
`auditor.outputs.render` does for the PDF: the print form of the report, then WeasyPrint.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path


def results_for(evidence_dir: Path) -> tuple[dict, dict]:
    from auditor.runner import evaluate

    manifest_bytes = (evidence_dir / "manifest.json").read_bytes()
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    cache = evidence_dir.parent / "results-cache.json"
    if cache.exists():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("manifest_sha256") == digest:
            return cached["results"], json.loads(manifest_bytes)
    started = time.perf_counter()
    results = evaluate([evidence_dir])
    print(f"results computed in {time.perf_counter() - started:.1f} s (not timed below); cached in {cache}", flush=True)
    cache.write_text(json.dumps({"manifest_sha256": digest, "results": results}), encoding="utf-8")
    return results, json.loads(manifest_bytes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("evidence", type=Path, help="the evidence folder of a kept benchmark pack")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the stage here")
    parser.add_argument("--out", type=Path, default=None, help="write the PDF here")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_GCE_CHECK", "True")
    from auditor.reports.html import render_html
    from auditor.reports.pdf import render_pdf
    from auditor.sampling import draw

    results, manifest = results_for(args.evidence)
    samples = draw(results, None, (manifest.get("config") or {}).get("sampling"))
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    printed = render_html(results, manifest, samples=samples, form="print")
    html_seconds = time.perf_counter() - started
    data = render_pdf(printed)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(data)).pages)
    print(f"PDF {seconds:.2f} s ({pages} pages, {len(data) / 1e6:.1f} MB; print form {html_seconds:.2f} s, "
          f"{len(printed.encode()) / 1e6:.1f} MB){' under cProfile' if profiler else ''}; "
          f"peak {peak_mb:.0f} MB ({before_mb:.0f} MB before); load average {os.getloadavg()[0]:.1f}")
    if args.out:
        args.out.write_bytes(data)
    if profiler:
        profiler.dump_stats(str(args.profile))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
