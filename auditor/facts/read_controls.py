"""Page readers for Cloud KMS, Cloud Monitoring, log-based metrics and Cloud SQL operations.

Registered in `auditor.facts.normalize.READERS`. Like the other readers they are defensive: a
field of the wrong type leaves the fact's value unknown, and an item without a name is skipped
(a page that is not a valid response at all is a coverage gap, decided by the caller).
"""

from __future__ import annotations

import re
from typing import Any

from auditor.facts.controls import (
    AlertCondition,
    AlertPolicy,
    KmsKey,
    KmsKeyVersion,
    LogMetric,
    NotificationChannel,
    SqlOperation,
    key_location,
    key_of_version,
)
from auditor.facts.model import sql_resource
from auditor.facts.normalize import _items, boolean, get, text, timestamp

_USER_METRIC = re.compile(r'metric\.type\s*=\s*"?logging\.googleapis\.com/user/([^"\s)]+)"?')


def _project_of(call: dict[str, Any]) -> str:
    params = call["params"]
    name = params.get("name") or params.get("parent") or params.get("project") or ""
    return str(name).removeprefix("projects/").split("/")[0]


def read_crypto_key(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    name = text(body, "name")
    if not name:
        return
    facts.kms_keys.append(KmsKey(name=name, location=key_location(name), purpose=text(body, "purpose"),
                                 primary_version=text(body, "primary", "name"), evidence=(item_id,)))


def read_key_versions(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    for data in _items(body, "cryptoKeyVersions") or []:
        name = text(data, "name")
        if name:
            facts.kms_key_versions.append(KmsKeyVersion(
                name=name, key=key_of_version(name), state=text(data, "state"),
                destroy_time=timestamp(get(data, "destroyTime")), evidence=(item_id,)))


def _enabled(data: Any) -> bool:
    """Monitoring's `enabled` is a BoolValue that defaults to true when absent."""
    value = boolean(data, "enabled")
    return True if value is None else value


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


def read_alert_policies(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    project = _project_of(call)
    for data in _items(body, "alertPolicies") or []:
        name = text(data, "name")
        if not name:
            continue
        conditions = tuple(alert_condition(c) for c in get(data, "conditions") or [] if isinstance(c, dict))
        channels = tuple(c for c in get(data, "notificationChannels") or [] if isinstance(c, str))
        facts.alert_policies.append(AlertPolicy(
            name=name, project=project, display_name=text(data, "displayName") or name, enabled=_enabled(data),
            conditions=conditions, channels=channels, evidence=(item_id,)))


def read_notification_channels(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    project = _project_of(call)
    for data in _items(body, "notificationChannels") or []:
        name = text(data, "name")
        if name:
            facts.notification_channels.append(NotificationChannel(
                name=name, project=project, type=text(data, "type"), display_name=text(data, "displayName") or name,
                enabled=_enabled(data), evidence=(item_id,)))


def read_log_metrics(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    project = _project_of(call)
    for data in _items(body, "metrics") or []:
        name = text(data, "name")
        if name:
            facts.log_metrics.append(LogMetric(
                name=name.split("/")[-1], project=project, filter=text(data, "filter") or "",
                disabled=boolean(data, "disabled") is True, evidence=(item_id,)))


def read_sql_operations(call: dict[str, Any], body: dict[str, Any], item_id: str, facts: Any) -> None:
    project = _project_of(call)
    for data in _items(body, "items") or []:
        name, kind = text(data, "name"), text(data, "operationType")
        target = text(data, "targetId") or call["params"].get("instance")
        if not name or not kind or not target:
            continue
        error = get(data, "error", "errors")
        message = None
        if isinstance(error, list) and error:
            first = error[0] if isinstance(error[0], dict) else {}
            message = text(first, "message") or text(first, "code") or "error"
        facts.sql_operations.append(SqlOperation(
            name=name, project=text(data, "targetProject") or project, instance=sql_resource(text(data, "targetProject") or project, target),
            operation_type=kind, status=text(data, "status"),
            started=timestamp(get(data, "startTime")) or timestamp(get(data, "insertTime")),
            ended=timestamp(get(data, "endTime")), error=message, user=text(data, "user"), evidence=(item_id,),
            backup_id=text(data, "backupContext", "backupId") or (text(data, "backupContext", "name") or "").rsplit("/", 1)[-1] or None))
