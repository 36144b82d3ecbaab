"""Packs signed with a Cloud KMS key: the discovery client over real HTTP against the simulator on 127.0.0.1.

The simulator's signing keys hold real key material made for each loaded scenario, so a signature
verifies only with the PEM its getPublicKey serves. Credentials are passed explicitly (anonymous:
the simulator does not authenticate). The API's rules are checked on the requests the signer sends
(Ed25519 signs `data`, P-256 a SHA-256 `digest`, each with its CRC32C), and the signer's checks of
the answer are tried with answers transcribed from the API reference's AsymmetricSignResponse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import google_crc32c
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from typer.testing import CliRunner

from auditor.cli import app
from auditor.kms_signer import KmsSigner
from auditor.signing import KMS_PREFIX, SigningError, load_public_key, sign_pack
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario
from auditor.verify import verify_pack

RING = "projects/bks-sign/locations/asia-southeast1/keyRings/evidence"


def _scenario():
    keys = [{"key_ring": "evidence", "name": "ed", "location": "asia-southeast1", "versions": ["ENABLED"],
             "purpose": "ASYMMETRIC_SIGN", "algorithm": "EC_SIGN_ED25519"},
            {"key_ring": "evidence", "name": "p256", "location": "asia-southeast1", "versions": ["DISABLED", "ENABLED"],
             "purpose": "ASYMMETRIC_SIGN", "algorithm": "EC_SIGN_P256_SHA256"},
            {"key_ring": "evidence", "name": "symmetric", "location": "asia-southeast1", "versions": ["ENABLED"]}]
    return parse_scenario({"name": "kms", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-20",
                           "organization": {"id": "42", "display_name": "t.example"},
                           "projects": [{"id": "bks-sign", "number": "303", "kms_keys": keys}]})


@pytest.fixture(scope="module")
def sim():
    with Simulator(_scenario()) as simulator:
        yield simulator


@pytest.fixture
def pack(sample_pack, tmp_path) -> Path:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack.out, copy, symlinks=True)
    return copy


def version(key: str, number: int = 1) -> str:
    return f"{RING}/cryptoKeys/{key}/cryptoKeyVersions/{number}"


def signer(sim, key: str, number: int = 1) -> KmsSigner:
    return KmsSigner(version(key, number), credentials=AnonymousCredentials(), endpoint=sim.url)


@pytest.mark.parametrize("key,number", [("ed", 1), ("p256", 2)])
def test_a_pack_signed_through_kms_verifies_with_the_pem_get_public_key_returns(sim, pack, tmp_path, key, number):
    document = sign_pack(pack, signer(sim, key, number))
    assert document["key"]["ref"] == KMS_PREFIX + version(key, number)
    answer = requests.get(f"{sim.url}/v1/{version(key, number)}/publicKey", timeout=10).json()
    (tmp_path / "kms.pem").write_text(answer["pem"])
    outcome = verify_pack(pack, load_public_key(tmp_path / "kms.pem"))
    assert outcome.intact, outcome.lines()
    assert outcome.signer == document["key"]["fingerprint"]
    (tmp_path / "answer.json").write_text(json.dumps(answer))  # getPublicKey's JSON answer is accepted as well
    assert verify_pack(pack, load_public_key(tmp_path / "answer.json")).intact


def test_the_cli_signs_with_a_kms_key_and_verify_names_its_fingerprint(sim, pack, tmp_path):
    result = CliRunner().invoke(app, ["sign", str(pack), "--key", KMS_PREFIX + version("ed"),
                                      "--sign-credentials", "anonymous", "--kms-endpoint", sim.url])
    assert result.exit_code == 0, result.output
    pem = requests.get(f"{sim.url}/v1/{version('ed')}/publicKey", timeout=10).json()["pem"]
    (tmp_path / "kms.pem").write_text(pem)
    result = CliRunner().invoke(app, ["verify", str(pack), "--public-key", str(tmp_path / "kms.pem")])
    assert result.exit_code == 0, result.output
    document = json.loads((pack / "pack-signature.json").read_text())
    assert f"signed by key {document['key']['fingerprint']}" in result.output


def test_a_kms_signature_does_not_verify_with_another_scenarios_key(pack, tmp_path):
    with Simulator(_scenario()) as first:
        sign_pack(pack, signer(first, "ed"))
    with Simulator(_scenario()) as second:  # a new key per scenario run: the same name, other material
        pem = requests.get(f"{second.url}/v1/{version('ed')}/publicKey", timeout=10).json()["pem"]
    (tmp_path / "other.pem").write_text(pem)
    outcome = verify_pack(pack, load_public_key(tmp_path / "other.pem"))
    assert not outcome.intact and any("does not verify" in p for p in outcome.problems)


def test_the_simulator_keeps_the_apis_digest_and_data_rules(sim):
    data = b"statement"
    digest = hashlib.sha256(data).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    sign = lambda key, body, n=1: requests.post(f"{sim.url}/v1/{version(key, n)}:asymmetricSign", json=body, timeout=10)  # noqa: E731
    assert sign("ed", {"digest": {"sha256": b64(digest)}}).status_code == 400  # Ed25519 signs data
    assert sign("p256", {"data": b64(data)}, 2).status_code == 400  # P-256 here takes a digest
    assert sign("ed", {"data": b64(data), "dataCrc32c": str(google_crc32c.value(data) ^ 1)}).status_code == 400
    assert sign("p256", {"digest": {"sha256": b64(digest)}}, 1).status_code == 400  # a DISABLED version
    assert sign("symmetric", {"data": b64(data)}).status_code == 400  # not a signing key
    answer = sign("ed", {"data": b64(data), "dataCrc32c": str(google_crc32c.value(data))}).json()
    assert answer["verifiedDataCrc32c"] is True and answer["verifiedDigestCrc32c"] is False
    assert int(answer["signatureCrc32c"]) == google_crc32c.value(base64.b64decode(answer["signature"]))


class _Fake:
    """A version collection whose requests answer with a transcribed AsymmetricSignResponse."""

    def __init__(self, public: dict, answer: dict):
        self.public, self.answer = public, answer

    def getPublicKey(self, name):  # noqa: N802 - the API's name
        return _Req(self.public)

    def asymmetricSign(self, name, body):  # noqa: N802
        return _Req(self.answer)


class _Req:
    def __init__(self, value):
        self.value = value

    def execute(self, num_retries=0):
        return self.value


def _kms_with(sim, mutate) -> KmsSigner:
    real = signer(sim, "ed")
    public = real._versions.getPublicKey(name=real.name).execute()
    payload = b"payload"
    signed = real._versions.asymmetricSign(name=real.name, body={
        "data": base64.b64encode(payload).decode(), "dataCrc32c": str(google_crc32c.value(payload))}).execute()
    fake = signer(sim, "ed")
    fake._versions = _Fake(public, mutate(dict(signed)))
    return fake


@pytest.mark.parametrize("mutate,message", [
    (lambda a: {**a, "verifiedDataCrc32c": False}, "verifiedDataCrc32c is not true"),
    (lambda a: {k: v for k, v in a.items() if k != "verifiedDataCrc32c"}, "verifiedDataCrc32c is not true"),  # older answers
    (lambda a: {**a, "signatureCrc32c": str(int(a["signatureCrc32c"]) ^ 1)}, "signatureCrc32c"),
    (lambda a: {**a, "name": a["name"].replace("/1", "/2")}, "answered for"),
    (lambda a: {k: v for k, v in a.items() if k != "signature"}, "no readable signature"),
])
def test_the_signer_refuses_answers_google_says_to_discard(sim, mutate, message):
    with pytest.raises(SigningError, match=message):
        _kms_with(sim, mutate).sign(b"payload")


def test_a_kms_error_is_a_clear_usage_error(sim, pack):
    result = CliRunner().invoke(app, ["sign", str(pack), "--key", KMS_PREFIX + version("symmetric"),
                                      "--sign-credentials", "anonymous", "--kms-endpoint", sim.url])
    assert result.exit_code == 2
    assert "getPublicKey" in result.output and "FAILED_PRECONDITION" in result.output
    result = CliRunner().invoke(app, ["sign", str(pack), "--key", "gcpkms://projects/p/keyRings/r", "--sign-credentials", "anonymous"])
    assert result.exit_code == 2 and "cryptoKeyVersions" in result.output


def _public_answer(sim, **changes) -> dict:
    answer = requests.get(f"{sim.url}/v1/{version('ed')}/publicKey", timeout=10).json()
    answer.update(changes)
    return {k: v for k, v in answer.items() if v is not None}


@pytest.mark.parametrize("changes,message", [
    ({"pemCrc32c": None}, None),  # an answer without the checksum (older shape): accepted
    ({"pemCrc32c": "1"}, "pemCrc32c"),
    ({"algorithm": "RSA_SIGN_PSS_2048_SHA256"}, "EC_SIGN_ED25519 or EC_SIGN_P256_SHA256"),
    ({"pem": None}, "no PEM"),
])
def test_the_signer_reads_get_public_key_answers_as_documented(sim, changes, message):
    fake = signer(sim, "ed")
    fake._versions = _Fake(_public_answer(sim, **changes), {})
    if message is None:
        assert fake.public_key() is not None
    else:
        with pytest.raises(SigningError, match=message):
            fake.public_key()
