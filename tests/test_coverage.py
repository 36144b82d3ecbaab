"""Policy coverage matrix: every promise of the sample policy is accounted for; results.json carries it."""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

from auditor.config import PolicyPromise, load_config
from auditor.coverage import coverage_matrix
from auditor.errors import ConfigError
from auditor.results import upgrade, validate_results

FIXTURES = Path(__file__).parent / "fixtures"
POLICY = Path("/work/shared/seeds/backup-policy.txt")


def controls(**statuses):
    return [{"id": cid, "status": st, "effective_status": st} for cid, st in statuses.items()]


def test_result_is_the_worst_check_manual_or_not_tested():
    promises = [PolicyPromise(text="a", checks=["backup-enabled", "backup-frequency"]),
                PolicyPromise(text="b", manual="laptops"),
                PolicyPromise(text="c", checks=["backup-monitoring"], note="Cloud SQL does not alert by itself"),
                PolicyPromise(text="d", checks=["backup-enabled", "backup-retention"], manual="legal review")]
    matrix = coverage_matrix(promises, controls(**{"backup-enabled": "pass", "backup-frequency": "inconclusive", "restore-testing": "fail"}))
    rows = matrix["promises"]
    assert [r["result"] for r in rows] == ["inconclusive", "manual", "not_tested", "pass"]
    assert rows[2]["missing_checks"] == ["backup-monitoring"] and rows[2]["note"]
    assert rows[3]["missing_checks"] == ["backup-retention"] and rows[3]["manual"] == "legal review"
    assert matrix["controls_beyond_policy"] == ["restore-testing"]
    assert [r["id"] for r in rows] == ["P01", "P02", "P03", "P04"]


def test_a_promise_needs_checks_or_a_manual_reason():
    with pytest.raises(ValueError, match="manual"):
        PolicyPromise(text="untested promise")


def test_sample_config_quotes_every_promising_sentence_of_the_policy(sample_dir):
    promises = load_config(sample_dir / "auditor.yaml").policy.promises
    quoted = " ".join(p.text for p in promises)
    assert "Backups are monitored and alerted by Google Cloud SQL." in quoted
    monitoring = next(p for p in promises if "monitored and alerted" in p.text)
    assert "does not alert" in monitoring.note and monitoring.checks == ["backup-monitoring"]
    assert any("end-user" in p.text and p.manual and not p.checks for p in promises)
    if POLICY.is_file():  # the seed policy, when the shared folder is present
        text = POLICY.read_text().replace("\xa0", " ")
        body = text.split("Bangkok Solutions policy requires that:")[1].split("Revision History")[0]
        sentences = [s.strip() for s in re.split(r"(?<=\.)\s+|\n", body) if s.strip().endswith(".")]
        for sentence in sentences:
            sentence = sentence.lstrip("• ").strip()
            if sentence.endswith("requirements."):
                sentence = "Data retention period must be defined and comply with any and all applicable regulatory and contractual requirements."
            assert sentence in quoted, sentence


def test_unknown_promise_key_is_a_config_error(tmp_path, sample_dir):
    text = (sample_dir / "auditor.yaml").read_text().replace("      manual: \"End-user", "      manaul: x\n      manual: \"End-user", 1)
    path = tmp_path / "auditor.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="manaul"):
        load_config(path)


def test_schema_accepts_the_optional_matrix_and_rejects_a_bad_result():
    results = upgrade(json.loads((FIXTURES / "results_sample.json").read_text()))  # the fixture is a v1 document
    validate_results(results)  # still optional
    promises = [PolicyPromise(text="By default, data will be backed up daily.", checks=["backup-frequency"])]
    results["policy_coverage"] = coverage_matrix(promises, results["controls"])
    validate_results(results)
    broken = copy.deepcopy(results)
    broken["policy_coverage"]["promises"][0]["result"] = "looks fine"
    with pytest.raises(jsonschema.ValidationError):
        validate_results(broken)
    broken = copy.deepcopy(results)
    broken["policy_coverage"]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_results(broken)
