"""The simulator's KMS, Monitoring, log-based metric and Cloud SQL operations routes, through the real clients."""

from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from auditor.checks.backup_monitoring import synthetic_entry
from auditor.facts.model import SqlInstance
from auditor.logfilter import compile_filter
from auditor.simulator import Simulator, load_scenario
from auditor.simulator.routes_logging import backup_entry
from auditor.simulator.timeline import instance_attempts

LEDGER = "projects/bks-platform/locations/us-east1/keyRings/sql/cryptoKeys/ledger"


@pytest.fixture(scope="module")
def sim(sample_dir):
    with Simulator(load_scenario(sample_dir / "scenario.yaml")) as simulator:
        yield simulator


def client(sim, api, version):
    return build(api, version, static_discovery=True, credentials=AnonymousCredentials(),
                 client_options={"api_endpoint": sim.url})


def test_kms_key_and_versions_paged(sim):
    keys = client(sim, "cloudkms", "v1").projects().locations().keyRings().cryptoKeys()
    key = keys.get(name=LEDGER).execute()
    assert key["primary"]["name"] == f"{LEDGER}/cryptoKeyVersions/2" and key["purpose"] == "ENCRYPT_DECRYPT"
    versions = keys.cryptoKeyVersions()
    first = versions.list(parent=LEDGER, pageSize=1).execute()
    assert [v["state"] for v in first["cryptoKeyVersions"]] == ["DESTROYED"] and "destroyEventTime" in first["cryptoKeyVersions"][0]
    second = versions.list_next(versions.list(parent=LEDGER, pageSize=1), first).execute()
    assert [v["state"] for v in second["cryptoKeyVersions"]] == ["ENABLED"] and "nextPageToken" not in second
    with pytest.raises(HttpError) as missing:
        keys.get(name=LEDGER.replace("ledger", "nope")).execute()
    assert missing.value.resp.status == 404
    with pytest.raises(HttpError) as filtered:
        versions.list(parent=LEDGER, filter="state=ENABLED").execute()
    assert filtered.value.resp.status == 400


def test_alert_policies_channels_and_metrics(sim):
    monitoring = client(sim, "monitoring", "v3").projects()
    policies = monitoring.alertPolicies().list(name="projects/bks-ops").execute()["alertPolicies"]
    assert {p["displayName"] for p in policies} >= {"Analytics backups", "Platform Cloud SQL backup failed"}
    assert all("conditionMatchedLog" in p["conditions"][0] for p in policies)
    prod = monitoring.alertPolicies().list(name="projects/bks-prod").execute()["alertPolicies"]
    assert 'logging.googleapis.com/user/cloudsql-backup-failures' in prod[0]["conditions"][0]["conditionThreshold"]["filter"]
    channels = monitoring.notificationChannels().list(name="projects/bks-ops").execute()["notificationChannels"]
    assert {c["displayName"]: c["enabled"] for c in channels} == {"SRE pager": True, "Analytics team (old list)": False}
    metrics = client(sim, "logging", "v2").projects().metrics().list(parent="projects/bks-prod").execute()["metrics"]
    assert metrics[0]["name"] == "cloudsql-backup-failures" and "STATUS_FAILED" in metrics[0]["filter"]
    with pytest.raises(HttpError) as err:
        monitoring.alertPolicies().list(name="projects/bks-ops", filter='display_name="x"').execute()
    assert err.value.resp.status == 400


def test_operations_per_instance_newest_first_or_the_whole_project(sim):
    ops = client(sim, "sqladmin", "v1").operations()
    items = ops.list(project="bks-platform", instance="events-pg").execute()["items"]
    assert [o["operationType"] for o in items] == ["CLONE", "RESTORE_VOLUME"]
    assert items[0]["error"]["errors"][0]["code"] == "INTERNAL_ERROR" and items[1]["targetId"] == "events-pg"
    # `instance` is optional in the API: without it, every instance's operations, newest first
    everything = ops.list(project="bks-platform").execute()["items"]
    assert [o["name"] for o in everything if o["targetId"] == "events-pg"] == [o["name"] for o in items]
    assert len({o["targetId"] for o in everything}) > 1
    assert [o["insertTime"] for o in everything] == sorted((o["insertTime"] for o in everything), reverse=True)
    with pytest.raises(HttpError) as err:
        ops.list(project="bks-platform", instance="no-such-instance").execute()
    assert err.value.resp.status == 404


def test_check_synthetic_entries_agree_with_served_entries(sample_dir):
    """The check's synthetic failed/successful entries match the same filters as the entries Logging serves."""
    scenario = load_scenario(sample_dir / "scenario.yaml")
    project = scenario.project("bks-prod")
    inst = project.instance("billing-pg")
    served = {a.status: backup_entry(project, inst, a) for a in instance_attempts(scenario, project, inst)}
    fact = SqlInstance(resource="", project="bks-prod", name="billing-pg", region="us-central1", database_version=None,
                       state=None, instance_type=None, activation_policy=None, labels={}, create_time=None,
                       backup_enabled=True, backup_start_time=None, backup_location=None, pitr_enabled=None,
                       log_retention_days=None, retained_backups=None, backup_tier=None, kms_key=None, master=None)
    filters = ['protoPayload.metadata.windowStatus="STATUS_FAILED"', "severity>=ERROR", 'protoPayload.status.code=13',
               'resource.labels.database_id="bks-prod:billing-pg"', 'logName:"system_event"', "-protoPayload.metadata.backupEndTime:*"]
    for text in filters:
        match = compile_filter(text)
        for status in ("STATUS_FAILED", "STATUS_SUCCEEDED"):
            assert match(synthetic_entry(fact, status)) == match(served[status]), (text, status)
