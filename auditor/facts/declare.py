"""What an evidence source declares (one module per source in auditor.facts.sources uses these).

`Source`: an API method, the kind of scope its call covers, its reader, the facts it fills, the IAM
permissions the call needs, its term in the design-minimum formula. `Fact`: a collection checks may
name in `needs`, what its items are about and how a resource maps to the scope of the call that
lists it. Kept apart from the registry so that source modules and the registry do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Emit = Callable[..., None]  # emit(fact_name, item, scope=None)
PageReader = Callable[[dict[str, Any], Any, str, Emit], None]  # (call, body, page id, emit)


def project_scope(resource: str) -> str:
    """projects/P of anything named under a project (a full resource name, a key, projects/P itself)."""
    parts = resource.removeprefix("//").split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "projects":
            return f"projects/{parts[i + 1]}"
    return resource


def instance_scope(resource: str) -> str:
    """projects/P/instances/I of a Cloud SQL instance's full resource name (the operations.list scope)."""
    return resource.removeprefix("//cloudsql.googleapis.com/")


def key_scope(name: str) -> str:
    """The Cloud KMS key of a key or key-version name (calls about a key are scoped to the key)."""
    return name.split("/cryptoKeyVersions/")[0]


def same_scope(name: str) -> str:
    return name


@dataclass(frozen=True)
class Fact:
    """A fact collection checks may name in `needs`: what its items are about, and how a resource maps
    to the scope of the call that lists it."""

    name: str
    scope: str  # project | instance | key | repository | organization | search-scope | inventory
    key: Callable[[Any], str]  # the resource an item is about
    scope_of: Callable[[str], str] = project_scope
    dedupe: Callable[[list[Any]], list[Any]] | None = None  # merging lockers: the latest observation wins
    item_scope: Callable[[Any], str] | None = None  # an item's call scope when it is not scope_of(key(item))
    snapshot: bool = False  # merging lockers: a scope holds only its newest read's items, not every locker's
    doc: str = ""


@dataclass(frozen=True)
class Cost:
    """The source's term in the design minimum: pages(items, page_cap) per `per` (project, key, instance,
    search-scope), with the items counted by the shape field `shape` (see auditor.cost)."""

    page_cap: int
    per: str
    shape: str | None = None


@dataclass(frozen=True)
class Source:
    api: str
    method: str
    scope: str  # the kind of scope a call covers
    fills: tuple[str, ...]
    permissions: tuple[str, ...]
    field: str | None = None  # the page's list field; "" for a one-object answer; None: a whole-call reader
    read: PageReader | None = None
    read_call: Callable[..., None] | None = None  # (call, pages, emit) for sources whose pages only make sense together
    on_complete: Callable[[dict[str, Any], dict[str, Any], Emit], None] | None = None  # (call, locker manifest, emit)
    cost: Cost | None = None
    legacy: bool = False  # no longer collected; older lockers hold it
    # (facts, project) -> the stores in that project that depend on this API ([]: none, so the API being
    # disabled there is not applicable; None: cannot tell). Without it, a disabled API is inconclusive.
    dependents: Callable[[Any, str], list[str] | None] | None = None
    doc: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.api, self.method)


def call_project(call: dict[str, Any]) -> str:
    """The project a call was made for, from its own parameters (name, parent or project)."""
    params = call["params"]
    name = params.get("name") or params.get("parent") or params.get("project") or ""
    return str(name).removeprefix("projects/").split("/")[0]
