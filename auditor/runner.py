"""The pipeline: collect -> locker -> facts -> checks -> results -> reports -> pack manifest.

Collection is the only stage with network I/O. Everything after it reads the locker alone, so
`auditor check --evidence DIR` re-performs an old run and gets identical results.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from auditor import TOOL_NAME, __version__, unverified
from auditor.checks_api import CheckContext, discover_checks
from auditor.collectors import CollectContext, plan
from auditor.collectors.google import GoogleClients, load_credentials
from auditor.config import Config, clause_of, config_from_snapshot, located as config_located
from auditor.coverage import coverage_matrix
from auditor.errors import ConfigError, EvidenceError
from auditor.evidence.locker import Locker, LockerWriter, atomic_write, iso, utc_now
from auditor.facts import build_facts
from auditor.gcpause import paused_gc
from auditor.period import Period
from auditor.results import NOT_APPLICABLE, SCHEMA_ID, control_status, effective_status, validate_results
from auditor.scheduler import Progress, Scheduler
from auditor import day_evidence, iam, locker_days, outdir, period_basis, provenance, register, reliance, responses, sources, thresholds, waivers
from auditor.evidence import stored_inputs

PACK_MANIFEST = "pack-manifest.json"
SUMS = "SHA256SUMS"
WORKBOOK = "workbook.xlsx"
OSCAL = "oscal-assessment-results.json"
OSCAL_PLAN = "oscal-assessment-plan.json"
SAMPLES = "samples.json"


@dataclass(frozen=True)
class Collection:
    evidence_dir: Path
    manifest: dict[str, Any]

    @property
    def complete(self) -> bool:
        return self.manifest["counts"]["failed_calls"] == 0 and not self.interrupted

    @property
    def interrupted(self) -> bool:
        return bool(self.manifest.get("interrupted"))

    @property
    def failed_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.manifest["calls"] if c["outcome"] != "ok"]


def collect(config: Config, evidence_dir: Path, progress: Progress | None = None, *, serial: bool = False,
            since: Path | None = None) -> Collection:
    """Run every collector's calls through the scheduler into a new locker (`serial`: one call at a
    time, the benchmark's baseline; otherwise `collection.parallelism` per API). The locker records
    the one it continues (`since`, or the newest beside it: auditor.chain); with `since` its audit-log
    queries start where that locker's coverage ended (auditor.log_chain)."""
    try:
        return _collect(config, evidence_dir, progress, serial=serial, since=since)
    except ConfigError as err:  # "gcp.credentials: ..." from a collector: the config file and line in front
        located = config_located(config, err)
        if located is err:
            raise
        raise located from err


def _collect(config: Config, evidence_dir: Path, progress: Progress | None, *, serial: bool, since: Path | None) -> Collection:
    from auditor.chain import previous_for
    from auditor.log_chain import continue_from

    # --since: the previous locker verifies first, and the audit-log queries start where it left off
    log_chain = continue_from(since, config.organization) if since is not None else None
    previous = log_chain.link if log_chain is not None else previous_for(evidence_dir, config.organization, None)
    google = bool(config.gcp.projects or config.gcp.organization or config.gcp.folders)
    if not google and not (config.github and config.github.organizations):
        raise ConfigError("gcp: give an organization, folders or projects to audit "
                          "(or github.organizations for a source-code-only audit)")
    # a source-code-only audit never calls Google, so it needs (and looks for) no Google credentials
    credentials, identity = load_credentials(config.gcp.credentials if google else "anonymous")
    clients = GoogleClients(config.gcp, credentials)
    ctx = CollectContext(config=config, period=Period.from_config(config.period), google=clients, log_chain=log_chain)
    principal = provenance.gcp_principal(credentials, config.gcp.credentials) if google else None
    identities = {"gcp": (principal or {}).get("email") or identity} if google else {}
    if config.github is not None:
        from auditor.collectors.github import identity as github_identity

        identities["github"] = github_identity(config.github)  # the name of the variable or the App, never a secret
        identities["git"] = f"local user {getpass.getuser()}"
    inputs = {"waivers": waivers.snapshot(config.waivers)} if config.waivers else {}
    if config.responses:
        inputs["responses"] = responses.snapshot(config.responses)
    inputs = inputs or None
    if config.inventory is not None:  # a bad data map is exit 2 before the locker exists, not a half locker
        from auditor.inventory import load_inventory

        load_inventory(config.inventory)
    # the first wave is described before the locker exists: a missing token or key is a usage error
    # that leaves no half-made locker behind
    first_wave = plan(ctx)
    record = provenance.at_collection(config, principal)
    locker = LockerWriter(evidence_dir, config_snapshot=config.snapshot(), identity=identities, inputs=inputs,
                          provenance=record, previous=previous)
    interrupted = False
    stop = threading.Event()
    try:
        with flagging_interrupts(stop):
            Scheduler(locker, progress, config.collection, serial=serial, stop=stop).run(first_wave)
    except KeyboardInterrupt:  # Ctrl-C: stop calling, keep what came, and say so in the manifest
        interrupted = True
    except BaseException:  # a failed write (a full disk) or a bug: no manifest, so the locker reads as unfinished
        locker.abandon()
        raise
    with ignoring_interrupts():
        return Collection(evidence_dir, locker.close(interrupted=interrupted))


@contextmanager
def flagging_interrupts(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C sets `stop` as well as raising KeyboardInterrupt: Python drops an exception raised while
    a finalizer runs ("Exception ignored in ..."), and the scheduler's flag check must still see it."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def ignoring_interrupts() -> Iterator[None]:
    """A second Ctrl-C must not cut the manifest in half (SIGINT is ignored while it is written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def evaluate(evidence_dirs: list[Path]) -> dict[str, Any]:
    """Re-perform every check from lockers alone; returns the results document."""
    with paused_gc():  # millions of long-lived, acyclic objects: see auditor.gcpause
        return _evaluate(evidence_dirs)


def _evaluate(evidence_dirs: list[Path]) -> dict[str, Any]:
    if not evidence_dirs:
        raise EvidenceError("no evidence locker given")
    lockers = sorted((Locker(d) for d in evidence_dirs), key=lambda locker: locker.as_of)
    for locker in lockers:  # the tool's own stored inputs must parse: exit 2 naming the item, never a fallback
        stored_inputs.check(locker)
    newest = lockers[-1]  # merged daily lockers: the newest configuration and waivers apply
    config = config_from_snapshot(newest.manifest["config"])
    period = Period.from_config(config.period)
    facts = build_facts(lockers)
    stored = tuple((locker.as_of, locker.manifest["locker_id"], config_from_snapshot(locker.manifest["config"]))
                   for locker in lockers[:-1]) + ((newest.as_of, newest.manifest["locker_id"], config),)
    ctx = CheckContext(config=config, period=period, as_of=facts.as_of, inventory=facts.stores.inventory,
                       inventory_problem=inventory_problem(config, facts), configs=stored)
    checks = discover_checks()
    stopped = [locker.manifest["locker_id"] for locker in lockers if locker.manifest.get("interrupted")]
    # each check sees only the facts it declared (auditor.facts.model.FactsView)
    by_locker = _LockerDays(lockers, facts, ctx, checks)  # checks with no history source: each day's own locker
    findings = {check.id: unverified.complete(check, by_locker.judge(check, check.evaluate(facts.view(check.needs), ctx)),
                                              facts, stopped)
                for check in checks}
    evidence_by_day: dict[str, Any] = {}  # one resource's days' evidence, shared by every check that judges it
    for check in checks:  # a sampled day must name that day's own evidence (auditor.day_evidence)
        day_evidence.attach(findings[check.id], facts, period, evidence_by_day)
    permission_tests = iam.summary(lockers)  # what the identity held (testIamPermissions), for the provenance
    iam.annotate(findings, permission_tests, facts.coverage.gaps)  # a denied call's findings name the permission it needs
    stored_waivers = newest.manifest.get("inputs", {}).get("waivers")
    waiver_summary = None
    if stored_waivers:
        waiver_summary = waivers.apply(waivers.from_snapshot(stored_waivers), findings, period.day_of(facts.as_of))
    controls = [_control(check, findings[check.id], config) for check in checks]
    document = {
        "schema": SCHEMA_ID,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "organization": config.organization,
        "period": period.as_dict(),
        "as_of": iso(facts.as_of.replace(microsecond=0)),
        "generated_at": iso(utc_now().replace(microsecond=0)),
        "lockers": [sources.locker_entry(locker) for locker in lockers],
        "provenance": provenance.for_results(lockers, permission_tests),
        "controls": controls,
    }
    for control in controls:  # how the period was covered, said plainly (auditor.period_basis)
        control["coverage"] = period_basis.coverage(control, document["lockers"], document["period"], document["as_of"])
    if waiver_summary is not None:
        document["waivers"] = waiver_summary
    info = register.resource_info(facts, ctx)
    document["resources"] = {r: info[r] for r in sorted({f["resource"] for c in controls for f in c["findings"]}) if r in info}
    document["exceptions"] = register.build(controls, lockers, info, period.day_of(facts.as_of))
    stored_responses = newest.manifest.get("inputs", {}).get("responses")
    if stored_responses:
        document["exceptions"]["responses"] = responses.attach(responses.from_snapshot(stored_responses), document["exceptions"]["entries"],
                                                 period.day_of(facts.as_of))
    document["reliance"] = reliance.statement(lockers)
    if config.policy.promises:
        document["policy_coverage"] = coverage_matrix(config.policy.promises, controls)
    validate_results(document)
    return document


class _LockerDays:
    """Each locker's own facts (only what the day-by-day checks need) and context (its stored configuration, the
    audit period, its own evidence time), built on first use and shared by every check judged from them."""

    def __init__(self, lockers: list[Locker], facts: Any, ctx: CheckContext, checks: list[Any]) -> None:
        self.lockers, self.facts, self.ctx, self.checks = lockers, facts, ctx, checks
        self._built: list[tuple[Any, CheckContext]] | None = None

    def each(self) -> list[tuple[Locker, Any, CheckContext]]:
        if self._built is None:
            if len(self.lockers) == 1:  # one locker: its own facts are the merged ones
                self._built = [(self.facts, self.ctx)]
            else:
                from auditor.facts.build import underlying

                needed = set().union(*(underlying(c.needs) for c in self.checks if c.days_from == locker_days.DAILY))
                self._built = []
                for locker in self.lockers:
                    day_facts = build_facts([locker], only=needed)
                    day_config = config_from_snapshot(locker.manifest["config"])
                    self._built.append((day_facts, CheckContext(config=day_config, period=self.ctx.period,
                                                                as_of=day_facts.as_of)))
        return [(locker, f, c) for locker, (f, c) in zip(self.lockers, self._built)]

    def judge(self, check: Any, found: list[Any]) -> list[Any]:
        """A check with no history source (`days_from == "lockers"`) judged from each day's own locker, with
        the configuration that locker stored (auditor.locker_days); any other check's findings as they are."""
        if check.days_from != locker_days.DAILY:
            return found
        single = len(self.lockers) == 1
        days = [locker_days.LockerDay(locker.as_of, locker.manifest["locker_id"],
                                      found if single else check.evaluate(day_facts.view(check.needs), day_ctx))
                for locker, day_facts, day_ctx in self.each()]
        return locker_days.judge(found, days, self.ctx.period, self.facts.as_of)


def inventory_problem(config: Config, facts: Any) -> str | None:
    """Why a configured data map is not in the facts (None when it is, or when none is configured)."""
    if config.inventory is None or facts.stores.inventory is not None:
        return None
    return facts.stores.inventory_problem or "the declared inventory was not read from the evidence"


def _control(check, findings, config: Config) -> dict[str, Any]:
    findings = sorted(findings, key=lambda f: f.id)
    declared_empty = check.id in config.policy.empty_populations
    status = control_status(findings, population_declared_empty=declared_empty)
    not_applicable = sum(1 for f in findings if f.status == NOT_APPLICABLE)
    extra: dict[str, Any] = {}
    if declared_empty and status == NOT_APPLICABLE and len(findings) == not_applicable:
        extra["not_applicable_reason"] = "the configuration declares this population empty (policy.empty_populations)"
    return {
        "id": check.id,
        "title": check.title,
        "description": check.description,
        "criteria": list(check.criteria),
        **_clause(check, config),
        "beyond_policy": check.beyond_policy,
        "status": status,
        "effective_status": effective_status(findings, status),
        "population": {"total": len(findings), "in_scope": len(findings) - not_applicable, "not_applicable": not_applicable,
                       **({"declared_empty": True} if declared_empty else {})},
        "findings": [_traced(f.as_dict()) for f in findings],
        "frequency": {"declared": "annually" if check.frequency == "annual" else check.frequency, "source": None},
        **extra,
    }


def _traced(finding: dict[str, Any]) -> dict[str, Any]:
    keys = thresholds.config_keys(finding)
    if keys:
        finding["expected_from"] = keys
    return finding


NO_CLAUSE = "no clause quoted"


def _clause(check, config: Config) -> dict[str, Any]:
    """The company's words for a check, from the configuration only; with none, the control says so."""
    clause = clause_of(config.policy, check.id)
    if clause is not None and clause.text:
        where = None
        if clause.source:
            lines = clause.lines or ((clause.line, clause.line) if clause.line else None)
            where = clause.source + (f", line {lines[0]}" if lines and lines[0] == lines[1] else
                                     f", lines {lines[0]}-{lines[1]}" if lines else "")
        return {"policy_clause": clause.text, "policy_quote": {"text": clause.text, "source": where or "policy.clauses in the configuration",
                                                               "config_key": f"policy.clauses.{check.id}"}}
    if check.policy_clause:  # a third-party check's own metadata: shown, but not as the policy's words
        return {"policy_clause": check.policy_clause, "policy_quote": None}
    return {"policy_clause": NO_CLAUSE, "policy_quote": None}


def write_json(path: Path, document: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(document, indent=2, sort_keys=False) + "\n").encode())


def render_reports(results: dict[str, Any], manifest: dict[str, Any], out_dir: Path, *, seed: str | None = None,
                   results_sha256: str | None = None, outputs: tuple[str, ...] | None = None,
                   sources: Any = None, written: Any = None) -> list[Path]:
    """Everything a person or a tool reads, from results and the evidence manifest alone (the formats
    of `outputs`, default those of auditor.outputs.DEFAULT_OUTPUTS; see auditor.outputs).

    The auditor's sample is drawn here (seeded by ``seed``; sizes from the locker's configuration) and
    written to samples.json; the report's cover carries ``results_sha256`` (results.json as written).
    """
    from auditor import outputs as formats

    return formats.render(results, manifest, out_dir, outputs or formats.DEFAULT_OUTPUTS, seed=seed,
                          results_sha256=results_sha256, sources=sources, written=written)


def write_pack_manifest(out_dir: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Last step of a run: hash every file of the pack, into pack-manifest.json and SHA256SUMS."""
    from auditor.signing import SIGNATURE_FILE

    # A signature over the previous manifest no longer vouches for anything: it goes, and `--sign-key`
    # (auditor.signing.sign_pack) signs the new manifest after this.
    (out_dir / SIGNATURE_FILE).unlink(missing_ok=True)
    files = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()
                       and p.relative_to(out_dir).as_posix() not in (PACK_MANIFEST, SUMS, outdir.UNFINISHED)
                       and p.name != outdir.LOCK_FILE and not outdir.is_temporary(p.name)):
        data = path.read_bytes()
        files.append({"path": path.relative_to(out_dir).as_posix(), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest = {"schema": "auditor.pack/v1", "tool": {"name": TOOL_NAME, "version": __version__},
                "created_at": iso(utc_now()), **(extra or {}), "files": files}
    write_json(out_dir / PACK_MANIFEST, manifest)
    pack_sha = hashlib.sha256((out_dir / PACK_MANIFEST).read_bytes()).hexdigest()
    lines = [f"{f['sha256']}  {f['path']}" for f in files] + [f"{pack_sha}  {PACK_MANIFEST}"]
    atomic_write(out_dir / SUMS, ("\n".join(lines) + "\n").encode())
    return manifest


def pack_extra(out_dir: Path, results_sha256: str) -> dict[str, Any]:
    """What the pack manifest records beside the file list: the digest the report prints and the sample seed."""
    samples = json.loads((out_dir / SAMPLES).read_text()) if (out_dir / SAMPLES).is_file() else {}
    return {"results_sha256": results_sha256, "sample_seed": samples.get("seed"), "sample_seed_source": samples.get("seed_source")}


@dataclass(frozen=True)
class RunOutcome:
    collection: Collection
    results: dict[str, Any]
    out_dir: Path


def run(config: Config, out_dir: Path, progress: Progress | None = None, seed: str | None = None,
        junit: Path | None = None, *, outputs: tuple[str, ...] | None = None, sources: Any = None,
        written: Any = None, replace: bool = False, since: Path | None = None) -> RunOutcome:
    """The whole pipeline. Every file of the pack (a JUnit file inside it too) is written before the
    pack manifest, which comes last so that `auditor verify` covers everything.

    The folder is taken for the run (auditor.outdir): empty or absent, or a pack replaced only when
    `replace`; a second run into it refuses; a failed run leaves no temporary file and no pack manifest."""
    with outdir.OutputFolder(out_dir, replace=replace):
        return _run(config, out_dir, progress, seed, junit, outputs, sources, written, since)


def _run(config: Config, out_dir: Path, progress: Progress | None, seed: str | None, junit: Path | None,
         outputs: tuple[str, ...] | None, sources: Any, written: Any, since: Path | None = None) -> RunOutcome:
    collection = collect(config, out_dir / "evidence", progress, since=since)
    results = evaluate([collection.evidence_dir])
    write_json(out_dir / "results.json", results)
    if written is not None:
        written(out_dir / "results.json")
    results_sha256 = hashlib.sha256((out_dir / "results.json").read_bytes()).hexdigest()
    render_reports(results, collection.manifest, out_dir, seed=seed, results_sha256=results_sha256,
                   outputs=outputs, sources=sources, written=written)
    if junit is not None:
        from auditor.ci import write_junit

        write_junit(junit, results)
    write_pack_manifest(out_dir, pack_extra(out_dir, results_sha256))
    return RunOutcome(collection, results, out_dir)
