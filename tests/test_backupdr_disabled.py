"""A project where the Backup and DR API is disabled (issue 14): not applicable where nothing depends on it,
inconclusive (naming the project and the store) where something does, and never a new pass.

Real collections over HTTP against the simulator (the two-project spine of the sample company): one
fault-free, one with backupdr disabled in bks-analytics (no ENHANCED instance), one with it disabled in
bks-prod (invoices-pg is on the ENHANCED tier, protected by a plan and a vault in bks-prod).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from auditor.facts.build import assemble
from auditor.facts.model import CallGap
from auditor.facts.sources.backupdr import dependents
from auditor.simulator import Simulator
from testkit import fast_policy, run_against, spine_scenario

BACKUPDR_CHECKS = ("backup-frequency", "backup-cross-region", "backup-encryption-parity", "backup-retention", "restore-testing")
INVOICES = "//cloudsql.googleapis.com/projects/bks-prod/instances/invoices-pg"


def _disabled_in(sample_dir, project: str | None):
    scenario = spine_scenario(sample_dir)
    if project is None:
        return scenario
    projects = [p.model_copy(update={"apis_disabled": [*p.apis_disabled, "backupdr"]}) if p.id == project else p
                for p in scenario.projects]
    return scenario.model_copy(update={"projects": projects})


def _findings(results) -> dict[tuple[str, str, str], dict]:
    return {(c["id"], f["resource"], f["rule"]): f for c in results["controls"] for f in c["findings"]}


@pytest.fixture(scope="module")
def runs(sample_dir, tmp_path_factory):
    out = {}
    with fast_policy():
        for name in (None, "bks-analytics", "bks-prod"):
            with Simulator(_disabled_in(sample_dir, name), port=0) as sim:
                _, results, _ = run_against(sample_dir, sim, tmp_path_factory.mktemp(name or "clean"))
            out[name] = _findings(results)
    return out


def _no_new_pass(clean, faulted):
    for key, finding in faulted.items():
        if finding["status"] == "pass":
            assert key in clean and clean[key]["status"] == "pass", f"{key} passes only with backupdr disabled"


def test_disabled_where_nothing_uses_it_is_not_applicable_for_that_project(runs):
    clean, faulted = runs[None], runs["bks-analytics"]
    project = "//cloudresourcemanager.googleapis.com/projects/bks-analytics"
    for check in BACKUPDR_CHECKS:
        finding = faulted[(check, project, "disabled:backupdr")]
        assert finding["status"] == "not_applicable", finding["message"]
        assert "disabled in project bks-analytics" in finding["message"]
        assert finding["observed"]["dependent_stores"] == []
        # no generic project-level inconclusive for the same calls
        assert not [k for k in faulted if k[0] == check and k[1] == project and k[2].startswith("unverified:backupdr")]
    _no_new_pass(clean, faulted)
    # every other finding keeps its status: nothing in bks-analytics rested on Backup and DR
    for key, finding in clean.items():
        assert faulted[key]["status"] == finding["status"], key


def test_disabled_where_an_enhanced_instance_depends_on_it_stays_inconclusive(runs):
    clean, faulted = runs[None], runs["bks-prod"]
    project = "//cloudresourcemanager.googleapis.com/projects/bks-prod"
    for check in BACKUPDR_CHECKS:
        own = [f for k, f in faulted.items() if k[0] == check and k[1] == INVOICES]
        assert own and all(f["status"] == "inconclusive" for f in own), check
        named = faulted.get((check, project, "disabled:backupdr"))
        if named is not None:  # the calls the instance's own finding did not cite
            assert named["status"] == "inconclusive"
            assert "invoices-pg depends on it" in named["message"] and "bks-prod" in named["message"]
    assert not [f for k, f in faulted.items() if k[1] == project and f["status"] == "not_applicable"
                and k[2] == "disabled:backupdr"]
    _no_new_pass(clean, faulted)


def test_a_project_whose_cloud_sql_listing_was_not_read_cannot_be_ruled_out():
    as_of = datetime(2026, 7, 11, tzinfo=timezone.utc)
    gap = CallGap("sqladmin", "instances.list", "projects/p", "permission_denied", "IAM_PERMISSION_DENIED", "no", 403, "c-1")
    facts = assemble(as_of, ["p"], gaps=[gap])
    assert dependents(facts, "p") is None
    read = assemble(as_of, ["p"], items={"sql_instances": []}, answered=[("sqladmin", "instances.list", "projects/p")])
    assert dependents(read, "p") == []
