"""The XLSX workbook: complete listings the PDF leaves out, for filtering and sampling in a spreadsheet.

Sheets: Summary (one row per control), Coverage (the policy matrix, when present), one sheet per
control with every finding, Evidence (every item with its call, parameters, identity, time and
hash), Calls (every call, including failed ones) and Samples (the auditor's sample with its seed).
Written with openpyxl in write-only mode so memory stays flat for large organisations.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from auditor.errors import ReportError
from auditor.reports.population import add_population_sheet

_BAD_TITLE = re.compile(r"[\[\]\*\?/\\:]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_CELL = 32000  # Excel's limit is 32,767 characters per cell


def _cell_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = _ILLEGAL.sub("", text)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…(truncated; see results.json)"


def sheet_title(name: str, taken: set[str]) -> str:
    """Excel sheet titles: at most 31 characters, no []*?/\\:, unique (case-insensitive)."""
    base = _BAD_TITLE.sub("-", name)[:31] or "sheet"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f"~{n}"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _sheet(wb: Workbook, title: str, header: list[str], rows: Iterable[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    for row in rows:
        ws.append([_cell_value(v) for v in row])


FINDING_COLUMNS = ["finding_id", "resource", "status", "message", "observed", "expected", "details", "evidence",
                   "waiver_reason", "waiver_approver", "waiver_ticket", "waiver_expires"]


def finding_row(f: dict[str, Any]) -> list[Any]:
    waiver = f.get("waiver") or {}
    details = dict(f.get("details") or {})
    return [f["id"], f["resource"], f["status"], f["message"], f.get("observed"), f.get("expected"), details,
            " ".join(f.get("evidence") or []), waiver.get("reason"), waiver.get("approver"), waiver.get("ticket"), waiver.get("expires")]


def render_workbook(results: dict[str, Any], manifest: dict[str, Any], samples: dict[str, Any] | None = None) -> bytes:
    try:
        return _render(results, manifest, samples)
    except KeyError as exc:
        raise ReportError(f"results or manifest is missing key {exc} the workbook needs") from exc


def _render(results: dict[str, Any], manifest: dict[str, Any], samples: dict[str, Any] | None) -> bytes:
    wb = Workbook(write_only=True)
    taken = {"summary", "coverage", "evidence", "calls", "samples"}
    titles = {c["id"]: sheet_title(c["id"], taken) for c in results["controls"]}
    period = results["period"]
    _sheet(wb, "Summary", ["control", "title", "criteria", "status", "effective_status", "total", "in_scope",
                           "not_applicable", "fail", "inconclusive", "pass", "sheet", "policy_clause"],
           ([c["id"], c["title"], ", ".join(c["criteria"]), c["status"], c["effective_status"], c["population"]["total"],
             c["population"]["in_scope"], c["population"]["not_applicable"],
             *(sum(1 for f in c["findings"] if f["status"] == s) for s in ("fail", "inconclusive", "pass")),
             titles[c["id"]], c["policy_clause"]] for c in results["controls"]))
    coverage = results.get("policy_coverage")
    if coverage:
        _sheet(wb, "Coverage", ["promise", "section", "text", "checks", "check_statuses", "result", "manual_evidence", "note"],
               ([p["id"], p.get("section"), p["text"], ", ".join(c["id"] for c in p["checks"]),
                 ", ".join(f"{c['id']}={c['status'] or 'not run'}" for c in p["checks"]), p["result"], p.get("manual"), p.get("note")]
                for p in coverage["promises"]))
    for control in results["controls"]:
        _sheet(wb, titles[control["id"]], FINDING_COLUMNS, (finding_row(f) for f in control["findings"]))
    calls = {c["id"]: c for c in manifest["calls"]}
    _sheet(wb, "Evidence", ["item_id", "call_id", "api", "method", "params", "scope", "identity", "page", "received_at",
                            "http_status", "sha256", "bytes", "path", "url"],
           ([i["id"], i["call_id"], calls.get(i["call_id"], {}).get("api"), calls.get(i["call_id"], {}).get("method"),
             calls.get(i["call_id"], {}).get("params"), calls.get(i["call_id"], {}).get("scope"),
             calls.get(i["call_id"], {}).get("identity"), i.get("page"), i.get("received_at"), i.get("http_status"),
             i["sha256"], i.get("bytes"), i.get("path"), i.get("url")] for i in manifest["items"]))
    _sheet(wb, "Calls", ["call_id", "api", "method", "params", "scope", "identity", "started_at", "ended_at", "outcome",
                         "error_kind", "error_reason", "error_message", "pages"],
           ([c["id"], c["api"], c["method"], c.get("params"), c["scope"], c.get("identity"), c.get("started_at"),
             c.get("ended_at"), c["outcome"], (c.get("error") or {}).get("kind"), (c.get("error") or {}).get("reason"),
             (c.get("error") or {}).get("message"), len(c.get("items") or [])] for c in manifest["calls"]))
    sample_rows: list[list[Any]] = []
    if samples:
        for s in samples["controls"]:
            for it in s["items"]:
                sample_rows.append([samples["seed"], s["control"], s["frequency"], s["population"], s["size"], it["n"],
                                    it["date"], it["resource"], it["state"], it["finding"], it["finding_status"],
                                    " ".join(it["evidence"]), it["evidence_scope"]])
    _sheet(wb, "Samples", ["seed", "control", "frequency", "population", "sample_size", "n", "date", "resource", "day_state",
                           "finding_id", "finding_status", "evidence", "evidence_scope"], sample_rows)
    add_population_sheet(wb, results, samples)  # reports.population: what each sample was drawn from
    wb.properties.title = f"SOC 2 backup evidence — {results['organization']} — {period['start']} to {period['end']}"
    wb.properties.creator = results["tool"]["name"]
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
