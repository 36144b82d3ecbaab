"""GitHub's REST API and the local git backups: pages and command outputs -> per-scope GitHub and git facts.

GitHub pages are JSON (lists for listings); git pages are the recorded command (argv, exit code,
stdout, stderr) or file-system observation. Their pages only make sense together (a listing's
pages, a backup's commands), so each method has a whole-call reader that emits the items of its
own fact, scoped like its call: per organisation (HOST/ORG) or per repository (HOST/ORG/REPO). One
that cannot read its pages raises, the build step keeps none of its items and makes its scope
Unknown, so an unread repository listing or backup can never be read as an empty one.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.facts.access import timestamp
from auditor.facts.source_model import (BackupListing, BackupState, CommitTree, Comparison, Drill, FsckResult, GithubOrg,
                                        IntegritySample, RefListing, Repository, TokenOwner,
                                        repo_resource)
from auditor.facts.declare import Emit, Fact, Source, same_scope


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


def _org(call, pages, emit: Emit) -> None:
    item_id, item, body = pages[-1]
    if not isinstance(body, dict):
        raise _Malformed("expected an organisation object")
    header = (item.get("headers") or {}).get("X-OAuth-Scopes")
    scopes = None if header is None else tuple(s.strip() for s in header.split(",") if s.strip())
    login = call["params"]["org"]
    emit("github_orgs", GithubOrg(login, _int(body.get("public_repos")), _int(body.get("total_private_repos")),
                                  _int(body.get("owned_private_repos")), scopes, (item_id,)))


def _host(call) -> str:
    """The GitHub host a call was made to: the first part of its scope (HOST/ORG or HOST/ORG/REPO)."""
    return str(call.get("scope") or "github.com").split("/", 1)[0]


def _resource(call) -> str:
    return repo_resource(call["params"]["org"], call["params"]["repo"], _host(call))


def _repos(call, pages, emit: Emit) -> None:
    org = call["params"]["org"]
    for _id, _item, body in pages:
        if not isinstance(body, list):
            raise _Malformed("expected a JSON list of repositories")
        for data in body:
            if not isinstance(data, dict) or not isinstance(data.get("name"), str):
                raise _Malformed("a repository without a name")
            emit("github_repositories", Repository(
                resource=repo_resource(org, data["name"], _host(call)), org=org, name=data["name"],
                archived=data.get("archived") is True, fork=data.get("fork") is True,
                private=data.get("private") if isinstance(data.get("private"), bool) else None,
                pushed_at=timestamp(data.get("pushed_at")), default_branch=data.get("default_branch") or None,
                has_wiki=data.get("has_wiki") is True, evidence=(_id,)))


def _named_shas(call, pages, emit: Emit, fact: str) -> None:
    refs: dict[str, str] = {}
    for _id, _item, body in pages:
        if not isinstance(body, list):
            raise _Malformed("expected a JSON list")
        refs.update({x["name"]: x["commit"]["sha"] for x in body if isinstance(x, dict)})
    emit(fact, RefListing(_resource(call), refs, tuple(i for i, _, _ in pages)))


def _branches(call, pages, emit: Emit) -> None:
    _named_shas(call, pages, emit, "github_branches")


def _tags(call, pages, emit: Emit) -> None:
    _named_shas(call, pages, emit, "github_tags")


def _compare(call, pages, emit: Emit) -> None:
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict) or _int(body.get("ahead_by")) is None:
        raise _Malformed("expected a comparison")
    emit("github_compares", Comparison(_resource(call), call["params"]["base"], call["params"]["head"], body.get("status"),
                                       body["ahead_by"], _int(body.get("behind_by")), item_id))


def _git_commit(call, pages, emit: Emit) -> None:
    item_id, _item, body = pages[-1]
    tree = body.get("tree", {}).get("sha") if isinstance(body, dict) else None
    if not isinstance(tree, str):
        raise _Malformed("expected a git commit with a tree")
    emit("github_trees", CommitTree(_resource(call), call["params"]["sha"], tree, (item_id,)))


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


def _backup_list(call, pages, emit: Emit) -> None:
    for item_id, _item, body in pages:
        if isinstance(body, dict) and body.get("observation") == "backup-listing":
            folders = []
            for entry in body.get("backups") or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    raise _Malformed("a backup folder without a name")
                folders.append((entry["name"], str(entry.get("path") or "")))
            emit("git_backup_listings", BackupListing(call["scope"], tuple(folders), (item_id,)))
            return
    raise _Malformed("no backup listing was recorded")


def _inspect(call, pages, emit: Emit) -> None:
    """One BackupState; none at all for a backup the inspection recorded as absent (a read that found no backup)."""
    resource = _resource(call)
    state: BackupState | None = None
    if not pages:
        raise _Malformed("no recorded command")
    for item_id, _item, body in pages:
        if not isinstance(body, dict):
            raise _Malformed("expected a recorded command")
        if body.get("observation") == "backup-absent":
            return
        if state is None:
            state = BackupState(path=str(body.get("cwd") or body.get("path") or ""), resource=resource)
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
    if state is not None:
        emit("git_backups", state)


def _own_date(body: dict[str, Any]) -> tuple[Any, str | None]:
    """The newest of a repository's own dates (refs, packed-refs, reflog files and entries), and which one it was."""
    refs, packed, reflog = body.get("refs") or {}, body.get("packed_refs") or {}, body.get("reflog") or {}
    found = [(timestamp(refs.get("newest")), "a loose ref"), (timestamp(packed.get("mtime")), "packed-refs"),
             (timestamp(reflog.get("newest")), "the reflog"), (timestamp(reflog.get("newest_entry")), "a reflog entry")]
    found = [(when, what) for when, what in found if when is not None]
    if not found:
        return None, None
    return max(found, key=lambda pair: pair[0])


def _fsck(call, pages, emit: Emit) -> None:
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict):
        raise _Malformed("expected a recorded command")
    output = ((body.get("stdout") or "") + (body.get("stderr") or "")).strip()
    emit("git_fsck", FsckResult(_resource(call), body.get("exit_code"), output, (item_id,)))


def _drill(call, pages, emit: Emit) -> None:
    drill = Drill(resource=_resource(call))
    if not pages:
        raise _Malformed("no recorded command")
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
    emit("git_restore_drills", drill)


def _sample(call, pages, emit: Emit) -> None:
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict) or not isinstance(body.get("sample"), list):
        raise _Malformed("expected the recorded sample")
    emit("git_integrity_samples", IntegritySample(call["scope"], dict(body), (item_id,)))


def _token_owner(call, pages, emit: Emit) -> None:
    """GET /user: the token's owner, for the pack's provenance; a 401/403 recorded locally means no user behind it."""
    item_id, _item, body = pages[-1]
    if not isinstance(body, dict):
        raise _Malformed("expected a user object")
    status = body.get("http_status") if "answer" in body else 200
    login = body.get("login") if status == 200 else None
    emit("github_token_owner", TokenOwner(call["scope"], login if isinstance(login, str) else None, _int(status), (item_id,)))


def _last(key):
    """Merging lockers: the latest observation of each key wins (items arrive oldest locker first)."""
    return lambda values: list({key(v): v for v in values}.values())


def _repo_of(resource: str) -> str:
    """HOST/ORG of a repository's HOST/ORG/REPO: the scope of the organisation's listings."""
    return resource.rsplit("/", 1)[0]


def _org_scope_of(resource: str) -> str:
    return resource if resource.count("/") == 1 else _repo_of(resource)


_ORG, _REPO = "organization", "repository"
FACTS = (
    Fact("github_orgs", snapshot=True, scope=_ORG, key=lambda o: o.login, scope_of=same_scope, dedupe=_last(lambda o: o.login),
         doc="an organisation's own repository totals and the token's scopes (GET /orgs/{org}), per HOST/ORG"),
    Fact("github_repositories", snapshot=True, scope=_ORG, key=lambda r: r.resource, scope_of=_org_scope_of, dedupe=_last(lambda r: r.resource),
         doc="the repositories the token lists in an organisation (GET /orgs/{org}/repos), per HOST/ORG"),
    Fact("github_branches", snapshot=True, scope=_REPO, key=lambda h: h.resource, scope_of=same_scope, dedupe=_last(lambda h: h.resource),
         doc="a repository's branches and their head commits on GitHub, per HOST/ORG/REPO"),
    Fact("github_tags", snapshot=True, scope=_REPO, key=lambda h: h.resource, scope_of=same_scope, dedupe=_last(lambda h: h.resource),
         doc="a repository's tags on GitHub, per HOST/ORG/REPO"),
    Fact("github_compares", snapshot=True, scope=_REPO, key=lambda c: c.resource, scope_of=same_scope,
         dedupe=_last(lambda c: (c.resource, c.base, c.head)),
         doc="GitHub's compare of a backup's head with GitHub's, per HOST/ORG/REPO (only where git could not count)"),
    Fact("github_trees", snapshot=True, scope=_REPO, key=lambda t: t.resource, scope_of=same_scope, dedupe=_last(lambda t: (t.resource, t.sha)),
         doc="the tree GitHub reports for a backup's default-branch commit, per HOST/ORG/REPO"),
    Fact("git_backup_listings", snapshot=True, scope=_ORG, key=lambda b: b.org_scope, scope_of=_org_scope_of, dedupe=_last(lambda b: b.org_scope),
         doc="the folders of an organisation's local backup, per HOST/ORG"),
    Fact("git_backups", snapshot=True, scope=_REPO, key=lambda b: b.resource, scope_of=same_scope, dedupe=_last(lambda b: b.resource),
         doc="a repository's local backup as git reports it; a known read with no item: no backup found"),
    Fact("git_fsck", snapshot=True, scope=_REPO, key=lambda f: f.resource, scope_of=same_scope, dedupe=_last(lambda f: f.resource),
         doc="git fsck of a sampled backup, per HOST/ORG/REPO"),
    Fact("git_restore_drills", snapshot=True, scope=_REPO, key=lambda d: d.resource, scope_of=same_scope, dedupe=_last(lambda d: d.resource),
         doc="the restore drill of a sampled backup, per HOST/ORG/REPO"),
    Fact("github_token_owner", snapshot=True, scope="host", key=lambda o: o.host, scope_of=same_scope,
         dedupe=_last(lambda o: o.host), doc="who the GitHub token belongs to (GET /user), for the provenance"),
    Fact("git_integrity_samples", snapshot=True, scope=_ORG, key=lambda s: s.org_scope, scope_of=_org_scope_of,
         dedupe=_last(lambda s: s.org_scope), doc="the integrity sample recorded at collection, per HOST/ORG"),
)

_GITHUB = ("repo", "read:org")  # GitHub token scopes, not IAM
SOURCES = (
    Source("github", "orgs.get", _ORG, fills=("github_orgs",), permissions=_GITHUB, read_call=_org),
    Source("github", "orgs.repos.list", _ORG, fills=("github_repositories",), permissions=_GITHUB, read_call=_repos),
    Source("github", "repos.branches.list", _REPO, fills=("github_branches",), permissions=_GITHUB, read_call=_branches),
    Source("github", "repos.tags.list", _REPO, fills=("github_tags",), permissions=_GITHUB, read_call=_tags),
    Source("github", "repos.compare", _REPO, fills=("github_compares",), permissions=_GITHUB, read_call=_compare),
    Source("github", "repos.git.commits.get", _REPO, fills=("github_trees",), permissions=_GITHUB, read_call=_git_commit),
    Source("github", "users.get_authenticated", "host", fills=("github_token_owner",), permissions=_GITHUB,
           read_call=_token_owner, doc="the token's owner (GET /user), read for the pack's provenance"),
    Source("git", "backup.list", _ORG, fills=("git_backup_listings",), permissions=(), read_call=_backup_list,
           doc="local git commands on the backup root"),
    Source("git", "backup.inspect", _REPO, fills=("git_backups",), permissions=(), read_call=_inspect),
    Source("git", "backup.fsck", _REPO, fills=("git_fsck",), permissions=(), read_call=_fsck),
    Source("git", "backup.restore_drill", _REPO, fills=("git_restore_drills",), permissions=(), read_call=_drill),
    Source("git", "integrity.sample", _ORG, fills=("git_integrity_samples",), permissions=(), read_call=_sample),
)
