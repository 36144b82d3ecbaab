"""CSV of every finding: the workbook's Findings sheet as plain text, for tools that read CSV.

The same flat rows as the workbook (auditor.reports.rows), formula-like text already neutralised,
dates in ISO 8601. UTF-8 with a byte-order mark so spreadsheet programs detect the encoding.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from auditor.errors import ReportError
from auditor.reports.rows import FINDING_COLUMNS, finding_rows


def render_csv(results: dict[str, Any]) -> bytes:
    try:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        columns = [name for name, _width in FINDING_COLUMNS]
        writer.writerow(columns)
        for row in finding_rows(results):
            writer.writerow(["" if row[c] is None else (row[c].isoformat() if hasattr(row[c], "isoformat") else row[c]) for c in columns])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    except KeyError as exc:
        raise ReportError(f"results is missing key {exc} the CSV needs") from exc


def write_csv(results: dict[str, Any], path: Path) -> Path:
    """Write the findings CSV to `path` (atomically); returns the path."""
    from auditor.evidence.locker import atomic_write

    atomic_write(Path(path), render_csv(results))
    return Path(path)
