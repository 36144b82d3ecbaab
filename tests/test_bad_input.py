"""Bad input files: one clear error naming the file (and line and key where there is one); YAML is
always loaded safely, so a file can never make the tool run code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.config import load_config, load_yaml
from auditor.errors import ConfigError, ScenarioError
from auditor.simulator import load_scenario

PAYLOADS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
    '!!python/name:os.system',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_tags_are_refused_in_config(tmp_path, payload):
    marker = tmp_path / "PWNED"
    path = tmp_path / "auditor.yaml"
    path.write_text(f"organization: x\nperiod:\n  quarter: {payload.format(marker=marker)}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and ":3" in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_tags_are_refused_in_scenarios(tmp_path, payload):
    marker = tmp_path / "PWNED"
    path = tmp_path / "scenario.yaml"
    path.write_text(f"name: {payload.format(marker=marker)}\n")
    with pytest.raises(ScenarioError, match=re.escape(str(path))):
        load_scenario(path)
    assert not marker.exists()


def test_no_unsafe_yaml_loader_anywhere_in_the_package():
    root = Path(__file__).resolve().parents[1]
    unsafe = re.compile(r"yaml\.(load|unsafe_load|full_load|load_all)\(|Loader=yaml\.(Loader|UnsafeLoader|FullLoader)")
    offenders = [str(p) for folder in ("auditor", "checks", "reports") for p in (root / folder).rglob("*.py")
                 if unsafe.search(p.read_text())]
    assert not offenders


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"", "expected a mapping"),
    (b"- just\n- a list\n", "expected a mapping"),
    (b"organization: x\n\tperiod: {}\n", ":2"),
    (b"organization: [unclosed\n", "not valid YAML"),
])
def test_malformed_config_files_give_one_clear_error(tmp_path, content, expected):
    path = tmp_path / "auditor.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_wrongly_typed_nested_values_name_the_key_path_and_line(tmp_path, sample_dir):
    text = re.sub(r"projects: \[[^\]]*\]", "projects: {a: 1}", (sample_dir / "auditor.yaml").read_text(), count=1)
    assert "projects: {a: 1}" in text
    path = tmp_path / "auditor.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "gcp.projects" in message and re.search(rf"{re.escape(str(path))}:\d+", message)


def test_shared_yaml_loader_reports_binary_files(tmp_path):
    """Inventory and waiver files go through load_yaml too: the same guarantees."""
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_yaml(path)


def test_scenario_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path)


def test_duplicate_keys_are_refused_not_silently_overwritten(tmp_path):
    from auditor.config import load_config
    from auditor.errors import ConfigError

    path = tmp_path / "auditor.yaml"
    path.write_text("organization: A\norganization: B\nperiod: {quarter: 2026-Q3}\npolicy: {classifications: {a: {}}}\n")
    with pytest.raises(ConfigError, match=r"auditor.yaml:2: not valid YAML: found duplicate key 'organization' \(first at line 1\)"):
        load_config(path)


def test_an_impossible_date_in_the_config_names_file_line_and_key(tmp_path):
    from auditor.config import load_config
    from auditor.errors import ConfigError

    path = tmp_path / "auditor.yaml"
    path.write_text("organization: A\nperiod: {start: 2026-13-01, end: 2026-12-31}\npolicy: {classifications: {a: {}}}\n")
    with pytest.raises(ConfigError, match=r"auditor.yaml:2: period.start"):
        load_config(path)
