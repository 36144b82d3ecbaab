"""The errors a new user meets first: each says what is wrong and what to do, exits 2 and leaves nothing behind."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import load_config
from auditor.simulator import Simulator, load_scenario

runner = CliRunner()
BASE = "organization: X\nperiod: {quarter: 2026-Q3}\n"


def _run(tmp_path, text, *extra):
    config = tmp_path / "auditor.yaml"
    config.write_text(text)
    out = tmp_path / "pack"
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(out), "--outputs", "json", *extra])
    return result, out


def test_a_mistyped_key_gets_a_suggestion_with_its_line(tmp_path):
    result, out = _run(tmp_path, BASE + "gcp:\n  projects: [p]\n  credentails: anonymous\npolicy:\n  classifications:\n"
                                        "    a: {backup_intervall: 24h}\n")
    assert result.exit_code == 2
    assert "auditor.yaml:5: gcp.credentails: unknown key (did you mean 'credentials'?)" in result.output
    assert "auditor.yaml:8: policy.classifications.a.backup_intervall: unknown key (did you mean 'backup_interval'?)" in result.output
    assert not out.exists()


def test_github_base_url_needs_a_scheme(tmp_path):
    result, out = _run(tmp_path, BASE + "github: {organizations: [acme], base_url: ghe.example.com/api/v3}\n")
    assert result.exit_code == 2
    assert "github.base_url" in result.output and "is not a URL with a scheme and host" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_missing_key_file_names_the_path_and_leaves_no_folder(tmp_path):
    result, out = _run(tmp_path, BASE + "gcp: {projects: [p], credentials: keys/auditor.json}\npolicy: {classifications: {a: {}}}\n")
    assert result.exit_code == 2
    assert f"the service-account key file {tmp_path / 'keys/auditor.json'} does not exist" in result.output
    assert not out.exists()


def test_a_file_that_is_not_a_key_says_so(tmp_path):
    (tmp_path / "key.json").write_text('{"type": "authorized_user"}')
    result, _out = _run(tmp_path, BASE + "gcp: {projects: [p], credentials: key.json}\npolicy: {classifications: {a: {}}}\n")
    assert result.exit_code == 2
    assert "is not a service-account key" in result.output and "FileNotFoundError" not in result.output


def test_no_application_default_credentials_says_how_to_log_in(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # never probe the metadata server
    result, out = _run(tmp_path, BASE + "gcp: {projects: [p]}\npolicy: {classifications: {a: {}}}\n")
    assert result.exit_code == 2
    assert "gcloud auth application-default login" in result.output
    assert not out.exists()


def test_google_scope_without_classifications_is_refused_with_the_reason(tmp_path):
    result, _out = _run(tmp_path, BASE + "gcp: {projects: [p], credentials: anonymous}\n")
    assert result.exit_code == 2
    assert "policy.classifications: at least one classification is required to audit Google Cloud" in result.output


def test_a_github_only_config_needs_no_classifications_and_404_hints_at_api_v3(tmp_path, sample_dir, monkeypatch):
    monkeypatch.setenv("AUDITOR_NEWCOMER_TOKEN", "newcomer-token")
    assert load_config_text(tmp_path, BASE + "github: {organizations: [acme]}\n").policy.classifications == {}
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as sim:
        github = {"organizations": ["bangkok-solutions"], "token_env": "AUDITOR_NEWCOMER_TOKEN", "seconds_between_requests": 0,
                  "backup": {"root": str(sim.github_backup_root), "layout": "mirror"}}
        text = BASE + yaml.safe_dump({"github": {**github, "base_url": sim.url}})  # a GHE host without /api/v3
        result, out = _run(tmp_path, text)
        assert result.exit_code == 3, result.output
        assert f"is at {sim.url}/api/v3" in result.output
        # the config's backup root is wrong; --backup-root (the Action's backup-root input) puts it right
        elsewhere = {**github, "base_url": sim.url + "/api/v3", "backup": {"root": str(tmp_path / "not-here"), "layout": "mirror"}}
        text = BASE + yaml.safe_dump({"github": elsewhere})
        (tmp_path / "ok").mkdir()
        result, out = _run(tmp_path / "ok", text, "--backup-root", str(sim.github_backup_root))
        host = sim.url.removeprefix("http://")
    assert result.exit_code == 0, result.output  # source code audited alone; every call answered
    assert "source-backup-coverage" in result.stdout
    # a GitHub Enterprise Server (any host but api.github.com) names its repositories by its own host
    import json

    results = json.loads((tmp_path / "ok" / "pack" / "results.json").read_text())
    resources = {f["resource"] for c in results["controls"] if c["id"].startswith("source-") for f in c["findings"]}
    assert resources and all(r.startswith(f"{host}/bangkok-solutions") for r in resources), \
        sorted(r for r in resources if not r.startswith(host))
    coverage = next(c for c in results["controls"] if c["id"] == "source-backup-coverage")
    # the sample has one repository without a backup (scenario.yaml); with the config's wrong root every one would fail
    assert sum(1 for f in coverage["findings"] if f["status"] == "fail") == 1


def load_config_text(tmp_path, text):
    path = tmp_path / "only-github.yaml"
    path.write_text(text)
    return load_config(path)


def test_a_missing_github_token_is_a_usage_error_that_leaves_no_locker(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDITOR_UNSET_TOKEN", raising=False)
    result, out = _run(tmp_path, BASE + "github: {organizations: [acme], token_env: AUDITOR_UNSET_TOKEN}\n")
    assert result.exit_code == 2
    assert "the environment variable AUDITOR_UNSET_TOKEN is not set" in result.output
    assert not out.exists()
