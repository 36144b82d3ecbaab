"""The XLSX workbook: complete listings the PDF leaves out, laid out for an auditor to filter and sample.

Sheets: About (who collected what, when, SIMULATED or not), Summary (one row per control),
Findings (every finding as one flat row: control, resource, store type, project, region,
classification, owner, status, exception days, message, waiver, response), Exceptions (the
register, failures first), Scope limitations (grouped per project and API, with the stored error
responses), Details (the observed/expected/details of each exception, one key per row), Coverage,
Evidence (every item with its call and full SHA-256), Calls (every call, failed ones too), Permissions (what the
identity held on each project and key, testIamPermissions) and Samples.

Every listing has a frozen header row, an autofilter and column widths; dates and timestamps are
real date cells (timestamps in UTC, as the headers say); text that a spreadsheet would read as a
formula is neutralised (auditor.reports.rows). Written in openpyxl's write-only mode so memory
stays flat for large organisations.
"""

from __future__ import annotations

import io
import re
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from auditor.errors import ReportError
from auditor.reports.population import add_population_sheet
from auditor.reports.rows import (DETAIL_COLUMNS, FINDING_COLUMNS, as_date, as_datetime, detail_rows,
                                  finding_rows, neutralise, text)

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(_ILLEGAL.sub("", value))
    if isinstance(value, (dict, list)):
        return neutralise(_ILLEGAL.sub("", text(value) or ""))
    return value


def _sheet(wb: Workbook, title: str, columns: list[tuple[str, int]], rows: Iterable[list[Any]]) -> None:
    """A listing: bold frozen header, autofilter over every row written, widths, real date cells."""
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    for i, (_name, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    bold = Font(bold=True)
    head = []
    for name, _width in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill = bold, HEADER_FILL
        head.append(cell)
    ws.append(head)
    count = 0
    for row in rows:
        cells = []
        for value in row:
            value = _value(value)
            if hasattr(value, "hour"):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = DATETIME_FORMAT
            elif hasattr(value, "isoformat"):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = DATE_FORMAT
            else:
                cell = value
            cells.append(cell)
        ws.append(cells)
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"


def _about(wb: Workbook, results: dict[str, Any]) -> None:
    ws = wb.create_sheet("About")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 110
    prov = results.get("provenance") or {}
    clock = prov.get("clock") or {}
    op = prov.get("operator") or {}
    rows = [
        ("SIMULATED" if prov.get("simulated") else "Data", "SIMULATED: " + (prov.get("simulated_reason") or "") if prov.get("simulated")
         else "collected from the configured organisation"),
        ("Organisation", results["organization"]),
        ("Audit period", f"{results['period']['start']} to {results['period']['end']} ({results['period']['timezone']})"),
        ("Evidence as of (UTC)", as_datetime(results["as_of"])),
        ("Clock of as_of", clock.get("as_of_source")),
        ("Collected (operator's clock, UTC)", f"{(clock.get('collected_local') or {}).get('started_at')} to {(clock.get('collected_local') or {}).get('ended_at')}"),
        ("Google Cloud principal", (prov.get("principal") or {}).get("gcp")),
        ("GitHub identity", (prov.get("principal") or {}).get("github")),
        ("GitHub limitation", ((prov.get("github") or {}).get("limitation"))),
        ("Google Cloud permissions (testIamPermissions)", ((prov.get("permission_tests") or {}).get("gcp") or {}).get("line")),
        ("Cloud KMS keys (testIamPermissions)", ((prov.get("permission_tests") or {}).get("gcp") or {}).get("key_line")),
        ("Read-only", ((prov.get("permission_tests") or {}).get("gcp") or {}).get("read_only")),
        ("Operator", f"{op.get('user')} on {op.get('host')}"),
        ("CI run", op.get("ci_run_url")),
        ("Tool", f"{results['tool']['name']} {results['tool']['version']}"),
        ("Generated (UTC)", as_datetime(results["generated_at"])),
    ]
    ws.append([WriteOnlyCell(ws, value="field"), WriteOnlyCell(ws, value="value")])
    for key, value in rows:
        cell = WriteOnlyCell(ws, value=_value(value))
        if hasattr(value, "hour"):
            cell.number_format = DATETIME_FORMAT
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.append([WriteOnlyCell(ws, value=key), cell])


def _permissions_sheet(wb: Workbook, results: dict[str, Any]) -> None:
    """Permissions (perf2): what the identity held on each project and Cloud KMS key (testIamPermissions), one row
    each with its call and evidence; the printed report names those that answered alike in one line (reports.view)."""
    ptest = ((results.get("provenance") or {}).get("permission_tests") or {}).get("gcp") or {}
    entries = [("project", p, p.get("project")) for p in ptest.get("projects") or []]
    entries += [("key", k, k.get("key")) for k in ptest.get("keys") or []]
    if not entries:
        return
    _sheet(wb, "Permissions", [("kind", 8), ("project_or_key", 60), ("tested", 8), ("not_tested", 40), ("read_held", 10),
                               ("read_asked", 10), ("read_missing", 50), ("write_held", 40), ("write_asked", 10),
                               ("call_id", 20), ("evidence", 40)],
           ([kind, name, bool(e.get("tested")), e.get("not_tested"), len(e.get("held") or []) if e.get("tested") else None,
             e.get("read_asked"), ", ".join(e.get("missing") or []), ", ".join(e.get("write_held") or []), e.get("write_asked"),
             e.get("call"), " ".join(e.get("evidence") or [])] for kind, e, name in entries))


def render_workbook(results: dict[str, Any], manifest: dict[str, Any], samples: dict[str, Any] | None = None) -> bytes:
    try:
        return _render(results, manifest, samples)
    except KeyError as exc:
        raise ReportError(f"results or manifest is missing key {exc} the workbook needs") from exc


def _render(results: dict[str, Any], manifest: dict[str, Any], samples: dict[str, Any] | None) -> bytes:
    wb = Workbook(write_only=True)
    _about(wb, results)
    _sheet(wb, "Summary", [("control", 24), ("title", 50), ("criteria", 14), ("status", 13), ("effective_status", 13),
                           ("total", 8), ("in_scope", 8), ("not_applicable", 8), ("fail", 8), ("inconclusive", 8),
                           ("pass", 8), ("policy_clause", 80), ("quoted_from", 30)],
           ([c["id"], c["title"], ", ".join(c["criteria"]), c["status"], c["effective_status"], c["population"]["total"],
             c["population"]["in_scope"], c["population"]["not_applicable"],
             *(sum(1 for f in c["findings"] if f["status"] == s) for s in ("fail", "inconclusive", "pass")),
             c["policy_clause"], (c.get("policy_quote") or {}).get("source")] for c in results["controls"]))
    names = [name for name, _w in FINDING_COLUMNS]
    _sheet(wb, "Findings", FINDING_COLUMNS, ([row[n] for n in names] for row in finding_rows(results)))
    register = results.get("exceptions") or {}
    _sheet(wb, "Exceptions", [("status", 13), ("control", 24), ("resource", 52), ("store_type", 20), ("project", 16),
                              ("region", 14), ("classification", 14), ("owner", 20), ("first_seen", 12), ("exception_days", 10),
                              ("scope_limitation", 10), ("message", 80), ("waiver", 30), ("response", 40), ("response_owner", 20),
                              ("response_due", 12), ("response_approved", 12), ("finding_id", 40)],
           ([e["status"], e["control"], e["resource"], e.get("store_type"), e.get("project"), e.get("region"), e.get("classification"),
             e.get("owner"), as_date(e.get("first_seen")), e.get("affected_day_count"), e.get("scope_limitation"), e.get("message"),
             (e.get("waiver") or {}).get("reason"), (e.get("response") or {}).get("response"), (e.get("response") or {}).get("owner"),
             as_date((e.get("response") or {}).get("due")), as_date((e.get("response") or {}).get("approved")), e["finding"]]
            for e in register.get("entries", [])))
    _sheet(wb, "Scope limitations", [("id", 8), ("project", 16), ("api", 12), ("methods", 30), ("error", 30), ("http_status", 10),
                                     ("message", 60), ("controls_affected", 50), ("findings", 10), ("calls", 40), ("evidence", 40)],
           ([g["id"], g["project"], g["api"], ", ".join(g["methods"]), ", ".join(f"{k} ({r})" for k, r in zip(g["kinds"], g["reasons"] or g["kinds"])),
             ", ".join(str(s) for s in g["http_statuses"]), " | ".join(g["messages"]), ", ".join(g["controls"]), len(g["findings"]),
             " ".join(g["calls"]), " ".join(g["evidence"])] for g in register.get("scope_limitations", [])))
    names = [name for name, _w in DETAIL_COLUMNS]
    _sheet(wb, "Details", DETAIL_COLUMNS, ([row[n] for n in names] for row in detail_rows(results)))
    coverage = results.get("policy_coverage")
    if coverage:
        _sheet(wb, "Coverage", [("promise", 10), ("section", 16), ("text", 80), ("checks", 40), ("check_statuses", 50),
                                ("result", 12), ("manual_evidence", 60), ("note", 60)],
               ([p["id"], p.get("section"), p["text"], ", ".join(c["id"] for c in p["checks"]),
                 ", ".join(f"{c['id']}={c['status'] or 'not run'}" for c in p["checks"]), p["result"], p.get("manual"), p.get("note")]
                for p in coverage["promises"]))
    calls = {c["id"]: c for c in manifest["calls"]}
    _sheet(wb, "Evidence", [("item_id", 20), ("call_id", 20), ("api", 12), ("method", 26), ("params", 40), ("scope", 30),
                            ("identity", 24), ("page", 6), ("received_at_utc", 20), ("http_status", 8), ("sha256", 68),
                            ("bytes", 10), ("path", 34), ("url", 60)],
           ([i["id"], i["call_id"], calls.get(i["call_id"], {}).get("api"), calls.get(i["call_id"], {}).get("method"),
             calls.get(i["call_id"], {}).get("params"), calls.get(i["call_id"], {}).get("scope"),
             calls.get(i["call_id"], {}).get("identity"), i.get("page"), as_datetime(i.get("received_at")), i.get("http_status"),
             i["sha256"], i.get("bytes"), i.get("path"), i.get("url")] for i in manifest["items"]))
    _sheet(wb, "Calls", [("call_id", 20), ("api", 12), ("method", 26), ("params", 40), ("scope", 30), ("identity", 24),
                         ("server_time_utc", 20), ("started_at_utc", 20), ("ended_at_utc", 20), ("outcome", 8), ("error_kind", 18),
                         ("error_reason", 22), ("error_message", 60), ("pages", 6)],
           ([c["id"], c["api"], c["method"], c.get("params"), c["scope"], c.get("identity"), as_datetime(c.get("server_date")),
             as_datetime(c.get("started_at")), as_datetime(c.get("ended_at")), c["outcome"], (c.get("error") or {}).get("kind"),
             (c.get("error") or {}).get("reason"), (c.get("error") or {}).get("message"), len(c.get("items") or [])]
            for c in manifest["calls"]))
    _permissions_sheet(wb, results)
    sample_rows: list[list[Any]] = []
    if samples:
        for s in samples["controls"]:
            for it in s["items"]:
                sample_rows.append([samples["seed"], s["control"], s["frequency"], s["population"], s["size"], it["n"],
                                    as_date(it["date"]) or it["date"], it["resource"], it["state"], it["finding"], it["finding_status"],
                                    " ".join(it["evidence"]), it["evidence_scope"]])
    _sheet(wb, "Samples", [("seed", 20), ("control", 24), ("frequency", 10), ("population", 10), ("sample_size", 10), ("n", 5),
                           ("date", 12), ("resource", 52), ("day_state", 12), ("finding_id", 40), ("finding_status", 13),
                           ("evidence", 40), ("evidence_scope", 30)], sample_rows)
    add_population_sheet(wb, results, samples)  # reports.population: what each sample was drawn from
    period = results["period"]
    simulated = " — SIMULATED" if (results.get("provenance") or {}).get("simulated") else ""
    wb.properties.title = f"SOC 2 backup evidence — {results['organization']} — {period['start']} to {period['end']}{simulated}"
    wb.properties.creator = results["tool"]["name"]
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
