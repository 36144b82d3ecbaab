"""backup-monitoring's population over time (checks.monitoring_days.Member), on hand-made facts.

The reads are Cloud SQL Admin v1 payloads transcribed from the reference: `DatabaseInstance` items of
instances.list (a read replica with `instanceType` READ_REPLICA_INSTANCE and `masterInstanceName`
"project:instance", once with its `backupConfiguration` and once without it, since the reference marks the
settings optional), and a `Backup` of type FINAL with `instanceDeletionTime` and `instanceSettings`. The
expected places are reasoned by hand from the times below: an instance is in its project's population while it
existed as a primary with backups on; a value is carried only over time a complete log query covers.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

from auditor.checks import monitoring_days
from auditor.checks.monitoring_days import IN, OUT, UNSURE, Member
from auditor.facts.build import assemble
from auditor.facts.model import ConfigChange, LogSpan, sql_resource
from auditor.facts.sources.sql_backups import read as read_backups
from auditor.facts.sources.sql_instances import sql_instance
from auditor.period import Period

UTC = timezone.utc
PERIOD = Period(date(2026, 7, 1), date(2026, 7, 10))
AS_OF = datetime(2026, 7, 11, 6, 0, tzinfo=UTC)
START = datetime(2026, 7, 1, tzinfo=UTC)
LOG = LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "c-log")
PROMOTED = sql_resource("p", "orders-pg")


def at(day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(2026, 7, day, hour, minute, tzinfo=UTC).timestamp()


def _instance(**changes) -> dict:
    body = {"kind": "sql#instance", "name": "orders-pg", "project": "p", "region": "us-east1",
            "databaseVersion": "POSTGRES_16", "state": "RUNNABLE", "instanceType": "CLOUD_SQL_INSTANCE",
            "createTime": "2025-02-01T08:00:00Z", "connectionName": "p:us-east1:orders-pg",
            "settings": {"kind": "sql#settings", "tier": "db-custom-2-7680", "activationPolicy": "ALWAYS",
                         "userLabels": {"data-classification": "internal"},
                         "backupConfiguration": {"kind": "sql#backupConfiguration", "enabled": True, "startTime": "03:00",
                                                 "backupRetentionSettings": {"retainedBackups": 7, "retentionUnit": "COUNT"}}}}
    body.update(changes)
    return body


REPLICA = _instance(instanceType="READ_REPLICA_INSTANCE", masterInstanceName="p:orders-old",
                    settings={"kind": "sql#settings", "tier": "db-custom-2-7680", "activationPolicy": "ALWAYS",
                              "userLabels": {"data-classification": "internal"},
                              "backupConfiguration": {"kind": "sql#backupConfiguration", "enabled": False}})
REPLICA_BARE = _instance(instanceType="READ_REPLICA_INSTANCE", masterInstanceName="p:orders-old",
                         settings={"kind": "sql#settings", "tier": "db-custom-2-7680", "activationPolicy": "ALWAYS"})


def _read(body: dict, when: datetime, evidence: str):
    from dataclasses import replace

    return replace(sql_instance(body, evidence), observed_at=when)


def _facts(reads, changes=(), coverage=(LOG,), extra=None):
    items = {"sql_instances": list(reads), "config_changes": list(changes), "log_coverage": list(coverage), **(extra or {})}
    answered = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "Backups.list", "projects/p")]
    if coverage:
        answered.append(("logging", "entries.list", "projects/p"))
    return assemble(AS_OF, ["p"], items=items, answered=answered)


def _patch(when: datetime, settings: dict) -> ConfigChange:
    return ConfigChange(PROMOTED, when, "cloudsql.instances.patch", settings, "dba@example.com", f"log:{when:%d%H}",
                        evidence=(f"e-{when:%d%H}",))


def test_a_promoted_replica_joins_when_its_backups_are_switched_on():
    """Read as a replica Jul 2 06:00, backups switched on by a patch logged with its body Jul 5 10:00, read as a
    primary Jul 8 06:00, the log covering all of it: out from Jul 1 (the replica read holds back over the covered
    time) to Jul 5 10:00, in from then on. The same when the replica's read carries no backupConfiguration at all."""
    for replica in (REPLICA, REPLICA_BARE):
        reads = [_read(replica, datetime(2026, 7, 2, 6, tzinfo=UTC), "e-r"), _read(_instance(), datetime(2026, 7, 8, 6, tzinfo=UTC), "e-p")]
        facts = _facts(reads, [_patch(datetime(2026, 7, 5, 10, tzinfo=UTC), {"backup_enabled": True})])
        member = Member(reads[-1], facts.history, since=START)
        assert [member.at(t) for t in (at(1), at(2, 6), at(5, 9, 59))] == [OUT, OUT, OUT], replica.get("settings")
        assert [member.at(t) for t in (at(5, 10), at(8, 6), at(10, 23))] == [IN, IN, IN]


def test_a_backup_setting_no_evidence_covers_is_unsure_never_out():
    """One read Jul 8 06:00 with backups off and no log query at all: only that instant is known (off); every other
    moment is unsure, so it is never simply left out of the population."""
    read = _read(_instance(settings={"kind": "sql#settings", "backupConfiguration": {"enabled": False}}),
                 datetime(2026, 7, 8, 6, tzinfo=UTC), "e-p")
    member = Member(read, _facts([read], coverage=()).history, since=START)
    assert member.at(at(8, 6)) == OUT
    assert member.at(at(2)) == UNSURE and member.at(at(9)) == UNSURE


def test_a_patch_without_its_body_makes_the_setting_unsure_until_a_read_joined_by_the_log():
    """Backups on (read Jul 2 06:00), a patch logged without its body Jul 4 10:00, and no log query after Jul 6 00:00;
    the next read, Jul 8 06:00, is not joined to the patch: unsure from Jul 4 10:00 to the read, in at the read."""
    reads = [_read(_instance(), datetime(2026, 7, 2, 6, tzinfo=UTC), "e-1"), _read(_instance(), datetime(2026, 7, 8, 6, tzinfo=UTC), "e-2")]
    unlogged = _patch(datetime(2026, 7, 4, 10, tzinfo=UTC), {"backup_enabled": None})
    coverage = [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC), datetime(2026, 7, 6, tzinfo=UTC), "c-log")]
    member = Member(reads[-1], _facts(reads, [unlogged], coverage).history, since=START)
    assert member.at(at(1)) == IN and member.at(at(4, 9)) == IN
    assert member.at(at(4, 10)) == UNSURE and member.at(at(7)) == UNSURE
    assert member.at(at(8, 6)) == IN


FINAL = {
    "kind": "sql#backup", "name": "projects/p/backups/1783339200009", "instance": "crm-pg", "type": "FINAL",
    "state": "SUCCESSFUL", "backupKind": "SNAPSHOT", "description": "Final backup of instance crm-pg",
    "backupInterval": {"startTime": "2026-07-06T11:54:00Z", "endTime": "2026-07-06T11:58:00Z"},
    "expiryTime": "2026-10-04T12:00:00Z", "instanceDeletionTime": "2026-07-06T12:00:00Z", "location": "us-west1",
    "databaseVersion": "POSTGRES_16",
    "instanceSettings": {"kind": "sql#instance", "region": "us-east1", "databaseVersion": "POSTGRES_16",
                         "instanceType": "CLOUD_SQL_INSTANCE", "createTime": "2025-03-01T08:00:00Z",
                         "settings": {"kind": "sql#settings", "userLabels": {"data-classification": "internal"},
                                      "finalBackupConfig": {"enabled": True, "retentionDays": 90},
                                      "backupConfiguration": {"kind": "sql#backupConfiguration", "enabled": True,
                                                              "startTime": "05:00", "location": "us-west1"}}},
}


def test_a_primary_deleted_in_the_period_is_in_for_the_days_it_existed_from_its_final_backup():
    """The FINAL backup's snapshot (no name or project in it: the backup's `instance` and the listing's project
    stand in) is a read at 11:54 on Jul 6 with backups on; `instanceDeletionTime` ends it at 12:00 (no deletion
    entry needed). The log covers Jun 30 on: in from Jul 1 to Jul 6 12:00, out from then."""
    emitted: dict[str, list] = {}
    call = {"api": "sqladmin", "method": "Backups.list", "params": {"parent": "projects/p"}, "scope": "projects/p"}
    read_backups(call, {"backups": [FINAL]}, "e-final", lambda fact, item, at=None: emitted.setdefault(fact, []).append(item))
    (snapshot,) = emitted["final_snapshots"]
    facts = _facts([], extra=emitted)
    member = Member(snapshot, facts.history, since=START)
    assert snapshot.resource == sql_resource("p", "crm-pg") and snapshot.labels == {"data-classification": "internal"}
    assert [member.at(t) for t in (at(1), at(6, 11, 59))] == [IN, IN]
    assert [member.at(t) for t in (at(6, 12), at(10))] == [OUT, OUT]


def test_an_instance_only_the_log_shows_is_unsure_until_its_deletion():
    ghost = SimpleNamespace(resource=sql_resource("p", "ghost"), project="p", name="ghost", create_time=None)
    member = Member(ghost, unseen_until=at(6, 12))
    assert member.at(at(1)) == UNSURE and member.at(at(6, 11)) == UNSURE and member.at(at(6, 12)) == OUT


class _Judge(monitoring_days.Judge):
    """The population rule alone: each instance's coverage is given (`covered`), every policy listing known."""

    def __init__(self, members, covered):
        history = SimpleNamespace(keys=lambda kind, project: [("alert_policy", project, "1")], unattributed=[],
                                  population_known=lambda project, kind, t: True)
        super().__init__(history, ["p"], [m.instance for m in members], {}, lambda text, instance: (True, False),
                         members={m.resource: m for m in members})
        self.covered = covered

    def _policy(self, key, instance, t):
        return self.covered[instance.name]


def test_an_instance_whose_place_is_unsure_makes_the_moment_unknown_unless_it_is_covered_anyway():
    ghost = Member(SimpleNamespace(resource=sql_resource("p", "ghost"), project="p", name="ghost"), unseen_until=at(6, 12))
    read = _read(_instance(settings={"kind": "sql#settings", "backupConfiguration": {"enabled": False}}),
                 datetime(2026, 7, 8, 6, tzinfo=UTC), "e-p")
    unsure = Member(read, _facts([read], coverage=()).history, since=START)  # unsure but at Jul 8 06:00
    assert _Judge([unsure], {"orders-pg": monitoring_days.YES}).at(at(2)) == monitoring_days.YES
    assert _Judge([unsure], {"orders-pg": monitoring_days.NO}).at(at(2)) == monitoring_days.UNSURE
    assert _Judge([unsure], {"orders-pg": monitoring_days.NO}).at(at(8, 6)) == monitoring_days.EMPTY  # out: nothing to cover
    # an instance with no read left is unknown even where a policy would cover what was read of others
    assert _Judge([ghost], {"ghost": monitoring_days.YES}).at(at(2)) == monitoring_days.UNSURE
    assert _Judge([ghost], {"ghost": monitoring_days.YES}).at(at(7)) == monitoring_days.EMPTY


def test_a_read_holds_back_to_the_log_querys_start_past_older_events_no_query_covers():
    """A backup window ran Jun 25 03:00 (backups on then), before the log query's start (Jun 30 00:00); a read on
    Jul 2 06:00 shows them off and nothing is logged in between: off from Jun 30 on, so out on Jul 1, not unsure
    (the Jun 25 window says what held on Jun 25 only)."""
    from auditor.facts.model import BackupAttempt

    window = BackupAttempt(PROMOTED, datetime(2026, 6, 25, 3, tzinfo=UTC), "succeeded", "backup-run", "SUCCESSFUL",
                           datetime(2026, 6, 25, 3, 20, tzinfo=UTC), "run:0625", ("e-run",))
    read = _read(_instance(settings={"kind": "sql#settings", "backupConfiguration": {"enabled": False}}),
                 datetime(2026, 7, 2, 6, tzinfo=UTC), "e-p")
    member = Member(read, _facts([read], extra={"backup_runs": [window]}).history, since=START)
    assert member.at(at(1)) == OUT and member.at(at(9)) == OUT


def test_reads_that_contradict_the_log_leave_the_place_unsure_between_them():
    """Backups on at the Jul 2 06:00 read, off at the Jul 8 06:00 read, and the complete log query shows no change
    between: the log missed one (auditor.facts.timeline), so it carries nothing; between the reads the place is
    unsure, never carried. The same for a replica read Jul 2 and a primary read with backups on Jul 8 with nothing
    logged between (a promotion the log query does not read, backups on without a logged change)."""
    off = _instance(settings={"kind": "sql#settings", "backupConfiguration": {"enabled": False}})
    for first, second, places in ((_instance(), off, (IN, OUT)), (REPLICA, _instance(), (OUT, IN))):
        reads = [_read(first, datetime(2026, 7, 2, 6, tzinfo=UTC), "e-1"), _read(second, datetime(2026, 7, 8, 6, tzinfo=UTC), "e-2")]
        member = Member(reads[-1], _facts(reads).history, since=START)
        assert (member.at(at(2, 6)), member.at(at(8, 6))) == places
        assert member.at(at(1)) == UNSURE and member.at(at(5)) == UNSURE and member.at(at(9)) == UNSURE
        assert member.contradiction and "no Admin Activity entry between them records a change" in member.contradiction


def test_a_primary_later_read_as_a_replica_stays_in_for_the_time_it_was_a_primary():
    """Read as a primary with backups on Jul 2 06:00 and as a replica Jul 8 06:00 (a switchover), the log covering
    all of it: it is in the population although the last read shows a replica; a replica only ever read as one is
    not. (Nothing logged between the reads: the log carries nothing, so the days between are unsure, not out.)"""
    from auditor.checks.backup_monitoring import population

    reads = [_read(_instance(), datetime(2026, 7, 2, 6, tzinfo=UTC), "e-1"), _read(REPLICA, datetime(2026, 7, 8, 6, tzinfo=UTC), "e-2")]
    ctx = SimpleNamespace(period=PERIOD)
    facts = _facts(reads)
    (member,) = population(facts, "p", [reads[-1]], ctx, gone=([], []))
    assert member.at(at(2, 6)) == IN and member.at(at(5)) == UNSURE and member.at(at(8, 6)) == OUT
    only_replica = _facts([_read(REPLICA, datetime(2026, 7, 8, 6, tzinfo=UTC), "e-2")])
    assert population(only_replica, "p", [reads[-1]], ctx, gone=([], [])) == []
