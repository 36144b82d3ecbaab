"""The encryption, monitoring and restore controls, end to end over real HTTP.

Each test serves a small hand-written scenario in the simulator, collects it with the real client
libraries (cloudkms, monitoring, logging, sqladmin) through the scheduler and capture layer, and
re-performs the checks from the locker. Expected verdicts are reasoned from the rules by hand.
"""

from __future__ import annotations

import copy
from datetime import date

import pytest

from auditor.config import load_config
from auditor.locations import SEVERAL, country_of
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

KEY = "projects/p-keys1/locations/{loc}/keyRings/sql/cryptoKeys/k1"
FAILED_ONLY = ('resource.type="cloudsql_database" AND protoPayload.methodName="cloudsql.instances.automatedBackup" '
               'AND protoPayload.metadata.windowStatus="STATUS_FAILED"')
SUCCESS_ONLY = FAILED_ONLY.replace("STATUS_FAILED", "STATUS_SUCCEEDED")


def scenario(**project_extra) -> dict:
    """One audited project (p-one1, one restricted CMEK instance), a key project and a monitoring project."""
    instance = {"name": "db", "region": "us-east1", "database_version": "POSTGRES_16",
                "labels": {"data-classification": "restricted"}, "kms_key": KEY.format(loc="us-east1"),
                "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 5}}
    instance.update(project_extra.pop("instance", {}))
    return {
        "name": "controls", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-10",
        "organization": {"id": "42", "display_name": "example"},
        "projects": [
            {"id": "p-one1", "number": "1", "sql_instances": [instance], **project_extra},
            {"id": "p-keys1", "number": "2", "kms_keys": [{"key_ring": "sql", "name": "k1", "location": "us-east1",
                                                          "versions": ["ENABLED"]}]},
            {"id": "p-mon01", "number": "3"},
        ],
    }


def run(tmp_path, data: dict, monitoring_project: str | None = "p-mon01") -> dict[str, dict]:
    config = load_config(_sample() / "auditor.yaml")
    gcp = config.gcp.model_copy(update={"projects": ["p-one1"], "monitoring_project": monitoring_project})
    config = config.model_copy(update={"gcp": gcp})
    with Simulator(parse_scenario(data)) as sim:
        collect(config.model_copy(update={"github": None}).with_endpoints(sim.url), tmp_path / "evidence")
    results = evaluate([tmp_path / "evidence"])
    return {c["id"]: {f["resource"].split("/")[-1]: f for f in c["findings"]} for c in results["controls"]}


def _sample():
    from importlib import resources
    from pathlib import Path

    return Path(str(resources.files("auditor.samples") / "bangkok-solutions"))


def with_keys(data: dict, versions: list[str], location: str = "us-east1") -> dict:
    data = copy.deepcopy(data)
    data["projects"][1]["kms_keys"][0].update(versions=versions, location=location)
    data["projects"][0]["sql_instances"][0]["kms_key"] = KEY.format(loc=location)
    return data


# -- backup-encryption-parity -----------------------------------------------------------------

@pytest.mark.parametrize("state, status", [("ENABLED", "pass"), ("DISABLED", "fail"), ("DESTROYED", "fail"),
                                           ("DESTROY_SCHEDULED", "fail")])
def test_each_state_of_the_key_version_behind_retained_backups(tmp_path, state, status):
    data = with_keys(scenario(instance={"kms_key_version": 2, "backup_key_versions": {"2026-09-10..2026-09-27": 1}}),
                     [state, "ENABLED"])
    finding = run(tmp_path, data)["backup-encryption-parity"]["db"]
    assert finding["status"] == status, finding["message"]
    assert finding["observed"]["key_versions"] == {"1": state, "2": "ENABLED"}
    if status == "fail":
        # the 5 retained backups are Sep 25..29: Sep 25..27 used version 1
        assert "encrypts 3 retained backups (taken 2026-09-25..2026-09-27)" in finding["message"]


def test_live_data_on_an_unusable_version_fails(tmp_path):
    data = with_keys(scenario(), ["DISABLED"])
    finding = run(tmp_path, data)["backup-encryption-parity"]["db"]
    assert finding["status"] == "fail" and "the live data and 5 retained backups" in finding["message"]


def test_key_in_another_country_fails_and_a_us_dual_region_passes(tmp_path):
    abroad = run(tmp_path / "a", with_keys(scenario(), ["ENABLED"], "europe-west1"))["backup-encryption-parity"]["db"]
    assert abroad["status"] == "fail" and "europe-west1 (BE)" in abroad["message"] and "us-east1 (US)" in abroad["message"]
    dual = run(tmp_path / "b", with_keys(scenario(), ["ENABLED"], "nam4"))["backup-encryption-parity"]["db"]
    assert dual["status"] == "pass", dual["message"]


def test_global_key_is_not_in_one_country(tmp_path):
    finding = run(tmp_path, with_keys(scenario(), ["ENABLED"], "global"))["backup-encryption-parity"]["db"]
    assert finding["status"] == "fail" and "several countries" in finding["message"]


def test_enhanced_tier_without_a_backup_plan_association_fails(tmp_path):
    """backupTier ENHANCED hands the backups to Backup and DR; with no association naming it, nothing backs it up
    (judged from Backup and DR, not left "not yet collected"; tests/test_backup_sources_checks.py has the protected case)."""
    data = scenario(instance={"backup": {"enabled": True, "tier": "ENHANCED"}})
    results = run(tmp_path, data)
    for check in ("backup-encryption-parity", "backup-frequency"):
        finding = results[check]["db"]
        assert finding["status"] == "fail" and "no backup plan association" in finding["message"], check


def test_cmek_classification_without_cmek_fails(tmp_path):
    data = scenario(instance={"kms_key": None})
    finding = run(tmp_path, data)["backup-encryption-parity"]["db"]
    assert finding["status"] == "fail" and "requires customer-managed encryption keys" in finding["message"]


@pytest.mark.parametrize("knob, words", [("apis_disabled", "the API is disabled (SERVICE_DISABLED)"),
                                         ("permission_denied", "permission was denied (IAM_PERMISSION_DENIED)")])
def test_unreadable_kms_is_inconclusive_naming_project_api_and_which(tmp_path, knob, words):
    data = scenario()
    data["projects"][1][knob] = ["cloudkms"]
    finding = run(tmp_path, data)["backup-encryption-parity"]["db"]
    assert finding["status"] == "inconclusive"
    assert "cloudkms cryptoKeys.get for projects/p-keys1/" in finding["message"] and words in finding["message"]


# -- backup-monitoring ------------------------------------------------------------------------

def monitored(policy: dict, *, where: int = 0, channel_enabled: bool = True, metric: dict | None = None) -> dict:
    data = scenario()
    project = data["projects"][where]
    project["notification_channels"] = [{"id": "ops", "display_name": "Ops", "enabled": channel_enabled}]
    project["alert_policies"] = [{"id": "a1", "display_name": "Backup failed", "channels": ["ops"], **policy}]
    if metric:
        data["projects"][0]["log_metrics"] = [metric]
    return data


def test_log_match_alert_on_failures_passes(tmp_path):
    finding = run(tmp_path, monitored({"log_filter": FAILED_ONLY}))["backup-monitoring"]["p-one1"]
    assert finding["status"] == "pass", finding["message"]
    assert "in project p-one1 notifies Ops (email)" in finding["message"]


def test_threshold_on_a_log_based_metric_resolves_the_metric_filter(tmp_path):
    good = monitored({"metric_threshold": "bk"}, metric={"name": "bk", "filter": FAILED_ONLY})
    assert run(tmp_path / "a", good)["backup-monitoring"]["p-one1"]["status"] == "pass"
    bad = monitored({"metric_threshold": "bk"}, metric={"name": "bk", "filter": SUCCESS_ONLY})
    finding = run(tmp_path / "b", bad)["backup-monitoring"]["p-one1"]
    assert finding["status"] == "fail" and "log-based metric 'bk'" in finding["message"]
    assert "matches only successful backups" in finding["message"]
    missing = monitored({"metric_threshold": "nope"})
    finding = run(tmp_path / "c", missing)["backup-monitoring"]["p-one1"]
    assert finding["status"] == "fail" and "does not define" in finding["message"]


def test_success_only_filter_fails_and_says_cloud_sql_does_not_alert(tmp_path):
    finding = run(tmp_path, monitored({"log_filter": SUCCESS_ONLY}))["backup-monitoring"]["p-one1"]
    assert finding["status"] == "fail"
    assert "matches only successful backups" in finding["message"]
    assert "Cloud SQL does not alert on failed backups by itself" in finding["message"]


def test_filter_matching_every_backup_does_not_count(tmp_path):
    every = 'protoPayload.methodName="cloudsql.instances.automatedBackup"'
    finding = run(tmp_path, monitored({"log_filter": every}))["backup-monitoring"]["p-one1"]
    assert finding["status"] == "fail" and "successful or not" in finding["message"]


def test_disabled_channel_or_disabled_policy_fails(tmp_path):
    channel = run(tmp_path / "a", monitored({"log_filter": FAILED_ONLY}, channel_enabled=False))["backup-monitoring"]["p-one1"]
    assert channel["status"] == "fail" and "disabled" in channel["message"] and "Ops (email)" in channel["message"]
    policy = run(tmp_path / "b", monitored({"log_filter": FAILED_ONLY, "enabled": False}))["backup-monitoring"]["p-one1"]
    assert policy["status"] == "fail" and "is disabled" in policy["message"]


def test_policy_in_the_monitoring_project_counts_only_when_configured(tmp_path):
    data = monitored({"log_filter": FAILED_ONLY}, where=2)
    central = run(tmp_path / "a", data)["backup-monitoring"]["p-one1"]
    assert central["status"] == "pass" and "in project p-mon01" in central["message"]
    alone = run(tmp_path / "b", data, monitoring_project=None)["backup-monitoring"]["p-one1"]
    assert alone["status"] == "fail" and "no alert policies of its own" in alone["message"]


def test_no_alert_policy_anywhere_fails(tmp_path):
    finding = run(tmp_path, scenario())["backup-monitoring"]["p-one1"]
    assert finding["status"] == "fail" and finding["observed"]["alert_policies_in_project"] == 0


@pytest.mark.parametrize("knob, words", [("apis_disabled", "SERVICE_DISABLED"), ("permission_denied", "IAM_PERMISSION_DENIED")])
def test_unreadable_monitoring_is_inconclusive_naming_project_api_and_which(tmp_path, knob, words):
    data = scenario()
    data["projects"][2][knob] = ["monitoring"]
    finding = run(tmp_path, data)["backup-monitoring"]["p-one1"]
    assert finding["status"] == "inconclusive", finding["message"]
    assert "monitoring alertPolicies.list for projects/p-mon01" in finding["message"] and words in finding["message"]


# -- restore-testing --------------------------------------------------------------------------

@pytest.mark.parametrize("ops, status", [
    ([{"type": "RESTORE_VOLUME", "time": "2026-06-20T10:00:00Z"}, {"type": "RESTORE_VOLUME", "time": "2026-09-10T10:00:00Z"}], "pass"),
    ([{"type": "RESTORE_VOLUME", "time": "2026-06-20T10:00:00Z"}], "fail"),             # covers to Sep 18 only
    ([{"type": "CLONE", "time": "2026-07-02T10:00:00Z"}, {"type": "RESTORE_VOLUME", "time": "2026-09-10T10:00:00Z"}], "fail"),  # a clone of live data is no restore test
    # rst2: the audit log is read from Jun 30, so only operations.list shows a Jun 20 clone, and whether it was made to a
    # point in time (a restore test) is unknown: the days it would cover (to Sep 9, then the Sep 10 restore) are unknown
    ([{"type": "CLONE", "time": "2026-06-20T10:00:00Z"}, {"type": "RESTORE_VOLUME", "time": "2026-09-10T10:00:00Z"}], "inconclusive"),
    ([{"type": "CLONE", "time": "2026-07-15T10:00:00Z"}, {"type": "CLONE", "time": "2026-09-01T10:00:00Z"}], "fail"),
    ([{"type": "RESTORE_VOLUME", "time": "2026-06-20T10:00:00Z"}, {"type": "RESTORE_VOLUME", "time": "2026-09-10T10:00:00Z", "error": "quota"}], "fail"),
    ([{"type": "BACKUP_VOLUME", "time": "2026-07-01T10:00:00Z"}], "fail"),               # a backup is not a restore
])
def test_restore_tests_within_and_outside_the_interval(tmp_path, ops, status):
    finding = run(tmp_path, scenario(instance={"operations": ops}))["restore-testing"]["db"]
    assert finding["status"] == status, finding["message"]
    if status == "inconclusive":
        assert "no complete Admin Activity log query covers" in finding["message"]
        assert finding["details"]["unknown_days"][0] == "2026-07-01" and finding["details"]["unknown_days"][-1] == "2026-09-09"
    else:
        assert "goes beyond the written Backup Policy" in finding["message"]


def test_restore_operations_unreadable_is_inconclusive(tmp_path):
    data = scenario()
    data["projects"][0]["permission_denied"] = ["sqladmin"]
    run(tmp_path, data)
    (control,) = [c for c in evaluate([tmp_path / "evidence"])["controls"] if c["id"] == "restore-testing"]
    # the project has several inconclusive findings (one per unread listing the control needs); the listing's is among them
    findings = [f for f in control["findings"] if f["resource"].endswith("/projects/p-one1")]
    assert findings and all(f["status"] == "inconclusive" for f in findings)
    assert any("sqladmin instances.list for projects/p-one1" in f["message"] for f in findings)


# -- locations --------------------------------------------------------------------------------

def test_country_of_regions_multi_and_dual_regions():
    assert country_of("us-east1") == {"US"} and country_of("US-EAST1") == {"US"}
    assert country_of("us") == {"US"} and country_of("nam4") == {"US"} and country_of("nam9") == {"US"}
    assert country_of("eur4") == {"FI", "NL"}  # members in two countries
    assert country_of("eu") == {SEVERAL} and country_of("global") == {SEVERAL}
    assert country_of("mars-north1") is None and country_of(None) is None


def test_uncovered_days_rule():
    from auditor.checks.restore_testing import uncovered_days

    days = [date(2026, 7, d) for d in range(1, 11)]
    assert uncovered_days([date(2026, 4, 2)], days, 90) == days[1:]  # Apr 2 + 90 days = Jul 1: covered to Jul 1 only
    assert uncovered_days([], days, 90) == days


def test_a_google_managed_backup_bucket_for_a_cmek_source_fails(tmp_path):
    """Facts built by hand: the rule is pure. A CMEK instance exported to a bucket without a default KMS key."""
    from datetime import datetime, timezone

    from auditor.checks import backup_encryption_parity
    from auditor.checks_api import CheckContext
    from auditor.config import Config
    from auditor.facts.build import assemble
    from auditor.facts.model import SqlInstance, sql_resource
    from auditor.facts.stores import Bucket
    from auditor.inventory import parse_inventory
    from auditor.period import Period

    config = Config.model_validate({"organization": "T", "period": {"quarter": "2026-Q3"},
                                    "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                    "policy": {"classifications": {"restricted": {"encryption": "cmek"}}}})
    key = "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k"
    instance = SqlInstance(resource=sql_resource("p", "db"), project="p", name="db", region="us-east1", database_version="POSTGRES_16",
                           state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                           labels={"data-classification": "restricted"}, create_time=None, backup_enabled=True,
                           backup_start_time=None, backup_location="us-west1", pitr_enabled=True, log_retention_days=7,
                           retained_backups=30, backup_tier=None, kms_key=key, master=None)
    def bucket(name, kms):
        return Bucket(resource=f"//storage.googleapis.com/{name}", name=name, project="p", project_number="1", location="us-west1",
                      location_type="region", data_locations=(), kms_key=kms, retention_seconds=None, retention_locked=None,
                      retention_effective=None, soft_delete_seconds=None, versioning=True, lifecycle_deletes=(), labels={},
                      create_time=None)
    inventory = parse_inventory(
        "reviewed: 2026-09-01\nstores:\n"
        f"  - resource: {instance.resource}\n    classification: restricted\n    owner: dba\n"
        "    backup: [cloudsql-automated, {backup-bucket: //storage.googleapis.com/weak}, {backup-bucket: //storage.googleapis.com/strong}]\n",
        tmp_path / "inventory.yaml")
    facts = assemble(datetime(2026, 9, 30, tzinfo=timezone.utc), ["p"],
                     items={"sql_instances": [instance], "buckets": [bucket("weak", None), bucket("strong", key)]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("storage", "buckets.list", "projects/p")])
    ctx = CheckContext(config=config, period=Period.from_config(config.period), as_of=facts.as_of, inventory=inventory)
    found = {f.resource: f for f in backup_encryption_parity._bucket_findings(facts, ctx)}
    assert found["//storage.googleapis.com/weak"].status == "fail"
    assert "Google-managed" in found["//storage.googleapis.com/weak"].message
    assert found["//storage.googleapis.com/strong"].status == "pass"
