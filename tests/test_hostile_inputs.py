"""Issue 19's hostile inputs, one test each: a clear error with the documented exit code (2 for a
tool input) naming the file and the reason, never a traceback; nothing read outside a locker; a
digest mismatch is tampering (exit 1) in `check` as in `verify`; stored inputs that do not parse stop
`check` (exit 2) while an intact malformed API page only makes findings inconclusive (exit 3).

Everything runs in process through typer's CliRunner; lockers are copies of the session's sample
Google collection, edited and, where the point is a self-consistent locker, re-sealed (the item's
SHA-256 recorded anew) so only the shape is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    output = result.output
    assert "Traceback" not in output, output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{type(result.exception).__name__} escaped the CLI: {result.exception}")
    return result.exit_code, output


def one_line(output: str) -> str:
    return " ".join(output.split())


# ------------------------------------------------------------------------------------------ config

POLICY = "policy:\n  classifications:\n    confidential: {}\n"


def write_config(tmp_path: Path, body: str, name: str = "auditor.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


BAD_CONFIGS = {
    "unhashable key": "organization: o\nperiod: {quarter: 2026-Q3}\n" + POLICY + "? [a, b]\n: c\n",
    "huge interval": "organization: o\nperiod: {quarter: 2026-Q3}\npolicy:\n  classifications:\n"
                     "    confidential: {backup_interval: 99999999999999d}\n",
    "infinite interval": "organization: o\nperiod: {quarter: 2026-Q3}\npolicy:\n  classifications:\n"
                         "    confidential: {backup_interval: .inf}\n",
    "infinite bare interval": "organization: o\nperiod: {quarter: 2026-Q3}\npolicy:\n  source_code: {backup_interval: .inf}\n"
                              "  classifications:\n    confidential: {}\n",
    "period of millennia": "organization: o\nperiod: {start: 0001-01-01, end: 9999-12-31}\n" + POLICY,
    "file base_url": "organization: o\nperiod: {quarter: 2026-Q3}\n" + POLICY
                     + "github: {organizations: [o], base_url: 'file:///etc'}\n",
    "huge retention": "organization: o\nperiod: {quarter: 2026-Q3}\npolicy:\n  classifications:\n"
                      "    confidential: {retention_min_days: 99999999999999999999999999}\n",
}
EXPECTED = {
    "unhashable key": ":6", "huge interval": "backup_interval", "infinite interval": "backup_interval",
    "infinite bare interval": "source_code.backup_interval", "period of millennia": "period",
    "file base_url": "github.base_url", "huge retention": "retention_min_days",
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_is_exit_2_naming_file_and_key(tmp_path, case):
    config = write_config(tmp_path, BAD_CONFIGS[case])
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2, output
    assert str(config) in one_line(output) and EXPECTED[case] in output
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_config_path_at_dev_zero_is_refused_at_once(tmp_path):
    code, output = invoke("run", "--config", "/dev/zero", "--out", tmp_path / "out")
    assert code == 2 and "/dev/zero" in output and "not a regular file" in one_line(output)


def test_a_config_that_is_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "auditor.yaml"
    import os

    os.mkfifo(fifo)
    code, output = invoke("run", "--config", fifo, "--out", tmp_path / "out")
    assert code == 2 and "FIFO" in output


def test_a_config_larger_than_its_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from auditor import reading

    monkeypatch.setitem(reading.LIMITS, "config", 1000)
    config = write_config(tmp_path, "organization: o\n" + "# padding\n" * 200)
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2 and "more than the 1,000 bytes accepted" in one_line(output)


def _sample_config(tmp_path: Path, sample_dir: Path, **changes) -> Path:
    data = yaml.safe_load((sample_dir / "auditor.yaml").read_text())
    data["inventory"] = str(sample_dir / "inventory.yaml")
    data.update(changes)
    path = tmp_path / "auditor.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("content, expected", [
    (b"? [a, b]\n: c\n", ":1"),
    (b"waivers:\n  - control: backup-enabled\n    reason: \xff\xfe caf\xe9\n", "not UTF-8"),
])
def test_bad_waivers_are_exit_2_naming_the_file(tmp_path, sample_dir, content, expected):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_bytes(content)
    config = _sample_config(tmp_path, sample_dir, waivers=str(waivers))
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2, output
    assert str(waivers) in one_line(output) and expected in output


def test_waivers_at_dev_zero_are_refused(tmp_path, sample_dir):
    config = _sample_config(tmp_path, sample_dir, waivers="/dev/zero")
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2 and "/dev/zero" in output and "not a regular file" in one_line(output)


def test_an_unhashable_key_in_the_data_map_is_exit_2_before_any_locker(tmp_path, sample_dir):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("reviewed: 2026-06-01\n? [a, b]\n: c\nstores: []\n")
    config = _sample_config(tmp_path, sample_dir)
    config.write_text(config.read_text().replace(str(sample_dir / "inventory.yaml"), str(inventory)))
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2, output
    assert f"{inventory}:2" in one_line(output)
    assert not (tmp_path / "out" / "evidence").exists()


# ------------------------------------------------------------------------------------------- gate

def test_results_nested_200000_deep_into_gate(tmp_path):
    deep = tmp_path / "results.json"
    deep.write_text("[" * 200_000)
    code, output = invoke("gate", "--results", deep)
    assert code == 2 and str(deep) in one_line(output) and "not valid JSON" in output


def test_results_nested_deep_but_valid_json_into_gate(tmp_path):
    deep = tmp_path / "results.json"
    deep.write_text('{"schema": "auditor.results/v1", "x": ' + "[" * 500 + "]" * 500 + "}")
    code, output = invoke("gate", "--results", deep)
    assert code == 2 and "nested more than" in output


def test_a_baseline_at_dev_zero_does_not_hang(tmp_path, sample_pack):
    code, output = invoke("gate", "--results", sample_pack.out / "results.json", "--baseline", "/dev/zero")
    assert code == 2 and "/dev/zero" in output


# ----------------------------------------------------------------------------- lockers into check

@pytest.fixture
def locker(sample_google_collection, tmp_path) -> Path:
    copy = tmp_path / "evidence"
    shutil.copytree(sample_google_collection.collection.evidence_dir, copy)
    return copy


def manifest_of(evidence: Path) -> dict:
    return json.loads((evidence / "manifest.json").read_text())


def write_manifest(evidence: Path, manifest) -> None:
    (evidence / "manifest.json").write_text(json.dumps(manifest))


def reseal(evidence: Path, item_id: str, body: bytes) -> None:
    """Replace an item's bytes and record their SHA-256, as if the locker had been written so."""
    manifest = manifest_of(evidence)
    for item in manifest["items"]:
        if item["id"] == item_id:
            (evidence / item["path"]).write_bytes(body)
            item["sha256"], item["bytes"] = hashlib.sha256(body).hexdigest(), len(body)
    write_manifest(evidence, manifest)


def check(evidence: Path, tmp_path: Path):
    return invoke("check", "--evidence", evidence, "--out", tmp_path / "re")


def _drop_items(m):
    m.pop("items")


def _unknown_item(m):
    m["calls"][0]["items"].append("e-does-not-exist")


def _yesterday(m):
    m["as_of"] = "yesterday"


def _no_outcome(m):
    for call in m["calls"]:
        call.pop("outcome")


MANIFEST_EDITS = {
    "without items": (_drop_items, "items: missing"),
    "a call naming an unknown item": (_unknown_item, "names item 'e-does-not-exist'"),
    "as_of yesterday": (_yesterday, "as_of: 'yesterday' is not an ISO 8601 timestamp"),
    "calls without outcome": (_no_outcome, "has no outcome"),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_EDITS))
def test_a_misshaped_locker_manifest_is_exit_2_in_check(locker, tmp_path, case):
    edit, expected = MANIFEST_EDITS[case]
    manifest = manifest_of(locker)
    edit(manifest)
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2, output
    assert str(locker / "manifest.json") in one_line(output) and expected in one_line(output)


def test_a_manifest_that_is_a_list_is_exit_2_in_check(locker, tmp_path):
    write_manifest(locker, [manifest_of(locker)])
    code, output = check(locker, tmp_path)
    assert code == 2 and "not an evidence manifest" in output


def test_an_item_path_out_of_the_locker_is_never_read(locker, tmp_path):
    """A path to /etc/passwd with its true digest: before, check read it and exited 0."""
    passwd = Path("/etc/passwd")
    manifest = manifest_of(locker)
    item = next(i for i in manifest["items"] if i["http_status"] == 200)
    item["path"] = "../../../../../../etc/passwd"
    item["sha256"] = hashlib.sha256(passwd.read_bytes()).hexdigest()
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2, output
    assert item["id"] in output and "leaves the locker" in one_line(output)


def test_an_absolute_item_path_is_exit_2_naming_the_item(locker, tmp_path):
    manifest = manifest_of(locker)
    manifest["items"][3]["path"] = "/etc/passwd"
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2 and manifest["items"][3]["id"] in output and "absolute" in output


def test_an_item_that_is_a_symlink_out_of_the_locker_is_never_read(locker, tmp_path):
    passwd = Path("/etc/passwd")
    manifest = manifest_of(locker)
    item = next(i for i in manifest["items"] if i["http_status"] == 200)
    (locker / item["path"]).unlink()
    (locker / item["path"]).symlink_to(passwd)
    item["sha256"] = hashlib.sha256(passwd.read_bytes()).hexdigest()
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2, output
    assert item["id"] in output and "leads out of the locker" in one_line(output)


def test_a_digest_mismatch_in_check_is_tampering_exit_1(locker, tmp_path):
    manifest = manifest_of(locker)
    item = next(i for i in manifest["items"] if i["http_status"] == 200)
    path = locker / item["path"]
    path.write_bytes(path.read_bytes().replace(b"{", b"{ ", 1))
    code, output = check(locker, tmp_path)
    assert code == 1, output
    assert item["id"] in output and "SHA-256" in output


def _inventory_item(evidence: Path) -> str:
    call = next(c for c in manifest_of(evidence)["calls"] if c["api"] == "inventory")
    return call["items"][0]


@pytest.mark.parametrize("body", [
    b"this is not JSON",
    json.dumps({"documents": [{"path": "inventory.yaml", "text": "reviewed: [unclosed\n"}]}).encode(),
    json.dumps({"documents": [{"path": "inventory.yaml", "text": "? [a, b]\n: c\n"}]}).encode(),
    json.dumps({"documents": [{"path": "inventory.yaml"}]}).encode(),
])
def test_a_stored_data_map_that_does_not_parse_stops_check(locker, tmp_path, body):
    """Issue 12 case 2: before, check exited 0 and classified stores by their labels instead."""
    item_id = _inventory_item(locker)
    reseal(locker, item_id, body)
    code, output = check(locker, tmp_path)
    assert code == 2, output
    assert item_id in output and "data map" in output
    assert not (tmp_path / "re" / "results.json").exists()


def test_a_locker_whose_data_map_read_failed_stops_check(locker, tmp_path):
    """The fault matrix's `inventory read` failures: no fallback to labels, re-performance stops."""
    manifest = manifest_of(locker)
    call = next(c for c in manifest["calls"] if c["api"] == "inventory")
    manifest["items"] = [i for i in manifest["items"] if i["id"] not in call["items"]]
    call["items"], call["outcome"] = [], "error"
    call["error"] = {"kind": "http", "http_status": None, "reason": None, "message": "the file vanished"}
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2 and call["id"] in output and "data map was not read" in output


def test_a_stored_config_that_does_not_parse_stops_check(locker, tmp_path):
    manifest = manifest_of(locker)
    manifest["config"]["period"] = {"start": "0001-01-01", "end": "9999-12-31"}
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2 and "stored configuration" in output and "period" in output


def test_stored_waivers_that_do_not_parse_stop_check(locker, tmp_path):
    manifest = manifest_of(locker)
    manifest["inputs"] = {"waivers": {"source": "waivers.yaml", "sha256": "0" * 64, "text": "? [a, b]\n: c\n"}}
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2 and "inputs.waivers" in output


def test_stored_responses_that_do_not_parse_stop_check(locker, tmp_path):
    manifest = manifest_of(locker)
    manifest["inputs"] = {"responses": {"source": "responses.yaml", "text": "responses: [unclosed\n"}}
    write_manifest(locker, manifest)
    code, output = check(locker, tmp_path)
    assert code == 2 and "inputs.responses" in output


def test_an_intact_malformed_api_page_is_inconclusive_and_exit_3(locker, tmp_path):
    manifest = manifest_of(locker)
    call = next(c for c in manifest["calls"] if c["api"] == "sqladmin" and c["method"] == "instances.list"
                and c["outcome"] == "ok" and c["items"])
    reseal(locker, call["items"][0], b'{"items": "not a list"')
    code, output = check(locker, tmp_path)
    assert code == 3, output
    results = json.loads((tmp_path / "re" / "results.json").read_text())
    cited = [f for c in results["controls"] for f in c["findings"]
             if any(e.get("call") == call["id"] for e in f["details"].get("unverified") or [])]
    assert cited and all(f["status"] == "inconclusive" for f in cited)


def test_an_unfinished_locker_is_named_incomplete(locker, tmp_path):
    (locker / "manifest.json").unlink()
    (locker / "calls.jsonl").write_text("")
    code, output = check(locker, tmp_path)
    assert code == 2 and "incomplete locker" in output


# ---------------------------------------------------------------------------- packs into verify

@pytest.fixture
def pack(sample_pack, tmp_path) -> Path:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack.out, copy)
    return copy


def seal_pack(pack: Path) -> None:
    """Rewrite the pack manifest and SHA256SUMS over the files as they now are (a consistent forgery)."""
    from auditor.runner import pack_extra, write_pack_manifest

    digest = hashlib.sha256((pack / "results.json").read_bytes()).hexdigest()
    write_pack_manifest(pack, pack_extra(pack, digest))


def _absolute(m):
    m["items"][0]["path"] = "/etc/passwd"


def _nope(m):
    m["items"] = "nope"


def _pathless(m):
    m["items"][0].pop("path")


PACK_EDITS = {"absolute item path": (_absolute, "absolute"), "items nope": (_nope, "items: is a str, not a list"),
              "item without path": (_pathless, "the item has no path")}


@pytest.mark.parametrize("case", sorted(PACK_EDITS))
@pytest.mark.parametrize("sealed", [True, False], ids=["resealed", "edited"])
def test_a_misshaped_evidence_manifest_in_verify(pack, case, sealed):
    edit, expected = PACK_EDITS[case]
    manifest = manifest_of(pack / "evidence")
    edit(manifest)
    write_manifest(pack / "evidence", manifest)
    if sealed:
        seal_pack(pack)
    code, output = invoke("verify", pack)
    # a consistent forgery is an unreadable input (2); an edit the digests catch is tampering (1)
    assert code == (2 if sealed else 1), output
    assert "evidence/manifest.json" in output and expected in one_line(output)


@pytest.mark.parametrize("sealed", [True, False], ids=["resealed", "edited"])
def test_results_lockers_5_in_verify(pack, sealed):
    results = json.loads((pack / "results.json").read_text())
    results["lockers"] = 5
    (pack / "results.json").write_text(json.dumps(results))
    if sealed:
        seal_pack(pack)
    code, output = invoke("verify", pack)
    assert code == (2 if sealed else 1), output
    assert "results.json" in output and "lockers" in output


def test_a_symlink_in_a_pack_is_not_followed_by_verify(pack):
    manifest = manifest_of(pack / "evidence")
    item = manifest["items"][0]
    (pack / "evidence" / item["path"]).unlink()
    (pack / "evidence" / item["path"]).symlink_to("/etc/passwd")
    code, output = invoke("verify", pack)
    assert code == 1 and item["path"] in output


# ----------------------------------------------------------------------------- internal errors

def test_an_unexpected_exception_is_exit_4_with_one_line_and_a_saved_traceback(locker, tmp_path, monkeypatch):
    import auditor.runner

    def broken(*_args, **_kwargs):
        raise RuntimeError("something nobody expected\nsecond line")

    monkeypatch.setattr(auditor.runner, "evaluate", broken)
    code, output = check(locker, tmp_path)
    assert code == 4, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "internal error" in lines[0] and "RuntimeError: something nobody expected" in lines[0]
    saved = re.search(r"traceback saved to (\S+?);", lines[0])
    assert saved, lines[0]
    text = Path(saved.group(1)).read_text()
    assert "Traceback" in text and "something nobody expected" in text
    Path(saved.group(1)).unlink()


def test_markup_in_an_error_message_is_printed_as_text(tmp_path):
    config = write_config(tmp_path, "organization: [bold]x[/bold\n")
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2 and "not valid YAML" in output
