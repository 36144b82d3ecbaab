"""The population of data stores, shared by the inventory and backup checks.

Two sources list stores: Cloud Asset Inventory (everything, but Cloud SQL reaches it only every few
hours) and the Admin APIs (instances.list, buckets.list: the details, but only what the identity
may see). Reconciling them is the completeness test: a store one source lists and the other does
not makes the affected controls inconclusive, with both counts. An instance created less than
ASSET_INDEX_LAG before the evidence's as-of time may be missing from the index without that
counting as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator

from auditor.checks_api import CheckContext
from auditor.facts.model import Facts, project_resource
from auditor.facts.projects import asset_scopes
from auditor.facts.stores import BUCKET_TYPE, SQL_TYPE, TYPE_WORDS, type_of
from auditor.results import INCONCLUSIVE, Finding

ASSET_INDEX_LAG = timedelta(hours=7)
LISTINGS = {SQL_TYPE: ("sqladmin", "instances.list", "Cloud SQL instances"),
            BUCKET_TYPE: ("storage", "buckets.list", "Cloud Storage buckets")}


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


def found_stores(facts: Facts) -> dict[str, Store]:
    """Every store either source listed, keyed by full resource name (Admin API details win).

    Built once per Facts (every check asks; with thousands of stores that is seconds): the Stores are
    shared, so checks read them and never change them."""
    key = (id(facts.stores.assets), len(facts.stores.assets), id(facts.sql_instances), len(facts.sql_instances),
           id(facts.stores.buckets), len(facts.stores.buckets))
    cached = facts.__dict__.get("_found_stores")
    if cached is not None and cached[0] == key:
        return cached[1]
    stores = _found_stores(facts)
    facts.__dict__["_found_stores"] = (key, stores)
    return stores


def _found_stores(facts: Facts) -> dict[str, Store]:
    stores: dict[str, Store] = {}
    for asset in facts.stores.assets:
        store = stores.setdefault(asset.resource, Store(asset.resource, asset.asset_type))
        store.project = facts.stores.project_of(asset) or project_in_name(asset.resource) or (
            f"project number {asset.project_number}" if asset.project_number else None)
        store.location, store.labels, store.create_time = asset.location, dict(asset.labels), asset.create_time
        store.in_assets = True
        store.evidence += list(asset.evidence)
    for inst in facts.sql_instances:
        if inst.state == "DELETED":  # known only from its FINAL backup (auditor.facts.read_backups): not a live store
            continue
        store = stores.setdefault(inst.resource, Store(inst.resource, SQL_TYPE))
        store.project, store.location, store.labels = inst.project, inst.region, dict(inst.labels)
        store.create_time = inst.create_time or store.create_time
        store.in_admin = True
        store.replica_of = inst.master if inst.is_replica else None
        store.evidence += list(inst.evidence)
    for bucket in facts.stores.buckets:
        store = stores.setdefault(bucket.resource, Store(bucket.resource, BUCKET_TYPE))
        store.project, store.location, store.labels = bucket.project, bucket.location, dict(bucket.labels)
        store.create_time = bucket.create_time or store.create_time
        store.in_admin = True
        store.evidence += list(bucket.evidence)
    return stores


def discovery_read(facts: Facts, ctx: CheckContext) -> tuple[bool, str]:
    """(every asset search came back whole, why not)."""
    for scope in asset_scopes(ctx.config.gcp):
        if not facts.coverage.was_read("cloudasset", "searchAllResources", scope):
            gap = facts.coverage.gap("cloudasset", scope, "searchAllResources")
            return False, gap.describe() if gap else f"cloudasset searchAllResources for {scope} was not collected"
    return True, ""


def listing_gap(facts: Facts, asset_type: str, project: str | None) -> str | None:
    """Why the Admin API listing for this store's type and project is missing, or None when it was read."""
    if asset_type not in LISTINGS or not project:
        return None
    api, method, _what = LISTINGS[asset_type]
    scope = f"projects/{project}"
    if facts.coverage.was_read(api, method, scope):
        return None
    gap = facts.coverage.gap(api, scope, method)
    return gap.describe() if gap else f"{api} {method} for {scope} was not collected"


def population_findings(facts: Facts, ctx: CheckContext, check: str) -> Iterator[Finding]:
    """An inconclusive finding per project where the asset index and an Admin API disagree on the population."""
    read, _why = discovery_read(facts, ctx)
    if not read:
        return
    stores = found_stores(facts)
    grouped: dict[tuple[str | None, str], list[Store]] = {}
    for store in stores.values():
        grouped.setdefault((store.project, store.asset_type), []).append(store)
    lag_limit = ctx.as_of - ASSET_INDEX_LAG
    for project in sorted(facts.projects):
        for asset_type, (api, method, what) in LISTINGS.items():
            if listing_gap(facts, asset_type, project):
                continue  # the listing failed: the unread-project finding says so
            mine = grouped.get((project, asset_type), [])
            in_assets = sorted(s.short for s in mine if s.in_assets)
            in_admin = sorted(s.short for s in mine if s.in_admin)
            not_listed = sorted(s.short for s in mine if s.in_assets and not s.in_admin)
            lagging = [s for s in mine if s.in_admin and not s.in_assets]
            young = sorted(s.short for s in lagging if s.create_time and s.create_time > lag_limit)
            not_indexed = sorted(s.short for s in lagging if s.short not in young)
            if not (not_listed or not_indexed):
                continue
            parts = []
            if not_listed:
                parts.append(f"the asset inventory lists {', '.join(not_listed)} but {api} {method} did not show "
                             f"{'it' if len(not_listed) == 1 else 'them'} to the auditing identity")
            if not_indexed:
                parts.append(f"{api} {method} lists {', '.join(not_indexed)}, missing from the asset inventory")
            note = (f" ({', '.join(young)} created less than {ASSET_INDEX_LAG.total_seconds() / 3600:g} hours before "
                    "the evidence date, so not yet expected in the asset index)") if young else ""
            yield Finding(
                check=check, resource=project_resource(project), rule=f"population-{api}", status=INCONCLUSIVE,
                message=(f"Project {project}: the {what} could not be reconciled: the asset inventory counts {len(in_assets)}, "
                         f"{api} {method} counts {len(in_admin)}; " + "; ".join(parts) + f"{note}. Controls over this "
                         "population cannot be concluded until both sources agree (check the identity's permissions)."),
                observed={"asset_inventory_count": len(in_assets), "admin_api_count": len(in_admin),
                          "missing_from_admin_api": not_listed, "missing_from_asset_inventory": not_indexed,
                          "recently_created": young},
                expected={"counts_equal": True},
                evidence=[e for s in mine for e in s.evidence],
            )


def declared_type(resource: str) -> str:
    return type_of(resource) or "unknown"
