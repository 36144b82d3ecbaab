"""Google's own list of protected resources (Backup and DR resourceBackupConfigs) held against the backup plan
associations and the data map (issue 14), in backup-enabled.

`ResourceBackupConfig` payloads are transcribed from the backupdr v1 reference: `targetResource` (a CAIS full
resource name), `targetResourceType` CLOUD_SQL_INSTANCE, `backupConfigured`, `vaulted`, `backupConfigsDetails[]`
({type BACKUPDR_BACKUP_PLAN | CLOUD_SQL_INSTANCE_BACKUP_CONFIG, state ACTIVE|INACTIVE|ERROR, backupConfigSource,
backupVault, latestSuccessfulBackupTime, backupLocations[]}); an older, sparser answer omits
`backupConfigured` and the details. Expectations are hand-written from the rules in checks/protection_summary.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timezone

import pytest

from auditor.checks import backup_enabled
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts import read_backupdr as bdr
from auditor.facts.build import assemble
from auditor.facts.model import CallGap, LogSpan, SqlInstance, sql_resource
from auditor.period import Period

UTC = timezone.utc
AS_OF = datetime(2026, 7, 11, 12, 0, tzinfo=UTC)
DB = sql_resource("p", "ledger-pg")
PLAN = "projects/bkp/locations/us-west1/backupPlans/sql-daily"
VAULT = "projects/bkp/locations/us-west1/backupVaults/central"
INSTANCE = SqlInstance(resource=DB, project="p", name="ledger-pg", region="us-east1", database_version="POSTGRES_16",
                       state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                       labels={"data-classification": "restricted"}, create_time=datetime(2025, 1, 1, tzinfo=UTC),
                       backup_enabled=True, backup_start_time=time(3, 0, tzinfo=UTC), backup_location="us-west1",
                       pitr_enabled=True, log_retention_days=7, retained_backups=30, backup_tier="ENHANCED", kms_key=None,
                       master=None, evidence=("e-inst",), observed_at=AS_OF)


def summary_item(details: list[dict] | None, configured: bool | None = True) -> dict:
    out = {"name": "projects/p/locations/us-east1/resourceBackupConfigs/0f3a", "uid": "0f3a",
           "targetResource": "//sqladmin.googleapis.com/projects/p/instances/ledger-pg", "targetResourceDisplayName": "ledger-pg",
           "targetResourceType": "CLOUD_SQL_INSTANCE", "targetResourceLabels": {"data-classification": "restricted"}}
    if configured is not None:
        out["backupConfigured"] = configured
        out["vaulted"] = bool(details and any("backupVault" in d for d in details))
    if details is not None:
        out["backupConfigsDetails"] = details
    return out


BY_PLAN = {"type": "BACKUPDR_BACKUP_PLAN", "state": "ACTIVE", "backupConfigSource": PLAN,
           "backupConfigSourceDisplayName": "sql-daily", "backupVault": VAULT,
           "latestSuccessfulBackupTime": "2026-07-11T02:31:00Z",
           "backupLocations": [{"locationId": "us-west1", "type": "REGIONAL"}],
           "backupDrPlanConfig": {"backupDrPlanRules": [{"ruleId": "daily", "lastSuccessfulBackupTime": "2026-07-11T02:31:00Z"}]}}
CLOUD_SQL_OWN = {"type": "CLOUD_SQL_INSTANCE_BACKUP_CONFIG", "state": "ACTIVE",
                 "backupConfigSource": "projects/p/instances/ledger-pg", "pitrSettings": {"retentionDays": 7},
                 "backupLocations": [{"locationId": "us", "type": "MULTI_REGIONAL"}]}


def association(plan: str = PLAN) -> dict:
    return {"name": "projects/p/locations/us-east1/backupPlanAssociations/ledger", "resource": "//sqladmin.googleapis.com/projects/p/instances/ledger-pg",
            "resourceType": "sqladmin.googleapis.com/Instance", "backupPlan": plan, "state": "ACTIVE",
            "dataSource": VAULT + "/dataSources/ds-1", "rulesConfigInfo": [{"ruleId": "daily", "lastBackupState": "SUCCEEDED"}]}


def judge(summaries: list[dict] | None, associations: list[dict], instance: SqlInstance = INSTANCE):
    answered = [("sqladmin", "instances.list", "projects/p"), ("logging", "entries.list", "projects/p"),
                ("backupdr", "backupPlanAssociations.list", "projects/p")]
    gaps = []
    items = {"sql_instances": [instance], "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c")],
             "backupdr_associations": [bdr.association(a, "e-assoc") for a in associations]}
    if summaries is None:
        gaps.append(CallGap("backupdr", "resourceBackupConfigs.list", "projects/p", "timeout", None, "timed out", None, "c-rbc"))
    else:
        answered.append(("backupdr", "resourceBackupConfigs.list", "projects/p"))
        items["backupdr_summaries"] = [bdr.summary(s, "e-rbc") for s in summaries]
    facts = assemble(AS_OF, ["p"], items=items, answered=answered, gaps=gaps)
    config = Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
                                    "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                    "policy": {"classifications": {"restricted": {"backup_interval": "24h"}}}})
    ctx = CheckContext(config=config, period=Period(date(2026, 7, 1), date(2026, 7, 10)), as_of=AS_OF)
    (finding,) = [f for f in backup_enabled.evaluate(facts, ctx) if f.resource == DB]
    return finding


def test_the_summary_and_an_association_agree():
    finding = judge([summary_item([BY_PLAN])], [association()])
    assert finding.status == "pass", finding.message
    assert finding.observed["backupdr_protection"]["protection_summary"]["active_plans"] == [PLAN]
    assert "e-rbc" in finding.evidence


def test_google_lists_it_unprotected_and_no_association_names_it_fails():
    finding = judge([summary_item([], configured=False)], [])
    assert finding.status == "fail"
    assert "lists it as not protected by Backup and DR (backupConfigured false" in finding.message
    assert "ENHANCED tier" in finding.message


def test_google_lists_it_unprotected_while_an_association_names_a_plan_is_inconclusive():
    finding = judge([summary_item([CLOUD_SQL_OWN])], [association()])  # only Cloud SQL's own config, no plan
    assert finding.status == "inconclusive"
    assert "Google's two answers disagree" in finding.message and PLAN in finding.message


def test_a_plan_google_names_that_no_association_read_ties_to_it_is_inconclusive():
    other = "projects/bkp/locations/us-west1/backupPlans/sql-hourly"
    finding = judge([summary_item([BY_PLAN, {**BY_PLAN, "backupConfigSource": other}])], [association()])
    assert finding.status == "inconclusive"
    assert f"says {other} protects it, but no backup plan association read ties it to that plan" in finding.message


def test_an_inactive_plan_is_not_protection():
    finding = judge([summary_item([{**BY_PLAN, "state": "INACTIVE"}])], [])
    assert finding.status == "fail"


@pytest.mark.parametrize("summaries", [[], [summary_item(None, configured=None)]], ids=["not-listed", "sparse-answer"])
def test_not_listed_or_a_sparse_answer_never_passes_a_store_relying_on_backupdr(summaries):
    finding = judge(summaries, [association()])
    assert finding.status == "inconclusive"


def test_an_unread_summary_is_inconclusive_for_an_enhanced_instance_only():
    finding = judge(None, [association()])
    assert finding.status == "inconclusive" and finding.details["unverified"][0]["call"] == "c-rbc"
    standard = judge(None, [], instance=replace(INSTANCE, backup_tier="STANDARD"))
    assert standard.status == "pass"  # the cross-check was not made: the project-level gap finding says so (runner)


def test_a_standard_instance_google_says_a_plan_protects_but_no_association_shows_it():
    finding = judge([summary_item([BY_PLAN])], [], instance=replace(INSTANCE, backup_tier="STANDARD"))
    assert finding.status == "inconclusive"
    assert "the association listing is incomplete or out of date" in finding.message


def test_unread_associations_never_let_the_summary_pass_or_fail_a_store_relying_on_backupdr():
    answered = [("sqladmin", "instances.list", "projects/p"), ("logging", "entries.list", "projects/p"),
                ("backupdr", "resourceBackupConfigs.list", "projects/p")]
    gap = CallGap("backupdr", "backupPlanAssociations.list", "projects/p", "http", None, "HTTP 500", 500, "c-bpa")
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [INSTANCE], "backupdr_summaries": [bdr.summary(summary_item([]), "e")],
                                          "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c")]},
                     answered=answered, gaps=[gap])
    config = Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
                                    "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                    "policy": {"classifications": {"restricted": {"backup_interval": "24h"}}}})
    ctx = CheckContext(config=config, period=Period(date(2026, 7, 1), date(2026, 7, 10)), as_of=AS_OF)
    (finding,) = [f for f in backup_enabled.evaluate(facts, ctx) if f.resource == DB]
    assert finding.status == "inconclusive" and finding.details["unverified"][0]["call"] == "c-bpa"
