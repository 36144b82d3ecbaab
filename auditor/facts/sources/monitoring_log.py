"""Admin Activity entries that change alerting: alert policies, notification channels, log-based metrics.

They arrive in the same Cloud Logging entries.list answer as the Cloud SQL audit trail (auditor.facts.
sources.audit_log declares that source and hands each entry here), so one complete query covers both.

Method names (serviceName monitoring.googleapis.com / logging.googleapis.com): the Monitoring and Logging
audit-logging pages list the ADMIN_READ names `google.monitoring.v3.AlertPolicyService.GetAlertPolicy`,
`...NotificationChannelService.GetNotificationChannel` and `google.logging.v2.MetricsServiceV2.GetLogMetric`;
the ADMIN_WRITE Create/Update/Delete names below follow the same services (log-based metrics belong to
MetricsServiceV2, not ConfigServiceV2). Whether `protoPayload.request` carries the new settings is unconfirmed
for both services (API notes): a body is read where present (UpdateAlertPolicyRequest's `alertPolicy` and
`updateMask`, CreateLogMetricRequest's `metric` ...); an entry without one says only that the resource changed,
so every setting it may have touched is unknown until the next read. Only successful entries count.
"""

from __future__ import annotations

from typing import Any

from auditor.facts.access import boolean, enabled, get, text, timestamp
from auditor.facts.controls import MonitoringChange
from auditor.facts.declare import Fact
from auditor.facts.sources.alert_policies import channels_of, conditions_of

_POLICY = "google.monitoring.v3.AlertPolicyService."
_CHANNEL = "google.monitoring.v3.NotificationChannelService."
_METRIC = "google.logging.v2.MetricsServiceV2."
#: methodName -> (kind, verb)
METHODS: dict[str, tuple[str, str]] = {
    _POLICY + "CreateAlertPolicy": ("alert_policy", "create"),
    _POLICY + "UpdateAlertPolicy": ("alert_policy", "update"),
    _POLICY + "DeleteAlertPolicy": ("alert_policy", "delete"),
    _CHANNEL + "CreateNotificationChannel": ("notification_channel", "create"),
    _CHANNEL + "UpdateNotificationChannel": ("notification_channel", "update"),
    _CHANNEL + "DeleteNotificationChannel": ("notification_channel", "delete"),
    _CHANNEL + "VerifyNotificationChannel": ("notification_channel", "verify"),
    _METRIC + "CreateLogMetric": ("log_metric", "create"),
    _METRIC + "UpdateLogMetric": ("log_metric", "update"),
    _METRIC + "DeleteLogMetric": ("log_metric", "delete"),
}
#: the settings each kind's timeline holds (auditor.facts.monitoring_history)
SETTINGS: dict[str, tuple[str, ...]] = {
    "alert_policy": ("exists", "enabled", "conditions", "channels"),
    "notification_channel": ("exists", "enabled", "verification"),
    "log_metric": ("exists", "filter", "disabled"),
}
_BODY = {"alert_policy": "alertPolicy", "notification_channel": "notificationChannel", "log_metric": "metric"}
_COLLECTION = {"alert_policy": "alertPolicies", "notification_channel": "notificationChannels", "log_metric": "metrics"}
#: update-mask paths (either spelling) -> the setting they set
_MASKED = {"enabled": "enabled", "conditions": "conditions", "notification_channels": "channels",
           "notificationChannels": "channels", "labels": "verification", "filter": "filter", "disabled": "disabled"}


def _values(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Every setting of `kind` a whole resource body sets (absent fields take the API's defaults on write)."""
    if kind == "alert_policy":
        return {"enabled": enabled(body), "conditions": conditions_of(body), "channels": channels_of(body)}
    if kind == "notification_channel":
        return {"enabled": enabled(body)}
    return {"filter": text(body, "filter") or "", "disabled": boolean(body, "disabled") is True}


def _masked(kind: str, body: dict[str, Any], mask: str) -> dict[str, Any]:
    """What an update with an update mask set: each listed field from the body (or its default); a nested path
    (conditions.0.filter) sets part of a setting, so that setting is unknown."""
    whole = _values(kind, body)
    out: dict[str, Any] = {}
    for path in (p.strip() for p in mask.split(",") if p.strip()):
        head, _, rest = path.partition(".")
        setting = _MASKED.get(head)
        if setting is None or setting not in SETTINGS[kind]:
            continue
        out[setting] = None if rest or setting == "verification" else whole.get(setting)
    return out


def _name(kind: str, proto: dict[str, Any]) -> str | None:
    """The resource's own id (the last part of its name): from the entry's resourceName, the request or the response."""
    collection = _COLLECTION[kind]
    body = get(proto, "request", _BODY[kind])
    for candidate in (text(proto, "resourceName"), text(body, "name"), text(proto, "request", "metricName"),
                      text(proto, "request", "name"), text(proto, "response", "name")):
        if candidate and f"/{collection}/" in candidate:
            return candidate.split(f"/{collection}/", 1)[1]
    if kind == "log_metric" and text(body, "name") and "/" not in (text(body, "name") or ""):
        return text(body, "name")
    return None


def change(entry: dict[str, Any], evidence: str) -> MonitoringChange | None:
    """The alerting change one Admin Activity entry records; None for another method or a failed request."""
    proto = entry.get("protoPayload") if isinstance(entry, dict) else None
    if not isinstance(proto, dict):
        return None
    found = METHODS.get(proto.get("methodName"))  # type: ignore[arg-type]
    if found is None:
        return None
    code = get(proto, "status", "code")
    if code not in (None, 0):  # refused or failed: nothing changed
        return None
    key, stamp = text(entry, "insertId"), timestamp(entry.get("timestamp"))
    log_name = text(entry, "logName") or ""
    if not key or not stamp or not log_name.startswith("projects/"):
        return None
    kind, verb = found
    project = log_name.split("/")[1]
    settings: dict[str, Any]
    if verb == "delete":
        settings = {"exists": False}
    elif verb == "verify":
        settings = {"verification": "VERIFIED"}
    else:
        body = get(proto, "request", _BODY[kind])
        if not isinstance(body, dict):
            settings = {name: None for name in SETTINGS[kind] if name != "exists"}  # logged without its body
        else:
            mask = get(proto, "request", "updateMask")
            if isinstance(mask, dict):  # a FieldMask written as {"paths": [...]}
                mask = ",".join(p for p in mask.get("paths") or [] if isinstance(p, str))
            settings = _masked(kind, body, mask) if verb == "update" and isinstance(mask, str) and mask else _values(kind, body)
            if kind == "notification_channel" and (verb == "create" or not mask):
                settings["verification"] = None  # what a new or replaced channel's verification status is, the body does not say
        settings["exists"] = True
    return MonitoringChange(kind=kind, name=_name(kind, proto), project=project, time=stamp, method=proto["methodName"],
                            settings=settings, deleted=verb == "delete", key=f"log:{key}", evidence=(evidence,))


def read_entry(entry: dict[str, Any], evidence: str, emit) -> bool:
    """Emit the entry's alerting change, if it is one (True when it was)."""
    found = change(entry, evidence)
    if found is not None:
        emit("monitoring_changes", found)
        return True
    return False


def _by_key(values: list[MonitoringChange]) -> list[MonitoringChange]:
    return sorted({c.key: c for c in values}.values(), key=lambda c: (c.time, c.key))


FACTS = (Fact("monitoring_changes", "project", key=lambda c: f"projects/{c.project}", dedupe=_by_key,
              doc="alert-policy, notification-channel and log-based-metric changes, from the Admin Activity audit log"),)
SOURCES = ()  # read from the entries.list answer that auditor.facts.sources.audit_log declares
