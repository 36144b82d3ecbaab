"""The fewest GitHub requests an audit of an organisation can make, and how long they must take.

Design minimum, per organisation (P = 100, the largest page GitHub serves; R = repositories the
listing returns, whatever their scope):

    orgs.get               1                    repository totals and the token's scopes
    orgs.repos.list        max(1, ceil(R / P))
    for each in-scope repository r that has a local backup:
      repos.branches.list  max(1, ceil(B_r / P))   B_r = branches on GitHub
      repos.tags.list      max(1, ceil(T_r / P))   T_r = tags on GitHub
      repos.compare        L_r                     L_r = branches whose backup head differs from GitHub's
                                                   AND lacks GitHub's commit (only GitHub can count what
                                                   the backup lacks; when the backup holds the commit,
                                                   git answers locally)
    repos.git.commits.get  min(S, N)               S = policy.source_code.integrity_sample, N = in-scope
                                                   repositories with a backup (GitHub's tree of each
                                                   sampled backup's default-branch commit)

Once per run, whatever the number of organisations (PER_RUN):

    users.get_authenticated  1                  the token's owner (GET /user), for the pack's provenance

In scope: not archived unless `include_archived`, not a fork unless `include_forks`. A repository
without a backup costs nothing beyond the listing: the backup listing alone proves it has none.

Serial latency bound. GitHub asks integrators to send one request at a time per token, so the
GitHub lane is serial and its floor is

    bound = requests x (latency + pacing)

where pacing is PyGithub's `seconds_between_requests`, which it waits after each response before
the next request. GitHub's secondary limit of 900 points a minute per REST endpoint (a GET is one
point) holds for back-to-back requests to one endpoint when latency + pacing >= 60/900 s; the
collector queues each repository's branch and tag listings together, so in the serial lane the two
endpoints alternate and each sees at most every other request: latency + pacing >= 60/900/2 s
suffices (no pacing at 50 ms). Bursts shorter than a minute (the compares, the listing pages) stay
under 900 requests at any size up to 900 stale backups.

Local git commands (not API calls, reported beside them): per in-scope backed-up repository
4 + L_r (rev-parse, for-each-ref, count-objects, cat-file of .gitattributes, and one cat-file -e per
lacking branch), plus 1-3 per branch that differs from GitHub but whose commit the backup holds,
plus 4 per sampled repository (fsck, clone, for-each-ref and rev-parse of the restored copy).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

PAGE = 100  # GitHub's per_page cap for the listings used
POINTS_PER_MINUTE = 900  # secondary limit per REST endpoint; a GET costs one point


@dataclass(frozen=True)
class RepoShape:
    """What the formula needs to know about one repository (from the organisation's generator or inventory)."""

    name: str
    branches: int  # on GitHub, the default branch included
    tags: int
    backed_up: bool
    lacking: int = 0  # branches whose backup head differs and lacks GitHub's commit
    held_differing: int = 0  # branches whose head differs but whose GitHub commit the backup holds
    archived: bool = False
    fork: bool = False

    def in_scope(self, include_archived: bool = True, include_forks: bool = False) -> bool:
        return (include_archived or not self.archived) and (include_forks or not self.fork)


def pages(items: int, page: int = PAGE) -> int:
    """Requests to list `items` things: an empty listing still takes one."""
    return max(1, math.ceil(items / page))


#: Requests made once per run, not per organisation.
PER_RUN: Counter[tuple[str, str]] = Counter({("github", "users.get_authenticated"): 1})


def github_minimum(repos: Iterable[RepoShape], *, sample: int, include_archived: bool = True,
                   include_forks: bool = False) -> Counter[tuple[str, str]]:
    """Requests per ("github", method) for one organisation (see the module docstring)."""
    repos = list(repos)
    counts: Counter[tuple[str, str]] = Counter()
    counts["github", "orgs.get"] = 1
    counts["github", "orgs.repos.list"] = pages(len(repos))
    audited = [r for r in repos if r.backed_up and r.in_scope(include_archived, include_forks)]
    for repo in audited:
        counts["github", "repos.branches.list"] += pages(repo.branches)
        counts["github", "repos.tags.list"] += pages(repo.tags)
        counts["github", "repos.compare"] += repo.lacking
    counts["github", "repos.git.commits.get"] = min(sample, len(audited))
    return +counts  # drop zero entries


def git_commands(repos: Iterable[RepoShape], *, sample: int, include_archived: bool = True,
                 include_forks: bool = False) -> int:
    """Local git commands the backup inspection runs, when every differing branch's commit is absent or an ancestor.

    A held differing branch costs 1 (cat-file -e) + 1 (merge-base) when GitHub's head is in the backup's
    history, + 2 more (merge-base, rev-list --count) otherwise; this counts the lower figure.
    """
    audited = [r for r in repos if r.backed_up and r.in_scope(include_archived, include_forks)]
    return sum(4 + r.lacking + 2 * r.held_differing for r in audited) + 4 * min(sample, len(audited))


def serial_bound(requests: int, latency: float, pacing: float = 0.0) -> float:
    """Seconds the GitHub lane needs at least: one request at a time, each waiting latency + pacing."""
    return requests * (latency + pacing)


def pacing_within_limits(latency: float, alternating: int = 1) -> float:
    """The least pacing that keeps an endpoint under 900 points a minute when it gets one request in
    every `alternating` consecutive ones (1: back-to-back; 2: the collector's branch/tag listings)."""
    return max(0.0, 60 / POINTS_PER_MINUTE / alternating - latency)
