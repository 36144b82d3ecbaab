"""GitHub's REST API and the local git backups: pages and command outputs -> SourceFacts.

GitHub pages are JSON (lists for listings); git pages are the recorded command (argv, exit code,
stdout, stderr) or file-system observation. Their pages only make sense together (a listing's
pages, a backup's commands), so each method has a whole-call reader; one that cannot read its
pages raises, and the build step makes the call a coverage gap (its repositories end
`inconclusive`). The three source-backup checks read `facts.source` with `facts.coverage`.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.facts.access import timestamp
from auditor.facts.source_model import BackupState, Drill, GithubOrg, Repository, SourceFacts, repo_resource
from auditor.facts.declare import Fact, Source, same_scope


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Malformed(Exception):
    """A GitHub page or a recorded command that is not what its method returns."""


_Malformed = Malformed
READ_ERRORS = (Malformed, KeyError, TypeError, ValueError, AttributeError)


def pages_of(bodies: list[tuple[str, dict[str, Any], bytes]]) -> list[tuple[str, dict[str, Any], Any]]:
    """(item id, item record, parsed body or None) of a call's successful pages."""
    out = []
    for item_id, item, raw in bodies:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        out.append((item_id, item, body))
    return out


def _list_body(pages) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _id, _item, body in pages:
        if not isinstance(body, list):
            raise _Malformed("expected a JSON list")
        items += [x for x in body if isinstance(x, dict)]
    return items


def _org(call, pages, source) -> None:
    item_id, item, body = pages[-1]
    if not isinstance(body, dict):
        raise _Malformed("expected an organisation object")
    header = (item.get("headers") or {}).get("X-OAuth-Scopes")
    scopes = None if header is None else tuple(s.strip() for s in header.split(",") if s.strip())
    login = call["params"]["org"]
    source.orgs[login] = GithubOrg(login, _int(body.get("public_repos")), _int(body.get("total_private_repos")),
                                   _int(body.get("owned_private_repos")), scopes, (item_id,))


def _host(call) -> str:
    """The GitHub host a call was made to: the first part of its scope (HOST/ORG or HOST/ORG/REPO)."""
    return str(call.get("scope") or "github.com").split("/", 1)[0]


def _repos(call, pages, source) -> None:
    org = call["params"]["org"]
    repos = []
    for _id, _item, body in pages:
        if not isinstance(body, list):
            raise _Malformed("expected a JSON list of repositories")
        for data in body:
            if not isinstance(data, dict) or not isinstance(data.get("name"), str):
                raise _Malformed("a repository without a name")
            repos.append(Repository(
                resource=repo_resource(org, data["name"], _host(call)), org=org, name=data["name"],
                archived=data.get("archived") is True, fork=data.get("fork") is True,
                private=data.get("private") if isinstance(data.get("private"), bool) else None,
                pushed_at=timestamp(data.get("pushed_at")), default_branch=data.get("default_branch") or None,
                has_wiki=data.get("has_wiki") is True, evidence=(_id,)))
    source.repositories[org] = repos


def _named_shas(call, pages, source, target: dict) -> None:
    resource = repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))
    target[resource] = {x["name"]: x["commit"]["sha"] for x in _list_body(pages)}
    source.ref_evidence.setdefault(resource, []).extend(i for i, _, _ in pages)


def _branches(call, pages, source) -> None:
    _named_shas(call, pages, source, source.branches)


def _tags(call, pages, source) -> None:
    _named_shas(call, pages, source, source.tags)


def _compare(call, pages, source) -> None:
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict) or _int(body.get("ahead_by")) is None:
        raise _Malformed("expected a comparison")
    resource = repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))
    source.compares.setdefault(resource, {})[(call["params"]["base"], call["params"]["head"])] = {
        "status": body.get("status"), "ahead_by": body["ahead_by"], "behind_by": _int(body.get("behind_by")), "evidence": item_id}


def _git_commit(call, pages, source) -> None:
    item_id, _item, body = pages[-1]
    tree = body.get("tree", {}).get("sha") if isinstance(body, dict) else None
    if not isinstance(tree, str):
        raise _Malformed("expected a git commit with a tree")
    resource = repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))
    source.github_trees[(resource, call["params"]["sha"])] = (tree, [item_id])


def _refs(stdout: str) -> dict[str, str]:
    refs = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            refs[parts[0]] = parts[2] if len(parts) > 2 else parts[1]
    return refs


def _command(body: dict[str, Any]) -> list[str]:
    command = body.get("command")
    return command[1:] if isinstance(command, list) else []


def _backup_list(call, pages, source) -> None:
    org = call["params"]["org"]
    for item_id, _item, body in pages:
        if isinstance(body, dict) and body.get("observation") == "backup-listing":
            source.backup_listings[org] = list(body.get("backups") or [])
            source.backup_listing_evidence[org] = [item_id]


def _inspect(call, pages, source) -> None:
    resource = repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))
    state: BackupState | None = None
    for item_id, _item, body in pages:
        if not isinstance(body, dict):
            raise _Malformed("expected a recorded command")
        if body.get("observation") == "backup-absent":
            source.backups[resource] = None
            return
        if state is None:
            state = BackupState(path=str(body.get("cwd") or body.get("path") or ""))
        state.evidence.append(item_id)
        args, code, out = _command(body), body.get("exit_code"), body.get("stdout") or ""
        what = body.get("observation")
        if args[:2] == ["rev-parse", "--is-bare-repository"]:
            state.bare = out.strip() == "true"
        elif args[:1] == ["for-each-ref"]:
            if code != 0:
                raise _Malformed("git for-each-ref failed")
            state.refs = _refs(out)
        elif what == "fetch-head":
            state.fetch_head = body.get("exists") is True
            state.fetched_at = timestamp(body.get("mtime"))
        elif args[:2] == ["count-objects", "-v"] and code == 0:
            sizes = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
            state.size_kib = int(sizes.get("size", 0)) + int(sizes.get("size-pack", 0))
        elif args[:2] == ["cat-file", "-p"] and args[2].endswith(":.gitattributes"):
            state.lfs_in_tree = code == 0 and "filter=lfs" in out
        elif what == "backup-own-dates":
            state.own_date, state.own_date_basis = _own_date(body)
        elif what == "lfs-objects":
            state.lfs_objects, state.lfs_dir = int(body.get("files") or 0), body.get("path")
        elif what == "wiki-backup":
            state.wiki_backup = body.get("exists") is True
        elif args[:2] == ["cat-file", "-e"]:
            state.present[args[2].removesuffix("^{commit}")] = code == 0
        elif args[:2] == ["merge-base", "--is-ancestor"] and code in (0, 1):
            state.ancestor[(args[2], args[3])] = code == 0
        elif args[:2] == ["rev-list", "--count"] and code == 0:
            base, head = args[2].split("..")
            state.behind[(base, head)] = int(out.strip())
    source.backups[resource] = state


def _own_date(body: dict[str, Any]) -> tuple[Any, str | None]:
    """The newest of a repository's own dates (refs, packed-refs, reflog files and entries), and which one it was."""
    refs, packed, reflog = body.get("refs") or {}, body.get("packed_refs") or {}, body.get("reflog") or {}
    found = [(timestamp(refs.get("newest")), "a loose ref"), (timestamp(packed.get("mtime")), "packed-refs"),
             (timestamp(reflog.get("newest")), "the reflog"), (timestamp(reflog.get("newest_entry")), "a reflog entry")]
    found = [(when, what) for when, what in found if when is not None]
    if not found:
        return None, None
    return max(found, key=lambda pair: pair[0])


def _fsck(call, pages, source) -> None:
    resource = repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict):
        raise _Malformed("expected a recorded command")
    output = ((body.get("stdout") or "") + (body.get("stderr") or "")).strip()
    source.fsck[resource] = (body.get("exit_code"), output, [item_id])


def _drill(call, pages, source) -> None:
    resource = repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))
    drill = Drill()
    for item_id, _item, body in pages:
        if not isinstance(body, dict):
            raise _Malformed("expected a recorded command")
        drill.evidence.append(item_id)
        args, code, out = _command(body), body.get("exit_code"), body.get("stdout") or ""
        if args[:1] == ["clone"]:
            drill.cloned = code == 0
            drill.clone_error = (body.get("stderr") or "").strip()[:500]
        elif args[:1] == ["for-each-ref"] and code == 0:
            drill.refs = _refs(out)
        elif args[:2] == ["rev-parse", "--verify"] and code == 0:
            drill.default_tree = out.strip() or None
    source.drills[resource] = drill


def _sample(call, pages, source) -> None:
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict) or not isinstance(body.get("sample"), list):
        raise _Malformed("expected the recorded sample")
    source.samples[call["params"]["org"]] = {**body, "evidence": [item_id]}


READERS = {
    "orgs.get": _org, "orgs.repos.list": _repos, "repos.branches.list": _branches, "repos.tags.list": _tags,
    "repos.compare": _compare, "repos.git.commits.get": _git_commit, "backup.list": _backup_list,
    "backup.inspect": _inspect, "backup.fsck": _fsck, "backup.restore_drill": _drill, "integrity.sample": _sample,
}


def read_call(call: dict[str, Any], pages: list[tuple[str, dict[str, Any], Any]], source: SourceFacts) -> None:
    reader = READERS.get(call["method"])
    if reader is not None:
        reader(call, pages, source)


FACTS = (Fact("source", "repository", key=lambda r: r, scope_of=same_scope,
              doc="GitHub organisations, repositories and their local backups (one object, read with facts.coverage)"),)
SOURCES = (
    Source("github", "*", "repository", fills=("source",), permissions=("repo", "read:org"), read_call=read_call,
           doc="GitHub REST API (token scopes, not IAM)"),
    Source("git", "*", "repository", fills=("source",), permissions=(), read_call=read_call,
           doc="local git commands on the backup root"),
)
