"""Google-style error responses, raised from anywhere inside a handler.

Collectors classify failures by HTTP status plus ``ErrorInfo.reason`` (SERVICE_DISABLED vs
IAM_PERMISSION_DENIED), so the simulator must produce exactly the body shape Google does.
"""

from __future__ import annotations

from typing import Any

_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 405: "INVALID_ARGUMENT",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_LEGACY_REASON = {400: "badRequest", 403: "forbidden", 404: "notFound", 405: "badRequest",
                  429: "rateLimitExceeded", 500: "backendError", 503: "backendError"}

SERVICE_HOSTS = {
    "sqladmin": "sqladmin.googleapis.com",
    "logging": "logging.googleapis.com",
    "storage": "storage.googleapis.com",
    "cloudasset": "cloudasset.googleapis.com",
    "cloudkms": "cloudkms.googleapis.com",
    "monitoring": "monitoring.googleapis.com",
    "backupdr": "backupdr.googleapis.com",
}


class ApiError(Exception):
    """An HTTP error with a Google JSON error body."""

    def __init__(self, code: int, message: str, *, reason: str | None = None, details: list[dict] | None = None,
                 status: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.headers = dict(headers or {})  # extra response headers (Retry-After)
        self.code = code
        self.message = message
        self.reason = reason or _LEGACY_REASON.get(code, "error")
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.details = details or []

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
        }
        if self.details:
            err["details"] = self.details
        return {"error": err}


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message, reason="invalid")


def not_found(message: str, reason: str = "notFound") -> ApiError:
    return ApiError(404, message, reason=reason)


def _error_info(reason: str, api: str, project: str, **extra: str) -> dict[str, Any]:
    service = SERVICE_HOSTS.get(api, f"{api}.googleapis.com")
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": service, "consumer": f"projects/{project}", **extra},
    }


def service_disabled(api: str, project: str, number: str) -> ApiError:
    service = SERVICE_HOSTS.get(api, f"{api}.googleapis.com")
    msg = (f"{service} API has not been used in project {number} before or it is disabled. Enable it by visiting "
           f"https://console.developers.google.com/apis/api/{service}/overview?project={number} then retry.")
    return ApiError(403, msg, reason="accessNotConfigured",
                    details=[_error_info("SERVICE_DISABLED", api, number)])


def permission_denied(api: str, project: str) -> ApiError:
    msg = "The caller does not have permission" if api == "logging" else \
        "The client is not authorized to make this request."
    return ApiError(403, msg, reason="forbidden",
                    details=[_error_info("IAM_PERMISSION_DENIED", api, project)])
