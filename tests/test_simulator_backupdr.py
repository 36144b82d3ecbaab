"""The Backup and DR and Cloud SQL Backups routes over real HTTP, with the official discovery clients,
and the collectors on them: paging, field shapes, partial answers, cross-project vaults, Google-style errors."""

from __future__ import annotations

import json

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from auditor.config import Config
from auditor.evidence.locker import Locker
from auditor.facts import build_facts
from auditor.facts.known import Known, Unknown
from auditor.runner import collect
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

ENHANCED = {"name": "vault-pg", "region": "us-east1", "database_version": "POSTGRES_16", "create_time": "2026-01-01T00:00:00Z",
            "labels": {"data-classification": "internal"},
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "tier": "ENHANCED"},
            "backupdr": {"plan": "projects/backup-prj/locations/us-west1/backupPlans/daily", "failed_from": "2026-09-29",
                         "verified_every_days": 7}}
MYSQL = {"name": "shop-mysql", "region": "us-east1", "database_version": "MYSQL_8_0", "create_time": "2026-01-01T00:00:00Z",
         "edition": "ENTERPRISE_PLUS", "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 3, "binary_log": True,
                    "log_retention_days": 21},
         "on_demand": [{"time": "2026-09-25T12:00:00Z", "location": "us-central1"}]}
GONE = {"name": "gone-pg", "region": "us-east1", "database_version": "POSTGRES_15", "create_time": "2026-01-01T00:00:00Z",
        "delete_time": "2026-09-22T12:00:00Z", "final_backup_days": 30, "labels": {"data-classification": "internal"},
        "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 3}}


def scenario(**work):
    return parse_scenario({
        "name": "t", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-20",
        "organization": {"id": "42", "display_name": "t.example"},
        "projects": [
            {"id": "work-prj", "number": "101", "sql_instances": [ENHANCED, MYSQL, GONE], **work},
            {"id": "backup-prj", "number": "102",
             "backup_vaults": [{"id": "vault", "location": "us-west1", "min_retention_days": 14,
                                "locked_from": "2026-02-01T00:00:00Z"},
                               {"id": "open-vault", "location": "us-east1"}],
             "backup_plans": [{"id": "daily", "location": "us-west1", "vault": "vault",
                               "rules": [{"id": "daily", "retention_days": 20}]}]},
        ]})


@pytest.fixture(scope="module")
def sim():
    with Simulator(scenario(), port=0) as s:
        s.now = lambda: s.scenario.now
        yield s


def client(api, url):
    return build(api, "v1", static_discovery=True, credentials=AnonymousCredentials(), client_options={"api_endpoint": url})


def pages(collection, request, field, next_name="list_next"):
    out, count = [], 0
    while request is not None:
        body = request.execute()
        out += body.get(field, [])
        count += 1
        request = getattr(collection, next_name)(request, body)
    return out, count


def test_vaults_plans_and_lock_fields(sim):
    bdr = client("backupdr", sim.url).projects().locations()
    vaults = bdr.backupVaults().list(parent="projects/backup-prj/locations/-").execute()["backupVaults"]
    locked, unlocked = sorted(vaults, key=lambda v: v["name"]).__reversed__()
    assert locked["name"] == "projects/backup-prj/locations/us-west1/backupVaults/vault" and "location" not in locked
    assert locked["backupMinimumEnforcedRetentionDuration"] == "1209600s" and locked["effectiveTime"] == "2026-02-01T00:00:00.000Z"
    assert "effectiveTime" not in unlocked and unlocked["backupMinimumEnforcedRetentionDuration"] == "0s"
    one_region = bdr.backupVaults().list(parent="projects/backup-prj/locations/us-east1").execute()["backupVaults"]
    assert [v["name"].rsplit("/", 1)[-1] for v in one_region] == ["open-vault"]
    (plan,) = bdr.backupPlans().list(parent="projects/backup-prj/locations/-").execute()["backupPlans"]
    assert plan["backupRules"][0]["backupRetentionDays"] == 20
    assert plan["backupRules"][0]["standardSchedule"]["backupWindow"] == {"startHourOfDay": 2, "endHourOfDay": 6}


def test_association_data_source_and_paged_backups(sim):
    bdr = client("backupdr", sim.url).projects().locations()
    (assoc,) = bdr.backupPlanAssociations().list(parent="projects/work-prj/locations/-").execute()["backupPlanAssociations"]
    assert assoc["resource"] == "projects/work-prj/instances/vault-pg"
    (rule,) = assoc["rulesConfigInfo"]
    assert rule["lastBackupState"] == "FAILED" and rule["lastBackupError"]["code"] == 13
    assert rule["lastSuccessfulBackupConsistencyTime"].startswith("2026-09-28T02:")
    vault = "projects/backup-prj/locations/us-west1/backupVaults/vault"
    (source,) = bdr.backupVaults().dataSources().list(parent=vault).execute()["dataSources"]
    assert source["name"] == assoc["dataSource"] and source["backupConfigInfo"]["lastBackupState"] == "FAILED"
    backups_api = bdr.backupVaults().dataSources().backups()
    backups, count = pages(backups_api, backups_api.list(parent=source["name"], pageSize=3), "backups")
    # created Jan 1, kept 20 days, Sep 29 failed: Sep 10..Sep 28 (19 backups whose expiry is after the clock)
    assert count == 7 and len(backups) == 19 and len({b["name"] for b in backups}) == 19
    assert all(b["state"] == "ACTIVE" and b["enforcedRetentionEndTime"] and b["expireTime"] for b in backups)
    assert any("verificationSummary" in b for b in backups)


def test_backupdr_rejects_filters_unknown_vaults_and_bad_tokens(sim):
    bdr = client("backupdr", sim.url).projects().locations()
    with pytest.raises(HttpError) as err:
        bdr.backupVaults().list(parent="projects/backup-prj/locations/-", filter="state=ACTIVE").execute()
    assert err.value.resp.status == 400
    with pytest.raises(HttpError) as err:
        bdr.backupVaults().dataSources().list(parent="projects/backup-prj/locations/us-west1/backupVaults/nope").execute()
    assert err.value.resp.status == 404 and json.loads(err.value.content)["error"]["status"] == "NOT_FOUND"
    with pytest.raises(HttpError) as err:
        bdr.backupPlans().list(parent="projects/backup-prj/locations/-", pageToken="forged").execute()
    assert err.value.resp.status == 400


def test_sql_backups_every_kind_paged_and_filtered(sim):
    backups_api = client("sqladmin", sim.url).Backups()
    items, count = pages(backups_api, backups_api.ListBackups(parent="projects/work-prj", pageSize=2), "backups",
                         next_name="ListBackups_next")
    kinds = sorted({(b["instance"], b["type"]) for b in items})
    assert kinds == [("gone-pg", "FINAL"), ("shop-mysql", "AUTOMATED"), ("shop-mysql", "ON_DEMAND")] and count >= 2
    (final,) = [b for b in items if b["type"] == "FINAL"]
    assert final["instanceDeletionTime"] == "2026-09-22T12:00:00.000Z" and final["expiryTime"] == "2026-10-22T12:00:00.000Z"
    assert final["instanceSettings"]["name"] == "gone-pg" and "ttlDays" not in final
    (on_demand,) = [b for b in items if b["type"] == "ON_DEMAND"]
    assert on_demand["location"] == "us-central1" and on_demand["backupRun"].endswith(on_demand["name"].rsplit("/", 1)[-1])
    finals = backups_api.ListBackups(parent="projects/work-prj", filter="instance:gone-pg AND type:FINAL").execute()["backups"]
    assert [b["type"] for b in finals] == ["FINAL"]
    with pytest.raises(HttpError) as err:
        backups_api.ListBackups(parent="projects/work-prj", filter="location:us").execute()
    assert err.value.resp.status == 400


def test_mysql_instance_reports_the_binary_log_not_pitr(sim):
    instances = client("sqladmin", sim.url).instances().list(project="work-prj").execute()["items"]
    (mysql,) = [i for i in instances if i["name"] == "shop-mysql"]
    backup = mysql["settings"]["backupConfiguration"]
    assert backup["binaryLogEnabled"] is True and "pointInTimeRecoveryEnabled" not in backup
    assert mysql["settings"]["edition"] == "ENTERPRISE_PLUS"
    assert "gone-pg" not in {i["name"] for i in instances}


def config(url, projects=("work-prj",)):
    return Config.model_validate({"organization": "T", "period": {"start": "2026-09-21", "end": "2026-09-29"},
                                  "gcp": {"credentials": "anonymous", "projects": list(projects)},
                                  "policy": {"classifications": {"internal": {"retention_min_days": 7}}}}).with_endpoints(url)


def test_collection_follows_the_backup_project_and_reads_every_kind(sim, tmp_path):
    collection = collect(config(sim.url), tmp_path / "evidence")
    assert collection.complete, collection.failed_calls
    scopes = {(c["method"], c["scope"]) for c in collection.manifest["calls"] if c["api"] == "backupdr"}
    assert ("backupVaults.list", "projects/backup-prj") in scopes  # named by the plan, not configured
    assert ("dataSources.list", "projects/backup-prj/locations/us-west1/backupVaults/vault") in scopes
    facts = build_facts([Locker(tmp_path / "evidence")])
    read = facts.sql_backups.at("projects/work-prj")
    assert isinstance(read, Known)
    kinds = {(b.instance.rsplit("/", 1)[-1], b.kind, b.source) for b in read.items}
    assert ("gone-pg", "FINAL", "sql-backups") in kinds and ("shop-mysql", "ON_DEMAND", "backup-run") in kinds
    vault_pg = "//cloudsql.googleapis.com/projects/work-prj/instances/vault-pg"
    copies, detail = facts.backup_copies.of(vault_pg), facts.backupdr.of(vault_pg)
    assert isinstance(copies, Known) and copies.items and detail.vaults
    (vault,) = detail.vaults
    assert vault.name.endswith("/vault") and vault.immutable_at(facts.as_of)  # the backup project's vault, read
    assert detail.failing() and detail.retention_days() == 20
    mysql = facts.backup_copies.of("//cloudsql.googleapis.com/projects/work-prj/instances/shop-mysql")
    assert {c.kind for c in mysql.items} == {"automated", "on-demand"}  # each retained backup once
    assert sum(c.kind == "on-demand" for c in mysql.items) == 1


def test_unreachable_regions_make_the_listings_partial(tmp_path):
    with Simulator(scenario(unreachable_regions=["europe-west1"]), port=0) as sim:
        sim.now = lambda: sim.scenario.now
        collection = collect(config(sim.url), tmp_path / "evidence")
    failed = {(c["api"], c["method"]): c["error"] for c in collection.failed_calls}
    assert failed[("sqladmin", "Backups.list")]["kind"] == "partial"
    assert "europe-west1" in failed[("sqladmin", "Backups.list")]["message"]
    assert failed[("backupdr", "backupPlanAssociations.list")]["kind"] == "partial"
    assert ("backupdr", "resourceBackupConfigs.list") not in failed  # that answer has no `unreachable`
    facts = build_facts([Locker(tmp_path / "evidence")])
    assert isinstance(facts.sql_backups.at("projects/work-prj"), Unknown)  # read, but nothing it covers counts as complete
    assert isinstance(facts.backup_copies.of("//cloudsql.googleapis.com/projects/work-prj/instances/vault-pg"), Unknown)
