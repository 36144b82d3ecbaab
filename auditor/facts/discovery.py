"""The population of data stores, built once with the facts, and what could not be read about it.

Two sources list stores: Cloud Asset Inventory (everything, but Cloud SQL reaches it only every few
hours) and the Admin APIs (instances.list, buckets.list: the details, but only what the identity
may see). Reconciling them is the completeness test: a store one source lists and the other does
not makes the affected controls inconclusive, with both counts (`mismatches`). An instance created
less than ASSET_INDEX_LAG before the evidence's as-of time may be missing from the index without
that counting as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.facts.known import Known, Scoped, Unknown
from auditor.facts.model import SqlInstance
from auditor.facts.stores import BUCKET_TYPE, SQL_TYPE, TYPE_WORDS, Asset, Bucket, InventoryDocument

ASSET_INDEX_LAG = timedelta(hours=7)
#: asset type -> (the fact whose listing shows its details, api, method, words)
LISTINGS = {SQL_TYPE: ("sql_instances", "sqladmin", "instances.list", "Cloud SQL instances"),
            BUCKET_TYPE: ("buckets", "storage", "buckets.list", "Cloud Storage buckets")}


@dataclass
class Store:
    """One data store as every source sees it."""

    resource: str
    asset_type: str
    project: str | None = None
    location: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    create_time: datetime | None = None
    in_assets: bool = False
    in_admin: bool = False
    replica_of: str | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return TYPE_WORDS.get(self.asset_type, self.asset_type)

    @property
    def short(self) -> str:
        return self.resource.rsplit("/", 1)[-1]


def project_in_name(resource: str) -> str | None:
    parts = resource.removeprefix("//").split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "projects" else None


@dataclass(frozen=True)
class Mismatch:
    """A project where the asset index and an Admin API disagree on the population of one store type."""

    project: str
    asset_type: str
    api: str
    method: str
    what: str
    in_assets: tuple[str, ...]
    in_admin: tuple[str, ...]
    not_listed: tuple[str, ...]  # the index lists them, the Admin API did not show them
    not_indexed: tuple[str, ...]  # the Admin API lists them, the index does not (older than the lag)
    young: tuple[str, ...]  # listed by the Admin API only, but too new to be indexed yet
    evidence: tuple[str, ...]


class StoreView:
    """Every store either source listed, keyed by full resource name (Admin API details win); the
    declared data map as stored; and the reads that failed. Frozen once built: checks only read it."""

    def __init__(self, found: dict[str, Store], project_numbers: dict[str, str], asset_scopes: tuple[str, ...],
                 assets: Scoped[Asset], listings: dict[str, Scoped[Any]], inventory_document: InventoryDocument | None,
                 inventory: Any, inventory_problem: str | None, mismatches: tuple[Mismatch, ...]) -> None:
        self.found = found
        self.project_numbers = project_numbers
        self.asset_scopes = asset_scopes
        self._assets = assets
        self._listings = listings
        self.inventory_document = inventory_document
        self.inventory = inventory
        self.inventory_problem = inventory_problem
        self.mismatches = mismatches

    def discovery(self) -> Known | Unknown:
        """Whether every asset search came back whole (Known over all scopes), else the first that did not."""
        calls: list[str] = []
        for scope in self.asset_scopes:
            read = self._assets.at(scope)
            if isinstance(read, Unknown):
                return read
            calls.extend(read.calls)
        return Known(",".join(self.asset_scopes), (), tuple(calls))

    def listing(self, asset_type: str, project: str | None) -> Known | Unknown | None:
        """The Admin API listing that shows this store type's details in a project (None: no such listing)."""
        if asset_type not in self._listings or not project:
            return None
        return self._listings[asset_type].at(f"projects/{project}")

    def listing_gap(self, asset_type: str, project: str | None) -> str | None:
        read = self.listing(asset_type, project)
        return read.describe() if isinstance(read, Unknown) else None

    def kind_unknown(self, store: Store) -> str | None:
        """Why a store's details (replica or not, its settings) are unknown: the index lists it, and the
        Admin API listing that would show it was not read in full. None when they are known."""
        if store.in_admin or store.asset_type not in self._listings:
            return None
        read = self.listing(store.asset_type, store.project)
        return read.describe() if isinstance(read, Unknown) else None

    def project_of(self, asset: Asset) -> str | None:
        return self.project_numbers.get(asset.project_number or "")

    def only(self, asset_type: str) -> "StoreView":
        """The same view narrowed to one store type (what a Cloud SQL control may read)."""
        return StoreView({r: s for r, s in self.found.items() if s.asset_type == asset_type}, self.project_numbers,
                         self.asset_scopes, self._assets, {asset_type: self._listings[asset_type]},
                         self.inventory_document, self.inventory, self.inventory_problem,
                         tuple(m for m in self.mismatches if m.asset_type == asset_type))


def build_stores(assets: Scoped[Asset], asset_list: list[Asset], instances: Scoped[SqlInstance],
                 instance_list: list[SqlInstance], buckets: Scoped[Bucket], bucket_list: list[Bucket],
                 project_numbers: dict[str, str], asset_scopes: tuple[str, ...], projects: tuple[str, ...],
                 inventory: Any, as_of: datetime) -> StoreView:
    """`*_list`: the items of the scopes read in full (an unread listing's stores are not 'found')."""
    stores: dict[str, Store] = {}
    for asset in asset_list:
        store = stores.setdefault(asset.resource, Store(asset.resource, asset.asset_type))
        store.project = project_numbers.get(asset.project_number or "") or project_in_name(asset.resource) or (
            f"project number {asset.project_number}" if asset.project_number else None)
        store.location, store.labels, store.create_time = asset.location, dict(asset.labels), asset.create_time
        store.in_assets = True
        store.evidence += list(asset.evidence)
    for inst in instance_list:
        store = stores.setdefault(inst.resource, Store(inst.resource, SQL_TYPE))
        store.project, store.location, store.labels = inst.project, inst.region, dict(inst.labels)
        store.create_time = inst.create_time or store.create_time
        store.in_admin = True
        store.replica_of = inst.master if inst.is_replica else None
        store.evidence += list(inst.evidence)
    for bucket in bucket_list:
        store = stores.setdefault(bucket.resource, Store(bucket.resource, BUCKET_TYPE))
        store.project, store.location, store.labels = bucket.project, bucket.location, dict(bucket.labels)
        store.create_time = bucket.create_time or store.create_time
        store.in_admin = True
        store.evidence += list(bucket.evidence)
    listings = {SQL_TYPE: instances, BUCKET_TYPE: buckets}
    document, parsed, problem = (inventory.document, inventory.inventory, inventory.problem) if inventory else (None, None, None)
    view = StoreView(stores, project_numbers, asset_scopes, assets, listings, document, parsed, problem, ())
    view.mismatches = _mismatches(view, projects, as_of)
    return view


def _mismatches(view: StoreView, projects: tuple[str, ...], as_of: datetime) -> tuple[Mismatch, ...]:
    if isinstance(view.discovery(), Unknown):
        return ()
    grouped: dict[tuple[str | None, str], list[Store]] = {}
    for store in view.found.values():
        grouped.setdefault((store.project, store.asset_type), []).append(store)
    lag_limit = as_of - ASSET_INDEX_LAG
    out = []
    for project in sorted(projects):
        for asset_type, (_fact, api, method, what) in LISTINGS.items():
            if isinstance(view.listing(asset_type, project), Unknown):
                continue  # the listing failed: the unread-project finding says so
            mine = grouped.get((project, asset_type), [])
            not_listed = sorted(s.short for s in mine if s.in_assets and not s.in_admin)
            lagging = [s for s in mine if s.in_admin and not s.in_assets]
            young = sorted(s.short for s in lagging if s.create_time and s.create_time > lag_limit)
            not_indexed = sorted(s.short for s in lagging if s.short not in young)
            if not (not_listed or not_indexed):
                continue
            out.append(Mismatch(project, asset_type, api, method, what,
                                tuple(sorted(s.short for s in mine if s.in_assets)),
                                tuple(sorted(s.short for s in mine if s.in_admin)), tuple(not_listed),
                                tuple(not_indexed), tuple(young), tuple(e for s in mine for e in s.evidence)))
    return tuple(out)
