"""Cloud SQL Admin: instances and retained backup runs, one paged listing per project each."""

from __future__ import annotations

from typing import Iterator

from auditor.collectors.paging import drain
from auditor.scheduler import Call

PAGE_SIZE = 500


def _drain(collection, request, what: str) -> None:
    """Fetch every page (bounded, see auditor.collectors.paging); the capture layer stores each body."""
    for _page in drain(collection, request, what):
        pass


def project_calls(ctx, project: str) -> Iterator[Call]:
    clients = ctx.google

    def list_instances() -> None:
        service = clients.service("sqladmin")
        _drain(service.instances(), service.instances().list(project=project, maxResults=PAGE_SIZE),
               f"sqladmin instances.list for projects/{project}")

    def list_backup_runs() -> None:
        service = clients.service("sqladmin")
        _drain(service.backupRuns(), service.backupRuns().list(project=project, instance="-", maxResults=PAGE_SIZE),
               f"sqladmin backupRuns.list for projects/{project}")

    scope = f"projects/{project}"
    yield Call("sqladmin", "instances.list", {"project": project}, scope, list_instances)
    yield Call("sqladmin", "backupRuns.list", {"project": project, "instance": "-"}, scope, list_backup_runs)
