"""Google Cloud Backup and DR (backupdr v1, the official discovery client): read-only listings per project.

Per configured project, over every location at once (`locations/-`, documented for these lists):
backup vaults, backup plans, backup plan associations, the protection summary
(resourceBackupConfigs), restore verification plans, and the long-running operations (restores of
the vaults' backups; `returnPartialSuccess`, so a location not read comes back in `unreachable[]`). Each vault's data sources, and each data
source's backups, follow as their own calls. Vaults often live in a separate backup project: the
projects that plans, associations and data sources name are listed too (vaults and plans there),
so a vault outside `gcp.projects` is still read; a project that cannot be read leaves the findings
that depend on it inconclusive, naming it.

A list that answers with `unreachable[]` locations is partial: its pages are kept and the locker
records the call as `partial` (auditor.evidence.partial), so nothing it would have shown can pass.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from auditor.collectors import kms
from auditor.collectors.paging import PageGuard
from auditor.facts.read_backupdr import named_projects
from auditor.scheduler import Call

API = "backupdr"
PAGE_SIZE = 500
ALL = "-"


def drain_list(collection: Any, request: Any, what: str, items: str, pick: Callable[[dict], list] | None = None,
               next_name: str = "list_next") -> list:
    """Every page of a listing (bounded by PageGuard), keeping only what `pick` returns."""
    guard = PageGuard(what)
    picked: list = []
    while request is not None:
        response = request.execute()
        token = guard.next_token(response)  # raises on a body that is not a JSON object
        if pick is not None:
            for item in response.get(items) or []:
                if isinstance(item, dict):
                    picked.extend(pick(item))
        if token is None:
            break
        request = getattr(collection, next_name)(request, response)
    # An answer naming unreachable locations is partial: the locker marks the call so (auditor.evidence.partial).
    return picked


def _named(item: dict) -> list[str]:
    return sorted(named_projects(item.get("name"), item.get("backupVault"), item.get("backupPlan"), item.get("dataSource")))


def project_calls(ctx, project: str) -> Iterator[Call]:
    yield from _project_calls(ctx, project, workload=True)


def _project_calls(ctx, project: str, workload: bool) -> Iterator[Call]:
    """A workload project gets every listing; a backup project (named by a plan or an association) its
    vaults and plans, which is where the backups of the workloads are."""
    clients = ctx.google
    parent = f"projects/{project}/locations/{ALL}"
    scope = f"projects/{project}"

    def collection(path: str) -> Any:
        return clients.collection(API, f"projects.locations.{path}")

    def list_vaults() -> list[str]:
        vaults = collection("backupVaults")
        return drain_list(vaults, vaults.list(parent=parent, pageSize=PAGE_SIZE), f"backupdr backupVaults.list for {scope}",
                          "backupVaults", lambda v: [v["name"]] if isinstance(v.get("name"), str) else [])

    def after_vaults(names: list[str]) -> Iterator[Call]:
        for name in names:
            yield from _vault_calls(ctx, name)

    def lister(path: str, items: str) -> Callable[[], list[str]]:
        def run() -> list[str]:
            found = collection(path)
            return drain_list(found, found.list(parent=parent, pageSize=PAGE_SIZE), f"backupdr {path}.list for {scope}", items, _named)
        return run

    def after_named(projects: list[str]) -> Iterator[Call]:
        for other in dict.fromkeys(projects):
            if other != project and other not in ctx.config.gcp.projects:
                yield from _project_calls(ctx, other, workload=False)

    def list_operations() -> list:
        found = collection("operations")
        return drain_list(found, found.list(name=parent, pageSize=PAGE_SIZE, returnPartialSuccess=True),
                          f"backupdr operations.list for {scope}", "operations")

    yield Call(API, "backupVaults.list", {"parent": parent}, scope, list_vaults, after_vaults)
    yield Call(API, "backupPlans.list", {"parent": parent}, scope, lister("backupPlans", "backupPlans"), after_named)
    # restores from the project's vaults are its long-running operations (verb "restore"): restore tests
    yield Call(API, "operations.list", {"name": parent, "returnPartialSuccess": True}, scope, list_operations)
    if not workload:
        return
    yield Call(API, "backupPlanAssociations.list", {"parent": parent}, scope,
               lister("backupPlanAssociations", "backupPlanAssociations"), after_named)
    yield Call(API, "resourceBackupConfigs.list", {"parent": parent}, scope, lister("resourceBackupConfigs", "resourceBackupConfigs"))
    yield Call(API, "restoreVerificationPlans.list", {"parent": parent}, scope,
               lister("restoreVerificationPlans", "restoreVerificationPlans"))


def _vault_calls(ctx, vault: str) -> Iterator[Call]:
    clients = ctx.google

    def list_sources() -> list[str]:
        sources = clients.collection(API, "projects.locations.backupVaults.dataSources")
        return drain_list(sources, sources.list(parent=vault, pageSize=PAGE_SIZE), f"backupdr dataSources.list for {vault}",
                          "dataSources", lambda d: [d["name"]] if isinstance(d.get("name"), str) else [])

    def after_sources(names: list[str]) -> Iterator[Call]:
        for name in names:
            yield Call(API, "dataSources.backups.list", {"parent": name}, name, _backups_lister(ctx, name), _key_calls(ctx))

    yield Call(API, "dataSources.list", {"parent": vault}, vault, list_sources, after_sources)


def _backup_keys(item: dict) -> list[str]:
    """The Cloud KMS keys behind a backup (its key versions name them), so their state is read too."""
    return [kms.key_name(v) for v in item.get("kmsKeyVersions") or [] if isinstance(v, str) and v]


def _key_calls(ctx) -> Callable[[list[str]], Iterator[Call]]:
    def follow(keys: list[str]) -> Iterator[Call]:
        for key in dict.fromkeys(keys):
            yield from kms.key_calls(ctx, key)
    return follow


def _backups_lister(ctx, source: str) -> Callable[[], list]:
    def run() -> list:
        backups = ctx.google.collection(API, "projects.locations.backupVaults.dataSources.backups")
        return drain_list(backups, backups.list(parent=source, pageSize=PAGE_SIZE), f"backupdr dataSources.backups.list for {source}",
                          "backups", _backup_keys)
    return run
