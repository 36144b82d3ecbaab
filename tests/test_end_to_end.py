"""The sample company end to end, over real HTTP: simulator -> client libraries -> locker -> checks -> pack.

Verdicts are compared with the scenario's hand-written `expect:` section, never with the tool's own
earlier output.
"""

import json
import shutil

import pytest
import yaml

from auditor.evidence.locker import Locker
from auditor.results import validate_results
from auditor.runner import evaluate


@pytest.fixture(scope="module")
def demo_pack(sample_pack):
    """The session's one sample pack (tests/conftest.py): the folder, the run's outcome and the simulator's request counts."""
    return sample_pack.out, sample_pack.outcome, sample_pack.stats


@pytest.fixture(scope="module")
def expectations(sample_dir):
    return yaml.safe_load((sample_dir / "scenario.yaml").read_text())["expect"]


def findings_by_resource(results, check_id):
    (control,) = [c for c in results["controls"] if c["id"] == check_id]
    return {f["resource"]: f for f in control["findings"]}


def test_pack_files_are_written(demo_pack):
    out, outcome, _ = demo_pack
    for name in ("results.json", "report.html", "report.pdf", "evidence/manifest.json", "pack-manifest.json", "SHA256SUMS"):
        assert (out / name).is_file(), name
    # The sample company denies Cloud SQL and Storage to the identity in bks-legacy and has the Cloud SQL
    # Admin API disabled in bks-sandbox: exactly those calls fail, each with its reason (and Backup and DR in bks-ops).
    failed = {(c["api"], c["method"], c["scope"], c["error"]["reason"]) for c in outcome.collection.failed_calls}
    assert failed == {
        ("sqladmin", "instances.list", "projects/bks-legacy", "IAM_PERMISSION_DENIED"),
        ("sqladmin", "backupRuns.list", "projects/bks-legacy", "IAM_PERMISSION_DENIED"),
        ("sqladmin", "Backups.list", "projects/bks-legacy", "IAM_PERMISSION_DENIED"),
        ("storage", "buckets.list", "projects/bks-legacy", "IAM_PERMISSION_DENIED"),
        ("sqladmin", "instances.list", "projects/bks-sandbox", "SERVICE_DISABLED"),
        ("sqladmin", "backupRuns.list", "projects/bks-sandbox", "SERVICE_DISABLED"),
        ("sqladmin", "Backups.list", "projects/bks-sandbox", "SERVICE_DISABLED"),
        # sql2 (issue 14): the Backup and DR API is disabled in the monitoring project bks-ops
        *{("backupdr", method, "projects/bks-ops", "SERVICE_DISABLED")
          for method in ("backupVaults.list", "backupPlans.list", "backupPlanAssociations.list", "resourceBackupConfigs.list",
                         "restoreVerificationPlans.list", "operations.list")},
    }


def test_results_match_the_scenarios_expectations(demo_pack, expectations):
    results = demo_pack[1].results
    compared = 0
    for check_id, resources in expectations.items():
        findings = findings_by_resource(results, check_id)
        for resource, expected in resources.items():
            expected = {"status": expected} if isinstance(expected, str) else expected
            assert resource in findings, f"{check_id}: no finding for {resource}"
            finding = findings[resource]
            assert finding["status"] == expected["status"], f"{check_id} {resource}: {finding['message']}"
            for key in ("missed_days", "stopped_days", "unknown_days", "exception_days"):
                if key in expected:
                    assert finding["details"][key] == [str(d) for d in expected[key]], f"{check_id} {resource} {key}"
            compared += 1
        unexpected = set(findings) - set(resources)
        assert not unexpected, f"{check_id}: findings the scenario does not state: {sorted(unexpected)}"
    assert compared >= 100


def test_results_validate_against_the_published_schema(demo_pack):
    out = demo_pack[0]
    validate_results(json.loads((out / "results.json").read_text()))


def test_every_day_of_the_period_has_a_state(demo_pack):
    findings = findings_by_resource(demo_pack[1].results, "backup-frequency")
    billing = findings["//cloudsql.googleapis.com/projects/bks-prod/instances/billing-pg"]
    days = billing["details"]["days"]
    assert len(days) == 92 and min(days) == "2026-07-01" and max(days) == "2026-09-30"
    assert days["2026-07-01"] == "kept"  # its window succeeded
    assert days["2026-09-30"] == "not_due"  # the scenario clock is 02:00 on the last day
    assert "2026-08-11..2026-08-13" in billing["message"]


def test_evidence_records_each_call_with_hashes(demo_pack):
    out = demo_pack[0]
    locker = Locker(out / "evidence")
    methods = {(c["api"], c["method"], c["scope"]) for c in locker.calls()}
    assert ("sqladmin", "backupRuns.list", "projects/bks-prod") in methods
    assert ("logging", "entries.list", "projects/bks-analytics") in methods
    for call in locker.calls():
        assert call["items"], call  # a failed call keeps its error body as evidence too
        for item_id in call["items"]:
            locker.body(item_id)  # raises if the stored bytes do not match the recorded SHA-256
    # the simulator's clock (scenario now + real seconds since it started), from the Date header
    assert "2026-09-30T02:00:00Z" <= locker.manifest["as_of"] < "2026-09-30T02:01:00Z"
    assert locker.manifest["config"]["organization"] == "Bangkok Solutions"


def test_instance_dash_lists_all_runs_in_one_call_per_project(demo_pack):
    out, _, stats = demo_pack
    calls = [c for c in Locker(out / "evidence").calls("sqladmin", "backupRuns.list")]
    projects = {c["scope"] for c in Locker(out / "evidence").calls("sqladmin", "instances.list")}
    # bks-prod, -analytics, -platform, -ops (configured or discovered), -data, -legacy, -sandbox, -backup (its vault keys are indexed)
    assert len(projects) == 8
    assert {c["scope"] for c in calls} == projects and len(calls) == len(projects)  # one per project, never per instance
    assert all(c["params"]["instance"] == "-" for c in calls)
    backup_run_requests = sum(n for key, n in stats.items() if "backupRuns" in str(key))
    assert backup_run_requests == sum(len(c["items"]) for c in calls)  # every request is one page of those calls


def test_check_reperforms_from_the_locker_alone(demo_pack, tmp_path):
    out, outcome, _ = demo_pack
    copy = tmp_path / "evidence"
    shutil.copytree(out / "evidence", copy)  # no config, no simulator: only the locker
    again = evaluate([copy])
    first = dict(outcome.results)
    first.pop("generated_at"), again.pop("generated_at")
    assert again == first


def test_tampered_evidence_is_refused(demo_pack, tmp_path):
    out = demo_pack[0]
    copy = tmp_path / "evidence"
    shutil.copytree(out / "evidence", copy)
    item = next((copy / "items").iterdir())
    item.write_bytes(item.read_bytes().replace(b"SUCCEEDED", b"SUCCEEDEX", 1) + b" ")
    from auditor.errors import EvidenceError

    with pytest.raises(EvidenceError, match="SHA-256"):
        evaluate([copy])


def test_sha256sums_cover_the_pack(demo_pack):
    import hashlib

    out = demo_pack[0]
    listed = {}
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_each_kms_key_is_read_once_however_many_backups_use_it(demo_pack):
    stats = demo_pack[2]
    key = "GET /v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}"
    # billing, ledger, orders, events, archive, invoices, payments, treasury, and the two Backup and DR vaults' keys
    assert stats[("cloudkms", key)] == 10
    assert stats[("cloudkms", key + "/cryptoKeyVersions")] == 10
    # one operations listing per primary the identity can see: 6 in bks-prod/-analytics, 7 in bks-platform (with
    # kms's treasury-pg and inv's intake-pg), 6 in bks-data
    assert stats[("sqladmin", "GET /v1/projects/{project}/operations")] == 19
