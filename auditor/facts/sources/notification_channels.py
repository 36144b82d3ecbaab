"""Cloud Monitoring notificationChannels.list, per project: whom an alert policy tells."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import enabled, items, text
from auditor.facts.controls import NotificationChannel
from auditor.facts.declare import Cost, Fact, Source, call_project


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    for data in items(body, "notificationChannels") or []:
        name = text(data, "name")
        if name:
            emit("notification_channels", NotificationChannel(
                name=name, project=project, type=text(data, "type"), display_name=text(data, "displayName") or name,
                enabled=enabled(data), evidence=(item_id,)))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


FACTS = (Fact("notification_channels", "project", key=lambda c: c.name, dedupe=_by_name,
              doc="the notification channels of a project"),)
SOURCES = (
    Source("monitoring", "notificationChannels.list", "project", fills=("notification_channels",),
           permissions=("monitoring.notificationChannels.list",), field="notificationChannels", read=read,
           cost=Cost(page_cap=1000, per="project", shape="notification_channels")),
)
