"""The simulator's fault injection itself, over plain HTTP (the matrix runs it through the collectors)."""

from __future__ import annotations

import http.client
import json

import pytest
import yaml

from auditor.errors import ScenarioError
from auditor.simulator import Simulator, load_scenario
from auditor.simulator.scenario import parse_scenario

INSTANCES = "/v1/projects/bks-prod/instances"


def get(sim, path, body=None):
    conn = http.client.HTTPConnection(sim.url.removeprefix("http://"), timeout=5)
    conn.request("POST" if body else "GET", path, body=json.dumps(body) if body else None)
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


@pytest.fixture
def sim(sample_dir):
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as simulator:
        yield simulator


def test_scenario_faults_key_is_validated_and_applied(sample_dir, tmp_path):
    data = yaml.safe_load((sample_dir / "scenario.yaml").read_text())
    data["faults"] = [{"kind": "status", "status": 429, "retry_after": 7, "api": "sqladmin",
                       "route": "GET /v1/projects/{project}/instances", "project": "bks-prod", "times": 1}]
    with Simulator(parse_scenario(data), port=0) as simulator:
        status, headers, body = get(simulator, INSTANCES)
        assert status == 429 and headers["Retry-After"] == "7"
        assert json.loads(body)["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert get(simulator, INSTANCES)[0] == 200  # times: 1
        assert get(simulator, "/v1/projects/bks-analytics/instances")[0] == 200
    data["faults"] = [{"kind": "explode"}]
    with pytest.raises(ScenarioError, match="faults"):
        parse_scenario(data)


def test_429_without_retry_after(sim):
    sim.faults.add(kind="status", status=429, path_regex="/instances$")
    status, headers, _ = get(sim, INSTANCES)
    assert status == 429 and "Retry-After" not in headers


def test_burst_then_ok(sim):
    fault = sim.faults.add(kind="status", status=503, times=2, api="sqladmin")
    assert [get(sim, INSTANCES)[0] for _ in range(3)] == [503, 503, 200]
    assert sim.faults.hits(fault) == 3


def test_reset_closes_without_a_response(sim):
    sim.faults.add(kind="reset", times=1)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        get(sim, INSTANCES)
    assert get(sim, INSTANCES)[0] == 200


def test_truncated_and_malformed_bodies(sim):
    sim.faults.add(kind="truncated", times=1)
    sim.faults.add(kind="malformed", times=1)  # faults are tried in order: this one takes the second request
    for _ in range(2):
        status, _, body = get(sim, INSTANCES)
        assert status == 200
        with pytest.raises(ValueError):
            json.loads(body)


def test_loop_token_repeats_the_same_page_and_token(sim):
    sim.faults.add(kind="loop_token", route="/v1/projects/{project}/instances")
    first = json.loads(get(sim, INSTANCES)[2])
    token = first["nextPageToken"]
    second = json.loads(get(sim, f"{INSTANCES}?pageToken={token}")[2])
    assert second == first


def test_empty_pages_then_data(sim):
    sim.faults.add(kind="empty_pages", pages=2)
    page = json.loads(get(sim, INSTANCES)[2])
    assert page == {"nextPageToken": page["nextPageToken"]}
    page = json.loads(get(sim, f"{INSTANCES}?pageToken={page['nextPageToken']}")[2])
    assert "items" not in page
    page = json.loads(get(sim, f"{INSTANCES}?pageToken={page['nextPageToken']}")[2])
    assert page["items"]


def test_large_page_keeps_its_content(sim):
    sim.faults.add(kind="large_page", size=2_000_000)
    status, _, body = get(sim, INSTANCES)
    page = json.loads(body)
    assert status == 200 and len(body) > 2_000_000 and {i["name"] for i in page["items"]} >= {"customers-pg"}


def test_project_in_the_body_matches_logging_requests(sim):
    sim.faults.add(kind="status", status=500, api="logging", project="bks-analytics")
    body = {"resourceNames": ["projects/bks-prod"], "filter": 'resource.type="cloudsql_database"'}
    assert get(sim, "/v2/entries:list", body)[0] == 200
    assert get(sim, "/v2/entries:list", {**body, "resourceNames": ["projects/bks-analytics"]})[0] == 500
    assert ("POST", "/v2/entries:list") in sim.faults.journal
