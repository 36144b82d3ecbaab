"""Waivers (strict file, applied with expiry against as_of, stored in the locker) and the CI renderers."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.ci import github_outputs
from auditor.config import load_config
from auditor.errors import ConfigError
from auditor.gate import compare
from auditor.reports.annotations import render_annotations
from auditor.reports.html import render_html
from auditor.reports.junit import render_junit
from auditor.reports.markdown import render_summary
from auditor.results import validate_results
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator, load_scenario
from auditor.waivers import parse_waivers

BILLING = "//cloudsql.googleapis.com/projects/bks-prod/instances/billing-pg"
REPORTS = "//cloudsql.googleapis.com/projects/bks-analytics/instances/reports-pg"
WAIVERS = """waivers:
  - control: backup-frequency
    resource: "//cloudsql.googleapis.com/projects/bks-prod/instances/billing-*"
    reason: Backup window moved during the Q3 migration; compensating on-demand backups taken.
    approver: ciso@bangkoksolutions.example
    ticket: SEC-142
    approved: 2026-08-01
    expires: 2026-12-31
  - control: backup-enabled
    resource: "//cloudsql.googleapis.com/projects/bks-analytics/instances/reports-pg"
    reason: Analytics copy being decommissioned.
    approver: ciso@bangkoksolutions.example
    ticket: SEC-150
    approved: 2026-09-01
    expires: 2026-09-15
  - control: backup-frequency
    resource: "//cloudsql.googleapis.com/projects/bks-prod/instances/old-*"
    reason: Retired database.
    approver: cto@bangkoksolutions.example
    ticket: SEC-99
    approved: 2026-01-10
    expires: 2027-01-31
"""


@pytest.fixture(scope="module")
def waived(sample_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("waived")
    config_data = yaml.safe_load((sample_dir / "auditor.yaml").read_text())
    config_data["waivers"] = "waivers.yaml"
    (root / "auditor.yaml").write_text(yaml.safe_dump(config_data))
    (root / "waivers.yaml").write_text(WAIVERS)
    (root / "inventory.yaml").write_text((sample_dir / "inventory.yaml").read_text())
    config = load_config(root / "auditor.yaml").model_copy(update={"github": None})
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as sim:
        evidence = collect(config.with_endpoints(sim.url), root / "pack" / "evidence")
    return root, evidence, evaluate([evidence.evidence_dir])


def _finding(results, control_id, resource):
    (control,) = [c for c in results["controls"] if c["id"] == control_id]
    return control, next(f for f in control["findings"] if f["resource"] == resource)


def test_a_waived_finding_keeps_its_status_and_carries_the_waiver(waived):
    results = waived[2]
    validate_results(results)
    control, billing = _finding(results, "backup-frequency", BILLING)
    assert billing["status"] == "fail"
    assert billing["waiver"] == {"reason": "Backup window moved during the Q3 migration; compensating on-demand backups taken.",
                                 "approver": "ciso@bangkoksolutions.example", "ticket": "SEC-142", "approved": "2026-08-01",
                                 "expires": "2026-12-31", "expired": False, "uncovered_days": []}
    # reports-pg still fails unwaived, so the control stays fail after waivers too
    assert control["status"] == "fail" and control["effective_status"] == "fail"


def test_an_expired_waiver_is_marked_and_does_not_count(waived):
    control, reports = _finding(waived[2], "backup-enabled", REPORTS)
    assert reports["waiver"]["expired"] is True  # expired Sep 15; the evidence is as of Sep 30
    assert control["effective_status"] == "fail"
    report = compare(waived[2], waived[2])
    assert [(c.kind, c.resource) for c in report.failing] == [("expired-waiver", REPORTS)]


def test_a_waiver_that_matches_nothing_is_reported(waived):
    summary = waived[2]["waivers"]
    assert summary["unmatched"] == 1
    (stale,) = [e for e in summary["entries"] if not e["matched"]]
    assert stale["ticket"] == "SEC-99"
    assert any(c.kind == "unmatched-waiver" and not c.failing for c in compare(waived[2], waived[2]).changes)


def test_waivers_are_reperformed_from_the_locker_alone(waived, tmp_path):
    root, evidence, results = waived
    (root / "waivers.yaml").unlink()  # the locker carries the waivers it ran with
    copy = tmp_path / "evidence"
    shutil.copytree(evidence.evidence_dir, copy)
    again = evaluate([copy])
    assert again["waivers"] == results["waivers"]
    assert again["controls"] == results["controls"]


def test_waivers_show_in_the_html_report(waived):
    html = render_html(waived[2], evidence_manifest(waived[1]))
    assert "SEC-142" in html and "Waiver expired" in html and "matches no finding" in html


def evidence_manifest(collection):
    return collection.manifest


@pytest.mark.parametrize("text, where", [
    ("waivers:\n  - control: backup-enabled\n    resource: x\n    reason: r\n    approver: a\n    ticket: t\n    expires: 2026-13-01\n",
     "w.yaml:7: waivers.0.expires"),
    ("waivers:\n  - control: backup-enabled\n    resource: x\n    reason: r\n    approver: a\n    ticket: t\n    expires: 2026-10-01\n    owner: me\n",
     "w.yaml:8: waivers.0.owner: unknown key"),
    ("waivers:\n  - control: backup-enabled\n    resource: x\n    approver: a\n    ticket: t\n    expires: 2026-10-01\n",
     "waivers.0.reason: Field required"),
])
def test_waiver_file_errors_name_file_line_and_key(text, where):
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        parse_waivers(text, "w.yaml")


def _case(results, control_id, resource):
    """The JUnit case name of a control's one finding on `resource`: `resource [rule]`."""
    (finding,) = [f for c in results["controls"] if c["id"] == control_id for f in c["findings"] if f["resource"] == resource]
    return f"{resource} [{finding['rule']}]"


def test_junit_parses_with_a_standard_reader(waived, tmp_path):
    results = waived[2]
    path = tmp_path / "junit.xml"
    path.write_text(render_junit(results, compare(results, results)))
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {c["id"] for c in results["controls"]} | {"gate"}
    cases = {(case.classname, case.name): case for case in suites["backup-frequency"]}
    (frequency,) = [c for c in results["controls"] if c["id"] == "backup-frequency"]
    assert len(cases) == len(frequency["findings"])  # one uniquely named test case per finding
    assert cases[("backup-frequency", _case(results, "backup-frequency", BILLING))].is_passed  # waived until 2026-12-31
    assert isinstance(cases[("backup-frequency", _case(results, "backup-frequency", REPORTS))].result[0], Failure)
    replica = "//cloudsql.googleapis.com/projects/bks-prod/instances/customers-pg-replica"
    assert isinstance(cases[("backup-frequency", _case(results, "backup-frequency", replica))].result[0], Skipped)
    enabled = {case.name: case for case in suites["backup-enabled"]}
    assert isinstance(enabled[_case(results, "backup-enabled", REPORTS)].result[0], Failure)  # its waiver expired
    gate_cases = list(suites["gate"])
    assert [c.classname for c in gate_cases if not c.is_passed] == ["gate.expired-waiver"]


def test_inconclusive_is_a_junit_error(waived):
    results = json.loads(json.dumps(waived[2]))
    control, finding = _finding(results, "backup-frequency", BILLING)
    finding.update(status="inconclusive", waiver=None)
    xml = JUnitXml.fromstring(render_junit(results).encode())  # bytes, as a reader gets the file
    name = _case(results, "backup-frequency", BILLING)
    (case,) = [c for s in xml for c in s if c.name == name and c.classname == "backup-frequency"]
    assert isinstance(case.result[0], Error)


def test_github_outputs_follow_the_environment(waived, tmp_path):
    results = waived[2]
    report = compare(results, results)
    summary = tmp_path / "summary.md"
    assert github_outputs(results, report, {}) == ""
    text = github_outputs(results, report, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    lines = text.splitlines()
    assert lines[0].startswith("::error title=expired-waiver%3A //cloudsql.googleapis.com/projects/bks-analytics/instances/reports-pg::")
    assert any(line.startswith("::warning title=unmatched-waiver") for line in lines)
    markdown = summary.read_text()
    assert "**Gate failed**" in markdown and "| `backup-frequency` |" in markdown and "SEC-99" in markdown


def test_annotations_escape_newlines_and_percent():
    results = {"controls": [{"id": "c", "findings": [{"status": "fail", "resource": "r,1", "message": "50% done\nnext", "waiver": None}]}]}
    assert render_annotations(results) == "::error title=c%3A r%2C1::50%25 done%0Anext\n"


def test_summary_without_a_gate(waived):
    text = render_summary(waived[2])
    assert text.startswith("## Backup controls: Bangkok Solutions") and "Gate" not in text


def test_the_schema_checks_the_waivers_summary(waived):
    import jsonschema

    document = json.loads(json.dumps(waived[2]))
    document["waivers"]["entries"][0]["owner"] = "me"
    with pytest.raises(jsonschema.ValidationError):
        validate_results(document)
    del document["waivers"]
    validate_results(document)  # optional: absent when no waivers file is configured
