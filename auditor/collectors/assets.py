"""Discovery: which data stores exist, from Cloud Asset Inventory, and so which projects to audit.

One `searchAllResources` per configured scope (the organisation if given, else each folder, else
each configured project), paged at 500, for the data-store asset types plus projects (whose
entries map project numbers to project ids). Every project found becomes the scope of the
per-project calls of every collector, queued as follow-ups of the discovery call, so an
organisation-wide audit needs no hand-kept project list.
"""

from __future__ import annotations

from typing import Any, Iterator

from auditor import retry
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
        return [type(r).to_dict(r, preserving_proto_field_name=False)
                for page in guarded_pages(pager, f"cloudasset searchAllResources for {scope}")
                for r in page.results if r.asset_type == PROJECT_TYPE or r.name.startswith(SQL_PREFIX)]

    def follow(results: list[dict[str, Any]]) -> Iterator[Call]:
        from auditor.collectors import project_calls  # the registry imports this module

        for project in sorted(set(project_ids(results).values())):
            yield from project_calls(ctx, project)

    return Call("cloudasset", "searchAllResources", params, scope, search, follow)


def scope_calls(ctx) -> Iterator[Call]:
    for scope in asset_scopes(ctx.config.gcp):
        yield search_call(ctx, scope)
