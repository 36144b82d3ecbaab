"""A GitHub App installation instead of a personal token: config, key reading and the client PyGithub builds.

The simulator does not serve GitHub's installation-token exchange, so these tests stop at the
authentication object PyGithub is given (no request is made).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth

from auditor.collectors.github import GithubTuning, identity, make_client, read_auth
from auditor.config import load_config
from auditor.errors import ConfigError

BASE = "organization: X\nperiod: {quarter: 2026-Q3}\n"


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _config(tmp_path, app: str):
    path = tmp_path / "auditor.yaml"
    path.write_text(BASE + f"github:\n  organizations: [acme]\n  app: {app}\n")
    return load_config(path).github


def test_an_app_installation_key_file_relative_to_the_config(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "app.pem").write_text(_pem())
    github = _config(tmp_path, "{app_id: 12345, installation_id: 678, private_key_file: keys/app.pem}")
    assert github.app.private_key_file == tmp_path / "keys" / "app.pem"
    auth = read_auth(github)
    assert isinstance(auth, Auth.AppInstallationAuth) and auth.installation_id == 678
    client = make_client(github, auth, GithubTuning())
    assert client.requester.auth is auth
    assert identity(github) == "GitHub App 12345 installation 678"


def test_an_app_key_from_the_environment(tmp_path, monkeypatch):
    github = _config(tmp_path, "{app_id: Iv1.abc, installation_id: 9, private_key_env: AUDITOR_TEST_APP_KEY}")
    monkeypatch.delenv("AUDITOR_TEST_APP_KEY", raising=False)
    with pytest.raises(ConfigError, match="AUDITOR_TEST_APP_KEY is not set"):
        read_auth(github)
    monkeypatch.setenv("AUDITOR_TEST_APP_KEY", "not a key")
    with pytest.raises(ConfigError, match="not a PEM private key"):
        read_auth(github)
    monkeypatch.setenv("AUDITOR_TEST_APP_KEY", _pem())
    assert isinstance(read_auth(github), Auth.AppInstallationAuth)


def test_exactly_one_key_source(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of private_key_file"):
        _config(tmp_path, "{app_id: 1, installation_id: 2, private_key_file: a.pem, private_key_env: K}")
    with pytest.raises(ConfigError, match="exactly one of private_key_file"):
        _config(tmp_path, "{app_id: 1, installation_id: 2}")


def test_without_an_app_the_token_variable_is_used(tmp_path, monkeypatch):
    github = _config(tmp_path, "null")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    assert read_auth(github) == "t0ken" and identity(github) == "token from $GITHUB_TOKEN"
