"""Known or unknown, per scope: the one way a check reaches a fact collection.

A fact collection (the backup runs, the alert policies, the key versions ...) is read per *scope*:
the project, instance, key or repository a call covers. For each scope it is either

- `Known`: every call that fills it for that scope was answered in full; it carries the items and
  the ids of the calls that make it so. "0 retained backups" can only be said of a `Known` with no
  items;
- `Unknown`: some call that fills it failed, came back partial or malformed, or was never made; it
  carries those `CallGap`s (what failed and why) and no items at all.

`Scoped` is the container. It has no `__iter__`, `__len__` or `__contains__`: the only way to its
items is `at(scope)` / `of(resource)`, which return `Known | Unknown`, so a check has to say what it
does with the unknown case before it can count anything. `Unknown` has no `items`: code that forgets
the case fails on the first faulted run (and a type checker flags it before that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, Mapping, TypeVar, Union

T = TypeVar("T")


@dataclass(frozen=True)
class CallGap:
    """A call whose answer is missing or incomplete, and why: the root of every `inconclusive`."""

    api: str
    method: str
    scope: str
    kind: str
    reason: str | None
    message: str
    http_status: int | None
    call_id: str | None

    def describe(self) -> str:
        if self.kind == "not_collected":
            return self.message
        from auditor.evidence.failure import KIND_WORDS

        words = KIND_WORDS.get(self.kind, self.kind)
        code = f" ({self.reason})" if self.reason else (f" (HTTP {self.http_status})" if self.http_status else "")
        return f"{self.api} {self.method} for {self.scope}: {words}{code}"


def not_collected(api: str, method: str, scope: str) -> CallGap:
    """The gap of a call the run never made (an interrupted run, a collector that did not plan it)."""
    return CallGap(api, method, scope, "not_collected", None, f"{api} {method} for {scope} was not collected", None, None)


@dataclass(frozen=True)
class Known(Generic[T]):
    """A complete read of one scope: its items (possibly none) and the calls that make it complete."""

    scope: str
    items: tuple[T, ...]
    calls: tuple[str, ...] = ()  # ids of the answered calls behind this read

    known = True

    @property
    def empty(self) -> bool:
        """True only for a read that succeeded and found nothing."""
        return not self.items


@dataclass(frozen=True)
class Unknown:
    """A scope whose collection could not be read in full: no items, only the reasons."""

    scope: str
    gaps: tuple[CallGap, ...]

    known = False

    def describe(self) -> str:
        return "; ".join(dict.fromkeys(gap.describe() for gap in self.gaps)) or f"{self.scope} was not read"

    @property
    def first(self) -> CallGap:
        return self.gaps[0]


Read = Union[Known[T], Unknown]


def known_items(reads: Iterable[Read]) -> tuple[list[Any], list[Unknown]]:
    """Split reads into (every item of the known ones, the unknown ones): for a check that pools scopes
    and must still report each unknown one."""
    items: list[Any] = []
    unknown: list[Unknown] = []
    for read in reads:
        if isinstance(read, Known):
            items.extend(read.items)
        else:
            unknown.append(read)
    return items, unknown


@dataclass(frozen=True)
class Requirement:
    """One call a collection needs for a scope: (api, method). A scope is known when every requirement
    that applies to it was answered in full and none of its calls failed."""

    api: str
    method: str


class Scoped(Generic[T]):
    """One fact collection, per scope. Deliberately not iterable and without a length.

    `scope_of(resource)` maps a resource an item is about (an instance, a key) to the scope of the
    call that lists it (its project, the key itself), so `of(resource)` is known exactly when the
    listing that would show that resource's items was read.
    """

    __slots__ = ("name", "_items", "_by_resource", "_state", "_scope_of", "_origin")

    def __init__(self, name: str, items: Mapping[str, tuple[T, ...]], by_resource: Mapping[str, tuple[T, ...]],
                 state: Mapping[str, Known | Unknown], scope_of: Callable[[str], str],
                 origin: tuple[str, str] | None = None) -> None:
        self.name = name
        self._origin = origin  # (api, method) of the call that fills it, to name a call never made
        self._items = dict(items)
        self._by_resource = dict(by_resource)
        self._state = dict(state)
        self._scope_of = scope_of

    def __iter__(self) -> Iterator[T]:  # pragma: no cover - the point is that it fails
        raise TypeError(f"facts.{self.name} cannot be iterated: ask .at(scope) or .of(resource) and handle Unknown")

    def __len__(self) -> int:  # pragma: no cover
        raise TypeError(f"facts.{self.name} has no length: ask .at(scope) and handle Unknown")

    def __bool__(self) -> bool:
        raise TypeError(f"facts.{self.name} is neither true nor false: ask .at(scope) and handle Unknown")

    def __repr__(self) -> str:
        return f"Scoped({self.name!r}, scopes={sorted(self._state)})"

    def at(self, scope: str) -> Known[T] | Unknown:
        """Everything the collection holds for one call scope (projects/P, a key name, github.com/O ...)."""
        state = self._state.get(scope)
        if state is None:
            gap = not_collected(*self._origin, scope) if self._origin else not_collected_for(self.name, scope)
            return Unknown(scope, (gap,))
        if isinstance(state, Unknown):
            return state
        return Known(scope, self._items.get(scope, ()), state.calls)

    def of(self, resource: str) -> Known[T] | Unknown:
        """The items about one resource, known when the scope that lists it was read in full."""
        scope = self._scope_of(resource)
        state = self.at(scope)
        if isinstance(state, Unknown):
            return state
        return Known(scope, self._by_resource.get(resource, ()), state.calls)

    def over(self, scopes: Iterable[str]) -> list[Known[T] | Unknown]:
        return [self.at(scope) for scope in scopes]

    def scopes(self) -> list[str]:
        """Every scope a call for this collection was made for (answered or not), sorted."""
        return sorted(self._state)

    def unknown(self) -> list[Unknown]:
        return [s for _, s in sorted(self._state.items()) if isinstance(s, Unknown)]


def not_collected_for(name: str, scope: str) -> CallGap:
    return CallGap("-", name, scope, "not_collected", None, f"no call for {name} covered {scope}", None, None)


class ScopedBuilder(Generic[T]):
    """Collects one collection's items and call outcomes while facts are built; `freeze()` makes it a `Scoped`.

    `answered(...)` records a call read in full, `failed(gap)` one that was not. Within one locker, a
    scope with any failed call is unknown even when another call answered it: a partial picture is not
    a known one. A scope that `requires` several calls is known only when each of them was answered.
    Merged lockers (`epoch`: the locker's rank, oldest first): the newest locker that called for a
    scope decides its state, as the latest observation of a configuration wins; the items of every
    locker are kept (history), unless the collection is a `snapshot`: then a scope holds only the items
    of the locker that decides it (a repository deleted since an older locker is not listed).
    """

    def __init__(self, name: str, key: Callable[[T], str], scope_of: Callable[[str], str],
                 requires: tuple[tuple[str, str], ...] = (), origin: tuple[str, str] | None = None,
                 snapshot: bool = False) -> None:
        self.name = name
        self.snapshot = snapshot
        self.item_epochs: dict[str, list[int]] = {}
        self.origin = origin
        self.key = key
        self.scope_of = scope_of
        self.requires = requires
        self.items: dict[str, list[T]] = {}
        self.answered_calls: dict[str, dict[int, dict[tuple[str, str], list[str]]]] = {}
        self.gaps: dict[str, dict[int, list[CallGap]]] = {}

    def add(self, scope: str, item: T, epoch: int = 0) -> None:
        self.items.setdefault(scope, []).append(item)
        self.item_epochs.setdefault(scope, []).append(epoch)

    def answered(self, scope: str, api: str, method: str, call_id: str, epoch: int = 0) -> None:
        self.answered_calls.setdefault(scope, {}).setdefault(epoch, {}).setdefault((api, method), []).append(call_id)

    def failed(self, gap: CallGap, epoch: int = 0) -> None:
        self.gaps.setdefault(gap.scope, {}).setdefault(epoch, []).append(gap)

    def freeze(self, dedupe: Callable[[list[T]], list[T]] | None = None) -> Scoped[T]:
        return self.freeze_with_items(dedupe)[0]

    def freeze_with_items(self, dedupe: Callable[[list[T]], list[T]] | None = None) -> tuple[Scoped[T], list[T]]:
        """The Scoped collection, and every item read whatever its scope's state: evidence that was read,
        for the derived views the build step computes (a history keeps an observation even when a later
        listing of its project failed). Never handed to a check."""
        items: dict[str, tuple[T, ...]] = {}
        by_resource: dict[str, list[T]] = {}
        for scope, values in self.items.items():
            if self.snapshot:  # only the deciding locker's read of the scope
                answered_by, gaps_by = self.answered_calls.get(scope, {}), self.gaps.get(scope, {})
                deciding = max(set(answered_by) | set(gaps_by), default=None)
                values = [v for v, e in zip(values, self.item_epochs[scope]) if deciding is None or e == deciding]
            values = dedupe(values) if dedupe else values
            items[scope] = tuple(values)
            for value in values:
                by_resource.setdefault(self.key(value), []).append(value)
        state: dict[str, Known | Unknown] = {}
        for scope in set(self.answered_calls) | set(self.gaps):
            answered_by, gaps_by = self.answered_calls.get(scope, {}), self.gaps.get(scope, {})
            epoch = max(set(answered_by) | set(gaps_by))
            gaps = list(gaps_by.get(epoch, ()))
            answered = answered_by.get(epoch, {})
            for api, method in self.requires:
                if (api, method) not in answered and not any(g.api == api and g.method == method for g in gaps):
                    gaps.append(not_collected(api, method, scope))
            if gaps:
                state[scope] = Unknown(scope, tuple(gaps))
            else:
                state[scope] = Known(scope, (), tuple(c for ids in answered.values() for c in ids))
        every = [item for values in items.values() for item in values]
        return Scoped(self.name, items, {k: tuple(v) for k, v in by_resource.items()}, state, self.scope_of, self.origin), every
