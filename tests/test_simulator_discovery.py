"""The simulator's Google answers against Google's discovery documents, and driven by clients we did not write.

Three views of "the simulator is shaped like the real APIs":
- every route is a method of its API's discovery document (the one google-api-python-client ships),
  and accepts no query parameter that method does not declare;
- every answer the collectors received for the sample company conforms to the method's response
  schema with unknown properties and unknown enum values rejected;
- a plain user script (`build()` from the static document, `AnonymousCredentials`, `api_endpoint`
  at the simulator, a `list_next` loop) walks every route, and each page it gets conforms too.
"""

from __future__ import annotations

import datetime as dt

import json
import re
from urllib.parse import urlsplit

import httplib2
import pytest
from google.auth.credentials import AnonymousCredentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build

from auditor.evidence.locker import Locker
from auditor.simulator import Simulator, discovery, load_scenario
from auditor.simulator.routing import STANDARD_PARAMS
from auditor.simulator.server import DEFAULT_ROUTES

TRANSPORT_PARAMS = {"$alt"}  # the REST transport's own system parameter (google-cloud-asset sends it)


def _example_path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "projects" if m.group(1) == "kind" else f"x-{m.group(1)}", template)


@pytest.mark.parametrize("route", DEFAULT_ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_every_route_is_a_discovery_method_and_accepts_only_its_parameters(route):
    method = discovery.find_method(route.api, route.method, _example_path(route.template))
    undeclared = set(route.query) - method.parameters - STANDARD_PARAMS - TRANSPORT_PARAMS
    assert not undeclared, f"{method.id} declares no {sorted(undeclared)}"
    assert method.response is not None


def test_the_converted_schema_rejects_what_the_api_does_not_define():
    path = "/v1/projects/p/instances/i/backupRuns"
    good = {"kind": "sql#backupRunsList", "items": [{"id": "1", "status": "SUCCESSFUL", "type": "AUTOMATED"}]}
    assert discovery.problems("sqladmin", "GET", path, good) == []
    assert discovery.problems("sqladmin", "GET", path, {**good, "surprise": 1})  # unknown property
    assert discovery.problems("sqladmin", "GET", path, {"items": [{"status": "FINE"}]})  # unknown enum value
    assert discovery.problems("sqladmin", "GET", path, {"items": [{"id": 1}]})  # int64 travels as a string
    labels = {"items": [{"name": "b", "labels": {"any-key": "v"}}]}
    assert discovery.problems("storage", "GET", "/storage/v1/b", labels) == []  # a map keeps any key
    with pytest.raises(LookupError):
        discovery.find_method("sqladmin", "GET", "/v1/projects/p/nothing-here")


def test_every_answer_the_collectors_got_conforms(sample_google_collection):
    locker = Locker(sample_google_collection.collection.evidence_dir)
    checked, seen, failures = 0, set(), []
    for item_id, item in locker.items.items():
        url = item.get("url") or ""
        path = urlsplit(url).path
        if not url.startswith("http") or item.get("http_status") != 200 or path.startswith("/api/v3"):
            continue  # local files, error answers and GitHub's are outside the discovery documents
        route = next((r for r in DEFAULT_ROUTES if r.match(path) is not None), None)
        assert route is not None, f"an answer from no simulator route: {url}"
        seen.add(route)
        body = json.loads(locker.body(item_id))
        failures += [f"{url}: {p}" for p in discovery.problems(route.api, route.method, path, body)]
        checked += 1
    assert checked > 50 and not failures, "\n".join(failures[:20])
    assert len(seen) >= 10  # most routes; the script test below drives every one


# -- a user's script ---------------------------------------------------------------------------------

def _with_signing_key_and_packs(scenario):
    """The sample scenario plus what only `auditor sign` and `verify --bucket` read: a KMS signing key
    and a bucket holding one object, in the first project the script walks (added last, so the first
    keys and buckets it reads stay the sample's)."""
    from auditor.simulator.scenario_controls import KmsKey
    from auditor.simulator.scenario_stores import Bucket

    projects = list(scenario.projects)
    index = next(i for i, p in enumerate(projects) if not p.apis_disabled and not p.permission_denied)
    project = projects[index]
    key = KmsKey.model_validate({"key_ring": "packs", "name": "signer", "location": "asia-southeast1", "versions": ["ENABLED"],
                                 "purpose": "ASYMMETRIC_SIGN", "algorithm": "EC_SIGN_ED25519"})
    bucket = Bucket.model_validate({"name": "script-evidence-packs", "location": "ASIA-SOUTHEAST1", "retention_days": 400,
                                    "retention_locked": True, "objects": [
                                        {"name": "packs/2026-09-30/evidence/manifest.json",
                                         "time_created": "2026-09-30T02:10:00Z", "content": "{}"}]})
    projects[index] = project.model_copy(update={"kms_keys": [*project.kms_keys, key], "buckets": [*project.buckets, bucket]})
    return scenario.model_copy(update={"projects": projects})


@pytest.fixture(scope="module")
def sim(sample_dir):
    with Simulator(_with_signing_key_and_packs(load_scenario(sample_dir / "scenario.yaml")), port=0) as simulator:
        yield simulator


def _client(sim, api: str, version: str):
    """As a user builds one: the bundled document, explicit anonymous credentials, the endpoint overridden."""
    http = AuthorizedHttp(AnonymousCredentials(), http=httplib2.Http(timeout=30))
    endpoint = sim.url + "/" + discovery.document(api, version)["servicePath"]  # api_endpoint replaces root and service path
    return build(api, version, static_discovery=True, http=http, client_options={"api_endpoint": endpoint})


def _pages(collection, method: str, *, next_name: str | None = None, **kwargs):
    request = getattr(collection, method)(**kwargs)
    while request is not None:
        page = request.execute()
        yield request, page
        request = getattr(collection, next_name or f"{method}_next")(request, page)


def _validate(sim, api: str, request, page, failures: list[str]) -> None:
    path = urlsplit(request.uri).path
    failures += [f"{request.method} {path}: {p}" for p in discovery.problems(api, request.method, path, page)]


def test_a_users_script_walks_every_route_with_the_official_clients(sim):
    scenario = sim.scenario
    usable = [p for p in scenario.projects if not p.apis_disabled and not p.permission_denied]
    failures: list[str] = []
    counts: dict[str, int] = {}

    def walk(api: str, pages) -> int:
        items = 0
        for request, page in pages:
            _validate(sim, api, request, page, failures)
            items += 1
        return items

    sql = _client(sim, "sqladmin", "v1")
    for project in usable:
        counts["instances"] = counts.get("instances", 0) + walk("sqladmin", _pages(sql.instances(), "list", project=project.id,
                                                                                     maxResults=2))
        counts["operations"] = counts.get("operations", 0) + walk("sqladmin", _pages(sql.operations(), "list",
                                                                                   project=project.id, maxResults=50))
        for inst in [i for i in project.sql_instances if i.admin_listed and i.delete_time is None][:2]:
            walk("sqladmin", _pages(sql.operations(), "list", project=project.id, instance=inst.name, maxResults=50))
            request = sql.instances().get(project=project.id, instance=inst.name)
            _validate(sim, "sqladmin", request, request.execute(), failures)
            walk("sqladmin", _pages(sql.backupRuns(), "list", project=project.id, instance=inst.name, maxResults=20))

    storage = _client(sim, "storage", "v1")
    for project in usable:
        walk("storage", _pages(storage.buckets(), "list", project=project.id, maxResults=2))
        for bucket in project.buckets[:2]:
            request = storage.buckets().get(bucket=bucket.name)
            _validate(sim, "storage", request, request.execute(), failures)
            request = storage.buckets().testIamPermissions(bucket=bucket.name, permissions=["storage.buckets.get"])
            _validate(sim, "storage", request, request.execute(), failures)

    kms = _client(sim, "cloudkms", "v1")
    keys = kms.projects().locations().keyRings().cryptoKeys()
    for project in usable:
        for key in project.kms_keys[:2]:
            name = f"projects/{project.id}/locations/{key.location}/keyRings/{key.key_ring}/cryptoKeys/{key.name}"
            request = keys.get(name=name)
            _validate(sim, "cloudkms", request, request.execute(), failures)
            walk("cloudkms", _pages(keys.cryptoKeyVersions(), "list", parent=name, pageSize=1))
            request = keys.testIamPermissions(resource=name, body={"permissions": ["cloudkms.cryptoKeys.get"]})
            _validate(sim, "cloudkms", request, request.execute(), failures)

    import base64

    import google_crc32c

    signer = next(k for p in usable for k in p.kms_keys if k.purpose == "ASYMMETRIC_SIGN")
    owner = next(p for p in usable if signer in p.kms_keys)
    version = (f"projects/{owner.id}/locations/{signer.location}/keyRings/{signer.key_ring}/cryptoKeys/{signer.name}"
               "/cryptoKeyVersions/1")
    versions = keys.cryptoKeyVersions()
    request = versions.getPublicKey(name=version)
    _validate(sim, "cloudkms", request, request.execute(), failures)
    request = versions.asymmetricSign(name=version, body={"data": base64.b64encode(b"statement").decode(),
                                                          "dataCrc32c": str(google_crc32c.value(b"statement"))})
    _validate(sim, "cloudkms", request, request.execute(), failures)
    packs = next(b for p in usable for b in p.buckets if b.objects)
    counts["objects"] = walk("storage", _pages(storage.objects(), "list", bucket=packs.name, prefix="packs/", maxResults=1))
    request = storage.objects().get(bucket=packs.name, object=packs.objects[0].name)
    _validate(sim, "storage", request, request.execute(), failures)
    assert storage.objects().get_media(bucket=packs.name, object=packs.objects[0].name).execute() == b"{}"

    monitoring = _client(sim, "monitoring", "v3")
    logging_v2 = _client(sim, "logging", "v2")
    for project in usable:
        walk("monitoring", _pages(monitoring.projects().alertPolicies(), "list", name=f"projects/{project.id}", pageSize=1))
        walk("monitoring", _pages(monitoring.projects().notificationChannels(), "list", name=f"projects/{project.id}",
                                  pageSize=1))
        walk("logging", _pages(logging_v2.projects().metrics(), "list", parent=f"projects/{project.id}", pageSize=1))
    prod = usable[0].id
    body = {"resourceNames": [f"projects/{prod}"], "pageSize": 50,
            "filter": 'protoPayload.methodName="cloudsql.instances.update"'}
    counts["entries"] = walk("logging", _pages(logging_v2.entries(), "list", body=body))

    for project in usable:  # every kind of Cloud SQL backup, and Backup and DR (vaults, their data sources and backups)
        walk("sqladmin", _pages(sql.Backups(), "ListBackups", parent=f"projects/{project.id}", pageSize=5))
    bdr = _client(sim, "backupdr", "v1").projects().locations()
    for project in usable:
        parent = f"projects/{project.id}/locations/-"
        for name in ("backupVaults", "backupPlans", "backupPlanAssociations", "resourceBackupConfigs", "restoreVerificationPlans"):
            walk("backupdr", _pages(getattr(bdr, name)(), "list", parent=parent, pageSize=2))
        # the vaults' restore operations (sql2, issue 14): the operations list names its parent `name`
        walk("backupdr", _pages(bdr.operations(), "list", name=parent, pageSize=1, returnPartialSuccess=True))
        for vault in project.backup_vaults:
            vault_name = f"projects/{project.id}/locations/{vault.location}/backupVaults/{vault.id}"
            for request, page in _pages(bdr.backupVaults().dataSources(), "list", parent=vault_name, pageSize=2):
                _validate(sim, "backupdr", request, page, failures)
                for source in page.get("dataSources", []):
                    walk("backupdr", _pages(bdr.backupVaults().dataSources().backups(), "list", parent=source["name"], pageSize=10))

    crm = _client(sim, "cloudresourcemanager", "v1")  # `auditor validate --online`'s permission probe
    request = crm.projects().testIamPermissions(resource=usable[0].id, body={"permissions": ["cloudsql.instances.list"]})
    _validate(sim, "cloudresourcemanager", request, request.execute(), failures)

    asset = _client(sim, "cloudasset", "v1")
    counts["assets"] = walk("cloudasset", _pages(asset.v1(), "searchAllResources", scope=f"organizations/{scenario.organization.id}",
                                                 assetTypes=["sqladmin.googleapis.com/Instance"], pageSize=5))
    since = (scenario.now - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")  # the index keeps 35 days
    request = asset.v1().batchGetAssetsHistory(parent=f"projects/{prod}", contentType="RESOURCE", readTimeWindow_startTime=since,
                                               assetNames=[f"//cloudsql.googleapis.com/projects/{prod}/instances/customers-pg"])
    _validate(sim, "cloudasset", request, request.execute(), failures)

    resourcemanager = _client(sim, "cloudresourcemanager", "v1")  # `auditor validate --online`'s testIamPermissions
    request = resourcemanager.projects().testIamPermissions(resource=prod, body={"permissions": ["cloudsql.instances.list"]})
    _validate(sim, "cloudresourcemanager", request, request.execute(), failures)

    assert not failures, "\n".join(failures[:20])
    assert counts["instances"] > len(usable) and counts["assets"] > 1  # the small pages made list_next follow pages
    undriven = [f"{r.method} {r.template}" for r in DEFAULT_ROUTES if sim.count(r.api, r.method, r.template) == 0]
    assert not undriven, f"routes no official client drove (add them to this script): {undriven}"
