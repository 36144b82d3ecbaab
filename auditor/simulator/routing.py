"""The route registry: (method, path template) -> handler, one module per API family.

API modules (routes_sqladmin, routes_logging, later storage, cloudasset, kms, monitoring,
github) each export ``ROUTES``; the server knows nothing about any API. The template string
(e.g. ``/v1/projects/{project}/instances``) doubles as the key of ``Simulator.stats``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote

from auditor.simulator import apierror
from auditor.simulator.scenario import Project, Scenario

# Query parameters every Google API accepts (google-api-python-client always sends alt=json).
STANDARD_PARAMS = frozenset({"alt", "prettyPrint", "fields", "key", "quotaUser", "$.xgafv", "access_token",
                             "oauth_token", "callback", "uploadType", "upload_protocol"})


@dataclass
class Request:
    """What a handler sees: the scenario, path parameters, query, JSON body and clock."""

    scenario: Scenario
    method: str
    path: str
    params: dict[str, str]  # path parameters, percent-decoded
    query: dict[str, str]  # non-standard query parameters (each at most once)
    body: Any  # parsed JSON body or None
    now: dt.datetime  # scenario clock at the time of the request
    base_url: str
    multi: dict[str, list[str]] = field(default_factory=dict)  # every value of a route's repeatable params
    media: bool = False  # alt=media (only on routes that serve object bytes)

    def values(self, name: str) -> list[str]:
        return list(self.multi.get(name, []))

    def project(self, project_id: str, api: str) -> Project:
        """The project, after applying the scenario's fault knobs for this API (403s)."""
        proj = self.scenario.project(project_id)
        if proj is None:
            raise apierror.permission_denied(api, project_id)
        if api in proj.apis_disabled:
            raise apierror.service_disabled(api, proj.id, proj.number)
        if api in proj.permission_denied:
            raise apierror.permission_denied(api, proj.id)
        return proj


Handler = Callable[[Request], Any]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/v1/projects/{project}/instances/{instance}"
    api: str  # "sqladmin", "logging"... (stats key part, error metadata)
    handler: Handler
    query: frozenset[str] = field(default_factory=frozenset)  # accepted API-specific query params
    repeated: frozenset[str] = field(default_factory=frozenset)  # of those, the ones that may repeat (repeated fields)
    media: bool = False  # also answers alt=media, with the bytes the handler returns
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "regex", re.compile(f"^{pattern}$"))

    def match(self, path: str) -> dict[str, str] | None:
        m = self.regex.match(path)
        return None if m is None else {k: unquote(v) for k, v in m.groupdict().items()}


class Registry:
    def __init__(self, routes: list[Route] | None = None):
        self.routes: list[Route] = list(routes or [])

    def add(self, route: Route) -> None:
        self.routes.append(route)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Find the route for a request; 404 for an unknown path, 405-as-404 for a wrong method."""
        path_known = False
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            path_known = True
            if route.method == method:
                return route, params
        if path_known:
            raise apierror.ApiError(405, f"Method {method} is not allowed for {path}.")
        raise apierror.not_found(f"The requested URL {path} was not found on this server.")
