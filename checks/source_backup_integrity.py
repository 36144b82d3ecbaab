"""source-backup-integrity (A1.3): sampled backups pass `git fsck` and a restore drill.

The drill clones the backup into a scratch folder with the pack protocol (`git clone --mirror
--no-local`, which reads every object), then requires the restored refs to equal the backup's and
the restored default branch's tree to equal the tree GitHub reports for the same commit
(GET /repos/{o}/{r}/git/commits/{sha}). Whether that commit is GitHub's latest is freshness's
question. The sample is drawn at collection (seeded, recorded in the evidence); this check draws it
again from the recorded seed and population and refuses a sample it cannot reproduce.
"""

from __future__ import annotations

from auditor.checks.source_common import (PERIOD_NOTE, backup_listing, listed, not_applicable, one, org_scope, organizations,
                                          out_of_scope, repo_org_scope, repositories, unlisted_orgs)
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import Facts
from auditor.facts.source_model import BackupState, Drill, FsckResult, Repository, draw_sample
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "source-backup-integrity"


def _sample_findings(facts: Facts, ctx: CheckContext) -> tuple[list[Finding], dict[str, set[str]]]:
    findings, chosen = [], {}
    policy = ctx.config.policy.source_code
    for org in organizations(ctx):
        scope = org_scope(ctx, org)
        repos = listed(facts, scope)
        if repos is None:
            continue  # unlisted_orgs reports it
        sample, reason = one(facts.git_integrity_samples.at(scope))
        if reason or sample is None:
            findings.append(Finding(ID, scope, "sample", INCONCLUSIVE,
                                    f"The integrity sample for {org} was not recorded: {reason or 'no sample in the evidence'}."))
            continue
        listing = backup_listing(facts, scope)
        if isinstance(listing, Unknown):  # the sample's population is the backed-up repositories: unknown without the listing
            findings.append(Finding(ID, scope, "sample", INCONCLUSIVE,
                                    f"The integrity sample for {org} cannot be checked: the local backup folders were not "
                                    f"read ({listing.describe()})."))
            continue
        recorded = {**sample.record, "evidence": list(sample.evidence)}
        backups = set(listing.by_name())
        population = sorted(r.name for r in repos if not out_of_scope(r, ctx) and r.name.lower() in backups)
        again = draw_sample(population, recorded["seed"], policy.integrity_sample)
        if population != recorded.get("population") or again != recorded.get("sample"):
            findings.append(Finding(ID, scope, "sample", INCONCLUSIVE,
                                    f"The recorded integrity sample for {org} cannot be reproduced from its seed "
                                    f"{recorded['seed']!r} and the repositories in the evidence.",
                                    observed={"recorded": recorded.get("sample"), "redrawn": again},
                                    evidence=recorded["evidence"]))
            continue
        chosen[org] = set(again)
        findings.append(Finding(ID, scope, "sample", PASS if again else INCONCLUSIVE,
                                f"{len(again)} of {len(population)} backed-up repositories of {org} were drilled, drawn with "
                                f"seed {recorded['seed']!r} (reproduced from the evidence)." if again else
                                f"No repository of {org} was drilled (sample size {policy.integrity_sample}, "
                                f"{len(population)} backed-up repositories).",
                                observed={"sample": again, "population": len(population)},
                                expected={"size": policy.integrity_sample}, details={"method": recorded.get("method")},
                                evidence=recorded["evidence"]))
    return findings, chosen


def evaluate(facts: Facts, ctx: CheckContext) -> list[Finding]:
    findings = list(unlisted_orgs(facts, ctx, ID, "backup integrity"))
    sample_findings, chosen = _sample_findings(facts, ctx)
    findings += sample_findings
    for repo in repositories(facts, ctx):
        why = out_of_scope(repo, ctx)
        if why:
            findings.append(not_applicable(ID, repo, why, "restore"))
            continue
        listing = backup_listing(facts, repo_org_scope(repo))
        if isinstance(listing, Unknown):  # "no backup to test" is not known without the listing
            findings.append(Finding(ID, repo.resource, "restore", INCONCLUSIVE,
                                    f"{repo.org}/{repo.name}: integrity could not be verified: {listing.describe()}.",
                                    evidence=list(repo.evidence)))
        elif repo.name.lower() not in listing.by_name():
            findings.append(Finding(ID, repo.resource, "restore", NOT_APPLICABLE,
                                    f"{repo.org}/{repo.name} has no local backup to test (see source-backup-coverage).",
                                    evidence=list(repo.evidence) + list(listing.evidence),
                                    not_applicable_reason="no local backup to test (source-backup-coverage fails it)"))
        elif repo.org in chosen and repo.name not in chosen[repo.org]:
            findings.append(Finding(ID, repo.resource, "restore", NOT_APPLICABLE,
                                    f"{repo.org}/{repo.name} was not in this run's integrity sample.", evidence=list(repo.evidence),
                                    not_applicable_reason="not in this run's integrity sample"))
        elif repo.org in chosen:
            findings.append(_drilled(facts, repo))
    return findings


def _drilled(facts: Facts, repo: Repository) -> Finding:
    name = f"{repo.org}/{repo.name}"
    found = []
    for what, scoped in (("the backup", facts.git_backups), ("git fsck", facts.git_fsck),
                         ("the restore drill", facts.git_restore_drills)):
        item, reason = one(scoped.at(repo.resource))
        if reason or item is None:
            return Finding(ID, repo.resource, "restore", INCONCLUSIVE,
                           f"{name}: integrity could not be verified: {reason or what + ' was not recorded'}.",
                           evidence=list(repo.evidence))
        found.append(item)
    backup, fsck, drill = found
    assert isinstance(backup, BackupState) and isinstance(fsck, FsckResult) and isinstance(drill, Drill)
    code, output = fsck.exit_code, fsck.output
    evidence = list(repo.evidence) + backup.evidence + list(fsck.evidence) + drill.evidence
    default_ref = backup.ref_prefix() + (repo.default_branch or "main")
    default_sha = backup.refs.get(default_ref)
    trees = facts.github_trees.at(repo.resource)  # unknown or another commit's: no tree, so inconclusive below
    tree_entry = next((t for t in trees.items if t.sha == default_sha), None) if isinstance(trees, Known) else None
    github_tree = tree_entry.tree if tree_entry else None
    evidence += tree_entry.evidence if tree_entry else ()
    branch_listing, _ = one(facts.github_branches.at(repo.resource))  # for the details only
    github_heads = branch_listing.refs if branch_listing is not None else {}
    heads = [{"branch": b, "github": sha, "restored": drill.refs.get(backup.ref_prefix() + b),
              "equal": drill.refs.get(backup.ref_prefix() + b) == sha} for b, sha in sorted(github_heads.items())]
    details = {"fsck_exit_code": code, "fsck_output": output[:2000], "clone_error": drill.clone_error or None,
               "restored_refs": len(drill.refs), "backup_refs": len(backup.refs), "default_ref": default_ref,
               "backup_default_commit": default_sha, "restored_tree": drill.default_tree, "github_tree": github_tree,
               "branch_heads_vs_github": heads, "period_note": PERIOD_NOTE}
    problems = []
    if code != 0:
        first = "; ".join(" ".join(line.split()) for line in output.splitlines()[:3]) or "no output"
        problems.append(f"git fsck reports errors (exit {code}): {first}")
    if drill.cloned is False:
        problems.append(f"the restore drill could not clone the backup: {drill.clone_error.splitlines()[0] if drill.clone_error else 'clone failed'}")
    elif drill.refs != backup.refs:
        problems.append(f"the restored copy has {len(drill.refs)} refs where the backup has {len(backup.refs)}, or different heads")
    elif default_sha and github_tree and drill.default_tree != github_tree:
        problems.append(f"the restored default branch's tree {(drill.default_tree or 'none')[:12]} differs from GitHub's tree "
                        f"{github_tree[:12]} for commit {default_sha[:12]}")
    if problems:
        return Finding(ID, repo.resource, "restore", FAIL, f"{name}: " + "; ".join(problems) + ".", details=details,
                       observed={"fsck_ok": code == 0, "restored": drill.cloned is True}, expected={"fsck_ok": True, "restored": True},
                       evidence=evidence)
    if not default_sha or not github_tree:
        return Finding(ID, repo.resource, "restore", INCONCLUSIVE,
                       f"{name}: fsck passed and the backup restored, but GitHub's tree for the default branch's commit "
                       f"{(default_sha or 'none')[:12]} could not be obtained to compare content.", details=details,
                       evidence=evidence)
    behind = sum(1 for h in heads if not h["equal"])
    return Finding(ID, repo.resource, "restore", PASS,
                   f"{name}: git fsck found no errors; the restore drill cloned {len(drill.refs)} refs into a scratch folder, "
                   f"all equal to the backup's, and the default branch's tree {github_tree[:12]} equals GitHub's for commit "
                   f"{default_sha[:12]}." + (f" {behind} branch head(s) differ from GitHub's latest (see source-backup-freshness)."
                                             if behind else ""),
                   observed={"fsck_ok": True, "restored": True}, expected={"fsck_ok": True, "restored": True},
                   details=details, evidence=evidence)


CHECK = Check(
    id=ID,
    frequency="daily",
    days_from="lockers",  # a mirror keeps no past: each day from that day's own locker (auditor.locker_days)
    title="Sampled GitHub backups are intact and restorable",
    criteria=("A1.3",),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="For a reproducible sample of backed-up repositories (policy.source_code.integrity_sample, seeded and "
                "recorded in the evidence), runs git fsck on the backup and a restore drill: a clone into a scratch folder "
                "whose refs must equal the backup's and whose default-branch tree must equal GitHub's tree for that commit. "
                "Goes beyond the written policy, which does not mention restore tests. The drill proves only the day it ran.",
    needs=("github_orgs", "github_repositories", "git_backup_listings", "git_integrity_samples", "git_backups", "git_fsck",
           "git_restore_drills", "github_trees", "github_branches"),
    evaluate=evaluate,
    beyond_policy=True,
)
