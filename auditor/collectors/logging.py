"""Cloud Logging: the Cloud SQL audit trail of a whole period in one filtered query per project.

backupRuns lists only retained backups; the system-event audit log (kept 400 days) holds every
automated backup window's outcome, and the admin-activity log holds stops and starts. The filter is
applied server-side, bounded by the period, so one query per project fetches exactly what the
checks need.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

from auditor.collectors.paging import drain_body
from auditor.evidence.locker import iso
from auditor.scheduler import Call

PAGE_SIZE = 1000
# The fields of an entry the facts read (the standard `fields` partial-response parameter): the
# entries as Logging stores them, less what no check uses (types, service name, receive time,
# severity), about a third fewer bytes to send, store and parse.
ENTRY_FIELDS = ("entries(insertId,timestamp,logName,resource,protoPayload/methodName,"
                "protoPayload/resourceName,protoPayload/status,protoPayload/metadata,protoPayload/request,"
                "protoPayload/authenticationInfo/principalEmail),nextPageToken")
BACKUP_METHOD = "cloudsql.instances.automatedBackup"
UPDATE_METHOD = "cloudsql.instances.update"
# Admin Activity entries that change an instance's configuration (or end it): the configuration history.
ADMIN_METHODS = (UPDATE_METHOD, "cloudsql.instances.patch", "cloudsql.instances.delete")
ADMIN_GROUP = " OR ".join(f'"{method}"' for method in ADMIN_METHODS)


def cloudsql_audit_filter(project: str, start: datetime, end: datetime) -> str:
    system_event = f"projects/{project}/logs/cloudaudit.googleapis.com%2Fsystem_event"
    activity = f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"
    return (
        f'resource.type="cloudsql_database" AND timestamp>="{iso(start)}" AND timestamp<"{iso(end)}" AND '
        f'((logName="{system_event}" AND protoPayload.methodName="{BACKUP_METHOD}") OR '
        f'(logName="{activity}" AND protoPayload.methodName=({ADMIN_GROUP})))'
    )


def project_calls(ctx, project: str) -> Iterator[Call]:
    """One query for the period, widened by a day each side for backup windows that cross midnight."""
    clients = ctx.google
    query_start, query_end = ctx.period.starts_at - timedelta(days=1), ctx.period.ends_at + timedelta(days=1)
    body = {
        "resourceNames": [f"projects/{project}"],
        "filter": cloudsql_audit_filter(project, query_start, query_end),
        "orderBy": "timestamp asc",
        "pageSize": PAGE_SIZE,
    }

    def list_entries() -> None:
        entries = clients.collection("logging", "entries")
        def list_page(body: dict) -> Any:
            return entries.list(body=body, fields=ENTRY_FIELDS)

        for _page in drain_body(list_page, body, f"logging entries.list for projects/{project}"):
            pass

    yield Call("logging", "entries.list", body, f"projects/{project}", list_entries)
