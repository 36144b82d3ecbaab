"""What the identity may do, recorded during every run: testIamPermissions per project, GitHub's refusals kept.

Real HTTP to the simulator on 127.0.0.1 through google-api-python-client and PyGithub. The Resource
Manager reader is also tested on payloads transcribed from the reference (projects.testIamPermissions,
v1: POST .../v1/projects/{resource}:testIamPermissions, request {"permissions": [string]}, response
TestIamPermissionsResponse {"permissions": [string]}, "A subset of TestPermissionsRequest.permissions
that the caller is allowed"; an empty subset is the empty object, as proto3 JSON omits empty lists).
Expectations come from the scenario variations written here and the declared role, never from the
tool's output.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from auditor import provenance
from auditor.collectors import github as github_collector
from auditor.collectors import identity
from auditor.config import Config
from auditor.evidence.locker import Locker, LockerWriter
from auditor.facts.sources.iam_permissions import PermissionTest, held_of, read
from auditor.permissions import WRITE_PROBES, all_permissions, probe
from auditor.scheduler import Scheduler
from auditor.simulator import Simulator
from auditor.simulator.faults import Fault
from auditor.simulator.scenario import parse_scenario
from testkit import fast_policy, freeze_clock, run_against, spine_scenario

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "bangkok-solutions"
SQL_READS = sorted(p for p in all_permissions() if p.startswith("cloudsql."))  # what a sqladmin denial withholds
TOKEN = "ghp_IAMtestTokenValue0123456789abcdefXYZ"


# ------------------------------------------------------------------ the reader, on the reference's payloads

def _emitted(body, asked=("cloudsql.instances.list", "storage.buckets.list", "cloudsql.instances.update")):
    out = []
    call = {"params": {"resource": "p1", "permissions": list(asked)}, "scope": "projects/p1"}
    read(call, body, "e-1", lambda fact, item, at=None: out.append((fact, item)))
    return out


def test_the_reader_takes_the_documented_subset_and_the_empty_object():
    ((fact, test),) = _emitted({"permissions": ["storage.buckets.list"]})
    assert fact == "permission_tests" and test == PermissionTest(
        "projects/p1", ("cloudsql.instances.list", "storage.buckets.list", "cloudsql.instances.update"),
        ("storage.buckets.list",), ("e-1",))
    assert test.missing == ("cloudsql.instances.list", "cloudsql.instances.update")
    ((_, nothing),) = _emitted({})  # nothing held: Google omits the empty list
    assert nothing.held == () and len(nothing.missing) == 3
    # a name Google adds that was not asked is not counted as held (only the asked permissions are judged)
    ((_, extra),) = _emitted({"permissions": ["storage.buckets.list", "resourcemanager.projects.get"]})
    assert extra.held == ("storage.buckets.list",)


@pytest.mark.parametrize("body", [{"permissions": "storage.buckets.list"}, {"permissions": [1]}, [], "nope"])
def test_an_answer_that_is_not_a_subset_yields_no_test(body):
    assert held_of(body) is None and _emitted(body) == []


def test_the_probe_is_the_role_plus_write_permissions_without_wildcards():
    asked = probe()
    assert asked[:len(all_permissions())] == all_permissions()
    assert set(asked) - set(all_permissions()) == set(WRITE_PROBES)
    assert not any("*" in p for p in asked)
    # only reads: list, get, search, and Cloud Asset's exportResource (asset history; in roles/cloudasset.viewer)
    assert all(p.rsplit(".", 1)[1].startswith(("list", "get", "search", "export")) for p in all_permissions())
    assert not set(all_permissions()) & set(WRITE_PROBES)


# ------------------------------------------------------------------------------ collected over real HTTP

def _scenario(**analytics):
    """The sample's two spine projects; bks-analytics changed by `analytics` (the grant or deny variation)."""
    scenario = spine_scenario(SAMPLE)
    projects = [p.model_copy(update=analytics) if p.id == "bks-analytics" else p for p in scenario.projects]
    return scenario.model_copy(update={"projects": projects})


def _run(tmp_path, scenario, faults=(), **policy):
    with Simulator(scenario, port=0) as sim:
        freeze_clock(sim)
        for fault in faults:
            sim.faults.add(fault)
        with fast_policy(**policy):
            collection, results, code = run_against(SAMPLE, sim, tmp_path)
    return Locker(collection.evidence_dir), results, code


def _tests(results):
    return {p["project"]: p for p in results["provenance"]["permission_tests"]["gcp"]["projects"]}


def test_held_and_missing_per_project_and_a_write_grant_is_warned(tmp_path):
    scenario = _scenario(permission_denied=["sqladmin"], write_permissions=["storage.buckets.update"])
    locker, results, code = _run(tmp_path, scenario)
    summary = results["provenance"]["permission_tests"]["gcp"]
    tests = _tests(results)
    reads = len(all_permissions())
    # bks-prod: the default identity is read-only and denied nothing
    assert tests["bks-prod"]["tested"] and tests["bks-prod"]["missing"] == [] and tests["bks-prod"]["write_held"] == []
    assert len(tests["bks-prod"]["held"]) == reads
    # bks-analytics: denied Cloud SQL, and granted one write permission
    assert tests["bks-analytics"]["missing"] == SQL_READS
    assert tests["bks-analytics"]["write_held"] == ["storage.buckets.update"]
    assert summary["held"] == 2 * reads - len(SQL_READS) and summary["tested"] == 2 * reads
    assert summary["line"] == (f"permissions held: {2 * reads - len(SQL_READS)} of {2 * reads} tested (2 of 2 projects), "
                               f"missing: bks-analytics: {', '.join(SQL_READS)}")
    assert summary["read_only_ok"] is False and "NOT read-only" in summary["read_only"]
    assert "bks-analytics: storage.buckets.update" in summary["read_only"]
    assert results["provenance"]["permissions"]["gcp"][-1] == summary["line"]
    # the answer is evidence: the stored page is Google's response body, and the call asked the probe
    (call,) = [c for c in locker.calls("cloudresourcemanager", "projects.testIamPermissions")
               if c["scope"] == "projects/bks-analytics"]
    assert call["outcome"] == "ok" and call["params"]["permissions"] == probe()
    (page,) = call["items"]
    body = json.loads(locker.body(page))
    assert sorted(body["permissions"]) == sorted(set(probe()) - set(SQL_READS) - (set(WRITE_PROBES) - {"storage.buckets.update"}))
    assert tests["bks-analytics"]["evidence"] == [page]
    # the findings the denial made inconclusive name the permission the test found missing
    denied = [f for c in results["controls"] for f in c["findings"]
              if f["status"] == "inconclusive" and "bks-analytics" in f["resource"]
              and any(u.get("method") == "instances.list" and u.get("kind") == "permission_denied"
                      for u in f["details"].get("unverified") or [])]
    assert denied
    for finding in denied:
        assert "the identity lacks cloudsql.instances.list on projects/bks-analytics (testIamPermissions)" in finding["message"]
        (entry,) = [u for u in finding["details"]["unverified"] if u.get("method") == "instances.list"]
        assert entry["permissions"] == {"needed": ["cloudsql.instances.list"], "state": "missing", "test_call": call["id"],
                                        "test_evidence": [page]}
    # the register's scope limitation for the project's Cloud SQL names what its calls need and that it is missing
    (group,) = [g for g in results["exceptions"]["scope_limitations"] if (g["project"], g["api"]) == ("bks-analytics", "sqladmin")]
    assert "cloudsql.instances.list" in group["permissions"]["missing"] and set(group["permissions"]["missing"]) <= set(SQL_READS)
    assert group["permissions"]["states"] == ["missing"] and group["permissions"]["test_evidence"] == [page]
    assert code == 3  # the Cloud SQL calls were denied


@pytest.mark.parametrize("variation, fault, said", [
    ("denied", None, "not tested: permission was denied (IAM_PERMISSION_DENIED)"),
    ("disabled", None, "not tested: the API is disabled (SERVICE_DISABLED)"),
    ("timeout", Fault(kind="slow", api="cloudresourcemanager", project="bks-analytics", delay=1.5),
     "not tested: the request timed out"),
    ("malformed", Fault(kind="malformed", api="cloudresourcemanager", project="bks-analytics"),
     "not tested: the response could not be parsed"),
])
def test_a_failed_test_is_not_tested_with_its_reason_never_all_held(tmp_path, variation, fault, said):
    knobs = {"permission_denied": ["sqladmin"]}
    if variation == "denied":
        knobs["permission_denied"] = ["sqladmin", "cloudresourcemanager"]
    elif variation == "disabled":
        knobs["apis_disabled"] = ["cloudresourcemanager"]
    policy = {"retries": 0, "timeout": 1.0} if variation == "timeout" else {}  # one slow try is enough to time out
    _locker, results, code = _run(tmp_path, _scenario(**knobs), [fault] if fault else [], **policy)
    summary = results["provenance"]["permission_tests"]["gcp"]
    entry = _tests(results)["bks-analytics"]
    assert entry["tested"] is False and entry["held"] == [] and entry["missing"] == []
    assert f"not tested: {entry['not_tested']}" == said
    reads = len(all_permissions())
    # only bks-prod's answer counts; bks-analytics is named as not tested, never as holding everything
    assert summary["held"] == reads and summary["tested"] == reads and summary["projects_tested"] == 1
    assert summary["line"].startswith(f"permissions held: {reads} of {reads} tested (1 of 2 projects), missing: none")
    assert f"Not tested: bks-analytics: {said.removeprefix('not tested: ')}" in summary["line"]
    # the denied Cloud SQL calls' findings say the permission they need was not tested, and why
    messages = [f["message"] for c in results["controls"] for f in c["findings"]
                if f["status"] == "inconclusive" and "bks-analytics" in f["resource"] and "instances.list" in f["message"]]
    assert messages and all(f"it needs cloudsql.instances.list ({said})" in m for m in messages)
    assert code == 3


# ------------------------------------------------------------------------- GitHub's refusals, kept whole

def _github_scenario(refused="saml_sso", **github):
    repos = [{"name": "alpha", "pushes": ["2026-09-01T10:00:00Z"], "backup": {"fetched": "2026-09-30T01:00:00Z"}}]
    return parse_scenario({
        "name": "refusals", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-01",
        "organization": {"id": "1", "display_name": "x"}, "projects": [],
        "github": {"organizations": [{"login": "acme", "repositories": repos},
                                     {"login": "sso-corp", "refused": refused, "repositories": repos}], **github}})


def _collect_github(sim, out: Path, monkeypatch) -> Locker:
    monkeypatch.setenv("AUDITOR_IAM_TOKEN", TOKEN)
    config = Config.model_validate({
        "organization": "Acme", "period": {"quarter": "2026-Q3"},
        "github": {"organizations": ["acme", "sso-corp"], "token_env": "AUDITOR_IAM_TOKEN"},
        "policy": {"classifications": {"internal": {}}}}).for_simulator(sim)
    tuning = github_collector.GithubTuning(seconds_between_requests=0, sleep=lambda s: None, retries=2)
    ctx = SimpleNamespace(config=config, github_tuning=tuning)
    locker = LockerWriter(out, config_snapshot=config.snapshot(), identity={"github": "token from $AUDITOR_IAM_TOKEN"})
    Scheduler(locker, serial=True).run(list(identity.scope_calls(ctx)) + list(github_collector.scope_calls(ctx)))
    locker.close()
    return Locker(out)


@pytest.mark.parametrize("refused, message, header, value", [
    ("saml_sso", "Resource protected by organization SAML enforcement", "X-GitHub-SSO", "required; url="),
    ("fine_grained_token", "Resource not accessible by personal access token", "X-Accepted-GitHub-Permissions", "metadata=read"),
])
def test_a_refused_organisation_keeps_github_s_answer_and_headers_as_evidence(tmp_path, monkeypatch, refused, message,
                                                                               header, value):
    with Simulator(_github_scenario(refused), port=0) as sim:
        locker = _collect_github(sim, tmp_path / "ev", monkeypatch)
    (call,) = [c for c in locker.calls("github", "orgs.get") if c["params"]["org"] == "sso-corp"]
    assert call["outcome"] == "error" and call["error"]["http_status"] == 403
    (page,) = call["items"]  # PyGithub raised on this 403 inside its retry; the capture layer kept it
    item = locker.items[page]
    body = json.loads(locker.body(page))
    assert item["http_status"] == 403 and body["message"].startswith(message)
    assert item["headers"][header].startswith(value) and "X-OAuth-Scopes" in item["headers"]
    assert TOKEN not in json.dumps(locker.manifest) and TOKEN.encode() not in locker.body(page)
    found = provenance.github_identity(locker)
    assert found["could_list"]["acme"] == "1 repositories"
    assert found["could_list"]["sso-corp"].startswith(f"nothing: GitHub answered orgs.get with HTTP 403: {message}")
    assert found["refused"]["sso-corp"]["evidence"] == [page]


def test_a_github_5xx_after_spent_retries_stores_every_answer(tmp_path, monkeypatch):
    # requests: 1 GET /user, 2 GET /orgs/acme, ...: GET /orgs/acme answers 502 to the first try and both retries
    with Simulator(_github_scenario(faults=[{"kind": "server_error", "at_request": 2, "count": 3}]), port=0) as sim:
        locker = _collect_github(sim, tmp_path / "ev", monkeypatch)
    (call,) = [c for c in locker.calls("github", "orgs.get") if c["params"]["org"] == "acme"]
    assert call["outcome"] == "error"
    statuses = [locker.items[i]["http_status"] for i in call["items"]]
    assert statuses == [502, 502, 502] and call["retries"] == 2
    assert json.loads(locker.body(call["items"][-1]))["message"] == "Server Error"


def test_a_refused_organisation_is_a_scope_limitation_citing_the_stored_answer(tmp_path, monkeypatch):
    from auditor.runner import evaluate

    with Simulator(_github_scenario(), port=0) as sim:
        locker = _collect_github(sim, tmp_path / "ev", monkeypatch)
    results = evaluate([locker.root])
    groups = [g for g in results["exceptions"]["scope_limitations"] if g["api"] == "github"]
    (group,) = [g for g in groups if g["scope"].endswith("/sso-corp")]
    (call,) = [c for c in locker.calls("github", "orgs.get") if c["params"]["org"] == "sso-corp"]
    assert group["evidence"] == call["items"] and group["http_statuses"] == [403]
    assert any("SAML" in m for m in group["messages"])
    assert not [g for g in groups if g["scope"].endswith("/acme")]


# ------------------------------------------------------------------------ each Cloud KMS key asked itself

BILLING = "projects/bks-prod/locations/us-central1/keyRings/sql/cryptoKeys/billing"  # bks-prod's instances use it


def _prod(**knobs):
    scenario = spine_scenario(SAMPLE)
    projects = [p.model_copy(update=knobs) if p.id == "bks-prod" else p for p in scenario.projects]
    return scenario.model_copy(update={"projects": projects})


def test_each_kms_key_is_asked_itself_and_a_destroy_grant_is_warned(tmp_path):
    from auditor.permissions import key_probe

    locker, results, _code = _run(tmp_path, _prod(write_permissions=["cloudkms.cryptoKeyVersions.destroy"]))
    summary = results["provenance"]["permission_tests"]["gcp"]
    keys = {k["key"]: k for k in summary["keys"]}
    kms_reads = [p for p in all_permissions() if p.startswith("cloudkms.")]
    assert key_probe() == kms_reads + ["cloudkms.cryptoKeyVersions.destroy"]
    assert keys[BILLING]["tested"] and keys[BILLING]["held"] == kms_reads and keys[BILLING]["missing"] == []
    assert keys[BILLING]["write_held"] == ["cloudkms.cryptoKeyVersions.destroy"]
    (call,) = [c for c in locker.calls("cloudkms", "cryptoKeys.testIamPermissions") if c["scope"] == BILLING]
    assert call["params"]["permissions"] == key_probe() and keys[BILLING]["evidence"] == call["items"]
    assert summary["read_only_ok"] is False
    assert f"{BILLING}: cloudkms.cryptoKeyVersions.destroy" in summary["read_only"]
    assert summary["key_line"].startswith("Cloud KMS keys: held ") and "missing: none" in summary["key_line"]


def test_a_key_the_identity_cannot_read_is_named_with_its_own_test(tmp_path):
    _locker, results, _code = _run(tmp_path, _prod(permission_denied=["cloudkms"]))
    summary = results["provenance"]["permission_tests"]["gcp"]
    keys = {k["key"]: k for k in summary["keys"]}
    kms_reads = [p for p in all_permissions() if p.startswith("cloudkms.")]
    # the key's own test answered (it needs no permission) and withholds every KMS read
    assert keys[BILLING]["tested"] and keys[BILLING]["missing"] == kms_reads
    assert summary["key_missing"][BILLING] == kms_reads and f"{BILLING}: {', '.join(kms_reads)}" in summary["key_line"]
    messages = [f["message"] for c in results["controls"] for f in c["findings"]
                if f["status"] == "inconclusive" and f"cryptoKeys.get for {BILLING}" in f["message"]]
    assert messages and all(f"the identity lacks cloudkms.cryptoKeys.get on {BILLING} (testIamPermissions)" in m
                            for m in messages)


def test_a_refusal_the_test_calls_held_is_said_to_come_from_elsewhere(tmp_path):
    """VPC Service Controls or a deny policy: the allow policy grants the permission, yet the call is refused."""
    refusal = Fault(kind="status", status=403, reason="IAM_PERMISSION_DENIED", api="sqladmin", project="bks-prod",
                    path_regex=r"/instances$", message="Request is prohibited by organization's policy.")
    _locker, results, _code = _run(tmp_path, spine_scenario(SAMPLE), [refusal])
    assert _tests(results)["bks-prod"]["missing"] == []
    messages = [f["message"] for c in results["controls"] for f in c["findings"]
                if f["status"] == "inconclusive" and "instances.list for projects/bks-prod" in f["message"]]
    assert messages and all("testIamPermissions reports cloudsql.instances.list held on projects/bks-prod, so the "
                            "refusal comes from elsewhere" in m for m in messages)
