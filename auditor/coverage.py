"""The policy coverage matrix: every promise of the written policy, the checks that test it, their result.

A promise is tested by checks (its result is the worst of theirs), shown only by manual evidence
(`manual`), or both. A promise whose checks are not installed in this build is `not_tested`, never a
pass. Controls that test more than the policy promises are listed as beyond the policy. The matrix
is built from the configuration stored in the locker and the controls, so `auditor check` re-performs
it exactly.
"""

from __future__ import annotations

from typing import Any

from auditor.config import PolicyPromise
from auditor.results import worst

MANUAL, NOT_TESTED = "manual", "not_tested"


def promise_row(index: int, promise: PolicyPromise, controls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    checks = []
    for check_id in promise.checks:
        control = controls.get(check_id)
        checks.append({"id": check_id, "status": control["status"] if control else None,
                       "effective_status": control["effective_status"] if control else None})
    run = [c["status"] for c in checks if c["status"] is not None]
    if run:
        result = worst(run)
    elif checks:
        result = NOT_TESTED
    else:
        result = MANUAL
    return {
        "id": f"P{index:02d}", "section": promise.section, "text": promise.text, "checks": checks,
        "manual": promise.manual, "note": promise.note, "result": result,
        "missing_checks": [c["id"] for c in checks if c["status"] is None],
    }


def coverage_matrix(promises: list[PolicyPromise], controls: list[dict[str, Any]]) -> dict[str, Any]:
    """The `policy_coverage` block of results.json."""
    by_id = {c["id"]: c for c in controls}
    rows = [promise_row(i, p, by_id) for i, p in enumerate(promises, start=1)]
    mapped = {check for p in promises for check in p.checks}
    beyond = [c["id"] for c in controls if c["id"] not in mapped]
    return {"promises": rows, "controls_beyond_policy": beyond}
