"""source-backup-coverage: every in-scope GitHub repository has a local backup.

The population is reconciled first: the organisation's own totals (public_repos +
total_private_repos) against the repositories the token listed. A token that sees only part of the
organisation cannot prove coverage of the rest, so that is `inconclusive`, with both numbers.
Backup folders that match no repository are listed for review (deleted, renamed or transferred).
"""

from __future__ import annotations

from auditor.checks.source_common import (backup_listing, listed as listed_in, not_applicable, org_scope, organizations,
                                          out_of_scope, repo_org_scope, repositories, unlisted_orgs)
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import Facts
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "source-backup-coverage"


def _population(facts: Facts, org: str, scope: str) -> Finding | None:
    """None when the organisation or its repositories were not read (unlisted_orgs reports that)."""
    orgs, listed = facts.github_orgs.at(scope), listed_in(facts, scope)
    if not isinstance(orgs, Known) or not orgs.items or listed is None:
        return None
    info = orgs.items[-1]
    observed = {"listed": len(listed), "public_repos": info.public_repos, "total_private_repos": info.total_private_repos,
                "owned_private_repos": info.owned_private_repos, "organization_total": info.total,
                "token_scopes": list(info.scopes) if info.scopes is not None else None}
    scopes = ("classic token scopes: " + (", ".join(info.scopes) or "none")) if info.scopes is not None else \
        "no X-OAuth-Scopes header (a fine-grained token or an app; its permissions are not reported)"
    if info.total is None:
        status = INCONCLUSIVE
        message = (f"GitHub organisation {org}: the token listed {len(listed)} repositories, but GitHub did not report the "
                   f"organisation's private repository total to it, so the list cannot be shown complete ({scopes}).")
    elif len(listed) < info.total:
        status = INCONCLUSIVE
        message = (f"GitHub organisation {org} reports {info.total} repositories ({info.public_repos} public, "
                   f"{info.total_private_repos} private) but the token listed only {len(listed)}: "
                   f"{info.total - len(listed)} repositories are invisible to it and their backups cannot be verified ({scopes}).")
    else:
        status = PASS
        message = (f"GitHub organisation {org}: the token listed all {len(listed)} repositories the organisation reports "
                   f"({info.public_repos} public, {info.total_private_repos} private; {scopes}).")
    return Finding(ID, scope, "population", status, message, observed=observed,
                   expected={"listed": info.total}, evidence=list(info.evidence) + [e for r in listed for e in r.evidence])


def evaluate(facts: Facts, ctx: CheckContext) -> list[Finding]:
    findings = list(unlisted_orgs(facts, ctx, ID, "that every repository is backed up"))
    github = ctx.config.github
    for org in organizations(ctx):
        population = _population(facts, org, org_scope(ctx, org))
        if population:
            findings.append(population)
    listed_names: dict[str, set[str]] = {}
    for repo in repositories(facts, ctx):
        listed_names.setdefault(repo.org, set()).add(repo.name.lower())
        why = out_of_scope(repo, ctx)
        if why:
            findings.append(not_applicable(ID, repo, why, "backup"))
            continue
        listing = backup_listing(facts, repo_org_scope(repo))
        reason = listing.describe() if isinstance(listing, Unknown) else None
        backups = listing.by_name() if not isinstance(listing, Unknown) else {}
        evidence = list(repo.evidence) + (list(listing.evidence) if not isinstance(listing, Unknown) else [])
        observed = {"archived": repo.archived, "fork": repo.fork, "pushed_at": repo.pushed_at.isoformat() if repo.pushed_at else None}
        expected = {"backup": True, "layout": github.backup.layout if github else None}
        if reason:
            findings.append(Finding(ID, repo.resource, "backup", INCONCLUSIVE,
                                    f"{repo.org}/{repo.name}: the local backup folder could not be read ({reason}).",
                                    observed=observed, expected=expected, evidence=evidence))
        elif repo.name.lower() in backups:
            path = backups[repo.name.lower()]
            findings.append(Finding(ID, repo.resource, "backup", PASS, f"{repo.org}/{repo.name} has a local backup at {path}.",
                                    observed={**observed, "backup_path": path}, expected=expected, evidence=evidence))
        else:
            findings.append(Finding(ID, repo.resource, "backup", FAIL,
                                    f"{repo.org}/{repo.name} has no local backup: nothing in the {expected['layout']} backup "
                                    f"folder matches it, so its source code exists only on GitHub.",
                                    observed={**observed, "backup_path": None}, expected=expected, evidence=evidence))
    for org in organizations(ctx):
        scope = org_scope(ctx, org)
        listing = backup_listing(facts, scope)
        if listed_in(facts, scope) is None or isinstance(listing, Unknown):
            continue  # an orphan is a folder that matches no listed repository: both listings must be known
        for name, path in listing.folders:
            if name.lower() in listed_names.get(org, set()):
                continue
            findings.append(Finding(ID, f"{scope}/{name}", "orphan", NOT_APPLICABLE,
                                    f"The backup folder {path} matches no repository the token can see in {org} "
                                    "(deleted, renamed, transferred or hidden from the token); listed for review, not counted.",
                                    observed={"backup_path": path}, evidence=list(listing.evidence),
                                    not_applicable_reason="a backup folder matching no listed repository (for review)"))
    return findings


CHECK = Check(
    id=ID,
    frequency="daily",
    days_from="lockers",  # a mirror keeps no past: each day from that day's own locker (auditor.locker_days)
    title="Every GitHub repository has a local backup",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="Lists every repository of each configured GitHub organisation (GET /orgs/{org}/repos?type=all, all pages), "
                "reconciles the count with the organisation's own totals (GET /orgs/{org}) and records the token's scopes, "
                "then looks for each in-scope repository's folder in the local backup (github.backup.layout). "
                "A backup's presence proves only the day it was read.",
    needs=("github_orgs", "github_repositories", "git_backup_listings"),
    evaluate=evaluate,
)
