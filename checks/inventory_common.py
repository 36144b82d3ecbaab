"""Shared by the two inventory checks: the data map's own finding when it is missing or unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.checks_api import CheckContext
from auditor.results import INCONCLUSIVE, Finding


def map_resource(facts: Any, ctx: CheckContext) -> str:
    doc = facts.stores.inventory_document
    path = doc.path if doc else (str(ctx.config.inventory) if ctx.config.inventory else "inventory")
    return f"inventory:{Path(path).name}"


def missing_map(facts: Any, ctx: CheckContext, check: str) -> Finding | None:
    """An inconclusive finding when there is no usable declared inventory; None when there is one."""
    if ctx.inventory is not None:
        return None
    problem = facts.stores.inventory_problem or (
        "no declared inventory was configured (inventory: PATH in auditor.yaml)" if ctx.config.inventory is None
        else "the declared inventory was not collected into the evidence")
    return Finding(check, map_resource(facts, ctx), "declared", INCONCLUSIVE,
                   f"The data map cannot be checked: {problem}.", observed={"problem": problem})
