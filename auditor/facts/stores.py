"""Facts about data stores beyond Cloud SQL: what the asset index lists, bucket settings, the declared map."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

SQL_TYPE = "sqladmin.googleapis.com/Instance"
BUCKET_TYPE = "storage.googleapis.com/Bucket"
TYPE_WORDS = {
    SQL_TYPE: "Cloud SQL instance",
    BUCKET_TYPE: "Cloud Storage bucket",
    "compute.googleapis.com/Disk": "Compute Engine disk",
    "bigquery.googleapis.com/Dataset": "BigQuery dataset",
    "spanner.googleapis.com/Instance": "Spanner instance",
    "firestore.googleapis.com/Database": "Firestore database",
    "file.googleapis.com/Instance": "Filestore instance",
}
SERVICE_TYPES = {  # full-resource-name host -> asset type, for declared stores the index has not listed
    "cloudsql.googleapis.com": SQL_TYPE, "storage.googleapis.com": BUCKET_TYPE,
    "compute.googleapis.com": "compute.googleapis.com/Disk", "bigquery.googleapis.com": "bigquery.googleapis.com/Dataset",
    "spanner.googleapis.com": "spanner.googleapis.com/Instance", "firestore.googleapis.com": "firestore.googleapis.com/Database",
    "file.googleapis.com": "file.googleapis.com/Instance",
}


def type_of(resource: str) -> str | None:
    """The asset type a full resource name belongs to, from its service host."""
    host = resource.removeprefix("//").split("/", 1)[0]
    return SERVICE_TYPES.get(host)


def bucket_resource(name: str) -> str:
    return f"//storage.googleapis.com/{name}"


@dataclass(frozen=True)
class Asset:
    """One resource as Cloud Asset Inventory's search lists it."""

    resource: str  # full resource name
    asset_type: str
    project_number: str | None
    location: str | None
    labels: dict[str, str]
    create_time: datetime | None
    scope: str  # the search scope that listed it
    evidence: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return TYPE_WORDS.get(self.asset_type, self.asset_type)


@dataclass(frozen=True)
class LifecycleDelete:
    age_days: int | None
    conditions: dict[str, Any]


@dataclass(frozen=True)
class Bucket:
    resource: str
    name: str
    project: str  # the project id whose listing returned it
    project_number: str | None
    location: str | None  # lowercase
    location_type: str | None
    data_locations: tuple[str, ...]
    kms_key: str | None
    retention_seconds: int | None
    retention_locked: bool | None
    retention_effective: datetime | None
    soft_delete_seconds: int | None
    versioning: bool
    lifecycle_deletes: tuple[LifecycleDelete, ...]
    labels: dict[str, str]
    create_time: datetime | None
    evidence: tuple[str, ...] = ()
    observed_at: datetime | None = None  # when this read was made (the call's server Date): bucket history

    @property
    def retention_days(self) -> float | None:
        return None if self.retention_seconds is None else self.retention_seconds / 86400


@dataclass(frozen=True)
class BucketAccess:
    """What the auditing identity may do on a bucket (buckets.testIamPermissions)."""

    bucket: str
    asked: tuple[str, ...]
    granted: tuple[str, ...]
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class InventoryDocument:
    """The declared inventory as stored in the locker (text, path, SHA-256)."""

    path: str
    sha256: str
    text: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class InventoryRead:
    """One reading of the stored data map: the document, what it parses to, or why it does not."""

    document: InventoryDocument | None
    inventory: Any  # auditor.inventory.DeclaredInventory | None
    problem: str | None
    history_problem: str | None = None  # why the map's past versions could not be read (no git repository ...)


@dataclass(frozen=True)
class LabelsSeen:
    """A store's labels as one read showed them at a moment (a bucket listing, an asset search): the
    label history of stores whose changes no audit log this tool reads records."""

    resource: str
    time: datetime
    labels: tuple[tuple[str, str], ...]
    source: str  # storage buckets.list | cloudasset searchAllResources
    evidence: tuple[str, ...] = ()
    scope: str | None = None  # the listing's call scope (projects/P, a search scope); None: not a listing (inv3)


@dataclass(frozen=True)
class StoreListing:
    """One listing of stores read in full (every page, no error) at a moment (inv3, issue 13): a store an earlier read
    of the same source and scope showed, and this one does not, no longer existed then. A failed, partial or denied
    listing records none, so it proves nothing. `asset_types`: the types the call asked for (None: the source lists
    one type only, `storage buckets.list`'s buckets)."""

    source: str  # storage buckets.list | cloudasset searchAllResources (LabelsSeen.source's words)
    scope: str
    time: datetime
    asset_types: tuple[str, ...] | None = None

    def covers(self, asset_type: str | None) -> bool:
        return self.asset_types is None or (asset_type is not None and asset_type in self.asset_types)


@dataclass(frozen=True)
class AssetWindow:
    """One Cloud Asset Inventory TemporalAsset: the asset held one content (or did not exist, `deleted`)
    throughout [start, end); `end` None: up to the read. Only the last 35 days are kept by the index."""

    resource: str
    asset_type: str | None
    start: datetime
    end: datetime | None
    deleted: bool
    labels: tuple[tuple[str, str], ...] | None  # None: the content carries no readable labels
    create_time: datetime | None
    prior_state: str | None  # PRESENT | INVALID | DOES_NOT_EXIST | DELETED (None: not stated)
    read_from: datetime | None  # the window the call asked for starts here: nothing before it is claimed
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapVersion:
    """One version of the declared data map and when it is known to have been in force: read by a
    locker at `time` (basis "locker"), or committed at `time` in the map's git repository (basis "git",
    in force from then until the next commit)."""

    time: datetime
    basis: str  # locker | git
    inventory: Any  # auditor.inventory.DeclaredInventory | None (did not parse: `problem`)
    problem: str | None
    sha256: str
    commit: str | None = None
    evidence: tuple[str, ...] = ()
