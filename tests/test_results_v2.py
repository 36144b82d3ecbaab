"""results.json v2: what the schema adds beyond v1, and the control whose population is declared empty."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from auditor.checks_api import discover_checks
from auditor.config import load_config
from auditor.errors import ConfigError
from auditor.results import SCHEMA_ID, Finding, load_schema, validate_results
from auditor.runner import _control, evaluate


@pytest.fixture(scope="module")
def results(sample_google_collection):
    return evaluate([sample_google_collection.collection.evidence_dir])


def test_v2_is_shipped_and_strict_where_v1_was():
    v1, v2 = load_schema("auditor.results/v1"), load_schema()
    assert v2["properties"]["schema"] == {"const": SCHEMA_ID}
    assert v2["additionalProperties"] is False
    for name in ("control", "finding"):
        assert v2["$defs"][name]["additionalProperties"] is False
        assert set(v1["$defs"][name]["properties"]) <= set(v2["$defs"][name]["properties"])
    for name in ("provenance", "exceptions", "frequency", "coverage", "response"):
        assert v2["$defs"][name]["additionalProperties"] is False, name


def _first(document, status=None):
    return next(f for c in document["controls"] for f in c["findings"] if status is None or f["status"] == status)


def test_v2_objects_validate_and_unknown_keys_in_them_do_not(results):
    document = copy.deepcopy(results)
    finding = _first(document, "fail")
    control = next(c for c in document["controls"] if finding in c["findings"])
    # the tool's own provenance and register (their required fields), with a management response added
    assert document["provenance"]["simulated"] is True and document["exceptions"]["entries"]
    entry = document["exceptions"]["entries"][0]
    entry["response"] = {"response": "Re-enabled on Oct 2", "owner": "cto@bks.example", "due": "2026-10-15",
                         "approved": "2026-10-03"}
    control["frequency"] = {"declared": "daily", "interval_hours": 24, "source": "policy.classifications.restricted"}
    control["coverage"] = {"days": {"succeeded": 80, "unknown": 12}, "complete": False}
    finding["store_type"] = "cloudsql"
    validate_results(document)
    places = [lambda d: d["provenance"], lambda d: d["provenance"]["operator"], lambda d: d["exceptions"]["entries"][0],
              lambda d: d["exceptions"]["entries"][0]["response"],
              lambda d: _control_of(d, control["id"]), lambda d: _control_of(d, control["id"])["frequency"],
              lambda d: _control_of(d, control["id"])["coverage"],
              lambda d: next(f for f in _control_of(d, control["id"])["findings"] if f["id"] == finding["id"])]
    for place in places:
        broken = copy.deepcopy(document)
        place(broken)["colour"] = 1
        with pytest.raises(jsonschema.ValidationError, match="colour"):
            validate_results(broken)


def _control_of(document, control_id):
    return next(c for c in document["controls"] if c["id"] == control_id)


def test_day_states_are_typed(results):
    document = copy.deepcopy(results)
    finding = next(f for c in document["controls"] for f in c["findings"] if isinstance(f["details"].get("days"), dict)
                   and f["details"]["days"])
    day = next(iter(finding["details"]["days"]))
    finding["details"]["days"][day] = "probably fine"
    with pytest.raises(jsonschema.ValidationError):
        validate_results(document)
    finding["details"]["days"] = {"Sept 1": "kept"}
    with pytest.raises(jsonschema.ValidationError):
        validate_results(document)


def test_an_exception_for_a_finding_the_results_lack_is_an_error(results):
    document = copy.deepcopy(results)
    control = document["controls"][0]
    entry = document["exceptions"]["entries"][0]
    entry.update(finding=f"{control['id']}:nowhere:rule", control=control["id"], resource="nowhere")
    with pytest.raises(jsonschema.ValidationError, match="do not contain"):
        validate_results(document)


def test_a_declared_empty_population_is_not_applicable_with_its_reason(sample_dir):
    config = load_config(sample_dir / "auditor.yaml")
    (check,) = [c for c in discover_checks() if c.id == "source-backup-coverage"]
    assert _control(check, [], config)["status"] == "inconclusive"  # nothing in scope, nothing declared
    policy = config.policy.model_copy(update={"empty_populations": ["source-backup-coverage"]})
    declared = config.model_copy(update={"policy": policy})
    control = _control(check, [], declared)
    assert control["status"] == "not_applicable" and control["population"]["declared_empty"] is True
    assert "policy.empty_populations" in control["not_applicable_reason"]
    # a declaration never hides what was found: an inconclusive finding keeps the control inconclusive
    gap = Finding(check=check.id, resource="github.com/o", rule="listing", status="inconclusive", message="unread")
    assert _control(check, [gap], declared)["status"] == "inconclusive"


def test_empty_populations_must_name_check_ids(sample_dir, tmp_path):
    text = (sample_dir / "auditor.yaml").read_text().replace("policy:\n", "policy:\n  empty_populations: [\"Source Backups\"]\n", 1)
    assert "empty_populations" in text
    path = tmp_path / "auditor.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="not a check id"):
        load_config(path)


def test_every_not_applicable_finding_carries_its_reason(results):
    """Schema v2's finding-level not_applicable_reason: present and non-empty on each not_applicable finding, the
    check's own reason where it gives one (a replica), absent on the others."""
    by_status: dict[str, list[dict]] = {}
    for control in results["controls"]:
        for finding in control["findings"]:
            by_status.setdefault(finding["status"], []).append(finding)
    assert by_status.get("not_applicable"), "the sample has not_applicable findings"
    for finding in by_status["not_applicable"]:
        assert isinstance(finding.get("not_applicable_reason"), str) and finding["not_applicable_reason"].strip(), finding["id"]
    for status in ("pass", "fail", "inconclusive"):
        assert all("not_applicable_reason" not in f for f in by_status.get(status, ())), status
    replicas = [f for f in by_status["not_applicable"] if "read replica of" in f["message"]]
    assert replicas and all(f["not_applicable_reason"].startswith("a read replica") for f in replicas
                            if not f["id"].startswith("inventory-"))


def test_a_finding_without_a_given_reason_falls_back_to_its_message():
    finding = Finding("c", "//x/y", "r", "not_applicable", "y is excluded from the data map (a test fixture).")
    assert finding.as_dict()["not_applicable_reason"] == "y is excluded from the data map (a test fixture)."
    given = Finding("c", "//x/y", "r", "not_applicable", "message", not_applicable_reason="out of scope: a fork")
    assert given.as_dict()["not_applicable_reason"] == "out of scope: a fork"
    parity = Finding("c", "//x/y", "r", "not_applicable", "message", details={"not_applicable_reason": "backups disabled"})
    assert parity.as_dict()["not_applicable_reason"] == "backups disabled"  # the details keep it too (reports read them)
    assert parity.as_dict()["details"]["not_applicable_reason"] == "backups disabled"
    assert "not_applicable_reason" not in Finding("c", "//x/y", "r", "pass", "ok").as_dict()
