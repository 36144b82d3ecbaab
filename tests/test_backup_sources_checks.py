"""The backup controls on every engine, backup kind and Backup and DR, end to end over real HTTP.

Small hand-written scenarios served by the simulator, collected with the real clients, judged from the
locker. Each expected verdict is reasoned from the rule, never taken from the tool's output.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

RESTRICTED = {"backup_interval": "24h", "retention_min_days": 5, "retention_max_days": 400, "cross_region": True,
              "encryption": "any", "point_in_time_recovery": True, "restore_test_interval": "30d"}
DB = "//cloudsql.googleapis.com/projects/p-one1/instances/db"


def scenario(instance: dict, *more: dict, backup_project: dict | None = None, **project) -> dict:
    base = {"name": "db", "region": "us-east1", "database_version": "POSTGRES_16", "create_time": "2026-01-01T00:00:00Z",
            "labels": {"data-classification": "restricted"},
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 5, "pitr": True}}
    merged = copy.deepcopy(base)
    for key, value in instance.items():
        merged[key] = {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    projects = [{"id": "p-one1", "number": "1", "sql_instances": [merged, *more], **project}]
    if backup_project:
        projects.append(backup_project)
    return {"name": "t", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-01",
            "organization": {"id": "42", "display_name": "example"}, "projects": projects}


def run(tmp_path, data: dict, policy: dict | None = None, inventory: dict | None = None, validations: list | None = None):
    config = load_config(_sample() / "auditor.yaml")
    classes = dict(config.policy.classifications)
    classes["restricted"] = classes["restricted"].model_validate({**RESTRICTED, **(policy or {})})
    updates = {"gcp": config.gcp.model_copy(update={"projects": ["p-one1"], "monitoring_project": None}),
               "github": None, "inventory": None,
               "policy": config.policy.model_copy(update={"classifications": classes}),
               "period": config.period.model_validate({"start": "2026-09-01", "end": "2026-09-29"})}
    tmp_path.mkdir(parents=True, exist_ok=True)
    if validations is not None:  # the data map carries them
        inventory = {"stores": [], **(inventory or {}), "restore_validations": validations}
    if inventory is not None:
        path = tmp_path / "inventory.yaml"
        path.write_text(yaml.safe_dump({"reviewed": "2026-09-01", **inventory}))
        updates["inventory"] = path
    config = config.model_copy(update=updates)
    with Simulator(parse_scenario(data)) as sim:
        collect(config.with_endpoints(sim.url), tmp_path / "evidence")
    results = evaluate([tmp_path / "evidence"])
    return {c["id"]: {f["resource"]: f for f in c["findings"]} for c in results["controls"]}


def _sample():
    from importlib import resources
    from pathlib import Path

    return Path(str(resources.files("auditor.samples") / "bangkok-solutions"))


# -- point-in-time recovery, per engine -------------------------------------------------------------

@pytest.mark.parametrize("binary_log, status", [(True, "pass"), (False, "fail")])
def test_mysql_point_in_time_recovery_is_its_binary_log(tmp_path, binary_log, status):
    data = scenario({"database_version": "MYSQL_8_0", "backup": {"binary_log": binary_log, "pitr": False}})
    finding = run(tmp_path, data)["backup-retention"][DB]
    assert finding["status"] == status, finding["message"]
    assert finding["observed"]["pitr_enabled"] is binary_log and finding["observed"]["engine"] == "mysql"
    if status == "fail":
        assert "binaryLogEnabled is false" in finding["message"]


def test_immutable_required_fails_cloud_sql_backups_and_final_backup_rule(tmp_path):
    finding = run(tmp_path, scenario({}), policy={"immutable": True, "final_backup_days": 10})["backup-retention"][DB]
    assert finding["status"] == "fail"
    assert "immutable" in finding["message"] and "final_backup_days" in finding["message"]
    kept = run(tmp_path / "2", scenario({"final_backup_days": 30}), policy={"final_backup_days": 10})["backup-retention"][DB]
    assert kept["status"] == "pass", kept["message"]


# -- every backup kind ---------------------------------------------------------------------------------

def test_on_demand_backups_are_placed_and_their_region_judged(tmp_path):
    """Only on-demand backups (created after its first window), one of them in the source's own region."""
    data = scenario({"create_time": "2026-09-29T09:00:00Z", "on_demand": [{"time": "2026-09-29T10:00:00Z", "location": "us-east1"}]})
    findings = run(tmp_path, data)
    placed = findings["backup-cross-region"][DB]
    assert placed["status"] == "fail" and "us-east1" in placed["message"], placed["message"]
    assert placed["observed"]["retained_runs"] == 1  # the on-demand backup, counted once (run and Backups entry)
    assert findings["backup-frequency"][DB]["status"] == "not_applicable"  # its creation day is not a missed day


# -- Backup and DR ------------------------------------------------------------------------------------

BACKUP_PROJECT = {"id": "p-vault1", "number": "9",
                  "backup_vaults": [{"id": "v", "location": "us-west1", "min_retention_days": 7, "locked_from": "2026-01-01T00:00:00Z"}],
                  "backup_plans": [{"id": "daily", "location": "us-west1", "vault": "v", "rules": [{"id": "daily", "retention_days": 60}]}]}
ENHANCED = {"backup": {"tier": "ENHANCED"}, "backupdr": {"plan": "projects/p-vault1/locations/us-west1/backupPlans/daily"}}


def test_enhanced_instance_judged_from_its_backupdr_backups(tmp_path):
    findings = run(tmp_path, scenario(ENHANCED, backup_project=BACKUP_PROJECT))
    for check in ("backup-frequency", "backup-cross-region", "backup-retention", "backup-encryption-parity"):
        finding = findings[check][DB]
        assert finding["status"] == "pass", (check, finding["message"])
        assert "not yet collected" not in finding["message"]
    assert "60 days" in findings["backup-retention"][DB]["message"] and "immutable" in findings["backup-retention"][DB]["message"]


def test_enhanced_required_immutable_fails_on_an_unlocked_vault(tmp_path):
    unlocked = copy.deepcopy(BACKUP_PROJECT)
    del unlocked["backup_vaults"][0]["locked_from"]
    finding = run(tmp_path, scenario(ENHANCED, backup_project=unlocked), policy={"immutable": True})["backup-retention"][DB]
    assert finding["status"] == "fail" and "not locked" in finding["message"]


def test_enhanced_with_its_backup_project_unreadable_is_inconclusive_naming_it(tmp_path):
    denied = {**BACKUP_PROJECT, "permission_denied": ["backupdr"]}
    findings = run(tmp_path, scenario(ENHANCED, backup_project=denied))
    for check in ("backup-frequency", "backup-cross-region", "backup-retention"):
        finding = findings[check][DB]
        assert finding["status"] == "inconclusive", (check, finding["message"])
        assert "projects/p-vault1" in finding["message"]
        assert any(e["scope"] == "projects/p-vault1" for e in finding["details"]["unverified"])


def test_enhanced_failed_runs_are_missed_days(tmp_path):
    data = scenario({**ENHANCED, "backupdr": {**ENHANCED["backupdr"], "failed_from": "2026-09-27"}}, backup_project=BACKUP_PROJECT)
    finding = run(tmp_path, data)["backup-frequency"][DB]
    assert finding["status"] == "fail"
    assert finding["details"]["missed_days"] == ["2026-09-27", "2026-09-28", "2026-09-29"]
    assert "last backup FAILED" in finding["message"]


# -- restore testing ----------------------------------------------------------------------------------

def test_a_clone_is_not_a_restore_test(tmp_path):
    data = scenario({"operations": [{"type": "CLONE", "time": "2026-09-10T10:00:00Z"}]})
    finding = run(tmp_path, data)["restore-testing"][DB]
    assert finding["status"] == "fail" and "not restore tests" in finding["message"]


def test_restore_from_a_backup_with_its_validation_and_time_to_restore(tmp_path):
    data = scenario({"operations": [{"type": "RESTORE_VOLUME", "time": "2026-08-20T10:00:00Z", "backup_id": "111", "minutes": 40},
                                    {"type": "RESTORE_VOLUME", "time": "2026-09-10T10:00:00Z", "backup_id": "222", "minutes": 25}]})
    records = [{"date": "2026-08-20", "store": DB, "backup_id": "111", "check": "row counts", "result": "pass", "by": "dba"},
               {"date": "2026-09-10", "store": DB, "backup_id": "222", "check": "row counts", "result": "fail", "by": "dba"}]
    finding = run(tmp_path, data, validations=records)["restore-testing"][DB]
    # Aug 20 covers to Sep 19; Sep 10's restore was found wrong, so Sep 20..29 are uncovered
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["uncovered_days"][0] == "2026-09-20"
    (test,) = finding["observed"]["restore_tests"]
    assert (test["backup"], test["minutes_to_restore"], test["validated_by"]) == ("111", 40, "dba")
    assert finding["observed"]["failed_restores"][0]["validation_result"] == "fail"


def test_a_restore_into_the_scratch_instance_the_data_map_names_counts(tmp_path):
    scratch = {"name": "db-restore", "region": "us-west1", "database_version": "POSTGRES_16", "create_time": "2026-01-01T00:00:00Z",
               "labels": {"data-classification": "internal"},
               "operations": [{"type": "RESTORE_VOLUME", "time": "2026-09-01T00:30:00Z", "backup_id": "333"}]}
    inventory = {"stores": [{"resource": DB, "classification": "restricted", "owner": "dba", "backup": "cloudsql-automated",
                             "restore_targets": [DB + "-restore"]},
                            {"resource": DB + "-restore", "classification": "internal", "owner": "dba", "backup": "none"}]}
    with_target = run(tmp_path, scenario({}, scratch), inventory=inventory)["restore-testing"][DB]
    assert with_target["status"] == "pass", with_target["message"]
    assert with_target["observed"]["restore_tests"][0]["into"] == DB + "-restore"
    inventory["stores"][0]["restore_targets"] = []
    without = run(tmp_path / "2", scenario({}, scratch), inventory=inventory)["restore-testing"][DB]
    assert without["status"] == "fail"


def test_backupdr_restore_verifications_are_restore_tests(tmp_path):
    data = scenario({**ENHANCED, "backupdr": {**ENHANCED["backupdr"], "verified_every_days": 7}}, backup_project=BACKUP_PROJECT)
    finding = run(tmp_path, data)["restore-testing"][DB]
    assert finding["status"] == "pass", finding["message"]
    assert all(t["type"] == "BACKUPDR_VERIFICATION" for t in finding["observed"]["restore_tests"])
