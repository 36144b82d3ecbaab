"""Application default credentials, looked up once per source, saying which sources were tried.

google.auth.default() tries, in order: the key file named by GOOGLE_APPLICATION_CREDENTIALS, the
file `gcloud auth application-default login` writes, and last the metadata server (169.254.169.254),
which answers only on Google's own runtimes (Compute Engine, GKE with workload identity, Cloud Run,
Cloud Build): that is how a workload identity is found there. Off Google's runtimes nothing answers,
and the library asks three times (3 s each) before it says "not found", without saying what it
tried. So when neither file exists the metadata server is asked once here, with a short timeout,
and the error lists every source and what it gave.
"""

from __future__ import annotations

import os
from typing import Any

import google.auth
import google.auth.exceptions
from google.auth import environment_vars

from auditor.errors import ConfigError

METADATA_IP = "169.254.169.254"
PING_TIMEOUT_SECONDS = 2.0


def _gcloud_file() -> str:
    config = os.environ.get("CLOUDSDK_CONFIG") or os.path.join(os.path.expanduser("~"), ".config", "gcloud")
    if os.name == "nt":  # pragma: no cover - the auditor runs on Linux and macOS
        config = os.environ.get("CLOUDSDK_CONFIG") or os.path.join(os.environ.get("APPDATA", ""), "gcloud")
    return os.path.join(config, "application_default_credentials.json")


def _metadata_answers(host: str, timeout: float) -> tuple[bool, str]:
    """One GET of the metadata server's root with the Metadata-Flavor header (as google.auth does)."""
    import google.auth.transport.requests

    request = google.auth.transport.requests.Request()
    try:
        response = request(url=f"http://{host}", method="GET", headers={"Metadata-Flavor": "Google"}, timeout=timeout)
    except google.auth.exceptions.TransportError as err:
        return False, f"no answer within {timeout:g} s ({type(err).__name__})"
    if response.status == 200 and response.headers.get("metadata-flavor") == "Google":
        return True, "answered"
    return False, f"answered HTTP {response.status} without Metadata-Flavor: Google (not a metadata server)"


def application_default(scopes: list[str]) -> tuple[Any, str]:
    """(credentials, identity) from application default credentials; ConfigError listing what was tried."""
    explicit = os.environ.get(environment_vars.CREDENTIALS)
    gcloud = _gcloud_file()
    if explicit or os.path.isfile(gcloud):
        try:  # a file source exists: google.auth finds it before ever asking the metadata server
            creds, _project = google.auth.default(scopes=scopes)
        except google.auth.exceptions.DefaultCredentialsError as err:
            source = f"GOOGLE_APPLICATION_CREDENTIALS={explicit}" if explicit else f"gcloud's file {gcloud}"
            raise ConfigError(f"gcp.credentials: application default credentials from {source} could not be "
                              f"loaded: {str(err)[:300]}") from err
        return creds, getattr(creds, "service_account_email", None) or "application-default credentials"
    host = os.environ.get(environment_vars.GCE_METADATA_IP, METADATA_IP)
    tried = ["GOOGLE_APPLICATION_CREDENTIALS (not set)", f"gcloud's file {gcloud} (absent)"]
    if os.environ.get(environment_vars.NO_GCE_CHECK, "").lower() in ("true", "1", "yes"):
        tried.append(f"the metadata server at {host} (not asked: NO_GCE_CHECK is set)")
    else:
        answered, what = _metadata_answers(host, PING_TIMEOUT_SECONDS)
        if answered:
            from google.auth import compute_engine

            return compute_engine.Credentials(scopes=scopes), "the metadata server's service account (workload identity)"
        tried.append(f"the metadata server at {host} ({what}; asked once)")
    raise ConfigError("gcp.credentials: application default credentials not found; tried " + "; ".join(tried) +
                      ". Run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a key "
                      "file, set gcp.credentials to a service-account key path, or run on a Google runtime whose "
                      "metadata server provides a workload identity.")
