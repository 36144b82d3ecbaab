"""The workbook's Population sheets: every resource-day each sample was drawn from, in the draw's order.

With these rows, the seed and the method printed beside them, an auditor can redraw the sample without
the tool. A row is a run of consecutive days of one finding in one state: it holds the population
positions `index_from`..`index_to` (what `random.Random(f"{seed}|{control}").sample(range(population), k)`
picks from: auditor.sampling.METHOD) for the days `date_from`..`date_to`, one day per position, so
position i is day date_from + (i - index_from). `sampled` lists the sample item numbers drawn from the
run. (One row per resource-day would be about a million rows for 2,000 instances over a quarter.)
One sheet per control ("Population <n>", listed in the index sheet "Population"); a control with more
runs than a sheet holds (Excel: 1,048,576 rows) continues on the next sheet.
"""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from auditor.sampling import population

TITLE = "Population"
COLUMNS = ["seed", "control", "frequency", "index_from", "index_to", "resource", "date_from", "date_to", "days",
           "day_state", "finding_id", "finding_status", "evidence_scope", "sampled"]
MAX_ROWS = 1_048_575  # Excel's row limit, less the header


def _header(wb: Workbook, title: str, columns: list[str]) -> Any:
    ws = wb.create_sheet(title)
    bold = Font(bold=True)
    row = []
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        row.append(cell)
    ws.append(row)
    return ws


def add_population_sheet(wb: Workbook, results: dict[str, Any], samples: dict[str, Any] | None,
                         max_rows: int = MAX_ROWS) -> None:
    """Append the Population index sheet and one sheet per sampled control (write-only workbook)."""
    from auditor.reports.workbook import _value as _cell_value  # the workbook's own cell cleaning (lazy: it calls this module)

    index = _header(wb, TITLE, ["control", "frequency", "population", "sample_size", "sheets"])
    if not samples:
        return
    controls = {c["id"]: c for c in results["controls"]}
    number = 0
    for drawn in samples["controls"]:
        control = controls.get(drawn["control"])
        if control is None:
            continue
        picked = {(i["resource"], i["date"], i["finding"]): i["n"] for i in drawn["items"]}
        titles: list[str] = []
        ws, rows = None, max_rows
        for run in _runs(population(control, results)):
            if rows >= max_rows:
                number += 1
                titles.append(f"{TITLE} {number}")
                ws, rows = _header(wb, titles[-1], COLUMNS), 0
            first, last, units = run
            numbers = [picked[k] for k in ((u.resource, u.day, u.finding) for u in units) if k in picked]
            head = units[0]
            ws.append([_cell_value(v) for v in (
                samples["seed"], drawn["control"], drawn["frequency"], first, last, head.resource, head.day, units[-1].day,
                len(units), head.state, head.finding, head.finding_status, head.evidence_scope,
                " ".join(map(str, numbers)) or None)])
            rows += 1
        index.append([drawn["control"], drawn["frequency"], drawn["population"], drawn["size"], ", ".join(titles)])


def _runs(units: list[Any]):
    """(first position, last position, units) for each run of consecutive days of one finding in one state."""
    from datetime import date, timedelta

    start = 0
    for i in range(1, len(units) + 1):
        if i < len(units):
            a, b = units[i - 1], units[i]
            if (a.finding == b.finding and a.state == b.state and a.evidence_scope == b.evidence_scope
                    and a.resource == b.resource and date.fromisoformat(b.day) - date.fromisoformat(a.day) == timedelta(days=1)):
                continue
        yield start, i - 1, units[start:i]
        start = i
