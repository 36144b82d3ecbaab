"""Cloud Logging projects.metrics.list, per project: alerts on logging.googleapis.com/user/NAME count its filter's matches."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import boolean, items, text
from auditor.facts.controls import LogMetric
from auditor.facts.declare import Cost, Fact, Source, call_project


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    for data in items(body, "metrics") or []:
        name = text(data, "name")
        if name:
            emit("log_metrics", LogMetric(name=name.split("/")[-1], project=project, filter=text(data, "filter") or "",
                                          disabled=boolean(data, "disabled") is True, evidence=(item_id,)))


def _by_name(values: list[Any]) -> list[Any]:
    return list({(m.project, m.name): m for m in values}.values())


FACTS = (Fact("log_metrics", "project", key=lambda m: f"projects/{m.project}", dedupe=_by_name,
              doc="the log-based metrics of a project"),)
SOURCES = (
    Source("logging", "metrics.list", "project", fills=("log_metrics",), permissions=("logging.logMetrics.list",),
           field="metrics", read=read, cost=Cost(page_cap=1000, per="project", shape="log_metrics")),
)
