"""The policy in force each day: a waiver covers the exception days from its approval through its expiry."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.errors import ConfigError
from auditor.results import FAIL, Finding, effective_status
from auditor.waivers import apply, parse_waivers

RESOURCE = "//cloudsql.googleapis.com/projects/p/instances/db"


def _waivers(approved: str, expires: str = "2026-12-31"):
    return parse_waivers("waivers:\n  - control: backup-frequency\n    resource: \"//cloudsql.googleapis.com/*\"\n"
                         "    reason: r\n    approver: a\n    ticket: T-1\n"
                         f"    approved: {approved}\n    expires: {expires}\n", "w.yaml")


def _finding(days: dict[str, str] | None = None) -> Finding:
    return Finding("backup-frequency", RESOURCE, "daily", FAIL, "m", details={"days": days} if days else {})


DAYS = {"2026-07-14": "kept", "2026-07-15": "broken", "2026-08-20": "broken", "2026-09-02": "unknown",
        "2026-09-03": "kept"}


def test_a_waiver_written_at_quarter_end_does_not_excuse_july():
    finding = _finding(DAYS)
    apply(_waivers("2026-09-30"), {"backup-frequency": [finding]}, date(2026, 9, 30))
    assert finding.waiver["approved"] == "2026-09-30"
    assert finding.waiver["uncovered_days"] == ["2026-07-15", "2026-08-20", "2026-09-02"]
    assert effective_status([finding], FAIL) == FAIL


def test_a_waiver_in_force_on_every_exception_day_counts():
    finding = _finding(DAYS)
    apply(_waivers("2026-07-01"), {"backup-frequency": [finding]}, date(2026, 9, 30))
    assert finding.waiver["uncovered_days"] == []
    assert effective_status([finding], FAIL) == "pass"


def test_approved_part_way_leaves_the_earlier_days_uncovered():
    finding = _finding(DAYS)
    apply(_waivers("2026-08-01"), {"backup-frequency": [finding]}, date(2026, 9, 30))
    assert finding.waiver["uncovered_days"] == ["2026-07-15"]
    assert effective_status([finding], FAIL) == FAIL


def test_a_point_in_time_finding_is_covered_when_the_evidence_date_is():
    early, late = _finding(), _finding()
    apply(_waivers("2026-09-01"), {"backup-frequency": [early]}, date(2026, 9, 30))
    apply(_waivers("2026-10-05"), {"backup-frequency": [late]}, date(2026, 9, 30))
    assert early.waiver["uncovered_days"] == [] and late.waiver["uncovered_days"] == ["2026-09-30"]


@pytest.mark.parametrize("text, where", [
    ("waivers:\n  - control: c\n    resource: x\n    reason: r\n    approver: a\n    ticket: t\n    expires: 2026-10-01\n",
     "waivers.0.approved: Field required"),
    ("waivers:\n  - control: c\n    resource: x\n    reason: r\n    approver: a\n    ticket: t\n    approved: 2026-11-01\n"
     "    expires: 2026-10-01\n", "approved (2026-11-01) is after expires (2026-10-01)"),
])
def test_the_approval_date_is_required_and_before_expiry(text, where):
    with pytest.raises(ConfigError, match=where.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        parse_waivers(text, "w.yaml")
