"""One capture layer for the three HTTP stacks the client libraries use.

google-api-python-client talks through httplib2, google-cloud-asset's REST transport and PyGithub
through requests. Each stack gets a thin wrapper that hands every response body, as received, to
the call currently running (a context variable set by the scheduler), so no collector has to
remember to save its evidence and every page is recorded exactly once.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httplib2
import requests
from requests.adapters import HTTPAdapter

from auditor.evidence.locker import CallRecorder

_current: contextvars.ContextVar[CallRecorder | None] = contextvars.ContextVar("auditor_current_call", default=None)

_SECRET_PARAMS = {"access_token", "key", "token", "client_secret", "sig", "signature"}
# Response headers worth keeping as evidence (what the identity may do, paging, rate limits). An
# allow-list, so a header carrying a secret can never slip in; request headers are never stored.
KEPT_HEADERS = ("X-OAuth-Scopes", "X-Accepted-OAuth-Scopes", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                "X-RateLimit-Reset", "X-RateLimit-Used", "X-RateLimit-Resource", "Retry-After", "Link",
                "X-GitHub-Request-Id", "X-GitHub-Enterprise-Version")


@contextmanager
def recording(recorder: CallRecorder) -> Iterator[CallRecorder]:
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def redact_url(url: str) -> str:
    """Query parameters that carry secrets never reach the evidence."""
    parts = urlsplit(url)
    query = [(k, "REDACTED" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


def _record(url: str, status: int | None, body: bytes, date_header: str | None,
            headers: dict[str, str] | None = None) -> None:
    recorder = _current.get()
    if recorder is not None:
        recorder.page(redact_url(url) if "://" in url else url, status, body, date_header, headers=headers)


def record_local(label: str, body: bytes) -> None:
    """Store the output of a local observation (a git command run on a backup) in the running call."""
    _record(label, None, body, None)


class CapturingHttp(httplib2.Http):
    """httplib2.Http that records each response body. Not thread-safe, like httplib2: one per worker."""

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, *args: Any, **kwargs: Any):
        response, content = super().request(uri, method, body, headers, *args, **kwargs)
        _record(uri, int(response.status), content or b"", response.get("date"))
        return response, content


class CapturingAdapter(HTTPAdapter):
    """requests transport adapter that records each response body (google-cloud-asset REST, PyGithub)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        _record(request.url or "", response.status_code, response.content, response.headers.get("Date"), kept or None)
        return response


def capture_session(session: requests.Session, adapter: HTTPAdapter | None = None) -> requests.Session:
    """Route a requests session's traffic through the capture layer."""
    adapter = adapter or CapturingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def record_local(uri: str, body: bytes) -> None:
    """Store a document the run read locally (the declared inventory) as a page of the current call."""
    _record(uri, 200, body, None)
