"""The declared data map (inventory: PATH), read from disk into the locker at collection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.facts.access import items, text
from auditor.facts.declare import Fact, Source, same_scope
from auditor.facts.stores import InventoryDocument, InventoryRead


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    from auditor.inventory import parse_inventory

    for doc in items(body, "documents") or []:
        path, content = text(doc, "path") or "inventory", doc.get("text")
        if not isinstance(content, str):
            emit("inventory", InventoryRead(None, None, f"evidence item {item_id} holds no inventory text"))
            continue
        document = InventoryDocument(path, text(doc, "sha256") or "", content, (item_id,))
        try:
            emit("inventory", InventoryRead(document, parse_inventory(content, Path(path)), None))
        except ConfigError as err:
            emit("inventory", InventoryRead(document, None, str(err)))


FACTS = (Fact("inventory", "inventory", key=lambda r: "inventory", scope_of=same_scope,
              doc="the declared data map as stored in the locker, parsed"),)
SOURCES = (
    Source("inventory", "read", "inventory", fills=("inventory",), permissions=(), field="documents", read=read),
)
