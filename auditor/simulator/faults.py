"""Fault injection: the bad days of a real API, on demand, per endpoint and per project.

A fault matches requests by API, route (``"GET /v1/projects/{project}/instances"`` or just the
template), a path regex and a project (the ``{project}`` path parameter, or ``projects/P`` in the
request body, as in Logging's ``resourceNames``). It then acts on the first ``times`` matching
requests (all of them when ``times`` is None), after letting ``skip`` through untouched:

  status       an HTTP error with a Google error body (429 with or without ``Retry-After``, 500, 503,
               404 for a resource deleted mid-run...); ``reason`` sets ErrorInfo.reason
  reset        close the connection without a response (TCP reset)
  slow         answer after ``delay`` seconds (longer than the client's timeout)
  truncated    the JSON body cut in half (Content-Length consistent, so only the parser notices)
  malformed    a 200 whose body is an HTML error page, not JSON
  loop_token   the page token never advances: the same page and nextPageToken forever
  empty_pages  ``pages`` empty pages, each with a next token, before the real data (None: forever)
  large_page   the real page padded to about ``size`` bytes
  partial      a 200 whose real page says it is incomplete, in the ``form`` the API uses, naming
               ``scopes``: ``unreachable`` (``unreachable: [...]``, Backup and DR, Spanner, Storage...),
               ``warnings`` (Cloud SQL ``warnings: [{code: REGION_UNREACHABLE, region}]``) or
               ``scope_warning`` (a Compute aggregated list: a scope of ``items`` whose ``warning`` is
               ``UNREACHABLE``; a list whose ``items`` is not a map gets Compute's top-level
               ``warning`` instead)

Faults come from the scenario's ``faults:`` list or are added in tests (``sim.faults.add(...)``).
The injector is also the one place that sees every request, so it keeps ``journal``: the HTTP
method and path of each request received, for the read-only test.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from auditor.simulator.apierror import ApiError

if TYPE_CHECKING:  # pragma: no cover
    from auditor.simulator.server import _Handler

FaultKind = Literal["status", "reset", "slow", "truncated", "malformed", "loop_token", "empty_pages", "large_page",
                    "partial"]
PartialForm = Literal["unreachable", "warnings", "scope_warning"]
TOKEN_PREFIX = "fault-"
_PROJECT_IN_BODY = re.compile(rb'projects/([a-z][a-z0-9-]{4,28}[a-z0-9])')
_HTML = b"<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>\n"


class Fault(BaseModel):
    """One injected fault (also the schema of a scenario's ``faults:`` entries)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    api: str | None = None
    route: str | None = None
    path_regex: str | None = None
    project: str | None = None
    times: int | None = Field(default=None, ge=1)
    skip: int = Field(default=0, ge=0)
    status: int = Field(default=503, ge=400, le=599)
    reason: str | None = None
    message: str | None = None
    retry_after: int | None = Field(default=None, ge=0)
    delay: float = Field(default=5.0, ge=0)
    pages: int | None = Field(default=3, ge=1)
    size: int = Field(default=5_000_000, ge=1)
    form: PartialForm = "unreachable"
    scopes: tuple[str, ...] = ("us-east1",)

    def matches(self, api: str | None, route_key: str | None, path: str, project: str | None) -> bool:
        if self.api is not None and self.api != api:
            return False
        if self.route is not None and route_key is not None:
            if self.route != route_key and self.route != route_key.split(" ", 1)[1]:
                return False
        elif self.route is not None:
            return False
        if self.path_regex is not None and not re.search(self.path_regex, path):
            return False
        return self.project is None or self.project == project


@dataclass
class _State:
    fault: Fault
    index: int
    hits: int = 0
    replays: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return f"{TOKEN_PREFIX}{self.index}-"


@dataclass
class Answer:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # when set, sent as-is instead of the JSON of payload


class FaultInjector:
    """Applies faults around the server's normal answer. Thread-safe (the server is threaded)."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._states: list[_State] = []
        self.journal: list[tuple[str, str]] = []
        for fault in faults or []:
            self.add(fault)

    def add(self, fault: Fault | None = None, **spec: Any) -> Fault:
        fault = fault or Fault(**spec)
        with self._lock:
            self._states.append(_State(fault, len(self._states)))
        return fault

    def clear(self) -> None:
        with self._lock:
            self._states.clear()

    def hits(self, fault: Fault) -> int:
        with self._lock:
            return sum(s.hits for s in self._states if s.fault is fault)

    # -- the hook ------------------------------------------------------------------------------
    def serve(self, handler: "_Handler", method: str, path: str, body: bytes) -> None:
        """Answer one request: normally, or with the first matching fault applied."""
        with self._lock:
            self.journal.append((method, urlsplit(path).path))
        state, continuing = self._select(handler, method, path, body)
        if state is None:
            handler._send(handler._answer(method, path, body))
            return
        fault = state.fault
        if fault.kind == "status":
            error = ApiError(fault.status, fault.message or f"Injected fault: HTTP {fault.status}.", reason=fault.reason)
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            handler._send(Answer(fault.status, error.body(), headers))
        elif fault.kind == "reset":
            _reset(handler)
        elif fault.kind == "slow":
            time.sleep(fault.delay)
            handler._send(handler._answer(method, path, body))
        elif fault.kind == "truncated":
            answer = handler._answer(method, path, body)
            data = _encode(answer.payload)
            handler._send(Answer(answer.status, None, answer.headers, raw=data[: max(1, len(data) // 2)]))
        elif fault.kind == "malformed":
            handler._send(Answer(200, None, {}, raw=_HTML))
        elif fault.kind == "large_page":
            answer = handler._answer(method, path, body)
            handler._send(Answer(answer.status, _pad(answer.payload, fault.size), answer.headers))
        elif fault.kind == "partial":
            answer = handler._answer(method, path, body)
            if answer.status == 200 and isinstance(answer.payload, dict):
                answer = Answer(200, partial_payload(answer.payload, fault.form, fault.scopes), answer.headers)
            handler._send(answer)
        elif fault.kind == "loop_token":
            handler._send(self._loop(state, handler, method, path, body))
        elif fault.kind == "empty_pages":
            handler._send(self._empty(state, continuing, handler, method, path, body))

    def _select(self, handler: "_Handler", method: str, path: str, body: bytes) -> tuple[_State | None, str | None]:
        """The fault for this request; a request that carries a fault's own page token continues it."""
        if not self._states:  # the usual case: no fault to look for, nothing to parse
            return None, None
        carried = _carried_token(path, body)
        route_key, api, project = _describe(handler, method, path, body)
        with self._lock:
            if carried:
                for state in self._states:
                    if carried.startswith(state.token):
                        return state, carried
            for state in self._states:
                fault = state.fault
                if not fault.matches(api, route_key, urlsplit(path).path, project):
                    continue
                if fault.kind == "loop_token" and _key(path, body) in state.replays:
                    return state, None
                state.hits += 1
                if state.hits <= fault.skip:
                    continue
                if fault.times is not None and state.hits > fault.skip + fault.times:
                    continue
                return state, None
        return None, None

    def _loop(self, state: _State, handler: "_Handler", method: str, path: str, body: bytes) -> Answer:
        key = _key(path, body)
        with self._lock:
            stored = state.replays.get(key)
        if stored is None:
            answer = handler._answer(method, _strip_token(path), _strip_body_token(body))
            if answer.status != 200 or not isinstance(answer.payload, dict):
                return answer
            stored = {**answer.payload, "nextPageToken": answer.payload.get("nextPageToken") or state.token + "loop"}
            with self._lock:
                state.replays[key] = stored
        return Answer(200, stored)

    def _empty(self, state: _State, carried: str | None, handler: "_Handler", method: str, path: str, body: bytes) -> Answer:
        served = int(carried.rsplit("-", 1)[1]) if carried else 0
        limit = state.fault.pages
        if limit is None or served < limit:
            return Answer(200, {"nextPageToken": f"{state.token}{served + 1}"})
        return handler._answer(method, _strip_token(path), _strip_body_token(body))


def _describe(handler: "_Handler", method: str, path: str, body: bytes) -> tuple[str | None, str | None, str | None]:
    try:
        route, params = handler.sim.registry.resolve(method, urlsplit(path).path)
    except ApiError:
        return None, None, None
    project = params.get("project") or dict(parse_qsl(urlsplit(path).query)).get("project")  # storage: ?project=P
    if project is None and params.get("kind") == "projects":  # Cloud Asset: /v1/projects/P:batchGetAssetsHistory
        project = params.get("id")
    if project is None:
        found = _PROJECT_IN_BODY.search(body or b"")
        project = found.group(1).decode() if found else None
    return f"{route.method} {route.template}", route.api, project


def _carried_token(path: str, body: bytes) -> str | None:
    for name, value in parse_qsl(urlsplit(path).query):
        if name == "pageToken" and value.startswith(TOKEN_PREFIX):
            return value
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return None
    token = data.get("pageToken") if isinstance(data, dict) else None
    return token if isinstance(token, str) and token.startswith(TOKEN_PREFIX) else None


def _strip_token(path: str) -> str:
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not (k == "pageToken" and v.startswith(TOKEN_PREFIX))]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _strip_body_token(body: bytes) -> bytes:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return body
    if isinstance(data, dict) and str(data.get("pageToken", "")).startswith(TOKEN_PREFIX):
        data.pop("pageToken")
        return json.dumps(data).encode()
    return body


def _key(path: str, body: bytes) -> str:
    """The query without its page token: which listing a request belongs to."""
    parts = urlsplit(path)
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "pageToken")
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "pageToken"}
    return json.dumps([parts.path, query, data], sort_keys=True, default=str)


def partial_payload(payload: dict[str, Any], form: str, scopes: tuple[str, ...]) -> dict[str, Any]:
    """The real page, plus the API's own way of saying that `scopes` did not answer."""
    if form == "warnings":
        warnings = [{"code": "REGION_UNREACHABLE", "region": scope,
                     "message": f"Region {scope} is unreachable. The returned result set may be incomplete."} for scope in scopes]
        return {**payload, "warnings": [*payload.get("warnings", []), *warnings]}
    if form == "scope_warning":
        warnings = {scope: {"warning": {"code": "UNREACHABLE", "message": f"Scope {scope} is unreachable.",
                                        "data": [{"key": "scope", "value": scope}]}} for scope in scopes}
        items = payload.get("items")
        if items is None or isinstance(items, dict):
            return {**payload, "items": {**(items or {}), **warnings}}
        return {**payload, "warning": {"code": "UNREACHABLE", "message": f"Scopes {', '.join(scopes)} are unreachable.",
                                       "data": [{"key": "scope", "value": scope} for scope in scopes]}}
    return {**payload, "unreachable": [*payload.get("unreachable", []), *scopes]}


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, indent=2).encode() + b"\n"


def _pad(payload: Any, size: int) -> Any:
    """Make a page about `size` bytes big without changing what it says: a long, unread field."""
    if not isinstance(payload, dict):
        return payload
    lists = [v for v in payload.values() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
    if not lists:
        return {**payload, "padding": "x" * size}
    items = lists[0]
    share = max(1, size // len(items))
    padded = [{**item, "padding": "x" * share} for item in items]
    return {k: (padded if v is items else v) for k, v in payload.items()}


def _reset(handler: "_Handler") -> None:
    """Close the socket with SO_LINGER 0: the client sees a connection reset, never a response."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
