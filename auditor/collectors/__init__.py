"""Collectors: each module describes the calls it needs; the scheduler runs them.

A collector module exposes `project_calls(ctx, project)` for per-project calls and, optionally,
`scope_calls(ctx)` for calls over the whole configured scope (an organisation, folders, GitHub
organisations). Register a new module in COLLECTORS; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from auditor.collectors import assets, backupdr, cloudsql, inventory, logging, monitoring, storage
from auditor.collectors import github, iam, identity
from auditor.collectors.google import GoogleClients
from auditor.config import Config
from auditor.period import Period
from auditor.scheduler import Call

COLLECTORS: list[Any] = [assets, cloudsql, backupdr, inventory, logging, monitoring, storage, iam, identity, github]  # kms, sqlops: follow-ups of cloudsql


@dataclass(frozen=True)
class CollectContext:
    config: Config
    period: Period
    google: GoogleClients
    log_chain: Any = None  # auditor.log_chain.LogChain with --since: where each audit-log query starts


def project_calls(ctx: CollectContext, project: str) -> Iterator[Call]:
    for module in COLLECTORS:
        if hasattr(module, "project_calls"):
            yield from module.project_calls(ctx, project)


def plan(ctx: CollectContext) -> list[Call]:
    """The first wave of calls: scope-wide ones, then per-project ones for the configured projects."""
    calls: list[Call] = []
    for module in COLLECTORS:
        if hasattr(module, "scope_calls"):
            calls.extend(module.scope_calls(ctx))
    for project in ctx.config.gcp.projects:
        calls.extend(project_calls(ctx, project))
    return calls


def unique(calls: Iterable[Call]) -> list[Call]:
    return list({(c.api, c.method, repr(sorted(c.params.items()))): c for c in calls}.values())
