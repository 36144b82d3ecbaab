"""Signed packs and a verify with no holes, tried as a forger would.

Every test works on its own copy of the session's sample pack (tests/conftest.py `sample_pack`). The
forger's tools are the tool itself (`auditor report` re-renders a pack and rewrites its manifest
last) and `write_pack_manifest` (reseals every digest): a tamper test passes only when verify names
the change although every digest of the pack is consistent again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from auditor.cli import app
from auditor.runner import pack_extra, write_pack_manifest
from auditor.signing import FileSigner, fingerprint, load_public_key, sign_pack
from auditor.verify import verify_pack


@pytest.fixture
def pack(sample_pack, tmp_path) -> Path:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack.out, copy, symlinks=True)
    return copy


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    result = CliRunner().invoke(app, ["keygen", "--out", str(folder / "signer")])
    assert result.exit_code == 0, result.output
    return folder / "signer"


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def reseal(pack: Path) -> None:
    """What a forger does after editing files: every digest of the pack made consistent again."""
    results_sha = __import__("hashlib").sha256((pack / "results.json").read_bytes()).hexdigest()
    write_pack_manifest(pack, pack_extra(pack, results_sha))


# ------------------------------------------------------------------------------------------- keys

def test_keygen_writes_an_ed25519_pair_with_a_private_file_only_its_owner_reads(tmp_path):
    result = invoke("keygen", "--out", tmp_path / "k")
    assert result.exit_code == 0, result.output
    mode = stat.S_IMODE(os.stat(tmp_path / "k").st_mode)
    assert mode == 0o600
    private = serialization.load_pem_private_key((tmp_path / "k").read_bytes(), password=None)
    public = load_public_key(tmp_path / "k.pub")
    assert public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == \
        private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert type(private).__name__.startswith("Ed25519")
    assert fingerprint(public) in result.output
    again = invoke("keygen", "--out", tmp_path / "k")  # never overwrites
    assert again.exit_code == 2 and "already exists" in again.output
    assert (tmp_path / "k").read_bytes() == private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def test_a_bad_key_file_is_a_usage_error_naming_it(pack, tmp_path):
    (tmp_path / "bad").write_text("not a key")
    result = invoke("sign", pack, "--key", tmp_path / "bad")
    assert result.exit_code == 2 and str(tmp_path / "bad") in result.output
    result = invoke("verify", pack, "--public-key", tmp_path / "bad")
    assert result.exit_code == 2 and str(tmp_path / "bad") in result.output


# -------------------------------------------------------------------------------------- signatures

def test_a_signed_pack_verifies_with_its_public_key_and_names_the_signer(pack, keys):
    result = invoke("sign", pack, "--key", keys)
    assert result.exit_code == 0, result.output
    assert (pack / "pack-signature.json").is_file()
    expected = fingerprint(load_public_key(keys.with_name("signer.pub")))
    result = invoke("verify", pack, "--public-key", keys.with_name("signer.pub"))
    assert result.exit_code == 0, result.output
    assert f"signed by key {expected}" in result.output
    assert verify_pack(pack).intact  # the signature file is part of a pack, not an added file


def test_a_finding_flipped_and_re_rendered_with_the_tool_passes_without_the_key_and_fails_with_it(pack, keys, tmp_path):
    assert invoke("sign", pack, "--key", keys).exit_code == 0
    signature = (pack / "pack-signature.json").read_bytes()
    results = json.loads((pack / "results.json").read_text())
    control, finding = next((c, f) for c in results["controls"] for f in c["findings"] if f["status"] == "fail")
    finding["status"] = "pass"
    if all(f["status"] in ("pass", "not_applicable") for f in control["findings"]):
        control["status"] = control["effective_status"] = "pass"
    (pack / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    # The forger re-renders with the tool (every digest consistent) and signs with a key of their own:
    # `report --sign-key` signs as its last step.
    assert invoke("keygen", "--out", tmp_path / "forger").exit_code == 0
    result = invoke("report", "--results", pack / "results.json", "--evidence", pack / "evidence", "--out", pack,
                    "--seed", "auditor-2026-q3", "--sign-key", tmp_path / "forger")
    assert result.exit_code == 0, result.output

    unsigned = invoke("verify", pack)  # without a key this is undetectable
    assert unsigned.exit_code == 0 and "intact" in unsigned.output, unsigned.output
    forgers = invoke("verify", pack, "--public-key", tmp_path / "forger.pub")
    assert forgers.exit_code == 0, forgers.output
    assert f"signed by key {fingerprint(load_public_key(tmp_path / 'forger.pub'))}" in forgers.output

    with_key = invoke("verify", pack, "--public-key", keys.with_name("signer.pub"))
    assert with_key.exit_code == 1, with_key.output
    assert "does not verify with the given key" in with_key.output
    assert fingerprint(load_public_key(tmp_path / "forger.pub")) in with_key.output  # names the key that did sign

    (pack / "pack-signature.json").write_bytes(signature)  # the owner's old signature put back
    with_key = invoke("verify", pack, "--public-key", keys.with_name("signer.pub"))
    assert with_key.exit_code == 1
    assert "re-written after signing" in with_key.output


def test_rewriting_the_pack_manifest_drops_the_stale_signature(pack, keys):
    assert invoke("sign", pack, "--key", keys).exit_code == 0
    reseal(pack)
    assert not (pack / "pack-signature.json").exists()
    result = invoke("verify", pack, "--public-key", keys.with_name("signer.pub"))
    assert result.exit_code == 1 and "pack-signature.json is missing" in result.output


def test_another_key_does_not_verify_the_signature(pack, keys, tmp_path):
    assert invoke("sign", pack, "--key", keys).exit_code == 0
    assert invoke("keygen", "--out", tmp_path / "other").exit_code == 0
    result = invoke("verify", pack, "--public-key", tmp_path / "other.pub")
    assert result.exit_code == 1
    assert "does not verify with the given key" in result.output


def test_an_unsigned_pack_fails_when_a_key_is_given(pack, keys):
    result = invoke("verify", pack, "--public-key", keys.with_name("signer.pub"))
    assert result.exit_code == 1 and "not signed" in result.output


def test_an_ec_p256_key_file_signs_too(pack, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    (tmp_path / "ec.pub").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    sign_pack(pack, FileSigner(tmp_path / "ec"))
    assert verify_pack(pack, load_public_key(tmp_path / "ec.pub")).intact


def test_a_pack_that_does_not_verify_is_not_signed(pack, keys):
    (pack / "results.json").write_text("{}")
    result = invoke("sign", pack, "--key", keys)
    assert result.exit_code == 1 and not (pack / "pack-signature.json").exists()


# ------------------------------------------------------------------------------ verify, no holes
# Each of these passes `verify` on the main branch before this change (a consistent reseal hides it).

def test_a_replaced_pdf_fails_verify(pack):
    (pack / "report.pdf").write_bytes(b"%PDF-1.7\nanything at all\n%%EOF\n")
    reseal(pack)
    outcome = verify_pack(pack)
    assert not outcome.intact
    assert any("report.pdf" in p for p in outcome.problems), outcome.lines()


def test_a_pdf_of_other_results_fails_verify(pack):
    from auditor.reports.pdf import render_pdf

    other = "b" * 64
    html = f'<html><head><meta name="auditor-results-sha256" content="{other}"><title>x</title></head><body>ok</body></html>'
    (pack / "report.pdf").write_bytes(render_pdf(html))
    reseal(pack)
    outcome = verify_pack(pack)
    assert "results.json does not have the SHA-256 embedded in report.pdf: the PDF shows other results" in outcome.problems


def test_the_pdf_carries_the_digests_verify_reads(sample_pack):
    from auditor.verify import pdf_digests

    results = json.loads((sample_pack.out / "results.json").read_text())
    found = pdf_digests((sample_pack.out / "report.pdf").read_bytes())
    assert found == (__import__("hashlib").sha256((sample_pack.out / "results.json").read_bytes()).hexdigest(),
                     [l["manifest_sha256"] for l in results["lockers"]])


def test_a_removed_html_digest_fails_verify(pack):
    html = (pack / "report.html").read_text()
    stripped = re.sub(r'<meta name="auditor-results-sha256" content="[0-9a-f]{64}">', "", html)
    assert stripped != html
    (pack / "report.html").write_text(stripped)
    reseal(pack)
    outcome = verify_pack(pack)
    assert not outcome.intact
    assert any("report.html carries no results.json SHA-256" in p for p in outcome.problems), outcome.lines()


def test_a_dotdot_path_in_the_pack_manifest_fails_verify(pack, tmp_path):
    import hashlib

    outside = tmp_path / "outside.txt"
    outside.write_text("a file that is not in the pack\n")
    manifest = json.loads((pack / "pack-manifest.json").read_text())
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    manifest["files"].append({"path": "../outside.txt", "sha256": digest, "bytes": outside.stat().st_size})
    (pack / "pack-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    sums = [f"{f['sha256']}  {f['path']}" for f in manifest["files"]]
    sums.append(f"{hashlib.sha256((pack / 'pack-manifest.json').read_bytes()).hexdigest()}  pack-manifest.json")
    (pack / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    outcome = verify_pack(pack)
    assert not outcome.intact
    assert any("'../outside.txt'" in p for p in outcome.problems), outcome.lines()


def test_an_absolute_path_in_an_evidence_manifest_fails_verify(pack, tmp_path):
    import hashlib

    outside = tmp_path / "page.json"
    outside.write_text("{}")
    manifest = json.loads((pack / "evidence" / "manifest.json").read_text())
    manifest["items"][0]["path"] = str(outside)
    manifest["items"][0]["sha256"] = hashlib.sha256(b"{}").hexdigest()
    (pack / "evidence" / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    outcome = verify_pack(pack)
    assert any(str(outside) in p and "absolute" in p for p in outcome.problems), outcome.lines()


def test_a_symlinked_evidence_item_fails_verify(pack, tmp_path):
    item = sorted((pack / "evidence" / "items").iterdir())[0]
    elsewhere = tmp_path / "elsewhere.json"
    shutil.copyfile(item, elsewhere)  # the same bytes: every digest still matches through the link
    item.unlink()
    item.symlink_to(elsewhere)
    reseal(pack)
    outcome = verify_pack(pack)
    assert not outcome.intact
    rel = item.relative_to(pack).as_posix()
    assert any(rel in p and "symlink" in p for p in outcome.problems), outcome.lines()


def test_verify_prints_each_check_in_order_with_what_it_proves(sample_pack):
    from auditor.verify import STEPS

    result = invoke("verify", sample_pack.out)
    assert result.exit_code == 0, result.output
    positions = [result.output.index(f"{n}. {name}") for n, (name, _proves) in enumerate(STEPS, 1)]
    assert positions == sorted(positions)
    for _name, proves in STEPS:
        assert proves in result.output


def test_an_unreadable_signature_file_fails_with_the_key(pack, keys):
    (pack / "pack-signature.json").write_text('{"schema": "auditor.pack-signature/v1", "payload": "not base64!"}')
    result = invoke("verify", pack, "--public-key", keys.with_name("signer.pub"))
    assert result.exit_code == 1 and "pack-signature.json cannot be read" in result.output
