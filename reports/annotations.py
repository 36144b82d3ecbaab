"""GitHub Actions workflow commands (`::error` / `::warning`), one line per exception or change. Pure.

Without a gate report: unwaived failures are errors, inconclusive findings warnings. With one: the
changes that fail the gate are errors and the other changes warnings (resolved findings are left
out: they need no one's attention).
"""

from __future__ import annotations

from typing import Any

from auditor.gate import GateReport

MAX_ANNOTATIONS = 50  # GitHub shows a limited number per step; the summary and JUnit hold the rest


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _line(level: str, title: str, message: str) -> str:
    return f"::{level} title={_prop(title)}::{_data(message)}"


def render_annotations(results: dict[str, Any], gate: GateReport | None = None) -> str:
    lines: list[str] = []
    if gate is not None:
        for change in gate.changes:
            if change.kind == "resolved":
                continue
            lines.append(_line("error" if change.failing else "warning", f"{change.kind}: {change.resource}", change.message))
    else:
        for control in results["controls"]:
            for finding in control["findings"]:
                waiver = finding.get("waiver")
                if finding["status"] not in ("fail", "inconclusive") or (waiver and not waiver.get("expired")):
                    continue
                level = "error" if finding["status"] == "fail" else "warning"
                lines.append(_line(level, f"{control['id']}: {finding['resource']}", finding["message"]))
    if len(lines) > MAX_ANNOTATIONS:
        lines = lines[:MAX_ANNOTATIONS] + [_line("warning", "more", f"{len(lines) - MAX_ANNOTATIONS} more; see the job summary")]
    return "\n".join(lines) + ("\n" if lines else "")
