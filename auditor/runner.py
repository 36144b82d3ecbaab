"""The pipeline: collect -> locker -> facts -> checks -> results -> reports -> pack manifest.

Collection is the only stage with network I/O. Everything after it reads the locker alone, so
`auditor check --evidence DIR` re-performs an old run and gets identical results.
"""

from __future__ import annotations

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
from auditor.config import Config, config_from_snapshot
from auditor.errors import ConfigError, EvidenceError
from auditor.evidence.locker import Locker, LockerWriter, atomic_write, iso, utc_now
from auditor.facts import build_facts
from auditor.period import Period
from auditor.results import NOT_APPLICABLE, SCHEMA_ID, control_status, effective_status, validate_results
from auditor.scheduler import Progress, Scheduler

PACK_MANIFEST = "pack-manifest.json"
SUMS = "SHA256SUMS"


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


def collect(config: Config, evidence_dir: Path, progress: Progress | None = None) -> Collection:
    """Run every collector's calls through the scheduler into a new locker."""
    if not config.gcp.projects:
        raise ConfigError(f"{config.source or 'config'}: gcp.projects: list at least one project to audit")
    credentials, identity = load_credentials(config.gcp.credentials)
    clients = GoogleClients(config.gcp, credentials)
    ctx = CollectContext(config=config, period=Period.from_config(config.period), google=clients)
    locker = LockerWriter(evidence_dir, config_snapshot=config.snapshot(), identity={"gcp": identity})
    interrupted = False
    try:
        Scheduler(locker, progress).run(plan(ctx))
    except KeyboardInterrupt:  # Ctrl-C: stop calling, keep what came, and say so in the manifest
        interrupted = True
    with ignoring_interrupts():
        return Collection(evidence_dir, locker.close(interrupted=interrupted))


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
    if not evidence_dirs:
        raise EvidenceError("no evidence locker given")
    lockers = [Locker(d) for d in evidence_dirs]
    config = config_from_snapshot(lockers[0].manifest["config"])
    period = Period.from_config(config.period)
    facts = build_facts(lockers)
    ctx = CheckContext(config=config, period=period, as_of=facts.as_of)
    stopped = [locker.manifest["locker_id"] for locker in lockers if locker.manifest.get("interrupted")]
    controls = [_control(check, unverified.complete(check, check.evaluate(facts, ctx), facts, stopped), config)
                for check in discover_checks()]
    document = {
        "schema": SCHEMA_ID,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "organization": config.organization,
        "period": period.as_dict(),
        "as_of": iso(facts.as_of.replace(microsecond=0)),
        "generated_at": iso(utc_now().replace(microsecond=0)),
        "lockers": [{"id": locker.manifest["locker_id"], "manifest_sha256": locker.manifest_sha256} for locker in lockers],
        "controls": controls,
    }
    validate_results(document)
    return document


def _control(check, findings, config: Config) -> dict[str, Any]:
    findings = sorted(findings, key=lambda f: f.id)
    status = control_status(findings)
    not_applicable = sum(1 for f in findings if f.status == NOT_APPLICABLE)
    return {
        "id": check.id,
        "title": check.title,
        "description": check.description,
        "criteria": list(check.criteria),
        "policy_clause": config.policy.clauses.get(check.id, check.policy_clause),
        "beyond_policy": check.beyond_policy,
        "status": status,
        "effective_status": effective_status(findings, status),
        "population": {"total": len(findings), "in_scope": len(findings) - not_applicable, "not_applicable": not_applicable},
        "findings": [f.as_dict() for f in findings],
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(document, indent=2, sort_keys=False) + "\n").encode())


def render_reports(results: dict[str, Any], manifest: dict[str, Any], out_dir: Path) -> list[Path]:
    from auditor.reports.html import render_html
    from auditor.reports.pdf import render_pdf

    html = render_html(results, manifest)
    atomic_write(out_dir / "report.html", html.encode())
    atomic_write(out_dir / "report.pdf", render_pdf(html))
    return [out_dir / "report.html", out_dir / "report.pdf"]


def write_pack_manifest(out_dir: Path) -> dict[str, Any]:
    """Last step of a run: hash every file of the pack, into pack-manifest.json and SHA256SUMS."""
    files = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name not in (PACK_MANIFEST, SUMS)):
        data = path.read_bytes()
        files.append({"path": path.relative_to(out_dir).as_posix(), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest = {"schema": "auditor.pack/v1", "tool": {"name": TOOL_NAME, "version": __version__},
                "created_at": iso(utc_now()), "files": files}
    write_json(out_dir / PACK_MANIFEST, manifest)
    pack_sha = hashlib.sha256((out_dir / PACK_MANIFEST).read_bytes()).hexdigest()
    lines = [f"{f['sha256']}  {f['path']}" for f in files] + [f"{pack_sha}  {PACK_MANIFEST}"]
    atomic_write(out_dir / SUMS, ("\n".join(lines) + "\n").encode())
    return manifest


@dataclass(frozen=True)
class RunOutcome:
    collection: Collection
    results: dict[str, Any]
    out_dir: Path


def run(config: Config, out_dir: Path, progress: Progress | None = None) -> RunOutcome:
    out_dir.mkdir(parents=True, exist_ok=True)
    collection = collect(config, out_dir / "evidence", progress)
    results = evaluate([collection.evidence_dir])
    write_json(out_dir / "results.json", results)
    render_reports(results, collection.manifest, out_dir)
    write_pack_manifest(out_dir)
    return RunOutcome(collection, results, out_dir)
