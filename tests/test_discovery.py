"""Discovery and bucket collection over real HTTP: google-cloud-asset (REST) and the Storage JSON API
against the simulator, through the scheduler and the one capture layer."""

import json

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import asset_v1

from auditor.collectors.asset_client import asset_client, capture_asset_client
from auditor.config import Config
from auditor.errors import CollectionError
from auditor.evidence.locker import Locker
from auditor.facts import build_facts
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

POLICY = {"classifications": {"internal": {"retention_min_days": 7}}}


def scenario(projects, **extra):
    return parse_scenario({"name": "t", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-20",
                           "organization": {"id": "42", "display_name": "t.example"}, "projects": projects, **extra})


def config(url, **gcp):
    return Config.model_validate({"organization": "T", "period": {"start": "2026-09-21", "end": "2026-09-29"},
                                  "gcp": {"credentials": "anonymous", **gcp}, "policy": POLICY}).with_endpoints(url)


def test_the_rest_transport_still_keeps_its_session_where_we_capture_it():
    client = asset_v1.AssetServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                         client_options={"api_endpoint": "http://127.0.0.1:9"})
    assert isinstance(client._transport._session, requests.Session)  # fails if google-cloud-asset moves it
    capture_asset_client(client)
    from auditor.evidence.capture import CapturingAdapter

    assert isinstance(client._transport._session.get_adapter("http://127.0.0.1:9/v1"), CapturingAdapter)


def test_a_client_without_that_session_is_refused_loudly():
    class Moved:
        _transport = object()

    with pytest.raises(CollectionError, match="_transport._session"):
        capture_asset_client(Moved())


def test_asset_search_pages_are_each_evidence_and_projects_follow(tmp_path):
    disks = [{"asset_type": "compute.googleapis.com/Disk", "location": "us-east1-b",
              "name": f"//compute.googleapis.com/projects/proj-one/zones/us-east1-b/disks/d{i:04d}"} for i in range(618)]
    scen = scenario([{"id": "proj-one", "number": "101", "other_stores": disks,
                      "buckets": [{"name": "bk-one", "location": "US-EAST1"}]},
                     {"id": "proj-two", "number": "202", "sql_instances": [
                         {"name": "db", "region": "us-east1", "database_version": "POSTGRES_16",
                          "backup": {"enabled": True, "location": "us-west1"}}]}])
    with Simulator(scen) as sim:
        collection = collect(config(sim.url, organization="42"), tmp_path / "ev")
        asset_requests = sim.count("cloudasset", "GET", "/v1/{kind}/{id}:searchAllResources")
    locker = Locker(tmp_path / "ev")
    (search,) = locker.calls("cloudasset", "searchAllResources")
    assert search["outcome"] == "ok" and len(search["items"]) == asset_requests == 2  # 622 results, 500 per page
    first = json.loads(locker.body(search["items"][0]))
    assert len(first["results"]) == 500 and "nextPageToken" in first
    assert "pageSize=500" in locker.items[search["items"][0]]["url"]
    # projects come from discovery, not from gcp.projects (none were configured)
    listed = {c["scope"] for c in locker.calls("storage", "buckets.list")}
    assert listed == {"projects/proj-one", "projects/proj-two"}
    facts = build_facts([locker])
    assert facts.stores.project_numbers == {"101": "proj-one", "202": "proj-two"}
    assets = facts.assets.at("organizations/42")
    assert len([a for a in assets.items if a.asset_type == "compute.googleapis.com/Disk"]) == 618
    assert sum(len(facts.buckets.at(f"projects/{p}").items) for p in ("proj-one", "proj-two")) == 1 and collection.complete
    assert not list(locker.calls("storage", "buckets.testIamPermissions"))  # the listing holds every bucket fact


def test_denied_and_disabled_are_named_with_project_api_and_which(tmp_path):
    db = {"name": "db", "region": "us-east1", "database_version": "POSTGRES_16", "backup": {"enabled": True, "location": "us-west1"}}
    scen = scenario([{"id": "proj-denied", "number": "101", "permission_denied": ["sqladmin"], "sql_instances": [db]},
                     {"id": "proj-off", "number": "202", "apis_disabled": ["sqladmin"], "buckets": [{"name": "b-off", "location": "US"}]}])
    with Simulator(scen) as sim:
        collect(config(sim.url, organization="42"), tmp_path / "ev")
    results = evaluate([tmp_path / "ev"])
    control = next(c for c in results["controls"] if c["id"] == "backup-cross-region")
    assert control["status"] in ("inconclusive", "fail")
    by_id = {f["id"]: f for f in control["findings"]}
    denied = by_id["backup-cross-region:cloudresourcemanager.googleapis.com/projects/proj-denied:listing-sqladmin"]
    off = by_id["backup-cross-region:cloudresourcemanager.googleapis.com/projects/proj-off:listing-sqladmin"]
    assert denied["status"] == off["status"] == "inconclusive"
    assert "proj-denied" in denied["message"] and "sqladmin" in denied["message"] and "permission was denied" in denied["message"]
    assert denied["observed"]["reason"] == "IAM_PERMISSION_DENIED"
    assert "proj-off" in off["message"] and "the API is disabled" in off["message"] and off["observed"]["reason"] == "SERVICE_DISABLED"
    # the instance the asset index knows in the denied project is named, never passed
    db_finding = by_id["backup-cross-region:cloudsql.googleapis.com/projects/proj-denied/instances/db:not-read"]
    assert db_finding["status"] == "inconclusive" and "permission was denied" in db_finding["message"]


def test_asset_search_is_strict_about_its_query(tmp_path):
    scen = scenario([{"id": "proj-one", "number": "101"}])
    with Simulator(scen) as sim:
        client = asset_client(AnonymousCredentials(), sim.url)
        from google.api_core import exceptions

        with pytest.raises(exceptions.BadRequest):
            list(client.search_all_resources(request={"scope": "organizations/42", "asset_types": ["not a type"]}))
        with pytest.raises(exceptions.Forbidden):
            list(client.search_all_resources(request={"scope": "organizations/999"}))
