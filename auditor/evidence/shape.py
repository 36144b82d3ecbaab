"""The shape a locker's manifest must have before anything reads it, and where its items may live.

A manifest is the tool's own input when a locker is re-performed (`auditor check`) or verified, so a
manifest that is a list, lacks `items`, has a call without an outcome or naming an item it does not
list, an `as_of` that is no timestamp, or an item path outside the locker, is one clear error
(EvidenceError, exit 2) naming the manifest and the entry, never a KeyError deep in the facts.
Fields this module does not know are left alone (later manifest versions add some).
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from auditor.errors import EvidenceError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
OUTCOMES = ("ok", "error", "partial")


def _fail(source: str, where: str, problem: str) -> EvidenceError:
    return EvidenceError(f"{source}: {where}: {problem}")


def safe_item_path(value: Any) -> str | None:
    """The problem with an item path, or None: relative, inside the locker, no `..`, no backslash."""
    if not isinstance(value, str) or not value:
        return "the item has no path"
    if "\\" in value or "\x00" in value:
        return f"path {value[:200]!r} is not a plain relative path"
    pure = PurePosixPath(value)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", value):
        return f"path {value[:200]!r} is absolute; items are read only from inside the locker"
    if any(part in ("..", "") for part in value.split("/")) or ".." in pure.parts:
        return f"path {value[:200]!r} leaves the locker (`..`); items are read only from inside it"
    return None


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_manifest(manifest: Any, source: str) -> None:
    """Raise EvidenceError naming the first entry of `manifest` that is not as a locker writes it."""
    if not isinstance(manifest, dict):
        raise EvidenceError(f"{source}: the manifest is a {type(manifest).__name__}, not an object")
    for key in ("locker_id", "as_of", "calls", "items", "config"):
        if key not in manifest:
            raise _fail(source, key, "missing (the manifest is incomplete or not written by this tool)")
    if not isinstance(manifest["locker_id"], str):
        raise _fail(source, "locker_id", "is not a string")
    if timestamp(manifest["as_of"]) is None:
        raise _fail(source, "as_of", f"{str(manifest['as_of'])[:100]!r} is not an ISO 8601 timestamp with a time zone")
    if not isinstance(manifest["config"], dict):
        raise _fail(source, "config", "is not an object (the configuration the run used)")
    if not isinstance(manifest.get("interrupted", False), bool):
        raise _fail(source, "interrupted", "is not true or false")
    items, calls = manifest["items"], manifest["calls"]
    if not isinstance(items, list):
        raise _fail(source, "items", f"is a {type(items).__name__}, not a list")
    if not isinstance(calls, list):
        raise _fail(source, "calls", f"is a {type(calls).__name__}, not a list")
    ids: set[str] = set()
    for n, item in enumerate(items):
        where = f"items[{n}]"
        if not isinstance(item, dict):
            raise _fail(source, where, "is not an object")
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise _fail(source, where, "has no id")
        where = f"items[{n}] ({item_id[:80]})"
        if item_id in ids:
            raise _fail(source, where, "is listed twice")
        ids.add(item_id)
        problem = safe_item_path(item.get("path"))
        if problem:
            raise _fail(source, where, problem)
        if not isinstance(item.get("sha256"), str) or not _SHA256.match(item["sha256"]):
            raise _fail(source, where, "has no SHA-256 (64 hex digits)")
        if not isinstance(item.get("call_id"), str):
            raise _fail(source, where, "names no call")
        status = item.get("http_status")
        if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
            raise _fail(source, where, f"http_status {str(status)[:40]!r} is not a number")
        if "page" in item and (not isinstance(item["page"], int) or isinstance(item["page"], bool)):
            raise _fail(source, where, "page is not a number")
    for n, call in enumerate(calls):
        where = f"calls[{n}]"
        if not isinstance(call, dict):
            raise _fail(source, where, "is not an object")
        if not isinstance(call.get("id"), str):
            raise _fail(source, where, "has no id")
        where = f"calls[{n}] ({call['id'][:80]})"
        for key in ("api", "method", "scope"):
            if not isinstance(call.get(key), str):
                raise _fail(source, where, f"{key} is missing or not a string")
        if call.get("outcome") not in OUTCOMES:
            raise _fail(source, where, f"outcome {str(call.get('outcome'))[:40]!r} is not one of {', '.join(OUTCOMES)}"
                        if "outcome" in call else "has no outcome")
        if not isinstance(call.get("params", {}), dict):
            raise _fail(source, where, "params is not an object")
        for key in ("error", "partial", "covered"):
            if call.get(key) is not None and not isinstance(call[key], dict):
                raise _fail(source, where, f"{key} is not an object")
        call_items = call.get("items")
        if not isinstance(call_items, list):
            raise _fail(source, where, "items is missing or not a list")
        for item_id in call_items:
            if not isinstance(item_id, str) or item_id not in ids:
                raise _fail(source, where, f"names item {str(item_id)[:80]!r}, which the manifest does not list")
        for key in ("requests", "retries"):
            if key in call and (not isinstance(call[key], int) or isinstance(call[key], bool)):
                raise _fail(source, where, f"{key} is not a number")
    _check_inputs(manifest.get("inputs"), source)


def _check_inputs(inputs: Any, source: str) -> None:
    """Stored inputs (waivers, responses...): each an object whose `text` is the file as read."""
    if inputs is None:
        return
    if not isinstance(inputs, dict):
        raise _fail(source, "inputs", "is not an object")
    for name, stored in inputs.items():
        if not isinstance(stored, dict) or not isinstance(stored.get("text"), str):
            raise _fail(source, f"inputs.{name}", "holds no stored text (the file as the run read it)")


@functools.lru_cache(maxsize=256)
def _resolved(root: Path) -> Path:
    """The locker's own folder resolved once, not once per item read (6,433 reads at 200 projects)."""
    return root.resolve()


def confined(root: Path, relative: str, item_id: str) -> Path:
    """The item's file, resolved; an error naming the item if it (or a symlink on the way) leads out of the locker."""
    problem = safe_item_path(relative)
    if problem:
        raise EvidenceError(f"{root}: evidence item {item_id}: {problem}")
    base = _resolved(root)
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise EvidenceError(f"{root}: evidence item {item_id}: {relative!r} leads out of the locker "
                            f"(a symbolic link to {target}); items are read only from inside it")
    return target
