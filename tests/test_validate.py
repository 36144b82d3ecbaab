"""`auditor validate` (offline and against the simulator), the shipped config schema, and `auditor roles`."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import yaml
from typer.testing import CliRunner

from auditor import config_schema, permissions, yamlsafe
from auditor.cli import app
from auditor.simulator import Simulator, load_scenario

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def test_every_error_of_every_file_at_once(tmp_path):
    (tmp_path / "inventory.yaml").write_text(
        "reviewed: 2026-06-30\nowner: ops\nstores:\n"
        "  - {resource: //storage.googleapis.com/a, classification: restriced, owner: ops}\n"
        "  - {resource: //storage.googleapis.com/b, clasification: restricted, owner: ops}\n")
    (tmp_path / "waivers.yaml").write_text("waivers:\n  - {control: backup-enabled, resource: x, reason: r, approver: a, ticket: T, expire: 2026-12-31}\n")
    (tmp_path / "auditor.yaml").write_text(
        "organization: X\nperiod: {quarter: 2026-Q3}\ngcp: {projects: [p], credentials: anonymous, projetcs: [q]}\n"
        "policy:\n  classifications:\n    restricted: {backup_interval: 24h}\n  countri: US\n"
        "inventory: inventory.yaml\nwaivers: waivers.yaml\n")
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "auditor.yaml")])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert any("auditor.yaml:3: gcp.projetcs: unknown key (did you mean 'projects'?)" in e for e in errors)
    assert any("auditor.yaml:7: policy.countri: unknown key (did you mean 'country'?)" in e for e in errors)
    assert any("inventory.yaml:5: stores.1.clasification: unknown key (did you mean 'classification'?)" in e for e in errors)
    assert any("waivers.yaml:2: waivers.0.expire: unknown key (did you mean 'expires'?)" in e for e in errors)
    assert len(errors) >= 5


def test_a_data_map_class_the_policy_lacks_is_named(tmp_path):
    (tmp_path / "inventory.yaml").write_text(
        "reviewed: 2026-06-30\nowner: ops\nstores:\n"
        "  - resource: //storage.googleapis.com/a\n    classification: restriced\n    owner: ops\n")
    (tmp_path / "auditor.yaml").write_text("organization: X\nperiod: {quarter: 2026-Q3}\ngcp: {projects: [p]}\n"
                                           "policy: {classifications: {restricted: {}}}\ninventory: inventory.yaml\n")
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "auditor.yaml")])
    assert result.exit_code == 2
    assert "inventory.yaml:5: stores.0.classification: 'restriced' is not one of policy.classifications (did you mean 'restricted'?)" in result.output


def test_the_sample_config_is_valid(sample_dir):
    result = runner.invoke(app, ["validate", "--config", str(sample_dir / "auditor.yaml")])
    assert result.exit_code == 0, result.output
    assert "ok: data map" in result.output


def test_online_names_the_disabled_api_and_the_missing_permission(tmp_path, sample_dir):
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as sim:
        config = yaml.safe_load((sample_dir / "auditor.yaml").read_text())
        config["gcp"]["endpoints"] = {api: sim.url for api in config["gcp"]["endpoints"]}
        config.pop("github")
        config["inventory"] = str(sample_dir / "inventory.yaml")
        path = tmp_path / "auditor.yaml"
        path.write_text(yaml.safe_dump(config))
        result = runner.invoke(app, ["validate", "--config", str(path), "--online"])
    assert result.exit_code == 2, result.output
    # the sample denies the identity bks-legacy and has the Cloud SQL Admin API off in bks-sandbox (scenario.yaml)
    assert ("missing: sqladmin instances.list projects/bks-legacy: IAM_PERMISSION_DENIED for anonymous; "
            "grant cloudsql.instances.list") in result.output
    assert "missing: storage buckets.list projects/bks-legacy: IAM_PERMISSION_DENIED for anonymous; grant storage.buckets.list" in result.output
    assert ("missing: sqladmin instances.list projects/bks-sandbox: the API is disabled; "
            "`gcloud services enable sqladmin.googleapis.com --project bks-sandbox`") in result.output
    assert "ok: sqladmin instances.list projects/bks-prod" in result.output
    # testIamPermissions: the permissions of the denied APIs are the ones bks-legacy lacks
    lacking = re.search(r"missing: projects/bks-legacy: anonymous lacks (.*) \(testIamPermissions\)", result.output)
    assert lacking, result.output
    denied_apis = next(p for p in yaml.safe_load((sample_dir / "scenario.yaml").read_text())["projects"]
                       if p["id"] == "bks-legacy")["permission_denied"]
    prefixes = {"sqladmin": "cloudsql.", "storage": "storage.", "logging": "logging.", "monitoring": "monitoring.",
                "cloudkms": "cloudkms.", "cloudasset": "cloudasset."}
    expected = sorted(p for p in permissions.all_permissions() if any(p.startswith(prefixes[a]) for a in denied_apis))
    assert lacking.group(1).split(", ") == expected
    assert "ok: projects/bks-prod: anonymous holds every permission" in result.output
    assert "ok: cloudasset searchAllResources organizations/123456789012" in result.output


def test_the_shipped_config_schema_is_what_the_models_generate(sample_dir):
    shipped = (resources.files("auditor") / "schemas" / "config.v1.json").read_text()
    assert shipped == config_schema.text(), "regenerate: python -m auditor.config_schema > auditor/schemas/config.v1.json"
    schema = json.loads(shipped)
    validator = jsonschema.Draft202012Validator(schema)
    sample = yamlsafe.load((sample_dir / "auditor.yaml").read_text(), dates_as_text=True)
    assert not list(validator.iter_errors(sample))
    sample["gcp"]["projetcs"] = ["x"]
    sample["policy"]["classifications"]["restricted"]["backup_interval"] = "daily"
    messages = [e.message for e in validator.iter_errors(sample)]
    assert any("projetcs" in m for m in messages) and any("daily" in m for m in messages)
    assert "config.v1.json" in (ROOT / "README.md").read_text()


def test_roles_prints_a_gcloud_role_with_every_permission_the_sample_collection_needed(sample_pack):
    result = runner.invoke(app, ["roles"])
    assert result.exit_code == 0
    role = yaml.safe_load(result.stdout)
    assert set(role) == {"title", "description", "stage", "includedPermissions"}
    granted = set(role["includedPermissions"])
    manifest = json.loads((sample_pack.out / "evidence" / "manifest.json").read_text())
    google_calls = {(c["api"], c["method"]) for c in manifest["calls"] if c["api"] not in permissions.NOT_IAM}
    assert google_calls, "the sample collection made Google calls"
    # testIamPermissions needs no permission ("There are no permissions required for making this API call")
    assert ("cloudresourcemanager", "projects.testIamPermissions") in google_calls
    for api, method in google_calls - permissions.PERMISSIONS_FREE:
        needed = permissions.permissions_for(api, method)
        assert needed and set(needed) <= granted, (api, method)
    assert all(re.fullmatch(r"[a-z]+\.[A-Za-z]+\.[A-Za-z]+", p) for p in granted)


def test_every_google_call_a_collector_describes_has_a_declared_permission():
    described = set()
    for path in (ROOT / "auditor" / "collectors").glob("*.py"):
        described |= set(re.findall(r'Call\(\s*"([a-z]+)",\s*"([A-Za-z.]+)"', path.read_text()))
    assert described
    undeclared = {(api, method) for api, method in described
                  if api not in permissions.NOT_IAM and (api, method) not in permissions.PERMISSIONS}
    assert not undeclared, f"declare each (with its IAM permissions) in auditor/facts/sources: {sorted(undeclared)}"
    without = sorted(key for key in described if key in permissions.PERMISSIONS and not permissions.PERMISSIONS[key])
    assert not without, f"Google calls declared without an IAM permission: {without}"
