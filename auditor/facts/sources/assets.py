"""Cloud Asset Inventory searchAllResources over the organisation (else each folder, else each project).

Lists every store (Cloud SQL reaches it only every few hours), and maps project numbers to ids:
the one place that mapping is made (auditor.facts.projects).
"""

from __future__ import annotations

from typing import Any

from auditor.facts.access import get, items, string_map, text, timestamp
from auditor.facts.projects import PROJECT_TYPE, project_ids
from auditor.facts.declare import Cost, Fact, Source, same_scope
from auditor.facts.stores import Asset, LabelsSeen, StoreListing
from auditor.locations import normalise


def asset(data: dict[str, Any], scope: str, evidence: str) -> Asset | None:
    name, asset_type = text(data, "name"), text(data, "assetType")
    if not name or not asset_type:
        return None
    project = text(data, "project") or ""
    return Asset(
        resource=name, asset_type=asset_type,
        project_number=project.removeprefix("projects/") if project.startswith("projects/") else None,
        location=normalise(text(data, "location")), labels=string_map(get(data, "labels")),
        create_time=timestamp(get(data, "createTime")), scope=scope, evidence=(evidence,),
    )


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    results = items(body, "results") or []
    for number, ident in project_ids(results).items():
        emit("project_numbers", (number, ident))
    seen_at = timestamp(call.get("server_date"))
    for data in results:
        found = asset(data, call["scope"], item_id)
        if found and found.asset_type != PROJECT_TYPE:
            emit("assets", found)
            if seen_at:
                emit("label_observations", LabelsSeen(found.resource, seen_at, tuple(sorted(found.labels.items())),
                                                      "cloudasset searchAllResources", (item_id,), call["scope"]))


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    """A complete search at a time, with the asset types it asked for (inv3): a store an earlier search of the scope
    listed and this one does not is gone (auditor.facts.inventory_days). A call that names no types proves nothing."""
    moment = timestamp(call.get("server_date"))
    types = (call.get("params") or {}).get("assetTypes")
    if moment and isinstance(types, list) and types:
        emit("asset_listings", StoreListing("cloudasset searchAllResources", call["scope"], moment,
                                            tuple(sorted(str(t) for t in types))))


def _by_resource(values: list[Asset]) -> list[Asset]:
    return list({a.resource: a for a in values}.values())


def _every_seen(values: list[LabelsSeen]) -> list[LabelsSeen]:
    """Merging lockers: every read kept (one per store, source and moment), oldest first."""
    return sorted({(v.resource, v.source, v.scope, v.time): v for v in values}.values(), key=lambda v: (v.resource, v.time))


FACTS = (
    Fact("label_observations", "search-scope", key=lambda v: v.resource, scope_of=same_scope, dedupe=_every_seen,
         doc="each store's labels as each bucket listing or asset search read them, with the moment"),
    Fact("assets", "search-scope", key=lambda a: a.resource, scope_of=same_scope, dedupe=_by_resource,
         item_scope=lambda a: a.scope,
         doc="every resource the asset index lists in a search scope"),
    Fact("project_numbers", "search-scope", key=lambda pair: pair[0], scope_of=same_scope,
         doc="(project number, project id) pairs the asset index shows"),
    Fact("asset_listings", "search-scope", key=lambda listing: listing.scope, scope_of=same_scope,
         doc="each complete search of a scope, with its time and asset types (inv3: a store absent from a later one is gone)"),
)
SOURCES = (
    Source("cloudasset", "searchAllResources", "search-scope", fills=("assets", "project_numbers", "label_observations", "asset_listings"),
           permissions=("cloudasset.assets.searchAllResources",), field="results", read=read, on_complete=on_complete,
           cost=Cost(page_cap=500, per="search-scope", shape="asset_results")),
)
