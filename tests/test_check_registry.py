"""The built-in checks are the contract's: every id present, each with its metadata, none extra."""

import re

from auditor.checks import BUILTIN
from auditor.checks_api import discover_checks

CONTRACT_IDS = {
    "backup-enabled", "backup-frequency", "backup-cross-region", "backup-encryption-parity", "backup-retention",
    "backup-monitoring", "restore-testing", "inventory-completeness", "inventory-classification",
    "source-backup-coverage", "source-backup-freshness", "source-backup-integrity",
}


def test_every_contract_check_id_is_built_in():
    ids = [check.id for check in BUILTIN]
    assert set(ids) == CONTRACT_IDS
    assert len(ids) == len(set(ids))


def test_each_check_states_its_criteria_clause_and_needs():
    for check in discover_checks():
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", check.id)
        assert check.criteria and all(re.fullmatch(r"(CC\d\.\d|A1\.\d)", c) for c in check.criteria), check.id
        assert check.title and check.description and check.needs, check.id
    for check in BUILTIN:  # a built-in carries no company's words: clauses come from policy.clauses
        assert check.policy_clause == "", check.id
    by_id = {c.id: c for c in BUILTIN}
    assert by_id["restore-testing"].beyond_policy  # the written policy promises no restore tests
    assert "A1.3" in by_id["restore-testing"].criteria and "A1.3" in by_id["source-backup-integrity"].criteria
