"""Cloud Monitoring alertPolicies.list, per project (and the central monitoring project).

A condition is reduced to what decides "fires on a failed backup": its log filter, or the
log-based metric a threshold counts.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.facts.access import enabled, get, items, text
from auditor.facts.controls import AlertCondition, AlertPolicy
from auditor.facts.declare import Cost, Fact, Source, call_project

_USER_METRIC = re.compile(r'metric\.type\s*=\s*"?logging\.googleapis\.com/user/([^"\s)]+)"?')


def alert_condition(data: dict[str, Any]) -> AlertCondition:
    name = text(data, "displayName") or text(data, "name") or "(unnamed condition)"
    log_filter = text(data, "conditionMatchedLog", "filter")
    if log_filter is not None:
        return AlertCondition(name, "log_match", log_filter, None)
    threshold = text(data, "conditionThreshold", "filter")
    if threshold is not None:
        match = _USER_METRIC.search(threshold)
        return AlertCondition(name, "threshold", threshold, match.group(1) if match else None)
    return AlertCondition(name, "other", None, None)


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    for data in items(body, "alertPolicies") or []:
        name = text(data, "name")
        if not name:
            continue
        conditions = tuple(alert_condition(c) for c in get(data, "conditions") or [] if isinstance(c, dict))
        channels = tuple(c for c in get(data, "notificationChannels") or [] if isinstance(c, str))
        emit("alert_policies", AlertPolicy(
            name=name, project=project, display_name=text(data, "displayName") or name, enabled=enabled(data),
            conditions=conditions, channels=channels, evidence=(item_id,)))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


FACTS = (Fact("alert_policies", "project", key=lambda p: f"projects/{p.project}", dedupe=_by_name,
              doc="the Cloud Monitoring alert policies of a project"),)
SOURCES = (
    Source("monitoring", "alertPolicies.list", "project", fills=("alert_policies",),
           permissions=("monitoring.alertPolicies.list",), field="alertPolicies", read=read,
           cost=Cost(page_cap=1000, per="project", shape="alert_policies")),
)
