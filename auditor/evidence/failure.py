"""Turn a failed call into evidence: what failed, and why, in words and in a machine-readable kind."""

from __future__ import annotations

import http.client
import json
import re
import socket
from typing import Any

import httplib2
import requests
from googleapiclient.errors import HttpError

# ErrorInfo reasons (google.rpc.ErrorInfo) and legacy `errors[].reason` values, by kind.
_REASON_KINDS = {
    "SERVICE_DISABLED": "service_disabled",
    "accessNotConfigured": "service_disabled",
    "API_DISABLED": "service_disabled",
    "IAM_PERMISSION_DENIED": "permission_denied",
    "PERMISSION_DENIED": "permission_denied",
    "forbidden": "permission_denied",
    "insufficientPermissions": "permission_denied",
    "RATE_LIMIT_EXCEEDED": "rate_limited",
    "rateLimitExceeded": "rate_limited",
    "RESOURCE_EXHAUSTED": "rate_limited",
}
_STATUS_KINDS = {401: "permission_denied", 403: "permission_denied", 404: "not_found", 429: "rate_limited"}


def google_error_reason(body: bytes | str | None) -> tuple[str | None, str | None]:
    """(reason, message) from a Google error body; ErrorInfo.reason wins over legacy reasons."""
    if not body:
        return None, None
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo") and detail.get("reason"):
            return str(detail["reason"]), message
    for item in error.get("errors") or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"]), message
    return (str(error["status"]) if error.get("status") else None), message


_SECRET_IN_TEXT = re.compile(r"(?<=[?&\s])(access_token|key|token|client_secret|sig|signature)=[^&\s\"']+")


def redact_text(text: str) -> str:
    """Secrets that travel in URLs never reach an error message (HttpError's text quotes the URL)."""
    return _SECRET_IN_TEXT.sub(r"\1=REDACTED", text)


def describe_failure(err: BaseException) -> dict[str, Any]:
    """A JSON-ready description of why a call failed: http_status, reason, message, kind.

    Besides HTTP errors: a body that is not JSON (google-api-python-client's JsonModel raises
    json.JSONDecodeError, a ValueError, for truncated or malformed 200 responses) is `malformed`; a
    socket timeout (TimeoutError) is `timeout`; a reset or a connection closed before or during the
    response (ConnectionError, http.client.HTTPException such as RemoteDisconnected and
    IncompleteRead, httplib2 errors) is `transport`; a paged listing that loops is `paging_loop`.
    """
    status: int | None = None
    reason: str | None = None
    message = str(err) or type(err).__name__
    kind = "transport"
    if isinstance(getattr(err, "kind", None), str):  # our own errors say what they are (PagingError)
        kind = err.kind  # type: ignore[attr-defined]
    elif isinstance(err, HttpError):
        status = int(err.resp.status)
        reason, body_message = google_error_reason(err.content)
        message = body_message or message
        kind = _REASON_KINDS.get(reason or "", _STATUS_KINDS.get(status, "http"))
    elif isinstance(err, requests.HTTPError) and err.response is not None:
        status = err.response.status_code
        reason, body_message = google_error_reason(err.response.content)
        message = body_message or message
        kind = _REASON_KINDS.get(reason or "", _STATUS_KINDS.get(status, "http"))
    elif _is_github_error(err):
        status = getattr(err, "status", None)
        data = getattr(err, "data", None)
        message = (data.get("message") if isinstance(data, dict) else None) or type(err).__name__
        reason = type(err).__name__
        kind = "rate_limited" if "RateLimit" in reason else _STATUS_KINDS.get(status or 0, "http")
    elif _is_api_core_error(err):
        status = getattr(err, "code", None)
        reason = getattr(err, "reason", None)
        message = getattr(err, "message", message)
        kind = _REASON_KINDS.get(reason or "", _STATUS_KINDS.get(status or 0, "http"))
    elif isinstance(err, (socket.timeout, TimeoutError, requests.Timeout)):
        kind = "timeout"
    elif isinstance(err, (ConnectionError, http.client.HTTPException, httplib2.HttpLib2Error, requests.ConnectionError)):
        kind = "transport"
    elif isinstance(err, json.JSONDecodeError):
        kind, message = "malformed", f"the response body is not valid JSON ({err.msg} at character {err.pos})"
    elif isinstance(err, (ValueError, KeyError, TypeError)) or _is_protobuf_parse_error(err):
        kind = "malformed"  # protobuf's ParseError ("Failed to load JSON"): a google-cloud-* REST client's unary call
    return {"http_status": status, "reason": reason, "message": redact_text(message)[:2000], "kind": kind,
            "exception": type(err).__name__}


def _is_github_error(err: BaseException) -> bool:
    from github import GithubException

    return isinstance(err, GithubException)


def _is_protobuf_parse_error(err: BaseException) -> bool:
    from google.protobuf.json_format import ParseError

    return isinstance(err, ParseError)


def _is_api_core_error(err: BaseException) -> bool:
    try:
        from google.api_core import exceptions as core
    except ImportError:  # pragma: no cover - google-api-core is a dependency
        return False
    return isinstance(err, core.GoogleAPICallError)


KIND_WORDS = {
    "service_disabled": "the API is disabled",
    "permission_denied": "permission was denied",
    "not_found": "the resource was not found",
    "rate_limited": "the request was rate-limited",
    "timeout": "the request timed out",
    "malformed": "the response could not be parsed",
    "transport": "the connection failed",
    "paging_loop": "the paged listing did not end (a repeated page token, endless empty pages or too many pages)",
    "partial": "the API answered only in part (it named locations or scopes that did not answer)",
    "interrupted": "the run was interrupted before the call finished",
    "http": "the API returned an error",
}
