"""The build step: lockers -> frozen Facts, once.

For every recorded call it looks up the call's declared source (auditor.facts.sources), reads each
page it received with that source's reader into the collections the source fills, and records the
call's outcome against its scope: answered in full, or a CallGap (failed, partial, malformed). The
collections become `Scoped` (Known or Unknown per scope); the derived views (history, stores,
scope gaps, protection) are computed from them in the same pass; then everything is frozen.

It reads only the lockers (never a client object), so `auditor check --evidence` re-performs a run
exactly. Several lockers merge oldest first: for a key seen twice, the latest observation wins, and
the newest locker that called for a scope decides whether that scope is known.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import orjson

from auditor.evidence.locker import Locker
from auditor.facts.access import items as page_items, partial_marks
from auditor.facts.discovery import build_stores
from auditor.facts.bucket_history import build_bucket_history
from auditor.facts.history import build_history
from auditor.facts.kms_history import build_kms_history
from auditor.facts.monitoring_history import build_monitoring_history
from auditor.facts.inventory_days import build_inventory_days
from auditor.facts.known import CallGap, ScopedBuilder
from auditor.facts.model import Coverage, Facts
from auditor.facts.projects import snapshot_asset_scopes
from auditor.facts.protection import BackupCopies, build_backupdr, build_protection
from auditor.facts.stores import SQL_TYPE
from auditor.facts.sources import FACTS, REGISTRY, SOURCES, Source
from auditor.facts.sources.github import READ_ERRORS, pages_of

#: the derived views, and the facts each is computed from (a failed call feeding those feeds the view)
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "history": ("instance_observations", "config_changes", "backup_windows", "backup_runs", "instance_listings",
                "log_coverage", "activation_changes", "final_snapshots"),
    "stores": ("assets", "project_numbers", "sql_instances", "buckets", "inventory"),
    "inventory_days": ("inventory", "inventory_versions", "instance_observations", "config_changes", "label_observations",
                       "asset_history", "log_coverage", "instance_listings", "bucket_listings", "asset_listings"),
    "sql_stores": ("assets", "project_numbers", "sql_instances", "inventory"),  # the same view, Cloud SQL only
    "protection": ("sql_instances", "buckets", "final_snapshots"),
    "backup_copies": ("backup_runs", "sql_backups", "backupdr_associations", "backupdr_plans", "backupdr_vaults",
                      "backupdr_data_sources", "backupdr_backups"),
    "monitoring_history": ("monitoring_observations", "monitoring_changes", "monitoring_listings", "log_coverage"),
    "backupdr": ("backupdr_associations", "backupdr_plans", "backupdr_vaults", "backupdr_data_sources", "backupdr_backups"),
    "kms_history": ("kms_keys", "kms_key_versions", "kms_version_observations", "kms_version_changes", "log_coverage"),
    "bucket_history": ("bucket_observations", "bucket_changes", "bucket_log_coverage", "bucket_lock_coverage"),
}


#: What a page reader raises on values its page should never hold: the page is malformed (its
#: scope unknown, its findings inconclusive), never a traceback. Items it emitted before are kept
#: but cannot make the scope known, since the call is then not complete.
PAGE_ERRORS = (OverflowError, ValueError, TypeError, KeyError, IndexError, AttributeError)


def underlying(needs: tuple[str, ...] | list[str] | set[str]) -> set[str]:
    """The collected facts behind a check's needs (derived views expanded)."""
    out: set[str] = set()
    for name in needs:
        out.add(name)
        out.update(DERIVED_FROM.get(name, ()))
    return out


class Reading:
    """One build in progress: the collections being filled and the outcome of every call read so far."""

    def __init__(self) -> None:
        origins = {name: source.key for source in reversed(SOURCES) for name in source.fills}
        fillers: dict[str, list[tuple[str, str]]] = {}
        for source in SOURCES:
            if not source.legacy and source.method != "*":
                for name in source.fills:
                    fillers.setdefault(name, []).append(source.key)
        # a collection several calls fill (sql_backups: backupRuns.list and Backups.list) is known only when each answered
        self.builders = {name: ScopedBuilder(name, fact.key, fact.scope_of, origin=origins.get(name),
                                             requires=tuple(fillers[name]) if len(fillers.get(name, ())) > 1 else (),
                                             snapshot=fact.snapshot)
                         for name, fact in FACTS.items()}
        self.gaps: list[CallGap] = []
        self.answered: set[tuple[str, str, str]] = set()
        self.call_index: dict[str, dict[str, Any]] = {}

    def fail(self, source: Source | None, gap: CallGap, epoch: int) -> None:
        self.gaps.append(gap)
        for name in source.fills if source else ():
            if name in self.builders:
                self.builders[name].failed(gap, epoch)

    def read_call(self, locker: Locker, call: dict[str, Any], epoch: int) -> None:
        api, method, scope = call["api"], call["method"], call["scope"]
        source = REGISTRY.source(api, method)
        if call["outcome"] != "ok":
            error = call.get("error") or {}
            kind = error.get("kind") or ("partial" if call["outcome"] == "partial" else "http")
            self.fail(source, CallGap(api, method, scope, kind, error.get("reason"), error.get("message", ""),
                                      error.get("http_status"), call["id"]), epoch)
        if source is None:
            return
        if source.read_call is not None:
            self._read_whole(locker, call, source, epoch)
            return
        complete = call["outcome"] == "ok"

        def emit(fact: str, item: Any, at: str | None = None) -> None:
            self.builders[fact].add(at or scope, item, epoch)

        for item_id, _item, status in locker.pages(call):
            if status != 200:
                continue  # a retried error page; the call's outcome says whether it recovered
            try:
                body = orjson.loads(locker.body(item_id))  # about twice as fast as json on a quarter's pages
            except ValueError:
                body = None
            shaped = page_items(body, source.field) if source.field else (body if isinstance(body, dict) else None)
            if shaped is None:
                complete = False
                self.fail(source, CallGap(api, method, scope, "malformed", None,
                                          f"page {item_id} is not a valid {method} response", status, call["id"]), epoch)
                continue
            marks = partial_marks(body)
            if marks:
                complete = False
                self.fail(source, CallGap(api, method, scope, "partial", None,
                                          f"page {item_id} says it is partial ({'; '.join(marks)})", status, call["id"]), epoch)
            try:
                source.read(call, body, item_id, emit)
            except PAGE_ERRORS as err:  # a value no reader can take (a date past 9999, a count past any date)
                complete = False
                self.fail(source, CallGap(api, method, scope, "malformed", None,
                                          f"page {item_id} could not be read: {type(err).__name__}: {str(err)[:200]}",
                                          status, call["id"]), epoch)
        if complete:
            self.answered_call(source, call, epoch)
            if source.on_complete is not None:
                source.on_complete(call, locker.manifest, emit)

    def _read_whole(self, locker: Locker, call: dict[str, Any], source: Source, epoch: int) -> None:
        if call["outcome"] != "ok":
            return
        raw = [(item_id, item, locker.body(item_id)) for item_id, item, status in locker.pages(call) if status in (200, None)]
        emitted: list[tuple[str, Any, str]] = []

        def emit(fact: str, item: Any, at: str | None = None) -> None:
            if fact not in source.fills:
                raise RuntimeError(f"{source.api} {source.method} emitted {fact!r}, which it does not declare it fills")
            emitted.append((fact, item, at or call["scope"]))

        try:
            source.read_call(call, pages_of(raw), emit)
        except READ_ERRORS as err:  # none of its items are kept: the scope is unknown, not partly read
            self.fail(source, CallGap(call["api"], call["method"], call["scope"], "malformed", None,
                                      f"a page could not be read: {err}", None, call["id"]), epoch)
            return
        for fact, item, at in emitted:
            self.builders[fact].add(at, item, epoch)
        self.answered_call(source, call, epoch)

    def answered_call(self, source: Source, call: dict[str, Any], epoch: int) -> None:
        self.answered.add((call["api"], call["method"], call["scope"]))
        for name in source.fills:
            if name in self.builders:
                self.builders[name].answered(call["scope"], call["api"], call["method"], call["id"], epoch)


def build_facts(lockers: list[Locker], only: set[str] | None = None) -> Facts:
    """Facts from one or more lockers; observations with the same stable key are kept once.

    With `only` (fact names), the calls that fill none of them are not read: the facts of one locker
    for the checks judged from each day's own locker (auditor.locker_days), at a fraction of the cost."""
    ordered = sorted(lockers, key=lambda locker: locker.as_of)
    build = Reading()
    for epoch, locker in enumerate(ordered):
        for call in locker.manifest["calls"]:
            if only is not None:
                source = REGISTRY.source(call["api"], call["method"])
                if source is None or not only.intersection(source.fills):
                    continue
            call = {**call, "server_date": call.get("server_date") or locker.manifest["as_of"]}
            build.call_index[call["id"]] = call
            build.read_call(locker, call, epoch)
    gcp = lockers[0].manifest["config"]["gcp"]
    return _finish(build, gcp, max(locker.as_of for locker in lockers), [locker.manifest["locker_id"] for locker in lockers])


def assemble(as_of: datetime, projects: Iterable[str], *, items: dict[str, Iterable[Any]] | None = None,
             answered: Iterable[tuple[str, str, str]] = (), gaps: Iterable[CallGap] = (),
             gcp: dict[str, Any] | None = None, project_numbers: dict[str, str] | None = None) -> Facts:
    """Facts assembled by hand (tests, tools): items per fact name, the calls answered in full
    (api, method, scope) and the CallGaps; then the same freeze and derived views as `build_facts`.

    An item's scope is the one its fact declares for it (an instance's project, a key ...); the
    configuration reads given as `sql_instances` are also its observations."""
    build = Reading()
    given = {name: list(values) for name, values in (items or {}).items()}
    if "sql_instances" in given and "instance_observations" not in given:
        given["instance_observations"] = list(given["sql_instances"])
    for name, values in given.items():
        fact = FACTS[name]
        for value in values:
            build.builders[name].add(fact.item_scope(value) if fact.item_scope else fact.scope_of(fact.key(value)), value)
    for number, ident in (project_numbers or {}).items():
        build.builders["project_numbers"].add("-", (number, ident))
    for gap in gaps:
        build.fail(REGISTRY.source(gap.api, gap.method), gap, 0)
    for api, method, scope in answered:
        source = REGISTRY.source(api, method)
        if source is None:
            raise KeyError(f"no source declares {api} {method}")
        build.answered_call(source, {"api": api, "method": method, "scope": scope, "id": f"c-{api}-{method}-{scope}"}, 0)
    config = gcp if gcp is not None else {"projects": list(projects)}
    return _finish(build, {**config, "projects": list(projects)}, as_of, ["L"])


def _copies(copies: BackupCopies, instances: list[Any]) -> list[Any]:
    """Every retained backup copy read, of every instance (the key-version history's proof of use)."""
    out: list[Any] = []
    for resource in sorted({i.resource for i in instances}):
        read = copies.of(resource)
        out.extend(getattr(read, "items", ()))
    return out


def _finish(build: Reading, gcp: dict[str, Any], as_of: datetime, locker_ids: list[str]) -> Facts:
    """Freeze the collections, compute the derived views from them, and freeze the whole."""
    scoped, raw = {}, {}
    for name, builder in build.builders.items():
        scoped[name], raw[name] = builder.freeze_with_items(FACTS[name].dedupe)
    projects = list(gcp["projects"])
    numbers: dict[str, str] = {}
    for number, ident in raw["project_numbers"]:
        numbers.setdefault(number, ident)
        if ident not in projects:
            projects.append(ident)
    inventory = raw["inventory"][-1] if raw["inventory"] else None
    parts: dict[str, Any] = dict(scoped)
    deleted = {b.instance: b.instance_deleted_at for b in raw["sql_backups"] if b.kind == "FINAL" and b.instance_deleted_at}
    parts["history"] = build_history(raw["instance_observations"], raw["config_changes"], raw["backup_windows"],
                                     raw["backup_runs"], raw["instance_listings"], raw["log_coverage"],
                                     raw["activation_changes"], finals=raw["final_snapshots"], deleted=deleted)
    parts["monitoring_history"] = build_monitoring_history(raw["monitoring_observations"], raw["monitoring_changes"],
                                                           raw["monitoring_listings"], raw["log_coverage"])
    parts["inventory_days"] = build_inventory_days(inventory, raw["inventory_versions"], raw["instance_observations"],
                                                   raw["config_changes"], raw["label_observations"], raw["asset_history"],
                                                   raw["log_coverage"], parts["history"], as_of,
                                                   finals=raw["final_snapshots"],  # inv2: deleted stores' labels
                                                   listings=raw["bucket_listings"] + raw["asset_listings"])  # inv3
    parts["stores"] = build_stores(scoped["assets"], raw["assets"], scoped["sql_instances"], raw["sql_instances"],
                                   scoped["buckets"], raw["buckets"], numbers, snapshot_asset_scopes(gcp), tuple(projects),
                                   inventory, as_of)
    parts["bucket_history"] = build_bucket_history(raw["bucket_observations"], raw["bucket_changes"], raw["bucket_log_coverage"],
                                                   raw["bucket_lock_coverage"])
    parts["sql_stores"] = parts["stores"].only(SQL_TYPE)
    listed = {i.resource for i in raw["sql_instances"]}
    gone = list({i.resource: i for i in raw["final_snapshots"] if i.resource not in listed}.values())  # deleted: as last seen
    parts["protection"] = build_protection(raw["sql_instances"] + gone, raw["buckets"])
    parts["backupdr"] = build_backupdr(raw["sql_instances"], {n: c for n, c in scoped.items() if n.startswith("backupdr_")})
    parts["backup_copies"] = BackupCopies(scoped["backup_runs"], scoped["sql_backups"], parts["backupdr"])
    # deleted instances too (enc2): their backups prove versions ENABLED, their FINAL snapshot is one more read of the live version
    parts["kms_history"] = build_kms_history(raw["kms_keys"], raw["kms_version_observations"], raw["kms_version_changes"],
                                             raw["log_coverage"], _copies(parts["backup_copies"], raw["sql_instances"] + gone),
                                             raw["instance_observations"] + gone, build.call_index)
    return Facts(as_of=as_of, locker_ids=locker_ids, projects=projects, coverage=Coverage(build.gaps, build.answered),
                 parts=parts, call_index=build.call_index)
