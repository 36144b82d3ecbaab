"""The Cloud Asset client (google-cloud-asset, REST transport), wired into the one capture layer.

The library builds its own `requests` session (an AuthorizedSession) inside the REST transport and
offers no hook to pass one in. `capture_asset_client` reaches that session in ONE place, so that
every page the client fetches is stored as evidence; tests/test_asset_client.py fails if a new
library release moves or renames it.
"""

from __future__ import annotations

from typing import Any

import requests
from google.auth.credentials import Credentials
from google.cloud import asset_v1

from auditor.errors import CollectionError
from auditor.evidence.capture import capture_session


def capture_asset_client(client: asset_v1.AssetServiceClient) -> asset_v1.AssetServiceClient:
    """Route the REST transport's session through the capture layer (the one private attribute we touch)."""
    session = getattr(getattr(client, "_transport", None), "_session", None)
    if not isinstance(session, requests.Session):
        raise CollectionError("google-cloud-asset changed: its REST transport no longer keeps a requests session in "
                              "_transport._session, so its pages could not be captured as evidence")
    capture_session(session)
    return client


def asset_client(credentials: Credentials, root_url: str | None) -> Any:
    """An AssetServiceClient over REST (so endpoint overrides work), pages captured as evidence."""
    options = {"api_endpoint": root_url} if root_url else None
    client = asset_v1.AssetServiceClient(transport="rest", credentials=credentials, client_options=options)
    return capture_asset_client(client)
