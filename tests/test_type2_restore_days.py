"""restore-testing day by day: each day's state and the days since the last successful test that day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from auditor.checks.restore_testing import _days_since, uncovered_days
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
    gaps = uncovered_days([period.day_of(o.when) for o in good], days, 5)  # interval: 5 days
    out = _days_since(good, gaps, ctx)
    # by hand: Jun 28's test is 3..8 days old on Jul 1..6 (over 5 from Jul 4); Jul 7's resets the count
    assert out["days_since_test"] == {"2026-07-01": 3, "2026-07-02": 4, "2026-07-03": 5, "2026-07-04": 6, "2026-07-05": 7,
                                      "2026-07-06": 8, "2026-07-07": 0, "2026-07-08": 1, "2026-07-09": 2}
    assert [d for d, s in out["days"].items() if s == "broken"] == ["2026-07-04", "2026-07-05", "2026-07-06"]
    assert out["days"]["2026-07-10"] == "not_due" and "2026-07-10" not in out["days_since_test"]
