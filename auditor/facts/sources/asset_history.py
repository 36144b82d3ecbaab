"""Cloud Asset Inventory assets.batchGetAssetsHistory: each store's content over the last 35 days.

GET v1/{parent}:batchGetAssetsHistory (parent: a project or an organisation) with up to 100
`assetNames`, `contentType` RESOURCE and a `readTimeWindow` whose start may lie at most 35 days
back. The answer is `assets[]` of TemporalAsset: `window {startTime, endTime}` (endTime absent or
far in the future for the current content), `deleted`, `asset` (its `resource.data` is the
service's own representation: Cloud SQL labels in `settings.userLabels`, a bucket's in `labels`),
`priorAssetState` (PRESENT, INVALID, DOES_NOT_EXIST, DELETED; integers under `enum-encoding=int`)
and `priorAsset`.

Each window is one content held throughout it: the label history fills the days the audit log
leaves unknown (a change logged without its body; a bucket, whose changes this tool does not read
from the log), for the last 35 days only. Before the window the call asked for, nothing is claimed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from auditor.facts.access import get, items, text, timestamp
from auditor.facts.declare import Cost, Fact, Source, same_scope
from auditor.facts.stores import AssetWindow

PRIOR_STATES = {0: None, 1: "PRESENT", 2: "INVALID", 3: "DOES_NOT_EXIST", 4: "DELETED"}
#: an endTime this far ahead is the API's "still current" (protobuf's largest timestamp is 9999-12-31)
_OPEN_END = datetime(9000, 1, 1, tzinfo=timezone.utc)


def prior_state(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return PRIOR_STATES.get(value)
    if isinstance(value, str) and value and value != "PRIOR_ASSET_STATE_UNSPECIFIED":
        return value
    return None


def asset_labels(asset: Any) -> tuple[tuple[str, str], ...] | None:
    """The labels in a history entry's resource content: Cloud SQL keeps them in settings.userLabels,
    the other services in a top-level `labels`. No resource content at all: None (unknown); content
    without the map: no labels."""
    data = get(asset, "resource", "data")
    if not isinstance(data, dict):
        return None
    found = get(data, "settings", "userLabels") if text(asset, "assetType") == "sqladmin.googleapis.com/Instance" else None
    if found is None:
        found = data.get("labels")
    if found is None:
        return ()
    if not isinstance(found, dict):
        return None
    return tuple(sorted((str(k), v) for k, v in found.items() if isinstance(v, str)))


def window(data: Any, read_from: datetime | None, evidence: str) -> AssetWindow | None:
    if not isinstance(data, dict):
        return None
    asset = data.get("asset") if isinstance(data.get("asset"), dict) else {}
    name = text(asset, "name")
    start = timestamp(get(data, "window", "startTime"))
    if not name or start is None:
        return None  # a window that says neither what nor from when cannot be placed
    end = timestamp(get(data, "window", "endTime"))
    if end is not None and end >= _OPEN_END:
        end = None
    deleted = data.get("deleted") is True
    content = get(asset, "resource", "data")
    created = timestamp(get(content, "createTime")) or timestamp(get(content, "timeCreated"))
    return AssetWindow(name, text(asset, "assetType"), start, end, deleted, None if deleted else asset_labels(asset),
                       created, prior_state(data.get("priorAssetState")), read_from, (evidence,))


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    params = call.get("params") or {}
    read_from = timestamp(get(params, "readTimeWindow", "startTime")) or timestamp(params.get("readTimeWindow.startTime"))
    read_at = timestamp(call.get("server_date"))
    for data in items(body, "assets") or []:
        found = window(data, read_from, item_id)
        if found and found.end is None and not found.deleted and read_at is not None:
            # inv3: the current content held up to this read, not up to a later locker's (merged lockers' as_of)
            found = replace(found, end=read_at)
        if found:
            emit("asset_history", found)


def _windows(values: list[AssetWindow]) -> list[AssetWindow]:
    """Merging lockers: each locker's view of a window is kept (inv3). Each is cut at its own call's start
    (`read_from`) and ends at its own read, so the Jul 8 .. Aug 12 a first locker read and the Aug 26 .. Sep 30 a
    later one read of the same window both count (keyed on the window's start alone, only the newest was kept)."""
    return sorted({(w.resource, w.start, w.deleted, w.read_from): w for w in values}.values(),
                  key=lambda w: (w.resource, w.start, w.read_from or w.start))


FACTS = (Fact("asset_history", "project", key=lambda w: w.resource, scope_of=same_scope, dedupe=_windows,
              doc="each store's content windows over the last 35 days (Cloud Asset Inventory history)"),)
SOURCES = (
    # permission: the RESOURCE content of an export (the history call reads the same content) [inferred from the docs]
    Source("cloudasset", "batchGetAssetsHistory", "project", fills=("asset_history",),
           permissions=("cloudasset.assets.exportResource",), field="assets", read=read,
           cost=Cost(page_cap=100, per="asset-history", shape="asset_history_names")),
)
