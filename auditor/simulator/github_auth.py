"""The credentials the simulated GitHub accepts, in every form GitHub itself accepts them.

`Authorization: token T` and `Bearer T` (the REST API's two schemes), and Basic (what git and
python-github-backup send): `T:x-oauth-basic` (the OAuth convention), `x-access-token:T` (GitHub
Apps), `T:` (a token as user name, no password), or any user name with the token as its password.
Any non-empty token is accepted: the simulator checks that a client authenticates, not who it is.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any


def token_from(headers: Any) -> str:
    """The token a request carries, or "" when it carries none (or an unreadable Basic value)."""
    value = headers.get("Authorization") or ""
    scheme, _, credential = value.strip().partition(" ")
    scheme, credential = scheme.lower(), credential.strip()
    if scheme in ("token", "bearer"):
        return credential
    if scheme != "basic":
        return ""
    try:
        user, _, password = base64.b64decode(credential, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
    if password in ("", "x-oauth-basic"):
        return user
    return password
