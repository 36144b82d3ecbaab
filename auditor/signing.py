"""Detached signatures over an evidence pack: who vouches for the pack, not only that it is consistent.

Every digest in a pack can be recomputed by anyone who edits it (`auditor report` rewrites the pack
manifest last), so a consistent rewrite is undetectable without a key the forger does not hold. A
signature binds the pack manifest (which lists every file with its SHA-256) to a key.

What is signed is a small statement, not the manifest itself: a quarter's pack manifest can be
megabytes, and Cloud KMS takes at most 64 KiB of `data` for Ed25519. The statement names the pack
manifest's SHA-256 and size, the results digest and the key; `pack-signature.json` stores the
statement's exact bytes (base64) beside the signature, so nothing is re-serialised before checking.

Keys: an Ed25519 (or EC P-256) private key in a PEM file written by `auditor keygen`, or a Cloud KMS
asymmetric signing key version named `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`
(EC_SIGN_ED25519 or EC_SIGN_P256_SHA256), used through `asymmetricSign` with the discovery client.
The public key is a PEM SubjectPublicKeyInfo: what `keygen` writes to PREFIX.pub and what KMS
`getPublicKey` returns. Its fingerprint is `SHA256:` and the hex SHA-256 of its DER encoding.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from auditor.errors import AuditorError
from auditor.reading import parse_json

SIGNATURE_FILE = "pack-signature.json"
PACK_MANIFEST = "pack-manifest.json"
SCHEMA = "auditor.pack-signature/v1"
STATEMENT_SCHEMA = "auditor.pack-statement/v1"
KMS_PREFIX = "gcpkms://"
ED25519 = "ed25519"
ECDSA_P256 = "ecdsa-p256-sha256"
# The KMS algorithms a pack can be signed with, and how each wants its input (Cloud KMS docs:
# EC_SIGN_ED25519 signs `data` (PureEdDSA, at most 64 KiB); EC_SIGN_P256_SHA256 signs a SHA-256 `digest`).
KMS_ALGORITHMS = {"EC_SIGN_ED25519": ED25519, "EC_SIGN_P256_SHA256": ECDSA_P256}
KMS_SCOPES = ["https://www.googleapis.com/auth/cloudkms"]
_KMS_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+/cryptoKeyVersions/[^/]+$")


class SigningError(AuditorError):
    """A key cannot be made, read or used (usage error: exit 2)."""

    exit_code = 2


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def fingerprint(public_key: Any) -> str:
    """`SHA256:<hex>` of the key's DER SubjectPublicKeyInfo: one name for a key whatever holds it."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def algorithm_of(public_key: Any) -> str:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return ED25519
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return ECDSA_P256
    raise SigningError(f"unsupported key type {type(public_key).__name__}: use Ed25519 or EC P-256")


# ----------------------------------------------------------------------------------------- keys

def keygen(prefix: Path) -> str:
    """Write an Ed25519 pair: PREFIX (PKCS#8 PEM, mode 0600, created so) and PREFIX.pub. Returns the fingerprint.

    Never overwrites: a signing key replaced by accident cannot be recovered, and packs signed with it
    would no longer verify against the new public key.
    """
    prefix = Path(prefix)
    public_path = prefix.with_name(prefix.name + ".pub")
    for path in (prefix, public_path):
        if path.exists() or path.is_symlink():
            raise SigningError(f"{path}: already exists; keygen never overwrites a key (choose another --out)")
    if not prefix.parent.is_dir():
        raise SigningError(f"{prefix.parent}: no such folder for --out")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        # O_EXCL with mode 0600 at creation: the private key is never readable by others, not even briefly.
        fd = os.open(prefix, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        os.chmod(prefix, 0o600)  # the umask can only remove bits; make the mode exact
        with open(public_path, "xb") as handle:
            handle.write(public_pem)
    except OSError as err:
        raise SigningError(f"{prefix}: cannot write the key pair: {err.strerror or err}") from err
    return fingerprint(key.public_key())


def load_public_key(path: Path) -> Any:
    """A PEM public key (keygen's PREFIX.pub, or KMS getPublicKey's `pem`, as PEM or as its JSON answer)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SigningError(f"{path}: cannot read the public key: {err.strerror or err}") from err
    if raw.lstrip().startswith(b"{"):
        try:
            pem = json.loads(raw)["pem"]
            raw = pem.encode() if isinstance(pem, str) else b""
        except (ValueError, KeyError, TypeError) as err:
            raise SigningError(f"{path}: a JSON public key must be getPublicKey's answer with a 'pem' field") from err
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError) as err:
        raise SigningError(f"{path}: not a PEM public key ({err})") from err
    algorithm_of(key)
    return key


def public_key_from_pem(pem: str, where: str) -> Any:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as err:
        raise SigningError(f"{where}: not a PEM public key ({err})") from err
    algorithm_of(key)
    return key


class Signer(Protocol):
    key_ref: str  # what the signature file names as the key: "file" or the gcpkms:// name

    def public_key(self) -> Any: ...

    def sign(self, payload: bytes) -> bytes: ...


@dataclass
class FileSigner:
    """A private key in a PEM file (Ed25519 from `auditor keygen`, or EC P-256)."""

    path: Path
    key_ref: str = "file"

    def __post_init__(self) -> None:
        try:
            raw = Path(self.path).read_bytes()
        except OSError as err:
            raise SigningError(f"{self.path}: cannot read the signing key: {err.strerror or err}") from err
        try:
            self._key = serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError) as err:
            raise SigningError(f"{self.path}: not an unencrypted PEM private key ({err})") from err
        self.algorithm = algorithm_of(self._key.public_key())

    def public_key(self) -> Any:
        return self._key.public_key()

    def sign(self, payload: bytes) -> bytes:
        if self.algorithm == ED25519:
            return self._key.sign(payload)
        return self._key.sign(payload, ec.ECDSA(hashes.SHA256()))


def kms_name(key: str) -> str:
    """gcpkms://projects/P/.../cryptoKeyVersions/N -> the key version's resource name (checked)."""
    name = key[len(KMS_PREFIX):]
    if not _KMS_NAME.match(name):
        raise SigningError(f"--key {key!r}: expected gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N")
    return name


def make_signer(key: str, *, credentials: Any = None, kms_endpoint: str | None = None) -> Signer:
    """`--key`: a private-key file, or a gcpkms:// key version (then `credentials`, a google-auth
    Credentials for the signing identity, are required: never the auditing identity's read-only ones)."""
    if key.startswith(KMS_PREFIX):
        from auditor.kms_signer import KmsSigner

        name = kms_name(key)
        if credentials is None:
            raise SigningError("--key gcpkms://...: no credentials for the signing identity")
        return KmsSigner(name, credentials=credentials, endpoint=kms_endpoint)
    return FileSigner(Path(key))


# ------------------------------------------------------------------------------ sign and verify

def _sha(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def sign_pack(pack: Path, signer: Signer) -> dict[str, Any]:
    """Write PACK/pack-signature.json over PACK/pack-manifest.json as it is now. Returns the signature document."""
    pack = Path(pack)
    manifest_path = pack / PACK_MANIFEST
    if not manifest_path.is_file() or manifest_path.is_symlink():
        raise SigningError(f"{pack}: no {PACK_MANIFEST} to sign (give the folder `auditor run --out` wrote)")
    sha, size = _sha(manifest_path)
    manifest = parse_json(manifest_path.read_bytes(), f"{manifest_path} (refusing to sign it)", error=SigningError)
    public = signer.public_key()
    statement = {
        "schema": STATEMENT_SCHEMA,
        "pack_manifest": {"path": PACK_MANIFEST, "sha256": sha, "bytes": size},
        "results_sha256": manifest.get("results_sha256") if isinstance(manifest, dict) else None,
        "signed_at": utc_now().isoformat().replace("+00:00", "Z"),
        "key": {"ref": signer.key_ref, "fingerprint": fingerprint(public), "algorithm": algorithm_of(public)},
    }
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    signature = signer.sign(payload)
    _check(public, signature, payload)  # never write a signature that does not verify (a wrong KMS key, a bad answer)
    document = {"schema": SCHEMA, "payload": base64.b64encode(payload).decode(), "signature": base64.b64encode(signature).decode(),
                "key": statement["key"], "signed_at": statement["signed_at"]}
    from auditor.evidence.locker import atomic_write

    atomic_write(pack / SIGNATURE_FILE, (json.dumps(document, indent=2) + "\n").encode())
    return document


def _check(public_key: Any, signature: bytes, payload: bytes) -> bool:
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, payload)
        else:
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass
class SignatureCheck:
    """The outcome of checking pack-signature.json: `ok` only for a valid signature, by the given key,
    over the pack manifest as it is now."""

    ok: bool
    present: bool
    key_fingerprint: str | None  # the given key's
    signer_fingerprint: str | None  # the one the signature file names
    signed_at: str | None = None
    key_ref: str | None = None
    problem: str | None = None


def verify_signature(pack: Path, public_key: Any) -> SignatureCheck:
    pack = Path(pack)
    given = fingerprint(public_key)
    path = pack / SIGNATURE_FILE
    if path.is_symlink() or not path.is_file():
        return SignatureCheck(False, False, given, None, problem=f"{SIGNATURE_FILE} is missing: the pack is not signed")
    try:
        document = parse_json(path.read_bytes(), SIGNATURE_FILE, error=ValueError)
        payload = base64.b64decode(document["payload"], validate=True)
        signature = base64.b64decode(document["signature"], validate=True)
        statement = parse_json(payload, f"{SIGNATURE_FILE} payload", error=ValueError)
        named = statement["key"]["fingerprint"]
        recorded = statement["pack_manifest"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        return SignatureCheck(False, True, given, None, problem=f"{SIGNATURE_FILE} cannot be read ({type(err).__name__}: {err})")
    result = SignatureCheck(False, True, given, named, signed_at=statement.get("signed_at"), key_ref=statement["key"].get("ref"))
    if statement.get("schema") != STATEMENT_SCHEMA:
        result.problem = f"{SIGNATURE_FILE}: unknown statement schema {statement.get('schema')!r}"
    elif not _check(public_key, signature, payload):
        result.problem = (f"the signature does not verify with the given key {given}"
                          + (f" (the pack names key {named})" if named != given else ""))
    elif named != given:
        result.problem = f"the signature file names key {named}, not the given key {given}"
    elif not (pack / PACK_MANIFEST).is_file() or (pack / PACK_MANIFEST).is_symlink():
        result.problem = f"{PACK_MANIFEST} is missing"
    elif _sha(pack / PACK_MANIFEST)[0] != recorded:
        result.problem = (f"{PACK_MANIFEST} is not the one that was signed (signed SHA-256 {recorded[:16]}…, now "
                          f"{_sha(pack / PACK_MANIFEST)[0][:16]}…): the pack was re-written after signing")
    else:
        result.ok = True
    return result
