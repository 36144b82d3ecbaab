"""Who collected the evidence, from where, with what, and by which clock: the pack's accountable provenance.

An auditor relies on evidence only when it names an accountable principal. So the pack records:

- the Google Cloud principal: a service account's email from its credentials, an ADC user's email
  from Google's tokeninfo answer, or "anonymous";
- the GitHub identity: the owner of a user token (``GET /user``, collected as evidence like any other
  call) and the classic token's ``X-OAuth-Scopes``; installation and Actions tokens have neither,
  which is recorded as a scope limitation together with what the token could list;
- the operator: the OS user and host, and in CI the run's URL from the ``GITHUB_*`` variables;
- the tool and its version;
- the Google Cloud permissions the identity holds on each project, as testIamPermissions answered
  during collection (auditor.iam): held, missing, or "not tested" with the reason;
- whether the run was SIMULATED: every endpoint on a loopback address, or anonymous credentials,
  means the data did not come from a real organisation, and every page of the pack says so;
- the clock: ``as_of`` is the servers' clock (their ``Date`` headers). Against the simulator that is
  the scenario clock, which the pack names as such beside the operator's own clock.

Collected at ``collect`` (:func:`at_collection`, stored in the locker manifest) and completed from
the locker at ``check`` (:func:`for_results`), so re-performance needs nothing but the locker.
"""

from __future__ import annotations

import getpass
import ipaddress
import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from auditor import TOOL_NAME, __version__

TOKENINFO_URL = "https://oauth2.googleapis.com/tokeninfo"
GITHUB_USER_METHOD = "users.get_authenticated"
SCOPE_READ_ONLY = "https://www.googleapis.com/auth/cloud-platform.read-only (OAuth scope)"


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def simulated_reasons(config: Any) -> list[str]:
    """Why this run's data is not a real organisation's (empty for a real run)."""
    reasons = []
    google = bool(config.gcp.projects or config.gcp.organization or config.gcp.folders)
    endpoints = {api: url for api, url in config.gcp.endpoints.model_dump().items() if url} if google else {}
    loopback = sorted(api for api, url in endpoints.items() if is_loopback(url))
    if loopback:
        reasons.append(f"Google Cloud endpoints on a loopback address ({', '.join(loopback)})")
    if google and config.gcp.credentials == "anonymous":
        reasons.append("anonymous Google Cloud credentials")
    if config.github is not None and config.github.organizations and is_loopback(config.github.base_url):
        reasons.append(f"GitHub API on a loopback address ({config.github.base_url})")
    return reasons


def operator(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The person or pipeline that ran the tool: OS user and host; in GitHub Actions, the run's URL."""
    env = os.environ if env is None else env
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = None
    found: dict[str, Any] = {"os_user": user, "host": socket.gethostname() or None}
    server, repo, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if server and repo and run:
        found["ci"] = {"system": "GitHub Actions", "run_url": f"{server.rstrip('/')}/{repo}/actions/runs/{run}",
                       "actor": env.get("GITHUB_ACTOR"), "workflow": env.get("GITHUB_WORKFLOW"),
                       "ref": env.get("GITHUB_REF"), "sha": env.get("GITHUB_SHA"),
                       "attempt": env.get("GITHUB_RUN_ATTEMPT")}
    elif env.get("CI"):
        found["ci"] = {"system": "unknown CI (CI is set; no GitHub Actions run variables)", "run_url": None}
    return found


def gcp_principal(credentials: Any, setting: str, *, tokeninfo_url: str = TOKENINFO_URL,
                  request: Any = None) -> dict[str, Any]:
    """The Google Cloud principal the credentials act as.

    A service account (key file, impersonation, workload identity) names its email itself; an ADC
    user credential does not, so its access token is sent to tokeninfo (in a POST body, never a URL)
    and the answer's ``email`` is recorded. A failure to ask is recorded, never guessed around.
    """
    from google.auth.credentials import AnonymousCredentials

    if isinstance(credentials, AnonymousCredentials) or setting == "anonymous":
        return {"kind": "anonymous", "email": None, "source": "gcp.credentials: anonymous"}
    email = getattr(credentials, "service_account_email", None) or getattr(credentials, "_target_principal", None)
    if email and email != "default":
        kind = "service_account" if setting != "application-default" else "service_account (application default credentials)"
        return {"kind": kind, "email": email, "source": "the credentials"}
    try:
        if request is None:
            import google.auth.transport.requests

            request = google.auth.transport.requests.Request()
        if not getattr(credentials, "token", None):
            credentials.refresh(request)
        response = request(url=tokeninfo_url, method="POST", body=f"access_token={credentials.token}".encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        data = json.loads(response.data or b"{}")
        if response.status != 200 or not isinstance(data, dict) or not data.get("email"):
            return {"kind": "user (application default credentials)", "email": None, "source": "tokeninfo",
                    "error": f"tokeninfo answered HTTP {response.status} without an email"}
        return {"kind": "user (application default credentials)", "email": data["email"], "source": "tokeninfo",
                "scopes": sorted(str(data.get("scope", "")).split())}
    except Exception as err:  # any transport or refresh failure: say so, do not invent a principal
        return {"kind": "application default credentials", "email": None, "source": "tokeninfo",
                "error": f"{type(err).__name__}: {err}"[:300]}


def at_collection(config: Any, gcp: dict[str, Any] | None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the locker stores at collection: everything but the GitHub identity (itself a collected call)."""
    reasons = simulated_reasons(config)
    return {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "operator": operator(env),
        "gcp": gcp,
        "github_token_env": config.github.token_env if config.github else None,
        "simulated": bool(reasons),
        "simulated_reasons": reasons,
    }


def _item_json(locker: Any, item_id: str) -> Any:
    try:
        return json.loads((Path(locker.root) / "items" / f"{item_id}.json").read_bytes())
    except (OSError, ValueError):
        return None


def github_identity(locker: Any) -> dict[str, Any] | None:
    """The GitHub token's owner and scopes, from the locker's `users.get_authenticated` and `orgs.get` calls."""
    manifest = locker.manifest
    items = {i["id"]: i for i in manifest["items"]}
    calls = [c for c in manifest["calls"] if c["api"] == "github"]
    if not calls:
        return None
    found: dict[str, Any] = {"login": None, "type": None, "token_kind": None, "scopes": None, "evidence": []}
    for call in calls:
        for item_id in call["items"]:
            scopes = (items.get(item_id, {}).get("headers") or {}).get("X-OAuth-Scopes")
            if scopes is not None and found["scopes"] is None:
                found["scopes"] = sorted(s.strip() for s in scopes.split(",") if s.strip())
    user_call = next((c for c in calls if c["method"] == GITHUB_USER_METHOD), None)
    if user_call is None:
        found["limitation"] = "this locker holds no GET /user call (collected by an older build): the token's owner is not recorded"
    else:
        found["evidence"] = list(user_call["items"])
        item = items.get(user_call["items"][-1]) if user_call["items"] else None
        body = _item_json(locker, item["id"]) if item else None
        if item and item.get("http_status") == 200 and isinstance(body, dict) and body.get("login"):
            found["login"], found["type"] = body["login"], body.get("type")
            found["token_kind"] = "classic personal access token" if found["scopes"] is not None else "fine-grained or OAuth user token"
        else:
            status = item.get("http_status") if item else None
            if isinstance(body, dict) and isinstance(body.get("http_status"), int):  # the refusal, as recorded by the collector
                status = body["http_status"]
            found["token_kind"] = "installation or GitHub Actions token (no user)"
            found["limitation"] = ("GitHub answered GET /user with HTTP "
                                   f"{status or 'nothing'}: the token belongs to no user, "
                                   "so no accountable GitHub person is recorded and its permissions are shown only by what it could list")
    listed = {}
    for call in calls:
        if call["method"] == "orgs.repos.list" and call["outcome"] == "ok":
            count = 0
            for item_id in call["items"]:
                body = _item_json(locker, item_id)
                count += len(body) if isinstance(body, list) else 0
            listed[call["params"].get("org")] = count
    found["could_list"] = {org: f"{n} repositories" for org, n in sorted(listed.items())}
    refused = _refusals(locker, calls, items)
    for org, refusal in refused.items():
        if org not in listed:
            found["could_list"][org] = f"nothing: {refusal['said']}"
    if refused:
        found["refused"] = refused
    return found


def _refusals(locker: Any, calls: list[dict[str, Any]], items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per organisation, GitHub's first refusal of an organisation-level call, with the answer GitHub sent
    (its status, message and allow-listed headers, stored as evidence by the capture layer)."""
    out: dict[str, dict[str, Any]] = {}
    for call in calls:
        org = (call.get("params") or {}).get("org")
        if call["outcome"] == "ok" or not org or org in out or call["method"] not in ("orgs.get", "orgs.repos.list"):
            continue
        error = call.get("error") or {}
        pages = [i for i in call["items"] if (items.get(i) or {}).get("http_status") not in (200, None)]
        body = _item_json(locker, pages[-1]) if pages else None
        message = body.get("message") if isinstance(body, dict) else None
        status = error.get("http_status") or ((items.get(pages[-1]) or {}).get("http_status") if pages else None)
        out[org] = {"method": call["method"], "call": call["id"], "http_status": status,
                    "message": message or error.get("message"), "headers": (items.get(pages[-1]) or {}).get("headers") if pages else None,
                    "evidence": pages, "said": f"GitHub answered {call['method']} with HTTP {status or '?'}: "
                                               f"{message or error.get('message') or error.get('kind')}"}
    return out


def for_results(lockers: list[Any], permission_tests: dict[str, Any] | None = None) -> dict[str, Any]:
    """results.json's `provenance`: the newest locker's, with the clock, the GitHub identity and the
    permissions testIamPermissions reported (auditor.iam) read from the evidence."""
    from auditor import iam

    newest = lockers[-1]
    if permission_tests is None:
        permission_tests = iam.summary(lockers)
    manifest = newest.manifest
    stored = manifest.get("provenance") or {}
    simulated = bool(stored.get("simulated")) or manifest.get("identity", {}).get("gcp") == "anonymous"
    reasons = list(stored.get("simulated_reasons") or ([] if not simulated else ["anonymous Google Cloud credentials"]))
    started, ended = manifest.get("started_at"), manifest.get("ended_at")
    clock = {
        "as_of": manifest.get("as_of"),
        "as_of_source": "the servers' clock (Date headers of their answers)"
                        + (": the simulator's scenario clock, not the real date" if simulated else ""),
        "collected_local": {"started_at": started, "ended_at": ended},
        "scenario_clock": simulated,
    }
    try:
        clock["offset_seconds"] = round((_parse(ended) - _parse(manifest["as_of"])).total_seconds())
    except (KeyError, TypeError, ValueError):
        clock["offset_seconds"] = None
    identity = manifest.get("identity") or {}
    gcp = stored.get("gcp") or ({"kind": "recorded by an older build", "email": None, "source": identity.get("gcp")}
                                if "gcp" in identity else None)
    github = github_identity(newest)
    principal: dict[str, Any] = {}
    if gcp is not None:
        principal["gcp"] = gcp.get("email") or f"{gcp.get('kind')} (no email)"
    if github is not None:
        principal["github"] = github.get("login") or f"{github.get('token_kind') or 'token'} (no user)"
    if identity.get("git"):
        principal["git"] = identity["git"]
    op = stored.get("operator") or {}
    ci = op.get("ci")
    permissions: dict[str, list[str]] = {}
    if gcp is not None:
        permissions["gcp"] = ([SCOPE_READ_ONLY] if gcp.get("kind") != "anonymous" else []) + [permission_tests["line"]]
    if github is not None:
        permissions["github"] = list(github.get("scopes") or [])
    return {
        "simulated": simulated,
        "simulated_reason": "; ".join(reasons) or None,
        "simulated_reasons": reasons,
        "principal": principal,
        "gcp": gcp,
        "github": github,
        "operator": {"user": op.get("os_user"), "host": op.get("host"), "ci_run_url": (ci or {}).get("run_url"), "ci": ci},
        "tool": stored.get("tool") or manifest.get("tool"),
        "permissions": permissions,
        "permissions_note": {
            "gcp": f"{permission_tests['read_only']}. {permission_tests['note']}; every denied call is a scope limitation "
                   "in the exceptions register",
            "github": "X-OAuth-Scopes (sent for classic tokens only; empty for fine-grained, installation and Actions tokens)",
        },
        "permission_tests": {"gcp": permission_tests} if gcp is not None else {},
        "clock": clock,
        "lockers": [locker.manifest.get("locker_id") for locker in lockers],
    }


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
