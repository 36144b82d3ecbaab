"""Scoping shared by the three source-backup checks: organisations, in-scope repositories, read gaps."""

from __future__ import annotations

from typing import Iterator

from auditor.checks_api import CheckContext
from auditor.facts.model import Facts
from auditor.facts.source_model import Repository
from auditor.results import INCONCLUSIVE, NOT_APPLICABLE, Finding

PERIOD_NOTE = ("A backup's state proves only the day it was read (the evidence's as-of time); freshness across "
               "the audit period comes from a locker collected each day.")


def organizations(ctx: CheckContext) -> list[str]:
    return list(ctx.config.github.organizations) if ctx.config.github else []


def org_scope(ctx: CheckContext, org: str) -> str:
    """HOST/ORG, the scope of an organisation's calls (github.com, or the GitHub Enterprise Server's host)."""
    return f"{ctx.config.github.repository_host() if ctx.config.github else 'github.com'}/{org}"


def gap_reason(facts: Facts, api: str, method: str, scope: str) -> str | None:
    """None when the call was read in full; otherwise why not, in words."""
    if facts.coverage.was_read(api, method, scope):
        return None
    gap = facts.coverage.gap(api, scope, method)
    return gap.describe() if gap else f"{api} {method} for {scope} was not collected"


def unlisted_orgs(facts: Facts, ctx: CheckContext, check: str, what: str) -> Iterator[Finding]:
    """An inconclusive finding for each organisation whose repositories could not be listed in full."""
    for org in organizations(ctx):
        scope = org_scope(ctx, org)
        reason = gap_reason(facts, "github", "orgs.get", scope) or gap_reason(facts, "github", "orgs.repos.list", scope)
        if reason:
            yield Finding(check, scope, "listing", INCONCLUSIVE,
                          f"Could not verify {what} for the GitHub organisation {org}: {reason}.",
                          observed={"reason": reason})


def repositories(facts: Facts, ctx: CheckContext) -> list[Repository]:
    out = []
    for org in organizations(ctx):
        out += facts.source.repositories.get(org, [])
    return sorted(out, key=lambda r: r.resource)


def out_of_scope(repo: Repository, ctx: CheckContext) -> str | None:
    policy = ctx.config.policy.source_code
    if repo.archived and not policy.include_archived:
        return "archived, and policy.source_code.include_archived is false"
    if repo.fork and not policy.include_forks:
        return "a fork, and policy.source_code.include_forks is false"
    return None


def not_applicable(check: str, repo: Repository, why: str, rule: str) -> Finding:
    return Finding(check, repo.resource, rule, NOT_APPLICABLE, f"{repo.org}/{repo.name} is {why}; it is not in scope.",
                   observed={"archived": repo.archived, "fork": repo.fork}, evidence=list(repo.evidence))


def hours(delta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def span(delta) -> str:
    """'2 days 14 hours' for a reader."""
    total = int(delta.total_seconds() // 3600)
    days, rest = divmod(total, 24)
    parts = ([f"{days} day{'s' if days != 1 else ''}"] if days else []) + \
        ([f"{rest} hour{'s' if rest != 1 else ''}"] if rest or not days else [])
    return " ".join(parts)
