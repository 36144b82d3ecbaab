"""`gcp.credentials: application-default` without ADC: the metadata server is asked once, not three
times in silence, and the error lists every source tried.

The metadata server is a local HTTP server on 127.0.0.1 (GCE_METADATA_IP points there), which counts
the requests it gets; no test reaches 169.254.169.254.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from auditor.collectors.google import load_credentials
from auditor.errors import ConfigError


class _Metadata(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    flavor = False

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(200)
        if type(self).flavor:
            self.send_header("Metadata-Flavor", "Google")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def metadata(monkeypatch, tmp_path):
    _Metadata.hits = []
    _Metadata.flavor = False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GCE_METADATA_IP", f"127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("NO_GCE_CHECK", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC file there
    yield _Metadata
    server.shutdown()


def test_without_adc_the_metadata_server_is_asked_once_and_the_error_lists_the_sources(metadata, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_credentials("application-default")
    message = str(caught.value)
    assert len(metadata.hits) == 1, metadata.hits
    assert "GOOGLE_APPLICATION_CREDENTIALS (not set)" in message
    assert str(tmp_path / "gcloud" / "application_default_credentials.json") in message and "(absent)" in message
    assert "metadata server at 127.0.0.1" in message and "asked once" in message
    assert "without Metadata-Flavor" in message


def test_a_metadata_server_that_answers_gives_its_workload_identity(metadata):
    metadata.flavor = True
    creds, identity = load_credentials("application-default")
    assert len(metadata.hits) == 1
    assert type(creds).__module__.startswith("google.auth.compute_engine")
    assert "metadata server" in identity


def test_no_gce_check_skips_the_metadata_server_and_says_so(metadata, monkeypatch):
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(ConfigError, match="not asked: NO_GCE_CHECK is set"):
        load_credentials("application-default")
    assert metadata.hits == []


def test_a_credentials_file_is_used_without_asking_the_metadata_server(metadata, monkeypatch, tmp_path):
    missing = tmp_path / "missing-key.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(missing))
    with pytest.raises(ConfigError, match="GOOGLE_APPLICATION_CREDENTIALS=.*could not be loaded"):
        load_credentials("application-default")
    assert metadata.hits == []


def test_a_silent_metadata_address_is_tried_once_not_three_times(monkeypatch, tmp_path):
    """Off Google's runtimes nothing answers: google.auth alone waits 3 s three times; here once, 2 s."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    connections: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connections.append(listener.accept()[0])  # and never answer
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setenv("GCE_METADATA_IP", f"127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("NO_GCE_CHECK", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    try:
        with pytest.raises(ConfigError, match="no answer within 2 s"):
            load_credentials("application-default")
        assert len(connections) == 1
    finally:
        listener.close()
        for connection in connections:
            connection.close()
