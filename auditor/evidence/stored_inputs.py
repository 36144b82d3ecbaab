"""The tool's own inputs kept in a locker must parse, or re-performance stops (exit 2) naming the item.

A locker carries the configuration it ran with, the declared data map (as the page of an
`inventory read` call), the waivers and any other stored input (management responses). They were
valid when the run read them, so each is validated again against its own schema (a response
without its owner, a waiver without its expiry date: exit 2 naming the input, the line and the key),
and a waivers or responses file the stored configuration names must be stored too; if one no longer parses, the locker was damaged or altered, and
falling back (classifying stores by their labels, say) would quietly change verdicts. So each is
parsed before any check runs. API pages are different: a malformed page from Google is evidence of
what Google said, and makes only its dependent findings inconclusive (the facts layer does that).
"""

from __future__ import annotations

from pathlib import Path

from auditor import reading
from auditor.errors import AuditorError, EvidenceError, TamperedError


def _waivers(stored: dict) -> None:
    from auditor.waivers import from_snapshot

    from_snapshot(stored)


def _responses(stored: dict) -> None:
    from auditor.responses import from_snapshot

    from_snapshot(stored)


#: The stored inputs with a schema of their own: each is validated in full (every entry's keys and
#: values, as `run` validated the file), not only parsed, so a damaged one stops re-performance here
#: instead of being dropped or read half way.
VALIDATORS = {"waivers": _waivers, "responses": _responses}


def check(locker) -> None:
    """Raise EvidenceError naming the first stored input of `locker` that does not parse or validate."""
    from auditor.config import config_from_snapshot
    from auditor.inventory import parse_inventory

    where = f"{locker.root / 'manifest.json'}"
    try:
        config_from_snapshot(locker.manifest["config"])
    except AuditorError as err:
        raise EvidenceError(f"{where}: the stored configuration (config) does not parse: {err}") from err
    inputs = locker.manifest.get("inputs") or {}
    for name, stored in inputs.items():
        source = f"{where}#inputs.{name} ({str(stored.get('source'))[:200]})"
        try:
            if name in VALIDATORS:  # validated against its own schema, as when the run read the file
                VALIDATORS[name](stored)
            else:
                reading.parse_yaml(stored["text"], source, error=EvidenceError)
        except AuditorError as err:
            raise EvidenceError(f"{where}: the stored {name} (inputs.{name}) does not parse: {err}") from err
    for name in VALIDATORS:  # a file the configuration names is stored with the locker, or nothing is applied
        declared = locker.manifest["config"].get(name)
        if declared and name not in inputs:
            raise EvidenceError(f"{where}: the configuration names a {name} file ({str(declared)[:200]}) but the "
                                f"locker holds no copy of it (no inputs.{name}); collect again")
    reads = [call for call in locker.manifest["calls"] if call["api"] == "inventory"]
    for call in reads:
        if call["outcome"] != "ok":  # the data map was validated before collection: its read cannot just fail
            error = call.get("error") or {}
            raise EvidenceError(f"{where}: the stored data map was not read (call {call['id']}: "
                                f"{str(error.get('message') or error.get('kind') or call['outcome'])[:300]}); "
                                "collect again")
        for item_id in call["items"]:
            _check_inventory_item(locker, item_id, parse_inventory)
    declared = locker.manifest["config"].get("inventory")
    if declared and not reads and not locker.manifest.get("interrupted"):
        raise EvidenceError(f"{where}: the configuration names a data map ({str(declared)[:200]}) but the locker "
                            "holds no copy of it; collect again")


def _check_inventory_item(locker, item_id: str, parse_inventory) -> None:
    label = f"{locker.root}: evidence item {item_id} (the stored data map)"
    try:
        body = reading.parse_json(locker.body(item_id), label, error=EvidenceError)
    except TamperedError:
        raise
    documents = body.get("documents") if isinstance(body, dict) else None
    if not isinstance(documents, list) or not documents:
        raise EvidenceError(f"{label}: does not parse: expected an object with a list of `documents`")
    for document in documents:
        if not isinstance(document, dict) or not isinstance(document.get("text"), str):
            raise EvidenceError(f"{label}: does not parse: a document without its text")
        path = document.get("path") if isinstance(document.get("path"), str) else "inventory"
        try:
            parse_inventory(document["text"], Path(path))
        except AuditorError as err:
            raise EvidenceError(f"{label}: does not parse: {err}") from err
