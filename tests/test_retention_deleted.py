"""backup-retention judges an instance deleted mid-period day by day for the days it existed (issue 13, ret2).

The FINAL backup is the one tests/test_deleted_instance.py transcribes from the Cloud SQL Admin v1 `Backup`
reference (type FINAL, instanceDeletionTime, expiryTime, instanceSettings: a `DatabaseInstance` snapshot taken
at deletion): crm-mysql, restricted, deleted Jul 6 12:00, 30 retained backups, binary log on with 7 days of
logs, a final backup kept to Aug 5 12:00 (30 days after the deletion). The period is Jul 1..Jul 10, the
evidence date Jul 11 12:00.

Expected days, by hand: the snapshot is a configuration read at Jul 6 11:54; with a complete Admin Activity
query from Jun 30 to the evidence date showing only the deletion, it holds back to Jul 1, so Jul 1..Jul 6 are
judged from it and Jul 7..Jul 10 (after the deletion) are not applicable. Thresholds come from the stored
configurations (CheckContext.configs: the newest locker made by a day sets that day's), so a change of
`retention_min_days` on Jul 3 judges Jul 3..Jul 6 by the new value, and `final_backup_days` is judged once, at
the deletion, by the configuration in force on Jul 6.
"""

from __future__ import annotations

from datetime import datetime, timezone

from test_deleted_instance import AS_OF, DB, DELETED, FINAL, PERIOD, facts_for

from auditor.checks import backup_retention
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.facts.build import assemble
from auditor.facts.model import ConfigChange, LogSpan, sql_resource

UTC = timezone.utc


def config(**restricted) -> Config:
    rule = {"backup_interval": "24h", "retention_min_days": 30, "retention_max_days": 400, "point_in_time_recovery": True,
            **restricted}
    return Config.model_validate({
        "organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"classifications": {"restricted": rule, "internal": {}}},
    })


def judge(facts, *stored):
    """`stored`: (day of July, locker id, Config) for each locker; the newest is the context's configuration."""
    configs = tuple((datetime(2026, 7, day, 6, 0, tzinfo=UTC), locker, cfg) for day, locker, cfg in stored)
    ctx = CheckContext(config=configs[-1][2] if configs else config(), period=PERIOD, as_of=AS_OF, configs=configs)
    return {f.resource: f for f in backup_retention.evaluate(facts, ctx)}


def days(first: int, last: int, state: str) -> dict[str, str]:
    return {f"2026-07-{d:02d}": state for d in range(first, last + 1)}


def test_the_days_it_existed_are_judged_and_the_days_after_are_not_applicable():
    finding = judge(facts_for())[DB]
    assert finding.status == "pass", finding.message
    assert finding.rule == "retention"  # one finding: its days and its final backup
    assert finding.details["days"] == {**days(1, 6, "kept"), **days(7, 10, "not_applicable")}
    assert finding.details["exception_days"] == [] and finding.details["unknown_days"] == []
    assert "within the policy on each of the 6 days it existed" in finding.message
    assert "kept until 2026-08-05, 30 days after deletion" in finding.message
    assert "the days after the deletion are not applicable" in finding.message  # checks.common.deletion_note's words
    assert finding.observed["kept_days_after_deletion"] == 30 and finding.observed["retained_backups"] == 30


def test_a_minimum_raised_by_a_later_lockers_configuration_judges_its_days_by_the_new_value():
    """Lockers on Jul 1 (minimum 30) and Jul 3 (minimum 45): 30 daily backups are 30 days, short of 45 on
    Jul 3..Jul 6 (Jul 7.. not applicable); Jul 1..Jul 2 kept."""
    finding = judge(facts_for(), (1, "L-jul01", config()), (3, "L-jul03", config(retention_min_days=45)))[DB]
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == ["2026-07-03", "2026-07-04", "2026-07-05", "2026-07-06"]
    assert finding.details["days"]["2026-07-02"] == "kept" and finding.details["days"]["2026-07-07"] == "not_applicable"
    assert ("policy.classifications.restricted.retention_min_days was 30 days until 2026-07-02, 45 days from "
            "2026-07-03 (the configuration stored in locker L-jul03)") in finding.message
    first, second = finding.details["thresholds"]
    assert (first["from"], second["from"], second["locker"]) == ("2026-07-01", "2026-07-03", "L-jul03")
    assert first["expected"]["retention_min_days"] == 30 and second["expected"]["retention_min_days"] == 45
    assert second["config_keys"]["retention_min_days"] == "policy.classifications.restricted.retention_min_days"


def test_final_backup_days_is_judged_by_the_configuration_in_force_on_the_deletions_day():
    """final_backup_days 14 in the Jul 1 locker's configuration, 45 in the Jul 8 locker's (after the deletion):
    the Jul 6 deletion is judged by 14 (30 >= 14), and the message says which configuration set it."""
    passed = judge(facts_for(), (1, "L-jul01", config(final_backup_days=14)), (8, "L-jul08", config(final_backup_days=45)))[DB]
    assert passed.status == "pass", passed.message
    assert "at least 14" in passed.message and "2026-07-06" in passed.message and "L-jul01" in passed.message
    assert passed.observed["final_backup_days"] == 14 and passed.observed["final_backup_days_locker"] == "L-jul01"
    assert [(t["from"], t["locker"], t["expected"]["final_backup_days"]) for t in passed.details["thresholds"]] == [
        ("2026-07-01", "L-jul01", 14), ("2026-07-08", "L-jul08", 45)]
    assert ("policy.classifications.restricted.final_backup_days was 14 days until 2026-07-07, 45 days from 2026-07-08 "
            "(the configuration stored in locker L-jul08); it applies at one moment") in passed.message
    # the other way round: 45 in force on Jul 6 (set by the Jul 5 locker) -> its final backup is short, and the
    # deletion's day is the exception (the moment the rule applies)
    failed = judge(facts_for(), (1, "L-jul01", config(final_backup_days=14)), (5, "L-jul05", config(final_backup_days=45)))[DB]
    assert failed.status == "fail"
    assert failed.details["exception_days"] == ["2026-07-06"]
    assert "below the 45-day rule" in failed.message and "L-jul05" in failed.message


def test_a_classification_missing_from_a_days_configuration_leaves_those_days_unknown():
    """The Jul 4 locker's configuration has no `restricted`: Jul 4..Jul 6 unknown (never kept), and the final
    backup's rule on Jul 6 unknown too."""
    bare = Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
                                  "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                  "policy": {"classifications": {"internal": {}}}})
    finding = judge(facts_for(), (1, "L-jul01", config()), (4, "L-jul04", bare), (9, "L-jul09", config()))[DB]
    assert finding.status == "inconclusive", finding.message
    assert finding.details["unknown_days"] == ["2026-07-04", "2026-07-05", "2026-07-06"]
    assert finding.details["days"]["2026-07-03"] == "kept"
    assert "the configuration stored for 2026-07-04..2026-07-08 has no classification restricted" in finding.message
    assert finding.details["thresholds"][1]["expected"] is None and finding.details["thresholds"][1]["locker"] == "L-jul04"


def test_without_the_audit_log_the_days_before_the_snapshot_are_unknown():
    finding = judge(facts_for(log_read=False, windows=[]))[DB]
    assert finding.status == "inconclusive"
    assert finding.details["days"] == {**days(1, 5, "unknown"), "2026-07-06": "kept", **days(7, 10, "not_applicable")}


def test_a_final_backup_without_the_instances_snapshot_leaves_its_days_unknown():
    bare = {k: v for k, v in FINAL.items() if k != "instanceSettings"}
    finding = judge(facts_for(bare))[DB]
    assert finding.status == "inconclusive", finding.message
    assert finding.details["unknown_days"] == [f"2026-07-{d:02d}" for d in range(1, 7)]
    assert finding.details["days"]["2026-07-07"] == "not_applicable"
    assert "no read of its configuration survives" in finding.message


def test_an_unusable_final_backup_breaks_the_deletions_day():
    finding = judge(facts_for({**FINAL, "state": "FAILED"}))[DB]
    assert finding.status == "fail"
    assert finding.details["exception_days"] == ["2026-07-06"]
    assert "its final backup is FAILED" in finding.message


def test_an_instance_only_the_audit_log_shows_deleted_is_inconclusive_for_its_days():
    ghost = sql_resource("p", "ghost-pg")
    deletion = ConfigChange(ghost, datetime(2026, 7, 4, 15, 0, tzinfo=UTC), "cloudsql.instances.delete", {}, "ops@example.com",
                            "log:ghost", deleted=True, evidence=("e-ghost",))
    facts = assemble(AS_OF, ["p"], items={"sql_instances": [], "backup_runs": [], "config_changes": [deletion],
                                          "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c")]},
                     answered=[("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
                               ("sqladmin", "Backups.list", "projects/p"), ("logging", "entries.list", "projects/p")])
    finding = judge(facts)[ghost]
    assert finding.status == "inconclusive"
    assert finding.details["unknown_days"] == ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04"]
    assert DELETED.day == 6  # the FINAL backup's instance is another one, judged from its snapshot


# --- ret3 (issue 13): the FINAL backup judged under the classification in force on the deletion's day
class _Labels:
    """The part of the inventory history class_days reads: crm-mysql's label timeline (no data map configured)."""

    def __init__(self, timeline) -> None:
        self.timeline = timeline
        self.maps = None

    def labels(self, resource: str):
        from auditor.facts.timeline import Timeline

        return self.timeline if resource == DB else Timeline(resource, "labels", (), ())


class _WithLabels:
    def __init__(self, facts, history) -> None:
        self._facts, self.inventory_days = facts, history

    def __getattr__(self, name):
        return getattr(self._facts, name)


def _relabelled():
    """Read restricted on Jun 20; an update that logged its body relabels it internal on Jul 6 09:00, before its
    deletion at 12:00; the Admin Activity log covers Jun 20 .. the evidence date."""
    from auditor.facts.timeline import Event, Timeline

    restricted, internal = (("data-classification", "restricted"),), (("data-classification", "internal"),)
    timeline = Timeline(DB, "labels", [Event(datetime(2026, 6, 20, tzinfo=UTC), restricted, "observation"),
                                       Event(datetime(2026, 7, 6, 9, tzinfo=UTC), internal, "change")],
                        [(datetime(2026, 6, 20, tzinfo=UTC), AS_OF)])
    return _WithLabels(facts_for(), _Labels(timeline))


def test_a_deletion_on_a_day_the_class_changed_is_judged_under_both_classes():
    """Jul 6 held restricted (final_backup_days 45) then internal (none): its 30-day final backup fails under one
    and passes under the other, so the deletion's day is unknown and the finding inconclusive, never a pass; Jul 1 ..
    Jul 5 restricted, kept (30 >= 30, binary log on). When internal asks 40 days too, it fails under both: broken."""
    both = Config.model_validate({**config(final_backup_days=45).model_dump(mode="json"), "policy": {"classifications": {
        "restricted": config(final_backup_days=45).policy.classifications["restricted"].model_dump(mode="json"),
        "internal": {}}}})
    finding = judge(_relabelled(), (1, "L-jul01", both))[DB]
    assert finding.status == "inconclusive", finding.message
    assert finding.details["unknown_days"] == ["2026-07-06"]
    assert finding.details["days"] == {**days(1, 5, "kept"), "2026-07-06": "unknown", **days(7, 10, "not_applicable")}
    assert "its classification changed on the deletion's day (restricted then internal)" in finding.message
    assert "restricted then internal on 2026-07-06" in finding.message
    strict = Config.model_validate({**both.model_dump(mode="json"), "policy": {"classifications": {
        "restricted": both.policy.classifications["restricted"].model_dump(mode="json"),
        "internal": {"final_backup_days": 40}}}})
    failed = judge(_relabelled(), (1, "L-jul01", strict))[DB]
    assert failed.status == "fail", failed.message
    assert failed.details["exception_days"] == ["2026-07-06"]
# --- end ret3
