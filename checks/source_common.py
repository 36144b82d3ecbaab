"""Scoping shared by the three source-backup checks: organisations, in-scope repositories, unknown reads.

Every GitHub and git fact is per scope (HOST/ORG, HOST/ORG/REPO) and reached only through
`at(scope)`, which gives Known or Unknown: an organisation whose repositories were not listed in full
has no repositories here (it gets an inconclusive finding instead), and a backup listing or a backup
that was not read is Unknown with its reason, never an empty one.
"""

from __future__ import annotations

from typing import Iterator

from auditor.checks_api import CheckContext
from auditor.facts.known import CallGap, Known, Unknown
from auditor.facts.model import Facts
from auditor.facts.source_model import BackupListing, Repository
from auditor.results import INCONCLUSIVE, NOT_APPLICABLE, Finding

PERIOD_NOTE = ("A backup's state proves only the day it was read (the evidence's as-of time); freshness across "
               "the audit period comes from a locker collected each day.")


def organizations(ctx: CheckContext) -> list[str]:
    return list(ctx.config.github.organizations) if ctx.config.github else []


def org_scope(ctx: CheckContext, org: str) -> str:
    """HOST/ORG, the scope of an organisation's calls (github.com, or the GitHub Enterprise Server's host)."""
    return f"{ctx.config.github.repository_host() if ctx.config.github else 'github.com'}/{org}"


def listing_reason(facts: Facts, scope: str) -> str | None:
    """None when the organisation and its repositories were read in full; otherwise why not, in words."""
    for read in (facts.github_orgs.at(scope), facts.github_repositories.at(scope)):
        if isinstance(read, Unknown):
            return read.describe()
    return None


def unlisted_orgs(facts: Facts, ctx: CheckContext, check: str, what: str) -> Iterator[Finding]:
    """An inconclusive finding for each organisation whose repositories could not be listed in full."""
    for org in organizations(ctx):
        scope = org_scope(ctx, org)
        reason = listing_reason(facts, scope)
        if reason:
            yield Finding(check, scope, "listing", INCONCLUSIVE,
                          f"Could not verify {what} for the GitHub organisation {org}: {reason}.",
                          observed={"reason": reason})


def listed(facts: Facts, scope: str) -> list[Repository] | None:
    """The repositories of one organisation (HOST/ORG), or None when they were not listed in full."""
    read = facts.github_repositories.at(scope)
    return list(read.items) if isinstance(read, Known) else None


def repositories(facts: Facts, ctx: CheckContext) -> list[Repository]:
    """The repositories of every organisation listed in full (the others have their `unlisted_orgs` finding)."""
    out = []
    for org in organizations(ctx):
        out += listed(facts, org_scope(ctx, org)) or []
    return sorted(out, key=lambda r: r.resource)


def repo_org_scope(repo: Repository) -> str:
    """HOST/ORG of a repository (its resource is HOST/ORG/REPO)."""
    return repo.resource.rsplit("/", 1)[0]


def backup_listing(facts: Facts, scope: str) -> BackupListing | Unknown:
    """The organisation's local backup folders (HOST/ORG), or the Unknown saying why they were not read."""
    read = facts.git_backup_listings.at(scope)
    if isinstance(read, Unknown):
        return read
    if not read.items:  # answered but nothing recorded: not an empty folder, a read that said nothing
        return Unknown(scope, (CallGap("git", "backup.list", scope, "malformed", None,
                                       f"git backup.list for {scope} recorded no folder list", None, None),))
    return read.items[-1]


def one(read: Known | Unknown) -> tuple[object | None, str | None]:
    """(the item, None) of a per-repository read with one item; (None, why) when unknown; (None, None) when known empty."""
    if isinstance(read, Unknown):
        return None, read.describe()
    return (read.items[-1] if read.items else None), None


def out_of_scope(repo: Repository, ctx: CheckContext) -> str | None:
    policy = ctx.config.policy.source_code
    if repo.archived and not policy.include_archived:
        return "archived, and policy.source_code.include_archived is false"
    if repo.fork and not policy.include_forks:
        return "a fork, and policy.source_code.include_forks is false"
    return None


def not_applicable(check: str, repo: Repository, why: str, rule: str) -> Finding:
    return Finding(check, repo.resource, rule, NOT_APPLICABLE, f"{repo.org}/{repo.name} is {why}; it is not in scope.",
                   observed={"archived": repo.archived, "fork": repo.fork}, evidence=list(repo.evidence),
                   not_applicable_reason=f"out of scope: {why}")


def hours(delta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def span(delta) -> str:
    """'2 days 14 hours' for a reader."""
    total = int(delta.total_seconds() // 3600)
    days, rest = divmod(total, 24)
    parts = ([f"{days} day{'s' if days != 1 else ''}"] if days else []) + \
        ([f"{rest} hour{'s' if rest != 1 else ''}"] if rest or not days else [])
    return " ".join(parts)
