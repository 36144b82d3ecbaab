"""The gate rejects results it cannot trust, and reads a v1 baseline (issue 12, case 6).

Before this, the gate kept the last of two findings with one id, accepted a finding filed under a
control that does not exist, and passed `controls: []` against a failing baseline. Each test
below failed on that code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.gate import compare
from auditor.results import SCHEMA_ID, SCHEMA_V1, UpgradeError, upgrade, validate_results
from auditor.runner import evaluate

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def baseline(sample_google_collection):
    return evaluate([sample_google_collection.collection.evidence_dir])


def _gate(tmp_path, new, old, *extra):
    paths = []
    for name, document in (("new.json", new), ("old.json", old)):
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        paths.append(str(path))
    result = CliRunner().invoke(app, ["gate", "--results", paths[0], "--baseline", paths[1],
                                      "--json", str(tmp_path / "gate.json"), *extra])
    report = json.loads((tmp_path / "gate.json").read_text()) if (tmp_path / "gate.json").exists() else None
    return result.exit_code, result.output, report


def as_v1(document):
    """What an older version of the tool wrote: no `rule`, none of v2's objects, schema v1."""
    out = copy.deepcopy(document)
    out["schema"] = SCHEMA_V1
    for key in ("provenance", "exceptions", "store_types"):
        out.pop(key, None)
    for locker in out["lockers"]:
        for log in locker.get("logs", []):
            log.pop("covered_to", None)
    for control in out["controls"]:
        for key in ("frequency", "coverage", "not_applicable_reason", "store_types"):
            control.pop(key, None)
        for finding in control["findings"]:
            for key in ("rule", "store_type", "not_applicable_reason"):
                finding.pop(key, None)
    return out


def _failing(document):
    return [(c["id"], f["id"]) for c in document["controls"] for f in c["findings"] if f["status"] == "fail"]


def test_the_tool_writes_v2_with_each_findings_rule(baseline):
    assert baseline["schema"] == SCHEMA_ID == "auditor.results/v2"
    for control in baseline["controls"]:
        for finding in control["findings"]:
            assert finding["id"] == f"{control['id']}:{finding['resource'].removeprefix('//')}:{finding['rule']}"


def test_duplicate_finding_ids_are_a_schema_error(baseline, tmp_path):
    new = copy.deepcopy(baseline)
    control = next(c for c in new["controls"] if len(c["findings"]) >= 2)
    twin = copy.deepcopy(control["findings"][0])
    twin["status"], twin["message"] = "pass", "the same id again, passing"
    control["findings"].append(twin)
    code, output, report = _gate(tmp_path, new, baseline)
    assert code == 2 and report is None
    assert "new.json" in output and "appears twice" in output and twin["id"] in output


def test_a_duplicate_across_controls_is_caught_too(baseline):
    new = copy.deepcopy(baseline)
    new["controls"].append(copy.deepcopy(new["controls"][0]))
    with pytest.raises(jsonschema.ValidationError, match="declared twice"):
        validate_results(new)


def test_a_finding_under_a_control_it_does_not_belong_to_is_an_error(baseline, tmp_path):
    new = copy.deepcopy(baseline)
    finding = new["controls"][0]["findings"][0]
    finding["id"] = "no-such-control:" + finding["id"].split(":", 1)[1]
    code, output, _ = _gate(tmp_path, new, baseline)
    assert code == 2
    assert "'no-such-control'" in output and "do not declare" in output


def test_a_third_party_control_declares_itself_and_passes(baseline, tmp_path):
    new = copy.deepcopy(baseline)
    resource = "//cloudsql.googleapis.com/projects/bks-prod/instances/customers-pg"
    new["controls"].append({
        "id": "acme-extra", "title": "A plugin's check", "criteria": ["A1.2"], "policy_clause": "-",
        "status": "pass", "effective_status": "pass", "population": {"total": 1, "in_scope": 1, "not_applicable": 0},
        "findings": [{"id": f"acme-extra:{resource.removeprefix('//')}:r1", "rule": "r1", "resource": resource,
                      "status": "pass", "message": "fine", "observed": {}, "expected": {}, "details": {}, "evidence": []}]})
    both = copy.deepcopy(new)
    code, _, report = _gate(tmp_path, new, both)
    assert code == 0 and report["passed"]


def test_a_control_missing_now_fails_by_default(baseline, tmp_path):
    gone = next(c for c in baseline["controls"] if c["status"] != "pass")  # its failures now look "resolved"
    new = copy.deepcopy(baseline)
    new["controls"] = [c for c in new["controls"] if c["id"] != gone["id"]]
    new["exceptions"]["entries"] = [e for e in new["exceptions"]["entries"] if e["control"] != gone["id"]]  # the register follows
    code, _, report = _gate(tmp_path, new, baseline)
    assert code == 1
    failing = [c for c in report["changes"] if c["failing"]]
    assert [(c["kind"], c["control"]) for c in failing] == [("control-gone", gone["id"])]
    code, _, _ = _gate(tmp_path, new, baseline, "--fail-on", "new-failure")
    assert code == 0  # a chosen --fail-on without it reports it only


def test_no_controls_against_a_failing_baseline_fails(baseline, tmp_path):
    assert _failing(baseline)
    new = copy.deepcopy(baseline)
    new["controls"] = []
    new["exceptions"]["entries"] = []  # the register lists only findings the results hold
    code, _, report = _gate(tmp_path, new, baseline)
    assert code == 1 and not report["passed"]
    gone = {c["control"] for c in report["changes"] if c["kind"] == "control-gone" and c["failing"]}
    assert gone == {c["id"] for c in baseline["controls"]}
    assert "the new results report no controls" in report["notes"]


def test_a_v1_baseline_is_read_as_v2_with_the_same_ids(baseline, tmp_path):
    old = as_v1(baseline)
    with pytest.raises(jsonschema.ValidationError):
        validate_results(old)  # v1 is not v2 ...
    validate_results(old, SCHEMA_V1)  # ... it is v1
    code, output, report = _gate(tmp_path, baseline, old)
    assert code == 0 and report["passed"]  # same findings, same ids: nothing changed
    assert report["changes"] == []
    assert "the baseline results are auditor.results/v1, read as auditor.results/v2 (finding ids unchanged)" in report["notes"]
    mapped = upgrade(old)
    assert [f["rule"] for c in mapped["controls"] for f in c["findings"]] == \
        [f["rule"] for c in baseline["controls"] for f in c["findings"]]


def test_a_v1_change_is_still_seen_through_the_mapping(baseline, tmp_path):
    old = as_v1(baseline)
    control_id, finding_id = _failing(baseline)[0]
    for control in old["controls"]:
        for finding in control["findings"]:
            if finding["id"] == finding_id:
                finding["status"] = "pass"  # it passed in the (older) baseline
    code, _, report = _gate(tmp_path, baseline, old)
    assert code == 1
    assert ("new-failure", finding_id) in {(c["kind"], c["finding"]) for c in report["changes"]}


def test_the_v1_fixture_document_upgrades():
    document = json.loads((FIXTURES / "results_sample.json").read_text())
    validate_results(document, SCHEMA_V1)
    mapped = upgrade(document)
    validate_results(mapped)
    assert {f["id"] for c in mapped["controls"] for f in c["findings"]} == \
        {f["id"] for c in document["controls"] for f in c["findings"]}


def test_a_v1_baseline_that_cannot_be_mapped_says_why(baseline, tmp_path):
    old = as_v1(baseline)
    finding = old["controls"][0]["findings"][0]
    finding["id"] = f"{old['controls'][0]['id']}:somewhere-else:rule"  # valid v1, but not check:resource:rule
    with pytest.raises(UpgradeError, match="rule cannot be recovered"):
        upgrade(old)
    code, output, _ = _gate(tmp_path, baseline, old)
    assert code == 2
    assert "old.json" in output and "cannot be read as auditor.results/v2" in output and "somewhere-else" in output


def test_a_broken_v1_baseline_names_the_v1_schema(baseline, tmp_path):
    old = as_v1(baseline)
    old["controls"][0]["findings"][0]["rule"] = "x"  # v1 forbade unknown properties
    code, output, _ = _gate(tmp_path, baseline, old)
    assert code == 2 and "auditor.results/v1" in output and "rule" in output


@pytest.mark.parametrize("schema", ["auditor.results/v3", None, 7])
def test_an_unknown_schema_is_named(baseline, tmp_path, schema):
    old = copy.deepcopy(baseline)
    old["schema"] = schema
    code, output, _ = _gate(tmp_path, baseline, old)
    assert code == 2 and "declare schema" in output and "auditor.results/v1, auditor.results/v2" in output


def test_results_that_are_not_an_object_exit_2(baseline, tmp_path):
    code, output, _ = _gate(tmp_path, baseline, "[1, 2]")
    assert code == 2 and "not a JSON object" in output


def test_compare_itself_marks_control_gone_failing(baseline):
    new = copy.deepcopy(baseline)
    new["controls"] = []
    report = compare(new, baseline)
    assert not report.passed and report.counts()["control-gone"] == len(baseline["controls"])
    assert {c.resource for c in report.changes if c.kind == "control-gone"} == {f"control:{c['id']}" for c in baseline["controls"]}


def test_a_gone_control_is_named_in_the_junit_file(baseline, tmp_path):
    from junitparser import JUnitXml

    new = copy.deepcopy(baseline)
    new["controls"] = new["controls"][1:]
    kept = {c["id"] for c in new["controls"]}
    new["exceptions"]["entries"] = [e for e in new["exceptions"]["entries"] if e["control"] in kept]  # the register follows
    code, _, _ = _gate(tmp_path, new, baseline, "--junit", str(tmp_path / "gate.xml"))
    assert code == 1
    names = [case.name for suite in JUnitXml.fromfile(str(tmp_path / "gate.xml")) for case in suite]
    assert f"control:{baseline['controls'][0]['id']}" in names
