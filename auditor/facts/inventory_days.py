"""The inventory controls' history, built once with the facts: the data map in force on each day, each
store's labels over time, and when each store existed.

- **The data map in force each day.** A locker stores the map it ran with, so a day with a locker
  has its own map. Other days take the version the map's git history had at the day's end (each
  commit in force from its time), when the map lives in a repository. A day with neither is unknown,
  with the reason (no repository; its history begins later; that version did not parse).
- **Labels over time** (the classification label), as a `Timeline` per store: Cloud SQL from every
  configuration read and the Admin Activity updates that set `settings.userLabels` (an update
  logged without its body sets unknown labels), carried over the spans complete log queries cover;
  buckets and the other stores from each listing's read; and, for every store, the content windows
  of Cloud Asset Inventory's history (the last 35 days only: each window is one content held
  throughout it, so it also covers its span).
- **When a store existed**: its creation time (`createTime`), a logged deletion, the asset history (a
  window that follows a 'does not exist'; a `deleted` window no later window undoes).
- **A store no longer listed** (inv3; a bucket or any store the Cloud SQL history does not know): alive until the last
  read that showed it, gone by the first moment every listing (source and scope) that had shown it was read again in
  full, later, without it (`listing_lifetimes`). The days between are unknown; a failed, partial or denied listing
  records nothing, so it never ends a lifetime; one source that showed it and was not read again keeps it alive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from auditor.facts.declare import project_scope
from auditor.facts.history import History, Lifetime
from auditor.facts.model import ConfigChange, LogSpan, SqlInstance
from auditor.facts.stores import AssetWindow, InventoryRead, LabelsSeen, MapVersion, StoreListing, type_of
from auditor.facts.timeline import Event, Timeline

LABELS = "labels"


@dataclass(frozen=True)
class DayMap:
    """The data map in force on one day: the version (None: unknown) and, when unknown, why."""

    version: MapVersion | None
    reason: str | None = None

    @property
    def inventory(self) -> Any:
        return self.version.inventory if self.version else None


class MapHistory:
    """The data map's versions (each locker's read, each git commit) and which was in force on a day."""

    def __init__(self, versions: Iterable[MapVersion], history_problem: str | None) -> None:
        self.versions = tuple(sorted(versions, key=lambda v: (v.time, v.basis)))
        self.history_problem = history_problem
        self._git = tuple(v for v in self.versions if v.basis == "git")

    def by_day(self, period: Any) -> dict[date, DayMap]:
        days = list(period.days())
        stamps = period.day_stamps
        lockers: dict[date, MapVersion] = {}
        for version, day in zip(self.versions, period.days_of([v.time for v in self.versions])):
            if version.basis == "locker":
                lockers[day] = version  # the latest read of the day (versions are oldest first)
        out: dict[date, DayMap] = {}
        for number, day in enumerate(days):
            own = lockers.get(day)
            if own is not None:
                out[day] = DayMap(own, None if own.inventory is not None else f"the data map stored that day did not parse ({own.problem})")
                continue
            end = stamps[number + 1]
            committed = [v for v in self._git if v.time.timestamp() < end]
            if committed:
                last = committed[-1]
                out[day] = DayMap(last, None if last.inventory is not None else f"the version in force in git ({last.problem})")
            elif self._git:
                out[day] = DayMap(None, f"the data map's git history begins on {self._git[0].time:%Y-%m-%d}, after that day")
            else:
                why = self.history_problem or "its history was not read"
                out[day] = DayMap(None, f"no locker of that day stored it and its past versions are unknown ({why})")
        return out


class InventoryDays:
    """Frozen once built; the two inventory checks read it."""

    def __init__(self, maps: MapHistory, timelines: dict[str, Timeline], unlogged: dict[str, tuple[ConfigChange, ...]],
                 created: dict[str, datetime], windows: dict[str, tuple[AssetWindow, ...]], history: History,
                 label_changes: dict[str, tuple[ConfigChange, ...]] | None = None,
                 deleted: dict[str, datetime] | None = None, window_starts: dict[str, tuple[datetime, ...]] | None = None,
                 listed: dict[str, tuple[datetime, datetime | None]] | None = None) -> None:
        self.maps = maps
        self._listed = listed or {}
        self._deleted = deleted or {}
        self._window_starts = window_starts or {}
        self._changes = label_changes or {}
        self._timelines = timelines
        self._unlogged = unlogged
        self._created = created
        self._windows = windows
        self._history = history

    @property
    def history(self) -> History:
        """The Cloud SQL history the lifetimes come from (inv2: deleted instances' lifetimes and reads)."""
        return self._history

    def labels(self, resource: str) -> Timeline:
        return self._timelines.get(resource) or Timeline(resource, LABELS, (), ())

    def label_changes(self, resource: str) -> tuple[ConfigChange, ...]:
        """The Admin Activity updates that set (or may have set: no body) the store's labels, oldest first."""
        return self._changes.get(resource, ())

    def unlogged_label_changes(self, resource: str) -> tuple[ConfigChange, ...]:
        """The Admin Activity updates of the store logged without their body: the labels they set are unknown."""
        return self._unlogged.get(resource, ())

    def sightings(self, resource: str) -> list[datetime]:
        """When some read showed the store: each read of its labels and the start of each asset-history window it
        claims (an Admin Activity update shows a change, not the store)."""
        events = self._timelines[resource].events if resource in self._timelines else ()
        return [e.time for e in events if e.source != "change"] + list(self._window_starts.get(resource, ()))

    def asset_windows(self, resource: str) -> tuple[AssetWindow, ...]:
        return self._windows.get(resource, ())

    def lifetime(self, resource: str, create_time: datetime | None) -> Lifetime:
        """When the store existed: the Cloud SQL history's lifetime (a logged deletion), else its creation time,
        else the asset history's first window that follows a 'does not exist'. Where the Cloud SQL history knows no
        end, a deletion the asset history shows (inv2: a window `deleted` that no later window undoes) ends it."""
        life = self._history.lifetime(resource)
        created = life.created or create_time or self._created.get(resource)
        if life.gone_by is None and resource in self._deleted:
            gone = self._deleted[resource]
            return Lifetime(created, gone, gone)
        if life.gone_by is None and not self._history.observations(resource) and resource in self._listed:
            alive, gone = self._listed[resource]  # inv3: no longer listed (a bucket, a store only the index lists)
            if gone is not None:
                return Lifetime(created, alive, gone)
        return Lifetime(created, life.alive_until, life.gone_by)


def _frozen(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def build_inventory_days(read: InventoryRead | None, versions: list[MapVersion], observations: list[SqlInstance],
                         changes: list[ConfigChange], seen: list[LabelsSeen], windows: list[AssetWindow],
                         coverage: list[LogSpan], history: History, as_of: datetime,
                         finals: Iterable[SqlInstance] = (), listings: Iterable[StoreListing] = ()) -> InventoryDays:
    """`finals`: deleted instances as their FINAL backup's snapshot shows them (inv2): one more read of their labels,
    at deletion, so a store deleted during the period is judged for the days it existed. `listings`: the complete
    listings of stores (inv3), each with its time: a store a later one no longer shows is gone (`listing_lifetimes`)."""
    maps = MapHistory(versions, read.history_problem if read else None)
    covered_by: dict[str, list[tuple[datetime, datetime]]] = {}
    for span in coverage:
        covered_by.setdefault(span.scope, []).append((span.start, span.end))
    events: dict[str, list[Event]] = {}
    extra_cover: dict[str, list[tuple[datetime, datetime]]] = {}
    sql_read = set()
    for obs in [*observations, *finals]:
        if obs.observed_at:
            sql_read.add(obs.resource)
            events.setdefault(obs.resource, []).append(Event(obs.observed_at, _frozen(obs.labels), "observation", obs.evidence))
    unlogged: dict[str, list[ConfigChange]] = {}
    labelled: dict[str, list[ConfigChange]] = {}
    steady = _steady_windows(windows, as_of)
    for change in changes:
        if change.deleted or LABELS not in change.settings:
            continue
        labelled.setdefault(change.instance, []).append(change)
        value, evidence = change.settings[LABELS], change.evidence
        if value is None:
            # lead (issue 13): an update logged without its body inside an asset-history window that holds one
            # content from well before it to well after it (the index's lag either side) set no other labels
            window = next((w for w in steady.get(change.instance, ()) if w[0] <= change.time < w[1]), None)
            if window is not None:
                value, evidence = window[2], evidence + window[3]
        events.setdefault(change.instance, []).append(Event(change.time, value, "change", evidence))
        if value is None:
            unlogged.setdefault(change.instance, []).append(change)
    for one in seen:
        # a Cloud SQL instance's own listing is its record; the asset index may lag it by hours
        if one.resource in sql_read and one.source.startswith("cloudasset"):
            continue
        events.setdefault(one.resource, []).append(Event(one.time, one.labels, "observation", one.evidence))
    created: dict[str, datetime] = {}
    window_starts: dict[str, list[datetime]] = {}
    by_window: dict[str, list[AssetWindow]] = {}
    for window in sorted(windows, key=lambda w: (w.resource, w.start)):
        by_window.setdefault(window.resource, []).append(window)
        if window.prior_state == "DOES_NOT_EXIST" and not window.deleted:
            created.setdefault(window.resource, window.start)
        if window.deleted or window.labels is None:
            continue
        start = max(window.start, window.read_from) if window.read_from else window.start
        end = window.end or as_of
        if end <= start:
            continue  # the window ended before the span the call asked about: nothing claimed
        # A window that starts inside the span asked for starts where the content changed (the index records each
        # change): a change that says what it set, never carried back, and never evidence that the audit log missed
        # one (auditor.facts.timeline's contradiction). The window cut at the span's start is a read of the content
        # held then, like any other read (inv2: main's contradiction rule had voided the log for every relabel).
        clipped = window.read_from is not None and window.start < window.read_from
        events.setdefault(window.resource, []).append(Event(start, window.labels, "observation" if clipped else "change",
                                                            window.evidence))
        window_starts.setdefault(window.resource, []).append(start)
        extra_cover.setdefault(window.resource, []).append((start, end))
    deleted: dict[str, datetime] = {}
    for resource, held in by_window.items():
        last = held[-1]  # windows are sorted by start: the store's latest content says whether it still exists
        if last.deleted:
            deleted[resource] = last.start
    timelines = {}
    for resource, found in events.items():
        cover = list(extra_cover.get(resource, ()))
        if resource.startswith("//cloudsql.googleapis.com/"):
            cover += covered_by.get(project_scope(resource), [])  # the Cloud SQL audit-log query's spans
        timelines[resource] = Timeline(resource, LABELS, found, cover)
    return InventoryDays(maps, timelines, {r: tuple(v) for r, v in unlogged.items()}, created,
                         {r: tuple(v) for r, v in by_window.items()}, history, {r: tuple(v) for r, v in labelled.items()},
                         deleted, {r: tuple(v) for r, v in window_starts.items()},
                         listing_lifetimes(seen, listings, window_starts))


def listing_lifetimes(seen: Iterable[LabelsSeen], listings: Iterable[StoreListing],
                      other_sightings: dict[str, list[datetime]] | None = None) -> dict[str, tuple[datetime, datetime | None]]:
    """{store: (alive_until, gone_by)} from the listings (inv3, issue 13). alive_until: the last read that showed the
    store (any listing, or an asset-history window's start). gone_by: once every listing that had shown it (its
    source and scope: a project's buckets.list, one asset search scope) has been read in full after that moment,
    for the store's type, without it, the latest of those first complete reads; None while any has not (a failed,
    partial or denied listing emits no StoreListing, so it proves nothing). Requiring every source keeps a bucket
    alive while its own listing still shows it even though the asset index dropped it, and one only the index lists
    (its own listing never showed it: invisible to the identity) is ended by the index alone."""
    by_source: dict[tuple[str, str], list[StoreListing]] = {}
    for listing in listings:
        by_source.setdefault((listing.source, listing.scope), []).append(listing)
    shown: dict[str, set[tuple[str, str | None]]] = {}
    last: dict[str, datetime] = {}
    for one in seen:
        shown.setdefault(one.resource, set()).add((one.source, one.scope))
        last[one.resource] = max(last.get(one.resource, one.time), one.time)
    for resource, times in (other_sightings or {}).items():
        if resource in last and times:
            last[resource] = max(last[resource], *times)
    out: dict[str, tuple[datetime, datetime | None]] = {}
    for resource, sources in shown.items():
        alive, kind, firsts = last[resource], type_of(resource), []
        for source, scope in sources:
            later = [lst.time for lst in by_source.get((source, scope or ""), ()) if lst.time > alive and lst.covers(kind)]
            if not later:
                firsts = []
                break
            firsts.append(min(later))
        out[resource] = (alive, max(firsts) if firsts else None)
    return out


def _steady_windows(windows: list[AssetWindow], as_of: datetime) -> dict[str, list[tuple[datetime, datetime, Any, tuple]]]:
    """Per store: the stretches [start + lag, end - lag) over which an asset-history window shows one set of labels
    (the index records each change of content, hours late at most: auditor.facts.discovery.ASSET_INDEX_LAG), with the
    labels and the window's evidence. An update inside such a stretch changed no labels."""
    from auditor.facts.discovery import ASSET_INDEX_LAG

    out: dict[str, list[tuple[datetime, datetime, Any, tuple]]] = {}
    for window in windows:
        if window.deleted or window.labels is None:
            continue
        start = max(window.start, window.read_from) if window.read_from else window.start
        lo, hi = start + ASSET_INDEX_LAG, (window.end or as_of) - ASSET_INDEX_LAG
        if lo < hi:
            out.setdefault(window.resource, []).append((lo, hi, window.labels, tuple(window.evidence)))
    return out

