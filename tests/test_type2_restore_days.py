"""restore-testing day by day: each day's state and the days since the last successful test that day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from auditor.checks.restore_testing import days_since, judge_days, uncovered_days
from auditor.period import Period

UTC = timezone.utc


@dataclass
class _Op:
    when: datetime  # a restore test (checks.restore_testing.RestoreTest) is dated by `when`


@dataclass
class _Ctx:
    period: Period
    as_of: datetime


def test_each_day_says_how_long_since_the_last_test_and_breaks_past_the_interval():
    period = Period(date(2026, 7, 1), date(2026, 7, 10), "UTC")
    ctx = _Ctx(period, datetime(2026, 7, 9, 12, 0, tzinfo=UTC))
    good = [_Op(datetime(2026, 6, 28, 9, 0, tzinfo=UTC)), _Op(datetime(2026, 7, 7, 9, 0, tzinfo=UTC))]
    days = [d for d, start in zip(period.days(), period.day_starts) if start <= ctx.as_of]
    tested = [period.day_of(o.when) for o in good]
    gaps = uncovered_days(tested, days, 5)  # interval: 5 days
    states, _ = judge_days(tested, 5, period, ctx.as_of)
    since = {d.isoformat(): n for d, n in days_since(tested, states).items()}
    # by hand: Jun 28's test is 3..8 days old on Jul 1..6 (over 5 from Jul 4); Jul 7's resets the count
    assert since == {"2026-07-01": 3, "2026-07-02": 4, "2026-07-03": 5, "2026-07-04": 6, "2026-07-05": 7,
                     "2026-07-06": 8, "2026-07-07": 0, "2026-07-08": 1, "2026-07-09": 2}
    assert [d.isoformat() for d, s in states.items() if s == "broken"] == ["2026-07-04", "2026-07-05", "2026-07-06"]
    assert gaps == [d for d, s in states.items() if s == "broken"]  # the old rule's days, the same
    assert states[date(2026, 7, 10)] == "not_due" and "2026-07-10" not in since
