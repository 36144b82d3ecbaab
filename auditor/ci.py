"""CI outputs of a run or a gate: the JUnit file, the GitHub job summary and annotations.

The renderers are pure (auditor.reports.junit/markdown/annotations); this module only decides where
their text goes, from the environment it is given (never read implicitly): `$GITHUB_STEP_SUMMARY`
when set, annotations when `GITHUB_ACTIONS=true`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from auditor.evidence.locker import atomic_write
from auditor.gate import GateReport


def write_junit(path: Path, results: dict[str, Any], gate: GateReport | None = None) -> None:
    from auditor.reports.junit import render_junit

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, render_junit(results, gate).encode())


def github_outputs(results: dict[str, Any], gate: GateReport | None, env: Mapping[str, str]) -> str:
    """Append the summary to $GITHUB_STEP_SUMMARY when set; return the annotation lines to print (or "")."""
    from auditor.reports.annotations import render_annotations
    from auditor.reports.markdown import render_summary

    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as handle:
            handle.write(render_summary(results, gate))
    if env.get("GITHUB_ACTIONS") == "true":
        return render_annotations(results, gate)
    return ""
