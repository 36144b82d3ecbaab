"""Cloud KMS Admin Activity entries -> what each did to a key's versions (KmsVersionChange).

Read by the Cloud Logging source (auditor.facts.sources.audit_log) for the entries of a key's own
query (auditor.collectors.kms). Only successful entries count (`status.code` 0 or absent). What each
method leaves a version in, from the Cloud KMS API reference:

- DestroyCryptoKeyVersion only *schedules* destruction: DESTROY_SCHEDULED from the entry on (the key
  material goes at the version's destroyTime). Both states are unusable for what the version encrypts.
- RestoreCryptoKeyVersion cancels the schedule and leaves the version DISABLED (still unusable).
- UpdateCryptoKeyVersion (the only way to disable or enable: there is no DisableCryptoKeyVersion) sets
  `cryptoKeyVersion.state` when its `updateMask` names `state`. Whether the entry carries the request
  body is unconfirmed: without it the new state is unknown until the next read (state None).
- CreateCryptoKeyVersion names the new version only in its response (also unconfirmed); without it the
  entry says a version appeared, and the version's own createTime says which and when.
- UpdateCryptoKeyPrimaryVersion changes which version encrypts new data, no version's state.

A response body, where one is logged, says the state the call left the version in, and wins.
"""

from __future__ import annotations

from typing import Any

from auditor.facts.access import get, text, timestamp
from auditor.facts.controls import KEY_VERSION_STATES, KmsVersionChange, key_of_version

SERVICE = "cloudkms.googleapis.com"
#: the Admin Activity methods that change a version's state or a key's set of versions (short names, as logged)
METHODS = ("DestroyCryptoKeyVersion", "RestoreCryptoKeyVersion", "UpdateCryptoKeyVersion", "CreateCryptoKeyVersion",
           "UpdateCryptoKeyPrimaryVersion")
_LEFT_IN = {"DestroyCryptoKeyVersion": "DESTROY_SCHEDULED", "RestoreCryptoKeyVersion": "DISABLED"}


def short_method(method: str | None) -> str:
    """'google.cloud.kms.v1.KeyManagementService.DestroyCryptoKeyVersion' or 'DestroyCryptoKeyVersion' -> the short name."""
    return (method or "").rsplit(".", 1)[-1]


def is_kms_entry(proto: Any) -> bool:
    return isinstance(proto, dict) and (proto.get("serviceName") == SERVICE or short_method(proto.get("methodName")) in METHODS)


def _mask(request: dict[str, Any]) -> set[str] | None:
    """The update mask's paths (JSON: a comma-separated string; some renderings: {paths: [...]}); None when absent."""
    mask = request.get("updateMask")
    if isinstance(mask, str):
        return {p.strip() for p in mask.split(",") if p.strip()}
    if isinstance(mask, dict) and isinstance(mask.get("paths"), list):
        return {str(p) for p in mask["paths"]}
    return None


def _state(value: Any) -> str | None:
    return value if isinstance(value, str) and value in KEY_VERSION_STATES else None


def kms_change(entry: dict[str, Any], evidence: str) -> KmsVersionChange | None:
    """The change one successful KMS entry made; None for another method, a failed call, or an update
    that left the state alone (its mask names other fields)."""
    proto = entry.get("protoPayload") if isinstance(entry, dict) else None
    if not isinstance(proto, dict):
        return None
    method = short_method(text(proto, "methodName"))
    if method not in METHODS:
        return None
    code = get(proto, "status", "code")
    if code not in (None, 0):
        return None
    insert, when = text(entry, "insertId"), timestamp(entry.get("timestamp"))
    request = proto.get("request") if isinstance(proto.get("request"), dict) else None
    response = proto.get("response") if isinstance(proto.get("response"), dict) else None
    named = (text(proto, "resourceName") or (text(request, "name") if request else None)
             or (text(request, "cryptoKeyVersion", "name") if request else None))
    if not insert or not when or not named or "/cryptoKeys/" not in named:
        return None
    key_name = key_of_version(named)
    version = named if "/cryptoKeyVersions/" in named else None
    principal = text(proto, "authenticationInfo", "principalEmail")
    answered = _state(get(response, "state")) if response else None
    state: str | None
    primary = None
    if method in _LEFT_IN:
        state = answered or _LEFT_IN[method]
    elif method == "UpdateCryptoKeyVersion":
        body = request.get("cryptoKeyVersion") if request else None
        mask = _mask(request) if request else None
        if isinstance(body, dict) and mask is not None and "state" not in mask:
            return None  # another field (protection options ...): the state was left alone
        version = version or text(body, "name") if isinstance(body, dict) else version
        state = answered or (_state(body.get("state")) if isinstance(body, dict) else None)
    elif method == "CreateCryptoKeyVersion":
        version = text(response, "name") if response else None
        state = answered if version else None
    else:  # UpdateCryptoKeyPrimaryVersion
        number = text(request, "cryptoKeyVersionId") if request else None
        primary = f"{key_name}/cryptoKeyVersions/{number}" if number else None
        version, state = None, None
    return KmsVersionChange(key_name, version, when, method, state, principal, f"log:{insert}", primary, (evidence,))
