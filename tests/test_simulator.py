"""The simulator against the real google-api-python-client: URLs, paging, faults, strictness."""

import os

os.environ["NO_GCE_CHECK"] = "True"

import datetime as dt
import email.utils
import json
from pathlib import Path

import httplib2
import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from auditor.simulator import Simulator, load_scenario
from auditor.simulator.scenario import parse_scenario

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "bangkok-solutions" / "scenario.yaml"
BACKUP_METHOD = 'protoPayload.methodName="cloudsql.instances.automatedBackup"'


@pytest.fixture(scope="module")
def sim():
    with Simulator(load_scenario(SAMPLE)) as s:
        yield s


def _client(api, version, url):
    return build(api, version, static_discovery=True, credentials=AnonymousCredentials(),
                 client_options={"api_endpoint": url})


@pytest.fixture(scope="module")
def sql(sim):
    return _client("sqladmin", "v1", sim.url)


@pytest.fixture(scope="module")
def logging_api(sim):
    return _client("logging", "v2", sim.url)


def _all_pages(resource, request, key):
    items, pages = [], 0
    while request is not None:
        resp = request.execute()
        pages += 1
        items += resp.get(key, [])
        request = resource.list_next(request, resp)
    return items, pages


def _entries(logging_api, project, flt, page_size=1000, order="timestamp asc"):
    ent = logging_api.entries()
    body = {"resourceNames": [f"projects/{project}"], "filter": flt, "orderBy": order, "pageSize": page_size}
    req = ent.list(body=body)
    out, pages = [], 0
    while req is not None:
        resp = req.execute()
        pages += 1
        out += resp.get("entries", [])
        req = ent.list_next(req, resp)
    return out, pages


def _error(exc: HttpError) -> dict:
    return json.loads(exc.content)["error"]


# -- Cloud SQL Admin -------------------------------------------------------------------------

def test_instances_list_pages_and_shapes(sql):
    items, pages = _all_pages(sql.instances(), sql.instances().list(project="bks-prod", maxResults=1), "items")
    assert pages == 4
    by_name = {i["name"]: i for i in items}
    assert list(by_name) == ["customers-pg", "customers-pg-replica", "billing-pg", "invoices-pg"]
    prod = by_name["customers-pg"]
    assert prod["kind"] == "sql#instance" and prod["instanceType"] == "CLOUD_SQL_INSTANCE"
    assert prod["databaseVersion"] == "POSTGRES_16" and prod["region"] == "us-east1"
    assert prod["settings"]["userLabels"] == {"data-classification": "restricted"}
    bc = prod["settings"]["backupConfiguration"]
    assert bc["enabled"] is True and bc["startTime"] == "03:00" and bc["location"] == "us-west1"
    assert bc["backupRetentionSettings"] == {"retainedBackups": 30, "retentionUnit": "COUNT"}
    assert bc["pointInTimeRecoveryEnabled"] is True and bc["transactionLogRetentionDays"] == 7
    assert "diskEncryptionConfiguration" not in prod
    replica = by_name["customers-pg-replica"]
    assert replica["instanceType"] == "READ_REPLICA_INSTANCE"
    assert replica["masterInstanceName"] == "bks-prod:customers-pg"
    assert replica["settings"]["backupConfiguration"] == {"kind": "sql#backupConfiguration", "enabled": True}


def test_instance_get_and_disabled_backups(sql):
    reports = sql.instances().get(project="bks-analytics", instance="reports-pg").execute()
    assert reports["settings"]["backupConfiguration"]["enabled"] is False
    staging = sql.instances().get(project="bks-analytics", instance="staging-pg").execute()
    assert staging["settings"]["activationPolicy"] == "ALWAYS"  # restarted on Aug 20
    with pytest.raises(HttpError) as info:
        sql.instances().get(project="bks-prod", instance="nope").execute()
    assert info.value.resp.status == 404


def test_backup_runs_retained_newest_first_and_paged(sim, sql):
    before = sim.count("sqladmin", "GET", "/v1/projects/{project}/instances/{instance}/backupRuns")
    runs, pages = _all_pages(sql.backupRuns(),
                             sql.backupRuns().list(project="bks-prod", instance="billing-pg", maxResults=4), "items")
    assert sim.count("sqladmin", "GET", "/v1/projects/{project}/instances/{instance}/backupRuns") == before + pages
    ok = [r for r in runs if r["status"] == "SUCCESSFUL"]
    assert len(ok) == 14  # retained_backups
    assert pages == 4  # 14 successes (Sep 16..29): nothing failed inside that span -> 14 runs, 4 pages of 4
    starts = [r["windowStartTime"] for r in runs]
    assert starts == sorted(starts, reverse=True)
    assert starts[0] == "2026-09-29T23:00:00.000Z" and starts[-1] == "2026-09-16T23:00:00.000Z"
    run = runs[0]
    assert run["kind"] == "sql#backupRun" and run["type"] == "AUTOMATED" and run["id"].isdigit()
    assert run["location"] == "us-east4" and run["instance"] == "billing-pg"
    assert run["startTime"] < run["endTime"] <= "2026-09-30T02:00:00.000Z"


def test_backup_runs_include_failed_within_span(sql):
    # customers-pg keeps 30: Aug 31..Sep 29, no failure there; billing-pg with a bigger span would
    # include Sep 2 FAILED, so ask a scenario variant with retained_backups 30.
    data = load_scenario(SAMPLE).model_dump(by_alias=True)
    data["projects"][0]["sql_instances"][2]["backup"]["retained_backups"] = 30
    with Simulator(parse_scenario(data)) as s:
        api = _client("sqladmin", "v1", s.url)
        runs = api.backupRuns().list(project="bks-prod", instance="billing-pg").execute()["items"]
    statuses = {r["windowStartTime"][:10]: r["status"] for r in runs}
    assert statuses["2026-09-02"] == "FAILED"
    assert "2026-09-15" not in statuses and "2026-08-12" not in statuses  # skipped / none: no run
    assert sum(s == "SUCCESSFUL" for s in statuses.values()) == 30


def test_backup_runs_dash_lists_all_instances_of_project(sql):
    runs, pages = _all_pages(sql.backupRuns(),
                             sql.backupRuns().list(project="bks-prod", instance="-", maxResults=10), "items")
    assert pages == 5  # 30 (customers-pg) + 14 (billing-pg) = 44 runs
    assert {r["instance"] for r in runs} == {"customers-pg", "billing-pg"}
    assert len(runs) == 44


def test_page_size_is_capped(sql):
    resp = sql.backupRuns().list(project="bks-prod", instance="-", maxResults=5000).execute()
    assert len(resp["items"]) == 44  # under the cap of 100; no error
    with pytest.raises(HttpError) as info:
        sql.backupRuns().list(project="bks-prod", instance="-", maxResults=-1).execute()
    assert info.value.resp.status == 400


def test_page_token_bound_to_query(sql):
    first = sql.backupRuns().list(project="bks-prod", instance="customers-pg", maxResults=5).execute()
    token = first["nextPageToken"]
    with pytest.raises(HttpError) as info:
        sql.backupRuns().list(project="bks-prod", instance="billing-pg", maxResults=5, pageToken=token).execute()
    assert info.value.resp.status == 400 and _error(info.value)["status"] == "INVALID_ARGUMENT"
    with pytest.raises(HttpError):
        sql.backupRuns().list(project="bks-prod", instance="customers-pg", pageToken="garbage!").execute()


def test_fields_mask_applied(sql):
    resp = sql.instances().list(project="bks-prod", fields="items(name,settings/backupConfiguration/enabled)").execute()
    assert resp == {"items": [
        {"name": "customers-pg", "settings": {"backupConfiguration": {"enabled": True}}},
        {"name": "customers-pg-replica", "settings": {"backupConfiguration": {"enabled": True}}},
        {"name": "billing-pg", "settings": {"backupConfiguration": {"enabled": True}}},
        {"name": "invoices-pg", "settings": {"backupConfiguration": {"enabled": True}}},
    ]}


# -- Strictness, errors, clock -----------------------------------------------------------------

def test_unknown_path_is_google_404(sim):
    resp, content = httplib2.Http().request(sim.url + "/v1/projects/bks-prod/nothing")
    assert resp.status == 404
    err = json.loads(content)["error"]
    assert err["code"] == 404 and err["status"] == "NOT_FOUND" and err["errors"][0]["reason"] == "notFound"


def test_unknown_query_parameter_is_400(sim):
    resp, content = httplib2.Http().request(sim.url + "/v1/projects/bks-prod/instances?colour=blue")
    assert resp.status == 400
    assert json.loads(content)["error"]["status"] == "INVALID_ARGUMENT"
    resp, _ = httplib2.Http().request(sim.url + "/v1/projects/bks-prod/instances/customers-pg?maxResults=3")
    assert resp.status == 400  # maxResults belongs to list, not get


def test_date_header_is_scenario_clock(sim):
    resp, _ = httplib2.Http().request(sim.url + "/v1/projects/bks-prod/instances")
    served = email.utils.parsedate_to_datetime(resp["date"])
    now = dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.timezone.utc)
    assert now <= served < now + dt.timedelta(minutes=10)
    resp, _ = httplib2.Http().request(sim.url + "/nowhere")
    assert email.utils.parsedate_to_datetime(resp["date"]).date() == now.date()  # errors too


def _faulty_sim():
    data = load_scenario(SAMPLE).model_dump(by_alias=True)
    data["projects"][0]["apis_disabled"] = ["sqladmin"]
    data["projects"][1]["permission_denied"] = ["sqladmin", "logging"]
    return Simulator(parse_scenario(data))


def test_service_disabled_vs_permission_denied():
    with _faulty_sim() as s:
        sql = _client("sqladmin", "v1", s.url)
        with pytest.raises(HttpError) as disabled:
            sql.instances().list(project="bks-prod").execute()
        with pytest.raises(HttpError) as denied:
            sql.backupRuns().list(project="bks-analytics", instance="-").execute()
        with pytest.raises(HttpError) as unknown:
            sql.instances().list(project="not-ours-123").execute()
        logs = _client("logging", "v2", s.url)
        # logging is still enabled in bks-prod
        assert logs.entries().list(body={"resourceNames": ["projects/bks-prod"], "pageSize": 1}).execute()["entries"]
        with pytest.raises(HttpError) as log_denied:
            logs.entries().list(body={"resourceNames": ["projects/bks-analytics"]}).execute()
        assert s.count("sqladmin", "GET", "/v1/projects/{project}/instances") == 2
    for exc, reason in [(disabled, "SERVICE_DISABLED"), (denied, "IAM_PERMISSION_DENIED"),
                        (unknown, "IAM_PERMISSION_DENIED"), (log_denied, "IAM_PERMISSION_DENIED")]:
        assert exc.value.resp.status == 403
        err = _error(exc.value)
        assert err["status"] == "PERMISSION_DENIED"
        info = err["details"][0]
        assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" and info["reason"] == reason
    assert _error(disabled.value)["details"][0]["metadata"]["service"] == "sqladmin.googleapis.com"
    assert _error(log_denied.value)["details"][0]["metadata"]["service"] == "logging.googleapis.com"


# -- Cloud Logging -----------------------------------------------------------------------------

def test_logging_filter_by_method_and_paging(logging_api, sim):
    flt = BACKUP_METHOD + ' resource.labels.database_id="bks-prod:customers-pg"'
    entries, pages = _entries(logging_api, "bks-prod", flt, page_size=25)
    # Jun 20 .. Sep 29 = 102 days, plus one extra ATTEMPT_FAILED entry on Jul 20.
    assert len(entries) == 103 and pages == 5
    assert len({e["insertId"] for e in entries}) == 103
    ts = [e["timestamp"] for e in entries]
    assert ts == sorted(ts) and ts[-1] <= "2026-09-30T02:00:00"
    jul20 = [e["protoPayload"]["metadata"]["windowStatus"] for e in entries if e["timestamp"].startswith("2026-07-20")]
    assert jul20 == ["STATUS_ATTEMPT_FAILED", "STATUS_SUCCEEDED"]
    e = entries[-1]
    assert e["logName"] == "projects/bks-prod/logs/cloudaudit.googleapis.com%2Fsystem_event"
    meta = e["protoPayload"]["metadata"]
    assert meta["windowStartTime"] == "2026-09-29T03:00:00.000Z" and meta["windowEndTime"] == "2026-09-29T07:00:00.000Z"
    assert meta["windowStartTime"] < meta["backupStartTime"] < meta["backupEndTime"] < meta["windowEndTime"]


def test_logging_filter_by_status_and_timestamp_range(logging_api):
    flt = (BACKUP_METHOD + ' AND NOT protoPayload.metadata.windowStatus="STATUS_SUCCEEDED"'
           ' AND timestamp>="2026-07-01T00:00:00Z" AND timestamp<"2026-10-01T00:00:00Z"')
    entries, _ = _entries(logging_api, "bks-prod", flt, order="timestamp desc")
    got = [(e["resource"]["labels"]["database_id"], e["protoPayload"]["metadata"]["windowStatus"],
            e["protoPayload"]["metadata"]["windowStartTime"][:10]) for e in entries]
    assert got == [
        ("bks-prod:billing-pg", "STATUS_SKIPPED", "2026-09-15"),
        ("bks-prod:billing-pg", "STATUS_FAILED", "2026-09-02"),
        ("bks-prod:customers-pg", "STATUS_ATTEMPT_FAILED", "2026-07-20"),
    ]
    failed = entries[1]
    assert failed["severity"] == "ERROR" and "backupEndTime" not in failed["protoPayload"]["metadata"]


def test_logging_midnight_window_belongs_to_start_day(logging_api):
    flt = BACKUP_METHOD + ' resource.labels.database_id="bks-prod:billing-pg" timestamp>="2026-09-29T12:00:00Z"'
    entries, _ = _entries(logging_api, "bks-prod", flt)
    assert len(entries) == 1
    meta = entries[0]["protoPayload"]["metadata"]
    assert meta["windowStartTime"] == "2026-09-29T23:00:00.000Z" and entries[0]["timestamp"] < "2026-09-30T02"


def test_logging_stop_start_activity_entries(logging_api):
    """The sample's stop, restart and backup switch-off are logged without the request body (whether Cloud SQL
    logs it is unconfirmed, API notes): the entry says an update happened, not what it set."""
    flt = 'logName:"cloudaudit.googleapis.com%2Factivity" protoPayload.methodName="cloudsql.instances.update"'
    entries, _ = _entries(logging_api, "bks-analytics", flt)
    got = [(e["protoPayload"]["resourceName"], e["timestamp"], "body" in e["protoPayload"]["request"]) for e in entries]
    assert got == [
        ("projects/bks-analytics/instances/staging-pg", "2026-08-01T09:00:00.000Z", False),
        ("projects/bks-analytics/instances/staging-pg", "2026-08-20T09:00:00.000Z", False),
        ("projects/bks-analytics/instances/reports-pg", "2026-09-10T00:00:00.000Z", False),
    ]


def test_logging_stop_start_bodies_where_the_scenario_says_they_are_logged():
    from auditor.simulator.routes_logging import project_entries
    from auditor.simulator.scenario import parse_scenario

    data = {"name": "bodies", "now": "2026-09-30T06:00:00Z", "history_start": "2026-09-01",
            "organization": {"id": "5", "display_name": "b.example"},
            "projects": [{"id": "body-prod", "number": "55", "sql_instances": [
                {"name": "pg", "region": "us-east1", "database_version": "POSTGRES_16",
                 "stopped": [{"from": "2026-09-02T09:00:00Z", "to": "2026-09-03T09:00:00Z", "body_logged": True}],
                 "backup": {"enabled": False, "disabled_since": "2026-09-20", "disabled_since_body_logged": True,
                            "disabled": [{"from": "2026-09-05T09:00:00Z", "to": "2026-09-06T09:00:00Z", "body_logged": True}]}}]}]}
    scenario = parse_scenario(data)
    entries = sorted(project_entries(scenario, scenario.projects[0]), key=lambda e: e["timestamp"])
    got = [(e["timestamp"], e["protoPayload"]["methodName"], e["protoPayload"]["request"]["body"]["settings"])
           for e in entries if e["logName"].endswith("activity")]
    assert got == [
        ("2026-09-02T09:00:00.000Z", "cloudsql.instances.update", {"activationPolicy": "NEVER"}),
        ("2026-09-03T09:00:00.000Z", "cloudsql.instances.update", {"activationPolicy": "ALWAYS"}),
        ("2026-09-05T09:00:00.000Z", "cloudsql.instances.patch", {"backupConfiguration": {"enabled": False}}),
        ("2026-09-06T09:00:00.000Z", "cloudsql.instances.patch", {"backupConfiguration": {"enabled": True}}),
        ("2026-09-20T00:00:00.000Z", "cloudsql.instances.update", {"backupConfiguration": {"enabled": False}}),
    ]


def test_logging_rejects_bad_requests(logging_api):
    def call(body):
        with pytest.raises(HttpError) as info:
            logging_api.entries().list(body=body).execute()
        return info.value.resp.status, _error(info.value)["status"]

    base = {"resourceNames": ["projects/bks-prod"]}
    assert call({**base, "filter": 'protoPayload.methodName="x" AND ('}) == (400, "INVALID_ARGUMENT")
    assert call({**base, "orderBy": "severity"}) == (400, "INVALID_ARGUMENT")
    assert call({**base, "colour": "blue"}) == (400, "INVALID_ARGUMENT")
    assert call({"filter": ""}) == (400, "INVALID_ARGUMENT")
    assert call({"resourceNames": ["projects/unknown-proj"]}) == (403, "PERMISSION_DENIED")


def test_logging_token_bound_to_filter(logging_api):
    body = {"resourceNames": ["projects/bks-prod"], "filter": BACKUP_METHOD, "pageSize": 5}
    token = logging_api.entries().list(body=body).execute()["nextPageToken"]
    again = logging_api.entries().list(body={**body, "pageToken": token}).execute()
    assert len(again["entries"]) == 5
    with pytest.raises(HttpError) as info:
        logging_api.entries().list(body={**body, "filter": BACKUP_METHOD + " severity=ERROR",
                                         "pageToken": token}).execute()
    assert info.value.resp.status == 400


def test_logging_page_size_cap(logging_api):
    assert len(logging_api.entries().list(body={"resourceNames": ["projects/bks-prod"]}).execute()["entries"]) == 50
    data = load_scenario(SAMPLE).model_dump(by_alias=True)
    data["history_start"] = "2025-03-01"  # > 1000 entries in bks-prod
    with Simulator(parse_scenario(data)) as s:
        api = _client("logging", "v2", s.url)
        body = {"resourceNames": ["projects/bks-prod"], "pageSize": 100000}
        resp = api.entries().list(body=body).execute()
    assert len(resp["entries"]) == 1000 and "nextPageToken" in resp
