"""Cloud Monitoring notificationChannels.list, per project: whom an alert policy tells."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import enabled, get, items, text, timestamp
from auditor.facts.controls import NotificationChannel
from auditor.facts.declare import Cost, Fact, Source, call_project


def last_mutation(data: Any) -> Any:
    """The newest of mutationRecords[].mutateTime ("records of the modification of this channel")."""
    times = [timestamp(get(r, "mutateTime")) for r in get(data, "mutationRecords") or [] if isinstance(r, dict)]
    times = [t for t in times if t]
    return max(times) if times else None


def channel(data: Any, project: str, item_id: str, observed_at: Any = None) -> NotificationChannel | None:
    name = text(data, "name")
    if not name:
        return None
    return NotificationChannel(
        name=name, project=project, type=text(data, "type"), display_name=text(data, "displayName") or name,
        enabled=enabled(data), evidence=(item_id,), verification=text(data, "verificationStatus"),
        observed_at=observed_at, created=timestamp(get(data, "creationRecord", "mutateTime")), mutated=last_mutation(data))


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    observed_at = timestamp(call.get("server_date"))
    for data in items(body, "notificationChannels") or []:
        found = channel(data, project, item_id, observed_at)
        if found:
            emit("notification_channels", found)
            emit("monitoring_observations", found)


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    moment = timestamp(call.get("server_date"))
    if moment:
        emit("monitoring_listings", (call["scope"], "notification_channel", moment))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


FACTS = (Fact("notification_channels", "project", key=lambda c: c.name, dedupe=_by_name,
              doc="the notification channels of a project"),)
SOURCES = (
    Source("monitoring", "notificationChannels.list", "project",
           fills=("notification_channels", "monitoring_observations", "monitoring_listings"),
           permissions=("monitoring.notificationChannels.list",), field="notificationChannels", read=read, on_complete=on_complete,
           cost=Cost(page_cap=1000, per="project", shape="notification_channels")),
)
