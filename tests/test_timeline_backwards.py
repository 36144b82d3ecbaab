"""A read holds backwards over a complete audit-log query that reaches it, whichever event it is (auditor.facts.timeline).

Before, only the first event of a timeline was carried back: an older read outside the log's coverage blocked it, so
the days the log covered before a later read were unknown rather than known. Period: 2026 Q3, UTC.
"""

from __future__ import annotations

import datetime as dt

from testkit import days_between

from auditor.facts.timeline import Event, Timeline
from auditor.period import Period

UTC = dt.timezone.utc
PERIOD = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
AS_OF = dt.datetime(2026, 9, 30, 12, tzinfo=UTC)


def states(events, covered):
    timeline = Timeline("r", "setting", events, covered)
    found = timeline.day_states(PERIOD.day_stamps, PERIOD.days(), AS_OF.timestamp(), "off")
    return {d.isoformat(): s for d, s in found.items()}, timeline


def test_a_later_read_holds_back_to_where_the_log_begins():
    """Read 'on' Jul 1 06:00 (no log then); the complete query covers Sep 1 00:00 .. the read of Sep 30 12:00
    ('on'). Jul 1 its own read (kept); Jul 2 .. Aug 31 nothing shows it (unknown); Sep 1 .. Sep 30 the Sep 30 read
    carried back over the covered span (kept)."""
    found, timeline = states([Event(dt.datetime(2026, 7, 1, 6, tzinfo=UTC), "on", "observation"),
                              Event(AS_OF, "on", "observation")],
                             [(dt.datetime(2026, 9, 1, tzinfo=UTC), AS_OF)])
    assert found["2026-07-01"] == "kept"
    assert {found[d] for d in days_between("2026-07-02", "2026-08-31")} == {"unknown"}
    assert {found[d] for d in days_between("2026-09-01", "2026-09-30")} == {"kept"}
    spans = [(s.start, s.value, s.basis) for s in timeline.spans()]
    assert (dt.datetime(2026, 9, 1, tzinfo=UTC), "on", "logged") in spans


def test_a_weak_read_carried_back_breaks_the_covered_days():
    """As above with the Sep 30 read 'off' (a change nobody logged can only be before Sep 1): Sep 1 .. Sep 30 broken."""
    found, _ = states([Event(dt.datetime(2026, 7, 1, 6, tzinfo=UTC), "on", "observation"),
                       Event(AS_OF, "off", "observation")],
                      [(dt.datetime(2026, 9, 1, tzinfo=UTC), AS_OF)])
    assert {found[d] for d in days_between("2026-09-01", "2026-09-30")} == {"broken"}
    assert {found[d] for d in days_between("2026-07-02", "2026-08-31")} == {"unknown"}


def test_a_change_is_never_carried_back():
    """A change (what a request set) on Sep 15 with the log from Sep 1: Sep 1 .. Sep 14 are not known from it
    (only a read says what was there), so they stay unknown."""
    found, _ = states([Event(dt.datetime(2026, 7, 1, 6, tzinfo=UTC), "on", "observation"),
                       Event(dt.datetime(2026, 9, 15, 9, tzinfo=UTC), "on", "change")],
                      [(dt.datetime(2026, 9, 1, tzinfo=UTC), AS_OF)])
    assert {found[d] for d in days_between("2026-09-01", "2026-09-14")} == {"unknown"}
    assert {found[d] for d in days_between("2026-09-15", "2026-09-30")} == {"kept"}


def test_an_earlier_event_inside_the_span_carries_forward_not_the_later_read_back():
    """A change to 'off' on Sep 5 inside the covered span, then a read 'on' on Sep 30 (a change the log missed? no:
    the read is after): Sep 5 .. onwards the change's value is carried forward; the read is not carried back over it."""
    found, _ = states([Event(dt.datetime(2026, 9, 5, 9, tzinfo=UTC), "off", "change"),
                       Event(AS_OF, "on", "observation")],
                      [(dt.datetime(2026, 9, 1, tzinfo=UTC), AS_OF)])
    assert {found[d] for d in days_between("2026-09-05", "2026-09-29")} == {"broken"}
    assert {found[d] for d in days_between("2026-09-01", "2026-09-04")} == {"unknown"}
