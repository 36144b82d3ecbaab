import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from auditor.config import load_config, parse_duration
from auditor.errors import ConfigError

MINIMAL = """\
organization: Example
period:
  quarter: 2026-Q3
gcp:
  projects: [p1]
  credentials: anonymous
policy:
  classifications:
    restricted: {backup_interval: 24h, retention_min_days: 30}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auditor.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_sample_config_encodes_the_policy(sample_dir):
    config = load_config(sample_dir / "auditor.yaml")
    assert config.period.bounds() == (date(2026, 7, 1), date(2026, 9, 30))
    assert config.policy.country == "US"
    restricted = config.policy.classifications["restricted"]
    assert restricted.backup_interval == timedelta(hours=24)
    assert restricted.cross_region and restricted.encryption == "cmek"


def test_quarter_bounds_for_q4_cross_the_year(tmp_path):
    config = load_config(write(tmp_path, MINIMAL.replace("2026-Q3", "2026-Q4")))
    assert config.period.bounds() == (date(2026, 10, 1), date(2026, 12, 31))


def test_unknown_key_is_named_with_file_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "gcp_typo: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:10: gcp_typo: unknown key" in str(err.value)


def test_nested_bad_value_names_key_path_and_value(tmp_path):
    path = write(tmp_path, MINIMAL.replace("backup_interval: 24h", "backup_interval: daily"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "policy.classifications.restricted.backup_interval" in message
    assert "'daily'" in message and f"{path}:9" in message


def test_bad_quarter_and_timezone(tmp_path):
    path = write(tmp_path, MINIMAL.replace("quarter: 2026-Q3", "quarter: 2026-Q5\n  timezone: Mars/Olympus"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "period.quarter" in str(err.value) and "period.timezone" in str(err.value)


def test_endpoint_must_be_a_root_url(tmp_path):
    path = write(tmp_path, MINIMAL.replace("credentials: anonymous", "credentials: anonymous\n  endpoints: {sqladmin: 'http://127.0.0.1:9/v1'}"))
    with pytest.raises(ConfigError, match="gcp.endpoints.sqladmin"):
        load_config(path)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, MINIMAL + "policy: [unclosed\n")
    with pytest.raises(ConfigError, match=r"auditor.yaml:1\d: not valid YAML"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    path = write(tmp_path, MINIMAL + "inventory: inv.yaml\n")
    assert load_config(path).inventory == tmp_path / "inv.yaml"


def test_snapshot_hides_key_file_path(tmp_path):
    path = write(tmp_path, MINIMAL.replace("credentials: anonymous", "credentials: secret/key.json"))
    assert load_config(path).snapshot()["gcp"]["credentials"] == "service-account-key-file"


@pytest.mark.parametrize("text,hours", [("24h", 24), ("2d", 48), ("1w", 168), (12, 12)])
def test_durations(text, hours):
    assert parse_duration(text) == timedelta(hours=hours)
