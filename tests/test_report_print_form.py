"""The print form of the report (what WeasyPrint lays out) leaves out what print media hides, and prints the same.

At scale the screen form holds tens of thousands of rows past the print caps (`pdf-omit`); WeasyPrint parsed and
styled each one before hiding it (465 s, 15 GB for 200 projects). The print form does not emit them. These tests build
a report past every cap and check: the screen form keeps every row, the print form only the printed ones, and the
PDF made from the print form reads page for page as the PDF made from the screen form, cap notes included.
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pypdf
import pytest

from auditor.errors import ReportError
from auditor.reports.html import (MAX_APPENDIX_CALLS, MAX_EXCEPTIONS, MAX_PRINTED_PAGES, MAX_REGISTER_ROWS,
                                  render_html)
from auditor.reports.pdf import render_pdf
from auditor.reports.view import exceptions_in_order

FIXTURES = Path(__file__).parent / "fixtures"
EXTRA_EXCEPTIONS = MAX_EXCEPTIONS + 7
EXTRA_REGISTER = MAX_REGISTER_ROWS + 11
EXTRA_PAGES = MAX_PRINTED_PAGES + 4


def _capped(calls: int = 0) -> tuple[dict, dict]:
    """The sample results and manifest, grown past the exception, register and page caps (and the call cap if asked)."""
    results = json.loads((FIXTURES / "results_sample.json").read_text(encoding="utf-8"))
    manifest = json.loads((FIXTURES / "manifest_sample.json").read_text(encoding="utf-8"))
    control = results["controls"][0]
    model = next(f for f in control["findings"] if f["status"] in ("fail", "inconclusive"))
    for i in range(EXTRA_EXCEPTIONS):  # one control past MAX_EXCEPTIONS
        control["findings"].append(dict(copy.deepcopy(model), id=f"print-form-{i:03d}", status="inconclusive",
                                        resource=f"projects/p/instances/extra-{i:03d}", message=f"Extra exception {i:03d}."))
    control["population"]["total"] += EXTRA_EXCEPTIONS
    control["population"]["in_scope"] += EXTRA_EXCEPTIONS
    entries = [{"finding": f"register-{i:03d}", "control": control["id"], "status": "inconclusive",
                "resource": f"projects/p/instances/reg-{i:03d}", "store_type": "cloudsql", "region": "asia-southeast1",
                "classification": "confidential", "owner": "data team", "first_seen": "2026-07-02", "first_seen_basis": "days",
                "affected_day_count": 3, "scope_limitation": None, "waiver": None, "response": None,
                "evidence": list(model["evidence"]), "message": f"Register entry {i:03d}."} for i in range(EXTRA_REGISTER)]
    results["exceptions"] = {"entries": entries, "scope_limitations": [], "counts": {}}
    call = manifest["calls"][0]  # one call past MAX_PRINTED_PAGES
    pages = [dict(manifest["items"][0], id=f"pg-{i:016x}", call_id=call["id"], page=i + 1, sha256=f"{i + 1:064x}")
             for i in range(EXTRA_PAGES)]
    manifest["items"] = manifest["items"] + pages
    call["items"] = [p["id"] for p in pages]
    if calls:
        template = dict(manifest["calls"][1], items=[])
        manifest["calls"] = manifest["calls"] + [dict(template, id=f"c-{i:016x}") for i in range(calls)]
        manifest["counts"]["calls"] = len(manifest["calls"])
    return results, manifest


def test_print_form_omits_capped_rows_and_screen_form_keeps_them():
    results, manifest = _capped(calls=MAX_APPENDIX_CALLS)
    n_calls = len(manifest["calls"])
    screen = render_html(results, manifest)
    printed = render_html(results, manifest, form="print")
    control = results["controls"][0]
    listed = len(exceptions_in_order(control, results))
    assert listed > MAX_EXCEPTIONS and n_calls > MAX_APPENDIX_CALLS

    # the screen form: every row, those past a cap marked pdf-omit
    assert screen.count('class="reg-row') == EXTRA_REGISTER
    assert screen.count('class="reg-row pdf-omit"') == EXTRA_REGISTER - MAX_REGISTER_ROWS
    section = screen.split(f'id="control-{control["id"]}"')[1].split("<section")[0]
    assert section.count('class="exc-row') == listed
    assert section.count('class="exc-row pdf-omit"') == listed - MAX_EXCEPTIONS
    assert screen.count('<tbody class="call') == n_calls
    for page_id in manifest["calls"][0]["items"]:
        assert f'id="ev-{page_id}"' in screen
    assert '<div class="filters screen-only">' in screen and screen.count("<script>") == 1

    # the print form: only the rows print media shows, nothing hidden left to lay out
    assert "pdf-omit" not in printed.split("</style>", 1)[1]
    assert "screen-only" not in printed.split("</style>", 1)[1] and "<script>" not in printed
    assert printed.count('class="reg-row"') == MAX_REGISTER_ROWS
    assert 'id="reg-register-' + f"{MAX_REGISTER_ROWS - 1:03d}" + '"' in printed
    assert 'id="reg-register-' + f"{MAX_REGISTER_ROWS:03d}" + '"' not in printed
    section = printed.split(f'id="control-{control["id"]}"')[1].split("<section")[0]
    assert section.count('class="exc-row"') == MAX_EXCEPTIONS
    assert printed.count('<tbody class="call"') == MAX_APPENDIX_CALLS
    shown = [p for p in manifest["calls"][0]["items"] if f'id="ev-{p}"' in printed]
    assert shown == manifest["calls"][0]["items"][:MAX_PRINTED_PAGES]
    # the cap notes and the digests are the same in both forms
    for note in (f"The printed report shows the first {MAX_EXCEPTIONS} of {listed}",
                 f"The printed register lists the first {MAX_REGISTER_ROWS} of {EXTRA_REGISTER} entries",
                 f"The printed appendix lists the first {MAX_APPENDIX_CALLS} of {n_calls} calls",
                 f"+{EXTRA_PAGES - MAX_PRINTED_PAGES} more pages of this call"):
        assert note in screen and note in printed, note
    head = re.compile(r'<meta name="auditor-[^"]+" content="[^"]*">')
    assert head.findall(screen) == head.findall(printed) and head.findall(printed)


def test_unknown_form_is_a_report_error():
    results, manifest = _capped()
    with pytest.raises(ReportError, match="unknown report form 'paper'"):
        render_html(results, manifest, form="paper")


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_of_the_print_form_reads_as_the_pdf_of_the_screen_form():
    # the call cap is left out here (400 printed calls are many pages); its rows go by the same rule, tested above
    results, manifest = _capped()
    integrity = {"results_sha256": "ab" * 32}
    screen_pdf = render_pdf(render_html(results, manifest, integrity=integrity))
    print_pdf = render_pdf(render_html(results, manifest, integrity=integrity, form="print"))
    screen_pages, print_pages = _pages(screen_pdf), _pages(print_pdf)
    assert len(print_pages) == len(screen_pages)
    # page for page, the same text; a line may wrap elsewhere (perf2): the print form writes each break opportunity as
    # the zero-width space WeasyPrint draws for <wbr>, and WeasyPrint breaks a name at it where the <wbr> box sometimes
    # let it break mid-part ("maxResults=5" / "00" on screen, "maxResults=" / "500" in print)
    assert [re.sub(r"\s+", "", t) for t in print_pages] == [re.sub(r"\s+", "", t) for t in screen_pages]
    flat = re.sub(r"\s+", "", "\n".join(print_pages))
    listed = len(exceptions_in_order(results["controls"][0], results))
    assert re.sub(r"\s+", "", f"The printed report shows the first {MAX_EXCEPTIONS} of {listed}") in flat
    assert re.sub(r"\s+", "", f"The printed register lists the first {MAX_REGISTER_ROWS} of {EXTRA_REGISTER}") in flat
    assert re.sub(r"\s+", "", f"reg-{MAX_REGISTER_ROWS - 1:03d}") in flat
    assert re.sub(r"\s+", "", f"reg-{MAX_REGISTER_ROWS:03d}") not in flat
    assert "ab" * 32 in flat  # the cover's digest
    from auditor.verify import pdf_digests

    assert pdf_digests(print_pdf) == pdf_digests(screen_pdf) and pdf_digests(print_pdf)[0] == "ab" * 32


def test_print_form_breaks_names_at_zero_width_spaces_not_wbr_boxes():
    """perf2: every <wbr> of the screen form is a zero-width space in the print form (WeasyPrint's own rendering of
    <wbr>, without an element and a pseudo-element to style each time), and nothing else changes; a zero-width space
    in the data is still shown as <U+200B> in both forms (display.finalize), never taken for a break."""
    results, manifest = _capped()
    results["controls"][0]["findings"][0]["resource"] = "projects/p/instances/zero\u200bwidth"
    screen = render_html(results, manifest)
    printed = render_html(results, manifest, form="print")
    assert "<wbr>" not in printed and screen.count("<wbr>") > 100
    assert "&lt;U+200B&gt;" in screen and "&lt;U+200B&gt;" in printed
    name = "projects/\u200bp/\u200binstances/\u200bextra-\u200b000"  # a breakable name of the first control
    assert name.replace("\u200b", "<wbr>") in screen and name in printed
