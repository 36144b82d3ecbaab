"""HTML evidence-pack report: ``render_html(results, manifest) -> str``.

A pure function of ``results.json`` and the evidence manifest: no clock, no network, no files
other than the packaged templates. Every value from the data is autoescaped by jinja2, and a
missing key is an error (``StrictUndefined``), raised as :class:`auditor.errors.ReportError`.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup, escape

from auditor.errors import ReportError
from auditor.results import DAY_STATES
from auditor.reports import charts, display, strip, view

TEMPLATE_PACKAGE = "auditor.templates"
MAIN_TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
SCRIPT = "report.js"

#: The printed appendix lists at most this many calls (the HTML lists every call, the rows past a print cap marked
#: `pdf-omit`; the print form, FORMS below, does not emit them at all, so the PDF stays quick at any size).
MAX_APPENDIX_CALLS = 400
#: The printed exceptions register lists at most this many entries; the HTML and the workbook list all.
MAX_REGISTER_ROWS = 150
#: Per printed call, at most this many pages with their digests (a quarter's audit log can be hundreds).
MAX_PRINTED_PAGES = 12
#: Per control, at most this many passing / not-applicable resources and day strips are shown.
MAX_LISTED_RESOURCES = 25
MAX_DAY_STRIPS = 60
#: A finding shows at most this many evidence ids (then "+N more").
MAX_EVIDENCE_IDS = 6
#: Per control, at most this many exceptions are printed; all of them are in the workbook.
MAX_EXCEPTIONS = 25

STATUS_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "inconclusive": "Inconclusive",
    "not_applicable": "Not applicable",
}
EXCEPTION_STATUSES = ("fail", "inconclusive")
#: The two forms of the one report. "screen" is report.html: every row, the ones past a print cap marked `pdf-omit`.
#: "print" is what WeasyPrint lays out: rows past a print cap and screen-only parts are not emitted at all, since
#: print media hides them anyway and WeasyPrint would still parse and style each one (465 s and 15 GB at scale).
FORMS = ("screen", "print")

_TEMPLATE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def _load_template(name: str) -> str | None:
    """FunctionLoader source: a packaged template (no path traversal)."""
    if not _TEMPLATE_NAME_RE.match(name) or ".." in name:
        return None
    ref = resources.files(TEMPLATE_PACKAGE).joinpath(name)
    if not ref.is_file():
        return None
    return ref.read_text(encoding="utf-8")


def _criteria_key(criterion: str) -> tuple:
    """Sort CC6.1 < CC9.1 < A1.2 < A1.3 by family then number, numerically."""
    m = re.match(r"^([A-Z]+)(\d+)\.(\d+)$", criterion)
    if not m:
        return (2, criterion, 0, 0)
    family = 0 if m.group(1) == "CC" else 1
    return (family, m.group(1), int(m.group(2)), int(m.group(3)))


def _criteria_union(controls: list[dict]) -> list[str]:
    found: set[str] = set()
    for control in controls:
        found.update(control["criteria"])
    return sorted(found, key=_criteria_key)


def _short_hash(value: str | None, n: int = 12) -> str:
    return value[:n] if value else "—"


def _when(value: str | None) -> str:
    """ISO 8601 timestamp in a compact readable form ('2026-09-30 02:00:05Z')."""
    if not value:
        return "—"
    text = re.sub(r"(\d{4}-\d{2}-\d{2})T(\d)", r"\1 \2", str(value))
    return re.sub(r"(\d{2}:\d{2}:\d{2})\.\d+", r"\1", text)  # to the second


def _compact(value: Any) -> str:
    """A dict/list/scalar rendered as compact 'k=v, k=v' text (for params, observed, expected)."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        if not value:
            return "—"
        return ", ".join(f"{k}={_compact_scalar(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_compact_scalar(v) for v in value) or "—"
    return _compact_scalar(value)


def _compact_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if value is None:
        return "null"
    return str(value)


_BREAK_AFTER = re.compile(r"([/._:=,-])")


def _breakable(value: Any) -> Markup:
    """Escaped text with line-break opportunities after separators (/ . _ : = , -), so long resource
    names and parameters wrap at their parts instead of mid-word."""
    shown = display.visible("" if value is None else str(value))  # shortened and made visible before the tags go in
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(shown))))


def _anchor(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(value)).strip("-")


def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status).replace("_", " ").capitalize())


class _EvidenceIndex:
    """Item id -> call record, from the evidence manifest."""

    def __init__(self, manifest: dict) -> None:
        self.calls = {call["id"]: call for call in manifest["calls"]}
        self.item_call = {item["id"]: item["call_id"] for item in manifest["items"]}
        self.items = {item["id"]: item for item in manifest["items"]}

    def calls_for(self, evidence_ids: list[str]) -> list[dict]:
        seen: dict[str, dict] = {}
        for eid in evidence_ids:
            call_id = self.item_call.get(eid)
            if call_id and call_id in self.calls and call_id not in seen:
                seen[call_id] = self.calls[call_id]
        return list(seen.values())

    def methods_for_control(self, control: dict) -> list[dict]:
        """Distinct API methods behind a control's findings, with how many calls and scopes."""
        methods: dict[tuple[str, str], dict] = {}
        ids: list[str] = []
        for finding in control["findings"]:
            ids.extend(finding["evidence"])
        for call in self.calls_for(ids):
            key = (call["api"], call["method"])
            entry = methods.setdefault(
                key, {"api": call["api"], "method": call["method"], "calls": 0, "errors": 0, "scopes": []}
            )
            entry["calls"] += 1
            if call["outcome"] != "ok":
                entry["errors"] += 1
            if call["scope"] not in entry["scopes"]:
                entry["scopes"].append(call["scope"])
        return [methods[k] for k in sorted(methods)]

    def unknown_ids(self, evidence_ids: list[str]) -> list[str]:
        return [eid for eid in evidence_ids if eid not in self.item_call]

    def first_page_sha(self, call: dict) -> str | None:
        if call["items"]:
            item = self.items.get(call["items"][0])
            if item:
                return item["sha256"]
        return None


def _period_basis(controls: list[dict]) -> str:
    from auditor.period_basis import summary

    return summary(controls)


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=display.finalize,  # every {{ }}: invisible characters shown, long unbroken runs shortened
    )
    env.filters.update(
        visible=display.visible,
        short_hash=_short_hash,
        when=_when,
        compact=_compact,
        status_label=_status_label,
        exception_count=view.exception_count,
        breakable=_breakable,
        anchor=_anchor,
    )
    env.globals.update(
        DAY_STATES=DAY_STATES,
        EXCEPTION_STATUSES=EXCEPTION_STATUSES,
        MAX_APPENDIX_CALLS=MAX_APPENDIX_CALLS,
        MAX_REGISTER_ROWS=MAX_REGISTER_ROWS,
        MAX_PRINTED_PAGES=MAX_PRINTED_PAGES,
        register_rows=view.register_rows,
        scope_groups=view.scope_groups,
        register_counts=view.register_counts,
        control_scope_limits=view.control_scope_limits,
        exceptions_in_order=view.exceptions_in_order,
        locker_gap_findings=view.locker_gap_findings,
        calendar_reconciliation=view.calendar_reconciliation,
        plain=view.plain,
        MAX_LISTED_RESOURCES=MAX_LISTED_RESOURCES,
        MAX_DAY_STRIPS=MAX_DAY_STRIPS,
        MAX_EVIDENCE_IDS=MAX_EVIDENCE_IDS,
        MAX_EXCEPTIONS=MAX_EXCEPTIONS,
        criteria_union=_criteria_union,
        coverage_calendar=charts.coverage_calendar,
        control_strips=strip.control_strips, period_basis=_period_basis,  # issue 13: every control, day by day
        regions_view=charts.regions_view,
        short_name=charts.short_name,
        procedure=view.procedure,
        criteria_of=view.criteria_of,
        unverified_groups=view.unverified_groups,
        permission_view=view.permission_view,
        coverage_summary=view.coverage_summary,
        exception_count=view.exception_count,
    )
    return env


def stylesheet() -> str:
    """The packaged report stylesheet (inlined into the HTML)."""
    text = _load_template(STYLESHEET)
    if text is None:  # pragma: no cover - packaging error
        raise ReportError(f"packaged stylesheet {STYLESHEET!r} not found in {TEMPLATE_PACKAGE}")
    return text


def script() -> str:
    """The packaged table script (sorting, filtering), inlined: the report fetches nothing."""
    text = _load_template(SCRIPT)
    if text is None:  # pragma: no cover - packaging error
        raise ReportError(f"packaged script {SCRIPT!r} not found in {TEMPLATE_PACKAGE}")
    return text.replace("</", "<\\/")


def render_html(results: dict, manifest: dict, samples: dict | None = None, integrity: dict | None = None, *,
                form: str = "screen") -> str:
    """Render the human-readable evidence report as one self-contained HTML document.

    The CSS is inlined; the document references no external resource. Raises
    :class:`~auditor.errors.ReportError` (caused by ``jinja2.UndefinedError`` or ``KeyError``)
    when ``results`` or ``manifest`` lacks a key the report needs.

    ``samples`` is the auditor's sample (:func:`auditor.sampling.draw`); ``integrity`` carries the
    digests printed on the cover (``results_sha256``: SHA-256 of results.json as written), which
    ``auditor verify`` checks against the files of the pack.

    ``form="print"`` renders the document the PDF is made from (:data:`FORMS`): it reads, printed, exactly as
    the screen form printed, without the rows print media would hide.
    """
    if form not in FORMS:
        raise ReportError(f"unknown report form {form!r}; choose from {', '.join(FORMS)}")
    try:
        evidence = _EvidenceIndex(manifest)
        template = _environment().get_template(MAIN_TEMPLATE)
        document = template.render(
            results=results,
            manifest=manifest,
            evidence=evidence,
            samples=samples,
            integrity=integrity or {},
            coverage=results.get("policy_coverage"),
            register_by_finding={e["finding"]: e for e in (results.get("exceptions") or {}).get("entries", [])},
            css=stylesheet(),
            script=script(),
            print_form=form == "print",
        )
    except jinja2.UndefinedError as exc:
        raise ReportError(f"results or manifest is missing data the report needs: {exc}") from exc
    except KeyError as exc:
        raise ReportError(f"results or manifest is missing key {exc}") from exc
    if form == "print":
        document = _print_breaks(document)
    return document


def _print_breaks(document: str) -> str:
    """The print form's line-break opportunities as the character WeasyPrint would put there anyway.

    WeasyPrint draws each ``<wbr>`` as its user-agent rule ``wbr::before { content: "\\200B" }``: an element and a
    pseudo-element to style and lay out, for each separator of each name (9,500 of the 45,000 elements of the print
    form at 200 projects; 15% of its layout time). The zero-width space itself is the same break opportunity and
    the same text in the PDF, without the boxes. Only markup is replaced: a ``<wbr>`` in the data is escaped
    (``&lt;wbr&gt;``), and the data's own invisible characters were already made visible (display.finalize). The
    screen form keeps ``<wbr>``: a browser copies a zero-width space into whatever is pasted.
    """
    return document.replace("<wbr>", "\u200b")
