"""GitHub REST v3, the subset the source-code collector uses, served under /api/v3 like GitHub Enterprise Server.

Strict where GitHub is and where a client could go wrong: a token is required (401 without one),
unknown query parameters are refused (422), pages are capped at 100 and linked with absolute URLs
in a `Link` header, every response carries `X-RateLimit-*` (and `X-OAuth-Scopes` for classic
tokens), unknown routes and objects get GitHub's 404 JSON. GitHub's primary and secondary rate
limits are enforced per token (github_limits.py: 5,000 an hour; 100 in flight, 900 points a minute
per endpoint, 90 s of server time a minute), and the scenario's faults produce a primary rate limit
(403, `X-RateLimit-Remaining: 0`, reset), a secondary one (403, `Retry-After`) or a 5xx burst on
chosen requests. Objects carry the `*_url` fields PyGithub follows. The data comes from the real git
repositories in `GitWorld`; rate-limit resets are wall-clock epochs (as on GitHub: clients compare
them with their own clock), while `Date` is the scenario clock like everywhere in the simulator.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import zlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from auditor.simulator.github_auth import token_from
from auditor.simulator.github_limits import PRIMARY_MESSAGE, SECONDARY_MESSAGE, Limits, RateLimiter
from auditor.simulator.github_world import GitWorld, RepoState
from auditor.simulator.routing import Route
from auditor.simulator.scenario_github import Github, Organization

PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
MAX_PER_PAGE, DEFAULT_PER_PAGE = 100, 30
RATE_LIMIT = 5000
REPO_TYPES = {"all", "public", "private", "forks", "sources", "member"}


class GithubError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "documentation_url": DOCS, "status": str(self.status)}


def _not_found() -> GithubError:
    return GithubError(404, "Not Found")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class GithubApi:
    """Mounted on the simulator at /api/v3; `handle` returns (status, headers, JSON body)."""

    def __init__(self, spec: Github, world: GitWorld, record, limits: Limits | None = None) -> None:
        self.spec, self.world, self.record = spec, world, record
        self.requests = 0
        self.limiter = RateLimiter(limits)
        self._lock = threading.Lock()
        self._ids = itertools.count(1000)
        self.routes = [
            Route("GET", "/user", "github", self.user),
            Route("GET", "/user/orgs", "github", self.user_orgs, frozenset({"per_page", "page"})),
            Route("GET", "/user/repos", "github", self.user_repos,
                  frozenset({"visibility", "affiliation", "type", "sort", "direction", "per_page", "page", "since", "before"})),
            Route("GET", "/users/{user}", "github", self.user_or_org),
            Route("GET", "/users/{user}/repos", "github", self.users_repos, frozenset({"type", "sort", "direction", "per_page", "page"})),
            Route("GET", "/rate_limit", "github", self.rate_limit),
            Route("GET", "/orgs/{org}", "github", self.org),
            Route("GET", "/orgs/{org}/repos", "github", self.org_repos, frozenset({"type", "sort", "direction", "per_page", "page"})),
            Route("GET", "/repos/{owner}/{repo}", "github", self.repo),
            Route("GET", "/repos/{owner}/{repo}/branches", "github", self.branches, frozenset({"protected", "per_page", "page"})),
            Route("GET", "/repos/{owner}/{repo}/branches/{branch}", "github", self.branch),
            Route("GET", "/repos/{owner}/{repo}/tags", "github", self.tags, frozenset({"per_page", "page"})),
            Route("GET", "/repos/{owner}/{repo}/git/commits/{sha}", "github", self.git_commit),
            Route("GET", "/repos/{owner}/{repo}/compare/{basehead}", "github", self.compare, frozenset({"per_page", "page"})),
        ]

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: Any, base_url: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests += 1
            number = self.requests
        self.root = base_url  # the host itself: html_url, clone_url and git's smart HTTP live here, like github.com
        self.base = base_url + PREFIX
        token = token_from(headers)
        route_path = path[len(PREFIX):] or "/"
        refusal = self.limiter.admit(token, method, self._endpoint(method, route_path)) if token else None
        started = time.monotonic()
        try:
            out_headers = self.limiter.headers(token or "")
            try:
                fault = self._fault(number)
                if fault is not None:
                    raise fault
                if not token:
                    raise GithubError(401, "Requires authentication")
                if refusal is not None:
                    raise GithubError(403, refusal.message, refusal.headers)
                status, body, extra = 200, *self._dispatch(method, route_path, query)
                out_headers.update(extra)
            except GithubError as err:
                status, body = err.status, err.body()
                out_headers.update(err.headers)
        finally:
            if token and refusal is None:
                self.limiter.release(token, time.monotonic() - started)
        if self.spec.token_scopes is not None:
            out_headers["X-OAuth-Scopes"] = ", ".join(self.spec.token_scopes)
            out_headers["X-Accepted-OAuth-Scopes"] = "repo"
        out_headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        out_headers["X-GitHub-Request-Id"] = f"SIM:{number:06d}"
        return status, out_headers, body

    def _endpoint(self, method: str, path: str) -> str:
        """The endpoint a request counts against for the per-endpoint secondary limit: its route template."""
        route = next((r for r in self.routes if r.match(path) is not None), None)
        return f"{method} {route.template if route else path}"

    @staticmethod
    def _rate_headers(remaining: int, reset_in: int) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Used": str(RATE_LIMIT - remaining), "X-RateLimit-Resource": "core",
                "X-RateLimit-Reset": str(int(time.time()) + reset_in)}

    def _fault(self, number: int) -> GithubError | None:
        for fault in self.spec.faults:
            if not fault.at_request <= number < fault.at_request + fault.count:
                continue
            if fault.kind == "primary_rate_limit":
                return GithubError(403, PRIMARY_MESSAGE, self._rate_headers(remaining=0, reset_in=fault.retry_after))
            if fault.kind == "secondary_rate_limit":
                return GithubError(403, SECONDARY_MESSAGE, {"Retry-After": str(fault.retry_after)})
            return GithubError(502, "Server Error")
        return None

    def _dispatch(self, method: str, path: str, query: str) -> tuple[Any, dict[str, str]]:
        known = False
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            known = True
            if route.method != method:
                continue
            self.record(route)
            pairs = parse_qsl(query, keep_blank_values=True)
            names = [k for k, _ in pairs]
            for name in names:
                if name not in route.query or names.count(name) > 1:
                    raise GithubError(422, f"Validation Failed: query parameter {name!r} is not accepted here")
            return route.handler(params, dict(pairs), path)
        raise GithubError(404 if not known else 405, "Not Found" if not known else "Method Not Allowed")

    # -- helpers ----------------------------------------------------------------------------
    def _org(self, login: str) -> Organization:
        org = next((o for o in self.spec.organizations if o.login.lower() == login.lower()), None)
        if org is None:
            raise _not_found()
        self._refuse(org)
        return org

    def _refuse(self, org: Organization) -> None:
        """The token may not read this organisation: GitHub's own 403 messages and headers for each case."""
        if org.refused == "saml_sso":
            raise GithubError(403, "Resource protected by organization SAML enforcement. You must grant your Personal "
                                   "Access token access to this organization.",
                              {"X-GitHub-SSO": f"required; url={self.root}/orgs/{org.login}/sso?authorization_request=SIM"})
        if org.refused == "fine_grained_token":
            raise GithubError(403, "Resource not accessible by personal access token",
                              {"X-Accepted-GitHub-Permissions": "metadata=read"})

    def _repo(self, owner: str, name: str) -> RepoState:
        org = next((o for o in self.spec.organizations if o.login.lower() == owner.lower()), None)
        if org is not None:
            self._refuse(org)
        state = self.world.repo(owner, name)
        if state is None:
            raise _not_found()
        return state

    def _page(self, items: list[Any], query: dict[str, str], path: str) -> tuple[list[Any], dict[str, str]]:
        try:
            per_page = min(int(query.get("per_page", DEFAULT_PER_PAGE)), MAX_PER_PAGE)
            page = int(query.get("page", 1))
        except ValueError:
            raise GithubError(422, "Validation Failed: page and per_page must be integers") from None
        if per_page < 1 or page < 1:
            raise GithubError(422, "Validation Failed: page and per_page must be positive")
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def link(number: int, rel: str) -> str:
            params = {**query, "per_page": str(per_page), "page": str(number)}
            return f'<{self.base}{path}?{urlencode(sorted(params.items()))}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _org_json(self, org: Organization) -> dict[str, Any]:
        url = f"{self.base}/orgs/{org.login}"
        public = sum(1 for r in org.repositories if not r.private)
        private = len(org.repositories) - public + org.hidden_repositories
        return {
            "login": org.login, "id": 90001, "node_id": "O_sim", "type": "Organization", "url": url,
            "html_url": f"{self.root}/{org.login}", "repos_url": f"{url}/repos", "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks", "issues_url": f"{url}/issues", "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}", "avatar_url": f"{self.root}/avatar.png",
            "description": None, "name": org.login, "public_repos": public, "total_private_repos": private,
            "owned_private_repos": private, "created_at": "2020-01-06T08:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        }

    def _repo_json(self, state: RepoState) -> dict[str, Any]:
        spec = state.spec
        url = f"{self.base}/repos/{state.org}/{spec.name}"
        created = spec.created or spec.pushes[0]
        return {
            "id": 500000 + zlib.crc32(f"{state.org}/{spec.name}".encode()) % 100000, "node_id": f"R_{spec.name}", "name": spec.name,
            "full_name": f"{state.org}/{spec.name}", "private": spec.private,
            "visibility": "private" if spec.private else "public",
            "owner": {"login": state.org, "id": 90001, "type": "Organization", "url": f"{self.base}/orgs/{state.org}"},
            "html_url": f"{self.root}/{state.org}/{spec.name}", "description": None, "fork": spec.fork,
            "url": url, "archived": spec.archived, "disabled": False, "has_wiki": spec.has_wiki,
            "pushed_at": _iso(spec.pushes[-1]), "created_at": _iso(created), "updated_at": _iso(spec.pushes[-1]),
            "default_branch": spec.default_branch, "size": state.size_kib,
            "branches_url": f"{url}/branches{{/branch}}", "tags_url": f"{url}/tags",
            "git_commits_url": f"{url}/git/commits{{/sha}}", "commits_url": f"{url}/commits{{/sha}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}", "git_refs_url": f"{url}/git/refs{{/sha}}",
            "trees_url": f"{url}/git/trees{{/sha}}", "clone_url": f"{self.root}/{state.org}/{spec.name}.git",
            "ssh_url": f"git@{urlsplit(self.root).hostname}:{state.org}/{spec.name}.git", "mirror_url": None,
            "language": None, "has_issues": False, "has_projects": False, "has_downloads": False, "has_pages": False,
        }

    def _commit_ref(self, state: RepoState, sha: str) -> dict[str, str]:
        return {"sha": sha, "url": f"{self.base}/repos/{state.org}/{state.spec.name}/commits/{sha}"}

    def _git_commit_json(self, state: RepoState, sha: str) -> dict[str, Any]:
        commit = state.commits[sha]
        base = f"{self.base}/repos/{state.org}/{state.spec.name}/git"
        person = {"name": "Bangkok Dev", "email": "dev@bangkoksolutions.example", "date": _iso(commit["time"])}
        return {"sha": sha, "node_id": f"C_{sha[:12]}", "url": f"{base}/commits/{sha}",
                "html_url": f"{self.root}/{state.org}/{state.spec.name}/commit/{sha}",
                "author": person, "committer": person, "message": commit["message"],
                "tree": {"sha": commit["tree"], "url": f"{base}/trees/{commit['tree']}"},
                "parents": [{"sha": p, "url": f"{base}/commits/{p}"} for p in commit["parents"]],
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None}}

    # -- handlers ---------------------------------------------------------------------------
    def _user_json(self) -> dict[str, Any]:
        login = self.spec.user
        url = f"{self.base}/users/{login}"
        return {"login": login, "id": 1001, "node_id": "U_sim", "type": "User", "site_admin": False, "url": url,
                "html_url": f"{self.root}/{login}", "repos_url": f"{url}/repos", "organizations_url": f"{url}/orgs",
                "avatar_url": f"{self.root}/avatar.png", "name": login, "company": None, "email": None,
                "public_repos": 0, "followers": 0, "following": 0,
                "created_at": "2020-01-06T08:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}

    def user(self, params: dict[str, str], query: dict[str, str], path: str):
        """The token's own account: the first call of python-github-backup and most backup tools. An
        installation or Actions token has none: GitHub answers 403 "Resource not accessible by integration"."""
        if not self.spec.token_has_user:
            raise GithubError(403, "Resource not accessible by integration")
        return self._user_json(), {}

    def user_orgs(self, params: dict[str, str], query: dict[str, str], path: str):
        items = [{"login": o.login, "id": 90001, "node_id": "O_sim", "url": f"{self.base}/orgs/{o.login}",
                  "repos_url": f"{self.base}/orgs/{o.login}/repos", "description": None} for o in self.spec.organizations]
        return self._page(items, query, path)

    def user_repos(self, params: dict[str, str], query: dict[str, str], path: str):
        """Every repository the token reaches through its organisations (affiliation organization_member)."""
        if query.get("visibility", "all") not in ("all", "public", "private"):
            raise GithubError(422, "Validation Failed: visibility")
        if "type" in query and ("visibility" in query or "affiliation" in query):
            raise GithubError(422, "Validation Failed: type cannot be used with visibility or affiliation")
        visibility = query.get("visibility", "all")
        states = [self.world.repo(o.login, r.name) for o in self.spec.organizations for r in o.repositories]
        selected = [s for s in states if s is not None and (visibility == "all" or (visibility == "private") == s.spec.private)]
        selected.sort(key=lambda s: f"{s.org}/{s.spec.name}".lower())
        chunk, headers = self._page(selected, query, path)
        return [self._repo_json(s) for s in chunk], headers

    def user_or_org(self, params: dict[str, str], query: dict[str, str], path: str):
        if params["user"].lower() == self.spec.user.lower():
            return self._user_json(), {}
        return self._org_json(self._org(params["user"])), {}

    def users_repos(self, params: dict[str, str], query: dict[str, str], path: str):
        """An account's public repositories (GitHub lists only those here, even for a member)."""
        if params["user"].lower() == self.spec.user.lower():
            return self._page([], query, path)
        org = self._org(params["user"])
        states = [self.world.repo(org.login, r.name) for r in org.repositories]
        selected = sorted((s for s in states if s is not None and not s.spec.private), key=lambda s: s.spec.name.lower())
        chunk, headers = self._page(selected, query, path)
        return [self._repo_json(s) for s in chunk], headers

    def rate_limit(self, params: dict[str, str], query: dict[str, str], path: str):
        limit = self.limiter.limits.primary_per_hour
        core = {"limit": limit, "remaining": limit, "reset": int(time.time()) + 3600, "used": 0, "resource": "core"}
        return {"resources": {"core": core}, "rate": core}, {}

    def org(self, params: dict[str, str], query: dict[str, str], path: str):
        return self._org_json(self._org(params["org"])), {}

    def org_repos(self, params: dict[str, str], query: dict[str, str], path: str):
        org = self._org(params["org"])
        kind = query.get("type", "all")
        if kind not in REPO_TYPES:
            raise GithubError(422, f"Validation Failed: type must be one of {sorted(REPO_TYPES)}")
        if query.get("sort", "created") not in ("created", "updated", "pushed", "full_name"):
            raise GithubError(422, "Validation Failed: sort")
        states = [self.world.repo(org.login, r.name) for r in org.repositories]
        selected = [s for s in states if s is not None and (
            kind in ("all", "member") or (kind == "public" and not s.spec.private) or (kind == "private" and s.spec.private)
            or (kind == "forks" and s.spec.fork) or (kind == "sources" and not s.spec.fork))]
        selected.sort(key=lambda s: (s.spec.created or s.spec.pushes[0], s.spec.name))
        chunk, headers = self._page(selected, query, path)
        return [self._repo_json(s) for s in chunk], headers

    def repo(self, params: dict[str, str], query: dict[str, str], path: str):
        return self._repo_json(self._repo(params["owner"], params["repo"])), {}

    def branches(self, params: dict[str, str], query: dict[str, str], path: str):
        state = self._repo(params["owner"], params["repo"])
        items = [{"name": name, "commit": self._commit_ref(state, sha), "protected": name == state.spec.default_branch}
                 for name, sha in sorted(state.branches.items())]
        return self._page(items, query, path)

    def branch(self, params: dict[str, str], query: dict[str, str], path: str):
        state = self._repo(params["owner"], params["repo"])
        sha = state.branches.get(params["branch"])
        if sha is None:
            raise GithubError(404, "Branch not found")
        url = f"{self.base}/repos/{state.org}/{state.spec.name}"
        commit = {**self._commit_ref(state, sha), "node_id": f"C_{sha[:12]}", "commit": self._git_commit_json(state, sha),
                  "parents": [self._commit_ref(state, p) for p in state.commits[sha]["parents"]],
                  "html_url": f"{self.root}/{state.org}/{state.spec.name}/commit/{sha}"}
        return {"name": params["branch"], "commit": commit, "protected": params["branch"] == state.spec.default_branch,
                "_links": {"self": f"{url}/branches/{params['branch']}",
                           "html": f"{self.root}/{state.org}/{state.spec.name}/tree/{params['branch']}"}}, {}

    def tags(self, params: dict[str, str], query: dict[str, str], path: str):
        state = self._repo(params["owner"], params["repo"])
        url = f"{self.base}/repos/{state.org}/{state.spec.name}"
        items = [{"name": name, "commit": self._commit_ref(state, sha), "node_id": f"T_{name}",
                  "zipball_url": f"{url}/zipball/refs/tags/{name}", "tarball_url": f"{url}/tarball/refs/tags/{name}"}
                 for name, sha in sorted(state.tags.items())]
        return self._page(items, query, path)

    def git_commit(self, params: dict[str, str], query: dict[str, str], path: str):
        state = self._repo(params["owner"], params["repo"])
        if params["sha"] not in state.commits:
            raise GithubError(404, "Not Found")
        return self._git_commit_json(state, params["sha"]), {}

    def compare(self, params: dict[str, str], query: dict[str, str], path: str):
        state = self._repo(params["owner"], params["repo"])
        base, sep, head = params["basehead"].partition("...")
        if not sep:
            raise _not_found()
        base, head = state.branches.get(base, base), state.branches.get(head, head)
        if base not in state.commits or head not in state.commits:
            raise GithubError(404, "Not Found")
        head_history, base_history = state.ancestors(head), state.ancestors(base)
        ahead, behind = len(head_history - base_history), len(base_history - head_history)
        status = "identical" if base == head else "ahead" if not behind else "behind" if not ahead else "diverged"
        common = max(head_history & base_history, key=lambda s: state.commits[s]["time"], default=None)
        url = f"{self.base}/repos/{state.org}/{state.spec.name}"
        body = {"url": f"{url}/compare/{params['basehead']}", "html_url": f"{self.root}/{state.org}/{state.spec.name}/compare/{params['basehead']}",
                "permalink_url": f"{url}/compare/{base}...{head}", "status": status, "ahead_by": ahead, "behind_by": behind,
                "total_commits": ahead, "commits": [], "files": [],
                "base_commit": {**self._commit_ref(state, base), "commit": self._git_commit_json(state, base)},
                "merge_base_commit": ({**self._commit_ref(state, common), "commit": self._git_commit_json(state, common)}
                                      if common else None)}
        return body, {}
