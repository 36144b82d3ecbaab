"""One capture layer for the three HTTP stacks the client libraries use.

google-api-python-client talks through httplib2, google-cloud-asset's REST transport and PyGithub
through requests. Each stack gets a thin wrapper that hands every response body, as received, to
the call currently running (a context variable set by the scheduler), so no collector has to
remember to save its evidence and every page is recorded exactly once.

The same wrappers apply the run's retry policy (auditor.retry) to the Google stacks: a failed
response is recorded as a page of its call (so the evidence shows the 429 or 503 that was retried),
and only then is the request sent again. GitHub's adapter does not retry: PyGithub's own retry,
below the adapter, follows GitHub's rate-limit guidance.
"""

from __future__ import annotations

import contextvars
import json
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httplib2
import requests
from requests.adapters import HTTPAdapter

from auditor import retry
from auditor.evidence.locker import CallRecorder

_current: contextvars.ContextVar[CallRecorder | None] = contextvars.ContextVar("auditor_current_call", default=None)

_SECRET_PARAMS = {"access_token", "key", "token", "client_secret", "sig", "signature"}
# Response headers worth keeping as evidence (what the identity may do, paging, rate limits). An
# allow-list, so a header carrying a secret can never slip in; request headers are never stored.
KEPT_HEADERS = ("X-OAuth-Scopes", "X-Accepted-OAuth-Scopes", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                "X-RateLimit-Reset", "X-RateLimit-Used", "X-RateLimit-Resource", "Retry-After", "Link",
                "X-GitHub-Request-Id", "X-GitHub-Enterprise-Version", "X-GitHub-SSO",
                "X-Accepted-GitHub-Permissions")


@contextmanager
def recording(recorder: CallRecorder) -> Iterator[CallRecorder]:
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def current_recorder() -> CallRecorder | None:
    """The record of the call running in this context (None outside a call)."""
    return _current.get()


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


def _pause(seconds: float) -> None:
    """A failed request is about to be sent again: count it on the running call, then wait."""
    recorder = _current.get()
    if recorder is not None:
        recorder.retried()
    retry.policy().sleep(seconds)


def _ascii_iri2uri(uri: Any, _general: Any = httplib2.iri2uri) -> Any:
    """httplib2's IRI-to-URI step, without its per-character pass when the URI is plain ASCII (where that
    pass changes nothing): a third of a millisecond per request, at thousands of requests a run."""
    if isinstance(uri, str) and uri.isascii():
        scheme, authority, path, query, fragment = urlsplit(uri)
        return urlunsplit((scheme, authority.encode("idna").decode("utf-8"), path, query, fragment))
    return _general(uri)


httplib2.iri2uri = _ascii_iri2uri  # the name httplib2.Http.request calls


class CapturingHttp(httplib2.Http):
    """httplib2.Http that records each response body and retries failures by the run's policy.
    Not thread-safe, like httplib2: one per worker thread."""

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, *args: Any, **kwargs: Any):
        attempt = 0
        while True:
            try:
                response, content = super().request(uri, method, body, headers, *args, **kwargs)
            except OSError as err:  # refused, reset or timed out before any response
                wait = retry.policy().after_error(attempt, err)
                if wait is None:
                    raise
                _pause(wait)
                attempt += 1
                continue
            _record(uri, int(response.status), content or b"", response.get("date"))
            wait = retry.policy().after_response(attempt, int(response.status), response, content or b"")
            if wait is None:
                return response, content
            _pause(wait)
            attempt += 1


class CapturingAdapter(HTTPAdapter):
    """requests transport adapter that records each response body (google-cloud-asset REST, PyGithub).

    `retrying=True` (google-cloud-asset) applies the run's retry policy; PyGithub passes False
    because its own retry (urllib3, inside this adapter's send) already follows GitHub's guidance."""

    def __init__(self, *args: Any, retrying: bool = True, **kwargs: Any) -> None:
        self.retrying = retrying
        super().__init__(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            try:
                response = super().send(request, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as err:
                timed_out = isinstance(err, requests.Timeout)
                cause: BaseException = TimeoutError(str(err)) if timed_out else ConnectionResetError(str(err))
                wait = retry.policy().after_error(attempt, cause) if self.retrying else None
                if wait is None:
                    raise
                _pause(wait)
                attempt += 1
                continue
            _record(request.url or "", response.status_code, response.content, response.headers.get("Date"),
                    kept_headers(response.headers))
            if response.status_code == 200 and response.links.get("next"):
                _guard_link(request.url or "", response)
            wait = (retry.policy().after_response(attempt, response.status_code, response.headers, response.content)
                    if self.retrying else None)
            if wait is None:
                return response
            _pause(wait)
            attempt += 1


def kept_headers(headers: Any) -> dict[str, str] | None:
    """The allow-listed response headers (case-insensitive mappings: requests', urllib3's), or None."""
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    return kept or None


def record_refused(url: str, status: int, body: bytes, headers: Any, *, retried: bool) -> None:
    """A response the client library handles below the adapter, where `CapturingAdapter.send` never sees it:
    PyGithub's retry (inside urllib3) raises on a 403 that is not a rate limit and on a 5xx once its retries
    are spent, so without this the body GitHub sent (its message, documentation_url, the SSO or scope
    headers) would reach the evidence only as an exception's summary. `retried`: the request is sent again."""
    recorder = _current.get()
    if recorder is None:
        return
    _record(url, status, body, headers.get("Date") if headers is not None else None,
            kept_headers(headers) if headers is not None else None)
    if retried:
        recorder.retried()


def _guard_link(url: str, response: requests.Response) -> None:
    """Link-header paging (PyGithub follows `rel="next"` for as long as it is sent, even over empty
    pages): the call's next URLs go through the same guard as every other pager, which raises
    PagingError to end the call on a repeated URL, endless empty pages or the page cap."""
    from auditor.collectors.paging import PageGuard  # collectors import this module

    recorder = _current.get()
    if recorder is None:
        return
    guard = getattr(recorder, "link_guard", None)
    if guard is None:
        guard = recorder.link_guard = PageGuard(f"{urlsplit(url).path} (Link-header paging)")
    body = response.content.strip()
    empty = body in (b"", b"[]", b"{}")
    if not empty and len(body) < 512:  # an empty search page is small: {"total_count": 0, "items": []}
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        empty = parsed == [] or (isinstance(parsed, dict) and not any(isinstance(v, list) and v for v in parsed.values()))
    guard.next_token({"nextPageToken": redact_url(response.links["next"]["url"]), "items": [] if empty else [1]})


def capture_session(session: requests.Session, adapter: HTTPAdapter | None = None) -> requests.Session:
    """Route a requests session's traffic through the capture layer."""
    adapter = adapter or CapturingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def record_local(uri: str, body: bytes) -> None:
    """Store a document the run read or observed locally (the declared inventory, the output of a git
    command run on a backup) as a page of the current call."""
    _record(uri, 200, body, None)
