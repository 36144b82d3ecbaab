"""ret3: `final_backup_days` of a LIVE instance, day by day (auditor.facts.final_backup, auditor.facts.history).

What outlives a deletion is `settings.finalBackupConfig {enabled, retentionDays}` or `settings.retainBackupsOnDelete`
(sqladmin v1 discovery document). Its timeline: every read, and every Admin Activity update that set those fields;
an update logged without its body leaves the days after it unknown up to the next read. The payloads below are
transcribed from the API's shapes (older responses carry neither field). The period is 2026 Q3, evidence date
Sep 30 06:00 UTC; the audit log covers Jun 30 .. the read. Expected days are written by hand from the times set.
"""

from __future__ import annotations

import datetime as dt

from testkit import days_between

from auditor.facts import final_backup
from auditor.facts.history import build_history
from auditor.facts.model import LogSpan
from auditor.facts.sources.audit_log import config_change
from auditor.facts.sources.sql_instances import sql_instance
from auditor.period import Period

UTC = dt.timezone.utc
PERIOD = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
AS_OF = dt.datetime(2026, 9, 30, 6, tzinfo=UTC)
RESOURCE = "//cloudsql.googleapis.com/projects/fb-prod/instances/crm-pg"
COVERED = [LogSpan("projects/fb-prod", dt.datetime(2026, 6, 30, tzinfo=UTC), AS_OF, "call-1")]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def item(settings_extra: dict) -> dict:
    """One instances.list item (the fields the reader needs), with extra `settings` fields."""
    return {"name": "crm-pg", "project": "fb-prod", "databaseVersion": "POSTGRES_16", "region": "us-east1",
            "settings": {"backupConfiguration": {"enabled": True, "backupRetentionSettings": {"retainedBackups": 20,
                                                                                           "retentionUnit": "COUNT"}},
                         **settings_extra}}


def read(when: str, settings_extra: dict):
    from dataclasses import replace

    return replace(sql_instance(item(settings_extra), f"read-{when}"), observed_at=at(when))


def update(when: str, body_settings: dict | None, key: str):
    proto = {"methodName": "cloudsql.instances.update", "resourceName": "projects/fb-prod/instances/crm-pg",
             "status": {"code": 0}, "request": {"@type": "type.googleapis.com/google.cloud.sql.v1.SqlInstancesUpdateRequest"}}
    if body_settings is not None:
        proto["request"]["body"] = {"settings": body_settings}
    entry = {"insertId": key, "timestamp": f"{when}Z", "protoPayload": proto}
    return config_change(entry, RESOURCE, at(when), key, f"page-{key}")


def days(observations, changes, wanted=14):
    history = build_history(observations, [c for c in changes if c], [], [], [], COVERED)
    return history.day_states(RESOURCE, final_backup.SETTING, PERIOD, AS_OF,
                              weak=lambda value: not final_backup.outlives(value, wanted))


def states(found, state):
    return [d.isoformat() for d, s in sorted(found.items()) if s == state]


def test_the_reader_takes_both_fields_and_an_older_response_without_them_is_not_configured():
    assert read("2026-09-30T06:00:00", {"finalBackupConfig": {"enabled": True, "retentionDays": 30}}).final_backup == (True, 30, False)
    assert read("2026-09-30T06:00:00", {"retainBackupsOnDelete": True}).final_backup == (False, None, True)
    assert read("2026-09-30T06:00:00", {}).final_backup == (False, None, False)
    assert final_backup.protection(*(True, 30, False)) == ("final", 30)
    assert final_backup.protection(*(False, None, True)) == ("retain",)
    assert final_backup.protection(*(False, None, False)) == ("none",)
    # a final backup enabled with its days spelled some other way (or absent) is unknown, never a pass
    assert final_backup.protection(True, None, False) is None


def test_an_update_logs_the_fields_it_set_and_one_without_its_body_sets_an_unknown_value():
    logged = update("2026-08-10T09:00:00", {"finalBackupConfig": {"enabled": False}}, "a")
    assert logged.settings[final_backup.SETTING] == (("enabled", False), ("object", True))
    unlogged = update("2026-08-10T09:00:00", None, "b")
    assert unlogged.settings[final_backup.SETTING] is None and not unlogged.logged_body
    other = update("2026-08-10T09:00:00", {"backupConfiguration": {"enabled": True}}, "c")
    assert final_backup.SETTING not in other.settings  # a body that does not touch them leaves them as they were


def test_a_final_backup_switched_off_mid_quarter_breaks_exactly_its_days():
    """Read Jul 1 06:00 with a 30-day final backup; an update on Aug 10 09:00 switches it off (body logged); one on
    Sep 5 09:00 sets it back to 30 days (body logged); read Sep 30 06:00 (30 days). final_backup_days 14:
    Jul 1 .. Aug 9 kept, Aug 10 .. Sep 5 broken (each touched by the switched-off spell), Sep 6 .. Sep 30 kept."""
    on = {"finalBackupConfig": {"enabled": True, "retentionDays": 30}}
    found = days([read("2026-07-01T06:00:00", on), read("2026-09-30T06:00:00", on)],
                 [update("2026-08-10T09:00:00", {"finalBackupConfig": {"enabled": False}}, "off"),
                  update("2026-09-05T09:00:00", on, "back")])
    assert states(found, "kept") == days_between("2026-07-01", "2026-08-09") + days_between("2026-09-06", "2026-09-30")
    assert states(found, "broken") == days_between("2026-08-10", "2026-09-05")


def test_an_update_without_its_body_joined_to_the_next_read_by_a_complete_query_takes_that_read():
    """As above, but the Aug 10 update logged no body and nothing else is logged until the Sep 30 read. A complete
    log query covers Aug 10 .. Sep 30, so nothing changed in between: the value after the update is what the
    Sep 30 read shows (auditor.facts.timeline), and every day is kept."""
    on = {"finalBackupConfig": {"enabled": True, "retentionDays": 30}}
    found = days([read("2026-07-01T06:00:00", on), read("2026-09-30T06:00:00", on)],
                 [update("2026-08-10T09:00:00", None, "unlogged")])
    assert states(found, "kept") == days_between("2026-07-01", "2026-09-30")


def test_two_unlogged_updates_leave_the_days_between_them_unknown():
    """Read Jul 1 (30 days); updates without bodies on Aug 10 09:00 and Sep 5 09:00; read Sep 30. The Aug 10 update's
    value is never read (the next event is another update): Aug 10 .. Sep 5 unknown; the Sep 5 update is joined to
    the Sep 30 read: Sep 6 .. Sep 30 kept; Jul 1 .. Aug 9 kept."""
    on = {"finalBackupConfig": {"enabled": True, "retentionDays": 30}}
    found = days([read("2026-07-01T06:00:00", on), read("2026-09-30T06:00:00", on)],
                 [update("2026-08-10T09:00:00", None, "u1"), update("2026-09-05T09:00:00", None, "u2")])
    assert states(found, "unknown") == days_between("2026-08-10", "2026-09-05")
    assert states(found, "kept") == days_between("2026-07-01", "2026-08-09") + days_between("2026-09-06", "2026-09-30")


def test_a_partial_update_merges_only_where_merge_and_replace_agree():
    """Read Jul 1: final backup 30 days. Aug 10 09:00: the body sets only retainBackupsOnDelete true (the final
    backup, carried by the complete log, still decides: 30 days, kept). Aug 20 09:00: the body's finalBackupConfig
    carries only retentionDays 7: merged it is a 7-day final backup (broken at 14), replaced it is none but retained
    backups (kept): the two disagree, so the value is unknown, and the next event is another update (Sep 5 09:00,
    body: enabled, 7 days), so nothing settles it. Read Sep 30: 7 days. Jul 1 .. Aug 19 kept, Aug 20 .. Sep 4
    unknown, Sep 5 .. Sep 30 broken (7 < 14)."""
    on = {"finalBackupConfig": {"enabled": True, "retentionDays": 30}}
    short = {"finalBackupConfig": {"enabled": True, "retentionDays": 7}}
    found = days([read("2026-07-01T06:00:00", on), read("2026-09-30T06:00:00", short)],
                 [update("2026-08-10T09:00:00", {"retainBackupsOnDelete": True}, "retain"),
                  update("2026-08-20T09:00:00", {"finalBackupConfig": {"retentionDays": 7}}, "days"),
                  update("2026-09-05T09:00:00", short, "short")])
    assert states(found, "kept") == days_between("2026-07-01", "2026-08-19")
    assert states(found, "unknown") == days_between("2026-08-20", "2026-09-04")
    assert states(found, "broken") == days_between("2026-09-05", "2026-09-30")
