"""Cloud Logging projects.metrics.list, per project: alerts on logging.googleapis.com/user/NAME count its filter's matches."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import boolean, get, items, text, timestamp
from auditor.facts.controls import LogMetric
from auditor.facts.declare import Cost, Fact, Source, call_project


def log_metric(data: Any, project: str, item_id: str, observed_at: Any = None) -> LogMetric | None:
    name = text(data, "name")
    if not name:
        return None
    return LogMetric(name=name.split("/")[-1], project=project, filter=text(data, "filter") or "",
                     disabled=boolean(data, "disabled") is True, evidence=(item_id,), observed_at=observed_at,
                     created=timestamp(get(data, "createTime")), mutated=timestamp(get(data, "updateTime")))


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    project = call_project(call)
    observed_at = timestamp(call.get("server_date"))
    for data in items(body, "metrics") or []:
        metric = log_metric(data, project, item_id, observed_at)
        if metric:
            emit("log_metrics", metric)
            emit("monitoring_observations", metric)


def on_complete(call: dict[str, Any], manifest: dict[str, Any], emit) -> None:
    moment = timestamp(call.get("server_date"))
    if moment:
        emit("monitoring_listings", (call["scope"], "log_metric", moment))


def _by_name(values: list[Any]) -> list[Any]:
    return list({(m.project, m.name): m for m in values}.values())


FACTS = (Fact("log_metrics", "project", key=lambda m: f"projects/{m.project}", dedupe=_by_name,
              doc="the log-based metrics of a project"),)
SOURCES = (
    Source("logging", "metrics.list", "project", fills=("log_metrics", "monitoring_observations", "monitoring_listings"),
           permissions=("logging.logMetrics.list",), field="metrics", read=read, on_complete=on_complete, cost=Cost(page_cap=1000, per="project", shape="log_metrics")),
)
