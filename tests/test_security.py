"""Security of a full run: read-only calls, no secret anywhere, hostile API content inert, no network.

One pack is produced over real HTTP against the simulator with: a bearer token and a GitHub-style
token whose values are recognisable, hostile strings in a label and in an API error message, and a
socket guard that refuses any connection not to 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from datetime import datetime, timedelta, timezone

import pytest
from google.oauth2.credentials import Credentials as TokenCredentials
from googleapiclient.discovery_cache import get_static_doc

from auditor import retry, runner
from auditor.collectors import google
from auditor.collectors.google import READ_ONLY_SCOPES, BoundedHttpRequest, GoogleClients
from auditor.config import load_config
from auditor.errors import ConfigError
from auditor.simulator import Simulator, load_scenario
from auditor.simulator.faults import Fault
from testkit import find_secrets, freeze_clock

ACCESS_TOKEN = "ya29.FAKE-ACCESS-TOKEN-b1f3e0c9d8"
GITHUB_TOKEN = "ghp_FAKEGITHUBTOKEN0123456789abcdefABCD"
KEY_MATERIAL = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-FAKE-KEY-MATERIAL"
HOSTILE = ('<script>alert(1)</script><link rel="attachment" href="file:///etc/passwd">'
           '<img src="file:///etc/hostname"><div style="background:url(http://198.51.100.7/x.png)">x</div>')
# Read-only POSTs: listing/search methods that Google exposes as POST.
READ_ONLY_POSTS = {"logging.entries.list", "cloudresourcemanager.projects.testIamPermissions",
                   "cloudkms.projects.locations.keyRings.cryptoKeys.testIamPermissions"}
READ_ONLY_POST_PATHS = ("/v2/entries:list", ":searchAllResources", ":searchAllIamPolicies", ":testIamPermissions")


class SocketGuard:
    """socket.connect that refuses every address but loopback, and remembers what was tried."""

    def __init__(self) -> None:
        self.refused: list[object] = []
        self.allowed: list[object] = []
        self._real = socket.socket.connect

    def __call__(self, sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
            self.allowed.append(address)
            return self._real(sock, address)
        self.refused.append(address)
        raise ConnectionRefusedError(f"test guard: no network except 127.0.0.1 (tried {address})")


@pytest.fixture(scope="module")
def secure_pack(sample_dir, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    guard = SocketGuard()
    mp.setattr(socket.socket, "connect", lambda sock, address: guard(sock, address))
    mp.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    token = TokenCredentials(token=ACCESS_TOKEN, expiry=datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=1))
    mp.setattr(runner, "load_credentials", lambda setting: (token, "auditor@bks-prod.iam.gserviceaccount.com"))
    scenario = load_scenario(sample_dir / "scenario.yaml")
    projects = []
    for project in scenario.projects:  # billing-pg carries a hostile label
        if project.id == "bks-prod":
            project = project.model_copy(update={"sql_instances": [
                i.model_copy(update={"labels": {"data-classification": HOSTILE}}) if i.name == "billing-pg" else i
                for i in project.sql_instances]})
        projects.append(project)
    scenario = scenario.model_copy(update={"projects": projects})
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    logging.getLogger().addHandler(handler)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    BoundedHttpRequest.method_ids.clear()
    out = tmp_path_factory.mktemp("secure")
    try:
        with Simulator(scenario, port=0) as sim:
            freeze_clock(sim)
            sim.faults.add(Fault(kind="status", status=500, api="sqladmin", project="bks-analytics",
                                 route="GET /v1/projects/{project}/instances/{instance}/backupRuns", message=HOSTILE))
            config = load_config(sample_dir / "auditor.yaml").for_simulator(sim)  # Google and GitHub
            with retry.overridden(retries=0, sleep=lambda s: None):
                outcome = runner.run(config, out)
            journal = list(sim.faults.journal)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(root_level)
        mp.undo()
    return out, outcome, journal, guard, logs.getvalue(), set(BoundedHttpRequest.method_ids)


def test_only_read_methods_reach_any_api(secure_pack):
    _out, _outcome, journal, _guard, _logs, _ids = secure_pack
    assert journal
    for method, path in journal:
        assert method == "GET" or (method == "POST" and path.endswith(READ_ONLY_POST_PATHS)), (method, path)


def _discovery_methods(api: str, version: str) -> dict[str, str]:
    doc = json.loads(get_static_doc(api, version))
    found: dict[str, str] = {}

    def walk(resources):
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = method["httpMethod"]
            walk(resource.get("resources", {}))

    walk(doc.get("resources", {}))
    return found


def test_every_discovery_method_used_is_a_read(secure_pack):
    method_ids = secure_pack[5]
    assert {"sql.instances.list", "sql.backupRuns.list", "logging.entries.list"} <= method_ids
    http_methods = {}
    for api, version in google.API_VERSIONS.items():
        http_methods.update(_discovery_methods(api, version))
    for method_id in method_ids:
        verb = method_id.rsplit(".", 1)[-1]
        # Cloud SQL's Backups resource spells its reads ListBackups / GetBackup in the discovery document
        assert verb in ("list", "get", "aggregatedList", "search", "testIamPermissions") \
            or verb.startswith(("List", "Get")), method_id
        assert http_methods[method_id] == "GET" or method_id in READ_ONLY_POSTS, method_id


def test_scopes_are_read_only():
    assert READ_ONLY_SCOPES and all(s.endswith((".read-only", ".readonly")) for s in READ_ONLY_SCOPES)


def test_no_connection_left_loopback(secure_pack):
    guard = secure_pack[3]
    assert guard.allowed and not guard.refused


def test_no_secret_in_any_output(secure_pack, capsys):
    out, outcome, _journal, _guard, logs, _ids = secure_pack
    texts = [logs, json.dumps(outcome.results), capsys.readouterr().out]
    assert not find_secrets([ACCESS_TOKEN, GITHUB_TOKEN, KEY_MATERIAL], [out], texts)
    assert outcome.collection.manifest["identity"]["gcp"].endswith("iam.gserviceaccount.com")


def test_token_refresh_never_passes_through_the_capture_layer(sample_dir):
    from auditor.evidence.capture import CapturingHttp

    clients = GoogleClients(load_config(sample_dir / "auditor.yaml").gcp, TokenCredentials(token=ACCESS_TOKEN))
    service = clients.service("sqladmin")
    authed = service._http
    assert isinstance(authed.http, CapturingHttp)
    assert not isinstance(authed._request.http, CapturingHttp)


def test_key_file_errors_do_not_quote_key_material(tmp_path):
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com",
                               "private_key": f"-----BEGIN PRIVATE KEY-----\n{KEY_MATERIAL}\n-----END PRIVATE KEY-----\n",
                               "token_uri": "http://127.0.0.1:9/token"}))
    with pytest.raises(ConfigError) as caught:
        google.load_credentials(str(key))
    assert KEY_MATERIAL not in str(caught.value) and KEY_MATERIAL not in repr(caught.value.__cause__)


def test_hostile_content_is_escaped_in_html(secure_pack):
    out = secure_pack[0]
    html = (out / "report.html").read_text()
    assert "<script>alert" not in html and '<link rel="attachment"' not in html and "<img src=\"file:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text


def test_hostile_content_fetches_nothing_into_the_pdf(secure_pack):
    from pypdf import PdfReader

    out = secure_pack[0]
    data = (out / "report.pdf").read_bytes()
    reader = PdfReader(io.BytesIO(data))
    assert not reader.attachments
    assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data
    assert b"root:x:0:0" not in data
    assert "alert(1)" in "".join(page.extract_text() for page in reader.pages)  # printed, never run


def test_a_failed_call_s_hostile_message_stays_data(secure_pack):
    out, outcome, *_ = secure_pack
    failed = [c for c in outcome.collection.failed_calls if c["params"].get("project") == "bks-analytics"]
    assert failed and all(c["error"]["kind"] == "http" for c in failed)  # (bks-legacy and bks-sandbox fail by design)
    assert any(HOSTILE in c["error"]["message"] for c in failed)  # kept verbatim as evidence
    html = (out / "report.html").read_text()
    assert HOSTILE not in html
