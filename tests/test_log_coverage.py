"""State is carried only over covered time, collection side (issue 12, case 3).

An audit run after the quarter reads the configuration weeks after the period ended. The Admin
Activity query used to stop at the period's end (plus a day), so a change between then and the read
was invisible. Now it runs from the period's start to the read, and the call record says which span
the answer covers.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from auditor.collectors.logging import RETENTION, cloudsql_audit_filter, covered_span
from auditor.evidence.locker import Locker
from auditor.logfilter import compile_filter
from auditor.runner import evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario
from testkit import fast_policy, run_against

UTC = dt.timezone.utc
PERIOD_START, PERIOD_END = dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 10, 1, tzinfo=UTC)
PROJECT = "bks-prod"


def _entry(log: str, method: str, when: str) -> dict:
    return {"logName": f"projects/{PROJECT}/logs/cloudaudit.googleapis.com%2F{log}", "timestamp": when,
            "resource": {"type": "cloudsql_database"}, "protoPayload": {"methodName": method}}


def test_the_filter_bounds_backup_outcomes_by_the_period_and_changes_by_nothing():
    wanted = compile_filter(cloudsql_audit_filter(PROJECT, PERIOD_START, PERIOD_END))
    after = "2026-11-20T10:00:00Z"
    assert wanted(_entry("activity", "cloudsql.instances.patch", after))  # after the period: still read
    assert wanted(_entry("activity", "cloudsql.instances.update", "2026-07-02T00:00:00Z"))
    assert not wanted(_entry("system_event", "cloudsql.instances.automatedBackup", after))  # not needed
    assert wanted(_entry("system_event", "cloudsql.instances.automatedBackup", "2026-09-30T04:00:00Z"))
    assert not wanted(_entry("activity", "cloudsql.instances.patch", "2026-06-29T00:00:00Z"))  # before the start


def test_the_covered_span_never_claims_more_than_logging_keeps():
    read = dt.datetime(2027, 9, 1, tzinfo=UTC)
    assert covered_span(PERIOD_START, read) == {"from": "2026-07-28T00:00:00Z", "to": "2027-09-01T00:00:00Z"}  # 365 days to 2026-09-01, 35 more
    assert read - RETENTION > PERIOD_START
    assert covered_span(PERIOD_START, PERIOD_END)["from"] == "2026-07-01T00:00:00Z"


@pytest.fixture(scope="module")
def late_run(sample_dir, tmp_path_factory):
    """The sample, read on Nov 20 (seven weeks after the quarter); customers-pg was stopped on Nov 10."""
    data = yaml.safe_load((sample_dir / "scenario.yaml").read_text())
    data["now"] = "2026-11-20T09:00:00Z"
    data["github"] = None
    data["projects"] = [p for p in data["projects"] if p["id"] == PROJECT]
    instance = next(i for i in data["projects"][0]["sql_instances"] if i["name"] == "customers-pg")
    instance.setdefault("stopped", []).append({"from": "2026-11-10T09:00:00Z"})
    from testkit import spine_config

    config = spine_config(sample_dir)
    config = config.model_copy(update={"gcp": config.gcp.model_copy(update={"projects": [PROJECT]})})
    with Simulator(parse_scenario(data), port=0) as sim, fast_policy():
        collection, results, code = run_against(sample_dir, sim, tmp_path_factory.mktemp("late"), config=config)
    return collection, results


def test_a_change_after_the_period_and_before_the_read_is_collected(late_run):
    collection, results = late_run
    locker = Locker(collection.evidence_dir)
    (call,) = [c for c in locker.calls("logging", "entries.list") if c["scope"] == f"projects/{PROJECT}"]
    assert call["outcome"] == "ok", call["error"]
    assert call["covered"] == {"from": "2026-06-30T00:00:00Z", "to": "2026-11-20T09:00:00Z"}  # to the read
    bodies = [locker.body(item) for item in call["items"]]
    assert any(b"2026-11-10T09:00" in body and b"customers-pg" in body for body in bodies)
    logs = [entry for locker_entry in results["lockers"] for entry in locker_entry["logs"]]
    assert [entry["covered_to"] for entry in logs if entry["scope"] == f"projects/{PROJECT}"] == ["2026-11-20T09:00:00Z"]


def test_re_performance_keeps_the_covered_span(late_run):
    collection, results = late_run
    again = evaluate([collection.evidence_dir])
    assert again["lockers"] == results["lockers"]
