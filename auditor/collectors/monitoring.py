"""Cloud Monitoring and log-based metrics: what would alert someone when an automated backup fails.

Cloud SQL does not alert on a failed backup by itself; an alert policy must exist. For each
audited project, and for `gcp.monitoring_project` (alerting often lives in a central project),
this lists the alert policies, the notification channels they send to, and the log-based metrics
that threshold conditions may count (logging.googleapis.com/user/NAME).
"""

from __future__ import annotations

from typing import Iterator

from auditor.collectors import logging as audit_logging
from auditor.collectors.paging import drain
from auditor.scheduler import Call

PAGE_SIZE = 1000


def _drain(collection, request, what: str) -> None:
    for _page in drain(collection, request, what):
        pass


def project_calls(ctx, project: str) -> Iterator[Call]:
    clients = ctx.google
    name = f"projects/{project}"

    def alert_policies() -> None:
        policies = clients.collection("monitoring", "projects.alertPolicies")
        _drain(policies, policies.list(name=name, pageSize=PAGE_SIZE), f"monitoring alertPolicies.list for {name}")

    def channels() -> None:
        found = clients.collection("monitoring", "projects.notificationChannels")
        _drain(found, found.list(name=name, pageSize=PAGE_SIZE), f"monitoring notificationChannels.list for {name}")

    def metrics() -> None:
        found = clients.collection("logging", "projects.metrics")
        _drain(found, found.list(parent=name, pageSize=PAGE_SIZE), f"logging metrics.list for {name}")

    yield Call("monitoring", "alertPolicies.list", {"name": name}, name, alert_policies)
    yield Call("monitoring", "notificationChannels.list", {"name": name}, name, channels)
    yield Call("logging", "metrics.list", {"parent": name}, name, metrics)


def scope_calls(ctx) -> Iterator[Call]:
    """The central monitoring project, when it is not one of the audited projects: its listings, and its audit
    log (its alert policies' changes are logged there, not in the projects they watch)."""
    project = ctx.config.gcp.monitoring_project
    if project and project not in ctx.config.gcp.projects:
        yield from project_calls(ctx, project)
        yield from audit_logging.project_calls(ctx, project)
