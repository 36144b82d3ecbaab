"""Paged listings that cannot run away: a looping page token, endless empty pages or a page cap end the call.

Every pager goes through `PageGuard`: the discovery clients' `list_next` (`drain`), bodies with the
token inside (`drain_body`, Logging), and google-api-core pagers (`guarded_pages`, Cloud Asset).

A server that hands back a page token it already gave (a loop) or keeps sending empty pages with
a next token would keep a naive `while token:` loop busy forever, and the run would never finish
or, worse, be killed with nothing written. The guard below ends such a call with a PagingError;
the scheduler records it as the call's failure (kind `paging_loop`), the pages received so far stay
in the locker, and the resources the call covers end `inconclusive`.
"""

from __future__ import annotations

from typing import Any, Iterator

from auditor.retry import policy
from auditor.errors import AuditorError


class PagingError(AuditorError):
    """A paged listing did not converge: a repeated page token, or too many empty or total pages."""

    kind = "paging_loop"


class MalformedResponse(AuditorError):
    """A page that is not a JSON object. google-api-python-client does NOT raise for a 200 whose
    body is not JSON (JsonModel.deserialize returns the raw text instead), so we must check."""

    kind = "malformed"


def _has_items(response: Any) -> bool:
    """A page carries data when any of its list fields is non-empty (items, entries, resources...)."""
    return isinstance(response, dict) and any(isinstance(v, list) and v for v in response.values())


class PageGuard:
    """Tracks one call's page tokens; `next_token(response)` returns the token to follow or None."""

    def __init__(self, what: str, token_field: str = "nextPageToken") -> None:
        self.what = what
        self.token_field = token_field
        self.seen: set[str] = set()
        self.pages = 0
        self.empty_run = 0

    def next_token(self, response: Any) -> str | None:
        limits = policy()
        self.pages += 1
        if not isinstance(response, dict):
            raise MalformedResponse(f"{self.what}: page {self.pages} is not a JSON object (the body is truncated "
                                    f"or not JSON: {str(response)[:80]!r}...)")
        token = response.get(self.token_field)
        if not token:
            return None
        if not isinstance(token, str):
            raise PagingError(f"{self.what}: page {self.pages} has a {self.token_field} that is not a string")
        if token in self.seen:
            raise PagingError(f"{self.what}: page {self.pages} repeated a page token already followed "
                              f"(the listing loops); stopped after {self.pages} pages")
        self.seen.add(token)
        self.empty_run = 0 if _has_items(response) else self.empty_run + 1
        if self.empty_run >= limits.max_empty_pages:
            raise PagingError(f"{self.what}: {self.empty_run} empty pages in a row, each with a next page token; "
                              f"stopped after {self.pages} pages")
        if self.pages >= limits.max_pages:
            raise PagingError(f"{self.what}: more than {limits.max_pages} pages; stopped")
        return token


def drain(collection: Any, request: Any, what: str) -> Iterator[dict[str, Any]]:
    """Every page of a discovery `list` call (list_next paging); the capture layer stores each body."""
    guard = PageGuard(what)
    while request is not None:
        response = request.execute()
        token = guard.next_token(response)  # raises on a body that is not a JSON object, before anyone reads it
        yield response
        if token is None:
            return
        request = collection.list_next(request, response)


def drain_body(method: Any, body: dict[str, Any], what: str) -> Iterator[dict[str, Any]]:
    """Every page of a POST listing whose page token travels in the body (logging entries.list)."""
    guard = PageGuard(what)
    request_body = dict(body)
    while True:
        response = method(body=request_body).execute()
        token = guard.next_token(response)  # raises on a body that is not a JSON object, before anyone reads it
        yield response
        if token is None:
            return
        request_body = {**body, "pageToken": token}


def guarded_pages(pager: Any, what: str, items: str = "results") -> Iterator[Any]:
    """The pages of a google-api-core pager (the Cloud Asset client's), each checked by the same guard.

    The library's pager follows `next_page_token` for as long as the server sends one, however often
    it repeats and however empty the pages (case 7 of issue 12: 72,751 empty pages in 15 minutes), so
    its pages are walked here instead of its items."""
    guard = PageGuard(what)
    for page in pager.pages:
        yield page
        view = {"nextPageToken": page.next_page_token, items: list(getattr(page, items, []) or [])}
        if guard.next_token(view) is None:
            return


def fetch_one(request: Any, what: str) -> dict[str, Any]:
    """A single-object read (a `get`, testIamPermissions): retried like every request, and a body that is
    not a JSON object is a malformed response, never an empty success."""
    response = request.execute()
    if not isinstance(response, dict):
        raise MalformedResponse(f"{what}: the response is not a JSON object")
    return response
