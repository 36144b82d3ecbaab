"""source-backup-freshness: each backup holds what GitHub holds, or was fetched inside the policy window.

Rule: a backup is stale when its last update (FETCH_HEAD's time; for a clone never fetched since,
the newest of its own refs, packed-refs and reflog, said as such; nothing to date it counts as never) is
older than `policy.source_code.backup_interval` before the evidence's as-of time AND GitHub has
commits it lacks. A branch or tag is current when the backup's head equals GitHub's or descends
from it (git merge-base --is-ancestor, run on the backup at collection); otherwise GitHub's compare
API says how many commits the backup lacks (git counts them itself when the backup holds GitHub's
commit; neither head containing the other is "diverged"). So a repository pushed after a fetch that is still
inside the window is fresh, and an archived repository nobody pushes to stays fresh however old
its fetch. A last update dated after the evidence time is inconclusive (a clock is wrong), never a
negative age. What a mirror does not carry is flagged: Git LFS file contents (the default branch's
.gitattributes uses filter=lfs but the backup holds no lfs/objects) fail, because a restore would
bring back pointers instead of files; a wiki enabled on GitHub with no wiki backup is noted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from auditor.checks.source_common import (PERIOD_NOTE, backup_listing, hours, not_applicable, one, out_of_scope,
                                          repo_org_scope, repositories, span, unlisted_orgs)
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import Facts
from auditor.facts.source_model import BackupState, Comparison, Repository
from auditor.results import FAIL, INCONCLUSIVE, PASS, Finding

ID = "source-backup-freshness"


def comparisons(facts: Facts, repo: Repository) -> dict[tuple[str, str], Comparison]:
    """GitHub's compares for the repository, by (base, head). A compare is asked only where git could not count
    the lag itself; one not read leaves that ref's count unknown (None), never zero: its state stays behind."""
    read = facts.github_compares.at(repo.resource)
    return {(c.base, c.head): c for c in read.items} if isinstance(read, Known) else {}


def compare_refs(facts: Facts, repo: Repository, backup: BackupState, branches: dict[str, str],
                 tags: dict[str, str]) -> list[dict[str, Any]]:
    """Each GitHub branch and tag (as read in full) against the backup: current, behind (with commits when known) or missing."""
    rows = []
    compares = comparisons(facts, repo)
    github = [(f"branch {n}", backup.ref_prefix() + n, sha) for n, sha in sorted(branches.items())]
    github += [(f"tag {n}", f"refs/tags/{n}", sha) for n, sha in sorted(tags.items())]
    for label, ref, sha in github:
        mine = backup.refs.get(ref)
        row: dict[str, Any] = {"ref": label, "github": sha, "backup": mine, "commits_behind": None}
        if mine is None:
            row["state"] = "missing"
        elif mine == sha or backup.ancestor.get((sha, mine)):
            row["state"] = "current"
        else:
            row["state"] = "behind"
            counted = backup.behind.get((mine, sha))
            compared = compares.get((mine, sha))
            row["commits_behind"] = counted if counted is not None else (compared.ahead_by if compared else None)
            if (compared and compared.status == "diverged") or backup.ancestor.get((mine, sha)) is False:
                row["state"] = "diverged"  # neither head contains the other (git on the backup, or GitHub's compare)
        rows.append(row)
    return rows


#: The evidence time comes from HTTP Date headers, whole seconds: a file time less than a second past it is not "after".
DATE_RESOLUTION = timedelta(seconds=1)

WIKI_HINTS = {
    "python-github-backup": "run python-github-backup with --wikis (or --all) to back it up",
    "ghorg": "run ghorg clone with --clone-wiki to back it up",
    "mirror": "mirror <repo>.wiki.git beside it with git clone --mirror",
}


def wiki_hint(ctx: CheckContext) -> str:
    """How the configured layout's own tool backs a wiki up (each names it differently)."""
    layout = ctx.config.github.backup.layout if ctx.config.github is not None else None
    return WIKI_HINTS.get(layout, "back up <repo>.wiki.git beside it")


def evaluate(facts: Facts, ctx: CheckContext) -> list[Finding]:
    findings = list(unlisted_orgs(facts, ctx, ID, "that backups are current"))
    window = ctx.config.policy.source_code.backup_interval
    for repo in repositories(facts, ctx):
        why = out_of_scope(repo, ctx)
        if why:
            findings.append(not_applicable(ID, repo, why, "fresh"))
            continue
        findings.append(_evaluate(facts, ctx, repo, window))
    return findings


def _evaluate(facts: Facts, ctx: CheckContext, repo: Repository, window) -> Finding:
    name = f"{repo.org}/{repo.name}"
    expected = {"window_hours": hours(window), "rule": "last fetch inside the window, or nothing on GitHub that the backup lacks"}
    evidence = list(repo.evidence)

    def unverified(reason: str) -> Finding:
        return Finding(ID, repo.resource, "fresh", INCONCLUSIVE, f"{name}: freshness could not be verified: {reason}.",
                       expected=expected, details={"period_note": PERIOD_NOTE}, evidence=evidence)

    backup, reason = one(facts.git_backups.at(repo.resource))
    if reason:
        return unverified(reason)
    if backup is None:  # the inspection read and found no backup; the listing must say so too (GitHub's refs not needed)
        listing = backup_listing(facts, repo_org_scope(repo))
        if isinstance(listing, Unknown):  # no listing read: "no backup" is not known, only not seen
            return unverified(listing.describe())
        evidence += listing.evidence
        return Finding(ID, repo.resource, "fresh", FAIL,
                       f"{name} has no local backup, so no copy of it is kept current (see source-backup-coverage).",
                       observed={"backup": None}, expected=expected, details={"period_note": PERIOD_NOTE}, evidence=evidence)
    listings = []
    for read in (facts.github_branches.at(repo.resource), facts.github_tags.at(repo.resource)):
        listing, reason = one(read)
        if reason or listing is None:
            return unverified(reason or f"GitHub's {'branches' if not listings else 'tags'} of {name} were not recorded")
        listings.append(listing)
        evidence += listing.evidence
    assert isinstance(backup, BackupState)
    evidence += backup.evidence + [c.evidence for c in comparisons(facts, repo).values()]
    rows = compare_refs(facts, repo, backup, listings[0].refs, listings[1].refs)
    lacking = [r for r in rows if r["state"] != "current"]
    updated = backup.updated_at
    dated_from = "FETCH_HEAD" if backup.fetched_at else backup.own_date_basis
    if updated is not None and updated > ctx.as_of + DATE_RESOLUTION:  # no negative age: a time after the evidence proves nothing
        return Finding(
            ID, repo.resource, "fresh", INCONCLUSIVE,
            f"{name}: freshness could not be verified: the backup's last update ({dated_from}) is dated "
            f"{updated:%Y-%m-%d %H:%M} UTC, after the evidence time {ctx.as_of:%Y-%m-%d %H:%M} UTC; a clock is wrong "
            "(the backup host's or the API's) or the file was touched after collection, so its age is unknown.",
            observed={"last_update": updated.isoformat(), "dated_from": dated_from, "as_of": ctx.as_of.isoformat()},
            expected=expected, details={"backup_path": backup.path, "period_note": PERIOD_NOTE}, evidence=evidence)
    age = max(ctx.as_of - updated, timedelta(0)) if updated else None  # within DATE_RESOLUTION after: no time passed
    outside = age is None or age > window
    problems, notes = [], []
    if backup.fetched_at:
        fetch_words = f"last fetched {backup.fetched_at:%Y-%m-%d %H:%M} UTC ({span(age)} before the evidence time)"
    elif updated is not None:
        fetch_words = (f"never fetched since it was cloned (no FETCH_HEAD), so dated from its own files: {dated_from} "
                       f"at {updated:%Y-%m-%d %H:%M} UTC ({span(age)} before the evidence time)")
    else:
        fetch_words = "no fetch recorded (FETCH_HEAD is absent, and no ref, packed-refs or reflog dates the backup)"
    commits = [r["commits_behind"] for r in lacking if r["commits_behind"] is not None]
    behind_words = ", ".join(f"{r['ref']} {r['state']}" + (f" by {r['commits_behind']} commit{'s' if r['commits_behind'] != 1 else ''}"
                                                              if r["commits_behind"] is not None else "") for r in lacking)
    lag = (repo.pushed_at - updated) if repo.pushed_at and updated and repo.pushed_at > updated else None
    if lacking and outside:
        pushed = f"; GitHub was pushed {span(lag)} after that fetch" if lag else ""
        problems.append(f"the backup is stale: {fetch_words}, outside the {span(window)} window, and GitHub has commits it "
                        f"lacks ({behind_words}){pushed}")
    elif lacking:
        notes.append(f"GitHub was pushed after the last fetch ({behind_words}), but that fetch is inside the "
                     f"{span(window)} window ({fetch_words}), so the backup is fresh")
    elif outside:
        notes.append(f"{fetch_words}, outside the window, but every branch and tag on GitHub is already in the backup")
    else:
        notes.append(f"every branch and tag on GitHub is in the backup; {fetch_words}")
    if backup.lfs_in_tree and backup.lfs_objects == 0:
        problems.append("the repository stores files in Git LFS (filter=lfs in .gitattributes on the default branch) but the "
                        "backup holds no LFS objects: a restore would bring back pointer files, not their content")
    if repo.has_wiki and not backup.wiki_backup:
        notes.append("the wiki is enabled on GitHub and no wiki backup was found beside the repository's (a clone does not "
                     f"include the wiki: {wiki_hint(ctx)})")
    status = FAIL if problems else PASS
    message = f"{name}: " + "; ".join(problems + notes) + "."
    return Finding(
        ID, repo.resource, "fresh", status, message,
        observed={"last_fetch": backup.fetched_at.isoformat() if backup.fetched_at else None,
                  "last_update": updated.isoformat() if updated else None, "dated_from": dated_from,
                  "fetch_age_hours": hours(age) if age is not None else None,
                  "pushed_at": repo.pushed_at.isoformat() if repo.pushed_at else None,
                  "refs_lacking": len(lacking), "commits_behind": sum(commits) if commits else None,
                  "lfs_in_tree": backup.lfs_in_tree, "lfs_objects": backup.lfs_objects},
        expected=expected,
        details={"refs": rows, "pushed_after_fetch_hours": hours(lag) if lag else None, "backup_path": backup.path,
                 "size_kib": backup.size_kib, "wiki_enabled": repo.has_wiki, "wiki_backup": backup.wiki_backup,
                 "period_note": PERIOD_NOTE},
        evidence=evidence,
    )


CHECK = Check(
    id=ID,
    frequency="daily",
    days_from="lockers",  # a mirror keeps no past: each day from that day's own locker (auditor.locker_days)
    title="Local GitHub backups are current",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="Compares each backup's branches and tags (git for-each-ref, git merge-base --is-ancestor) with GitHub's "
                "(GET /repos/{o}/{r}/branches and /tags; /compare for the commits a backup lacks), and its last fetch "
                "(FETCH_HEAD; for a clone never fetched since, its own refs, packed-refs and reflog) with the policy "
                "window; a last fetch after the evidence time is inconclusive. Flags Git LFS content and wikis a mirror does not carry. "
                "A mirror's state proves only the day of collection; freshness across the period needs daily lockers.",
    needs=("github_orgs", "github_repositories", "git_backup_listings", "git_backups", "github_branches", "github_tags",
           "github_compares"),
    evaluate=evaluate,
)
