"""Cloud Monitoring alertPolicies.list, per project (and the central monitoring project).

A condition is reduced to what decides "fires on a failed backup": its log filter, or the
log-based metric a threshold counts.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.facts.access import enabled, get, items, text, timestamp
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


def conditions_of(data: Any) -> tuple[AlertCondition, ...]:
    return tuple(alert_condition(c) for c in get(data, "conditions") or [] if isinstance(c, dict))


def channels_of(data: Any) -> tuple[str, ...]:
    return tuple(c for c in get(data, "notificationChannels") or [] if isinstance(c, str))


def alert_policy(data: Any, project: str, item_id: str, observed_at: Any = None) -> AlertPolicy | None:
    name = text(data, "name")
    if not name:
        return None
    return AlertPolicy(
        name=name, project=project, display_name=text(data, "displayName") or name, enabled=enabled(data),
        conditions=conditions_of(data), channels=channels_of(data), evidence=(item_id,), observed_at=observed_at,
        created=timestamp(get(data, "creationRecord", "mutateTime")),
        mutated=timestamp(get(data, "mutationRecord", "mutateTime")))


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    observed_at = timestamp(call.get("server_date"))
    for data in items(body, "alertPolicies") or []:
        policy = alert_policy(data, project, item_id, observed_at)
        if policy:
            emit("alert_policies", policy)
            emit("monitoring_observations", policy)


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    """A complete listing at a time: a policy absent from it did not exist then (auditor.facts.monitoring_history)."""
    moment = timestamp(call.get("server_date"))
    if moment:
        emit("monitoring_listings", (call["scope"], "alert_policy", moment))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


def _every(values: list[Any]) -> list[Any]:
    return list({(type(v).__name__, v.project, v.name, v.observed_at): v for v in values}.values())


FACTS = (Fact("alert_policies", "project", key=lambda p: f"projects/{p.project}", dedupe=_by_name,
              doc="the Cloud Monitoring alert policies of a project"),
         Fact("monitoring_observations", "project", key=lambda v: f"projects/{v.project}", dedupe=_every,
              doc="every read of every alert policy, notification channel and log-based metric, each with its time"),
         Fact("monitoring_listings", "project", key=lambda listing: listing[0],
              doc="(project scope, kind, time) of each complete alert-policy, channel or log-metric listing"))
SOURCES = (
    Source("monitoring", "alertPolicies.list", "project", fills=("alert_policies", "monitoring_observations", "monitoring_listings"),
           permissions=("monitoring.alertPolicies.list",), field="alertPolicies", read=read, on_complete=on_complete,
           cost=Cost(page_cap=1000, per="project", shape="alert_policies")),
)
