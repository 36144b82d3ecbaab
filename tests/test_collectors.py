"""Collectors over real HTTP: google-api-python-client against the simulator, through the capture layer."""

import json
from pathlib import Path

import yaml

from auditor.collectors import cloudsql
from auditor.collectors import logging as logging_collector
from auditor.config import load_config
from auditor.evidence.locker import Locker
from auditor.facts import build_facts
from auditor.facts.known import known_items
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator, load_scenario


def scenario_variant(sample_dir: Path, tmp_path: Path, change) -> Path:
    data = yaml.safe_load((sample_dir / "scenario.yaml").read_text())
    change(data)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def collect_from(sample_dir, scenario_path, out: Path):
    config = load_config(sample_dir / "auditor.yaml")
    with Simulator(load_scenario(scenario_path), port=0) as simulator:
        gcp_only = config.model_copy(update={"github": None})  # these tests are about the Google collectors
        collection = collect(gcp_only.with_endpoints(simulator.url), out / "evidence")
        stats = dict(simulator.stats)
    return collection, stats


def project(data, project_id):
    return next(p for p in data["projects"] if p["id"] == project_id)


def test_tiny_pages_collect_the_same_facts_as_large_pages(sample_dir, sample_google_collection, tmp_path, monkeypatch):
    big = sample_google_collection.collection  # the sample with default page sizes, collected once per session
    monkeypatch.setattr(cloudsql, "PAGE_SIZE", 1)
    monkeypatch.setattr(logging_collector, "PAGE_SIZE", 25)
    small, stats = collect_from(sample_dir, sample_dir / "scenario.yaml", tmp_path / "small")

    calls = {(c["method"], c["scope"]): c for c in small.manifest["calls"]}
    assert len(calls[("instances.list", "projects/bks-prod")]["items"]) >= 3  # one instance a page
    assert len(calls[("entries.list", "projects/bks-prod")]["items"]) > 5
    deliberate = {"projects/bks-legacy", "projects/bks-sandbox"}  # denied and disabled in the sample, on purpose
    assert all(c["outcome"] == "ok" for c in small.manifest["calls"] if c["scope"] not in deliberate
               and (c["api"], c["scope"]) != ("backupdr", "projects/bks-ops"))  # Backup and DR is disabled there (sql2)

    facts_big = build_facts([Locker(big.evidence_dir)])
    facts_small = build_facts([Locker(small.evidence_dir)])
    def every(facts, name):  # the items of every scope read in full
        collection = getattr(facts, name)
        return known_items(collection.over(collection.scopes()))[0]

    assert sorted(i.resource for i in every(facts_small, "sql_instances")) == sorted(i.resource for i in every(facts_big, "sql_instances"))
    for name in ("backup_windows", "backup_runs"):
        assert sorted(a.key for a in every(facts_small, name)) == sorted(a.key for a in every(facts_big, name))
    assert len(every(facts_big, "backup_windows")) + len(every(facts_big, "backup_runs")) > 300


def test_audit_log_query_is_filtered_server_side(sample_google_collection):
    collection = sample_google_collection.collection
    locker = Locker(collection.evidence_dir)
    (call,) = [c for c in locker.calls("logging", "entries.list") if c["scope"] == "projects/bks-prod"]
    assert 'protoPayload.methodName="cloudsql.instances.automatedBackup"' in call["params"]["filter"]
    entries = [e for item in call["items"] for e in json.loads(locker.body(item)).get("entries", [])]
    assert entries
    methods = {e["protoPayload"]["methodName"] for e in entries}
    # the Cloud SQL trail (with billing-pg's point-in-time clones, sql2, issue 14), and the alerting changes (the
    # sample switches bks-prod's alert policy off for two weeks)
    assert methods <= {"cloudsql.instances.automatedBackup", "cloudsql.instances.update", "cloudsql.instances.clone",
                       "google.monitoring.v3.AlertPolicyService.UpdateAlertPolicy"}
    assert "google.monitoring.v3.AlertPolicyService.UpdateAlertPolicy" in methods
    # the scenario's history starts 2026-06-20; the query asks from 2026-06-30 only
    assert min(e["timestamp"] for e in entries) >= "2026-06-30T00:00:00"
    assert all(e["resource"]["labels"]["project_id"] == "bks-prod" for e in entries)


def test_disabled_logging_api_makes_days_unknown_not_passing(sample_dir, tmp_path):
    path = scenario_variant(sample_dir, tmp_path, lambda d: project(d, "bks-prod").update(apis_disabled=["logging"]))
    collection, _ = collect_from(sample_dir, path, tmp_path)
    assert not collection.complete
    # the project's query, and the own history query of each KMS key kept there (billing, invoices, the vault's)
    failed = {c["scope"]: c for c in collection.failed_calls if c["method"] == "entries.list"}
    assert sorted(failed) == ["projects/bks-prod", "projects/bks-prod/locations/us-central1/keyRings/sql/cryptoKeys/billing",
                              "projects/bks-prod/locations/us-east1/keyRings/sql/cryptoKeys/invoices",
                              "projects/bks-prod/locations/us-west1/keyRings/vault/cryptoKeys/backups"]
    failed = failed["projects/bks-prod"]
    assert (failed["api"], failed["scope"], failed["error"]["kind"], failed["error"]["reason"]) == (
        "logging", "projects/bks-prod", "service_disabled", "SERVICE_DISABLED")
    results = evaluate([collection.evidence_dir])
    (parity,) = [c for c in results["controls"] if c["id"] == "backup-encryption-parity"]
    billing = {f["resource"]: f for f in parity["findings"]}["//cloudsql.googleapis.com/projects/bks-prod/instances/billing-pg"]
    # its key's history could not be read: only the read's own moment (and its retained backups' days) are known
    assert billing["status"] == "inconclusive" and billing["details"]["unknown_days"], billing["message"]
    (frequency,) = [c for c in results["controls"] if c["id"] == "backup-frequency"]
    by_resource = {f["resource"]: f for f in frequency["findings"]}
    customers = by_resource["//cloudsql.googleapis.com/projects/bks-prod/instances/customers-pg"]
    assert customers["status"] == "inconclusive"
    assert "logging entries.list for projects/bks-prod: the API is disabled (SERVICE_DISABLED)" in customers["message"]
    assert customers["details"]["coverage"]["succeeded"] > 0  # the retained runs still count
    assert frequency["status"] != "pass"
    # the other project is unaffected: its instance is judged as the scenario's hand-written expectation says
    staging = "//cloudsql.googleapis.com/projects/bks-analytics/instances/staging-pg"
    expected = yaml.safe_load((sample_dir / "scenario.yaml").read_text())["expect"]["backup-frequency"][staging]
    expected = {"status": expected} if isinstance(expected, str) else expected
    assert by_resource[staging]["status"] == expected["status"]
    assert by_resource[staging]["details"].get("unknown_days", []) == [str(d) for d in expected.get("unknown_days", [])]


def test_denied_admin_api_is_inconclusive_for_the_project(sample_dir, tmp_path):
    path = scenario_variant(sample_dir, tmp_path, lambda d: project(d, "bks-analytics").update(permission_denied=["sqladmin"]))
    collection, _ = collect_from(sample_dir, path, tmp_path)
    results = evaluate([collection.evidence_dir])
    sql_controls = {"backup-enabled", "backup-frequency", "backup-cross-region", "backup-encryption-parity",
                    "backup-retention", "restore-testing", "backup-monitoring"}
    for control in (c for c in results["controls"] if c["id"] in sql_controls):
        by_resource = {f["resource"]: f for f in control["findings"]}
        project_finding = by_resource["//cloudresourcemanager.googleapis.com/projects/bks-analytics"]
        assert project_finding["status"] == "inconclusive"
        assert "permission was denied (IAM_PERMISSION_DENIED)" in project_finding["message"]
        # the asset index still shows its instances: they are listed, but only as inconclusive
        assert all(f["status"] == "inconclusive" for r, f in by_resource.items() if "bks-analytics/instances" in r)
        assert control["status"] in ("fail", "inconclusive")


def test_call_records_carry_identity_scope_and_times(sample_google_collection):
    collection = sample_google_collection.collection
    for call in collection.manifest["calls"]:
        assert call["identity"] == "anonymous"
        assert call["scope"].startswith(("projects/", "organizations/", "buckets/", "inventory"))
        assert call["started_at"] <= call["ended_at"]
        if call["api"] not in ("inventory", "git"):  # local reads have no server clock
            assert call["server_date"].startswith("2026-09-30T02:0")
    for item in collection.manifest["items"]:
        assert item["url"].startswith(("http://127.0.0.1:", "file://"))
        assert len(item["sha256"]) == 64
