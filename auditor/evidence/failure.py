"""Turn a failed call into evidence: what failed, and why, in words and in a machine-readable kind."""

from __future__ import annotations

import json
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


def describe_failure(err: BaseException) -> dict[str, Any]:
    """A JSON-ready description of why a call failed: http_status, reason, message, kind."""
    status: int | None = None
    reason: str | None = None
    message = str(err) or type(err).__name__
    kind = "transport"
    if isinstance(err, HttpError):
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
    elif isinstance(err, (ValueError, KeyError, TypeError)) and not isinstance(err, httplib2.HttpLib2Error):
        kind = "malformed"
    return {"http_status": status, "reason": reason, "message": message[:2000], "kind": kind, "exception": type(err).__name__}


def _is_github_error(err: BaseException) -> bool:
    from github import GithubException

    return isinstance(err, GithubException)


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
    "http": "the API returned an error",
}
