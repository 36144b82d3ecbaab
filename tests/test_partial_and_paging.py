"""A partial answer is not a complete one, and no pager runs away (issue 12, cases 7 and the partial rule).

Payloads for the detector are transcribed from the APIs' reference pages (Cloud SQL `ApiWarning`,
Backup and DR / Firestore / Spanner `unreachable[]`, Compute aggregated lists with per-scope
`warning`); the end-to-end tests run the real client libraries against the simulator with the
`partial`, `empty_pages` and `loop_token` faults.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auditor import retry
from auditor.collectors.paging import PagingError
from auditor.evidence.capture import recording
from auditor.evidence.locker import LockerWriter
from auditor.evidence.partial import page_signals, partial_signals
from auditor.simulator import Simulator
from auditor.simulator.faults import Fault
from testkit import fast_policy, freeze_clock, run_against, spine_scenario

PROJECT = "bks-prod"

# --- the detector, on documented shapes -------------------------------------------------------------

SQL_INSTANCES_PARTIAL = {  # sqladmin v1 InstancesListResponse with an ApiWarning
    "kind": "sql#instancesList",
    "items": [{"kind": "sql#instance", "name": "a", "project": "p", "region": "us-central1"}],
    "warnings": [{"code": "REGION_UNREACHABLE", "message": "Region asia-east1 is unreachable.", "region": "asia-east1"}],
}
SQL_BACKUPS_TRUNCATED = {"backups": [], "warnings": [{"code": "MAX_RESULTS_EXCEEDS_LIMIT", "message": "too many"}]}
SQL_CREDENTIALS_WARNING = {"items": [], "warnings": [{"code": "COMPROMISED_CREDENTIALS", "message": "unrelated"}]}
BACKUPDR_VAULTS = {"backupVaults": [{"name": "projects/p/locations/us-central1/backupVaults/v"}],
                   "unreachable": ["europe-west3", "asia-south1"]}
FIRESTORE_DATABASES_COMPLETE = {"databases": [{"name": "projects/p/databases/(default)"}], "unreachable": []}
COMPUTE_DISKS_AGGREGATED = {
    "kind": "compute#diskAggregatedList", "id": "projects/p/aggregated/disks",
    "items": {
        "zones/us-central1-a": {"disks": [{"name": "d1", "zone": "zones/us-central1-a"}]},
        "zones/us-central1-b": {"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope",
                                            "data": [{"key": "scope", "value": "zones/us-central1-b"}]}},
        "zones/europe-west1-d": {"warning": {"code": "UNREACHABLE", "message": "The resource is unreachable",
                                             "data": [{"key": "scope", "value": "zones/europe-west1-d"}]}},
    },
    "selfLink": "https://compute.googleapis.com/compute/v1/projects/p/aggregated/disks",
}
COMPUTE_SNAPSHOTS_PARTIAL = {"items": [], "warning": {"code": "PARTIAL_SUCCESS", "message": "partial",
                                                      "data": [{"key": "scope", "value": "regions/us-east4"}]}}
COMPUTE_UNREACHABLES = {"items": {}, "unreachables": ["zones/asia-east1-a"]}


@pytest.mark.parametrize("page, codes, scopes", [
    (SQL_INSTANCES_PARTIAL, ["REGION_UNREACHABLE"], ["asia-east1"]),
    (SQL_BACKUPS_TRUNCATED, ["MAX_RESULTS_EXCEEDS_LIMIT"], []),
    (BACKUPDR_VAULTS, ["UNREACHABLE"], ["europe-west3", "asia-south1"]),
    (COMPUTE_DISKS_AGGREGATED, ["UNREACHABLE"], ["zones/europe-west1-d"]),
    (COMPUTE_SNAPSHOTS_PARTIAL, ["PARTIAL_SUCCESS"], ["regions/us-east4"]),
    (COMPUTE_UNREACHABLES, ["UNREACHABLE"], ["zones/asia-east1-a"]),
])
def test_each_documented_partial_form_is_detected(page, codes, scopes):
    signals = partial_signals(page)
    assert [s["code"] for s in signals] == codes
    assert [scope for s in signals for scope in s["scopes"]] == scopes
    assert page_signals(json.dumps(page).encode()) == signals


@pytest.mark.parametrize("page", [
    FIRESTORE_DATABASES_COMPLETE, SQL_CREDENTIALS_WARNING, {"items": []}, {"entries": [{"warning": "x"}]}, [], "text",
    {"items": {"zones/a": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}},
])
def test_complete_pages_are_not_partial(page):
    assert partial_signals(page) == []


def test_a_malformed_unreachable_field_is_still_partial():
    assert partial_signals({"items": [], "unreachable": "us-east1"})[0]["code"] == "UNREACHABLE"


# --- the call record ---------------------------------------------------------------------------------

def test_a_partial_page_makes_the_call_partial_with_its_scopes(tmp_path):
    writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"gcp": "test"})
    recorder = writer.begin_call("sqladmin", "instances.list", {"project": "p"}, "projects/p")
    recorder.page("http://127.0.0.1/v1/projects/p/instances", 200, json.dumps({"items": []}).encode(), None)
    recorder.page("http://127.0.0.1/v1/projects/p/instances?pageToken=t", 200, json.dumps(SQL_INSTANCES_PARTIAL).encode(), None)
    record = recorder.finish()
    assert record.outcome == "partial"
    assert record.error["kind"] == "partial" and record.error["http_status"] == 200
    assert record.error["reason"] == "REGION_UNREACHABLE" and "asia-east1" in record.error["message"]
    assert record.partial["scopes"] == ["asia-east1"]
    (signal,) = record.partial["signals"]
    assert signal["page"] == 1 and signal["item"] == record.items[1] and signal["field"] == "warnings"
    manifest = writer.close()
    assert manifest["counts"]["failed_calls"] == 1
    assert manifest["calls"][0]["partial"]["scopes"] == ["asia-east1"]


def test_a_complete_call_keeps_its_old_shape(tmp_path):
    writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"gcp": "test"})
    recorder = writer.begin_call("sqladmin", "instances.list", {"project": "p"}, "projects/p")
    recorder.page("http://127.0.0.1/x", 200, b'{"items": []}', None)
    record = recorder.finish()
    assert record.outcome == "ok" and "partial" not in record.as_dict() and "covered" not in record.as_dict()


# --- through the simulator ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulator(sample_dir):
    with Simulator(spine_scenario(sample_dir), port=0) as sim:
        yield freeze_clock(sim)


def _faulted(sample_dir, simulator, out, fault):
    simulator.faults.clear()
    simulator.faults.add(fault)
    try:
        with fast_policy():
            started = time.monotonic()
            collection, results, code = run_against(sample_dir, simulator, out)
            return collection, results, code, time.monotonic() - started
    finally:
        simulator.faults.clear()


def _statuses(results):
    return {f["id"]: f["status"] for c in results["controls"] for f in c["findings"]}


@pytest.fixture(scope="module")
def clean(sample_dir, simulator, tmp_path_factory):
    with fast_policy():
        collection, results, code = run_against(sample_dir, simulator, tmp_path_factory.mktemp("clean"))
    assert code == 0
    return results


@pytest.mark.parametrize("form", ["warnings", "unreachable", "scope_warning"])
def test_a_partial_instance_listing_is_a_gap_never_a_pass(sample_dir, simulator, clean, tmp_path, form):
    fault = Fault(kind="partial", form=form, scopes=("asia-east1",), api="sqladmin",
                  route="GET /v1/projects/{project}/instances", project=PROJECT)
    collection, results, code, _ = _faulted(sample_dir, simulator, tmp_path, fault)
    assert code == 3
    (call,) = [c for c in collection.failed_calls]
    assert (call["api"], call["method"], call["scope"]) == ("sqladmin", "instances.list", f"projects/{PROJECT}")
    assert call["outcome"] == "partial" and call["error"]["kind"] == "partial"
    expected_scopes = ["asia-east1"]
    assert call["partial"]["scopes"] == expected_scopes
    before = _statuses(clean)
    for fid, status in _statuses(results).items():
        assert status != "pass" or before.get(fid) == "pass", fid
    # the project's population is no longer known: every control that reads the listing says so
    # (instances the partial page did list are still judged on what was read about them)
    for control_id in ("backup-enabled", "backup-frequency", "backup-retention", "inventory-completeness"):
        (control,) = [c for c in results["controls"] if c["id"] == control_id]
        assert control["status"] != "pass"
        gaps = [f for f in control["findings"] if f["status"] == "inconclusive" and f"projects/{PROJECT}" in f["resource"]
                and "answered only in part" in f["message"]]
        assert gaps, control_id
        assert any(e.get("call") == call["id"] and e.get("kind") == "partial"
                   for f in gaps for e in f["details"].get("unverified", [])), control_id


def test_the_partial_fault_serves_each_form(simulator):
    import urllib.request

    for form, key in (("warnings", "warnings"), ("unreachable", "unreachable"), ("scope_warning", "warning")):
        simulator.faults.clear()
        simulator.faults.add(Fault(kind="partial", form=form, scopes=("asia-east1",), api="sqladmin",
                                   route="GET /v1/projects/{project}/instances", project=PROJECT))
        try:
            with urllib.request.urlopen(f"{simulator.url}/v1/projects/{PROJECT}/instances") as answer:
                page = json.loads(answer.read())
        finally:
            simulator.faults.clear()
        assert key in page and page["items"], form  # the real page, plus the admission
        assert [s for signal in partial_signals(page) for s in signal["scopes"]] == ["asia-east1"], form


@pytest.mark.parametrize("kind", ["empty_pages", "loop_token"])
def test_the_asset_pager_is_guarded(sample_dir, simulator, clean, tmp_path, kind):
    """Case 7: endless empty pages with a next token (or a token that never advances) end the call."""
    spec = {"pages": None} if kind == "empty_pages" else {}
    fault = Fault(kind=kind, api="cloudasset", **spec)
    collection, results, code, seconds = _faulted(sample_dir, simulator, tmp_path, fault)
    assert seconds < 60
    assert code == 3
    asset = [c for c in collection.failed_calls if c["api"] == "cloudasset"]
    assert asset and all(c["error"]["kind"] == "paging_loop" for c in asset), asset
    assert all(len(c["items"]) <= retry.policy().max_empty_pages + 1 for c in asset) or kind == "loop_token"
    assert all("cloudasset searchAllResources" in c["error"]["message"] for c in asset)
    before = _statuses(clean)
    for fid, status in _statuses(results).items():
        assert status != "pass" or before.get(fid) == "pass", fid


# --- Link-header paging (PyGithub) -------------------------------------------------------------------

class _EndlessGitHub(BaseHTTPRequestHandler):
    """An organisation whose repository listing never ends: one repository a page, each with rel="next" to a
    new page (or always to the same one). PyGithub itself stops at an empty page, but follows `next` after
    every non-empty one, for as long as it is sent."""

    repeat = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        host = f"http://127.0.0.1:{self.server.server_port}/api/v3"
        if self.path.startswith("/api/v3/orgs/o/repos"):
            page = int(self.path.split("page=")[-1]) if "page=" in self.path else 1
            following = 2 if self.repeat else page + 1
            repo = {"name": f"r{page}", "full_name": f"o/r{page}", "url": f"{host}/repos/o/r{page}"}
            body, headers = json.dumps([repo]).encode(), {"Link": f'<{host}/orgs/o/repos?page={following}>; rel="next"'}
        elif self.path == "/api/v3/orgs/o":
            body, headers = json.dumps({"login": "o", "url": f"{host}/orgs/o", "repos_url": f"{host}/orgs/o/repos"}).encode(), {}
        else:
            body, headers = b'{"message": "Not Found"}', {}
        self.send_response(200 if body != b'{"message": "Not Found"}' else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("repeat", [False, True])
def test_link_header_paging_is_guarded(tmp_path, repeat):
    from auditor.collectors.github import GithubTuning, make_client
    from auditor.config import GithubConfig

    handler = type("Handler", (_EndlessGitHub,), {"repeat": repeat})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = GithubConfig(organizations=["o"], base_url=f"http://127.0.0.1:{server.server_port}/api/v3")
        client = make_client(config, "t", GithubTuning(seconds_between_requests=0))
        writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"github": "test"})
        recorder = writer.begin_call("github", "repos.list", {"org": "o"}, "github.com/o")
        with recording(recorder), retry.overridden(max_pages=20, sleep=lambda s: None):
            with pytest.raises(PagingError, match="repeated" if repeat else "more than 20 pages"):
                list(client.get_organization("o").get_repos())
        assert len(recorder.record.items) <= 22  # the organisation, then at most the cap
    finally:
        server.shutdown()
        server.server_close()
