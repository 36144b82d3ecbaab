"""Cloud Logging: the Cloud SQL audit trail of a whole period in one filtered query per project.

backupRuns lists only retained backups; the system-event audit log (kept 400 days) holds every
automated backup window's outcome, and the admin-activity log holds stops, starts and configuration
changes. The filter is applied server-side: backup outcomes bounded by the period, configuration
changes from the period's start up to the read (a configuration read after the period holds for
the period only where the log covers the span between), so one query per project fetches exactly
what the checks need.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

from auditor.collectors.paging import drain_body
from auditor.evidence.capture import current_recorder
from auditor.evidence.locker import iso, utc_now
from auditor.facts.sources.monitoring_log import METHODS as MONITORING_METHODS
from auditor.scheduler import Call

PAGE_SIZE = 1000
# The fields of an entry the facts read (the standard `fields` partial-response parameter): the
# entries as Logging stores them, less what no check uses (types, service name, receive time,
# severity), about a third fewer bytes to send, store and parse. `operation` pairs a long-running
# operation's first and last entries (only the last one's result applies).
ENTRY_FIELDS = ("entries(insertId,timestamp,logName,resource,operation,protoPayload/methodName,"
                "protoPayload/resourceName,protoPayload/status,protoPayload/metadata,protoPayload/request,"
                "protoPayload/authenticationInfo/principalEmail,operation),nextPageToken")
BACKUP_METHOD = "cloudsql.instances.automatedBackup"
UPDATE_METHOD = "cloudsql.instances.update"
# Admin Activity entries that change an instance's configuration (or end it): the configuration history;
# and its clones, whose request says whether they were to a point in time (restore tests, issue 14).
ADMIN_METHODS = (UPDATE_METHOD, "cloudsql.instances.patch", "cloudsql.instances.delete", "cloudsql.instances.clone")
ADMIN_GROUP = " OR ".join(f'"{method}"' for method in ADMIN_METHODS)
# Admin Activity entries that change alerting (auditor.facts.sources.monitoring_log): the monitoring control's history.
ALERTING_GROUP = " OR ".join(f'"{method}"' for method in sorted(MONITORING_METHODS))
# ret2: and the retention-policy lock (its JSON API method id; whether the log uses it is unconfirmed: bucket_history)
BUCKET_GROUP = '"storage.buckets.update" OR "storage.buckets.patch" OR "storage.buckets.lockRetentionPolicy"'
RETENTION = timedelta(days=400)  # Admin Activity and System Event audit logs are kept 400 days


def cloudsql_audit_filter(project: str, start: datetime, end: datetime) -> str:
    """Backup outcomes (system event) from `start` to `end`; configuration changes (admin activity) from
    `start` with no upper bound, so the answer runs up to the moment it is read: a change made after the
    period, before the configuration was read, is seen (issue 12, case 3). Alerting changes (alert policies,
    notification channels, log-based metrics) are read the same way, in the same query."""
    system_event = f"projects/{project}/logs/cloudaudit.googleapis.com%2Fsystem_event"
    activity = f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"
    return (
        f'timestamp>="{iso(start)}" AND ((resource.type="cloudsql_database" AND '
        f'((logName="{system_event}" AND protoPayload.methodName="{BACKUP_METHOD}" AND timestamp<"{iso(end)}") OR '
        f'(logName="{activity}" AND protoPayload.methodName=({ADMIN_GROUP})))) OR '
        f'(logName="{activity}" AND protoPayload.methodName=({ALERTING_GROUP})) OR '
        # Cloud Storage bucket updates (an update and a patch are both logged as storage.buckets.update): the
        # retention policy's history (auditor.facts.bucket_history)
        f'(resource.type="gcs_bucket" AND logName="{activity}" AND protoPayload.methodName=({BUCKET_GROUP})))'
    )


def covered_span(start: datetime, read_at: datetime) -> dict[str, str]:
    """What an answered query covers: from its start (or the oldest entry Logging still keeps) to the read."""
    return {"from": iso(max(start, read_at - RETENTION)), "to": iso(read_at)}


def project_calls(ctx, project: str) -> Iterator[Call]:
    """One query per project: backup windows of the period (widened by a day each side for windows that
    cross midnight), configuration changes from the period's start to the read; with `--since`, both from
    where the previous locker's coverage of the project ended (auditor.log_chain). The call record's
    `covered` says which span the answer covers (from the first page's server time, so a change logged
    while later pages were fetched is not claimed)."""
    clients = ctx.google
    query_start, query_end = ctx.period.starts_at - timedelta(days=1), ctx.period.ends_at + timedelta(days=1)
    if getattr(ctx, "log_chain", None) is not None:  # --since: from where the previous locker's coverage ended
        query_start = ctx.log_chain.start_for(f"projects/{project}", query_start)
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

        recorder = current_recorder()
        read_at = None
        for _page in drain_body(list_page, body, f"logging entries.list for projects/{project}"):
            if read_at is None and recorder is not None:
                read_at = parse_time(recorder.record.server_date) or utc_now()
        if recorder is not None:
            span = covered_span(query_start, read_at or utc_now())
            recorder.cover(span["from"], span["to"])

    yield Call("logging", "entries.list", body, f"projects/{project}", list_entries)


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
