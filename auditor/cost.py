"""The design minimum of Google API requests, and the latency bound, as formulas of the organisation's shape.

Pure functions, no I/O. Each source's term (its page cap, what it is counted per, the shape field that
counts its items) is declared with the source (auditor.facts.sources); the formula below is their sum,
and the chains between them. The benchmark prints them beside what a run did; tests/test_scale.py asserts
that a run over a small organisation makes exactly the minimum, per (API, method).

Design minimum (no retries; every page as full as the API allows; pages(n, cap) = max(1, ceil(n / cap)),
since a listing answers at least one page, even an empty one):

    for each asset search scope S (the organisation, else each folder, else each project):
        pages(asset results in S, 500)                         cloudasset searchAllResources
    for each project P (discovered, configured, or the monitoring project):
        pages(instances listed in P, 500)                      sqladmin   instances.list
      + pages(retained backup runs in P, 100)                  sqladmin   backupRuns.list, instance="-"
      + pages(audit entries of P in the period +-1 day, 1000)  logging    entries.list, one filtered query
      + pages(log-based metrics in P, 1000)                    logging    metrics.list
      + pages(alert policies in P, 1000)                       monitoring alertPolicies.list
      + pages(notification channels in P, 1000)                monitoring notificationChannels.list
      + pages(buckets listed in P, 1000)                       storage    buckets.list
      + 1                                                      cloudresourcemanager projects.testIamPermissions
      + pages(retained backups of every kind in P, 2000)       sqladmin   Backups.list
      + pages(vaults, plans, associations, protection summaries, restore verification plans in P, 500 each)
                                                               backupdr   backupVaults/backupPlans/backupPlanAssociations/
                                                                          resourceBackupConfigs/restoreVerificationPlans.list
      + for each vault V listed in P: pages(data sources of V, 500), and for each data source D: pages(backups of D, 500)
                                                               backupdr   dataSources.list, dataSources.backups.list
      + for each primary instance I listed in P:  pages(operations of I back to the horizon, 500)
                                                               sqladmin   operations.list
    for each backup project B named by a plan or an association but not audited: its vaults and plans
    listings, and their data sources and backups, as above
    for each project P whose data stores the asset search found, when the period reaches into the last 35 days:
        ceil(data stores of P / 100)                           cloudasset batchGetAssetsHistory (none for none)
    for each distinct KMS key K named by an instance, a retained run or backup, or a Backup and DR backup:
        2 + pages(versions of K, 1000)                         cloudkms   cryptoKeys.get, cryptoKeys.testIamPermissions,
                                                                          cryptoKeyVersions.list

A project whose API is disabled or denied answers each of its calls with one error page: still one
request, and no follow-ups. The operations horizon is the period's start less the longest
restore-test interval of the policy (older operations cannot count); listings stop at the first
page that reaches back past it. The declared inventory is read from disk (api "inventory"), not
counted here.

Latency bound: with latency L per request, at most `parallelism[api]` requests of one API in
flight, and the pages of one listing (and the calls that follow from a listing) forming chains, no
schedule finishes before

    max( longest chain of dependent pages x L,
         max over APIs a of requests(a) x L / parallelism(a),
         Cloud Logging's quota: (ceil(entries pages of one project / 60) - 1) minutes )

where the longest chain is the asset pages (every per-project call follows discovery) plus the
longest per-project chain (a listing's pages, then a follow-up's pages).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

Method = tuple[str, str]  # (api, method)

def _declared() -> tuple[dict[Method, int], dict[Method, str], dict[str, list[tuple[Method, int, str | None]]]]:
    """The formula's terms, from each source's declared cost (auditor.facts.sources): the page caps, the
    per-project listings with the shape field that counts their items, and the terms per instance and per key."""
    from auditor.facts.sources import cost_terms

    caps: dict[Method, int] = {}
    per_project: dict[Method, str | None] = {}
    per: dict[str, list[tuple[Method, int, str | None]]] = defaultdict(list)
    for source, cost in cost_terms():
        caps[source.key] = cost.page_cap
        if cost.per == "project":  # a term without a shape field is one request per project (testIamPermissions)
            per_project[source.key] = cost.shape
        per[cost.per].append((source.key, cost.page_cap, cost.shape))
    return caps, per_project, dict(per)


#: Largest page each listing serves; the listings made once per project, with the shape field that counts their
#: items; every term by what it is counted per (project, instance, key, search-scope).
PAGE_CAPS, PER_PROJECT, TERMS = _declared()
#: A backup project (named by a plan or an association, not audited): its vaults, plans and operations only.
BACKUP_PROJECT: frozenset = frozenset({("backupdr", "backupVaults.list"), ("backupdr", "backupPlans.list"),
                                      ("backupdr", "operations.list")})
LOGGING_READS_PER_MINUTE = 60
#: each key's own Admin Activity query (auditor.collectors.kms.key_history_call), besides the per-project one
KEY_HISTORY: Method = ("logging", "entries.list")


def pages(items: int, cap: int) -> int:
    return max(1, math.ceil(items / cap))


@dataclass(frozen=True)
class ProjectShape:
    """What one project holds, as its listings show it to the auditing identity."""

    project: str
    instances: int = 0  # listed by instances.list (primaries and replicas)
    backup_runs: int = 0  # retained runs, all instances
    audit_entries: int = 0  # entries the collector's query matches
    log_metrics: int = 0
    alert_policies: int = 0
    notification_channels: int = 0
    buckets: int = 0  # listed by buckets.list
    operations: tuple[int, ...] = ()  # per primary instance: operations back to the horizon (+1 past it, if any)
    sql_backups: int = 0  # Backups.list: retained backups of every kind
    bdr_vaults: int = 0
    bdr_plans: int = 0
    bdr_associations: int = 0
    bdr_summaries: int = 0  # resourceBackupConfigs
    bdr_verification_plans: int = 0
    bdr_operations: int = 0  # operations.list: the vaults' restore operations
    bdr_sources: tuple[int, ...] = ()  # per vault listed: its data sources
    bdr_backups: tuple[int, ...] = ()  # per data source of those vaults: its backups
    asset_history_names: int = 0  # data stores the asset search found in P, when the period reaches into the last 35 days
    unreadable: frozenset[Method] = frozenset()  # calls answered with an error: one request, no follow-ups
    only: frozenset[Method] | None = None  # the per-project listings made (None: all; the monitoring project: 3)


@dataclass(frozen=True)
class OrgShape:
    projects: tuple[ProjectShape, ...]
    asset_results: tuple[int, ...] = ()  # per search scope: results returned
    key_versions: tuple[int, ...] = ()  # per distinct KMS key named by instances or runs: its versions
    key_project: tuple[str, ...] = ()  # per key (same order): the project whose listings named it first
    key_entries: tuple[int, ...] = ()  # per key (same order): entries its own history query matches (default none)


@dataclass(frozen=True)
class Minimum:
    by_method: dict[Method, int]
    longest_chain: int
    logging_quota_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def by_api(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for (api, _method), n in self.by_method.items():
            out[api] += n
        return dict(sorted(out.items()))


def _project(shape: ProjectShape, by_method: dict[Method, int]) -> int:
    """Add one project's requests; return its longest chain of dependent pages."""
    chains = []
    for method, attr in PER_PROJECT.items():
        if shape.only is not None and method not in shape.only:
            continue
        n = 1 if method in shape.unreadable or attr is None else pages(getattr(shape, attr), PAGE_CAPS[method])
        by_method[method] += n
        chains.append(n)
    if ("backupdr", "backupVaults.list") not in shape.unreadable and (shape.only is None or ("backupdr", "backupVaults.list") in shape.only):
        source_pages = [pages(n, PAGE_CAPS[("backupdr", "dataSources.list")]) for n in shape.bdr_sources]
        backup_pages = [pages(n, PAGE_CAPS[("backupdr", "dataSources.backups.list")]) for n in shape.bdr_backups]
        if source_pages:
            by_method[("backupdr", "dataSources.list")] += sum(source_pages)
            chains.append(pages(shape.bdr_vaults, PAGE_CAPS[("backupdr", "backupVaults.list")]) + max(source_pages)
                          + max(backup_pages, default=0))
        if backup_pages:
            by_method[("backupdr", "dataSources.backups.list")] += sum(backup_pages)
    if shape.only is not None:
        return max(chains, default=0)
    if ("sqladmin", "instances.list") not in shape.unreadable and shape.operations:
        for method, cap, _field in TERMS.get("instance", ()):  # per primary the listing found (operations.list)
            op_pages = [pages(n, cap) for n in shape.operations]
            by_method[method] += sum(op_pages)
            chains.append(pages(shape.instances, PAGE_CAPS[("sqladmin", "instances.list")]) + max(op_pages))
    return max(chains)


def design_minimum(shape: OrgShape) -> Minimum:
    by_method: dict[Method, int] = defaultdict(int)
    asset_pages = [pages(n, PAGE_CAPS[("cloudasset", "searchAllResources")]) for n in shape.asset_results]
    if asset_pages:
        by_method[("cloudasset", "searchAllResources")] = sum(asset_pages)
    project_chain = 0
    listing_pages: dict[str, int] = {}
    for project in shape.projects:
        project_chain = max(project_chain, _project(project, by_method))
        listing_pages[project.project] = max(pages(project.instances, PAGE_CAPS[("sqladmin", "instances.list")]),
                                             pages(project.backup_runs, PAGE_CAPS[("sqladmin", "backupRuns.list")]))
    for index, versions in enumerate(shape.key_versions):
        key_pages = 0
        for method, cap, field_name in TERMS.get("key", ()):  # cryptoKeys.get (one page), cryptoKeyVersions.list
            n = pages(versions if field_name else 1, cap)
            by_method[method] += n
            key_pages = max(key_pages, n)
        history = pages(shape.key_entries[index] if index < len(shape.key_entries) else 0, PAGE_CAPS[KEY_HISTORY])
        by_method[KEY_HISTORY] += history
        key_pages = max(key_pages, history)
        named_in = shape.key_project[index] if index < len(shape.key_project) else ""
        project_chain = max(project_chain, listing_pages.get(named_in, 1) + key_pages)  # the listing, then the key
    for method, cap, field_name in TERMS.get("asset-history", ()):  # batchGetAssetsHistory: 100 names a call, none for none
        for project in shape.projects:
            names = getattr(project, field_name or "", 0)
            if names:
                by_method[method] += math.ceil(names / cap)
    entries = [pages(p.audit_entries, PAGE_CAPS[("logging", "entries.list")]) for p in shape.projects]
    quota = (math.ceil(max(entries, default=0) / LOGGING_READS_PER_MINUTE) - 1) * 60.0 if entries else 0.0
    return Minimum(dict(by_method), max(asset_pages, default=0) + project_chain, max(0.0, quota))


def latency_bound(requests_by_api: Mapping[str, int], minimum: Minimum, parallelism: Mapping[str, int],
                  latency: float) -> float:
    """The shortest possible collection time, in seconds, for these requests at this latency.

    `parallelism` maps an API to its concurrent requests (`default` for the others); GitHub is
    always counted serially, as GitHub asks of one token.
    """
    def workers(api: str) -> int:
        return 1 if api == "github" else max(1, parallelism.get(api, parallelism.get("default", 1)))

    per_api = [n * latency / workers(api) for api, n in requests_by_api.items()]
    return max([minimum.longest_chain * latency, minimum.logging_quota_seconds, *per_api])


def requests_by_method(calls: Iterable[Mapping[str, Any]], apis: Iterable[str] | None = None) -> dict[Method, int]:
    """HTTP requests per (api, method) in a locker's call records (the apis given, or every one)."""
    wanted = None if apis is None else set(apis)
    out: dict[Method, int] = defaultdict(int)
    for call in calls:
        if wanted is None or call["api"] in wanted:
            out[(call["api"], call["method"])] += call["requests"]
    return dict(out)


GOOGLE_APIS = ("cloudasset", "sqladmin", "logging", "monitoring", "storage", "cloudkms", "backupdr", "cloudresourcemanager")


@dataclass
class Tally:
    """Requests made against the minimum, for printing."""

    made: dict[Method, int]
    minimum: Minimum
    extra: dict[Method, int] = field(init=False)

    def __post_init__(self) -> None:
        keys = set(self.made) | set(self.minimum.by_method)
        self.extra = {k: self.made.get(k, 0) - self.minimum.by_method.get(k, 0) for k in sorted(keys)
                      if self.made.get(k, 0) != self.minimum.by_method.get(k, 0)}

    @property
    def ratio(self) -> float:
        return sum(self.made.values()) / self.minimum.total if self.minimum.total else float("inf")
