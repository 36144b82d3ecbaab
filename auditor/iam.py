"""The Google Cloud permissions the auditing identity holds, as testIamPermissions answered during the run.

`collect` asks Cloud Resource Manager, for every project in scope, about each read permission the
declared sources need and a few write probes (auditor.permissions). From the newest locker this
module says, per project, which were held and which missing, with the call and page that say so; a
test that failed (denied, disabled, timed out, unparseable) is "not tested" with its reason, never
"all held". The pack's cover and results.json carry the summary ("permissions held: N of M tested,
missing: ..."), and it warns when a write probe is held (the identity is not read-only).

A denied call's inconclusive findings then name the permission the call needs and what the test
said about it (`annotate`). testIamPermissions answers for the project's policy and what it inherits
(folders, organisation); a grant on a single resource (a bucket, a key) is not in that answer, and
a call can be refused for reasons IAM allow policies do not show (deny policies, VPC Service
Controls): the wording says so rather than guessing.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.permissions import WRITE_PROBES, permissions_for

API, METHOD = "cloudresourcemanager", "projects.testIamPermissions"
KEY_API, KEY_METHOD = "cloudkms", "cryptoKeys.testIamPermissions"
NOTE = ("Cloud Resource Manager testIamPermissions on each project, asked during collection for every read permission "
        "the collectors need and a few write permissions; it answers for the project's policy and what it inherits, "
        "not for grants on single resources, so each Cloud KMS key the evidence names is also asked itself")


def _held(locker: Any, call: dict[str, Any]) -> tuple[list[str] | None, str | None]:
    """(held permissions, None) from the call's answered page; (None, why) when it cannot be read."""
    from auditor.facts.sources.iam_permissions import held_of

    pages = [item_id for item_id, _item, status in locker.pages(call) if status == 200]
    if not pages:
        return None, "no answer was stored"
    try:
        body = json.loads(locker.body(pages[-1]))
    except ValueError:
        return None, "the answer is not JSON"
    held = held_of(body)
    return (held, None) if held is not None else (None, "the answer is not a testIamPermissions response")


def _not_tested(call: dict[str, Any]) -> str:
    from auditor.evidence.failure import KIND_WORDS

    error = call.get("error") or {}
    kind = error.get("kind") or call["outcome"]
    code = error.get("reason") or (f"HTTP {error['http_status']}" if error.get("http_status") else None)
    return f"{KIND_WORDS.get(kind, kind)}{f' ({code})' if code else ''}"


def project_tests(locker: Any) -> list[dict[str, Any]]:
    """One entry per project the locker asked about, sorted by project."""
    return _tests(locker, API, METHOD, lambda scope: {"project": scope.removeprefix("projects/")})


def key_tests(locker: Any) -> list[dict[str, Any]]:
    """One entry per Cloud KMS key the locker asked about (the key's own testIamPermissions), sorted by key."""
    return _tests(locker, KEY_API, KEY_METHOD, lambda scope: {"key": scope})


def _tests(locker: Any, api: str, method: str, names: Any) -> list[dict[str, Any]]:
    out = []
    for call in locker.calls(api, method):
        asked = [str(p) for p in call["params"].get("permissions") or []]
        entry: dict[str, Any] = {**names(call["scope"]), "scope": call["scope"],
                                 "call": call["id"], "evidence": list(call["items"]), "asked": len(asked)}
        held, why = (None, _not_tested(call)) if call["outcome"] != "ok" else _held(locker, call)
        if held is None:
            entry.update(tested=False, not_tested=why, held=[], missing=[], write_held=[])
        else:
            reads = [p for p in asked if p not in WRITE_PROBES]
            writes = [p for p in asked if p in WRITE_PROBES]
            entry.update(tested=True, not_tested=None, read_asked=len(reads),
                         held=[p for p in reads if p in held], missing=[p for p in reads if p not in held],
                         write_asked=len(writes), write_held=[p for p in writes if p in held])
        out.append(entry)
    return sorted(out, key=lambda e: e["scope"])


def summary(lockers: list[Any]) -> dict[str, Any]:
    """results.json's `provenance.permission_tests`: from the newest locker (the identity as it is now)."""
    projects = project_tests(lockers[-1])
    tested = [p for p in projects if p["tested"]]
    held = sum(len(p["held"]) for p in tested)
    asked = sum(p["read_asked"] for p in tested)
    missing = {p["project"]: p["missing"] for p in tested if p["missing"]}
    untested = {p["project"]: p["not_tested"] for p in projects if not p["tested"]}
    writes = {p["project"]: p["write_held"] for p in tested if p["write_held"]}
    if not projects:
        line = "not tested: this locker holds no testIamPermissions call (no Google Cloud project in scope, or an older build)"
    else:
        line = f"permissions held: {held} of {asked} tested" if tested else "permissions held: none tested"
        line += f" ({len(tested)} of {len(projects)} projects)"
        line += ", missing: " + "; ".join(f"{project}: {', '.join(names)}" for project, names in sorted(missing.items())) \
            if missing else (", missing: none" if tested else "")
        if untested:
            line += ". Not tested: " + "; ".join(f"{project}: {why}" for project, why in sorted(untested.items()))
    keys = key_tests(lockers[-1])
    keys_tested = [k for k in keys if k["tested"]]
    key_missing = {k["key"]: k["missing"] for k in keys_tested if k["missing"]}
    key_untested = {k["key"]: k["not_tested"] for k in keys if not k["tested"]}
    writes.update({k["key"]: k["write_held"] for k in keys_tested if k["write_held"]})
    key_line = None
    if keys:
        key_line = (f"Cloud KMS keys: held {sum(len(k['held']) for k in keys_tested)} of "
                    f"{sum(k['read_asked'] for k in keys_tested)} tested ({len(keys_tested)} of {len(keys)} keys)")
        if keys_tested:
            key_line += ", missing: " + ("; ".join(f"{key}: {', '.join(names)}" for key, names in sorted(key_missing.items()))
                                         if key_missing else "none")
        if key_untested:
            key_line += ". Not tested: " + "; ".join(f"{key}: {why}" for key, why in sorted(key_untested.items()))
    if writes:
        read_only = "NOT read-only: it holds " + "; ".join(f"{project}: {', '.join(names)}" for project, names in sorted(writes.items()))
    elif tested:
        read_only = "read-only as far as tested: no write permission probed is held"
    else:
        read_only = "not tested"
    return {"line": line, "key_line": key_line, "read_only": read_only,
            "read_only_ok": None if not (tested or keys_tested) else not writes,
            "held": held, "tested": asked, "projects_tested": len(tested), "projects": projects,
            "missing": missing, "not_tested": untested, "write_held": writes, "keys": keys,
            "key_missing": key_missing, "key_not_tested": key_untested, "note": NOTE}


def _verdict(needed: tuple[str, ...], test: dict[str, Any] | None) -> tuple[str, str]:
    """(state, words) for the permissions a denied call needs, by the project's test."""
    if not needed:
        return "none_needed", "no IAM permission is declared for this call"
    names = ", ".join(needed)
    if test is None:
        return "not_tested", f"it needs {names} (not tested: no testIamPermissions call for this project)"
    if not test["tested"]:
        return "not_tested", f"it needs {names} (not tested: {test['not_tested']})"
    lacking = [p for p in needed if p in test["missing"]]
    if lacking:
        return "missing", f"the identity lacks {', '.join(lacking)} on {test['scope']} (testIamPermissions)"
    return "held", (f"testIamPermissions reports {names} held on {test['scope']}, so the refusal comes from elsewhere "
                    "(a deny policy, VPC Service Controls, an organisation policy)")


def _denied(finding: Any, denied: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(api, method, scope, unverified entry) of each denied Google call behind an inconclusive finding.

    A finding on a resource the check could not read carries the gap's text instead of its call
    (kind `incomplete_data`); checks quote `CallGap.describe()` there, so the text finds the call."""
    out = []
    for entry in finding.details.get("unverified") or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("kind") == "permission_denied" and entry.get("api") and entry.get("method"):
            out.append((entry["api"], entry["method"], str(entry.get("scope") or ""), entry))
        elif entry.get("kind") == "incomplete_data":
            for text, gap in denied.items():
                if text in str(entry.get("message") or ""):
                    entry["denied_call"] = gap.call_id
                    out.append((gap.api, gap.method, gap.scope, entry))
    return out


def annotate(findings: dict[str, list[Any]], permission_summary: dict[str, Any], gaps: Any = ()) -> None:
    """Each inconclusive finding a denied Google call caused names the permission it needs and what the test said."""
    tests = {p["scope"]: p for p in [*permission_summary["projects"], *permission_summary.get("keys", [])]}
    denied = {gap.describe(): gap for gap in gaps if gap.kind == "permission_denied"}
    for found in findings.values():
        for finding in found:
            if finding.status != "inconclusive":
                continue
            said: list[str] = []
            for api, method, scope, entry in _denied(finding, denied):
                if api in ("github", "git", "inventory"):
                    continue  # GitHub's scopes are not IAM: its refusals cite GitHub's own stored answer
                try:
                    needed = permissions_for(api, method)
                except KeyError:
                    continue
                project = "/".join(scope.split("/")[:2]) if scope.startswith("projects/") else scope
                own = tests.get(scope)  # a key's own test, else its project's
                test = own if own is not None and own["tested"] else (tests.get(project) or own)
                state, words = _verdict(needed, test)
                entry["permissions"] = {"needed": list(needed), "state": state,
                                        "test_call": test["call"] if test else None,
                                        "test_evidence": list(test["evidence"]) if test else []}
                if words not in said:
                    said.append(words)
            if said and not any(words in finding.message for words in said):
                finding.message = finding.message.rstrip() + " Permission: " + "; ".join(said) + "."
