"""The declared data map (inventory: PATH), read from disk into the locker at collection, with the
versions its git history holds (auditor.collectors.inventory): each a `MapVersion` of `inventory_versions`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.facts.access import get, items, text, timestamp
from auditor.facts.declare import Fact, Source, same_scope
from auditor.facts.stores import InventoryDocument, InventoryRead, MapVersion


def _parsed(content: str, path: str) -> tuple[Any, str | None]:
    from auditor.inventory import parse_inventory

    try:
        return parse_inventory(content, Path(path)), None
    except ConfigError as err:
        return None, str(err)


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    read_at = timestamp(call.get("server_date"))
    for doc in items(body, "documents") or []:
        path, content = text(doc, "path") or "inventory", doc.get("text") if isinstance(doc, dict) else None
        if not isinstance(content, str):
            emit("inventory", InventoryRead(None, None, f"evidence item {item_id} holds no inventory text"))
            continue
        document = InventoryDocument(path, text(doc, "sha256") or "", content, (item_id,))
        parsed, problem = _parsed(content, path)
        history = get(body, "git")
        emit("inventory", InventoryRead(document, parsed, problem,
                                        text(history, "problem") if isinstance(history, dict) else
                                        "this locker predates the data map's history being stored"))
        if read_at:
            emit("inventory_versions", MapVersion(read_at, "locker", parsed, problem, document.sha256, None, (item_id,)))
    history = get(body, "git")
    for version in (items(history, "versions") or []) if isinstance(history, dict) else []:
        when, commit = timestamp(get(version, "time")), text(version, "commit")
        if not when or not commit:
            continue  # a version without its time cannot be placed on any day
        if get(version, "deleted") is True:
            emit("inventory_versions", MapVersion(when, "git", None, f"commit {commit[:12]} deleted the data map", "",
                                                  commit, (item_id,)))
            continue
        content = get(version, "text")
        if not isinstance(content, str):
            emit("inventory_versions", MapVersion(when, "git", None, f"commit {commit[:12]}: no text stored", "", commit,
                                                  (item_id,)))
            continue
        parsed, problem = _parsed(content, f"{text(history, 'path') or 'inventory'}@{commit[:12]}")
        emit("inventory_versions", MapVersion(when, "git", parsed, problem, text(version, "sha256") or "", commit, (item_id,)))


def _versions(values: list[MapVersion]) -> list[MapVersion]:
    """Merging lockers: each locker's own read kept, each commit once."""
    return sorted({(v.basis, v.commit or v.time.isoformat()): v for v in values}.values(), key=lambda v: (v.time, v.basis))


FACTS = (Fact("inventory", "inventory", key=lambda r: "inventory", scope_of=same_scope,
              doc="the declared data map as stored in the locker, parsed"),
         Fact("inventory_versions", "inventory", key=lambda v: "inventory", scope_of=same_scope, dedupe=_versions,
              doc="every version of the data map known to have been in force: each locker's read, each git commit"))
SOURCES = (
    Source("inventory", "read", "inventory", fills=("inventory", "inventory_versions"), permissions=(), field="documents",
           read=read),
)
