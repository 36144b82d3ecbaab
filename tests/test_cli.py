"""The CLI's contract: commands, files written, and exit codes (0 done, 2 usage/config, 3 incomplete)."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.simulator import Simulator, load_scenario

runner = CliRunner()


def test_checks_lists_builtin_ids():
    result = runner.invoke(app, ["checks"])
    assert result.exit_code == 0
    assert "backup-enabled" in result.stdout and "backup-frequency" in result.stdout


def test_missing_option_is_a_usage_error():
    assert runner.invoke(app, ["run"]).exit_code == 2


def test_bad_config_exits_2_naming_the_file(tmp_path):
    config = tmp_path / "auditor.yaml"
    config.write_text("organization: X\nperiod: {quarter: 2026-Q9}\npolicy: {classifications: {a: {}}}\n")
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "auditor.yaml:2: period.quarter" in result.output


def test_demo_writes_the_pack_and_says_where(sample_pack, tmp_path):
    # the session's one `auditor demo --out DIR` run (tests/conftest.py): its exit code, terminal and files
    out = sample_pack.out
    # the sample company denies one project and has the Cloud SQL API disabled in another, on purpose
    assert sample_pack.exit_code == 3, sample_pack.output
    assert "IAM_PERMISSION_DENIED" in sample_pack.output and "SERVICE_DISABLED" in sample_pack.output
    for name in ("report.pdf", "report.html", "results.json", "evidence/manifest.json"):
        assert (out / name).is_file()
        assert str(out / name) in sample_pack.stdout

    again = tmp_path / "again"
    result = runner.invoke(app, ["check", "--evidence", str(out / "evidence"), "--out", str(again)])
    assert result.exit_code == 3, result.output  # re-performed from a locker whose collection was incomplete
    first = json.loads((out / "results.json").read_text())
    second = json.loads((again / "results.json").read_text())
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second

    rendered = tmp_path / "rendered"
    result = runner.invoke(app, ["report", "--results", str(again / "results.json"), "--evidence", str(out / "evidence"), "--out", str(rendered)])
    assert result.exit_code == 0, result.output
    assert (rendered / "report.pdf").read_bytes().startswith(b"%PDF")


def test_demo_lends_a_dummy_github_token_only_while_none_is_set(sample_dir, monkeypatch):
    """The shared demo run has a token set (the token test greps for it), so the lending path is checked here."""
    import os

    from auditor.cli import _demo_token
    from auditor.config import load_config

    config = load_config(sample_dir / "auditor.yaml")
    name = config.github.token_env
    monkeypatch.delenv(name, raising=False)
    with _demo_token(config):
        assert os.environ.get(name)  # the simulator wants a token, like GitHub does
    assert name not in os.environ  # lent for the run only
    monkeypatch.setenv(name, "the-users-own")
    with _demo_token(config):
        assert os.environ[name] == "the-users-own"
    assert os.environ[name] == "the-users-own"


def test_incomplete_collection_exits_3_and_still_writes_the_pack(tmp_path, sample_dir):
    scenario = yaml.safe_load((sample_dir / "scenario.yaml").read_text())
    next(p for p in scenario["projects"] if p["id"] == "bks-analytics")["apis_disabled"] = ["sqladmin"]
    scenario_path = tmp_path / "scenario.yaml"
    scenario_path.write_text(yaml.safe_dump(scenario))
    with Simulator(load_scenario(scenario_path), port=0) as simulator:
        config = yaml.safe_load((sample_dir / "auditor.yaml").read_text())
        config["gcp"]["endpoints"] = {api: simulator.url for api in config["gcp"]["endpoints"]}
        config.pop("inventory", None)
        config.pop("github", None)
        config_path = tmp_path / "auditor.yaml"
        config_path.write_text(yaml.safe_dump(config))
        result = runner.invoke(app, ["run", "--config", str(config_path), "--out", str(tmp_path / "pack")])
    assert result.exit_code == 3, result.output
    assert "collection incomplete" in result.output and "service_disabled" in result.output
    results = json.loads((tmp_path / "pack" / "results.json").read_text())
    statuses = {c["id"]: c["status"] for c in results["controls"]}
    assert statuses["backup-enabled"] != "pass" and statuses["backup-frequency"] != "pass"
    assert (tmp_path / "pack" / "report.pdf").is_file()


def test_check_on_a_folder_without_a_locker_exits_2(tmp_path):
    result = runner.invoke(app, ["check", "--evidence", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no evidence manifest" in result.output


def test_simulate_serves_a_scenario_until_interrupted(sample_dir):
    import re
    import signal
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "auditor", "simulate", "--scenario", str(sample_dir / "scenario.yaml"), "--port", "0"],
                            stdout=subprocess.PIPE, text=True,
                            # a CI runner may start us with SIGINT ignored, which the child would inherit
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        with urllib.request.urlopen(f"{url}/v1/projects/bks-prod/instances") as response:
            names = {i["name"] for i in json.loads(response.read())["items"]}
        assert "customers-pg" in names
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{url}/v1/nothing/here")
        assert err.value.code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) == 0  # stopping removes the git repositories it made
