"""Discovery: which data stores exist, from Cloud Asset Inventory, and so which projects to audit.

One `searchAllResources` per configured scope (the organisation if given, else each folder, else
each configured project), paged at 500, for the data-store asset types plus projects (whose
entries map project numbers to project ids). Every project found becomes the scope of the
per-project calls of every collector, queued as follow-ups of the discovery call, so an
organisation-wide audit needs no hand-kept project list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

from google.cloud import asset_v1

from auditor import retry
from auditor.collectors.logging import parse_time
from auditor.evidence.capture import current_recorder
from auditor.evidence.locker import iso
from auditor.collectors.asset_client import asset_client
from auditor.collectors.paging import guarded_pages
from auditor.facts.projects import SQL_PREFIX, asset_scopes, project_ids
from auditor.scheduler import Call

PAGE_SIZE = 500
DATA_STORE_TYPES = (
    "sqladmin.googleapis.com/Instance",
    "storage.googleapis.com/Bucket",
    "compute.googleapis.com/Disk",
    "bigquery.googleapis.com/Dataset",
    "spanner.googleapis.com/Instance",
    "firestore.googleapis.com/Database",
    "file.googleapis.com/Instance",
)
PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"
ASSET_TYPES = (*DATA_STORE_TYPES, PROJECT_TYPE)


def search_call(ctx, scope: str) -> Call:
    clients = ctx.google
    params = {"scope": scope, "assetTypes": list(ASSET_TYPES), "pageSize": PAGE_SIZE}

    def search() -> list[dict[str, Any]]:
        client = asset_client(clients.credentials, clients.config.endpoints.cloudasset)
        # retry=None: failed requests are retried once, in the capture layer, by the run's policy
        pager = client.search_all_resources(request={"scope": scope, "asset_types": list(ASSET_TYPES), "page_size": PAGE_SIZE},
                                            retry=None, timeout=retry.policy().timeout)
        # walks every page (each stored as it arrives) under the one paging guard, so endless empty
        # pages or a repeated token end the call; only projects and Cloud SQL instances name a project
        # for the follow-ups, so only those are converted from protobuf (slow at 10,000 results)
        # the other data stores by name only (their history is asked for by name: history_calls)
        out = []
        for page in guarded_pages(pager, f"cloudasset searchAllResources for {scope}"):
            for r in page.results:
                if r.asset_type == PROJECT_TYPE or r.name.startswith(SQL_PREFIX):
                    out.append(type(r).to_dict(r, preserving_proto_field_name=False))
                elif r.asset_type in DATA_STORE_TYPES:
                    out.append({"name": r.name, "assetType": r.asset_type, "project": r.project})
        recorder = current_recorder()
        read_at = parse_time(recorder.record.server_date) if recorder is not None else None
        return [{"_read_at": read_at}, *out]

    def follow(results: list[dict[str, Any]]) -> Iterator[Call]:
        from auditor.collectors import project_calls  # the registry imports this module

        read_at = results[0].get("_read_at") if results and "_read_at" in results[0] else None
        results = [r for r in results if "_read_at" not in r]
        numbers = project_ids(results)
        for project in sorted(set(numbers.values())):
            yield from project_calls(ctx, project)
        stores: dict[str, list[str]] = {}
        for r in results:
            number = str(r.get("project") or "").removeprefix("projects/")
            if r.get("assetType") in DATA_STORE_TYPES and numbers.get(number):
                stores.setdefault(numbers[number], []).append(r["name"])
        for project, names in sorted(stores.items()):
            yield from history_calls(ctx, project, sorted(set(names)), read_at)

    return Call("cloudasset", "searchAllResources", params, scope, search, follow)


HISTORY_DAYS = 35  # how far back batchGetAssetsHistory reaches (its readTimeWindow must start after now - 35 days)
HISTORY_MARGIN = timedelta(minutes=30)  # the window's start a little inside that limit: the clocks of two calls differ
HISTORY_BATCH = 100  # asset names per request (the documented maximum)


def history_window(period: Any, read_at: datetime) -> datetime | None:
    """Where the asset history call's window starts: the period's start, or as far back as the index keeps
    history when that is later; None when the whole period is older than that (nothing to ask for)."""
    start = max(period.starts_at, read_at - timedelta(days=HISTORY_DAYS) + HISTORY_MARGIN)
    return start if start < min(period.ends_at, read_at) else None


def history_calls(ctx, project: str, names: list[str], read_at: datetime | None) -> Iterator[Call]:
    """Each store's content over the last 35 days (at most), 100 names a call: the label history the audit
    log leaves unknown (auditor.facts.sources.asset_history)."""
    if read_at is None:
        return
    start = history_window(ctx.period, read_at)
    if start is None:
        return
    clients = ctx.google
    for first in range(0, len(names), HISTORY_BATCH):
        batch = names[first:first + HISTORY_BATCH]
        params = {"parent": f"projects/{project}", "assetNames": batch, "contentType": "RESOURCE",
                  "readTimeWindow": {"startTime": iso(start)}}

        def fetch(batch=batch) -> None:
            client = asset_client(clients.credentials, clients.config.endpoints.cloudasset)
            client.batch_get_assets_history(
                request={"parent": f"projects/{project}", "asset_names": batch, "content_type": asset_v1.ContentType.RESOURCE,
                         "read_time_window": {"start_time": start}},
                retry=None, timeout=retry.policy().timeout)

        yield Call("cloudasset", "batchGetAssetsHistory", params, f"projects/{project}", fetch)


def scope_calls(ctx) -> Iterator[Call]:
    for scope in asset_scopes(ctx.config.gcp):
        yield search_call(ctx, scope)
