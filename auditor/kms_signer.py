"""Signing with a Cloud KMS asymmetric key: the one call of the tool that is not read-only.

`asymmetricSign` needs `cloudkms.cryptoKeyVersions.useToSign` on the key (roles/cloudkms.signer, or
roles/cloudkms.signerVerifier), and `getPublicKey` needs `cloudkms.cryptoKeyVersions.viewPublicKey`
(in both roles). That identity is a different one from the auditing identity, which stays read-only:
its credentials are given separately (`--sign-credentials`), with the cloudkms scope.

Per the Cloud KMS API: for EC_SIGN_ED25519 the request carries the message itself in `data`
(PureEdDSA; at most 64 KiB); for EC_SIGN_P256_SHA256 it carries `digest.sha256`, the SHA-256 of the
message. Both ways send a CRC32C of what was sent, and the answer is checked as Google asks: the
`verified...Crc32c` flag, the signature's CRC32C and the key version's `name`. The signature is then
verified locally with the public key before it is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import google_crc32c
import httplib2

from auditor.signing import KMS_ALGORITHMS, KMS_PREFIX, KMS_SCOPES, SigningError, public_key_from_pem


def crc32c(data: bytes) -> int:
    return google_crc32c.value(data)


def signing_credentials(setting: str, *, where: str = "--sign-credentials") -> Any:
    """google-auth credentials of the signing identity: application-default, anonymous (the simulator) or a key file."""
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.oauth2 import service_account

    if setting == "anonymous":
        return AnonymousCredentials()
    if setting == "application-default":
        try:
            creds, _project = google.auth.default(scopes=KMS_SCOPES)
        except google.auth.exceptions.DefaultCredentialsError as err:
            raise SigningError(f"{where}: application default credentials not found: {err}") from err
        return creds
    try:
        return service_account.Credentials.from_service_account_file(setting, scopes=KMS_SCOPES)
    except (OSError, ValueError, KeyError) as err:
        raise SigningError(f"{where}: cannot load service-account key {setting!r}: {type(err).__name__}") from None


class KmsSigner:
    """A Cloud KMS key version (EC_SIGN_ED25519 or EC_SIGN_P256_SHA256) through the discovery client."""

    def __init__(self, name: str, *, credentials: Any, endpoint: str | None = None, timeout: float = 60) -> None:
        import google_auth_httplib2
        from googleapiclient.discovery import build

        self.name = name
        self.key_ref = KMS_PREFIX + name
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
        options = {"api_endpoint": endpoint} if endpoint else None
        service = build("cloudkms", "v1", http=http, static_discovery=True, cache_discovery=False, client_options=options)
        self._versions = service.projects().locations().keyRings().cryptoKeys().cryptoKeyVersions()
        self._public: Any = None
        self.algorithm: str | None = None

    def _execute(self, request: Any, what: str) -> dict[str, Any]:
        from googleapiclient.errors import HttpError

        try:
            return request.execute(num_retries=2)
        except HttpError as err:
            reason = ""
            try:
                error = json.loads(err.content)["error"]
                reason = error.get("status") or ""
                message = error.get("message") or ""
            except (ValueError, KeyError, TypeError):
                message = str(err)
            raise SigningError(f"Cloud KMS {what} for {self.name}: HTTP {err.resp.status} {reason} {message}".strip()) from err
        except (OSError, httplib2.HttpLib2Error) as err:
            raise SigningError(f"Cloud KMS {what} for {self.name}: {type(err).__name__}: {err}") from err

    def public_key(self) -> Any:
        if self._public is None:
            answer = self._execute(self._versions.getPublicKey(name=self.name), "getPublicKey")
            pem = answer.get("pem")
            if not isinstance(pem, str):
                raise SigningError(f"Cloud KMS getPublicKey for {self.name}: no PEM in the answer")
            if "pemCrc32c" in answer and int(answer["pemCrc32c"]) != crc32c(pem.encode()):
                raise SigningError(f"Cloud KMS getPublicKey for {self.name}: the PEM does not match its pemCrc32c (corrupted in transit)")
            algorithm = answer.get("algorithm")
            if algorithm not in KMS_ALGORITHMS:
                raise SigningError(f"Cloud KMS key {self.name} is {algorithm}: sign packs with EC_SIGN_ED25519 or EC_SIGN_P256_SHA256")
            self.algorithm = algorithm
            self._public = public_key_from_pem(pem, f"Cloud KMS getPublicKey for {self.name}")
        return self._public

    def sign(self, payload: bytes) -> bytes:
        self.public_key()
        if self.algorithm == "EC_SIGN_ED25519":
            body = {"data": base64.b64encode(payload).decode(), "dataCrc32c": str(crc32c(payload))}
            flag = "verifiedDataCrc32c"
        else:
            digest = hashlib.sha256(payload).digest()
            body = {"digest": {"sha256": base64.b64encode(digest).decode()}, "digestCrc32c": str(crc32c(digest))}
            flag = "verifiedDigestCrc32c"
        answer = self._execute(self._versions.asymmetricSign(name=self.name, body=body), "asymmetricSign")
        if answer.get("name") != self.name:
            raise SigningError(f"Cloud KMS asymmetricSign answered for {answer.get('name')!r}, not {self.name}")
        if answer.get(flag) is not True:
            raise SigningError(f"Cloud KMS asymmetricSign for {self.name}: {flag} is not true (the request was not checked)")
        try:
            signature = base64.b64decode(answer["signature"], validate=True)
        except (KeyError, TypeError, ValueError) as err:
            raise SigningError(f"Cloud KMS asymmetricSign for {self.name}: no readable signature in the answer") from err
        if "signatureCrc32c" not in answer or int(answer["signatureCrc32c"]) != crc32c(signature):
            raise SigningError(f"Cloud KMS asymmetricSign for {self.name}: the signature does not match its signatureCrc32c")
        return signature
