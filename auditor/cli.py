"""The `auditor` command: a thin shell over the library. Errors become messages and exit codes here only.

Exit codes (public contract): 0 done; 1 drift, failing gate or tampering; 2 usage or configuration
error; 3 collection incomplete (the pack is still written and says what is missing).
"""

from __future__ import annotations

import json
import os
import sys
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
    """One row per control; the waiver columns appear only when a waivers file is in use."""
    table = Table(title=f"{results['organization']}: {results['period']['start']} to {results['period']['end']}, "
                        f"evidence as of {results['as_of']}")
    waivers = bool(results.get("waivers"))
    columns = ["control", "status"] + (["after waivers", "waived"] if waivers else []) + ["in scope", "exceptions", "criteria"]
    for column in columns:
        table.add_column(column, no_wrap=True, justify="right" if column in ("in scope", "exceptions", "waived") else "left")
    for control in results["controls"]:
        exceptions = sum(1 for f in control["findings"] if f["status"] in ("fail", "inconclusive"))
        waived = sum(1 for f in control["findings"] if f.get("waiver") and not f["waiver"].get("expired"))
        style = STATUS_STYLE.get(control["status"], "")
        effective = STATUS_STYLE.get(control["effective_status"], "")
        row = [control["id"], f"[{style}]{control['status']}[/]"]
        if waivers:
            row += [f"[{effective}]{control['effective_status']}[/]", str(waived)]
        row += [str(control["population"]["in_scope"]), str(exceptions), ",".join(control["criteria"])]
        table.add_row(*row)
    out.print(table)
    summary = results.get("waivers")
    if summary:
        expired = [w for w in summary["entries"] if w["expired"] and w["waived_findings"]]
        unmatched = [w for w in summary["entries"] if not w["matched"]]
        for w in expired:
            out.print(f"[bold red]expired waiver[/] {w['ticket']} ({w['control']} {w['resource']}) expired on {w['expires']}")
        for w in unmatched:
            out.print(f"[yellow]waiver matches nothing[/] {w['ticket']} ({w['control']} {w['resource']})")


def _load(config: Path):
    from auditor.config import load_config

    return load_config(config)


def _run(config, out_dir: Path, junit: Path | None = None, seed: str | None = None, signer=None, since: Path | None = None) -> int:
    from auditor.runner import run

    try:
        with _progress() as progress:
            outcome = run(config, out_dir, progress, seed=seed, junit=junit, since=since)
    except KeyboardInterrupt:  # a second Ctrl-C while the pack was being written
        console.print("[yellow]interrupted[/] while writing the pack: the evidence locker is marked interrupted; "
                      "results and reports may be missing (re-render with `auditor check` / `auditor report`).")
        return EXIT_INCOMPLETE
    _summary(outcome.results)
    if signer is not None:
        _sign(out_dir, signer)
    for name in ("report.pdf", "report.html", "workbook.xlsx", "oscal-assessment-results.json", "samples.json",
                 "results.json", "evidence/manifest.json", "SHA256SUMS"):
        out.print(f"  {name:<30} {out_dir / name}", soft_wrap=True)
    if junit is not None:
        out.print(f"  {'junit':<30} {junit}", soft_wrap=True)
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


SIGN_KEY_HELP = "sign the pack as the last step: a private key file from `auditor keygen`, or gcpkms://projects/P/.../cryptoKeyVersions/N"
SIGN_CREDENTIALS_HELP = ("the signing identity for a gcpkms:// key (not the auditing one): application-default, "
                         "anonymous (the simulator) or a service-account key file")
KMS_ENDPOINT_HELP = "Cloud KMS root URL for a gcpkms:// key (Private Service Connect, the simulator)"


def _signer(key: Optional[str], credentials: str, endpoint: Optional[str]):
    """The signer for `--key`/`--sign-key`, made before any work so a bad key stops the command first."""
    if key is None:
        return None
    from auditor.signing import KMS_PREFIX, kms_name, make_signer

    creds = None
    if key.startswith(KMS_PREFIX):
        from auditor.kms_signer import signing_credentials

        kms_name(key)  # a malformed name is named before any credentials are looked for

        creds = signing_credentials(credentials)
    return make_signer(key, credentials=creds, kms_endpoint=endpoint)


def _sign(pack: Path, signer) -> None:
    """Sign only a pack that verifies: a signature vouches for what it covers."""
    from auditor.signing import SIGNATURE_FILE, sign_pack
    from auditor.verify import verify_pack

    outcome = verify_pack(pack)
    if not outcome.intact:
        for line in outcome.lines():
            out.print(line, highlight=False, markup=False, soft_wrap=True)
        console.print(f"[bold red]not signed:[/] {pack} does not verify ({len(outcome.lines())} difference(s))")
        raise typer.Exit(EXIT_DRIFT)
    document = sign_pack(pack, signer)
    out.print(f"signed: {pack / SIGNATURE_FILE} by key {document['key']['fingerprint']} ({document['key']['ref']})",
              highlight=False, markup=False, soft_wrap=True)


@app.command()
def run(config: Path = typer.Option(..., "--config", "-c", help="auditor.yaml"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for the evidence pack"),
        junit: Optional[Path] = typer.Option(None, "--junit", help="also write JUnit XML (one test case per control and resource)"),
        seed: Optional[str] = typer.Option(None, "--seed", help="the auditor's seed for the random sample (printed in the pack so anyone can redraw it)"),
        since: Optional[Path] = typer.Option(None, "--since", help="the previous day's evidence locker this one continues "
                                             "(default: the newest locker of the same organisation beside OUT)"),
        sign_key: Optional[str] = typer.Option(None, "--sign-key", help=SIGN_KEY_HELP),
        sign_credentials: str = typer.Option("application-default", "--sign-credentials", help=SIGN_CREDENTIALS_HELP),
        kms_endpoint: Optional[str] = typer.Option(None, "--kms-endpoint", help=KMS_ENDPOINT_HELP)) -> None:
    """Collect, check and render an evidence pack."""
    with _errors():
        cfg = _load(config)
        signer = _signer(sign_key, sign_credentials, kms_endpoint or (cfg.gcp.endpoints.cloudkms if cfg.gcp else None))
        raise typer.Exit(_run(cfg, out_dir, junit, seed, signer=signer, since=since))


@app.command()
def collect(config: Path = typer.Option(..., "--config", "-c"), out_dir: Path = typer.Option(..., "--out", "-o"),
            since: Optional[Path] = typer.Option(None, "--since", help="the previous day's evidence locker this one continues "
                                                 "(default: the newest locker of the same organisation beside OUT)")) -> None:
    """Collect evidence only, into OUT/evidence."""
    from auditor.runner import collect as do_collect

    with _errors():
        cfg = _load(config)
        with _progress() as progress:
            collection = do_collect(cfg, out_dir / "evidence", progress, since=since)
        out.print(f"evidence locker: {collection.evidence_dir / 'manifest.json'} ({len(collection.manifest['calls'])} calls)")
        raise typer.Exit(EXIT_OK if collection.complete else EXIT_INCOMPLETE)


@app.command()
def check(evidence: list[Path] = typer.Option(..., "--evidence", "-e", help="evidence locker folder (repeat to merge daily lockers)"),
          out_dir: Path = typer.Option(..., "--out", "-o"),
          junit: Optional[Path] = typer.Option(None, "--junit", help="also write JUnit XML")) -> None:
    """Re-perform every check from evidence lockers alone and write OUT/results.json.

    Several lockers (a quarter of daily ones) must form one unbroken chain (auditor.chain): a gap, a
    fork or a re-made locker is named and nothing is evaluated (exit 1).
    """
    from auditor.runner import evaluate, write_json

    with _errors():
        if len(evidence) > 1:
            from auditor.chain import check_chain

            chain = check_chain(evidence)
            for line in chain.lines:
                out.print(f"chain: {line}", highlight=False, markup=False, soft_wrap=True)
            if not chain.unbroken:
                for line in chain.breaks:
                    out.print(f"chain broken: {line}", highlight=False, markup=False, soft_wrap=True)
                console.print(f"[bold red]chain broken:[/] {len(chain.breaks)} break(s) in the chain of {len(evidence)} lockers; "
                              "nothing was evaluated")
                raise typer.Exit(EXIT_DRIFT)
            out.print(f"chain: {len(evidence)} lockers, unbroken", highlight=False, markup=False)
        results = evaluate(evidence)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / "results.json", results)
        _summary(results)
        out.print(f"  results.json             {out_dir / 'results.json'}")
        if junit is not None:
            from auditor.ci import write_junit

            write_junit(junit, results)
            out.print(f"  {'junit':<24} {junit}")


@app.command()
def report(results: Path = typer.Option(..., "--results", "-r"), evidence: Path = typer.Option(..., "--evidence", "-e"),
           out_dir: Path = typer.Option(..., "--out", "-o"),
           seed: Optional[str] = typer.Option(None, "--seed", help="the auditor's seed for the random sample (printed in the pack so anyone can redraw it)"),
           sign_key: Optional[str] = typer.Option(None, "--sign-key", help=SIGN_KEY_HELP),
           sign_credentials: str = typer.Option("application-default", "--sign-credentials", help=SIGN_CREDENTIALS_HELP),
           kms_endpoint: Optional[str] = typer.Option(None, "--kms-endpoint", help=KMS_ENDPOINT_HELP)) -> None:
    """Render the report, workbook, OSCAL results and the auditor's sample from a results.json and its evidence locker.

    When OUT is the pack itself (it holds that results.json and evidence/), the pack manifest and
    SHA256SUMS are written again, last, so `auditor verify` covers the new files; a signature over the
    old manifest is removed, and `--sign-key` signs the new one.
    """
    import hashlib

    from auditor.evidence.locker import Locker
    from auditor.runner import pack_extra, render_reports, write_pack_manifest

    with _errors():
        signer = _signer(sign_key, sign_credentials, kms_endpoint)
        try:
            raw = results.read_bytes()
            document = json.loads(raw)
        except (OSError, ValueError) as err:
            raise AuditorError(f"{results}: cannot read results: {err}") from err
        out_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(raw).hexdigest()
        is_pack = (out_dir / "results.json").resolve() == results.resolve() and (out_dir / "evidence").resolve() == evidence.resolve()
        if signer is not None and not is_pack:
            raise AuditorError(f"--sign-key: {out_dir} is not the pack of {results} (only a pack's manifest is signed)")
        paths = render_reports(document, Locker(evidence).manifest, out_dir, seed=seed, results_sha256=digest)
        if is_pack:
            write_pack_manifest(out_dir, pack_extra(out_dir, digest))
            paths.append(out_dir / "SHA256SUMS")
        for path in paths:
            out.print(f"  {path.name:<32} {path}")
        if signer is not None:
            _sign(out_dir, signer)


@app.command()
def verify(pack: Path = typer.Argument(..., help="the evidence pack folder (written by `auditor run --out`)"),
           public_key: Optional[Path] = typer.Option(None, "--public-key", help="PEM public key (PREFIX.pub from `auditor keygen`, "
                                                     "or the PEM Cloud KMS getPublicKey returns): the pack must be signed by it"),
           bucket: Optional[str] = typer.Option(None, "--bucket", help="gs://BUCKET/PREFIX where the daily packs are kept: "
                                                "check each locker's timeCreated and the bucket's locked retention policy (read-only)"),
           config: Optional[Path] = typer.Option(None, "--config", "-c", help="auditor.yaml, for --bucket's credentials and endpoint")) -> None:
    """Check a pack: paths, every file's SHA-256, both manifests, the digests that link them, and its signature. Exit 0 intact, 1 tampered, 2 not a pack."""
    from auditor.verify import verify_pack

    with _errors():
        key = None
        if public_key is not None:
            from auditor.signing import load_public_key

            key = load_public_key(public_key)
        outcome = verify_pack(pack, key)
        if bucket is not None:
            from auditor.bucket_evidence import check_bucket

            check_bucket(pack, bucket, _load(config) if config is not None else None, outcome)
        for number, step in enumerate(outcome.steps, 1):
            out.print(f"{number}. {step.name:<10} {step.status:<12} {step.proves}", highlight=False, markup=False, soft_wrap=True)
            for note in step.notes:
                out.print(f"     {note}", highlight=False, markup=False, soft_wrap=True)
        if outcome.intact:
            signed = f"; signed by key {outcome.signer}" if outcome.signer else "; signature not checked (no --public-key)"
            out.print(f"intact: {outcome.files_checked} files match pack-manifest.json, SHA256SUMS and the evidence manifest{signed}",
                      highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_OK)
        for line in outcome.lines():
            out.print(line, highlight=False, markup=False, soft_wrap=True)
        console.print(f"[bold red]tampered or unverified:[/] {len(outcome.lines())} difference(s) from the pack as written, "
                      "or checks that did not hold")
        raise typer.Exit(EXIT_DRIFT)


@app.command()
def keygen(out_prefix: Path = typer.Option(..., "--out", "-o", help="PREFIX: the private key goes to PREFIX (mode 0600), the public key to PREFIX.pub")) -> None:
    """Make an Ed25519 key pair for signing packs (never overwrites)."""
    from auditor.signing import keygen as make_pair

    with _errors():
        print_fingerprint = make_pair(out_prefix)
        out.print(f"private key: {out_prefix} (readable by its owner only)", highlight=False, markup=False, soft_wrap=True)
        out.print(f"public key:  {out_prefix}.pub", highlight=False, markup=False, soft_wrap=True)
        out.print(f"fingerprint: {print_fingerprint}", highlight=False, markup=False)


@app.command()
def sign(pack: Path = typer.Argument(..., help="the evidence pack folder"),
         key: str = typer.Option(..., "--key", "-k", help="a private key file from `auditor keygen`, or gcpkms://projects/P/.../cryptoKeyVersions/N"),
         sign_credentials: str = typer.Option("application-default", "--sign-credentials", help=SIGN_CREDENTIALS_HELP),
         kms_endpoint: Optional[str] = typer.Option(None, "--kms-endpoint", help=KMS_ENDPOINT_HELP)) -> None:
    """Write PACK/pack-signature.json: a detached signature over the pack manifest (which covers every file)."""
    with _errors():
        _sign(pack, _signer(key, sign_credentials, kms_endpoint))


GATE_STYLE = {True: "bold red", False: ""}


def _gate_table(report) -> Table:
    verdict = "[green]passed[/]" if report.passed else f"[bold red]failed[/] ({len(report.failing)} failing)"
    table = Table(title=f"gate {verdict} - fails on: {', '.join(report.fail_on) or 'nothing'}")
    for column in ("", "change", "control", "resource", "what"):
        table.add_column(column, overflow="fold")
    for change in report.changes:
        mark = "[bold red]FAIL[/]" if change.failing else ("waived" if change.waived else "")
        table.add_row(mark, change.kind, change.control or "", change.resource, change.message)
    if not report.changes:
        table.add_row("", "none", "", "", "no differences from the baseline")
    return table


@app.command()
def gate(results: Path = typer.Option(..., "--results", "-r", help="the new results.json"),
         baseline: Optional[Path] = typer.Option(None, "--baseline", "-b",
                                                 help="the previous results.json; without it every finding counts as new"),
         fail_on: Optional[str] = typer.Option(None, "--fail-on",
                                               help="comma-separated kinds that fail the gate (default: new-failure,"
                                                    "new-inconclusive,expired-waiver; also 'any' or 'none')"),
         json_out: Optional[str] = typer.Option(None, "--json", help="write the gate report as JSON to this file ('-' for stdout)"),
         junit: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML: the controls plus a 'gate' suite of changes")) -> None:
    """Compare two results.json files and fail (exit 1) on drift; 2 for unreadable files or a bad --fail-on."""
    from auditor.ci import github_outputs, write_junit
    from auditor.gate import compare, load_results, parse_fail_on

    with _errors():
        kinds = parse_fail_on(fail_on)
        new = load_results(results, "new")
        old = load_results(baseline, "baseline") if baseline is not None else None
        report = compare(new, old, kinds)
        for note in report.notes:
            console.print(f"[yellow]note:[/] {note}")
        if json_out == "-":
            console.print(_gate_table(report))
            sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        else:
            out.print(_gate_table(report))
            if json_out:
                Path(json_out).write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        if junit is not None:
            write_junit(junit, new, report)
        annotations = github_outputs(new, report, os.environ)
        if annotations and json_out != "-":
            sys.stdout.write(annotations)
        elif annotations:
            sys.stderr.write(annotations)
        raise typer.Exit(EXIT_OK if report.passed else EXIT_DRIFT)


def sample_dir() -> Path:
    return Path(str(resources.files("auditor.samples") / "bangkok-solutions"))


@app.command()
def demo(out_dir: Path = typer.Option(Path("demo-out"), "--out", "-o", help="folder for the sample company's pack"),
         seed: Optional[str] = typer.Option(None, "--seed", help="the auditor's seed for the random sample (printed in the pack so anyone can redraw it)")) -> None:
    """Serve the sample company in the simulator and run the audit against it."""
    from auditor.config import load_config
    from auditor.simulator import Simulator, load_scenario

    with _errors():
        samples = sample_dir()
        config = load_config(samples / "auditor.yaml")
        with Simulator(load_scenario(samples / "scenario.yaml"), port=0) as simulator, _demo_token(config):
            console.print(f"simulator for the sample company at {simulator.url}")
            code = _run(config.for_simulator(simulator), out_dir, seed=seed)
        raise typer.Exit(code)


@contextmanager
def _demo_token(config) -> Iterator[None]:
    """The simulator wants a token like GitHub does; the demo lends a dummy one when none is set."""
    import os

    name = config.github.token_env if config.github else None
    if not name or os.environ.get(name):
        yield
        return
    os.environ[name] = "demo-token-for-the-simulator"
    try:
        yield
    finally:
        os.environ.pop(name, None)


@app.command()
def simulate(scenario: Path = typer.Option(..., "--scenario", "-s"), port: int = typer.Option(8765, "--port", "-p"),
             latency: float = typer.Option(0.0, "--latency", min=0.0, max=10.0,
                                           help="seconds added to every answer, like a remote API's round trip"),
             tls: bool = typer.Option(False, "--tls", help="serve HTTPS with a certificate made for this run; the CA "
                                                           "file to trust is printed")) -> None:
    """Serve a scenario on 127.0.0.1 until interrupted (Cloud Logging's read quota enforced)."""
    from auditor.simulator import Simulator, load_scenario

    with _errors():
        simulator = Simulator(load_scenario(scenario), port=port, latency=latency, tls=tls).start()
        out.print(f"serving {scenario} at {simulator.url} (Ctrl-C to stop)")
        if simulator.ca_file is not None:
            out.print(f"trust this CA: {simulator.ca_file}", soft_wrap=True)
            out.print(f"  export REQUESTS_CA_BUNDLE={simulator.ca_file} GIT_SSL_CAINFO={simulator.ca_file} "
                      f"SSL_CERT_FILE={simulator.ca_file}", soft_wrap=True)
        if simulator.github is not None:
            out.print(f"GitHub API at {simulator.url}/api/v3; git at {simulator.url}/ORG/REPO.git (any token)", soft_wrap=True)
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
