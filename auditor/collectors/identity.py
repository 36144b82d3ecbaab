"""The GitHub token's owner (`GET /user`), collected as evidence like any other call.

For a user token GitHub names the user; an installation or GitHub Actions token belongs to no user
and gets HTTP 403. PyGithub's retry turns that 403 into an exception below the transport adapter; the
capture layer stores the response GitHub sent from inside that retry (auditor.collectors.github
`_Retry.increment`), and the refusal is also recorded here as a page of its own, which the reader
and the provenance read.
The call still succeeds, because the identity is provenance, not a control's evidence: the pack
records the limitation (see auditor.provenance) instead of failing the collection for it.
"""

from __future__ import annotations

from typing import Any, Iterator

import json

from github import GithubException

from auditor.collectors.github import GithubTuning, make_client, read_token
from auditor.evidence.capture import record_local
from auditor.provenance import GITHUB_USER_METHOD
from auditor.scheduler import Call


def scope_calls(ctx: Any) -> Iterator[Call]:
    config = ctx.config
    if config.github is None or not config.github.organizations:
        return
    tuning = getattr(ctx, "github_tuning", None) or GithubTuning(seconds_between_requests=config.github.seconds_between_requests)
    client = make_client(config.github, read_token(config.github), tuning)

    def who() -> dict[str, Any]:
        try:
            _headers, body = client.requester.requestJsonAndCheck("GET", "/user")
        except GithubException as err:
            if err.status in (401, 403):  # no user behind the token: recorded, not a collection failure
                record_local(f"{config.github.base_url}/user", json.dumps(
                    {"http_status": err.status, "answer": err.data}, sort_keys=True).encode())
                return {"login": None, "status": err.status}
            raise
        return {"login": (body or {}).get("login"), "status": 200}

    yield Call("github", GITHUB_USER_METHOD, {}, "github.com", who)
