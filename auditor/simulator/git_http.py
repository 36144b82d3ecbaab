"""Git's smart HTTP and the Git LFS batch API for the simulated GitHub, at the host's root like github.com.

`/{owner}/{repo}.git/info/refs?service=git-upload-pack` and `POST .../git-upload-pack` are handed to
`git http-backend` (CGI) over the simulator's upstream repository, so a real `git clone`, `git fetch`
or `git ls-remote` reads real objects; pushes (`git-receive-pack`) are refused, the simulated GitHub
is read-only. `{repo}.wiki.git` serves the wiki repository where the scenario enables one. Private
repositories answer 401 with a Basic challenge until credentials come (git sends the ones in its URL
only after a challenge), as GitHub does; public ones can be cloned anonymously.
`/{owner}/{repo}.git/info/lfs/objects/batch` answers git-lfs's download requests for the objects the
repository's pointers name, with download links back to the simulator.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from auditor.simulator.github_auth import token_from
from auditor.simulator.github_world import RepoState

_GIT_PATH = re.compile(r"^/(?P<owner>[A-Za-z0-9-]{1,39})/(?P<repo>[A-Za-z0-9._-]{1,100}?)(?P<wiki>\.wiki)?\.git"
                       r"(?P<rest>/info/refs|/git-upload-pack|/git-receive-pack|/HEAD|/info/lfs/objects/batch"
                       r"|/info/lfs/objects/[0-9a-f]{64})$")
_BACKEND_TIMEOUT = 120
LFS_JSON = "application/vnd.git-lfs+json"


def serves(path: str) -> bool:
    return _GIT_PATH.match(path.split("?", 1)[0]) is not None


def endpoint(path: str) -> str:
    """The part of a git path that names the service (`/info/refs`, `/git-upload-pack`, `/info/lfs/objects/batch`...)."""
    match = _GIT_PATH.match(path)
    rest = match["rest"] if match else path
    return "/info/lfs/objects/{oid}" if re.fullmatch(r"/info/lfs/objects/[0-9a-f]{64}", rest) else rest


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}, (message + "\n").encode()


def handle(world: Any, method: str, path: str, query: str, headers: Any, body: bytes,
           base_url: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, raw body) for one git or LFS request."""
    match = _GIT_PATH.match(path)
    assert match is not None
    state: RepoState | None = world.repo(match["owner"], match["repo"])
    rest = match["rest"]
    wiki = match["wiki"] is not None
    repo_dir = None
    if state is not None:
        repo_dir = world.wiki_path(state) if wiki else state.path
    if state is None or repo_dir is None or not Path(repo_dir).exists():
        return _text(404, "Repository not found.")
    remote_auth = (headers.get("Authorization") or "") == f"RemoteAuth {world.lfs_secret}"
    if rest.startswith("/info/lfs/objects/") and rest != "/info/lfs/objects/batch" and not remote_auth:
        return _text(401, "Authentication required.")  # downloads carry the header the batch answer gave
    if state.spec.private and not token_from(headers) and not remote_auth:
        return _text(401, "Authentication required.", {"WWW-Authenticate": 'Basic realm="GitHub"'})
    if rest == "/git-receive-pack" or "service=git-receive-pack" in query:
        return _text(403, "Write access to the simulated GitHub is not granted.")
    if rest.startswith("/info/lfs/objects/"):
        return _lfs(world, state, method, rest, body, base_url, match)
    return _backend(Path(repo_dir), method, rest, query, headers, body)


def _backend(repo_dir: Path, method: str, rest: str, query: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_PROJECT_ROOT": str(repo_dir.parent), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": f"/{repo_dir.name}{rest}",
        "REQUEST_METHOD": method, "QUERY_STRING": query, "CONTENT_TYPE": headers.get("Content-Type") or "",
        "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1", "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_USER": "simulated",
    }
    for name in ("Content-Encoding", "Git-Protocol"):
        if headers.get(name):
            env["HTTP_" + name.upper().replace("-", "_")] = headers.get(name)
    try:
        proc = subprocess.run(["git", "-c", "safe.directory=*", "http-backend"], input=body, capture_output=True,
                              env=env, timeout=_BACKEND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as err:
        return _text(500, f"git http-backend failed: {err}")
    head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
    if not sep:
        head, sep, payload = proc.stdout.partition(b"\n\n")
    if not sep:
        return _text(500, "git http-backend gave no CGI headers: " + proc.stderr.decode(errors="replace")[:300])
    status, out = 200, {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            out[name.strip()] = value.strip()
    return status, out, payload


def _lfs(world: Any, state: RepoState, method: str, rest: str, body: bytes, base_url: str,
         match: re.Match) -> tuple[int, dict[str, str], bytes]:
    objects = world.lfs_objects.get((state.org.lower(), state.spec.name.lower()), {})
    if rest != "/info/lfs/objects/batch":
        oid = rest.rsplit("/", 1)[1]
        if method != "GET" or oid not in objects:
            return _text(404, "Object does not exist on the server.")
        return 200, {"Content-Type": "application/octet-stream"}, objects[oid]
    if method != "POST":
        return _text(405, "Method Not Allowed")
    try:
        request = json.loads(body or b"{}")
        wanted = [(str(o["oid"]), int(o["size"])) for o in request.get("objects", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return 422, {"Content-Type": LFS_JSON}, json.dumps({"message": "malformed batch request"}).encode()
    if request.get("operation") != "download":
        return 403, {"Content-Type": LFS_JSON}, json.dumps({"message": "the simulated GitHub is read-only"}).encode()
    answer = []
    for oid, size in wanted:
        if oid in objects:
            href = f"{base_url}/{match['owner']}/{unquote(match['repo'])}.git/info/lfs/objects/{oid}"
            answer.append({"oid": oid, "size": len(objects[oid]), "authenticated": True,
                           "actions": {"download": {"href": href, "expires_in": 3600,
                                                      "header": {"Authorization": f"RemoteAuth {world.lfs_secret}"}}}})
        else:
            answer.append({"oid": oid, "size": size, "error": {"code": 404, "message": "Object does not exist"}})
    return 200, {"Content-Type": LFS_JSON}, json.dumps({"transfer": "basic", "objects": answer}).encode()
