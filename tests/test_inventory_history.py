"""The inventory controls' history sources, on payloads transcribed from the APIs' documentation and a real git
repository: Cloud Asset Inventory's TemporalAsset windows (older and newer shapes), and the data map's git history."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.collectors.inventory import git_history
from auditor.config import Config
from auditor.facts.history import build_history
from auditor.facts.inventory_days import MapHistory, build_inventory_days
from auditor.facts.sources import asset_history, inventory
from auditor.facts.stores import LabelsSeen
from auditor.period import Period

UTC = dt.timezone.utc
SQL = "//cloudsql.googleapis.com/projects/my-project/instances/orders"
BUCKET = "//storage.googleapis.com/my-bucket"

# TemporalAsset as the v1 reference lays it out (window, deleted, asset with resource.data, priorAssetState,
# priorAsset); Cloud SQL's resource data is a DatabaseInstance, whose labels are settings.userLabels.
NEWER = {
    "window": {"startTime": "2026-09-10T09:00:00Z", "endTime": "2026-09-17T09:00:00Z"},
    "deleted": False,
    "asset": {
        "updateTime": "2026-09-10T09:00:00Z", "name": SQL, "assetType": "sqladmin.googleapis.com/Instance",
        "resource": {"version": "v1beta4", "discoveryDocumentUri": "https://www.googleapis.com/discovery/v1/apis/sqladmin/v1beta4/rest",
                     "discoveryName": "DatabaseInstance", "parent": "//cloudresourcemanager.googleapis.com/projects/123456",
                     "data": {"name": "orders", "createTime": "2025-02-01T00:00:00.000Z",
                              "settings": {"userLabels": {"data-classification": "top-secret"}}},
                     "location": "us-east1"},
        "ancestors": ["projects/123456", "organizations/42"],
    },
    "priorAssetState": "PRESENT",
    "priorAsset": {"name": SQL, "assetType": "sqladmin.googleapis.com/Instance",
                   "resource": {"data": {"settings": {"userLabels": {"data-classification": "internal"}}}}},
}
# An older answer: no priorAssetState or priorAsset, no updateTime or ancestors; a bucket's labels at the top level
# of its resource data; the current window has no endTime.
OLDER = {
    "window": {"startTime": "2026-08-20T00:00:00Z"},
    "asset": {"name": BUCKET, "assetType": "storage.googleapis.com/Bucket",
              "resource": {"version": "v1", "discoveryName": "Bucket", "parent": "//cloudresourcemanager.googleapis.com/projects/123456",
                           "data": {"name": "my-bucket", "timeCreated": "2024-01-01T00:00:00Z", "labels": {"data-classification": "secret"}}}},
}


def test_a_newer_window_gives_its_labels_span_and_prior_state():
    window = asset_history.window(NEWER, dt.datetime(2026, 8, 26, tzinfo=UTC), "e-1")
    assert window.resource == SQL and window.asset_type == "sqladmin.googleapis.com/Instance"
    assert (window.start, window.end) == (dt.datetime(2026, 9, 10, 9, tzinfo=UTC), dt.datetime(2026, 9, 17, 9, tzinfo=UTC))
    assert window.labels == (("data-classification", "top-secret"),) and window.prior_state == "PRESENT"
    assert window.create_time == dt.datetime(2025, 2, 1, tzinfo=UTC) and not window.deleted


def test_an_older_window_without_prior_state_or_end():
    window = asset_history.window(OLDER, None, "e-2")
    assert window.end is None and window.prior_state is None
    assert window.labels == (("data-classification", "secret"),)
    assert window.create_time == dt.datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value,state", [(1, "PRESENT"), (3, "DOES_NOT_EXIST"), (4, "DELETED"), (0, None),
                                         ("DOES_NOT_EXIST", "DOES_NOT_EXIST"), ("PRIOR_ASSET_STATE_UNSPECIFIED", None),
                                         (True, None), (None, None)])
def test_prior_state_in_string_and_integer_enum_encodings(value, state):
    assert asset_history.prior_state(value) == state


def test_a_deleted_window_and_content_without_resource_data_carry_no_labels():
    deleted = asset_history.window({"window": {"startTime": "2026-09-20T00:00:00Z", "endTime": "9999-12-31T23:59:59Z"},
                                    "deleted": True, "asset": {"name": SQL, "assetType": "sqladmin.googleapis.com/Instance"},
                                    "priorAssetState": 1}, None, "e-3")
    assert deleted.deleted and deleted.labels is None and deleted.end is None  # year 9999: still current
    policy_only = asset_history.window({"window": {"startTime": "2026-09-20T00:00:00Z"},
                                        "asset": {"name": SQL, "iamPolicy": {"bindings": []}}}, None, "e-4")
    assert policy_only.labels is None  # unknown, never "no labels"
    unlabelled = asset_history.window({"window": {"startTime": "2026-09-20T00:00:00Z"},
                                       "asset": {"name": BUCKET, "resource": {"data": {"name": "my-bucket"}}}}, None, "e-5")
    assert unlabelled.labels == ()


@pytest.mark.parametrize("payload", [None, [], {"asset": {"name": SQL}}, {"window": {"startTime": "2026-09-20T00:00:00Z"}},
                                     {"window": {"startTime": "yesterday"}, "asset": {"name": SQL}}])
def test_a_window_without_its_name_or_start_is_not_placed(payload):
    assert asset_history.window(payload, None, "e-6") is None


def _period():
    config = Config.model_validate({"organization": "T", "period": {"quarter": "2026-Q3"}, "gcp": {"projects": ["p"]},
                                    "policy": {"classifications": {"internal": {}}}})
    return Period.from_config(config.period)


def test_asset_windows_fill_a_buckets_label_history_for_their_span_only():
    """A bucket read once (Sep 30) has its labels known only that day; two history windows from Aug 26 (the call's
    window start, the first window older) make Aug 26..Sep 30 known, and Jul 1..Aug 25 stay unknown."""
    as_of = dt.datetime(2026, 9, 30, 6, tzinfo=UTC)
    period = _period()
    older = asset_history.window({**OLDER, "window": {"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-09-05T12:00:00Z"}},
                                 dt.datetime(2026, 8, 26, tzinfo=UTC), "e-7")
    newer = asset_history.window({**OLDER, "window": {"startTime": "2026-09-05T12:00:00Z"},
                                  "asset": {**OLDER["asset"], "resource": {"data": {"labels": {"data-classification": "internal"}}}}},
                                 dt.datetime(2026, 8, 26, tzinfo=UTC), "e-8")
    seen = LabelsSeen(BUCKET, as_of, (("data-classification", "internal"),), "storage buckets.list", ("e-9",))
    days = build_inventory_days(None, [], [], [], [seen], [older, newer], [], build_history([], [], [], [], [], []), as_of)
    states = days.labels(BUCKET).day_states(period.day_stamps, period.days(), as_of.timestamp(),
                                            lambda labels: dict(labels).get("data-classification") == "secret")
    by_iso = {d.isoformat(): s for d, s in states.items()}
    assert {d for d, s in by_iso.items() if s == "unknown"} == {(dt.date(2026, 7, 1) + dt.timedelta(i)).isoformat() for i in range(56)}
    assert by_iso["2026-08-26"] == by_iso["2026-09-05"] == "broken" and by_iso["2026-09-06"] == "kept"


# --- the data map's git history -------------------------------------------------------------------------------

MAP_V1 = "reviewed: 2026-06-01\nstores:\n  - resource: //cloudsql.googleapis.com/projects/p/instances/a\n    classification: internal\n    owner: t\n"
MAP_V2 = MAP_V1 + "  - resource: //cloudsql.googleapis.com/projects/p/instances/b\n    classification: internal\n    owner: t\n"


def _git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-c", "user.name=Owner", "-c", "user.email=o@example.com", *args], cwd=repo, env=env, check=True,
                   capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is installed by .ci/run")
def test_the_version_in_force_each_day_comes_from_the_maps_commits(tmp_path):
    repo = tmp_path / "company-docs"
    (repo / "maps").mkdir(parents=True)
    path = repo / "maps" / "inventory.yaml"
    _git(repo, "init", "-q")
    path.write_text(MAP_V1)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first map", when="2026-06-15T10:00:00+00:00")
    path.write_text(MAP_V2)
    _git(repo, "commit", "-q", "-am", "register b", when="2026-08-20T15:30:00+02:00")  # 13:30 UTC
    history = git_history(path)
    assert history["path"] == "maps/inventory.yaml" and [v["text"] for v in history["versions"]] == [MAP_V2, MAP_V1]

    emitted = []
    body = {"documents": [{"path": str(path), "sha256": "x", "text": MAP_V2}], "git": history}
    inventory.read({"server_date": "2026-09-30T06:00:00Z"}, json.loads(json.dumps(body)), "item-1",
                   lambda fact, item, at=None: emitted.append((fact, item)))
    versions = [item for fact, item in emitted if fact == "inventory_versions"]
    assert sorted(v.basis for v in versions) == ["git", "git", "locker"]
    by_day = MapHistory(versions, None).by_day(_period())
    b = "//cloudsql.googleapis.com/projects/p/instances/b"
    assert by_day[dt.date(2026, 7, 1)].version.commit and by_day[dt.date(2026, 7, 1)].inventory.store(b) is None
    assert by_day[dt.date(2026, 8, 19)].inventory.store(b) is None
    assert by_day[dt.date(2026, 8, 20)].inventory.store(b) is not None  # committed 13:30 UTC: in force at the day's end
    assert by_day[dt.date(2026, 9, 30)].version.basis == "locker"  # the locker's own day: its own read


@pytest.mark.skipif(shutil.which("git") is None, reason="git is installed by .ci/run")
def test_no_repository_or_a_later_history_leaves_the_days_unknown_with_the_reason(tmp_path):
    plain = tmp_path / "inventory.yaml"
    plain.write_text(MAP_V1)
    assert "not in a git repository" in git_history(plain)["problem"]
    repo = tmp_path / "late"
    repo.mkdir()
    (repo / "inventory.yaml").write_text(MAP_V1)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "map", when="2026-11-27T10:00:00+00:00")
    emitted = []
    inventory.read({"server_date": None}, {"documents": [], "git": git_history(repo / "inventory.yaml")}, "item-2",
                   lambda fact, item, at=None: emitted.append(item))
    by_day = MapHistory(emitted, None).by_day(_period())
    assert by_day[dt.date(2026, 9, 1)].version is None and "begins on 2026-11-27" in by_day[dt.date(2026, 9, 1)].reason
    untracked = MapHistory([], "the data map (inventory.yaml) is not in a git repository").by_day(_period())
    assert "not in a git repository" in untracked[dt.date(2026, 7, 1)].reason


@pytest.mark.skipif(shutil.which("git") is None, reason="git is installed by .ci/run")
def test_a_commit_that_deleted_the_map_or_broke_it_is_in_force_as_unknown(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "inventory.yaml").write_text(MAP_V1)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "map", when="2026-06-15T10:00:00+00:00")
    (repo / "inventory.yaml").write_text("reviewed: not-a-date\nstores: []\n")
    _git(repo, "commit", "-q", "-am", "broken", when="2026-07-10T10:00:00+00:00")
    _git(repo, "rm", "-q", "inventory.yaml")
    _git(repo, "commit", "-q", "-m", "gone", when="2026-08-10T10:00:00+00:00")
    (repo / "inventory.yaml").write_text(MAP_V1)  # the working copy the run reads
    emitted = []
    inventory.read({"server_date": None}, {"documents": [], "git": git_history(repo / "inventory.yaml")}, "item-3",
                   lambda fact, item, at=None: emitted.append(item))
    by_day = MapHistory(emitted, None).by_day(_period())
    assert by_day[dt.date(2026, 7, 9)].inventory is not None
    assert by_day[dt.date(2026, 7, 10)].inventory is None and "reviewed" in by_day[dt.date(2026, 7, 10)].reason
    assert by_day[dt.date(2026, 8, 10)].inventory is None and "deleted the data map" in by_day[dt.date(2026, 8, 10)].reason
