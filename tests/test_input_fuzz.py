"""Fuzzing every reader of the auditor's own inputs: malformed documents are exit 2 with a message
naming the file, never a traceback.

Each reader gets documents generated from a valid one (the sample company's config, data map and
scenario, a waivers file, the session pack's results.json, a locker manifest), each made invalid
by construction with one of:

- a value nested deeper than the depth limit, or a mapping with an unhashable key, at any node;
- a wrong type, a huge or infinite number or an impossible date at a node the schema types;
- an integer beyond 64 bits at any node (JSON: orjson would read it as an inexact float);
- invalid UTF-8 bytes anywhere; a truncation (YAML: cut and left with an unclosed `[`);
- a document that is not a mapping at all.

A YAML error also names its line (every kind but "not a mapping", which is about the whole file).

The CLI runs in process (typer's CliRunner), so one example costs milliseconds. The suite runs a
deterministic slice (derandomized, FUZZ_EXAMPLES examples per reader, 40 by default);
`FUZZ_EXAMPLES=500 make fuzz` runs a larger one.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor import reading
from auditor.cli import app
from auditor.errors import ScenarioError
from auditor.simulator import load_scenario

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOKEN = "__HOSTILE_VALUE__"
runner = CliRunner()

# hostile values, as YAML / JSON text, by the kind of node they are put at; each is invalid there
YAML_BY_KIND = {
    "str": ["[1, 2]", "{a: 1}", "5", "null"],
    "int": ["1" + "0" * 400, ".inf", "-.inf", ".nan", "-1", "[1]", "{a: 1}", "'many'", "18446744073709551616"],
    "duration": ["1" + "0" * 400, ".inf", ".nan", "99999999999999d", "-5h", "[1]", "{a: 1}", "soon"],
    "date": ["2026-02-30", "0000-01-01", "9999-99-99", "yesterday", "[1]", "{a: 1}", "1" + "0" * 400],
    "list": ["nope", "5", "{a: 1}"],
    "mapping": ["nope", "5", "[1, 2]"],
    "url": ["'file:///etc'", "'ftp://example.com'", "'http://'", "5", "[1]"],
    "period": ["{start: 0001-01-01, end: 9999-12-31}", "{start: 2026-07-01, end: 2026-06-01}", "{quarter: 2026-Q9}",
               "{start: 2026-07-01}"],
    "resource": ["not-a-full-name", "5", "[1]"],
}
JSON_BY_KIND = {
    "str": ["5", "[1]", "{\"a\": 1}", "null"],
    "list": ["\"nope\"", "5", "{\"a\": 1}"],
    "mapping": ["\"x\"", "5", "[1, 2]"],
    "enum": ["\"maybe\"", "5", "null"],
    "date": ["\"yesterday\"", "5"],
    "timestamp": ["\"yesterday\"", "5", "null", "\"2026-13-01T00:00:00Z\"", "\"2026-09-30T00:00:00\""],
    "path": ["\"/etc/passwd\"", "\"../../../../etc/passwd\"", "\"items/../../x\"", "5", "null"],
    "sha": ["\"zz\"", "5"],
    "outcome": ["\"maybe\"", "5", "null"],
    "bool": ["\"yes\"", "5"],
    "period": ["{\"start\": \"0001-01-01\", \"end\": \"9999-12-31\"}", "{\"quarter\": \"2026-Q9\"}"],
}
BAD_BYTES = [b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]


def paths_of(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every node of a document, as a key path (the root excluded)."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out.append(prefix + (key,))
        out.extend(paths_of(value, prefix + (key,)))
    return out


def put(data: Any, path: tuple, value: Any) -> Any:
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return data


BEYOND_64_BITS = ["9223372036854775808", "18446744073709551616", "-9223372036854775809", "1" + "0" * 25]


def deep(depth: int, flow_json: bool = False) -> str:
    return "[" * depth + "]" * depth


@st.composite
def yaml_cases(draw, base: Any, typed: dict[tuple, str]) -> tuple[bytes, bool]:
    """(document, whether its error must name a line)."""
    kind = draw(st.sampled_from(["deep", "unhashable", "typed", "number", "encoding", "truncated", "not a mapping"]))
    if kind in ("deep", "unhashable", "typed", "number"):
        if kind == "typed":
            path, what = draw(st.sampled_from(sorted(typed.items(), key=str)))
            snippet = draw(st.sampled_from(YAML_BY_KIND[what]))
        else:
            path = draw(st.sampled_from(paths_of(base)))
            snippet = deep(draw(st.integers(101, 5000))) if kind == "deep" else "{? [a, b] : c}" if kind == "unhashable" \
                else draw(st.sampled_from(BEYOND_64_BITS))
        text = yaml.safe_dump(put(base, path, TOKEN), sort_keys=False, allow_unicode=True, width=10_000)
        return text.replace(TOKEN, snippet, 1).encode(), True
    text = yaml.safe_dump(base, sort_keys=False, allow_unicode=True, width=10_000)
    if kind == "not a mapping":
        return draw(st.sampled_from([b"- a\n- b\n", b"just text\n", b"42\n", b"", b"~\n"])), False
    if kind == "truncated":
        cut = draw(st.integers(1, len(text) - 1))
        return (text[:cut] + "\n[unclosed").encode(), True
    data = text.encode()
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:], True


@st.composite
def json_documents(draw, base: Any, typed: dict[tuple, str]) -> bytes:
    kind = draw(st.sampled_from(["deep", "number", "typed", "encoding", "truncated", "not an object"]))
    if kind in ("deep", "number", "typed"):
        if kind == "typed":
            path, what = draw(st.sampled_from(sorted(typed.items(), key=str)))
            snippet = draw(st.sampled_from(JSON_BY_KIND[what]))
        else:
            path = draw(st.sampled_from(paths_of(base)))
            snippet = deep(draw(st.integers(101, 200_000))) if kind == "deep" else draw(
                st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 400] + BEYOND_64_BITS))
        return json.dumps(put(base, path, TOKEN)).replace(f'"{TOKEN}"', snippet, 1).encode()
    text = json.dumps(base)
    if kind == "not an object":
        return draw(st.sampled_from([b"[]", b"[1, 2]", b"\"text\"", b"42", b"null", b""]))
    if kind == "truncated":
        return text[:draw(st.integers(1, len(text) - 1))].encode()
    data = text.encode()
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]


def assert_clear_error(args: list[str], path: Path, *, line: bool = False) -> None:
    """Exit 2, no traceback, the file named (`line`: with a line number, FILE:N)."""
    import re

    result = runner.invoke(app, [str(a) for a in args])
    output = " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output[-2000:]
    assert str(path) in output, output[-2000:]
    if line and "at the top level" not in output:  # a whole document that is no mapping has no line to name
        assert re.search(re.escape(str(path)) + r":\d+", output), output[-2000:]


# ---------------------------------------------------------------------------------------- bases

@pytest.fixture(scope="module")
def sample_config(sample_dir) -> dict:
    data = reading.parse_yaml((sample_dir / "auditor.yaml").read_text(), "auditor.yaml")
    data["inventory"] = str(sample_dir / "inventory.yaml")
    return data


def _config_types(config: dict) -> dict[tuple, str]:
    first = next(iter(config["policy"]["classifications"]))
    klass = ("policy", "classifications", first)
    return {("organization",): "str", ("period",): "period", ("period", "quarter"): "str", ("gcp", "projects"): "list",
            ("policy", "classifications"): "mapping", ("policy", "backup_window"): "duration",
            ("policy", "inventory_review_interval"): "duration", klass + ("backup_interval",): "duration",
            klass + ("retention_min_days",): "int", ("policy", "source_code", "backup_interval"): "duration",
            ("sampling", "daily"): "int", ("collection", "timeout_seconds"): "int", ("github", "base_url"): "url",
            ("policy",): "mapping", ("gcp",): "mapping"}


def test_fuzz_config(sample_config):
    @FUZZ
    @given(yaml_cases(sample_config, _config_types(sample_config)))
    def run(case: tuple[bytes, bool]) -> None:
        document, line = case
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "auditor.yaml"
            path.write_bytes(document)
            assert_clear_error(["run", "--config", path, "--out", Path(folder) / "out"], path, line=line)

    run()


def _with_input(sample_config: dict, folder: Path, key: str, document: bytes, name: str) -> tuple[Path, Path]:
    path = folder / name
    path.write_bytes(document)
    config = folder / "auditor.yaml"
    config.write_text(yaml.safe_dump({**sample_config, key: str(path)}, sort_keys=False, allow_unicode=True))
    return config, path


def test_fuzz_data_map(sample_dir, sample_config):
    base = reading.parse_yaml((sample_dir / "inventory.yaml").read_text(), "inventory.yaml")
    typed = {("reviewed",): "date", ("stores",): "list", ("stores", 0, "resource"): "resource",
             ("stores", 0, "classification"): "str", ("stores", 0, "owner"): "str", ("exclusions",): "list"}

    @FUZZ
    @given(yaml_cases(base, typed))
    def run(case: tuple[bytes, bool]) -> None:
        document, line = case
        with tempfile.TemporaryDirectory() as folder:
            config, path = _with_input(sample_config, Path(folder), "inventory", document, "inventory.yaml")
            assert_clear_error(["run", "--config", config, "--out", Path(folder) / "out"], path, line=line)

    run()


WAIVERS = {"waivers": [{"control": "backup-enabled", "resource": "//cloudsql.googleapis.com/projects/bks-prod/instances/*",
                        "reason": "migration", "approver": "ciso@example.com", "ticket": "SEC-1", "expires": "2026-10-31"}]}


def test_fuzz_waivers(sample_config):
    typed = {("waivers",): "list", ("waivers", 0, "expires"): "date", ("waivers", 0, "control"): "str",
             ("waivers", 0, "ticket"): "str", ("waivers", 0): "mapping"}

    @FUZZ
    @given(yaml_cases(WAIVERS, typed))
    def run(case: tuple[bytes, bool]) -> None:
        document, line = case
        with tempfile.TemporaryDirectory() as folder:
            config, path = _with_input(sample_config, Path(folder), "waivers", document, "waivers.yaml")
            assert_clear_error(["run", "--config", config, "--out", Path(folder) / "out"], path, line=line)

    run()


RESPONSES = {"responses": [{"finding": "backup-enabled:*", "response": "re-enabled with an alert", "owner": "dba@example.com",
                            "due": "2026-10-31", "approved": "2026-10-01"}]}
RESPONSE_TYPES = {("responses",): "list", ("responses", 0, "due"): "date", ("responses", 0, "approved"): "date",
                  ("responses", 0, "owner"): "str", ("responses", 0, "finding"): "str", ("responses", 0): "mapping"}


def test_fuzz_responses(sample_config):
    @FUZZ
    @given(yaml_cases(RESPONSES, RESPONSE_TYPES))
    def run(case: tuple[bytes, bool]) -> None:
        document, line = case
        with tempfile.TemporaryDirectory() as folder:
            config, path = _with_input(sample_config, Path(folder), "responses", document, "responses.yaml")
            assert_clear_error(["run", "--config", config, "--out", Path(folder) / "out"], path, line=line)

    run()


def test_fuzz_results_into_gate(sample_pack):
    base = json.loads((sample_pack.out / "results.json").read_text())
    base["controls"] = base["controls"][:2]  # smaller documents, the same shape
    typed = {("controls",): "list", ("lockers",): "list", ("controls", 0, "status"): "enum",
             ("controls", 0, "findings"): "list", ("controls", 0, "findings", 0, "id"): "str", ("period",): "mapping",
             ("period", "start"): "date", ("controls", 0): "mapping", ("tool",): "mapping"}

    @FUZZ
    @given(json_documents(base, typed), st.booleans())
    def run(document: bytes, as_baseline: bool) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "results.json"
            path.write_bytes(document)
            args = ["gate", "--results", sample_pack.out / "results.json", "--baseline", path] if as_baseline \
                else ["gate", "--results", path]
            assert_clear_error(args, path)

    run()


def test_fuzz_locker_manifest_into_check(sample_google_collection):
    manifest = json.loads((sample_google_collection.collection.evidence_dir / "manifest.json").read_text())
    call = next(c for c in manifest["calls"] if c["outcome"] == "ok" and c["items"])
    base = {**manifest, "calls": [call], "items": [i for i in manifest["items"] if i["id"] in call["items"]]}
    typed = {("as_of",): "timestamp", ("items",): "list", ("calls",): "list", ("items", 0, "path"): "path",
             ("items", 0, "sha256"): "sha", ("calls", 0, "outcome"): "outcome", ("calls", 0, "items"): "list",
             ("config",): "mapping", ("config", "period"): "period", ("locker_id",): "str", ("interrupted",): "bool",
             ("schema",): "str", ("items", 0): "mapping", ("calls", 0): "mapping"}

    @FUZZ
    @given(json_documents(base, typed))
    def run(document: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            evidence = Path(folder) / "evidence"
            evidence.mkdir()
            (evidence / "manifest.json").write_bytes(document)
            assert_clear_error(["check", "--evidence", evidence, "--out", Path(folder) / "re"], evidence)

    run()


def test_fuzz_stored_waivers_into_check(sample_google_collection):
    """A locker's stored input (inputs.waivers) that does not parse: exit 2 naming the manifest."""
    manifest = json.loads((sample_google_collection.collection.evidence_dir / "manifest.json").read_text())
    typed = {("waivers",): "list", ("waivers", 0, "expires"): "date", ("waivers", 0, "control"): "str"}

    @FUZZ
    @given(yaml_cases(WAIVERS, typed))
    def run(case: tuple[bytes, bool]) -> None:
        document, line = case
        try:
            text = document.decode("utf-8")
        except UnicodeDecodeError:
            return  # the stored text is JSON, so always valid Unicode: encodings are the file readers' case
        with tempfile.TemporaryDirectory() as folder:
            evidence = Path(folder) / "evidence"
            evidence.mkdir()
            stored = {**manifest, "inputs": {"waivers": {"source": "waivers.yaml", "sha256": "0" * 64, "text": text}}}
            (evidence / "manifest.json").write_text(json.dumps(stored))
            assert_clear_error(["check", "--evidence", evidence, "--out", Path(folder) / "re"], evidence)
            if line:
                assert_clear_error(["check", "--evidence", evidence, "--out", Path(folder) / "re"],
                                   "evidence/manifest.json#inputs.waivers (waivers.yaml)", line=True)

    run()


def test_fuzz_stored_responses_into_check(sample_google_collection):
    """A locker's stored management responses are validated against their schema, not only parsed:
    exit 2 naming the manifest's inputs.responses and (a value error) its line."""
    manifest = json.loads((sample_google_collection.collection.evidence_dir / "manifest.json").read_text())

    @FUZZ
    @given(yaml_cases(RESPONSES, RESPONSE_TYPES))
    def run(case: tuple[bytes, bool]) -> None:
        document, line = case
        try:
            text = document.decode("utf-8")
        except UnicodeDecodeError:
            return  # the stored text is JSON, so always valid Unicode: encodings are the file readers' case
        with tempfile.TemporaryDirectory() as folder:
            evidence = Path(folder) / "evidence"
            evidence.mkdir()
            stored = {**manifest, "config": {**manifest["config"], "responses": "responses.yaml"},
                      "inputs": {"responses": {"source": "responses.yaml", "sha256": "0" * 64, "text": text}}}
            (evidence / "manifest.json").write_text(json.dumps(stored))
            where = "evidence/manifest.json#inputs.responses (responses.yaml)"
            assert_clear_error(["check", "--evidence", evidence, "--out", Path(folder) / "re"], where, line=line)

    run()


def test_fuzz_scenario(sample_dir):
    base = reading.parse_yaml((sample_dir / "scenario.yaml").read_text(), "scenario.yaml")
    typed = {("now",): "date", ("organization",): "mapping"} if "now" in base else {}

    @FUZZ
    @given(yaml_cases(base, {k: v for k, v in typed.items() if k[0] in base} or {("name",): "str"}))
    def run(case: tuple[bytes, bool]) -> None:
        import re

        document, line = case
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "scenario.yaml"
            path.write_bytes(document)
            with pytest.raises(ScenarioError) as caught:
                load_scenario(path)
            assert str(path) in str(caught.value)
            if line and "at the top level" not in str(caught.value):
                assert re.search(re.escape(str(path)) + r":\d+", str(caught.value)), str(caught.value)

    run()
