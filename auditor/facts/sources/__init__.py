"""One declaration per evidence source: the API method, its scope, its reader, the facts it fills,
the IAM permissions its call needs and its term in the design-minimum formula.

In the spirit of Cloud Custodian's `resource_type`: everything the rest of the tool needs to know
about a kind of evidence is said once, in one module of this package, and every table that used to
be kept by hand beside it (the readers, which facts a failed call makes unknown, the cost formula's
page caps, the roles a run needs) is a lookup over `SOURCES`. Adding a source is a new module here
(found by being in this package), plus its collector call, its simulator route and a scenario.

A module defines `SOURCES` (one or more `Source`) and `FACTS` (the `Fact` collections it introduces),
with the types of auditor.facts.declare.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Iterable

from auditor.facts.declare import (Cost, Emit, Fact, PageReader, Source, instance_scope, key_scope, project_scope,
                                   same_scope)

__all__ = ["Cost", "Emit", "Fact", "PageReader", "Source", "instance_scope", "key_scope", "project_scope", "same_scope",
           "REGISTRY", "SOURCES", "FACTS", "FEEDS", "feeds", "permissions", "cost_terms"]

def _module_names() -> list[str]:
    """Every module of this package, by name: a new source is picked up by being here, nothing else."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


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
    for name in _module_names():
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
