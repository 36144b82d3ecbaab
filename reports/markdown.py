"""A Markdown summary for `$GITHUB_STEP_SUMMARY` (or any Markdown viewer). Pure: data -> text.

Short by design: the controls, the exceptions (capped), and, with a gate report, the differences
from the baseline. Full listings are in the pack.
"""

from __future__ import annotations

from typing import Any

from auditor.gate import GateReport

MAX_ROWS = 30
ICON = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️", "not_applicable": "➖"}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_summary(results: dict[str, Any], gate: GateReport | None = None) -> str:
    period = results["period"]
    lines = [f"## Backup controls: {_cell(results['organization'])}", "",
             f"Period {period['start']} to {period['end']} ({period['timezone']}), evidence as of {results['as_of']}, "
             f"{len(results['lockers'])} evidence locker(s).", ""]
    if gate is not None:
        verdict = "**Gate passed**" if gate.passed else f"**Gate failed**: {len(gate.failing)} change(s) fail it"
        lines += [f"{verdict} (fails on: {', '.join(gate.fail_on) or 'nothing'}).", ""]
    lines += ["| control | status | after waivers | in scope | exceptions |", "| --- | --- | --- | --- | --- |"]
    for control in results["controls"]:
        exceptions = sum(1 for f in control["findings"] if f["status"] in ("fail", "inconclusive"))
        lines.append(f"| `{control['id']}` | {ICON.get(control['status'], '')} {control['status']} | "
                     f"{control['effective_status']} | {control['population']['in_scope']} | {exceptions} |")
    if gate is not None:
        lines += ["", "### Changes since the baseline", ""]
        if gate.changes:
            lines += ["| | change | resource | what |", "| --- | --- | --- | --- |"]
            for change in gate.changes[:MAX_ROWS]:
                mark = "❌" if change.failing else ("🛡️ waived" if change.waived else "")
                lines.append(f"| {mark} | {change.kind} | `{_cell(change.resource)}` | {_cell(change.message)} |")
            if len(gate.changes) > MAX_ROWS:
                lines.append(f"\n{len(gate.changes) - MAX_ROWS} more changes are in the gate's JSON output.")
        else:
            lines.append("No differences from the baseline.")
    exceptions = [(c["id"], f) for c in results["controls"] for f in c["findings"] if f["status"] in ("fail", "inconclusive")]
    lines += ["", "### Exceptions", ""]
    if exceptions:
        for control_id, finding in exceptions[:MAX_ROWS]:
            waiver = finding.get("waiver")
            note = ""
            if waiver:
                note = f" _(waiver {waiver['ticket']} {'expired' if waiver.get('expired') else 'until'} {waiver['expires']})_"
            lines.append(f"- {ICON[finding['status']]} `{control_id}` {_cell(finding['message'])}{note}")
        if len(exceptions) > MAX_ROWS:
            lines.append(f"- … {len(exceptions) - MAX_ROWS} more in the pack")
    else:
        lines.append("None.")
    unmatched = [w for w in (results.get("waivers") or {}).get("entries", []) if not w["matched"]]
    if unmatched:
        lines += ["", "### Waivers that match nothing", ""]
        lines += [f"- {w['ticket']}: `{w['control']}` on `{_cell(w['resource'])}`" for w in unmatched]
    return "\n".join(lines) + "\n"
