"""One declaration per evidence source: the API method, its scope, its reader, the facts it fills,
the IAM permissions its call needs and its term in the design-minimum formula.

In the spirit of Cloud Custodian's `resource_type`: everything the rest of the tool needs to know
about a kind of evidence is said once, in one module of this package, and every table that used to
be kept by hand beside it (the readers, which facts a failed call makes unknown, the cost formula's
page caps, the roles a run needs) is a lookup over `SOURCES`. Adding a source is a new module here,
listed in `_MODULES`, plus its simulator route and a scenario.

A module defines `SOURCES` (one or more `Source`) and `FACTS` (the `Fact` collections it introduces).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

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
    doc: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.api, self.method)


_MODULES = ("sql_instances", "backup_runs", "audit_log", "sql_operations", "kms_keys", "kms_key_versions",
            "alert_policies", "notification_channels", "log_metrics", "assets", "buckets", "bucket_access",
            "inventory", "github")


@dataclass
class Registry:
    sources: dict[tuple[str, str], Source] = field(default_factory=dict)
    by_api: dict[str, Source] = field(default_factory=dict)  # api-wide sources (method "*")
    facts: dict[str, Fact] = field(default_factory=dict)

    def source(self, api: str, method: str) -> Source | None:
        return self.sources.get((api, method)) or self.by_api.get(api)

    def feeds(self, api: str, method: str) -> tuple[str, ...] | None:
        """The facts a call fills; None for a call no source declares (it is assumed to feed everything)."""
        source = self.source(api, method)
        return source.fills if source else None


def _load() -> Registry:
    registry = Registry()
    for name in _MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for fact in getattr(module, "FACTS", ()):
            if fact.name in registry.facts:
                raise RuntimeError(f"fact {fact.name!r} declared twice (auditor.facts.sources.{name})")
            registry.facts[fact.name] = fact
        for source in module.SOURCES:
            if source.method == "*":
                registry.by_api[source.api] = source
            elif source.key in registry.sources:
                raise RuntimeError(f"source {source.api} {source.method} declared twice")
            else:
                registry.sources[source.key] = source
    for source in [*registry.sources.values(), *registry.by_api.values()]:
        unknown = [f for f in source.fills if f not in registry.facts]
        if unknown:
            raise RuntimeError(f"{source.api} {source.method} fills undeclared facts {unknown}")
    return registry


REGISTRY = _load()
SOURCES: tuple[Source, ...] = (*REGISTRY.sources.values(), *REGISTRY.by_api.values())
FACTS: dict[str, Fact] = REGISTRY.facts
#: (api, method) -> the facts its call fills: a view over SOURCES (auditor.unverified reads it)
FEEDS: dict[tuple[str, str], tuple[str, ...]] = {s.key: s.fills for s in REGISTRY.sources.values()}


def feeds(api: str, method: str) -> tuple[str, ...] | None:
    return REGISTRY.feeds(api, method)


def permissions() -> dict[str, tuple[str, ...]]:
    """IAM permission (or token scope) -> the 'api method' calls that need it, for `auditor roles`."""
    out: dict[str, list[str]] = {}
    for source in SOURCES:
        if source.legacy:
            continue
        for permission in source.permissions:
            out.setdefault(permission, []).append(f"{source.api} {source.method}")
    return {p: tuple(calls) for p, calls in sorted(out.items())}


def cost_terms() -> Iterable[tuple[Source, Cost]]:
    for source in SOURCES:
        if source.cost is not None and not source.legacy:
            yield source, source.cost
