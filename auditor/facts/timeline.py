"""A setting over time: spans of known values, each with its evidence, and the coverage rule.

Events are what the evidence says a setting was at a moment: a configuration read (an
observation), an Admin Activity change (what a request set), an automated backup window that ran
(backups were on then). Between two moments a value is carried only where a complete Admin
Activity query covers the whole span between them, because only then would a change in between
have been seen:

- a value read or set at T holds for a later moment t when [T, t] is covered;
- an *observation* holds for an earlier moment t when [t, T] is covered and no earlier event lies
  in [t, T] (a change's request says what it set, not what was there before, so a change is never carried
  backwards);
- anywhere else only the day's own events count; a day with none is unknown.

A complete query is trusted only while the evidence agrees with it: when two reads (or a read and a
backup window) over covered time show different values and no logged change lies between them, the
log missed a change of this setting (a method the auditor does not read, an entry excluded), so it
carries nothing for this setting at all, and only each day's own events count (`contradicted`).

So a read made after the period, with a query that ended earlier, tells nothing about the days
before it: those days are unknown, never assumed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable

_NOTHING = object()  # no leading value: a day judged only by its own events


@dataclass(frozen=True)
class Event:
    time: datetime
    value: Any
    source: str  # observation | change | backup-window
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    """[start, end): the setting held `value`, on the strength of `evidence` (basis: why it is known)."""

    start: datetime
    end: datetime
    value: Any
    basis: str  # logged (covered by a complete audit-log query) | observed (the moment of an event)
    evidence: tuple[str, ...] = ()


def merge(spans: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[list[float]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


class Timeline:
    """One setting of one resource: its events (oldest first) and the spans the audit log covers."""

    __slots__ = ("resource", "setting", "events", "times", "covered", "contradicted")

    def __init__(self, resource: str, setting: str, events: Iterable[Event], covered: Iterable[tuple[datetime, datetime]]):
        self.resource = resource
        self.setting = setting
        # a change sorts before an observation at the same instant: the read shows what the change set
        ordered = sorted(events, key=lambda e: (e.time, e.source != "change"))
        # instants as POSIX timestamps: the same order, a far cheaper comparison (thousands of instances x ~90 days)
        self.times: tuple[float, ...] = tuple(e.time.timestamp() for e in ordered)
        self.covered: tuple[tuple[float, float], ...] = merge((a.timestamp(), b.timestamp()) for a, b in covered)
        self.contradicted: tuple[Event, Event] | None = None
        self.events: tuple[Event, ...] = tuple(self._settled(ordered))
        self.contradicted = self._contradiction()

    def _contradiction(self) -> tuple[Event, Event] | None:
        """The first two consecutive events that are not changes, with different known values, over covered time:
        proof that the complete query missed a change of this setting."""
        events, times = self.events, self.times
        for i in range(len(events) - 1):
            a, b = events[i], events[i + 1]
            if "change" in (a.source, b.source) or a.value is None or b.value is None or a.value == b.value:
                continue
            if self.covers(times[i], times[i + 1]):
                return a, b
        return None

    def _settled(self, ordered: list[Event]) -> Iterable[Event]:
        """A change whose entry carries no new value (its body was not logged) is unknown from its moment
        on, except where the next event is a read (or a backup window) that a complete log query joins
        to it: nothing changed in between, so the value after the change is what that read shows."""
        for i, event in enumerate(ordered):
            if event.source == "change" and event.value is None and i + 1 < len(ordered):
                after = ordered[i + 1]
                if after.source != "change" and after.value is not None and self.covers(self.times[i], self.times[i + 1]):
                    event = Event(event.time, after.value, "change", event.evidence + after.evidence)
            yield event

    def covers(self, start: float, end: float) -> bool:
        """Whether one complete audit-log span holds all of [start, end] (never, once the evidence contradicts
        the log for this setting)."""
        if self.contradicted is not None:
            return False
        for lo, hi in self.covered:
            if lo <= start and end <= hi:
                return True
        return False

    def uncovered(self, start: float, end: float) -> list[tuple[float, float]]:
        """The stretches of [start, end] no complete audit-log span covers (a break in the log chain)."""
        out: list[tuple[float, float]] = []
        at = start
        for lo, hi in self.covered:
            if hi <= at:
                continue
            if lo >= end:
                break
            if lo > at:
                out.append((at, lo))
            at = max(at, hi)
            if at >= end:
                break
        if at < end:
            out.append((at, end))
        return out

    def spans(self) -> list[Span]:
        """Where the value is known, and from what: each event's value carried forward (and the first
        observation backward) over covered time; outside covered time, only the event's own moment."""
        out: list[Span] = []
        events = self.events
        utc = timezone.utc
        covered = () if self.contradicted is not None else self.covered
        for i, event in enumerate(events):
            t = self.times[i]
            nxt = self.times[i + 1] if i + 1 < len(events) else None
            for lo, hi in covered:
                if lo <= t <= hi:
                    end = min(hi, nxt) if nxt is not None else hi
                    start = t
                    if event.source != "change" and (i == 0 or self.times[i - 1] < lo):
                        start = lo  # a read holds back to the span's start when no earlier event lies in the span
                    if end > start:
                        out.append(Span(datetime.fromtimestamp(start, utc), datetime.fromtimestamp(end, utc),
                                        event.value, "logged", event.evidence))
                    break
            else:
                out.append(Span(event.time, event.time, event.value, "observed", event.evidence))
        return out

    def day_states(self, day_stamps: tuple[float, ...], days: Iterable[date], as_of: float, weak: Any,
                   created: float | None = None, gone_by: float | None = None,
                   alive_until: float | None = None) -> dict[date, str]:
        """Per day: 'kept', 'broken' (the setting was `weak` at some moment), 'unknown', 'not_due', 'not_applicable'.

        `weak` is the failing value, or a predicate on a known value (a retention below a minimum)."""
        events, times = self.events, self.times
        is_weak = (lambda v: v is not None and v is not _NOTHING and bool(weak(v))) if callable(weak) else (lambda v: v == weak)
        # Running counts of `weak` and unknown (None) values: whether a day's stretch holds one is then
        # two look-ups, not a pass over the stretch.
        weak_upto, none_upto = [0], [0]
        weak_count = none_count = 0
        for event in events:
            weak_count += is_weak(event.value)
            none_count += event.value is None
            weak_upto.append(weak_count)
            none_upto.append(none_count)
        first_lead = None if not events or events[0].source == "change" else events[0].value
        states: dict[date, str] = {}
        for number, day in enumerate(days):
            start, end = day_stamps[number], day_stamps[number + 1]
            if end > as_of:
                end = as_of
            if start >= as_of:
                states[day] = "not_due"
                continue
            if (created is not None and end <= created) or (gone_by is not None and start >= gone_by):
                states[day] = "not_applicable"
                continue
            exists_unknown = (alive_until is not None and gone_by is not None and end > alive_until and start < gone_by
                              and gone_by != alive_until)
            if created is not None and start < created:
                start = created
            if gone_by is not None and end > gone_by:
                end = gone_by
            lo, hi = bisect_left(times, start), bisect_left(times, end)  # the stretch's own events: [lo, hi)
            last = bisect_right(times, start) - 1
            if last >= 0:
                lead, carried = events[last].value, self.covers(times[last], end)
                if not carried and lo < len(events) and events[lo].source != "change":
                    # the next read, carried back over a complete query that reaches the day's start
                    lead, carried = events[lo].value, self.covers(start, max(end, times[lo]))
            elif first_lead is not None:
                lead, carried = first_lead, self.covers(start, max(end, times[0]))
            else:
                lead, carried = None, self.covers(start, end)
            if not carried:
                lead = None if lo == hi else _NOTHING  # nothing seen that day is unknown; else only what was seen
            if weak_upto[hi] - weak_upto[lo] > 0 or (lead is not _NOTHING and is_weak(lead)):
                states[day] = "broken"
            elif exists_unknown or none_upto[hi] - none_upto[lo] > 0 or lead is None:
                states[day] = "unknown"
            else:
                states[day] = "kept"
        return states


_SOURCE_WORDS = {"observation": "a read", "backup-window": "a backup that ran"}


def contradiction_words(timeline: Timeline, what: str | None = None) -> str | None:
    """Why a contradicted timeline carries nothing, in words (None when the evidence agrees with the log)."""
    if timeline.contradicted is None:
        return None
    a, b = timeline.contradicted
    what = what or timeline.setting.replace("_", " ")
    return (f"{_SOURCE_WORDS.get(a.source, a.source)} of {a.time:%Y-%m-%d %H:%M} UTC shows {what} {a.value!r} and "
            f"{_SOURCE_WORDS.get(b.source, b.source)} of {b.time:%Y-%m-%d %H:%M} UTC shows {b.value!r}, but no Admin "
            "Activity entry between them records a change: the audit log the auditor read missed it, so the log "
            "carries nothing for this setting and only each day's own reads count")

