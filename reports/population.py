"""The workbook's Population sheet: every resource-day each sample was drawn from, in the draw's order.

With this sheet, the seed and the method printed beside it, an auditor can redraw the sample without
the tool: row `index` is the position `random.Random(f"{seed}|{control}").sample(range(population), k)`
picks from (auditor.sampling.METHOD), and `sampled` shows the item number the pack drew for it.
"""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from auditor.sampling import population

TITLE = "Population"
COLUMNS = ["seed", "control", "frequency", "index", "resource", "date", "day_state", "finding_id", "finding_status",
           "evidence_scope", "evidence", "entries", "lockers", "sampled"]


def add_population_sheet(wb: Workbook, results: dict[str, Any], samples: dict[str, Any] | None) -> None:
    """Append the Population sheet (write-only workbook) for every control the samples document drew from."""
    from auditor.reports.workbook import _cell_value  # the workbook's own cell cleaning (lazy: it calls this module)

    ws = wb.create_sheet(TITLE)
    bold = Font(bold=True)
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    if not samples:
        return
    controls = {c["id"]: c for c in results["controls"]}
    for drawn in samples["controls"]:
        control = controls.get(drawn["control"])
        if control is None:
            continue
        picked = {(i["resource"], i["date"], i["finding"]): i["n"] for i in drawn["items"]}
        for index, unit in enumerate(population(control, results)):
            ws.append([_cell_value(v) for v in (
                samples["seed"], drawn["control"], drawn["frequency"], index, unit.resource, unit.day, unit.state,
                unit.finding, unit.finding_status, unit.evidence_scope, " ".join(unit.evidence), " ".join(unit.entries),
                " ".join(unit.lockers), picked.get((unit.resource, unit.day, unit.finding)))])
