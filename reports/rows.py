"""Flat rows of results.json, shared by the workbook and the CSV: one row per finding, one column per fact.

An auditor filters a listing by control, project, owner or status, and samples from it; nested JSON
in a cell defeats both. So every finding becomes one flat row (the resource's store type, project,
region, classification and owner from results' `resources`; the exception days and first
exception day from the register; the waiver and management response as text and dates), and the
finding's `observed`/`expected`/`details` become key-value rows of their own (`detail_rows`).

Text that a spreadsheet would read as a formula (a leading ``=``, ``+``, ``-``, ``@``, tab or
carriage return) is neutralised here, once, for every renderer that shares these rows: it gets a
leading apostrophe, the usual marker of literal text, so an API error body or a waiver reason
starting with ``=`` is shown, never evaluated.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Iterator

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
STATUS_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2, "not_applicable": 3}
MAX_TEXT = 32000  # a spreadsheet cell holds 32,767 characters

#: (column, width in characters) of the findings listing, in order.
FINDING_COLUMNS = [
    ("control", 24), ("finding_id", 40), ("rule", 18), ("resource", 52), ("store_type", 20), ("project", 16),
    ("region", 14), ("classification", 14), ("owner", 20), ("status", 13), ("effective_status", 13),
    ("exception_days", 10), ("first_seen", 12), ("scope_limitation", 10), ("message", 80), ("expected", 40),
    ("expected_from", 40), ("observed", 40), ("waiver", 40), ("waiver_expires", 12), ("response", 40),
    ("response_owner", 20), ("response_due", 12), ("evidence", 30),
]
DETAIL_COLUMNS = [("control", 24), ("finding_id", 40), ("section", 10), ("key", 28), ("value", 100)]
DATE_COLUMNS = {"first_seen", "waiver_expires", "response_due"}


def neutralise(value: Any) -> Any:
    """A cell's value made safe for a spreadsheet: formula-like text gets a leading apostrophe."""
    if isinstance(value, str):
        if value.startswith(FORMULA_LEADS):
            value = "'" + value
        if len(value) > MAX_TEXT:
            value = value[:MAX_TEXT] + "…(truncated; see results.json)"
    return value


NESTED_LIMIT = 300  # characters of a nested value shown inside a flat cell


def text(value: Any) -> str | None:
    """A nested value as short readable text: ``k=v; k=v`` for mappings, comma lists for lists."""
    if value is None or value == {} or value == []:
        return None
    if isinstance(value, dict):
        return "; ".join(f"{k}={_scalar(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value)
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        shown = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if len(shown) > NESTED_LIMIT:  # a flat column stays readable and filterable; the Details sheet has it all
            return f"({len(value)} {'entry' if len(value) == 1 else 'entries'}; in full on the Details sheet)"
        return shown
    return "null" if value is None else str(value)


def as_date(value: Any) -> date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def as_datetime(value: Any) -> datetime | None:
    """A UTC timestamp as a naive datetime in UTC (spreadsheets have no time zones; headers say UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _register(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["finding"]: e for e in (results.get("exceptions") or {}).get("entries", [])}


def ordered_findings(results: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(control, finding), failures first, then inconclusive, pass, not applicable; by control and resource within."""
    pairs = [(c, f) for c in results["controls"] for f in c["findings"]]
    pairs.sort(key=lambda p: (STATUS_ORDER.get(p[1]["status"], 9), p[0]["id"], p[1]["resource"], p[1]["id"]))
    return iter(pairs)


def finding_rows(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One flat row per finding, keyed by FINDING_COLUMNS; dates as `date`, text neutralised."""
    register = _register(results)
    resources = results.get("resources") or {}
    for control, f in ordered_findings(results):
        where = resources.get(f["resource"]) or {}
        entry = register.get(f["id"]) or {}
        waiver = f.get("waiver") or {}
        response = entry.get("response") or {}
        effective = entry.get("effective_status") or ("pass" if waiver and not waiver.get("expired")
                                                         and not waiver.get("uncovered_days") else f["status"])
        row = {
            "control": control["id"], "finding_id": f["id"], "rule": f.get("rule"), "resource": f["resource"],
            "store_type": where.get("store_type") or entry.get("store_type"), "project": where.get("project") or entry.get("project"),
            "region": where.get("region") or entry.get("region"),
            "classification": where.get("classification") or entry.get("classification"),
            "owner": where.get("owner") or entry.get("owner"), "status": f["status"], "effective_status": effective,
            "exception_days": entry.get("affected_day_count"), "first_seen": as_date(entry.get("first_seen")),
            "scope_limitation": entry.get("scope_limitation"), "message": f["message"],
            "expected": text(f.get("expected")), "expected_from": text(f.get("expected_from")), "observed": text(f.get("observed")),
            "waiver": (f"{waiver.get('reason')} (approved by {waiver.get('approver')}, {waiver.get('ticket')})"
                       + (f"; approved {waiver['approved']}" if waiver.get("approved") else "")
                       + ("; expired" if waiver.get("expired") else "")
                       + (f"; does not cover {len(waiver['uncovered_days'])} exception days" if waiver.get("uncovered_days") else ""))
            if waiver else None,
            "waiver_expires": as_date(waiver.get("expires")),
            "response": response.get("response"), "response_owner": response.get("owner"), "response_due": as_date(response.get("due")),
            "evidence": " ".join(f.get("evidence") or []) or None,
        }
        yield {k: neutralise(v) for k, v in row.items()}


def detail_rows(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The nested parts of every exception, one key per row: what the findings listing leaves out."""
    for control, f in ordered_findings(results):
        if f["status"] not in ("fail", "inconclusive"):
            continue
        for section in ("observed", "expected", "details"):
            for key, value in (f.get(section) or {}).items():
                if key == "days" and isinstance(value, dict):  # a day per key: summarised, the calendar has them all
                    states: dict[str, int] = {}
                    for state in value.values():
                        states[state] = states.get(state, 0) + 1
                    value = "; ".join(f"{s}={n}" for s, n in sorted(states.items()))
                yield {k: neutralise(v) for k, v in {"control": control["id"], "finding_id": f["id"], "section": section,
                                                      "key": key, "value": text(value) if not isinstance(value, str) else value}.items()}
