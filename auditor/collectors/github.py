"""GitHub repositories and their local backups: the calls behind the three source-backup checks.

For each organisation of `github.organizations`, in this order (the scheduler runs them serially,
as GitHub asks of one token):
  git    backup.list           the backup folders of the organisation (layout in gitbackup.py)
  github orgs.get              the organisation's repository totals, and the token's X-OAuth-Scopes
  github orgs.repos.list       every repository (type=all, all pages)
  git    integrity.sample      the repositories drilled today: a reproducible, recorded sample
  per in-scope repository:
  github repos.branches.list + repos.tags.list -> git backup.inspect (refs, last fetch, size, LFS,
         wiki, ancestry of each GitHub head) -> github repos.compare (branches whose backup head lacks
         GitHub's commit; git counts the rest locally) and, when sampled, github repos.git.commits.get
         (GitHub's tree of the backup's default-branch commit), git backup.fsck, git backup.restore_drill
  A repository the backup listing does not hold gets only backup.inspect (which records the absence):
  its branches and tags would change no verdict. auditor/cost_github.py counts these calls.
The token comes from the environment variable `github.token_env` and is handed only to PyGithub's
`Auth.Token`; the capture layer stores bodies, URLs and an allow-list of response headers, never
request headers, so it cannot reach the evidence.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from github import Auth, Github, GithubRetry
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass

from auditor.collectors import gitbackup
from auditor.config import Config, GithubConfig, SourceCodePolicy
from auditor.errors import ConfigError
from auditor.evidence import local
from auditor.evidence.capture import CapturingAdapter, capture_session, record_refused
from auditor.facts.source_model import draw_sample
from auditor.scheduler import Call


@dataclass(frozen=True)
class GithubTuning:
    """How PyGithub paces and retries. Production uses the defaults; tests pass a `sleep` that records."""

    seconds_between_requests: float = 0.25
    per_page: int = 100
    retries: int = 5
    secondary_rate_wait: float = 60
    max_rate_limit_wait: float = 900
    timeout: int = 60
    sleep: Callable[[float], None] = time.sleep


class _Retry(GithubRetry):
    """GithubRetry whose waits (Retry-After, rate-limit resets, backoff) go through an injectable sleep."""

    def __init__(self, *, sleeper: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        self.sleeper = sleeper
        super().__init__(**kwargs)

    def new(self, **kwargs: Any) -> "_Retry":
        kwargs["sleeper"] = self.sleeper
        return super().new(**kwargs)

    def get_content(self, resp: Any, url: str) -> bytes:  # type: ignore[override]
        """GithubRetry reads a 403's body here to tell a rate limit from a refusal: the bytes `increment` stored."""
        return _read_once(resp)

    def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                  _pool: Any = None, _stacktrace: Any = None) -> "_Retry":
        """Every error response urllib3 shows the retry (a 403, a 5xx) is stored as a page of the running call
        before GithubRetry decides: it raises for a refusal and for spent retries, so the adapter never sees them."""
        if response is None or getattr(response, "status", 200) < 400:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        full = _full_url(_pool, url)
        body = _read_once(response)
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except BaseException:
            record_refused(full, response.status, body, response.headers, retried=False)
            raise
        record_refused(full, response.status, body, response.headers, retried=True)
        return retry

    def sleep(self, response: Any = None) -> None:
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                self.sleeper(retry_after)
                return
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleeper(backoff)


def _read_once(response: Any) -> bytes:
    """An urllib3 response's body, decoded, read once and kept on the response (its stream can be read only once)."""
    body = getattr(response, "auditor_body", None)
    if body is None:
        try:
            body = response.read(decode_content=True) or b""
        except Exception:  # a connection that broke mid-body: store what is known (nothing), let the library decide
            body = b""
        response.auditor_body = body
    return body


def _full_url(pool: Any, url: Any) -> str:
    """urllib3 hands the retry a path; the evidence records the URL (redacted by the capture layer)."""
    path = str(url or "")
    if "://" in path or pool is None:
        return path
    default = {"http": 80, "https": 443}.get(getattr(pool, "scheme", ""), None)
    port = f":{pool.port}" if getattr(pool, "port", None) and pool.port != default else ""
    return f"{pool.scheme}://{pool.host}{port}{path}"


def _capturing(base: type) -> type:
    class Capturing(base):  # type: ignore[misc, valid-type]
        """PyGithub's connection class with its requests session routed through the capture layer."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.adapter = CapturingAdapter(max_retries=self.retry, pool_connections=self.pool_size,
                                            pool_maxsize=self.pool_size, retrying=False)
            capture_session(self.session, self.adapter)

    Capturing.__name__ = Capturing.__qualname__ = f"Capturing{base.__name__}"
    return Capturing


_CAPTURING = {HTTPRequestsConnectionClass: _capturing(HTTPRequestsConnectionClass),
              HTTPSRequestsConnectionClass: _capturing(HTTPSRequestsConnectionClass)}
_CONNECTION_CLASS = "_Requester__connectionClass"


def route_through_capture(client: Github) -> Github:
    """Point this one client's requests session at the capture layer.

    PyGithub picks its connection class per Requester at construction; the only public hook,
    `Requester.injectConnectionClasses`, is process-global. So this swaps the (private) attribute on
    this client's own Requester and nothing else; tests/test_github_collector.py fails if PyGithub
    renames it or stops using requests there.
    """
    requester = client.requester
    current = getattr(requester, _CONNECTION_CLASS)
    if current not in _CAPTURING:
        raise RuntimeError(f"PyGithub's Requester uses an unexpected connection class {current!r}")
    setattr(requester, _CONNECTION_CLASS, _CAPTURING[current])
    return client


def make_client(config: GithubConfig, token: "str | Auth.Auth", tuning: GithubTuning) -> Github:
    retry = _Retry(total=tuning.retries, backoff_factor=0.5,
                   secondary_rate_wait=tuning.secondary_rate_wait, max_rate_limit_wait=tuning.max_rate_limit_wait,
                   sleeper=tuning.sleep)
    auth = token if isinstance(token, Auth.Auth) else Auth.Token(token)
    client = Github(base_url=config.base_url, auth=auth, per_page=tuning.per_page, timeout=tuning.timeout,
                    retry=retry, seconds_between_requests=tuning.seconds_between_requests or None)
    return route_through_capture(client)


def read_token(config: GithubConfig) -> str:
    token = os.environ.get(config.token_env, "").strip()
    if not token:
        raise ConfigError(f"github.token_env: the environment variable {config.token_env} is not set; "
                          "put a read-only GitHub token there")
    return token


def read_auth(config: GithubConfig) -> "str | Auth.Auth":
    """The token of `token_env`, or a GitHub App installation's authentication (PyGithub mints its token:
    the exchange goes through PyGithub's own requester, never through the capture layer, so no
    installation token reaches the evidence)."""
    app = config.app
    if app is None:
        return read_token(config)
    if app.private_key_file is not None:
        try:
            key = app.private_key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"github.app.private_key_file: cannot read {app.private_key_file}: "
                              f"{getattr(err, 'strerror', None) or err}") from None
    else:
        key = os.environ.get(app.private_key_env or "", "")
        if not key.strip():
            raise ConfigError(f"github.app.private_key_env: the environment variable {app.private_key_env} is not set; "
                              "put the App's private key (PEM) there")
    if "PRIVATE KEY" not in key:
        raise ConfigError("github.app: the private key is not a PEM private key (download it from the App's settings page)")
    return Auth.AppAuth(app.app_id, key).get_installation_auth(app.installation_id)


def identity(config: GithubConfig) -> str:
    """Who the evidence says collected from GitHub: the variable's name or the App installation, never a secret."""
    if config.app is not None:
        return f"GitHub App {config.app.app_id} installation {config.app.installation_id}"
    return f"token from ${config.token_env}"


def in_scope(archived: bool, fork: bool, policy: SourceCodePolicy) -> bool:
    return (policy.include_archived or not archived) and (policy.include_forks or not fork)


def scope_calls(ctx: Any) -> Iterator[Call]:
    config: Config = ctx.config
    if config.github is None or not config.github.organizations:
        return
    tuning = getattr(ctx, "github_tuning", None) or GithubTuning(seconds_between_requests=config.github.seconds_between_requests)
    client = make_client(config.github, read_auth(config.github), tuning)
    for org in config.github.organizations:
        yield from OrgPlan(client, config, org).calls()


class OrgPlan:
    """The calls for one organisation; later calls are queued by earlier ones (`follow`)."""

    def __init__(self, client: Github, config: Config, org: str) -> None:
        assert config.github is not None
        self.client, self.org = client, org
        self.github, self.policy = config.github, config.policy.source_code
        self.scope = f"{config.github.repository_host()}/{org}"  # GitHub Enterprise repositories carry their host
        self.backups: dict[str, gitbackup.Backup] = {}
        self.listed = False  # the backup listing succeeded, so a repository absent from it has no backup

    def calls(self) -> list[Call]:
        root = self.github.backup.root
        layout = self.github.backup.layout

        def list_backups() -> None:
            if root is None:
                local.observe("backup-listing", {"root": None, "layout": layout, "organization": self.org, "exists": False})
                raise FileNotFoundError("github.backup.root is not configured")
            self.backups = gitbackup.list_backups(root, layout, self.org)
            self.listed = True

        return [
            Call("git", "backup.list", {"org": self.org, "root": str(root), "layout": layout}, self.scope, list_backups),
            Call("github", "orgs.get", {"org": self.org}, self.scope, lambda: self.client.get_organization(self.org),
                 follow=lambda org: [self._repos_call(org)]),
        ]

    def _repos_call(self, org: Any) -> Call:
        return Call("github", "orgs.repos.list", {"org": self.org, "type": "all"}, self.scope,
                    lambda: list(org.get_repos(type="all")), follow=lambda repos: self._per_repo(org, repos))

    def _per_repo(self, org: Any, repos: list[Any]) -> list[Call]:
        scoped = [r for r in repos if in_scope(r.archived, r.fork, self.policy)]
        population = sorted(r.name for r in scoped if r.name.lower() in self.backups)
        seed = self.policy.integrity_seed or f"{self.org}:{_server_day(org)}"
        sample = draw_sample(population, seed, self.policy.integrity_sample)

        def record_sample() -> None:
            local.observe("integrity-sample", {
                "organization": self.org, "seed": seed, "size": self.policy.integrity_sample,
                "method": 'rank by SHA-256 of "<seed>:<repository>", take the first <size>, report sorted by name',
                "population": population, "sample": sample,
            })

        calls = [Call("git", "integrity.sample", {"org": self.org, "seed": seed, "size": self.policy.integrity_sample},
                      self.scope, record_sample)]
        for repo in scoped:
            calls += RepoPlan(self, repo, repo.name in sample).first()
        return calls


def _server_day(org: Any) -> str:
    """The day of collection by GitHub's clock (the organisation response's Date header), so a re-run the same day
    draws the same sample. Read from the organisation, which PyGithub fetched whole: `raw_headers` on a listed
    repository would make PyGithub fetch that repository again, outside any recorded call."""
    date = (getattr(org, "raw_headers", None) or {}).get("date")
    if date:
        return parsedate_to_datetime(date).date().isoformat()
    return time.strftime("%Y-%m-%d", time.gmtime())


class RepoPlan:
    def __init__(self, plan: OrgPlan, repo: Any, sampled: bool) -> None:
        self.plan, self.repo, self.sampled = plan, repo, sampled
        self.name = repo.name
        self.scope = f"{plan.scope}/{repo.name}"
        self.params = {"org": plan.org, "repo": repo.name}
        self.listings: dict[str, dict[str, str]] = {}  # "branches" / "tags" -> name -> commit sha

    def first(self) -> list[Call]:
        """The branch and tag listings, queued together (so the serial lane alternates endpoints: neither
        sees more than every other request, which keeps each under GitHub's points per minute); the
        inspection follows whichever answers second. A repository without a backup gets only the inspection."""
        if self.plan.listed and self.name.lower() not in self.plan.backups:
            return [self._inspect({}, {})]  # no backup: nothing to compare GitHub's branches and tags with
        return [Call("github", "repos.branches.list", self.params, self.scope,
                     lambda: {b.name: b.commit.sha for b in self.repo.get_branches()},
                     follow=lambda branches: self._listed("branches", branches)),
                Call("github", "repos.tags.list", self.params, self.scope,
                     lambda: {t.name: t.commit.sha for t in self.repo.get_tags()},
                     follow=lambda tags: self._listed("tags", tags))]

    def _listed(self, kind: str, refs: dict[str, str]) -> list[Call]:
        """Follow-ups run one at a time in the scheduler's thread, so this join needs no lock."""
        self.listings[kind] = refs
        if len(self.listings) < 2:
            return []
        return [self._inspect(self.listings["branches"], self.listings["tags"])]

    def _inspect(self, branches: dict[str, str], tags: dict[str, str]) -> Call:
        layout = self.plan.github.backup.layout
        refs = {**{f"refs/heads/{k}": v for k, v in branches.items()}, **{f"refs/tags/{k}": v for k, v in tags.items()}}
        backup = self.plan.backups.get(self.name.lower())

        def perform() -> gitbackup.Inspection | None:
            return gitbackup.inspect(backup, layout, self.repo.default_branch, refs)

        return Call("git", "backup.inspect", {**self.params, "layout": layout}, self.scope, perform,
                    follow=lambda inspection: self._after_inspect(inspection, branches))

    def _after_inspect(self, inspection: gitbackup.Inspection | None, branches: dict[str, str]) -> list[Call]:
        if inspection is None:
            return []
        calls: list[Call] = []
        prefix = inspection.default_ref.rsplit("/", 1)[0] + "/" if inspection.default_ref else "refs/heads/"
        for branch, github_sha in sorted(branches.items()):
            mine = inspection.refs.get(prefix + branch)
            if mine and mine != github_sha and github_sha not in inspection.held:  # git could not count it locally
                calls.append(Call("github", "repos.compare", {**self.params, "base": mine, "head": github_sha}, self.scope,
                                  lambda base=mine, head=github_sha: self.repo.compare(base, head).ahead_by))
        if not self.sampled:
            return calls
        default_sha = inspection.refs.get(inspection.default_ref or "")
        if default_sha:
            calls.append(Call("github", "repos.git.commits.get", {**self.params, "sha": default_sha}, self.scope,
                              lambda: self.repo.get_git_commit(default_sha).tree.sha))
        path: Path = inspection.path
        calls.append(Call("git", "backup.fsck", self.params, self.scope, lambda: gitbackup.fsck(path)))
        calls.append(Call("git", "backup.restore_drill", {**self.params, "ref": inspection.default_ref}, self.scope,
                          lambda: gitbackup.restore_drill(path, inspection.default_ref or "HEAD")))
        return calls
