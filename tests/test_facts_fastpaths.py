"""The facts' fast paths at scale give exactly what the general code gives."""

from __future__ import annotations

from datetime import datetime, timezone

from auditor.facts import access
from auditor.period import Period


def test_timestamps_read_as_before() -> None:
    def general(value: str) -> datetime | None:  # the path every text took before the 'Z' fast path
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

    for text in ("2026-06-30T01:36:29.000Z", "2026-06-30T01:36:29Z", "2026-06-30Z", "2026-06-30T01:36:29.123456789Z",
                 "2026-06-30T01:36:29+02:00", "2026-06-30", "Z", "not a time Z", "2026-06-30T01:36:29.000z"):
        assert access.timestamp(text) == general(text), text
        if general(text) is not None:
            assert access.timestamp(text).utcoffset() == general(text).utcoffset()


def test_utc_day_of_needs_no_conversion() -> None:
    from datetime import date

    period = Period(date(2026, 1, 1), date(2026, 3, 31), "UTC")
    elsewhere = Period(date(2026, 1, 1), date(2026, 3, 31), "Pacific/Kiritimati")
    moment = datetime(2026, 2, 1, 23, 30, tzinfo=timezone.utc)
    assert period.day_of(moment) == moment.astimezone(period.tz).date() == date(2026, 2, 1)
    assert elsewhere.day_of(moment) == date(2026, 2, 2)
    assert period.openings(access.clock("03:00")) == tuple(period.at(d, access.clock("03:00")) for d in period.days())
    assert [datetime.fromtimestamp(s, timezone.utc) for s in period.day_stamps] == list(period.day_starts)
