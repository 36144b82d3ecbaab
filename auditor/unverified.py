"""What could not be verified, and why: the data behind every `inconclusive`.

Every inconclusive finding carries ``details["unverified"]``: a list of entries, one per reason,

    {"call": "c-...", "api": "logging", "method": "entries.list", "scope": "projects/p",
     "kind": "timeout", "reason": "IAM_PERMISSION_DENIED" | null, "http_status": 403 | null,
     "message": "..."}

``call`` is the failed call's id in the locker's manifest (null when the gap is not a failed call,
e.g. a field missing from a response: then ``kind`` is ``incomplete_data``). Reports group them
per control.

Checks say what they could not verify for the resources they evaluate. This module then makes the
rule hold whatever a check forgets: for every failed call that feeds facts the check needs
(declared by its source in ``auditor.facts.sources``; a call no source declares is assumed to feed
every check, so a new collector fails closed), a check that has no finding citing that call gets one
``inconclusive`` finding for the call's scope. A fault can therefore never leave a control passing
without a word.
"""

from __future__ import annotations

from typing import Any

from auditor.facts.model import CallGap, Facts
from auditor.results import INCONCLUSIVE, NOT_APPLICABLE, Finding


def entry(gap: CallGap) -> dict[str, Any]:
    return {"call": gap.call_id, "api": gap.api, "method": gap.method, "scope": gap.scope, "kind": gap.kind,
            "reason": gap.reason, "http_status": gap.http_status, "message": gap.message}


def not_collected(api: str, method: str, scope: str) -> dict[str, Any]:
    """A call the run never made (an interrupted run, a collector that did not plan it)."""
    return {"call": None, "api": api, "method": method, "scope": scope, "kind": "not_collected", "reason": None,
            "http_status": None, "message": f"{api} {method} for {scope} was not collected"}


def incomplete_data(problem: str, evidence: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """A response that came back but lacks (or mistypes) a field the check needs."""
    return {"call": None, "api": None, "method": None, "scope": None, "kind": "incomplete_data", "reason": None,
            "http_status": None, "message": problem, "evidence": list(evidence)}


def scope_resource(scope: str) -> str:
    if scope.startswith(("projects/", "organizations/", "folders/")):
        return f"//cloudresourcemanager.googleapis.com/{scope}"
    return scope


def _feeds(api: str, method: str) -> tuple[str, ...] | None:
    from auditor.facts.sources import feeds

    return feeds(api, method)


def _disabled(gap: CallGap) -> bool:
    return gap.reason == "SERVICE_DISABLED" or gap.kind == "service_disabled"


def _project_of(scope: str) -> str | None:
    parts = scope.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "projects" else None


def disabled_api_findings(check: Any, gaps: list[CallGap], facts: Facts) -> tuple[list[Finding], set[str]]:
    """An API disabled in a project (SERVICE_DISABLED) whose source says which stores depend on it there
    (`Source.dependents`): not applicable for that project when none does, with the reason; inconclusive,
    naming the project and each store, when one does or when that cannot be told. Returns the findings
    and the call ids they account for (so no generic finding repeats them)."""
    from auditor.facts.sources import REGISTRY

    grouped: dict[tuple[str, str], list[CallGap]] = {}
    for gap in gaps:
        source = REGISTRY.source(gap.api, gap.method)
        project = _project_of(gap.scope)
        if _disabled(gap) and source is not None and source.dependents is not None and project:
            grouped.setdefault((gap.api, project), []).append(gap)
    findings, accounted = [], set()
    for (api, project), found in sorted(grouped.items()):
        stores = REGISTRY.source(found[0].api, found[0].method).dependents(facts, project)
        calls = sorted({f"{g.api} {g.method}" for g in found})
        resource = scope_resource(f"projects/{project}")
        accounted.update(g.call_id for g in found if g.call_id)
        observed = {"api": api, "reason": found[0].reason, "calls": calls, "dependent_stores": stores}
        if stores == []:
            findings.append(Finding(
                check=check.id, resource=resource, rule=f"disabled:{api}", status=NOT_APPLICABLE,
                message=(f"The {api} API is disabled in project {project} ({found[0].reason or found[0].kind}), and no store there "
                         f"depends on it: its Cloud SQL listing, read in full, shows no instance on the ENHANCED backup tier, "
                         f"no Backup and DR trail of another store passes through it, and the data map declares none backed up "
                         f"by Backup and DR. So nothing \"{check.title}\" judges in {project} rests on {api}."),
                observed=observed, details={"calls": [g.call_id for g in found]},
                not_applicable_reason=f"the {api} API is disabled in project {project} and no store there uses it"))
            continue
        named = ", ".join(s.rsplit("/", 1)[-1] for s in stores) if stores else None
        why = (f"{named} depend{'s' if len(stores) == 1 else ''} on it" if named else
               "whether any store there depends on it could not be established (its Cloud SQL listing was not read in full)")
        findings.append(Finding(
            check=check.id, resource=resource, rule=f"disabled:{api}", status=INCONCLUSIVE,
            message=(f"Could not fully verify \"{check.title}\" for project {project}: the {api} API is disabled there "
                     f"({found[0].reason or found[0].kind}), and {why}, so what Backup and DR would have shown is missing."),
            observed=observed, details={"call": found[0].call_id, "unverified": [entry(g) for g in found],
                                        "dependent_stores": stores}))
    return findings, accounted


def complete(check: Any, findings: list[Finding], facts: Facts, interrupted: list[str] = ()) -> list[Finding]:
    """The check's findings, with `unverified` on every inconclusive one, a finding per uncited gap,
    and, when a locker was interrupted (calls planned but never made), one finding per project."""
    findings = list(findings)
    for locker_id in interrupted:
        for project in facts.projects:
            scope = f"projects/{project}"
            findings.append(Finding(
                check=check.id, resource=scope_resource(scope), rule=f"unverified:interrupted:{locker_id}", status=INCONCLUSIVE,
                message=(f"Could not fully verify \"{check.title}\" for {scope}: the collection run (locker {locker_id}) "
                         "was interrupted before every planned call was made."),
                observed={"locker": locker_id, "error_kind": "interrupted"},
                details={"unverified": [{"call": None, "api": None, "method": None, "scope": scope, "kind": "interrupted",
                                         "reason": None, "http_status": None,
                                         "message": f"locker {locker_id} was interrupted"}]},
            ))
    for finding in findings:
        if finding.status == INCONCLUSIVE and not finding.details.get("unverified"):
            finding.details["unverified"] = [incomplete_data(finding.message, finding.evidence)]
    cited = {e.get("call") for f in findings for e in f.details.get("unverified") or [] if isinstance(e, dict)}
    from auditor.facts.build import underlying

    needs = underlying(check.needs)
    gaps: dict[str, CallGap] = {}
    for gap in facts.coverage.gaps:
        gaps.setdefault(gap.call_id, gap)
    relevant = [g for g in gaps.values() if g.call_id not in cited
                and ((feeds := _feeds(g.api, g.method)) is None or needs.intersection(feeds))]
    disabled, accounted = disabled_api_findings(check, relevant, facts)
    findings += disabled
    # one finding per scope and method: the same call failing in several merged lockers is one gap, citing each
    grouped: dict[tuple[str, str, str], list[CallGap]] = {}
    for gap in relevant:
        if gap.call_id not in accounted:
            grouped.setdefault((gap.scope, gap.api, gap.method), []).append(gap)
    for (scope, api, method), same in grouped.items():
        gap = same[0]
        more = f" The same call failed in {len(same)} of the lockers given." if len(same) > 1 else ""
        findings.append(Finding(
            check=check.id, resource=scope_resource(scope), rule=f"unverified:{api}:{method}",
            status=INCONCLUSIVE,
            message=(f"Could not fully verify \"{check.title}\" for {scope}: {gap.describe()}.{more} "
                     f"Whatever this call would have shown is missing, so the control is not reported as passing."),
            observed={"api": api, "method": method, "error_kind": gap.kind, "reason": gap.reason},
            details={"call": gap.call_id, **({"calls": [g.call_id for g in same]} if len(same) > 1 else {}),
                     "unverified": [entry(g) for g in same]},
        ))
    return findings
