"""Issue 19's second pass: numbers beyond 64 bits, stored responses validated against their schema,
and every YAML validation error naming its file, line and key.

Each test feeds the CLI (in process) a hostile input and asserts the documented exit code, a
message naming the file, the key and (YAML) the line, and no traceback.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor import reading
from auditor.cli import app
from auditor.errors import ConfigError, EvidenceError

runner = CliRunner()
BIG = "1" + "0" * 20  # 21 digits: beyond a signed (and an unsigned) 64-bit integer


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, " ".join(result.output.split())


# ------------------------------------------------------------------------ the reading path itself

@pytest.mark.parametrize("text, where", [
    (f"a: 1\nb:\n  c: [1, 2, {BIG}]\n", "f.yaml:3: b.c.2: a 21-digit integer is beyond a signed 64-bit integer"),
    ("a:\n  - {x: 1}\n  - {x: .nan}\n", "f.yaml:3: a.1.x: nan is not a finite number (column 6)"),
    ("a: -.inf\n", "f.yaml:1: a: -inf is not a finite number"),
    (f"a: &x {{b: {BIG}}}\nc: *x\n", "f.yaml:1: a.b: a 21-digit integer"),  # an alias: named where it is defined
    ("n: 9223372036854775808\n", "f.yaml:1: n: a 19-digit integer"),  # INT_MAX + 1
])
def test_yaml_numbers_beyond_64_bits_or_not_finite_are_refused_with_their_line(text, where):
    with pytest.raises(ConfigError) as caught:
        reading.parse_yaml(text, "f.yaml")
    assert where in str(caught.value)


def test_yaml_numbers_at_the_64_bit_bounds_are_kept_exactly():
    assert reading.parse_yaml("a: 9223372036854775807\nb: -9223372036854775808\nc: 2.5\n", "f.yaml") == \
        {"a": 9223372036854775807, "b": -9223372036854775808, "c": 2.5}


@pytest.mark.parametrize("raw, where", [
    (b'{"a": [1, {"b": 18446744073709551616}]}', "f.json: a.1.b: 1.84467e+19 is beyond a signed 64-bit integer"),
    (b'{"a": 18446744073709551615}', "f.json: a: a 20-digit integer is beyond a signed 64-bit integer"),
    (b'{"a": ' + BIG.encode() + b"}", "f.json: a: 1e+20 is beyond a signed 64-bit integer"),
    (b'{"a": 1e19}', "f.json: a: 1e+19 is beyond"),
    (BIG.encode(), "f.json: (top level): 1e+20 is beyond"),
])
def test_json_integers_beyond_64_bits_are_refused_not_turned_into_floats(raw, where):
    """orjson reads an integer beyond 64 bits as an inexact float: 10**20 + 1 would compare equal to 10**20."""
    with pytest.raises(EvidenceError) as caught:
        reading.parse_json(raw, "f.json", error=EvidenceError)
    assert where in str(caught.value)


def test_json_within_64_bits_and_digits_in_strings_are_untouched():
    raw = b'{"n": 9223372036854775807, "m": -9223372036854775808, "h": "ab12345678901234567890123", "f": 1.5e10}'
    assert reading.parse_json(raw, "f.json") == {"n": 9223372036854775807, "m": -9223372036854775808,
                                                 "h": "ab12345678901234567890123", "f": 1.5e10}


# ------------------------------------------------------------------------------ each reader, via the CLI

def _sample_config(tmp_path: Path, sample_dir: Path, text_of=lambda t: t, **inputs: str) -> Path:
    text = (sample_dir / "auditor.yaml").read_text()
    text = text.replace("inventory: inventory.yaml", f"inventory: {sample_dir / 'inventory.yaml'}")
    text = text.replace("document: backup-policy.txt", f"document: {sample_dir / 'backup-policy.txt'}")
    for key, body in inputs.items():
        (tmp_path / f"{key}.yaml").write_text(body)
        text += f"\n{key}: {tmp_path / f'{key}.yaml'}\n"
    path = tmp_path / "auditor.yaml"
    path.write_text(text_of(text))
    return path


def test_a_config_integer_beyond_64_bits_is_exit_2_with_file_line_and_key(tmp_path, sample_dir):
    config = _sample_config(tmp_path, sample_dir, lambda t: t.replace("retention_min_days: 30", f"retention_min_days: {BIG}"))
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if BIG in text)
    code, output = invoke("validate", "--config", config)
    assert code == 2, output
    assert f"{config}:{line}: policy.classifications.restricted.retention_min_days: a 21-digit integer is beyond" in output


def test_a_day_count_a_date_cannot_hold_is_exit_2_not_an_overflow(tmp_path, sample_dir):
    """Within 64 bits but beyond any date: final_backup_days 10**12 would overflow a timedelta later."""
    config = _sample_config(tmp_path, sample_dir, lambda t: t.replace("final_backup_days: 14", "final_backup_days: 1000000000000"))
    code, output = invoke("validate", "--config", config)
    assert code == 2, output
    assert "final_backup_days" in output and str(config) in output


@pytest.mark.parametrize("key, body, named", [
    ("waivers", f"waivers:\n  - control: backup-enabled\n    resource: x\n    reason: r\n    approver: a\n    ticket: {BIG}\n"
                "    expires: 2026-10-31\n", ":6: waivers.0.ticket: a 21-digit integer"),
    ("responses", f"responses:\n  - finding: x\n    response: r\n    owner: {BIG}\n    due: 2026-10-31\n    approved: 2026-10-01\n",
     ":4: responses.0.owner: a 21-digit integer"),
])
def test_waivers_and_responses_integers_beyond_64_bits(tmp_path, sample_dir, key, body, named):
    config = _sample_config(tmp_path, sample_dir, **{key: body})
    code, output = invoke("validate", "--config", config)
    assert code == 2, output
    assert f"{tmp_path / (key + '.yaml')}{named}" in output, output


def test_a_data_map_integer_beyond_64_bits(tmp_path, sample_dir):
    inventory = tmp_path / "inventory.yaml"
    text = (sample_dir / "inventory.yaml").read_text().replace("owner: platform-team\n", f"owner: {BIG}\n", 1)
    inventory.write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if BIG in t)
    config = _sample_config(tmp_path, sample_dir, lambda t: t.replace(f"inventory: {sample_dir / 'inventory.yaml'}",
                                                                      f"inventory: {inventory}"))
    code, output = invoke("validate", "--config", config)
    assert code == 2, output
    assert f"{inventory}:{line}: stores.0.owner: a 21-digit integer" in output


def test_results_with_an_integer_beyond_64_bits_into_gate(tmp_path, sample_pack):
    text = (sample_pack.out / "results.json").read_text()
    document = json.loads(text)
    document["controls"][0]["population"]["total"] = 0
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document).replace('"total": 0', f'"total": {BIG}', 1))
    code, output = invoke("gate", "--results", path, "--baseline", sample_pack.out / "results.json")
    assert code == 2, output
    assert f"{path}: controls.0.population.total: 1e+20 is beyond a signed 64-bit integer" in output


@pytest.fixture
def locker(sample_google_collection, tmp_path) -> Path:
    copy = tmp_path / "evidence"
    shutil.copytree(sample_google_collection.collection.evidence_dir, copy)
    return copy


def _manifest(evidence: Path) -> dict:
    return json.loads((evidence / "manifest.json").read_text())


def _write(evidence: Path, manifest: dict) -> None:
    (evidence / "manifest.json").write_text(json.dumps(manifest))


def test_a_locker_manifest_with_an_integer_beyond_64_bits_into_check(locker, tmp_path):
    manifest = _manifest(locker)
    manifest["calls"][0]["requests"] = 0
    text = json.dumps(manifest).replace('"requests": 0', f'"requests": {BIG}', 1)
    (locker / "manifest.json").write_text(text)
    code, output = invoke("check", "--evidence", locker, "--out", tmp_path / "re")
    assert code == 2, output
    assert f"{locker / 'manifest.json'}: calls.0.requests: 1e+20 is beyond a signed 64-bit integer" in output


def _reseal(evidence: Path, item_id: str, body: bytes) -> None:
    manifest = _manifest(evidence)
    for item in manifest["items"]:
        if item["id"] == item_id:
            (evidence / item["path"]).write_bytes(body)
            item["sha256"], item["bytes"] = hashlib.sha256(body).hexdigest(), len(body)
    _write(evidence, manifest)


def test_an_api_page_with_numbers_no_date_can_hold_is_inconclusive_never_a_traceback(locker, tmp_path):
    """An API page is evidence of what Google said: a day count beyond any date (as a string, the way
    Google writes int64) makes its findings inconclusive (exit 3), naming the page."""
    manifest = _manifest(locker)
    call = next(c for c in manifest["calls"] if c["api"] == "sqladmin" and c["method"] == "instances.list"
                and c["outcome"] == "ok" and c["items"])
    item = next(i for i in manifest["items"] if i["id"] == call["items"][0])
    body = json.loads((locker / item["path"]).read_text())
    for instance in body["items"]:
        backup = instance.setdefault("settings", {}).setdefault("backupConfiguration", {})
        backup["transactionLogRetentionDays"] = BIG
        backup.setdefault("backupRetentionSettings", {})["retainedBackups"] = "9" * 5000  # past int()'s digit limit
    _reseal(locker, item["id"], json.dumps(body).encode())
    code, output = invoke("check", "--evidence", locker, "--out", tmp_path / "re")
    assert code == 3, output  # the sample's own denied calls make it 3; the point is: not 4, no traceback
    text = (tmp_path / "re" / "results.json").read_text()
    assert BIG not in text and "9" * 30 not in text  # neither value was taken as what the instance is set to
    from auditor.evidence.locker import Locker
    from auditor.facts import build_facts

    state = build_facts([Locker(locker)]).sql_instances.at(call["scope"])
    read = [i for i in getattr(state, "items", ()) if i.evidence == (item["id"],)]
    assert read and all(i.log_retention_days is None and i.retained_backups is None for i in read)


def test_a_scenario_integer_beyond_64_bits(tmp_path):
    from auditor.errors import ScenarioError
    from auditor.simulator import load_scenario

    path = tmp_path / "scenario.yaml"
    path.write_text(f"name: s\nnow: 2026-09-30T00:00:00Z\norganization:\n  id: '1'\n  seed: {BIG}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert f"{path}:5: organization.seed: a 21-digit integer" in str(caught.value)


# ------------------------------------------------------------------ stored responses, validated in full

def _stored(locker: Path, name: str, text: str, config_names: bool = True) -> None:
    manifest = _manifest(locker)
    manifest["inputs"] = {name: {"source": f"/audit/{name}.yaml", "sha256": hashlib.sha256(text.encode()).hexdigest(),
                                 "text": text}}
    if config_names:
        manifest["config"][name] = f"/audit/{name}.yaml"
    _write(locker, manifest)


RESPONSE = {"finding": "backup-enabled:*", "response": "re-enabled", "owner": "dba@example.com", "due": "2026-10-31",
            "approved": "2026-10-01"}


@pytest.mark.parametrize("change, named", [
    (lambda r: r.pop("owner"), ":2: responses.0.owner: Field required"),
    (lambda r: r.update(due="2026-02-30"), ":5: responses.0.due:"),
    (lambda r: r.update(approved="2026-12-01"), ":2: responses.0: due 2026-10-31 is before approved 2026-12-01"),
    (lambda r: r.update(surprise=1), ":7: responses.0.surprise: unknown key"),
    (lambda r: r.update(owner=[1, 2]), ":4: responses.0.owner: Input should be a valid string"),
])
def test_stored_responses_are_validated_against_their_schema_not_only_parsed(locker, tmp_path, change, named):
    response = dict(RESPONSE)
    change(response)
    text = yaml.safe_dump({"responses": [response]}, sort_keys=False)
    _stored(locker, "responses", text)
    code, output = invoke("check", "--evidence", locker, "--out", tmp_path / "re")
    assert code == 2, output
    assert "the stored responses (inputs.responses) does not parse" in output
    assert f"evidence/manifest.json#inputs.responses (/audit/responses.yaml){named}" in output, output
    assert not (tmp_path / "re" / "results.json").exists()


def test_valid_stored_responses_re_perform(locker, tmp_path):
    _stored(locker, "responses", yaml.safe_dump({"responses": [RESPONSE]}, sort_keys=False))
    code, output = invoke("check", "--evidence", locker, "--out", tmp_path / "re")
    assert code in (0, 3), output
    results = json.loads((tmp_path / "re" / "results.json").read_text())
    assert results["exceptions"]["responses"]["entries"][0]["owner"] == "dba@example.com"


@pytest.mark.parametrize("name", ["responses", "waivers"])
def test_a_file_the_stored_config_names_but_the_locker_lacks_stops_check(locker, tmp_path, name):
    """Never a silent empty: the run applied responses (or waivers) the re-performance would not have."""
    manifest = _manifest(locker)
    manifest.pop("inputs", None)
    manifest["config"][name] = f"/audit/{name}.yaml"
    _write(locker, manifest)
    code, output = invoke("check", "--evidence", locker, "--out", tmp_path / "re")
    assert code == 2, output
    assert f"the configuration names a {name} file (/audit/{name}.yaml) but the locker holds no copy of it" in output


def test_a_page_value_its_reader_cannot_take_makes_the_scope_inconclusive(locker, tmp_path, monkeypatch):
    """Whatever a page holds, a reader's OverflowError/ValueError on it is a malformed page (exit 3,
    its findings inconclusive, the page named), never exit 4."""
    import auditor.facts.sources.sql_instances as module

    manifest = _manifest(locker)
    call = next(c for c in manifest["calls"] if c["api"] == "sqladmin" and c["method"] == "instances.list"
                and c["outcome"] == "ok" and c["items"])

    def overflowing(data, evidence):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(module, "sql_instance", overflowing)
    code, output = invoke("check", "--evidence", locker, "--out", tmp_path / "re")
    assert code == 3, output
    results = json.loads((tmp_path / "re" / "results.json").read_text())
    cited = [(f, e) for c in results["controls"] for f in c["findings"]
             for e in f["details"].get("unverified") or [] if e.get("call") == call["id"]]
    assert cited and all(f["status"] == "inconclusive" for f, _e in cited)
    assert any("could not be read: OverflowError: date value out of range" in str(e) for _f, e in cited)


# --------------------------------------------------------- every YAML value error names its line

MINIMAL = "organization: x\nperiod: {quarter: 2026-Q3}\ngcp: {projects: [p], credentials: anonymous}\n"


def _load_error(tmp_path: Path, text: str, name: str = "auditor.yaml") -> str:
    from auditor.config import load_config

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_a_validator_over_several_keys_names_the_key_s_line_not_the_top_level(tmp_path):
    message = _load_error(tmp_path, MINIMAL + "policy:\n  country: US\n  classifications: {}\n")
    assert f"{tmp_path / 'auditor.yaml'}:6: policy.classifications: at least one classification is required" in message
    assert "(top level)" not in message


def test_a_value_in_a_flow_mapping_names_its_column(tmp_path):
    message = _load_error(tmp_path, MINIMAL + "policy:\n  classifications:\n    c: {backup_interval: 24h, retention_min_days: many}\n")
    assert f"{tmp_path / 'auditor.yaml'}:6: policy.classifications.c.retention_min_days:" in message
    assert "(column 31)" in message  # where `retention_min_days` starts on line 6


def test_a_parallelism_error_names_the_api_key_s_line(tmp_path):
    message = _load_error(tmp_path, MINIMAL + "policy:\n  classifications: {c: {}}\ncollection:\n  parallelism:\n"
                                              "    sqladmin: 4\n    logging: 99\n")
    assert f"{tmp_path / 'auditor.yaml'}:9: collection.parallelism.logging: parallelism must be between 1 and 64" in message


def test_a_clause_that_quotes_a_line_without_a_document_names_its_line(tmp_path):
    message = _load_error(tmp_path, MINIMAL + "policy:\n  classifications: {c: {}}\n  clauses:\n"
                                              "    backup-enabled: {line: 3}\n")
    assert f"{tmp_path / 'auditor.yaml'}:7: policy.clauses.backup-enabled: quotes a line" in message


def test_a_policy_document_that_cannot_be_read_names_the_config_line(tmp_path):
    message = _load_error(tmp_path, MINIMAL + "policy:\n  classifications: {c: {}}\n  document: nowhere.txt\n"
                                              "  clauses:\n    backup-enabled: {line: 3}\n")
    assert f"{tmp_path / 'auditor.yaml'}:6: policy.document: cannot read" in message


def test_a_store_declared_twice_names_the_second_declaration_s_line(tmp_path):
    from auditor.inventory import parse_inventory

    text = ("reviewed: 2026-01-01\nstores:\n  - {resource: //storage.googleapis.com/a, classification: c, owner: o}\n"
            "  - {resource: //storage.googleapis.com/b, classification: c, owner: o}\n"
            "  - {resource: //storage.googleapis.com/a, classification: c, owner: o}\n")
    with pytest.raises(ConfigError) as caught:
        parse_inventory(text, tmp_path / "inventory.yaml")
    message = str(caught.value)
    assert f"{tmp_path / 'inventory.yaml'}:5: stores.2.resource: //storage.googleapis.com/a is declared more than once" in message
    assert "(column 6)" in message
    assert "first at stores.0.resource" in message


def test_a_collector_error_about_a_config_key_names_the_file_and_line(tmp_path, sample_dir):
    config = _sample_config(tmp_path, sample_dir,
                            lambda t: t.replace("credentials: anonymous", "credentials: keys/missing.json"))
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "keys/missing.json" in text)
    code, output = invoke("run", "--config", config, "--out", tmp_path / "out")
    assert code == 2, output
    assert f"{config}:{line}: gcp.credentials: the service-account key file" in output


def test_no_scope_to_audit_names_the_config_file(tmp_path):
    path = tmp_path / "auditor.yaml"
    path.write_text("organization: x\nperiod: {quarter: 2026-Q3}\npolicy:\n  classifications: {c: {}}\n"
                    "gcp: {credentials: anonymous}\n")
    code, output = invoke("run", "--config", path, "--out", tmp_path / "out")
    assert code == 2, output
    assert f"{path}:5: gcp: give an organization, folders or projects to audit" in output


def test_a_scenario_error_names_its_line_and_an_impossible_date_too(tmp_path, sample_dir):
    from auditor.errors import ScenarioError
    from auditor.simulator import load_scenario

    text = (sample_dir / "scenario.yaml").read_text()
    first = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("now:"))
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace(text.splitlines()[first - 1], "now: 2026-02-30T00:00:00Z", 1))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert f"{path}:{first}:" in str(caught.value)


def test_a_chained_manifest_and_a_signature_go_through_the_one_reading_path():
    """The manifest `auditor.chain` reads beside --out, and a pack's signature document, are JSON inputs too:
    a number past a signed 64-bit integer is refused naming the file, never read as a float."""
    import pytest as _pytest

    from auditor.chain import head_from_bytes
    from auditor.errors import EvidenceError
    from auditor.evidence.locker import SCHEMA

    big = ('{"schema": "%s", "locker_id": "L-1", "as_of": "2026-09-30T00:00:00Z", "n": 18446744073709551616}' % SCHEMA).encode()
    with _pytest.raises(EvidenceError, match=r"out/evidence/manifest\.json: manifest.*n"):
        head_from_bytes(big, "out/evidence", "out/evidence/manifest.json")
    head = head_from_bytes(big.replace(b"18446744073709551616", b"1"), "out/evidence", "out/evidence/manifest.json")
    assert head.locker_id == "L-1"
