"""Cloud SQL Admin: instances, retained backup runs and retained backups (every kind), one paged listing per project each.

Each listing returns only what its follow-up calls need (instance names, key names), picked
page by page, so no listing is ever held whole in memory: the pages themselves are already in
the locker. Follow-ups: the operations history of each primary (restore evidence) and the Cloud
KMS keys that encrypt the live data and the retained backups.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from auditor.collectors import kms, sqlops
from auditor.collectors.paging import drain
from auditor.scheduler import Call

PAGE_SIZE = 500
BACKUPS_PAGE_SIZE = 2000  # ListBackups: default 500, maximum 2000 (larger values are coerced)
REPLICA_TYPES = ("READ_REPLICA_INSTANCE", "READ_POOL_INSTANCE")


def _drain(collection, request, what: str, pick: Callable[[dict[str, Any]], Any] | None = None) -> list[Any]:
    """Fetch every page (bounded, see auditor.collectors.paging; the capture layer stores each body as it
    arrives); keep only what `pick` returns, so follow-up calls need no page held in memory."""
    picked: list[Any] = []
    for response in drain(collection, request, what):
        if pick is not None:
            picked.extend(x for item in response.get("items") or [] if isinstance(item, dict) for x in pick(item))
    return picked


def _instance_refs(item: dict[str, Any]) -> list[tuple[str, str]]:
    """('instance', name) for a primary that can be restored; ('key', name) for its CMEK key."""
    refs: list[tuple[str, str]] = []
    name = item.get("name")
    if isinstance(name, str) and item.get("instanceType") not in REPLICA_TYPES and not item.get("masterInstanceName"):
        refs.append(("instance", name))
    key = (item.get("diskEncryptionConfiguration") or {}).get("kmsKeyName")
    if isinstance(key, str) and key:
        refs.append(("key", key))
    return refs


def _run_keys(item: dict[str, Any]) -> list[str]:
    """The keys behind a retained backup run (its key version names the key too)."""
    keys = [(item.get("diskEncryptionConfiguration") or {}).get("kmsKeyName"),
            (item.get("diskEncryptionStatus") or {}).get("kmsKeyVersionName")]
    return [kms.key_name(k) for k in keys if isinstance(k, str) and k]


def _backup_keys(item: dict[str, Any]) -> list[str]:
    """The keys behind a retained backup (Backups resource: kmsKey, kmsKeyVersion)."""
    keys = [item.get("kmsKey"), item.get("kmsKeyVersion")]
    return [kms.key_name(k) for k in keys if isinstance(k, str) and k]


def project_calls(ctx, project: str) -> Iterator[Call]:
    clients = ctx.google

    def list_instances() -> list[tuple[str, str]]:
        instances = clients.collection("sqladmin", "instances")
        return _drain(instances, instances.list(project=project, maxResults=PAGE_SIZE),
                      f"sqladmin instances.list for projects/{project}", _instance_refs)

    def after_instances(refs: list[tuple[str, str]]) -> Iterator[Call]:
        for kind, name in refs:
            if kind == "instance":
                yield from sqlops.instance_calls(ctx, project, name)
            else:
                yield from kms.key_calls(ctx, name)

    def list_backup_runs() -> list[str]:
        runs = clients.collection("sqladmin", "backupRuns")
        return _drain(runs, runs.list(project=project, instance="-", maxResults=PAGE_SIZE),
                      f"sqladmin backupRuns.list for projects/{project}", _run_keys)

    def after_runs(keys: list[str]) -> Iterator[Call]:
        for key in dict.fromkeys(keys):
            yield from kms.key_calls(ctx, key)

    def list_backups() -> list[str]:
        """Every retained backup of every kind (AUTOMATED, ON_DEMAND, FINAL), with its location and key;
        a REGION_UNREACHABLE warning makes the call partial (the locker marks it, auditor.evidence.partial)."""
        from auditor.collectors.backupdr import drain_list

        backups = clients.collection("sqladmin", "Backups")
        return drain_list(backups, backups.ListBackups(parent=f"projects/{project}", pageSize=BACKUPS_PAGE_SIZE),
                          f"sqladmin Backups.list for projects/{project}", "backups", _backup_keys,
                          next_name="ListBackups_next")

    scope = f"projects/{project}"
    yield Call("sqladmin", "instances.list", {"project": project}, scope, list_instances, after_instances)
    yield Call("sqladmin", "backupRuns.list", {"project": project, "instance": "-"}, scope, list_backup_runs, after_runs)
    yield Call("sqladmin", "Backups.list", {"parent": f"projects/{project}"}, scope, list_backups, after_runs)
