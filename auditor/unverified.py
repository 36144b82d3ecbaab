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
from auditor.results import INCONCLUSIVE, Finding


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
    for gap in gaps.values():
        feeds = _feeds(gap.api, gap.method)
        if gap.call_id in cited or (feeds is not None and not needs.intersection(feeds)):
            continue
        findings.append(Finding(
            check=check.id, resource=scope_resource(gap.scope), rule=f"unverified:{gap.api}:{gap.method}",
            status=INCONCLUSIVE,
            message=(f"Could not fully verify \"{check.title}\" for {gap.scope}: {gap.describe()}. "
                     f"Whatever this call would have shown is missing, so the control is not reported as passing."),
            observed={"api": gap.api, "method": gap.method, "error_kind": gap.kind, "reason": gap.reason},
            details={"call": gap.call_id, "unverified": [entry(gap)]},
        ))
    return findings
