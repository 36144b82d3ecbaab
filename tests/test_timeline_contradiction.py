"""A complete audit-log query is trusted only while the evidence agrees with it (auditor.facts.timeline).

Found by the whole-sample comparison of one run with lockers (tests/test_type2_single_vs_lockers.py): a key
version three backups proved ENABLED on Sep 23..25 was read DISABLED on Sep 30, and no entry of the complete
log recorded the disable. The log had carried ENABLED forward to the read and back over the whole quarter, so
a single run kept 88 days that lockers, reading the version each day, found broken. Two events over covered
time that disagree, with no change between them, prove the query missed a change: from then on the log carries
nothing for that setting, and each day is judged by its own events only.
"""

from __future__ import annotations

import datetime as dt

from auditor.facts.timeline import Event, Timeline, contradiction_words

UTC = dt.timezone.utc
DAYS = [dt.date(2026, 9, 20) + dt.timedelta(days=n) for n in range(11)]  # Sep 20 .. Sep 30
STAMPS = tuple(dt.datetime.combine(d, dt.time(), UTC).timestamp() for d in [*DAYS, dt.date(2026, 10, 1)])
COVERED = [(dt.datetime(2026, 6, 30, tzinfo=UTC), dt.datetime(2026, 9, 30, 2, 0, 30, tzinfo=UTC))]
READ_AT = dt.datetime(2026, 9, 30, 2, 0, 7, tzinfo=UTC)
AS_OF = dt.datetime(2026, 9, 30, 2, 1, tzinfo=UTC).timestamp()


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, tzinfo=UTC)


def _states(events):
    timeline = Timeline("v1", "state", events, COVERED)
    return timeline, timeline.day_states(STAMPS, DAYS, AS_OF, weak=lambda v: v != "ENABLED")


def test_agreeing_evidence_is_carried_by_the_complete_log():
    """Backups on Sep 23..25 and a read on Sep 30 all say ENABLED: every day is kept."""
    events = [Event(_at(d, 3), "ENABLED", "backup-window") for d in (23, 24, 25)]
    timeline, states = _states([*events, Event(READ_AT, "ENABLED", "observation")])
    assert timeline.contradicted is None
    assert set(states.values()) == {"kept"}


def test_a_logged_change_between_disagreeing_reads_is_no_contradiction():
    """The disable is logged on Sep 27 09:00: ENABLED until then, DISABLED from then (Sep 27 is broken)."""
    events = [Event(_at(25, 3), "ENABLED", "backup-window"), Event(_at(27, 9), "DISABLED", "change"),
              Event(READ_AT, "DISABLED", "observation")]
    timeline, states = _states(events)
    assert timeline.contradicted is None
    assert [d.day for d, s in states.items() if s == "kept"] == [20, 21, 22, 23, 24, 25, 26]
    assert [d.day for d, s in states.items() if s == "broken"] == [27, 28, 29, 30]


def test_disagreeing_evidence_without_a_logged_change_leaves_only_each_days_own_events():
    """ENABLED by backups on Sep 23, 24, 25 (03:00), DISABLED by the Sep 30 read, nothing logged between:
    the log is void for this version, so each day is judged by its own events only (the module's rule for
    uncovered time): Sep 23..25 by their backups (kept), Sep 30 by its read (broken), every other day unknown
    rather than carried either way."""
    events = [Event(_at(d, 3), "ENABLED", "backup-window") for d in (23, 24, 25)]
    timeline, states = _states([*events, Event(READ_AT, "DISABLED", "observation")])
    assert timeline.contradicted is not None
    assert [d.day for d, s in states.items() if s == "broken"] == [30]
    assert [d.day for d, s in states.items() if s == "kept"] == [23, 24, 25]
    assert [d.day for d, s in states.items() if s == "unknown"] == [20, 21, 22, 26, 27, 28, 29]
    assert not timeline.covers(_at(21, 0).timestamp(), _at(22, 0).timestamp())
    words = contradiction_words(timeline, "the state of version 1")
    assert "2026-09-25 03:00 UTC shows the state of version 1 'ENABLED'" in words
    assert "2026-09-30 02:00 UTC shows 'DISABLED'" in words and "missed it" in words


def test_a_contradiction_outside_covered_time_is_not_one():
    """With no complete query between them, two different reads claim nothing about the time between."""
    timeline = Timeline("v1", "state", [Event(_at(21, 6), "ENABLED", "observation"),
                                        Event(_at(29, 6), "DISABLED", "observation")],
                        [(_at(20, 0), _at(22, 0))])
    assert timeline.contradicted is None
