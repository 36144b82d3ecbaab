"""Display safety: API content cannot hide in, or stall, the report a person reads.

A resource name with a right-to-left override or zero-width characters is shown with them visible
(<U+202E>) in the HTML and so in the PDF made from it; a 15,000-character name is shortened in both
(the workbook keeps it whole), so the PDF's layout time does not grow with a name's length.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time

import pytest

from auditor.evidence.locker import Locker
from auditor.reports import display
from auditor.reports.html import render_html
from auditor.sampling import draw

RLO, ZWSP, ZWJ = "\u202e", "\u200b", "\u200d"


@pytest.fixture(scope="module")
def pack_inputs(sample_pack):
    results = json.loads((sample_pack.out / "results.json").read_text())
    manifest = Locker(sample_pack.out / "evidence").manifest
    return results, manifest


def renamed(results: dict, new_name) -> tuple[dict, str]:
    """The results with one resource (every finding about it) renamed by `new_name(old)`."""
    old = next(f["resource"] for c in results["controls"] for f in c["findings"] if f["resource"].startswith("//cloudsql"))
    name = new_name(old)
    return json.loads(json.dumps(results).replace(json.dumps(old)[1:-1], json.dumps(name)[1:-1])), name


def html_of(results: dict, manifest: dict) -> str:
    return render_html(results, manifest, samples=draw(results, "seed", None), integrity={"results_sha256": "0" * 64})


def test_bidi_and_zero_width_characters_are_shown_escaped_in_the_html(pack_inputs):
    results, manifest = pack_inputs
    spoofed, name = renamed(results, lambda old: old + RLO + "gp-regdel" + ZWSP + ZWJ)
    html = html_of(spoofed, manifest)
    assert RLO not in html and ZWSP not in html and ZWJ not in html
    assert "&lt;U+202E&gt;gp-regdel&lt;U+200B&gt;&lt;U+200D&gt;" in html


def test_control_characters_in_a_message_are_shown_escaped(pack_inputs):
    results, manifest = pack_inputs
    changed = copy.deepcopy(results)
    finding = changed["controls"][0]["findings"][0]
    finding["message"] = "looks fine\x1b[2Jbut is not\u2066hidden\u2069"
    html = html_of(changed, manifest)
    assert "\x1b" not in html and "\u2066" not in html
    assert "&lt;U+001B&gt;" in html and "&lt;U+2066&gt;hidden&lt;U+2069&gt;" in html


def test_ordinary_text_is_left_alone():
    thai = "บริษัท บางกอก โซลูชั่นส์ ข้อมูลลูกค้า"
    assert display.visible(thai) == thai
    assert display.visible("//storage.googleapis.com/bks-prod-backups") == "//storage.googleapis.com/bks-prod-backups"
    assert display.visible("tab\tand\nnewline") == "tab\tand\nnewline"


def test_a_very_long_name_is_shortened_in_the_html_and_kept_whole_in_the_workbook(pack_inputs):
    from openpyxl import load_workbook

    from auditor.reports.workbook import render_workbook

    results, manifest = pack_inputs
    long_results, name = renamed(results, lambda old: old + "-" + "x" * 15_000)
    html = html_of(long_results, manifest)
    longest = max((len(run) for run in re.findall(r"[^\s<>]+", html)), default=0)
    assert name not in html and longest <= display.MAX_RUN, longest
    assert "15,0" in html and "the full value is in the workbook" in html
    book = load_workbook(io.BytesIO(render_workbook(long_results, manifest, draw(long_results, "seed", None))),
                         read_only=True)
    assert any(cell == name for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row)


def test_the_pdf_time_does_not_grow_with_a_name_s_length():
    """Before, a 15,000-character name took WeasyPrint minutes; shortened, it lays out like a short one."""
    from auditor.reports.html import stylesheet
    from auditor.reports.pdf import render_pdf

    css = stylesheet()  # its `overflow-wrap: anywhere` on names is what made long runs slow to lay out

    def seconds(length: int) -> float:
        name = "//cloudsql.googleapis.com/projects/p/instances/" + "x" * length
        rows = "".join(f"<tr><td class='res'>{display.visible(name)}</td><td>fail</td></tr>" for _ in range(5))
        started = time.perf_counter()
        render_pdf(f"<html><head><style>{css}</style></head><body><table class='findings'>{rows}</table></body></html>")
        return time.perf_counter() - started

    seconds(10)  # warm up WeasyPrint's fonts
    short, long = seconds(10), seconds(15_000)
    assert long < 3 * short + 1.0, (short, long)
