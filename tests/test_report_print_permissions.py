"""The printed permission table at scale (perf2): past MAX_PERMISSION_ROWS projects and keys, the PDF keeps a row for
each one with something to say and names the others, which answered alike, in one paragraph per kind; the screen
report and the workbook's Permissions sheet keep one row each, with its call and evidence.

At 200 projects the table was 401 identical rows (19 pages, a fifth of WeasyPrint's time). The fixture is written by
hand: 30 projects, of which p03 lacks a read permission, p07 holds a write permission and p11 could not be tested
(so those three must stay rows), and 2 keys that held everything; 32 entries is past the cap of 25.
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import openpyxl
import pypdf

from auditor.reports.html import render_html
from auditor.reports.pdf import render_pdf
from auditor.reports.view import MAX_PERMISSION_ROWS, permission_view
from auditor.reports.workbook import render_workbook

FIXTURES = Path(__file__).parent / "fixtures"
READS, WRITES = 21, 4


def _entry(name: str, *, kind: str = "project", missing=(), write_held=(), not_tested=None) -> dict:
    entry = {kind: name, "scope": name if kind == "key" else f"projects/{name}", "call": "c-" + re.sub(r"\W", "", name)[-12:],
             "evidence": [f"e-{name[-3:]}"], "asked": READS + WRITES}
    if not_tested:
        return {**entry, "tested": False, "not_tested": not_tested, "held": [], "missing": [], "write_held": []}
    return {**entry, "tested": True, "not_tested": None, "read_asked": READS, "held": [f"r{i}" for i in range(READS - len(missing))],
            "missing": list(missing), "write_asked": WRITES, "write_held": list(write_held)}


def _ptest(n_projects: int = 30) -> dict:
    projects = []
    for i in range(n_projects):
        name = f"p{i:02d}"
        if i == 3:
            projects.append(_entry(name, missing=["cloudsql.backupRuns.list"]))
        elif i == 7:
            projects.append(_entry(name, write_held=["storage.buckets.update"]))
        elif i == 11:
            projects.append(_entry(name, not_tested="denied (PERMISSION_DENIED)"))
        else:
            projects.append(_entry(name))
    keys = [_entry(f"projects/p00/locations/asia-southeast1/keyRings/sql/cryptoKeys/k{i}", kind="key") for i in range(2)]
    return {"line": "permissions held: some", "key_line": "Cloud KMS keys: held all", "read_only": "NOT read-only",
            "read_only_ok": False, "projects": projects, "keys": keys, "missing": {}, "not_tested": {}, "write_held": {},
            "key_missing": {}, "key_not_tested": {}, "note": "testIamPermissions answers for the caller"}


def _documents(ptest: dict) -> tuple[dict, dict]:
    results = json.loads((FIXTURES / "results_sample.json").read_text(encoding="utf-8"))
    manifest = json.loads((FIXTURES / "manifest_sample.json").read_text(encoding="utf-8"))
    results["provenance"] = {"permission_tests": {"gcp": copy.deepcopy(ptest)}}
    return results, manifest


def test_past_the_cap_only_projects_with_something_to_say_stay_rows():
    view = permission_view(_ptest(), print_form=True)
    assert [p["project"] for p in view["projects"]] == ["p03", "p07", "p11"] and view["keys"] == []
    alike = {g["kind"]: g for g in view["alike"]}
    assert alike["project"]["names"] == [f"p{i:02d}" for i in range(30) if i not in (3, 7, 11)]
    assert (alike["project"]["read_asked"], alike["project"]["write_asked"]) == (READS, WRITES)
    assert len(alike["key"]["names"]) == 2 and view["rows"] == 32
    # the screen form, and a table within the cap, list every entry as a row
    assert len(permission_view(_ptest(), print_form=False)["projects"]) == 30
    small = _ptest(MAX_PERMISSION_ROWS - 2)
    assert permission_view(small, print_form=True)["projects"] == small["projects"]
    assert permission_view(small, print_form=True)["alike"] == []


def test_projects_that_differ_in_what_was_asked_are_not_called_alike():
    ptest = _ptest()
    ptest["projects"][20]["read_asked"] = READS - 1  # asked one permission fewer: its own group, never merged
    groups = permission_view(ptest, print_form=True)["alike"]
    assert [len(g["names"]) for g in groups if g["kind"] == "project"] == [26, 1]


def test_print_form_names_every_alike_project_and_says_where_each_row_is():
    results, manifest = _documents(_ptest())
    screen = render_html(results, manifest)
    printed = render_html(results, manifest, form="print")
    assert screen.count('<tr class="p-row">') == 30
    assert printed.count('<tr class="p-row">') == 3
    paragraph = re.search(r'<p class="small perm-alike">27 projects\s+answered alike.*?</p>', printed, re.S)
    assert paragraph and all(f"p{i:02d}" in paragraph.group() for i in range(30) if i not in (3, 7, 11))
    assert "perm-alike" not in screen
    pdf = render_pdf(printed)
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    assert "27 projects answered alike, each holding all 21 read permissions asked and none of the 4 write" in text
    assert "2 Cloud KMS keys answered alike" in text
    assert "Permissions sheet of workbook.xlsx" in text
    assert "storage.buckets.update" in text and "denied (PERMISSION_DENIED)" in text  # the rows that differ


def test_workbook_permissions_sheet_has_a_row_per_project_and_key():
    results, manifest = _documents(_ptest())
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(results, manifest)), read_only=True)
    rows = list(book["Permissions"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("kind", "project_or_key", "tested") and len(body) == 32
    by_name = {row[1]: dict(zip(header, row)) for row in body}
    assert by_name["p07"]["write_held"] == "storage.buckets.update" and by_name["p07"]["read_held"] == READS
    assert by_name["p03"]["read_missing"] == "cloudsql.backupRuns.list" and by_name["p03"]["read_held"] == READS - 1
    assert by_name["p11"]["tested"] is False and by_name["p11"]["read_held"] is None
    assert by_name["p11"]["not_tested"] == "denied (PERMISSION_DENIED)"
    assert by_name["p00"]["call_id"] == _entry("p00")["call"]
