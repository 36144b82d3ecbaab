"""The classification in force each day (checks.class_days), from hand-built histories: the data map's versions
(lockers and git) and a store's label timeline (reads, Admin Activity updates, audit-log coverage).

The period is 2026 Q3 (Jul 1 .. Sep 30, UTC), the evidence date Sep 30 12:00 UTC. The policy has the
classifications restricted, confidential and internal, the label key `data-classification`, no default.
Expected days are written from the times set in each test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from testkit import days_between

from auditor.checks.class_days import class_days
from auditor.checks.days import by_config
from auditor.checks_api import CheckContext
from auditor.config import load_config
from auditor.facts.inventory_days import MapHistory
from auditor.facts.stores import MapVersion
from auditor.facts.timeline import Event, Timeline
from auditor.inventory import parse_inventory
from auditor.period import Period

UTC = dt.timezone.utc
SQL = "//cloudsql.googleapis.com/projects/cd-prod/instances/"
AS_OF = dt.datetime(2026, 9, 30, 12, tzinfo=UTC)
START = dt.datetime(2026, 7, 1, tzinfo=UTC)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def labels(value: str | None) -> tuple:
    return (("data-classification", value),) if value else (("team", "x"),)


class FakeHistory:
    """The two parts of auditor.facts.inventory_days.InventoryDays that class_days reads."""

    def __init__(self, maps: MapHistory, timelines: dict[str, Timeline]) -> None:
        self.maps = maps
        self._timelines = timelines

    def labels(self, resource: str) -> Timeline:
        return self._timelines.get(resource) or Timeline(resource, "labels", (), ())


class Facts:
    def __init__(self, history) -> None:
        self.inventory_days = history


def inventory(declared: dict[str, str]):
    text = "reviewed: 2026-06-01\nstores:" + ("\n" if declared else " []\n") + "".join(
        f"  - resource: {r}\n    classification: {c}\n    owner: team\n" for r, c in declared.items())
    return parse_inventory(text, Path("inventory.yaml"))


@pytest.fixture(scope="module")
def config(sample_dir):
    base = load_config(sample_dir / "auditor.yaml")
    policy = base.policy.model_copy(update={"default_classification": None})
    return base.model_copy(update={"policy": policy})


def context(config, current, versions=(), configs=()):
    return CheckContext(config=config, period=Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30)), as_of=AS_OF,
                        inventory=current, configs=tuple(configs)), MapHistory(versions, "the map is not in a repository")


def undeclared(config, resource, timeline, label):
    """One run at the evidence date whose data map declares nothing: (its context, the store's ClassDays)."""
    current = inventory({})
    ctx, maps = context(config, current, [MapVersion(AS_OF, "locker", current, None, "sha")])
    return ctx, class_days(Facts(FakeHistory(maps, {resource: timeline})), ctx, resource, dict(labels(label)))


def names(found, first, last) -> set:
    return {found.of(dt.date.fromisoformat(d)).names for d in days_between(first, last)}


def test_single_run_label_changed_with_its_body_logged(config):
    """A store the map does not declare, labelled internal; an update logged with its body relabels it confidential
    on Aug 12 09:00; the audit log covers the whole quarter and the read at the evidence date shows confidential.
    Jul 1 .. Aug 11: internal (the read carried back over covered time, then the change); Aug 12 held both (it
    changed that day); Aug 13 .. Sep 30 confidential."""
    resource = SQL + "labelled-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-08-12T09:00:00"), labels("confidential"), "change", ("log:relabel",)),
        Event(AS_OF, labels("confidential"), "observation", ("item:read",)),
        Event(at("2026-06-20T00:00:00"), labels("internal"), "observation", ("item:old",))],
        [(at("2026-06-20T00:00:00"), AS_OF)])
    ctx, found = undeclared(config, resource, timeline, "confidential")
    assert names(found, "2026-07-01", "2026-08-11") == {("internal",)}
    assert found.of(dt.date(2026, 8, 12)).names == ("internal", "confidential")
    assert names(found, "2026-08-13", "2026-09-30") == {("confidential",)}
    assert found.changed and "internal on 2026-07-01 .. 2026-08-11" in found.words()


def test_label_change_logged_without_body_between_disagreeing_reads_is_unknown(config):
    """Read internal on Jul 1 00:00 and confidential on Sep 30 12:00; an update on Aug 12 09:00 logged without its
    body; no log query covers anything. Jul 1: its own read (internal). Jul 2 .. Aug 11: the read before, and the
    next event is an update (it says nothing of what it replaced): internal. Aug 12: the unlogged update that day:
    unknown. Aug 13 .. Sep 29: the event before them set unknown labels and no read since shows them: unknown, never
    judged by the newest class. Sep 30: its own read (confidential)."""
    resource = SQL + "unlogged-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-07-01T00:00:00"), labels("internal"), "observation"),
        Event(at("2026-08-12T09:00:00"), None, "change"),
        Event(AS_OF, labels("confidential"), "observation")], [])
    ctx, found = undeclared(config, resource, timeline, "confidential")
    assert names(found, "2026-07-01", "2026-08-11") == {("internal",)}
    assert names(found, "2026-08-12", "2026-09-29") == {()}
    assert found.of(dt.date(2026, 9, 30)).names == ("confidential",)
    assert "without its request body" in found.why(found.unknown_days())


def test_reads_that_disagree_around_uncovered_days_leave_them_unknown(config):
    """Reads internal Jul 1 00:00 and confidential Sep 30 12:00, nothing between, no log coverage: when the class
    changed nothing shows, so Jul 2 .. Sep 29 are unknown; each read's own day is known."""
    resource = SQL + "two-reads-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-07-01T00:00:00"), labels("internal"), "observation"),
        Event(AS_OF, labels("confidential"), "observation")], [])
    ctx, found = undeclared(config, resource, timeline, "confidential")
    assert found.of(dt.date(2026, 7, 1)).names == ("internal",)
    assert names(found, "2026-07-02", "2026-09-29") == {()}
    assert found.of(dt.date(2026, 9, 30)).names == ("confidential",)
    assert "differ between the reads" in found.why(found.unknown_days())


def test_one_read_alone_is_carried_over_the_period(config):
    """A bucket's labels are read once, at the evidence date (no audit-log coverage): the one read is the class of
    every day, as the single run's one configuration is (nothing shows a different class)."""
    resource = "//storage.googleapis.com/cd-bucket"
    timeline = Timeline(resource, "labels", [Event(AS_OF, labels("internal"), "observation")], [])
    ctx, found = undeclared(config, resource, timeline, "internal")
    assert names(found, "2026-07-01", "2026-09-30") == {("internal",)}
    assert not found.changed and found.words() == ""


def test_declared_class_follows_the_map_in_force_each_day(config):
    """Map versions stored by lockers of Jul 10 (declares restricted), Aug 20 (confidential) and Sep 30
    (confidential again), a version that did not parse stored on Sep 5. The store's label says internal.
    Jul 1 .. Aug 19: restricted (days before the first version take it; Jul 11 .. Aug 19 the newest before them);
    Aug 20 .. Sep 4 confidential; Sep 5 unknown (that day's own version did not parse); Sep 6 .. Sep 29: the
    version in force is the unparsed one: unknown; Sep 30 confidential."""
    resource = SQL + "declared-pg"
    restricted, confidential = inventory({resource: "restricted"}), inventory({resource: "confidential"})
    versions = [MapVersion(at("2026-07-10T06:00:00"), "locker", restricted, None, "a"),
                MapVersion(at("2026-08-20T06:00:00"), "locker", confidential, None, "b"),
                MapVersion(at("2026-09-05T06:00:00"), "locker", None, "line 3: not YAML", "c"),
                MapVersion(AS_OF, "locker", confidential, None, "d")]
    ctx, maps = context(config, confidential, versions)
    timeline = Timeline(resource, "labels", [Event(AS_OF, labels("internal"), "observation")], [])
    found = class_days(Facts(FakeHistory(maps, {resource: timeline})), ctx, resource, dict(labels("internal")))
    assert names(found, "2026-07-01", "2026-08-19") == {("restricted",)}
    assert names(found, "2026-08-20", "2026-09-04") == {("confidential",)}
    assert names(found, "2026-09-05", "2026-09-29") == {()}
    assert "did not parse" in found.why([dt.date(2026, 9, 5)])
    assert found.of(dt.date(2026, 9, 30)).names == ("confidential",)
    assert found.newest == "confidential" and found.changed


def test_by_config_judges_each_day_under_its_class(config):
    """A made-up threshold per class (restricted 30, confidential 14, internal 7) against a setting of 14 every day:
    kept where the class asks at most 14, broken where it asks 30. With the classes of the first test: Jul 1 ..
    Aug 11 internal (kept), Aug 12 internal then confidential (kept under both: kept), Aug 13 .. Sep 30 confidential
    (kept). With restricted on Aug 12 instead: that day held internal then restricted, kept under one and broken
    under the other: unknown. A day of unknown class is unknown, never kept."""
    resource = SQL + "judged-pg"
    wanted = {"restricted": 30, "confidential": 14, "internal": 7}

    def run(second: str):
        timeline = Timeline(resource, "labels", [
            Event(at("2026-07-01T00:00:00"), labels("internal"), "observation"),
            Event(at("2026-08-12T09:00:00"), labels(second), "change"),
            Event(AS_OF, labels(second), "observation")], [(at("2026-06-01T00:00:00"), AS_OF)])
        current = inventory({})
        ctx, maps = context(config, current, [MapVersion(AS_OF, "locker", current, None, "sha")])
        classes = class_days(Facts(FakeHistory(maps, {resource: timeline})), ctx, resource, dict(labels(second)))
        states, _ = by_config(ctx, lambda c, name: wanted.get(name) if name else None,
                              lambda value: {d: ("unknown" if value is None else "kept" if value <= 14 else "broken")
                                             for d in ctx.period.days()}, classes)
        return states

    kept = run("confidential")
    assert set(kept.values()) == {"kept"}
    mixed = run("restricted")
    assert mixed[dt.date(2026, 8, 12)] == "unknown"
    assert {mixed[dt.date.fromisoformat(d)] for d in days_between("2026-08-13", "2026-09-30")} == {"broken"}
    assert {mixed[dt.date.fromisoformat(d)] for d in days_between("2026-07-01", "2026-08-11")} == {"kept"}


def test_unknown_class_days_are_unknown_in_by_config(config):
    """The reads disagree around days nothing shows (the unlogged case): those days are unknown even though the
    setting would be kept under every class."""
    resource = SQL + "unlogged-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-07-01T00:00:00"), labels("internal"), "observation"),
        Event(AS_OF, labels("confidential"), "observation")], [])
    ctx, classes = undeclared(config, resource, timeline, "confidential")
    states, _ = by_config(ctx, lambda c, name: name, lambda value: {d: "kept" for d in ctx.period.days()}, classes)
    assert states[dt.date(2026, 7, 1)] == "kept" and states[dt.date(2026, 9, 30)] == "kept"
    assert {states[dt.date.fromisoformat(d)] for d in days_between("2026-07-02", "2026-09-29")} == {"unknown"}


def test_no_map_configured_uses_the_label_and_a_store_without_one_has_none(config):
    """Without `inventory:` in the configuration nothing is declared: the label decides; a store with no label and
    no policy default has no classification on any day (unknown for the thresholds, with that reason)."""
    resource = SQL + "bare-pg"
    plain = config.model_copy(update={"inventory": None})
    ctx = CheckContext(config=plain, period=Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30)), as_of=AS_OF)
    timeline = Timeline(resource, "labels", [Event(AS_OF, labels(None), "observation")], [])
    found = class_days(Facts(FakeHistory(MapHistory([], None), {resource: timeline})), ctx, resource, {"team": "x"})
    assert names(found, "2026-07-01", "2026-09-30") == {()}
    assert "no classification" in found.why([dt.date(2026, 7, 1)])


def test_a_change_day_where_one_class_asks_nothing_is_unknown(config):
    """Internal asks no restore-test interval (not applicable), restricted asks one the store breaks: on the day the
    label changed from internal to restricted the two disagree, so the day is unknown, neither not applicable nor
    broken; the days before are not applicable, the days after broken."""
    resource = SQL + "mixed-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-07-01T00:00:00"), labels("internal"), "observation"),
        Event(at("2026-08-12T09:00:00"), labels("restricted"), "change"),
        Event(AS_OF, labels("restricted"), "observation")], [(at("2026-06-01T00:00:00"), AS_OF)])
    ctx, classes = undeclared(config, resource, timeline, "restricted")
    states, _ = by_config(ctx, lambda c, name: name,
                          lambda name: {d: ("not_applicable" if name == "internal" else "broken") for d in ctx.period.days()},
                          classes)
    assert states[dt.date(2026, 8, 12)] == "unknown"
    assert states[dt.date(2026, 8, 11)] == "not_applicable" and states[dt.date(2026, 8, 13)] == "broken"


def test_an_update_is_never_carried_back(config):
    """No read before an update that set confidential on Aug 12 09:00 (its body logged; the log covers only from
    Aug 1): Jul 1 .. Aug 11 nothing shows the label (the update says what it set, not what it replaced): unknown,
    not confidential; Aug 12 its own change (confidential from 09:00, the part before unknown: unknown);
    Aug 13 .. Sep 30 confidential."""
    resource = SQL + "changed-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-08-12T09:00:00"), labels("confidential"), "change"),
        Event(AS_OF, labels("confidential"), "observation")], [(at("2026-08-01T00:00:00"), AS_OF)])
    ctx, found = undeclared(config, resource, timeline, "confidential")
    assert names(found, "2026-07-01", "2026-08-11") == {()}
    assert names(found, "2026-08-13", "2026-09-30") == {("confidential",)}


def test_the_change_day_with_nothing_before_the_update_is_unknown(config):
    """The update of Aug 12 09:00 is the first event: before 09:00 that day nothing shows the label, so the day's
    classes are not known whole; unknown."""
    resource = SQL + "changed-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-08-12T09:00:00"), labels("confidential"), "change"),
        Event(AS_OF, labels("confidential"), "observation")], [(at("2026-08-01T00:00:00"), AS_OF)])
    ctx, found = undeclared(config, resource, timeline, "confidential")
    assert found.of(dt.date(2026, 8, 12)).names == ()
    assert "not what it replaced" in found.why([dt.date(2026, 8, 12)])


class LivedHistory(FakeHistory):
    """FakeHistory with a creation time (InventoryDays.lifetime's part that class_days reads)."""

    def __init__(self, maps, timelines, created) -> None:
        super().__init__(maps, timelines)
        self._created = created

    def lifetime(self, resource, create_time):
        from auditor.facts.history import Lifetime

        return Lifetime(self._created, None, None)


def test_the_change_at_a_stores_creation_is_what_it_had_from_then(config):
    """Created Aug 20 09:00; the first record of its labels is the change that created it (it replaced nothing), then
    a read at the evidence date; the audit log covers Aug 1 on. Aug 20 (from 09:00) .. Sep 30: restricted. Without
    the creation time the same change says nothing of Aug 20's first nine hours, which the log covers: unknown."""
    resource = SQL + "new-pg"
    created = at("2026-08-20T09:00:00")
    timeline = Timeline(resource, "labels", [Event(created, labels("restricted"), "change", ("log:create",)),
                                             Event(AS_OF, labels("restricted"), "observation")],
                        [(at("2026-08-01T00:00:00"), AS_OF)])
    current = inventory({})
    ctx, maps = context(config, current, [MapVersion(AS_OF, "locker", current, None, "sha")])
    found = class_days(Facts(LivedHistory(maps, {resource: timeline}, created)), ctx, resource, dict(labels("restricted")))
    assert names(found, "2026-08-20", "2026-09-30") == {("restricted",)}
    unknown_start = class_days(Facts(FakeHistory(maps, {resource: timeline})), ctx, resource, dict(labels("restricted")))
    assert unknown_start.of(dt.date(2026, 8, 20)).names == ()


def test_an_update_that_held_for_no_time_leaves_no_day_unknown(config):
    """Two updates at Jul 12 09:00, both logged without their body (a spell restored and the next one set at the
    same instant), then a read Jul 13 06:00 (restricted) joined to them by the log; confidential read Jul 12 06:00.
    The first update's labels held for no time: Jul 12 was confidential then restricted, Jul 13 restricted."""
    resource = SQL + "instant-pg"
    timeline = Timeline(resource, "labels", [
        Event(at("2026-07-12T06:00:00"), labels("confidential"), "observation"),
        Event(at("2026-07-12T09:00:00"), None, "change"),
        Event(at("2026-07-12T09:00:00"), None, "change"),
        Event(at("2026-07-13T06:00:00"), labels("restricted"), "observation")], [(at("2026-06-30T00:00:00"), AS_OF)])
    _ctx, found = undeclared(config, resource, timeline, "restricted")
    assert set(found.of(dt.date(2026, 7, 12)).names) == {"confidential", "restricted"}
    assert found.of(dt.date(2026, 7, 13)).names == ("restricted",)
