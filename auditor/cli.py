"""The `auditor` command: a thin shell over the library. Errors become messages and exit codes here only.

Exit codes (public contract): 0 done; 1 drift, failing gate or tampering; 2 usage or configuration
error; 3 collection incomplete (the pack is still written and says what is missing).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from auditor import TOOL_NAME, __version__
from auditor.errors import AuditorError

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
STATUS_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "not_applicable": "dim"}

app = typer.Typer(add_completion=False, no_args_is_help=True, help="SOC 2 backup-evidence auditor for Google Cloud and GitHub.")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except AuditorError as err:
        console.print(f"[bold red]error:[/] {err}", markup=True, highlight=False)
        raise typer.Exit(err.exit_code) from None


class _RichProgress:
    """Progress of the scheduler's calls, on stderr so stdout stays for results."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("collecting", total=0)
        self.done = 0

    def started(self, call) -> None:
        self.progress.update(self.task, description=f"{call.api} {call.method} {call.scope}")

    def finished(self, call, record, queued: int) -> None:
        self.done += 1
        self.progress.update(self.task, completed=self.done, total=self.done + queued)


@contextmanager
def _progress() -> Iterator[_RichProgress]:
    columns = (SpinnerColumn(), TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield _RichProgress(progress)


def _summary(results: dict) -> None:
    table = Table(title=f"{results['organization']} - {results['period']['start']} to {results['period']['end']} (as of {results['as_of']})")
    for column in ("control", "status", "in scope", "exceptions", "criteria"):
        table.add_column(column)
    for control in results["controls"]:
        exceptions = sum(1 for f in control["findings"] if f["status"] in ("fail", "inconclusive"))
        style = STATUS_STYLE.get(control["status"], "")
        table.add_row(control["id"], f"[{style}]{control['status']}[/]", str(control["population"]["in_scope"]),
                      str(exceptions), ", ".join(control["criteria"]))
    out.print(table)


def _load(config: Path):
    from auditor.config import load_config

    return load_config(config)


def _run(config, out_dir: Path) -> int:
    from auditor.runner import run

    try:
        with _progress() as progress:
            outcome = run(config, out_dir, progress)
    except KeyboardInterrupt:  # a second Ctrl-C while the pack was being written
        console.print("[yellow]interrupted[/] while writing the pack: the evidence locker is marked interrupted; "
                      "results and reports may be missing (re-render with `auditor check` / `auditor report`).")
        return EXIT_INCOMPLETE
    _summary(outcome.results)
    for name in ("report.pdf", "report.html", "results.json", "evidence/manifest.json", "SHA256SUMS"):
        out.print(f"  {name:<24} {out_dir / name}")
    failed = outcome.collection.failed_calls
    if outcome.collection.interrupted:
        console.print(f"[yellow]interrupted:[/] collection stopped after {len(outcome.collection.manifest['calls'])} calls; "
                      "the evidence locker is marked interrupted and every control says what was not verified.")
    if failed or outcome.collection.interrupted:
        console.print(f"[yellow]collection incomplete:[/] {len(failed)} of {len(outcome.collection.manifest['calls'])} calls failed; "
                      "the affected controls are inconclusive and the pack lists each failure.")
        for call in failed[:10]:
            error = call["error"] or {}
            console.print(f"  {call['api']} {call['method']} {call['scope']}: {error.get('kind')} {error.get('reason') or ''}".rstrip())
        return EXIT_INCOMPLETE
    return EXIT_OK


@app.command()
def run(config: Path = typer.Option(..., "--config", "-c", help="auditor.yaml"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for the evidence pack")) -> None:
    """Collect, check and render an evidence pack."""
    with _errors():
        raise typer.Exit(_run(_load(config), out_dir))


@app.command()
def collect(config: Path = typer.Option(..., "--config", "-c"), out_dir: Path = typer.Option(..., "--out", "-o")) -> None:
    """Collect evidence only, into OUT/evidence."""
    from auditor.runner import collect as do_collect

    with _errors():
        cfg = _load(config)
        with _progress() as progress:
            collection = do_collect(cfg, out_dir / "evidence", progress)
        out.print(f"evidence locker: {collection.evidence_dir / 'manifest.json'} ({len(collection.manifest['calls'])} calls)")
        raise typer.Exit(EXIT_OK if collection.complete else EXIT_INCOMPLETE)


@app.command()
def check(evidence: list[Path] = typer.Option(..., "--evidence", "-e", help="evidence locker folder (repeat to merge daily lockers)"),
          out_dir: Path = typer.Option(..., "--out", "-o")) -> None:
    """Re-perform every check from evidence lockers alone and write OUT/results.json."""
    from auditor.runner import evaluate, write_json

    with _errors():
        results = evaluate(evidence)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / "results.json", results)
        _summary(results)
        out.print(f"  results.json             {out_dir / 'results.json'}")


@app.command()
def report(results: Path = typer.Option(..., "--results", "-r"), evidence: Path = typer.Option(..., "--evidence", "-e"),
           out_dir: Path = typer.Option(..., "--out", "-o")) -> None:
    """Render report.html and report.pdf from a results.json and its evidence locker."""
    from auditor.evidence.locker import Locker
    from auditor.runner import render_reports

    with _errors():
        try:
            document = json.loads(results.read_text())
        except (OSError, ValueError) as err:
            raise AuditorError(f"{results}: cannot read results: {err}") from err
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in render_reports(document, Locker(evidence).manifest, out_dir):
            out.print(f"  {path.name:<24} {path}")


def sample_dir() -> Path:
    return Path(str(resources.files("auditor.samples") / "bangkok-solutions"))


@app.command()
def demo(out_dir: Path = typer.Option(Path("demo-out"), "--out", "-o", help="folder for the sample company's pack")) -> None:
    """Serve the sample company in the simulator and run the audit against it."""
    from auditor.config import load_config
    from auditor.simulator import Simulator, load_scenario

    with _errors():
        samples = sample_dir()
        config = load_config(samples / "auditor.yaml")
        with Simulator(load_scenario(samples / "scenario.yaml"), port=0) as simulator:
            console.print(f"simulator for the sample company at {simulator.url}")
            code = _run(config.with_endpoints(simulator.url), out_dir)
        raise typer.Exit(code)


@app.command()
def simulate(scenario: Path = typer.Option(..., "--scenario", "-s"), port: int = typer.Option(8765, "--port", "-p")) -> None:
    """Serve a scenario on 127.0.0.1 until interrupted."""
    from auditor.simulator import Simulator, load_scenario

    with _errors():
        simulator = Simulator(load_scenario(scenario), port=port).start()
        out.print(f"serving {scenario} at {simulator.url} (Ctrl-C to stop)")
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            pass


@app.command("checks")
def list_checks() -> None:
    """List the checks this installation runs."""
    from auditor.checks_api import discover_checks

    with _errors():
        table = Table()
        for column in ("id", "criteria", "title"):
            table.add_column(column)
        for item in discover_checks():
            table.add_row(item.id, ", ".join(item.criteria), item.title + (" (beyond the written policy)" if item.beyond_policy else ""))
        out.print(table)


@app.callback(invoke_without_command=True)
def _version(version: bool = typer.Option(False, "--version", help="print the version and exit")) -> None:
    if version:
        out.print(f"{TOOL_NAME} {__version__}")
        raise typer.Exit(0)


def main() -> None:
    app()
