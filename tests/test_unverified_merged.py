"""One failed call, merged from several lockers, is one inconclusive finding (auditor.unverified.complete).

Found by thr's fault test over four lockers: Cloud Asset batchGetAssetsHistory refused in each locker gave
inventory-completeness the same finding id once per locker, and results.json was refused by its own schema
(ids are unique), so the run stopped instead of reporting. The gap is one fact (the call's answer is missing
for that scope), cited from each locker.
"""

from __future__ import annotations

from datetime import datetime, timezone

from auditor.checks_api import discover_checks
from auditor.facts.build import assemble
from auditor.facts.model import CallGap
from auditor.unverified import complete

AS_OF = datetime(2026, 9, 30, 6, tzinfo=timezone.utc)


def _gap(call_id: str, scope: str = "projects/p") -> CallGap:
    return CallGap("cloudasset", "batchGetAssetsHistory", scope, "http", "PERMISSION_DENIED", "HTTP 403", 403, call_id)


def test_the_same_call_failing_in_three_lockers_is_one_finding_citing_each():
    check = next(c for c in discover_checks() if c.id == "inventory-completeness")
    facts = assemble(AS_OF, ["p"], items={}, answered=[], gaps=[_gap("L1-c7"), _gap("L2-c7"), _gap("L3-c9")])
    found = [f for f in complete(check, [], facts) if f.rule == "unverified:cloudasset:batchGetAssetsHistory"]
    assert len(found) == 1
    (finding,) = found
    assert finding.status == "inconclusive"
    assert finding.details["calls"] == ["L1-c7", "L2-c7", "L3-c9"]
    assert [e["call"] for e in finding.details["unverified"]] == ["L1-c7", "L2-c7", "L3-c9"]
    assert "failed in 3 of the lockers given" in finding.message


def test_two_scopes_stay_two_findings():
    check = next(c for c in discover_checks() if c.id == "inventory-completeness")
    facts = assemble(AS_OF, ["p", "q"], items={}, answered=[], gaps=[_gap("a", "projects/p"), _gap("b", "projects/q")])
    found = sorted(f.resource for f in complete(check, [], facts) if f.rule.startswith("unverified:cloudasset"))
    assert found == ["//cloudresourcemanager.googleapis.com/projects/p", "//cloudresourcemanager.googleapis.com/projects/q"]
