"""Cloud Monitoring v3 alertPolicies.list and notificationChannels.list, and Logging v2 metrics.list.

Alert policies are served with a log-match condition (conditionMatchedLog.filter) or a threshold
condition on a log-based metric (metric.type="logging.googleapis.com/user/NAME"), exactly one per
policy, as the scenario states. Server-side `filter`/`orderBy` are not simulated: 400, never ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor.simulator.apierror import invalid_argument
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario_controls import AlertPolicy

PAGE_CAP = 1000


def _paged(req: Request, items: list[dict[str, Any]], field: str, kind: str, scope: str,
           default: int = PAGE_CAP) -> dict[str, Any]:
    if req.query.get("filter") or req.query.get("orderBy"):
        raise invalid_argument(f"The simulator does not support filter or orderBy on {kind}.list.")
    size = page_size(req.query.get("pageSize"), name="pageSize", default=default, cap=PAGE_CAP)
    page, nxt = paginate(items, req.query.get("pageToken"), size, query_key(kind, scope))
    out: dict[str, Any] = {}
    if page:
        out[field] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


def created_at(scenario: Any) -> dt.datetime:
    """When the scenario's alerting resources were created: a year before its history starts (fixed, so that
    daily lockers read the same records)."""
    start = scenario.history_start
    return dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc) - dt.timedelta(days=365)


def policy_json(project: str, policy: AlertPolicy, created: str, now: dt.datetime | None = None) -> dict[str, Any]:
    name = f"projects/{project}/alertPolicies/{policy.id}"
    condition: dict[str, Any] = {"name": f"{name}/conditions/1", "displayName": policy.display_name}
    changed = [when for when, _, _ in policy.changes() if now is None or when <= now]
    body: dict[str, Any] = {"name": name, "displayName": policy.display_name, "combiner": "OR",
                            "enabled": policy.enabled_at(now) if now else policy.enabled, "conditions": [condition],
                            "notificationChannels": [f"projects/{project}/notificationChannels/{c}" for c in policy.channels],
                            "creationRecord": {"mutateTime": created, "mutatedBy": f"sre@{project}.example"},
                            # the most recent change, as the API records it (the Admin Activity entries may lack bodies)
                            "mutationRecord": {"mutateTime": ts(changed[-1]) if changed else created,
                                               "mutatedBy": f"sre@{project}.example"}}
    if policy.log_filter is not None:
        condition["conditionMatchedLog"] = {"filter": policy.log_filter}
        body["alertStrategy"] = {"notificationRateLimit": {"period": "300s"}, "autoClose": "604800s"}
    else:
        condition["conditionThreshold"] = {
            "filter": f'metric.type="logging.googleapis.com/user/{policy.metric_threshold}" '
                      f'AND resource.type="cloudsql_database"',
            "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s",
            "aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA"}],
            "trigger": {"count": 1},
        }
    return body


def list_policies(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], "monitoring")
    created = ts(created_at(req.scenario))
    items = [policy_json(project.id, p, created, req.scenario.now) for p in project.alert_policies]
    return _paged(req, items, "alertPolicies", "alertPolicies", project.id)


def list_channels(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], "monitoring")
    created = {"mutateTime": ts(created_at(req.scenario)), "mutatedBy": f"sre@{project.id}.example"}
    items = []
    for c in project.notification_channels:
        item = {"name": f"projects/{project.id}/notificationChannels/{c.id}", "type": c.type,
                "displayName": c.display_name, "enabled": c.enabled,
                "labels": {"email_address": f"{c.id}@bangkoksolutions.example"} if c.type == "email" else {},
                "creationRecord": created, "mutationRecords": [created]}
        if c.verification is not None:
            item["verificationStatus"] = c.verification
        items.append(item)
    return _paged(req, items, "notificationChannels", "notificationChannels", project.id)


def list_metrics(req: Request) -> dict[str, Any]:
    project = req.project(req.params["project"], "logging")
    items = []
    for m in project.log_metrics:
        changed = [when for when, _, _ in m.changes() if when <= req.scenario.now]
        item: dict[str, Any] = {"name": m.name, "filter": m.filter, "version": "V2",
                                "createTime": ts(created_at(req.scenario)),
                                "updateTime": ts(changed[-1] if changed else created_at(req.scenario)),
                                "metricDescriptor": {"name": f"projects/{project.id}/metricDescriptors/"
                                                             f"logging.googleapis.com/user/{m.name}",
                                                     "type": f"logging.googleapis.com/user/{m.name}",
                                                     "metricKind": "DELTA", "valueType": "INT64", "unit": "1"}}
        if m.disabled_at(req.scenario.now):
            item["disabled"] = True
        items.append(item)
    return _paged(req, items, "metrics", "metrics", project.id, default=100)


_LIST = frozenset({"pageSize", "pageToken", "filter", "orderBy"})
ROUTES = [
    Route("GET", "/v3/projects/{project}/alertPolicies", "monitoring", list_policies, _LIST),
    Route("GET", "/v3/projects/{project}/notificationChannels", "monitoring", list_channels, _LIST),
    Route("GET", "/v2/projects/{project}/metrics", "logging", list_metrics, frozenset({"pageSize", "pageToken"})),
]
