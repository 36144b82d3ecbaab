"""Known or unknown per scope: an unread collection cannot be read as a list, and "none" needs a read."""

from __future__ import annotations

import pytest

from auditor.facts.known import CallGap, Known, ScopedBuilder, Unknown, known_items


def _builder():
    return ScopedBuilder("backup_runs", key=lambda item: item["instance"], scope_of=lambda r: r.split("|")[0])


def _gap(scope="projects/b", epoch_kind="http"):
    return CallGap("sqladmin", "backupRuns.list", scope, epoch_kind, None, "boom", 500, "c-2")


def test_a_failed_scope_is_unknown_with_its_reason_and_no_items():
    builder = _builder()
    builder.add("projects/a", {"instance": "projects/a|db"})
    builder.answered("projects/a", "sqladmin", "backupRuns.list", "c-1")
    builder.failed(_gap())
    runs = builder.freeze()
    a, b = runs.at("projects/a"), runs.at("projects/b")
    assert isinstance(a, Known) and len(a.items) == 1 and a.calls == ("c-1",)
    assert isinstance(b, Unknown) and not hasattr(b, "items")
    assert "HTTP 500" in b.describe()
    assert isinstance(runs.of("projects/b|db"), Unknown)
    assert runs.of("projects/a|other").items == ()  # read, and nothing for that instance


def test_never_called_is_unknown_not_empty():
    runs = _builder().freeze()
    state = runs.at("projects/x")
    assert isinstance(state, Unknown) and state.first.kind == "not_collected"


def test_only_a_successful_empty_read_is_empty():
    builder = _builder()
    builder.answered("projects/a", "sqladmin", "backupRuns.list", "c-1")
    state = builder.freeze().at("projects/a")
    assert isinstance(state, Known) and state.empty


def test_the_container_cannot_be_iterated_counted_or_tested():
    runs = _builder().freeze()
    with pytest.raises(TypeError):
        list(runs)
    with pytest.raises(TypeError):
        len(runs)
    with pytest.raises(TypeError):
        bool(runs)


def test_one_failed_call_beside_an_answered_one_makes_the_scope_unknown():
    builder = _builder()
    builder.answered("projects/b", "sqladmin", "backupRuns.list", "c-1")
    builder.failed(_gap(epoch_kind="partial"))
    assert isinstance(builder.freeze().at("projects/b"), Unknown)


def test_the_newest_locker_decides_a_scope_and_items_of_all_are_kept():
    builder = _builder()
    builder.failed(_gap(), epoch=0)
    builder.add("projects/b", {"instance": "projects/b|db"})
    builder.answered("projects/b", "sqladmin", "backupRuns.list", "c-9", epoch=1)
    assert isinstance(builder.freeze().at("projects/b"), Known)
    builder.failed(_gap(), epoch=2)
    assert isinstance(builder.freeze().at("projects/b"), Unknown)


def test_known_items_keeps_the_unknown_ones_apart():
    builder = _builder()
    builder.add("projects/a", {"instance": "projects/a|db"})
    builder.answered("projects/a", "sqladmin", "backupRuns.list", "c-1")
    builder.failed(_gap())
    items, unknown = known_items(builder.freeze().over(["projects/a", "projects/b"]))
    assert len(items) == 1 and [u.scope for u in unknown] == ["projects/b"]


def test_a_snapshot_collection_holds_only_the_newest_read_of_each_scope():
    """Merged lockers: a repository listed last week and deleted since is not in this week's listing; a collection
    that keeps history (audit-log entries) keeps both lockers' items."""
    from auditor.facts.known import ScopedBuilder

    for snapshot, expected in ((True, ("b",)), (False, ("a", "b"))):
        builder = ScopedBuilder("repos", key=lambda r: r, scope_of=lambda r: "github.com/acme", snapshot=snapshot)
        builder.add("github.com/acme", "a", epoch=0)
        builder.answered("github.com/acme", "github", "orgs.repos.list", "c-old", epoch=0)
        builder.add("github.com/acme", "b", epoch=1)
        builder.answered("github.com/acme", "github", "orgs.repos.list", "c-new", epoch=1)
        builder.add("github.com/other", "c", epoch=0)  # read only by the older locker: its read stands
        builder.answered("github.com/other", "github", "orgs.repos.list", "c-old2", epoch=0)
        scoped = builder.freeze()
        assert scoped.at("github.com/acme").items == expected
        assert scoped.at("github.com/other").items == ("c",)
    builder = ScopedBuilder("repos", key=lambda r: r, scope_of=lambda r: r, snapshot=True)
    builder.add("github.com/acme", "a", epoch=0)
    builder.answered("github.com/acme", "github", "orgs.repos.list", "c-old", epoch=0)
    from auditor.facts.known import CallGap

    builder.failed(CallGap("github", "orgs.repos.list", "github.com/acme", "http", None, "500", 500, "c-new"), epoch=1)
    assert not builder.freeze().at("github.com/acme").known  # the newest read failed: unknown, not last week's list
