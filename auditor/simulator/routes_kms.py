"""Cloud KMS v1: cryptoKeys.get, cryptoKeyVersions.list, cryptoKeys.testIamPermissions, and for signing keys
getPublicKey and asymmetricSign.

Key versions carry the scenario's states; DESTROY_SCHEDULED versions get a destroyTime after the
clock (the default 30-day schedule), DESTROYED ones a destroyTime before it. Page cap 1000.

Signing keys (purpose ASYMMETRIC_SIGN) hold real key material, generated on first use for each
loaded scenario, so a signature made here verifies with the PEM served here and with nothing else.
The API's rules are kept: EC_SIGN_ED25519 signs `data` (at most 64 KiB) and refuses a `digest`;
EC_SIGN_P256_SHA256 signs a SHA-256 `digest` and refuses `data` here; a CRC32C sent is checked and
the answer says so; only an ENABLED version signs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

import google_crc32c
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

from auditor.simulator.apierror import ApiError, invalid_argument, not_found
from auditor.simulator.memo import memo
from auditor.simulator.paging import page_size, paginate, query_key
from auditor.simulator.routes_sqladmin import ts
from auditor.simulator.routing import Request, Route
from auditor.simulator.scenario_controls import KmsKey

API = "cloudkms"
PAGE_CAP = 1000
DESTROY_SCHEDULE = dt.timedelta(days=30)


def _key(req: Request) -> tuple[str, KmsKey]:
    p = req.params
    project = req.project(p["project"], API)
    for key in project.kms_keys:
        if (key.location, key.key_ring, key.name) == (p["location"], p["keyRing"], p["cryptoKey"]):
            return project.id, key
    name = f"projects/{p['project']}/locations/{p['location']}/keyRings/{p['keyRing']}/cryptoKeys/{p['cryptoKey']}"
    raise not_found(f"CryptoKey {name} not found.")


def _history_version(project: str, key: KmsKey, number: int, now: dt.datetime) -> dict[str, Any]:
    """A version of a key with a history: its state at `now`, with the fields the reference documents for
    it (destroyTime only while DESTROY_SCHEDULED, destroyEventTime once DESTROYED)."""
    versions, _primary = key.states_at(now)
    v = versions[number - 1]
    body: dict[str, Any] = {"name": f"{key.full_name(project)}/cryptoKeyVersions/{number}", "state": v.state,
                            "createTime": ts(v.created), "generateTime": ts(v.created), "protectionLevel": "SOFTWARE",
                            "algorithm": key.algorithm}
    if v.state == "DESTROY_SCHEDULED" and v.destroy_time is not None:
        body["destroyTime"] = ts(v.destroy_time)
    elif v.state == "DESTROYED" and v.destroyed is not None:
        body["destroyEventTime"] = ts(v.destroyed)
    return body


def version_count(key: KmsKey, now: dt.datetime) -> int:
    return len(key.states_at(now)[0]) if key.history else len(key.versions)


def version_json(project: str, key: KmsKey, number: int, now: dt.datetime) -> dict[str, Any]:
    if key.history:
        return _history_version(project, key, number, now)
    state = key.versions[number - 1]
    created = key.create_time + dt.timedelta(days=90 * (number - 1))
    body: dict[str, Any] = {
        "name": f"{key.full_name(project)}/cryptoKeyVersions/{number}",
        "state": state,
        "createTime": ts(created),
        "generateTime": ts(created),
        "protectionLevel": "SOFTWARE",
        "algorithm": key.algorithm,
    }
    if state == "DESTROY_SCHEDULED":
        body["destroyTime"] = ts(now.replace(microsecond=0) + DESTROY_SCHEDULE - dt.timedelta(days=3))
    elif state == "DESTROYED":
        when = now.replace(microsecond=0) - dt.timedelta(days=10)
        body["destroyTime"] = ts(when)
        body["destroyEventTime"] = ts(when)
    return body


def get_key(req: Request) -> dict[str, Any]:
    project, key = _key(req)
    body: dict[str, Any] = {
        "name": key.full_name(project),
        "purpose": key.purpose,
        "createTime": ts(key.create_time),
        "versionTemplate": {"protectionLevel": "SOFTWARE", "algorithm": key.algorithm},
        "destroyScheduledDuration": f"{key.destroy_scheduled_days * 86400}s",
    }
    primary = key.primary_version() if key.purpose == "ENCRYPT_DECRYPT" else None  # only symmetric keys have a primary
    if key.history and primary is not None:
        primary = key.states_at(req.scenario.now)[1]
    if primary is not None:
        body["primary"] = version_json(project, key, primary, req.scenario.now)
    return body


def list_versions(req: Request) -> dict[str, Any]:
    project, key = _key(req)
    if req.query.get("filter") or req.query.get("orderBy"):
        raise invalid_argument("The simulator does not support filter or orderBy on cryptoKeyVersions.list.")
    if req.query.get("view") not in (None, "", "CRYPTO_KEY_VERSION_VIEW_UNSPECIFIED", "FULL"):
        raise invalid_argument(f"Invalid value for view: {req.query['view']!r}")
    count = version_count(key, req.scenario.now)
    versions = [version_json(project, key, n, req.scenario.now) for n in range(1, count + 1)]
    size = page_size(req.query.get("pageSize"), name="pageSize", default=PAGE_CAP, cap=PAGE_CAP)
    page, nxt = paginate(versions, req.query.get("pageToken"), size, query_key("cryptoKeyVersions", key.full_name(project)))
    out: dict[str, Any] = {"totalSize": len(versions)}
    if page:
        out["cryptoKeyVersions"] = page
    if nxt:
        out["nextPageToken"] = nxt
    return out


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, reason="failedPrecondition", status="FAILED_PRECONDITION")


def _crc(data: bytes) -> int:
    return google_crc32c.value(data)


def _signing_version(req: Request) -> tuple[str, KmsKey, int, Any]:
    """(version name, key, number, private key) of a signing key version that may sign now."""
    project, key = _key(req)
    name = f"{key.full_name(project)}/cryptoKeyVersions/{req.params['version']}"
    try:
        number = int(req.params["version"])
    except ValueError:
        raise not_found(f"CryptoKeyVersion {name} not found.") from None
    if not 1 <= number <= len(key.versions):
        raise not_found(f"CryptoKeyVersion {name} not found.")
    if key.purpose != "ASYMMETRIC_SIGN":
        raise failed_precondition(f"{name} has purpose {key.purpose}, not ASYMMETRIC_SIGN.")
    if key.versions[number - 1] != "ENABLED":
        raise failed_precondition(f"The request cannot be fulfilled. Resource {name} has value {key.versions[number - 1]} "
                                  "in field crypto_key_version.state.")

    def generate() -> Any:
        return ed25519.Ed25519PrivateKey.generate() if key.algorithm == "EC_SIGN_ED25519" else ec.generate_private_key(ec.SECP256R1())

    return name, key, number, memo(req.scenario).get(("kms-signing-key", name), generate)


def get_public_key(req: Request) -> dict[str, Any]:
    name, key, _number, private = _signing_version(req)
    if req.query.get("publicKeyFormat") not in (None, "", "PUBLIC_KEY_FORMAT_UNSPECIFIED"):
        raise invalid_argument(f"The simulator serves only the pem field (publicKeyFormat {req.query['publicKeyFormat']!r}).")
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"pem": pem, "algorithm": key.algorithm, "pemCrc32c": str(_crc(pem.encode())), "name": name,
            "protectionLevel": "SOFTWARE"}


def _bytes_field(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise invalid_argument(f"Invalid value at '{field}' (TYPE_BYTES): expected a base64 string")
    try:
        return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_argument(f"Invalid value at '{field}' (TYPE_BYTES), Base64 decoding failed") from None


def _checked_crc(body: dict[str, Any], field: str, data: bytes) -> bool:
    if field not in body:
        return False
    try:
        sent = int(body[field])
    except (TypeError, ValueError):
        raise invalid_argument(f"Invalid value at '{field}' (TYPE_INT64)") from None
    if sent != _crc(data):
        raise invalid_argument(f"The checksum in field {field} did not match the data in the request.")
    return True


def asymmetric_sign(req: Request) -> dict[str, Any]:
    name, key, _number, private = _signing_version(req)
    body = req.body if isinstance(req.body, dict) else {}
    unknown = set(body) - {"data", "dataCrc32c", "digest", "digestCrc32c"}
    if unknown:
        raise invalid_argument(f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r}.")
    if ("data" in body) == ("digest" in body):
        raise invalid_argument("Exactly one of data or digest must be given.")
    verified_data = verified_digest = False
    if key.algorithm == "EC_SIGN_ED25519":
        if "digest" in body:
            raise invalid_argument(f"{name} uses EC_SIGN_ED25519, which signs data, not a digest.")
        data = _bytes_field(body["data"], "data")
        if len(data) > 64 * 1024:
            raise invalid_argument("The data to sign is larger than 65536 bytes.")
        verified_data = _checked_crc(body, "dataCrc32c", data)
        signature = private.sign(data)
    else:
        if "data" in body:
            raise invalid_argument(f"{name} uses EC_SIGN_P256_SHA256: give the SHA-256 digest of the data.")
        digest = body["digest"] if isinstance(body["digest"], dict) else {}
        if set(digest) != {"sha256"}:
            raise invalid_argument(f"{name} uses EC_SIGN_P256_SHA256: the digest must be digest.sha256.")
        value = _bytes_field(digest["sha256"], "digest.sha256")
        if len(value) != 32:
            raise invalid_argument("digest.sha256 must be 32 bytes.")
        verified_digest = _checked_crc(body, "digestCrc32c", value)
        signature = private.sign(value, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    return {"signature": base64.b64encode(signature).decode(), "signatureCrc32c": str(_crc(signature)),
            "verifiedDigestCrc32c": verified_digest, "verifiedDataCrc32c": verified_data, "name": name,
            "protectionLevel": "SOFTWARE"}


def test_key_permissions(req: Request) -> dict[str, Any]:
    """cryptoKeys.testIamPermissions (the IAM mixin): the asked permissions the caller holds on the key. It needs
    no permission of its own, and a key that does not exist answers the empty set, not NOT_FOUND, as the
    reference says; the project's `permission_denied: [cloudkms]` withholds cloudkms.*, and a write permission is
    held only when the project's `write_permissions` lists it (as the Resource Manager route does)."""
    from auditor.simulator import apierror
    from auditor.simulator.routes_resourcemanager import granted_of

    p = req.params
    project = req.scenario.project(p["project"])
    if project is not None and API in project.apis_disabled:
        raise apierror.service_disabled(API, project.id, project.number)
    body = req.body if isinstance(req.body, dict) else {}
    asked = body.get("permissions")
    if not isinstance(asked, list) or not all(isinstance(x, str) for x in asked):
        raise invalid_argument("permissions: a list of permission names is required.")
    exists = project is not None and any((k.location, k.key_ring, k.name) == (p["location"], p["keyRing"], p["cryptoKey"])
                                         for k in project.kms_keys)
    granted = granted_of(project, asked) if exists else []
    return {"permissions": granted} if granted else {}


_KEY = "/v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}"
ROUTES = [
    Route("POST", _KEY + ":testIamPermissions", API, test_key_permissions),
    Route("GET", _KEY, API, get_key),
    Route("GET", _KEY + "/cryptoKeyVersions", API, list_versions,
          frozenset({"pageSize", "pageToken", "filter", "orderBy", "view"})),
    Route("GET", _KEY + "/cryptoKeyVersions/{version}/publicKey", API, get_public_key, frozenset({"publicKeyFormat"})),
    Route("POST", _KEY + "/cryptoKeyVersions/{version}:asymmetricSign", API, asymmetric_sign),
]
