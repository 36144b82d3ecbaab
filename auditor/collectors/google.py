"""Google API clients configured as their users configure them, wired into the capture layer.

Credentials are always passed explicitly (never left for a library to discover on its own: that
probes the metadata server). Scopes are read-only. Endpoint overrides are a real feature (Private
Service Connect, the simulator): the config gives a root URL and we add the API's service path.
"""

from __future__ import annotations

import threading
from typing import Any

import google_auth_httplib2
from google.auth.credentials import AnonymousCredentials, Credentials
from google.oauth2 import service_account
import httplib2
import orjson
from googleapiclient.discovery import build
from googleapiclient.http import HttpRequest
from googleapiclient.model import JsonModel

from auditor import retry
from auditor.config import GcpConfig
from auditor.errors import ConfigError
from auditor.evidence.capture import CapturingHttp

READ_ONLY_SCOPES = ["https://www.googleapis.com/auth/cloud-platform.read-only"]
API_VERSIONS = {"sqladmin": "v1", "storage": "v1", "cloudkms": "v1", "monitoring": "v3", "logging": "v2",
                "cloudresourcemanager": "v1", "backupdr": "v1"}
SERVICE_PATHS = {"storage": "/storage/v1/"}


class BoundedHttpRequest(HttpRequest):
    """HttpRequest with the library's own retry loop off: failed requests are retried in one place,
    the capture layer, by the run's policy (auditor.retry). It also notes which discovery method ran,
    so tests can prove only read methods are ever called."""

    method_ids: set[str] = set()  # every discovery method id executed in this process

    def __init__(self, http: Any, postproc: Any, uri: str, *args: Any, **kwargs: Any) -> None:
        # Compact JSON (the standard prettyPrint=false parameter), as Google's other client libraries ask:
        # the same content, a quarter fewer bytes to send, store and parse. Page requests built by
        # list_next copy this URI, so it is added once per listing.
        if "prettyPrint=" not in uri:
            uri += ("&" if "?" in uri else "?") + "prettyPrint=false"
        super().__init__(http, postproc, uri, *args, **kwargs)

    def execute(self, http: Any = None, num_retries: int = 0) -> Any:
        BoundedHttpRequest.method_ids.add(str(self.methodId))
        return super().execute(http=http, num_retries=0)


class FastJsonModel(JsonModel):
    """The discovery clients' JSON model, parsing with orjson (several times faster on the large pages of
    a quarter's audit log). A body orjson refuses goes to the library's own parser, so behaviour is the
    library's: in particular a 200 body that is not JSON still comes back as text, which the paging
    guard reports as malformed."""

    def deserialize(self, content: Any) -> Any:
        try:
            body = orjson.loads(content)
        except (orjson.JSONDecodeError, TypeError):
            return super().deserialize(content)
        if self._data_wrapper and isinstance(body, dict) and "data" in body:
            body = body["data"]
        return body


def load_credentials(setting: str) -> tuple[Credentials, str]:
    """(credentials, identity) for `gcp.credentials`: application-default, anonymous or a key file.

    Each failure says what is wrong and what to do: a newcomer's first run usually ends here.
    """
    if setting == "anonymous":
        return AnonymousCredentials(), "anonymous"
    if setting == "application-default":
        from auditor.collectors.adc import application_default

        return application_default(READ_ONLY_SCOPES)  # each source tried once; the error lists them
    try:
        creds = service_account.Credentials.from_service_account_file(setting, scopes=READ_ONLY_SCOPES)
    except FileNotFoundError:
        raise ConfigError(f"gcp.credentials: the service-account key file {setting} does not exist (paths are relative "
                          "to the config's folder); give the right path, or `application-default`") from None
    except IsADirectoryError:
        raise ConfigError(f"gcp.credentials: {setting} is a folder; give the key file (JSON) inside it") from None
    except PermissionError:
        raise ConfigError(f"gcp.credentials: {setting} cannot be read by this user (permission denied); "
                          "check the file's owner and mode") from None
    except OSError as err:
        raise ConfigError(f"gcp.credentials: cannot read the key file {setting}: {err.strerror or err}") from None
    except (ValueError, KeyError) as err:
        what = f"missing field {err}" if isinstance(err, KeyError) else str(err).splitlines()[0][:200]
        raise ConfigError(f"gcp.credentials: {setting} is not a service-account key (JSON with type "
                          f"service_account, client_email and private_key): {what}. Create one with "
                          "`gcloud iam service-accounts keys create`, or use application-default") from None
    return creds, creds.service_account_email


class GoogleClients:
    """Discovery-based service objects, one per API per thread (httplib2.Http is not thread-safe)."""

    def __init__(self, config: GcpConfig, credentials: Credentials) -> None:
        self.config = config
        self.credentials = credentials
        self._local = threading.local()

    def endpoint(self, api: str) -> str | None:
        root = getattr(self.config.endpoints, api)
        return None if root is None else root + SERVICE_PATHS.get(api, "")

    def collection(self, api: str, path: str) -> Any:
        """A resource collection such as ``collection("cloudkms", "projects.locations.keyRings.cryptoKeys")``,
        kept per thread like its service: google-api-python-client builds every method of a collection
        (docstrings included) each time one is asked for, about 15 ms of CPU, which at thousands of calls
        would cost more than the requests themselves."""
        cache = self._local.__dict__.setdefault("collections", {})
        if (api, path) not in cache:
            found = self.service(api)
            for name in path.split("."):
                found = getattr(found, name)()
            cache[(api, path)] = found
        return cache[(api, path)]

    def service(self, api: str) -> Any:
        cache = self._local.__dict__.setdefault("services", {})
        if api not in cache:
            timeout = retry.policy().timeout  # the run's policy: services are built inside a call
            http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=CapturingHttp(timeout=timeout))
            # Token refreshes must not pass through the capture layer: the token endpoint's answer
            # is an access token, and evidence must never hold one.
            http._request = google_auth_httplib2.Request(httplib2.Http(timeout=timeout))
            options = {"api_endpoint": self.endpoint(api)} if self.endpoint(api) else None
            cache[api] = build(api, API_VERSIONS[api], http=http, static_discovery=True, cache_discovery=False,
                               client_options=options, requestBuilder=BoundedHttpRequest, model=FastJsonModel())
        return cache[api]
