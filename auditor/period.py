"""The audit period: inclusive days in the period's time zone, and the instants that bound them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from auditor.config import PeriodConfig


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    timezone: str = "UTC"

    @classmethod
    def from_config(cls, config: PeriodConfig) -> "Period":
        first, last = config.bounds()
        return cls(first, last, config.timezone)

    @functools.cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @functools.cached_property
    def _days(self) -> tuple[date, ...]:
        out, day = [], self.start
        while day <= self.end:
            out.append(day)
            day += timedelta(days=1)
        return tuple(out)

    def days(self) -> Iterator[date]:
        return iter(self._days)

    @functools.cached_property
    def day_starts(self) -> tuple[datetime, ...]:
        """The first instant of each period day, then the first instant after the period (computed once:
        checks over thousands of resources ask for them day by day)."""
        return tuple(self.at(day) for day in self._days) + (self.at(self.end + timedelta(days=1)),)

    @functools.cached_property
    def _utc(self) -> bool:
        return self.timezone in ("UTC", "Etc/UTC")

    def day_of(self, moment: datetime) -> date:
        if moment.tzinfo is dt_timezone.utc and self._utc:  # evidence times are UTC: no conversion needed
            return moment.date()
        return moment.astimezone(self.tz).date()

    def days_of(self, moments: "list[datetime]") -> "list[date]":
        """[day_of(m) for m in moments], without a call per moment (a check asks for ~200,000)."""
        tz = self.tz
        if self._utc:
            utc = dt_timezone.utc
            return [m.date() if m.tzinfo is utc else m.astimezone(tz).date() for m in moments]
        return [m.astimezone(tz).date() for m in moments]

    def openings(self, clock: time) -> tuple[datetime, ...]:
        """`at(day, clock)` for every period day, computed once per clock (thousands of instances share a
        handful of backup start times)."""
        cache = self.__dict__.setdefault("_openings", {})
        found = cache.get(clock)
        if found is None:
            found = cache[clock] = tuple(self.at(day, clock) for day in self._days)
        return found

    @functools.cached_property
    def day_stamps(self) -> tuple[float, ...]:
        """`day_starts` as POSIX timestamps: exact and in the same order, but much cheaper to compare."""
        return tuple(moment.timestamp() for moment in self.day_starts)

    @functools.cached_property
    def day_isos(self) -> dict[date, str]:
        return {day: day.isoformat() for day in self._days}

    def at(self, day: date, clock: time = time(0, 0)) -> datetime:
        """The instant of a wall-clock time on a period day (backup start times are given in UTC)."""
        if clock.tzinfo is not None:
            return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=clock.tzinfo)
        return datetime.combine(day, clock, tzinfo=self.tz)

    @property
    def starts_at(self) -> datetime:
        return self.at(self.start)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period."""
        return self.at(self.end + timedelta(days=1))

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "timezone": self.timezone}


def day_ranges(days: "list[date]") -> str:
    """'2026-08-11..2026-08-13, 2026-09-02': days for a reader, consecutive ones as ranges."""
    out: list[str] = []
    run: list[date] = []
    for day in sorted(days):
        if run and day - run[-1] == timedelta(days=1):
            run.append(day)
            continue
        if run:
            out.append(run[0].isoformat() if len(run) == 1 else f"{run[0]}..{run[-1]}")
        run = [day]
    if run:
        out.append(run[0].isoformat() if len(run) == 1 else f"{run[0]}..{run[-1]}")
    return ", ".join(out)
