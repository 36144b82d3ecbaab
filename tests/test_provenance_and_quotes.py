"""Accountable provenance, policy quotes, thresholds' configuration keys and management responses.

Real HTTP only to 127.0.0.1: the GitHub identity through PyGithub against the simulator, the ADC
user's email through google-auth's transport against a local tokeninfo server.
"""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from auditor import provenance
from auditor.collectors import github as github_collector
from auditor.collectors import identity
from auditor.config import GCP_APIS, Config, load_config
from auditor.errors import ConfigError
from auditor.evidence.locker import Locker, LockerWriter
from auditor.responses import parse_responses
from auditor.scheduler import Scheduler
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "bangkok-solutions"
TOKEN = "ghp_PROVtokenValue0123456789abcdefXYZ"


# ------------------------------------------------------------------------------------------ operator

def test_operator_names_the_github_actions_run():
    env = {"GITHUB_SERVER_URL": "https://github.example.com", "GITHUB_REPOSITORY": "acme/audits", "GITHUB_RUN_ID": "4242",
           "GITHUB_ACTOR": "octo", "GITHUB_RUN_ATTEMPT": "2", "CI": "true"}
    found = provenance.operator(env)
    assert found["ci"]["run_url"] == "https://github.example.com/acme/audits/actions/runs/4242"
    assert found["ci"]["actor"] == "octo" and found["ci"]["attempt"] == "2"
    assert found["os_user"]  # the OS user running the tool


def test_operator_outside_ci_has_no_run_and_other_ci_is_said_to_be_unknown():
    assert "ci" not in provenance.operator({})
    assert provenance.operator({"CI": "true"})["ci"]["run_url"] is None


def test_loopback_and_anonymous_make_a_run_simulated():
    config = load_config(SAMPLE / "auditor.yaml")  # the sample points at 127.0.0.1 and uses anonymous credentials
    reasons = provenance.simulated_reasons(config)
    assert any("loopback" in r for r in reasons) and "anonymous Google Cloud credentials" in reasons
    real = config.model_copy(update={
        "gcp": config.gcp.model_copy(update={"credentials": "application-default",
                                             "endpoints": config.gcp.endpoints.model_copy(update={a: None for a in GCP_APIS})}),
        "github": config.github.model_copy(update={"base_url": "https://api.github.com"})})
    assert provenance.simulated_reasons(real) == []
    for host, loop in (("http://127.0.0.1:8765", True), ("http://127.5.6.7", True), ("http://[::1]:80", True),
                       ("http://localhost:1", True), ("https://sqladmin.googleapis.com", False), ("http://10.0.0.1", False)):
        assert provenance.is_loopback(host) is loop, host


# ------------------------------------------------------------------------------------ GCP principal

def _service_account_info() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "audit-proj", "private_key_id": "k1", "private_key": pem,
            "client_email": "auditor@audit-proj.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "http://127.0.0.1:9/token"}


def test_a_service_account_is_named_by_its_own_email():
    from google.oauth2 import service_account

    creds = service_account.Credentials.from_service_account_info(_service_account_info())
    principal = provenance.gcp_principal(creds, "/keys/auditor.json")
    assert principal == {"kind": "service_account", "email": "auditor@audit-proj.iam.gserviceaccount.com", "source": "the credentials"}


def test_anonymous_credentials_have_no_principal():
    from google.auth.credentials import AnonymousCredentials

    assert provenance.gcp_principal(AnonymousCredentials(), "anonymous")["email"] is None


class _TokenInfo(BaseHTTPRequestHandler):
    answer: dict = {}
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        _TokenInfo.seen.append((self.path, body))
        status, data = _TokenInfo.answer.get("status", 200), _TokenInfo.answer.get("body", {})
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def tokeninfo():
    server = HTTPServer(("127.0.0.1", 0), _TokenInfo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _TokenInfo.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/tokeninfo"
    server.shutdown()


def test_an_adc_user_is_named_by_tokeninfo_and_the_token_never_goes_in_a_url(tokeninfo):
    import google.auth.transport.requests
    from google.oauth2.credentials import Credentials

    _TokenInfo.answer = {"body": {"email": "ana@example.com", "scope": "https://www.googleapis.com/auth/cloud-platform.read-only openid",
                                  "expires_in": "3599"}}
    creds = Credentials(token="ya29.user-token-value")  # an ADC user credential with a current token
    principal = provenance.gcp_principal(creds, "application-default", tokeninfo_url=tokeninfo,
                                         request=google.auth.transport.requests.Request())
    assert principal["email"] == "ana@example.com" and principal["source"] == "tokeninfo"
    assert "https://www.googleapis.com/auth/cloud-platform.read-only" in principal["scopes"]
    ((path, body),) = _TokenInfo.seen
    assert path == "/tokeninfo" and "ya29" not in path and body == "access_token=ya29.user-token-value"
    assert "ya29" not in json.dumps(principal)


def test_a_tokeninfo_refusal_is_recorded_not_guessed(tokeninfo):
    import google.auth.transport.requests
    from google.oauth2.credentials import Credentials

    _TokenInfo.answer = {"status": 400, "body": {"error": "invalid_token"}}
    principal = provenance.gcp_principal(Credentials(token="expired"), "application-default", tokeninfo_url=tokeninfo,
                                         request=google.auth.transport.requests.Request())
    assert principal["email"] is None and "HTTP 400" in principal["error"]


# --------------------------------------------------------------------------------- GitHub identity

def _scenario(**github):
    data = {"name": "prov", "now": "2026-09-30T02:00:00Z", "history_start": "2026-09-01",
            "organization": {"id": "1", "display_name": "x"}, "projects": [],
            "github": {"organizations": [{"login": "acme", "repositories": [
                {"name": "alpha", "pushes": ["2026-09-01T10:00:00Z"], "backup": {"fetched": "2026-09-30T01:00:00Z"}},
                {"name": "beta", "pushes": ["2026-09-01T10:00:00Z"], "backup": {"fetched": "2026-09-30T01:00:00Z"}}]}],
                **github}}
    return parse_scenario(data)


def _collect_github(sim, out: Path, monkeypatch) -> Locker:
    monkeypatch.setenv("AUDITOR_PROV_TOKEN", TOKEN)
    config = Config.model_validate({
        "organization": "Acme", "period": {"quarter": "2026-Q3"},
        "github": {"organizations": ["acme"], "token_env": "AUDITOR_PROV_TOKEN"},
        "policy": {"classifications": {"internal": {}}}}).for_simulator(sim)
    tuning = github_collector.GithubTuning(seconds_between_requests=0, sleep=lambda s: None)
    ctx = SimpleNamespace(config=config, github_tuning=tuning)
    locker = LockerWriter(out, config_snapshot=config.snapshot(), identity={"github": "token from $AUDITOR_PROV_TOKEN"})
    Scheduler(locker).run(list(identity.scope_calls(ctx)) + list(github_collector.scope_calls(ctx)))
    locker.close()
    return Locker(out)


def test_a_user_token_names_its_owner_and_classic_scopes(tmp_path, monkeypatch):
    with Simulator(_scenario(user="ana-audit"), port=0) as sim:
        locker = _collect_github(sim, tmp_path / "ev", monkeypatch)
    found = provenance.github_identity(locker)
    assert found["login"] == "ana-audit" and found["type"] == "User"
    assert found["scopes"] == ["read:org", "repo"] and found["token_kind"] == "classic personal access token"
    assert found["could_list"] == {"acme": "2 repositories"} and "limitation" not in found
    (call,) = [c for c in locker.manifest["calls"] if c["method"] == provenance.GITHUB_USER_METHOD]
    assert call["outcome"] == "ok" and found["evidence"] == call["items"]


def test_an_installation_token_is_a_recorded_limitation_not_a_failed_collection(tmp_path, monkeypatch):
    with Simulator(_scenario(token_has_user=False, token_scopes=None), port=0) as sim:
        locker = _collect_github(sim, tmp_path / "ev", monkeypatch)
    found = provenance.github_identity(locker)
    assert found["login"] is None and found["scopes"] is None
    assert found["token_kind"] == "installation or GitHub Actions token (no user)"
    assert "HTTP 403" in found["limitation"] and found["could_list"] == {"acme": "2 repositories"}
    (call,) = [c for c in locker.manifest["calls"] if c["method"] == provenance.GITHUB_USER_METHOD]
    assert call["outcome"] == "ok"  # provenance, not control evidence: the run is not "incomplete" for it
    answer, item = [i for i in locker.manifest["items"] if i["call_id"] == call["id"]]
    # GitHub's 403 as it was sent (PyGithub's retry raises on it below the adapter; the capture layer keeps it) ...
    sent = json.loads((locker.root / answer["path"]).read_text())
    assert answer["http_status"] == 403 and sent["message"] == "Resource not accessible by integration"
    # ... and the refusal as the collector recorded it, which the provenance reads
    stored = json.loads((locker.root / item["path"]).read_text())
    assert stored["http_status"] == 403 and stored["answer"]["message"] == "Resource not accessible by integration"
    assert locker.manifest["counts"]["failed_calls"] == 0


# ------------------------------------------------------------------------------------ policy quotes

def test_no_built_in_carries_the_sample_company_s_words():
    done = subprocess.run(["grep", "-rli", "bangkok", "checks/", "auditor/", "reports/", "templates/"], cwd=ROOT,
                          capture_output=True, text=True)
    hits = [h for h in done.stdout.split() if not h.startswith(("auditor/simulator/", "auditor/samples/"))
            and "__pycache__" not in h]
    # Google's region asia-southeast3 is in the city of Bangkok: a fact of the regions table, not the company's words
    assert hits == ["auditor/data/regions.csv"], hits
    assert (ROOT / "auditor/data/regions.csv").read_text().lower().count("bangkok") == 1


def test_every_sample_clause_is_the_policy_word_for_word():
    document = " ".join((SAMPLE / "backup-policy.txt").read_text(encoding="utf-8").split())
    clauses = yaml.safe_load((SAMPLE / "auditor.yaml").read_text())["policy"]["clauses"]
    assert len(clauses) == 11 and "restore-testing" not in clauses  # the policy promises no restore test
    for check_id, text in clauses.items():
        assert " ".join(text.split()) in document, check_id


def _config(tmp_path: Path, clauses: dict, document: str | None = "policy.txt") -> Path:
    (tmp_path / "policy.txt").write_text("Backup Policy\n\n  • Data is backed up daily.\n  • Backups are kept 30 days.\n"
                                         "Source code is mirrored.\n", encoding="utf-8")
    data = {"organization": "Acme", "period": {"quarter": "2026-Q3"}, "gcp": {"projects": ["p"], "credentials": "anonymous"},
            "policy": {"classifications": {"internal": {}}, "clauses": clauses, **({"document": document} if document else {})}}
    path = tmp_path / "auditor.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_clauses_are_quoted_by_line_from_the_policy_document(tmp_path):
    config = load_config(_config(tmp_path, {"backup-frequency": {"line": 3}, "backup-retention": {"lines": [3, 4]},
                                            "source-backup-coverage": "Source code is mirrored."}))
    clauses = config.policy.clauses
    assert clauses["backup-frequency"].text == "Data is backed up daily." and clauses["backup-frequency"].source == "policy.txt"
    assert clauses["backup-retention"].text == "Data is backed up daily. Backups are kept 30 days."
    assert clauses["source-backup-coverage"].line == 5
    # the stored snapshot carries the quote itself, so re-performance needs no document
    from auditor.config import config_from_snapshot

    again = config_from_snapshot(config.snapshot()).policy.clauses
    assert again["backup-retention"].text == clauses["backup-retention"].text


@pytest.mark.parametrize("clauses, document, message", [
    ({"backup-frequency": "Data is backed up hourly."}, "policy.txt", "is not in policy.txt word for word"),
    ({"backup-frequency": {"line": 99}}, "policy.txt", "line 99 is past the end of policy.txt (5 lines)"),
    ({"backup-frequency": {"line": 2}}, "policy.txt", "line 2 of policy.txt is blank"),
    ({"backup-frequency": {"line": 3}}, None, "quotes a line, but policy.document is not set"),
    ({"backup-frequency": {"line": 3}}, "missing.txt", "policy.document: cannot read"),
])
def test_a_misquote_is_a_configuration_error_naming_the_key(tmp_path, clauses, document, message):
    with pytest.raises(ConfigError, match="policy.clauses.backup-frequency|policy.document") as err:
        load_config(_config(tmp_path, clauses, document))
    assert message in str(err.value)


# -------------------------------------------------------------------------------------- responses

def test_responses_are_strict():
    good = ("responses:\n  - finding: 'backup-frequency:*'\n    response: Re-enabled.\n    owner: lead@example.com\n"
            "    due: 2026-10-31\n    approved: 2026-10-03\n")
    parsed = parse_responses(good, "r.yaml")
    assert parsed.entries[0].matches("backup-frequency:cloudsql.googleapis.com/projects/p/instances/i:daily")
    with pytest.raises(ConfigError, match=r"r.yaml:\d+: responses.0.ticketz: unknown key"):
        parse_responses(good + "    ticketz: X-1\n", "r.yaml")
    with pytest.raises(ConfigError, match="due 2026-10-01 is before approved 2026-10-03"):
        parse_responses(good.replace("2026-10-31", "2026-10-01"), "r.yaml")
    with pytest.raises(ConfigError, match="responses.0.approved: Field required"):
        parse_responses(good.replace("    approved: 2026-10-03\n", ""), "r.yaml")
