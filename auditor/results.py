"""Findings, controls and the results.json document (public contract: schemas/results.v1.json)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable

import jsonschema

SCHEMA_ID = "auditor.results/v1"
PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE = "pass", "fail", "inconclusive", "not_applicable"
STATUS_ORDER = {FAIL: 3, INCONCLUSIVE: 2, PASS: 1, NOT_APPLICABLE: 0}


@dataclass
class Finding:
    check: str
    resource: str
    rule: str
    status: str
    message: str
    observed: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        """Stable across runs: check, resource and rule."""
        return f"{self.check}:{self.resource.removeprefix('//')}:{self.rule}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "resource": self.resource, "status": self.status, "message": self.message,
            "observed": self.observed, "expected": self.expected, "details": self.details,
            "evidence": sorted(set(self.evidence)), "waiver": self.waiver,
        }


def worst(statuses: list[str]) -> str | None:
    return max(statuses, key=STATUS_ORDER.__getitem__) if statuses else None


def control_status(findings: list[Finding], *, population_declared_empty: bool = False) -> str:
    """Worst of the findings; no in-scope finding is inconclusive unless the population is declared empty."""
    in_scope = [f.status for f in findings if f.status != NOT_APPLICABLE]
    if not in_scope:
        return NOT_APPLICABLE if population_declared_empty else INCONCLUSIVE
    return worst(in_scope) or INCONCLUSIVE


def effective_status(findings: list[Finding], status: str) -> str:
    """Waived findings count as passing (waivers are applied, with expiry, before this is called)."""
    effective = [PASS if f.waiver and not f.waiver.get("expired") and f.status in (FAIL, INCONCLUSIVE) else f.status
                 for f in findings]
    in_scope = [s for s in effective if s != NOT_APPLICABLE]
    return (worst(in_scope) or status) if in_scope else status


def load_schema() -> dict[str, Any]:
    return json.loads(resources.files("auditor").joinpath("schemas/results.v1.json").read_text())


@functools.lru_cache(maxsize=1)
def _fast_validator() -> Callable[[Any], Any] | None:
    """The schema compiled to Python by fastjsonschema (a document of 30,000 findings: ~0.5 s instead of
    ~6 s). It speaks draft 7, whose meaning of every keyword results.v1.json uses (no `$ref` siblings)
    is the same as draft 2020-12's; `jsonschema` stays the reference and names any error."""
    try:
        import fastjsonschema
    except ImportError:
        return None
    return fastjsonschema.compile(load_schema())


def validate_results(document: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when a document breaks the public contract."""
    fast = _fast_validator()
    if fast is not None:
        try:
            fast(document)
            return
        except ValueError:  # fastjsonschema.JsonSchemaException: let the reference validator say why
            pass
    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)
