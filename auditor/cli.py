"""The `auditor` command: a thin shell over the library. Errors become messages and exit codes here only.

Exit codes (public contract, also in `auditor --help`): 0 done; 1 drift, a failing gate, a `--fail-on`
match or tampering; 2 usage or configuration error (before any work); 3 collection incomplete (the
pack is still written and says what is missing); 4 internal error. Precedence: 2 and 4 end the run;
otherwise 1 over 3 over 0. Exit 2 also covers an unreadable tool input and an output folder
that is taken or cannot be written (a full disk); exit 4 prints one line and the file the traceback
was saved to.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from contextlib import contextmanager
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from auditor import TOOL_NAME, __version__
from auditor.errors import AuditorError
from auditor.samples import SAMPLE_COMPANY

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
STATUS_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "not_applicable": "dim"}
FAILED_CALLS_SHOWN = 25  # past this, "and N more, all in the pack"

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 drift, a failing gate, a --fail-on match or tampering; 2 usage or "
    "configuration error (before any work); 3 collection incomplete (the pack is still written and "
    "says what is missing); 4 internal error (one line, and where the traceback was saved). "
    "Precedence: 2 and 4 end the run; otherwise 1 over 3 over 0."
)

app = typer.Typer(add_completion=True, no_args_is_help=True,
                  help="SOC 2 backup-evidence auditor for Google Cloud and GitHub.\n\n" + EXIT_CODES_HELP,
                  epilog="Example: auditor run --config auditor.yaml --out packs/2026-Q3")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _flag_metavar(original):  # a flag takes no value: typer would show its Python type, <bool>
    def display_type_rich(self, ctx):
        if getattr(self, "is_flag", False) and self.metavar is None:
            return ""
        return original(self, ctx)
    return display_type_rich


def _argument_metavar(original):  # an argument's metavar already names it; typer would add <path> beside it
    def display_type_rich(self, ctx):
        return "" if self.metavar is not None else original(self, ctx)
    return display_type_rich


typer.core.TyperOption.display_type_rich = _flag_metavar(typer.core.TyperOption.display_type_rich)  # type: ignore[method-assign]
typer.core.TyperArgument.display_type_rich = _argument_metavar(typer.core.TyperArgument.display_type_rich)  # type: ignore[method-assign]


EXIT_INTERNAL = 4
#: Exceptions that are the CLI framework's own way to end a command: passed through untouched.
_FRAMEWORK = (typer.Exit, typer.Abort, getattr(typer, "TyperException", typer.Exit), KeyboardInterrupt, SystemExit)


@contextmanager
def _errors() -> Iterator[None]:
    """The top-level handler: the auditor's own errors become their message and exit code; anything
    else is an internal error (exit 4): one line on stderr and the traceback saved to a file."""
    try:
        yield
    except AuditorError as err:
        console.print(f"[bold red]error:[/] {escape(str(err))}", markup=True, highlight=False)
        raise typer.Exit(err.exit_code) from None
    except _FRAMEWORK:
        raise
    except Exception as err:  # noqa: BLE001 - the one place every unexpected exception ends
        _internal_error(err)
        raise typer.Exit(EXIT_INTERNAL) from None


def _internal_error(err: BaseException) -> None:
    """Say in one line what went wrong and where the traceback went (a file in the temp folder)."""
    import tempfile
    import traceback

    first = (str(err).strip().splitlines() or [""])[0][:300]
    try:
        fd, name = tempfile.mkstemp(prefix="auditor-traceback-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{TOOL_NAME} {__version__}\n{' '.join(sys.argv)}\n\n")
            handle.write("".join(traceback.format_exception(type(err), err, err.__traceback__)))
        saved = f"traceback saved to {name}"
    except OSError as save_err:  # a full disk: the line still says what happened
        saved = f"the traceback could not be saved ({save_err.strerror or save_err})"
    console.print(f"[bold red]internal error:[/] {escape(type(err).__name__)}: {escape(first)}; {saved}; "
                  "please report it", markup=True, highlight=False, soft_wrap=True)


def _collection_started(evidence: Path) -> bool:
    """Whether a locker holds anything collected (a call recorded or a page stored): then it is kept,
    and `check`/`verify` name it incomplete; an empty one only says nothing was collected."""
    try:
        if (evidence / "calls.jsonl").stat().st_size > 0:
            return True
    except OSError:
        pass
    items = evidence / "items"
    return items.is_dir() and any(items.iterdir())


@contextmanager
def _no_leftovers(folder: Path) -> Iterator[None]:
    """A usage or configuration error leaves nothing behind: the output folder this command created
    goes again, unless a collection started in it (its evidence is kept whatever happens: a run that
    a full disk stopped leaves a locker `check` and `verify` name incomplete)."""
    existed = folder.exists()
    try:
        yield
    except typer.Exit as stop:
        if stop.exit_code == EXIT_USAGE and not existed and folder.is_dir() \
                and not (folder / "evidence" / "manifest.json").exists() \
                and not _collection_started(folder / "evidence"):
            shutil.rmtree(folder, ignore_errors=True)
        raise


# ---- options shared by several commands --------------------------------------------------------

class LogFormat(str, Enum):
    text = "text"
    json = "json"


def _outputs_option(default_text: str):
    return typer.Option(None, "--outputs", metavar="FORMATS",
                        help="comma-separated outputs among json, html, pdf, xlsx, csv, oscal, junit, sarif, or all "
                             f"(default: {default_text}); results.json is always written")


def _fail_on_option():
    return typer.Option(None, "--fail-on", metavar="STATUSES",
                        help="comma-separated control statuses (after waivers) that make the exit code 1: fail, "
                             "inconclusive (default: none)")


def _quiet_option():
    return typer.Option(False, "--quiet", "-q", help="show only warnings and errors (no progress, no table)")


def _verbose_option():
    return typer.Option(False, "--verbose", "-v", help="one line per API call as it ends, and each file written")


def _log_format_option():
    return typer.Option(LogFormat.text, "--log-format", case_sensitive=False,
                        help="text for people; json: one JSON object per event on stderr (call.started, call.ended, "
                             "check.done, file.written, run.done)")


def _display(quiet: bool, verbose: bool, log_format: LogFormat):
    from auditor.display import Display

    if quiet and verbose:
        from auditor.outputs import UsageError

        raise UsageError("--quiet and --verbose: choose one")
    return Display(sys.stderr, terminal=console.is_terminal, quiet=quiet, verbose=verbose,
                   log_format=LogFormat(log_format).value, rich_console=console)


STATUSES = ("fail", "inconclusive", "pass", "not_applicable")


def parse_fail_on_statuses(value: str | None) -> tuple[str, ...]:
    """`--fail-on fail,inconclusive` for run/check: statuses of controls (after waivers) that exit 1."""
    from auditor.outputs import UsageError, did_you_mean

    if value is None:
        return ()
    chosen: list[str] = []
    for word in (w.strip().lower() for w in value.split(",")):
        if not word or word == "none":
            continue
        if word not in STATUSES:
            raise UsageError(f"--fail-on: unknown status {word!r}{did_you_mean(word, STATUSES)}; "
                             f"give control statuses: {', '.join(STATUSES)} (or none)")
        chosen.append(word)
    return tuple(dict.fromkeys(chosen))


def exit_code(*, fail_on_matched: bool, incomplete: bool, tampered: bool = False) -> int:
    """The contract's precedence once work has been done: 1 over 3 over 0 (2 and 4 end the run earlier)."""
    if fail_on_matched or tampered:
        return EXIT_DRIFT
    return EXIT_INCOMPLETE if incomplete else EXIT_OK


def _fail_on_matches(results: dict, statuses: tuple[str, ...]) -> list[dict]:
    return [c for c in results["controls"] if c["effective_status"] in statuses]


def _report_fail_on(matched: list[dict], statuses: tuple[str, ...]) -> None:
    if matched:
        names = ", ".join(f"{c['id']} ({c['effective_status']})" for c in matched)
        console.print(f"[bold red]--fail-on {','.join(statuses)}:[/] {len(matched)} control(s) match: {names}",
                      highlight=False)


# ---- tables: rich on a terminal, full-width TSV in a pipe --------------------------------------

def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(str(cell).replace("\t", " ").replace("\n", " ") for cell in row) + "\n" for row in rows)


def _emit_table(target: Console, title: str, columns: list[str], rows: list[list[str]], plain_rows: list[list[str]],
                *, right: tuple[str, ...] = (), fold: bool = False) -> None:
    """A table: rich on a terminal (its full width), tab-separated values when piped (never squeezed to 80 columns)."""
    if not target.is_terminal:
        target.file.write(_tsv([columns, *plain_rows]))
        target.file.flush()
        return
    table = Table(title=title)
    for column in columns:
        if fold:
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, no_wrap=True, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    target.print(table)


def _summary(results: dict) -> None:
    """One row per control; the waiver columns appear only when a waivers file is in use."""
    title = (f"{results['organization']}: {results['period']['start']} to {results['period']['end']}, "
             f"evidence as of {results['as_of']}")
    waivers = bool(results.get("waivers"))
    columns = ["control", "status"] + (["after waivers", "waived"] if waivers else []) + ["in scope", "exceptions", "criteria"]
    rows, plain = [], []
    for control in results["controls"]:
        exceptions = sum(1 for f in control["findings"] if f["status"] in ("fail", "inconclusive"))
        waived = sum(1 for f in control["findings"] if f.get("waiver") and not f["waiver"].get("expired"))
        style = STATUS_STYLE.get(control["status"], "")
        effective = STATUS_STYLE.get(control["effective_status"], "")
        row = [control["id"], f"[{style}]{control['status']}[/]"]
        flat = [control["id"], control["status"]]
        if waivers:
            row += [f"[{effective}]{control['effective_status']}[/]", str(waived)]
            flat += [control["effective_status"], str(waived)]
        tail = [str(control["population"]["in_scope"]), str(exceptions), ",".join(control["criteria"])]
        rows.append(row + tail)
        plain.append(flat + tail)
    if not out.is_terminal:
        console.print(title, highlight=False)
    _emit_table(out, title, columns, rows, plain, right=("in scope", "exceptions", "waived"))
    summary = results.get("waivers")
    if summary:
        expired = [w for w in summary["entries"] if w["expired"] and w["waived_findings"]]
        unmatched = [w for w in summary["entries"] if not w["matched"]]
        for w in expired:
            console.print(f"[bold red]expired waiver[/] {w['ticket']} ({w['control']} {w['resource']}) expired on {w['expires']}")
        for w in unmatched:
            console.print(f"[yellow]waiver matches nothing[/] {w['ticket']} ({w['control']} {w['resource']})")


def _failed_calls(failed: list[dict], total: int, where: str) -> None:
    """Every failed call, or the first FAILED_CALLS_SHOWN and how many more (all of them are in the pack)."""
    console.print(f"[yellow]collection incomplete:[/] {len(failed)} of {total} calls failed; "
                  "the affected controls are inconclusive and the pack lists each failure.", highlight=False)
    for call in failed[:FAILED_CALLS_SHOWN]:
        error = call.get("error") or {}
        console.print(f"  {call['api']} {call['method']} {call['scope']}: {error.get('kind')} {error.get('reason') or ''}".rstrip(),
                      highlight=False, markup=False)
    if len(failed) > FAILED_CALLS_SHOWN:
        console.print(f"  and {len(failed) - FAILED_CALLS_SHOWN} more, all in the pack ({where})", highlight=False, markup=False)


def github_hints(config, failed: list[dict]) -> list[str]:
    """What to do about failed GitHub calls whose cause is usually the config."""
    from urllib.parse import urlsplit

    github = getattr(config, "github", None)
    if github is None:
        return []
    errors = [(c.get("error") or {}) for c in failed if c["api"] == "github"]
    hints = []
    parts = urlsplit(github.base_url)
    if any(e.get("http_status") == 404 for e in errors) and parts.hostname != "api.github.com" \
            and not parts.path.rstrip("/").endswith("/api/v3"):
        hints.append(f"hint: GitHub answered 404 at github.base_url {github.base_url}; GitHub Enterprise Server's REST API "
                     f"is at {parts.scheme}://{parts.netloc}/api/v3")
    if any(e.get("http_status") == 401 for e in errors):
        hints.append(f"hint: GitHub refused the token in ${github.token_env} (401); check that it is set, current and "
                     "for this GitHub host")
    return hints


def _load(config: Path, backup_root: Path | None = None):
    from auditor.config import load_config

    cfg = load_config(config)
    if backup_root is not None:
        from auditor.outputs import UsageError

        if cfg.github is None:
            raise UsageError("--backup-root: the config has no github section")
        backup = cfg.github.backup.model_copy(update={"root": backup_root.resolve()})
        cfg = cfg.model_copy(update={"github": cfg.github.model_copy(update={"backup": backup})})
    return cfg


REPLACE_HELP = "replace the evidence pack already in --out (only a pack's own files are removed)"


def _backup_root_option():
    return typer.Option(None, "--backup-root", metavar="DIR",
                        help="the local GitHub backup folder, instead of the config's github.backup.root (for CI)")


def _files(paths: list[Path], display, base: Path | None = None) -> None:
    """Where each file went: its name in the pack, then its path."""
    if display.quiet or display.json:
        return
    for path in paths:
        try:
            name = path.relative_to(base).as_posix() if base is not None else path.name
        except ValueError:
            name = path.name
        out.print(f"  {name:<32} {path}", soft_wrap=True, highlight=False)


def _run(config, out_dir: Path, display, junit: Path | None = None, seed: str | None = None,
         outputs: tuple[str, ...] | None = None, fail_on: tuple[str, ...] = (), sources: Any = None,
         replace: bool = False, signer: Any = None, since: Path | None = None) -> int:
    from auditor.outputs import DEFAULT_OUTPUTS
    from auditor.runner import run

    written: list[Path] = []

    def wrote(path: Path) -> None:
        written.append(path)
        display.file_written(path)

    try:
        with display.progress() as progress:
            outcome = run(config, out_dir, progress, seed=seed, junit=junit, outputs=outputs or DEFAULT_OUTPUTS,
                          sources=sources, written=wrote, replace=replace, since=since)
    except KeyboardInterrupt:  # a second Ctrl-C while the pack was being written
        console.print("[yellow]interrupted[/] while writing the pack: the evidence locker is marked interrupted and "
                      "the folder INCOMPLETE; results and reports may be missing (run again with --replace, or finish "
                      "the pack with `auditor report` when results.json was written).")
        return EXIT_INCOMPLETE
    display.checks_done(outcome.results)
    if not display.quiet and not display.json:
        _summary(outcome.results)
    if signer is not None:
        _sign(out_dir, signer)
        written.append(out_dir / SIGNATURE_FILE)
    extra = [junit] if junit is not None else []
    _files(written + [out_dir / "evidence/manifest.json", out_dir / "SHA256SUMS"] + extra, display, out_dir)
    for path in (out_dir / "evidence/manifest.json", out_dir / "SHA256SUMS"):
        display.file_written(path)
    failed = outcome.collection.failed_calls
    calls = len(outcome.collection.manifest["calls"])
    if outcome.collection.interrupted:
        console.print(f"[yellow]interrupted:[/] collection stopped after {calls} calls; "
                      "the evidence locker is marked interrupted and every control says what was not verified.")
    incomplete = bool(failed) or outcome.collection.interrupted
    if incomplete:
        _failed_calls(failed, calls, "evidence/manifest.json; the workbook's calls sheet")
        for hint in github_hints(config, failed):
            console.print(hint, highlight=False, markup=False)
    matched = _fail_on_matches(outcome.results, fail_on)
    _report_fail_on(matched, fail_on)
    code = exit_code(fail_on_matched=bool(matched), incomplete=incomplete)
    display.event("run.done", exit_code=code, failed_calls=len(failed), fail_on_matched=[c["id"] for c in matched])
    return code


# ---- signing ------------------------------------------------------------------------------------

SIGNATURE_FILE = "pack-signature.json"
SIGN_KEY_HELP = "sign the pack as the last step: a private key file from `auditor keygen`, or gcpkms://projects/P/.../cryptoKeyVersions/N"
SIGN_CREDENTIALS_HELP = ("the signing identity for a gcpkms:// key (not the auditing one): application-default, "
                         "anonymous (the simulator) or a service-account key file")
KMS_ENDPOINT_HELP = "Cloud KMS root URL for a gcpkms:// key (Private Service Connect, the simulator)"
SINCE_HELP = ("the previous evidence locker (or pack) this one continues; it must verify, and the audit-log queries "
              "start where its coverage ended, so a daily collection does not grow with the period (judge the quarter "
              "with `check` over the chain). Default: no shortening; the newest locker beside OUT is recorded as previous")


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
    from auditor.signing import sign_pack
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


# ---- commands ----------------------------------------------------------------------------------

@app.command(epilog="Example: auditor run --config auditor.yaml --out packs/2026-Q3 --outputs json,sarif,junit --fail-on fail")
def run(config: Path = typer.Option(..., "--config", "-c", metavar="FILE", help="the audit configuration (auditor.yaml)"),
        out_dir: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="folder for the evidence pack"),
        outputs: Optional[str] = _outputs_option("json,html,pdf,xlsx,oscal"),
        fail_on: Optional[str] = _fail_on_option(),
        junit: Optional[Path] = typer.Option(None, "--junit", metavar="FILE",
                                             help="also write JUnit XML here (one test case per control and resource)"),
        seed: Optional[str] = typer.Option(None, "--seed", metavar="TEXT",
                                           help="the auditor's seed for the random sample (printed in the pack so anyone can redraw it)"),
        backup_root: Optional[Path] = _backup_root_option(),
        replace: bool = typer.Option(False, "--replace", help=REPLACE_HELP),
        since: Optional[Path] = typer.Option(None, "--since", metavar="DIR", help=SINCE_HELP),
        sign_key: Optional[str] = typer.Option(None, "--sign-key", metavar="KEY", help=SIGN_KEY_HELP),
        sign_credentials: str = typer.Option("application-default", "--sign-credentials", metavar="SETTING", help=SIGN_CREDENTIALS_HELP),
        kms_endpoint: Optional[str] = typer.Option(None, "--kms-endpoint", metavar="URL", help=KMS_ENDPOINT_HELP),
        quiet: bool = _quiet_option(), verbose: bool = _verbose_option(),
        log_format: LogFormat = _log_format_option()) -> None:
    """Collect, check and render an evidence pack.

    Exit 0 done; 1 a --fail-on match; 2 usage or configuration error; 3 collection incomplete; 4 internal error.
    """
    from auditor.outputs import parse_outputs, sources_from_files

    with _no_leftovers(out_dir), _errors():
        display = _display(quiet, verbose, log_format)
        chosen, statuses = parse_outputs(outputs), parse_fail_on_statuses(fail_on)
        cfg = _load(config, backup_root)
        signer = _signer(sign_key, sign_credentials, kms_endpoint or (cfg.gcp.endpoints.cloudkms if cfg.gcp else None))
        sources = None
        if "sarif" in chosen:
            sources = sources_from_files(cfg.source, cfg.inventory, os.environ)
            sources.locator()  # a usage error now, before any call is made
        raise typer.Exit(_run(cfg, out_dir, display, junit, seed, chosen, statuses, sources, replace, signer=signer, since=since))


@app.command(epilog="Example: auditor collect --config auditor.yaml --out today")
def collect(config: Path = typer.Option(..., "--config", "-c", metavar="FILE", help="the audit configuration (auditor.yaml)"),
            out_dir: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="the locker is written to DIR/evidence"),
            backup_root: Optional[Path] = _backup_root_option(),
            replace: bool = typer.Option(False, "--replace", help=REPLACE_HELP),
            since: Optional[Path] = typer.Option(None, "--since", metavar="DIR", help=SINCE_HELP),
            quiet: bool = _quiet_option(), verbose: bool = _verbose_option(),
            log_format: LogFormat = _log_format_option()) -> None:
    """Collect evidence only, into OUT/evidence (check and render later with `auditor check` / `auditor report`).

    Exit 0 every call succeeded; 2 usage or configuration error; 3 some calls failed (each is listed).
    """
    from auditor.outdir import OutputFolder
    from auditor.runner import collect as do_collect

    with _no_leftovers(out_dir), _errors():
        display = _display(quiet, verbose, log_format)
        cfg = _load(config, backup_root)
        with OutputFolder(out_dir, replace=replace), display.progress() as progress:
            collection = do_collect(cfg, out_dir / "evidence", progress, since=since)
        manifest = collection.evidence_dir / "manifest.json"
        display.file_written(manifest)
        calls = len(collection.manifest["calls"])
        if not display.quiet and not display.json:
            out.print(f"evidence locker: {manifest} ({calls} calls)", highlight=False)
        if collection.interrupted:
            console.print(f"[yellow]interrupted:[/] collection stopped after {calls} calls; the locker is marked interrupted.")
        if not collection.complete:
            _failed_calls(collection.failed_calls, calls, f"{manifest}")
            for hint in github_hints(cfg, collection.failed_calls):
                console.print(hint, highlight=False, markup=False)
        code = exit_code(fail_on_matched=False, incomplete=not collection.complete)
        display.event("run.done", exit_code=code, failed_calls=len(collection.failed_calls))
        raise typer.Exit(code)


def _lockers_incomplete(lockers: list) -> list[str]:
    """The lockers whose collection had failed or interrupted calls (their controls are inconclusive: exit 3)."""
    return [str(locker.root) for locker in lockers
            if locker.manifest.get("counts", {}).get("failed_calls") or locker.manifest.get("interrupted")]


def _check_chain(lockers: list) -> None:
    """Daily lockers merged for a quarter must each continue the one before (auditor.chain)."""
    from auditor.chain import check_heads, head_of

    chain = check_heads([head_of(locker) for locker in lockers])
    for line in chain.lines:
        out.print(f"chain: {line}", highlight=False, markup=False, soft_wrap=True)
    if not chain.unbroken:
        for line in chain.breaks:
            out.print(f"chain broken: {line}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"[bold red]chain broken:[/] {len(chain.breaks)} break(s) in the chain of {len(lockers)} lockers; "
                      "nothing was evaluated")
        raise typer.Exit(EXIT_DRIFT)
    out.print(f"chain: {len(lockers)} lockers, unbroken", highlight=False, markup=False)


def _collection_incomplete(results: dict) -> bool:
    """Whether any finding rests on a call that failed, was never made, or answered with a malformed or
    partial page (its `unverified` entries name the call), as `run` reports with exit 3."""
    for control in results["controls"]:
        for finding in control["findings"]:
            for entry in (finding.get("details") or {}).get("unverified") or []:
                if isinstance(entry, dict) and (entry.get("call") or entry.get("kind") in ("interrupted", "not_collected")):
                    return True
    return False


@app.command(epilog="Example: auditor check --evidence day1/evidence --evidence day2/evidence --out q3 --outputs json,sarif --fail-on fail")
def check(evidence: list[Path] = typer.Option(..., "--evidence", "-e", metavar="DIR",
                                              help="evidence locker folder (repeat to merge daily lockers)"),
          out_dir: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="folder for results.json and the chosen outputs"),
          outputs: Optional[str] = _outputs_option("json"),
          fail_on: Optional[str] = _fail_on_option(),
          config: Optional[Path] = typer.Option(None, "--config", "-c", metavar="FILE",
                                                help="the auditor.yaml the evidence was collected with: SARIF results "
                                                     "point at its lines (the data map's come from the locker)"),
          junit: Optional[Path] = typer.Option(None, "--junit", metavar="FILE", help="also write JUnit XML here"),
          quiet: bool = _quiet_option(), verbose: bool = _verbose_option(),
          log_format: LogFormat = _log_format_option()) -> None:
    """Re-perform every check from evidence lockers alone (no config, no network) and write OUT/results.json.

    Exit 0 done; 1 a --fail-on match (or tampered evidence, or several lockers that do not form one
    unbroken chain: a gap, a fork or a re-made locker is named and nothing is evaluated); 2 a locker or
    input that cannot be read, or the locker of a run that did not finish its pack (INCOMPLETE beside
    it: a full disk stopped it); 3 a locker whose collection was incomplete.
    """
    import hashlib

    from auditor.evidence.locker import Locker
    from auditor.outdir import OutputFolder, refuse_unfinished_locker
    from auditor.outputs import parse_outputs, render, sources_from_locker
    from auditor.runner import evaluate, write_json

    with _no_leftovers(out_dir), _errors():
        display = _display(quiet, verbose, log_format)
        chosen = parse_outputs(outputs) if outputs is not None else ("json",)
        statuses = parse_fail_on_statuses(fail_on)
        lockers = [Locker(folder) for folder in evidence]
        for folder in evidence:  # a locker whose run stopped before its pack was complete is refused
            refuse_unfinished_locker(folder)
        if len(lockers) > 1:
            _check_chain(lockers)
        incomplete = _lockers_incomplete(lockers)
        newest = max(lockers, key=lambda locker: locker.as_of)
        sources = sources_from_locker(newest, config, os.environ) if "sarif" in chosen else None
        if sources is not None:
            sources.locator()  # a usage error now, before any work
        results = evaluate(evidence)
        if _collection_incomplete(results) and not incomplete:  # a malformed or partial page: exit 3, never 2
            incomplete = ["the evidence (a malformed or partial answer)"]
        with OutputFolder(out_dir, fresh=False):
            write_json(out_dir / "results.json", results)
            display.file_written(out_dir / "results.json")
            display.checks_done(results)
            digest = hashlib.sha256((out_dir / "results.json").read_bytes()).hexdigest()
            paths = [out_dir / "results.json"] + render(results, newest.manifest, out_dir, chosen, results_sha256=digest,
                                                        sources=sources, written=display.file_written)
        if junit is not None:
            from auditor.ci import write_junit

            write_junit(junit, results)
            display.file_written(junit)
            paths.append(junit)
        if not display.quiet and not display.json:
            _summary(results)
        _files(paths, display)
        for folder in incomplete:
            console.print(f"[yellow]collection incomplete:[/] {folder} holds failed or interrupted calls; "
                          "the affected controls are inconclusive", highlight=False)
        matched = _fail_on_matches(results, statuses)
        _report_fail_on(matched, statuses)
        code = exit_code(fail_on_matched=bool(matched), incomplete=bool(incomplete))
        display.event("run.done", exit_code=code, fail_on_matched=[c["id"] for c in matched])
        raise typer.Exit(code)


@app.command(epilog="Example: auditor report --results pack/results.json --evidence pack/evidence --out pack --outputs pdf,csv")
def report(results: Path = typer.Option(..., "--results", "-r", metavar="FILE", help="the results.json to render"),
           evidence: Path = typer.Option(..., "--evidence", "-e", metavar="DIR", help="the evidence locker those results came from"),
           out_dir: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="folder for the rendered files"),
           outputs: Optional[str] = _outputs_option("html,pdf,xlsx,oscal"),
           config: Optional[Path] = typer.Option(None, "--config", "-c", metavar="FILE",
                                                 help="the auditor.yaml the evidence was collected with (for SARIF locations)"),
           seed: Optional[str] = typer.Option(None, "--seed", metavar="TEXT",
                                              help="the auditor's seed for the random sample (printed in the pack so anyone can redraw it)"),
           sign_key: Optional[str] = typer.Option(None, "--sign-key", metavar="KEY", help=SIGN_KEY_HELP),
           sign_credentials: str = typer.Option("application-default", "--sign-credentials", metavar="SETTING", help=SIGN_CREDENTIALS_HELP),
           kms_endpoint: Optional[str] = typer.Option(None, "--kms-endpoint", metavar="URL", help=KMS_ENDPOINT_HELP),
           quiet: bool = _quiet_option(), verbose: bool = _verbose_option(),
           log_format: LogFormat = _log_format_option()) -> None:
    """Render the report, workbook, OSCAL results and the auditor's sample from a results.json and its evidence locker.

    When OUT is the pack itself (it holds that results.json and evidence/), the pack manifest and
    SHA256SUMS are written again, last, so `auditor verify` covers the new files; a signature over the
    old manifest is removed, and `--sign-key` signs the new one.
    Exit 0 done; 1 --sign-key on a pack that does not verify; 2 a file that cannot be read.
    """
    import hashlib

    from auditor import reading
    from auditor.evidence.locker import Locker
    from auditor.outdir import OutputFolder
    from auditor.outputs import DEFAULT_OUTPUTS, parse_outputs, render, sources_from_locker
    from auditor.runner import pack_extra, write_pack_manifest

    with _no_leftovers(out_dir), _errors():
        display = _display(quiet, verbose, log_format)
        signer = _signer(sign_key, sign_credentials, kms_endpoint)
        chosen = tuple(f for f in (parse_outputs(outputs) if outputs is not None else DEFAULT_OUTPUTS) if f != "json")
        raw, document = reading.read_json(results, "results", error=AuditorError)
        _valid_results(results, document)
        locker = Locker(evidence)
        sources = sources_from_locker(locker, config, os.environ) if "sarif" in chosen else None
        digest = hashlib.sha256(raw).hexdigest()
        is_pack = (out_dir / "results.json").resolve() == results.resolve() and (out_dir / "evidence").resolve() == evidence.resolve()
        if signer is not None and not is_pack:
            raise AuditorError(f"--sign-key: {out_dir} is not the pack of {results} (only a pack's manifest is signed)")
        with OutputFolder(out_dir, fresh=False, claims=is_pack):
            paths = render(document, locker.manifest, out_dir, chosen, seed=seed, results_sha256=digest, sources=sources,
                           written=display.file_written)
            if is_pack:
                write_pack_manifest(out_dir, pack_extra(out_dir, digest))
                paths.append(out_dir / "SHA256SUMS")
                display.file_written(out_dir / "SHA256SUMS")
        if signer is not None:
            _sign(out_dir, signer)
            paths.append(out_dir / SIGNATURE_FILE)
        _files(paths, display)


def _valid_results(path: Path, document) -> None:
    """A results.json handed to `report` is a tool input: schema errors are exit 2, not a traceback."""
    import jsonschema

    from auditor.results import validate_results

    try:
        validate_results(document)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise AuditorError(f"{path}: not a valid results document at {where}: {err.message[:300]}") from err


@app.command(epilog="Example: auditor verify packs/2026-Q3 --public-key keys/packs.pub")
def verify(pack: Path = typer.Argument(..., metavar="PACK", help="the evidence pack folder (written by `auditor run --out`)"),
           public_key: Optional[Path] = typer.Option(None, "--public-key", metavar="FILE",
                                                     help="PEM public key (PREFIX.pub from `auditor keygen`, or the PEM Cloud KMS "
                                                          "getPublicKey returns): the pack must be signed by it"),
           bucket: Optional[str] = typer.Option(None, "--bucket", metavar="URL",
                                                help="gs://BUCKET/PREFIX where the daily packs are kept: check each locker's "
                                                     "timeCreated and the bucket's locked retention policy (read-only)"),
           config: Optional[Path] = typer.Option(None, "--config", "-c", metavar="FILE",
                                                 help="auditor.yaml, for --bucket's credentials and endpoint")) -> None:
    """Check a pack step by step: paths, every file's SHA-256, both manifests, the digests that link them, its signature.

    Exit 0 intact; 1 tampered, or a signature or bucket check that does not hold; 2 not a pack.
    """
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


@app.command(epilog="Example: auditor keygen --out keys/packs")
def keygen(out_prefix: Path = typer.Option(..., "--out", "-o", metavar="PREFIX",
                                           help="the private key goes to PREFIX (mode 0600), the public key to PREFIX.pub")) -> None:
    """Make an Ed25519 key pair for signing packs (never overwrites). Exit 0 done; 2 a file exists or cannot be written."""
    from auditor.signing import keygen as make_pair

    with _errors():
        print_fingerprint = make_pair(out_prefix)
        out.print(f"private key: {out_prefix} (readable by its owner only)", highlight=False, markup=False, soft_wrap=True)
        out.print(f"public key:  {out_prefix}.pub", highlight=False, markup=False, soft_wrap=True)
        out.print(f"fingerprint: {print_fingerprint}", highlight=False, markup=False)


@app.command(epilog="Example: auditor sign packs/2026-Q3 --key keys/packs")
def sign(pack: Path = typer.Argument(..., metavar="PACK", help="the evidence pack folder"),
         key: str = typer.Option(..., "--key", "-k", metavar="KEY",
                                 help="a private key file from `auditor keygen`, or gcpkms://projects/P/.../cryptoKeyVersions/N"),
         sign_credentials: str = typer.Option("application-default", "--sign-credentials", metavar="SETTING", help=SIGN_CREDENTIALS_HELP),
         kms_endpoint: Optional[str] = typer.Option(None, "--kms-endpoint", metavar="URL", help=KMS_ENDPOINT_HELP)) -> None:
    """Write PACK/pack-signature.json: a detached signature over the pack manifest (which covers every file).

    Exit 0 signed; 1 the pack does not verify (nothing is signed); 2 a key or pack that cannot be used.
    """
    with _errors():
        _sign(pack, _signer(key, sign_credentials, kms_endpoint))


def _gate_table(report, target: Console) -> None:
    verdict = "passed" if report.passed else f"failed ({len(report.failing)} failing)"
    styled = "[green]passed[/]" if report.passed else f"[bold red]failed[/] ({len(report.failing)} failing)"
    title = f"gate {styled} - fails on: {', '.join(report.fail_on) or 'nothing'}"
    columns = ["", "change", "control", "resource", "what"]
    rows, plain = [], []
    for change in report.changes:
        mark = "FAIL" if change.failing else ("waived" if change.waived else "")
        rows.append(["[bold red]FAIL[/]" if change.failing else mark, change.kind, change.control or "", change.resource, change.message])
        plain.append([mark, change.kind, change.control or "", change.resource, change.message])
    if not report.changes:
        rows.append(["", "none", "", "", "no differences from the baseline"])
        plain.append(["", "none", "", "", "no differences from the baseline"])
    if not target.is_terminal:  # the verdict goes to stderr; stdout keeps one change a line
        console.print(f"gate {verdict} - fails on: {', '.join(report.fail_on) or 'nothing'}", highlight=False, markup=False)
        columns[0] = "mark"
    _emit_table(target, title, columns, rows, plain, fold=True)


@app.command(epilog="Example: auditor gate --results today/results.json --baseline yesterday/results.json --json gate.json")
def gate(results: Path = typer.Option(..., "--results", "-r", metavar="FILE", help="the new results.json"),
         baseline: Optional[Path] = typer.Option(None, "--baseline", "-b", metavar="FILE",
                                                 help="the previous results.json; without it every finding counts as new"),
         fail_on: Optional[str] = typer.Option(None, "--fail-on", metavar="KINDS",
                                               help="comma-separated kinds that fail the gate (default: new-failure,"
                                                    "new-inconclusive,expired-waiver; also 'any' or 'none')"),
         json_out: Optional[str] = typer.Option(None, "--json", metavar="FILE",
                                                help="write the gate report as JSON to this file ('-' for stdout)"),
         junit: Optional[Path] = typer.Option(None, "--junit", metavar="FILE",
                                              help="write JUnit XML: the controls plus a 'gate' suite of changes")) -> None:
    """Compare two results.json files and fail (exit 1) on drift; 2 for unreadable files or a bad --fail-on.

    On a terminal the changes are a table; in a pipe, tab-separated values (one change a line, full width).
    """
    from auditor.ci import github_outputs, write_junit
    from auditor.gate import compare, parse_fail_on, read_results

    with _errors():
        kinds = parse_fail_on(fail_on)
        new, new_schema = read_results(results, "new")
        old, old_schema = read_results(baseline, "baseline") if baseline is not None else (None, None)
        report = compare(new, old, kinds, read_as={"new": new_schema, **({"baseline": old_schema} if old_schema else {})})
        for note in report.notes:
            console.print(f"[yellow]note:[/] {note}")
        if json_out == "-":
            _gate_table(report, console)
            sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        else:
            _gate_table(report, out)
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
    return Path(str(resources.files("auditor.samples") / SAMPLE_COMPANY))


@app.command(epilog="Example: auditor demo --out demo-out")
def demo(out_dir: Path = typer.Option(Path("demo-out"), "--out", "-o", metavar="DIR", help="folder for the sample company's pack"),
         outputs: Optional[str] = _outputs_option("json,html,pdf,xlsx,oscal"),
         fail_on: Optional[str] = _fail_on_option(),
         seed: Optional[str] = typer.Option(None, "--seed", metavar="TEXT",
                                            help="the auditor's seed for the random sample (printed in the pack so anyone can redraw it)"),
         replace: bool = typer.Option(False, "--replace", help=REPLACE_HELP),
         quiet: bool = _quiet_option(), verbose: bool = _verbose_option(),
         log_format: LogFormat = _log_format_option()) -> None:
    """Serve the sample company in the simulator and run the audit against it.

    Exits 3 on purpose: the sample company denies the auditor one project and disables an API in another.
    """
    from auditor.config import load_config
    from auditor.outputs import parse_outputs, sources_from_files
    from auditor.simulator import Simulator, load_scenario

    with _errors():
        display = _display(quiet, verbose, log_format)
        chosen, statuses = parse_outputs(outputs), parse_fail_on_statuses(fail_on)
        samples = sample_dir()
        config = load_config(samples / "auditor.yaml")
        sources = sources_from_files(config.source, config.inventory, os.environ) if "sarif" in chosen else None
        with Simulator(load_scenario(samples / "scenario.yaml"), port=0) as simulator, _demo_token(config):
            display.info(f"simulator for the sample company at {simulator.url}")
            code = _run(config.for_simulator(simulator), out_dir, display, seed=seed, outputs=chosen, fail_on=statuses,
                        sources=sources, replace=replace)
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


@app.command(epilog=f"Example: auditor simulate --scenario samples/{SAMPLE_COMPANY}/scenario.yaml --port 8765")
def simulate(scenario: Path = typer.Option(..., "--scenario", "-s", metavar="FILE", help="the scenario to serve (YAML)"),
             port: int = typer.Option(8765, "--port", "-p", metavar="PORT", help="port on 127.0.0.1 (0: any free port)"),
             latency: float = typer.Option(0.0, "--latency", min=0.0, max=10.0, metavar="SECONDS",
                                           help="seconds added to every answer, like a remote API's round trip"),
             tls: bool = typer.Option(False, "--tls", help="serve HTTPS with a certificate made for this run; the CA "
                                                           "file to trust is printed")) -> None:
    """Serve a scenario on 127.0.0.1 until interrupted (Cloud Logging's read quota enforced)."""
    from auditor.simulator import Simulator, load_scenario

    with _errors():
        simulator = Simulator(load_scenario(scenario), port=port, latency=latency, tls=tls)
        # Ctrl-C is a clean stop from the moment it serves (start() serves in the background before the lines
        # below are printed, so an interrupt while printing them must stop it too, and remove its git repositories)
        try:
            simulator.start()
            out.print(f"serving {scenario} at {simulator.url} (Ctrl-C to stop)")
            if simulator.ca_file is not None:
                out.print(f"trust this CA: {simulator.ca_file}", soft_wrap=True)
                out.print(f"  export REQUESTS_CA_BUNDLE={simulator.ca_file} GIT_SSL_CAINFO={simulator.ca_file} "
                          f"SSL_CERT_FILE={simulator.ca_file}", soft_wrap=True)
            if simulator.github is not None:
                out.print(f"GitHub API at {simulator.url}/api/v3; git at {simulator.url}/ORG/REPO.git (any token)", soft_wrap=True)
            simulator.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()


@app.command("checks", epilog="Example: auditor checks")
def list_checks() -> None:
    """List the checks this installation runs (a table on a terminal, tab-separated in a pipe)."""
    from auditor.checks_api import discover_checks

    with _errors():
        rows = [[item.id, ", ".join(item.criteria), item.title + (" (beyond the written policy)" if item.beyond_policy else "")]
                for item in discover_checks()]
        _emit_table(out, "", ["id", "criteria", "title"], rows, rows, fold=True)


@app.command(epilog="Example: auditor validate --config auditor.yaml --online")
def validate(config: Path = typer.Option(..., "--config", "-c", metavar="FILE", help="the audit configuration (auditor.yaml)"),
             online: bool = typer.Option(False, "--online",
                                         help="also call each API once: is it enabled, may the identity read it, "
                                              "and which permission or service is missing")) -> None:
    """Check a config and the files it names (data map, waivers, responses): every error at once, with file:line.

    Exit 0 valid (and, with --online, everything readable); 2 any error or anything missing.
    """
    from auditor.validate import validate_offline, validate_online

    with _errors():
        report, cfg = validate_offline(config)
        if online and cfg is not None and not report.errors:
            validate_online(cfg, report)
        for line in report.checked:
            out.print(f"ok: {line}", highlight=False, markup=False)
        for line in report.reachable:
            out.print(f"ok: {line}", highlight=False, markup=False)
        for line in report.errors:
            console.print(f"error: {line}", highlight=False, markup=False)
        for line in report.missing:
            console.print(f"missing: {line}", highlight=False, markup=False)
        if not report.ok:
            console.print(f"[bold red]{len(report.errors)} error(s), {len(report.missing)} missing[/]")
        raise typer.Exit(EXIT_OK if report.ok else EXIT_USAGE)


@app.command(epilog="Example: auditor roles > auditor-role.yaml && "
                    "gcloud iam roles create soc2BackupAuditor --organization=ORGANIZATION_ID --file=auditor-role.yaml")
def roles() -> None:
    """Print a custom read-only IAM role with exactly the permissions the collectors' calls need (YAML for gcloud)."""
    from auditor.permissions import role_yaml

    sys.stdout.write(role_yaml())


@app.callback(invoke_without_command=True)
def _version(version: bool = typer.Option(False, "--version", help="print the version and exit")) -> None:
    if version:
        out.print(f"{TOOL_NAME} {__version__}")
        raise typer.Exit(0)


def main() -> None:
    try:
        app()
    except Exception as err:  # noqa: BLE001 - raised outside a command's handler (option parsing, callbacks)
        _internal_error(err)
        sys.exit(EXIT_INTERNAL)
