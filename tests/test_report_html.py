"""HTML report: content, strictness, escaping, self-containment."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import jinja2
import pytest

from auditor.errors import ReportError
from auditor.reports.html import MAX_APPENDIX_CALLS, render_html, script

FIXTURES = Path(__file__).parent / "fixtures"
EXCEPTION_STATUSES = ("fail", "inconclusive")
HOSTILE = (
    '<script>alert(1)</script> <link rel="attachment" href="file:///etc/passwd"> '
    "url(file:///etc/passwd) & \"quotes\" 'single'"
)


def render(*args, **kwargs) -> str:
    """The report as its text reads: <wbr> (a line-break opportunity, no text) taken out, so names compare whole."""
    return render_html(*args, **kwargs).replace("<wbr>", "")


@pytest.fixture()
def results() -> dict:
    return json.loads((FIXTURES / "results_sample.json").read_text(encoding="utf-8"))


@pytest.fixture()
def manifest() -> dict:
    return json.loads((FIXTURES / "manifest_sample.json").read_text(encoding="utf-8"))


def test_every_control_has_a_section_and_every_exception_is_listed(results, manifest):
    html = render(results, manifest)
    for control in results["controls"]:
        assert f'id="control-{control["id"]}"' in html
        assert control["title"] in html
        assert control["policy_clause"] in html
        for finding in control["findings"]:
            if finding["status"] in EXCEPTION_STATUSES:
                assert finding["resource"] in html
                assert finding["message"] in html


def test_cover_shows_period_criteria_lockers_and_tool(results, manifest):
    html = render(results, manifest)
    assert "Bangkok Solutions" in html
    assert "2026-07-01" in html and "2026-09-30" in html and "UTC" in html
    for crit in ("CC9.1", "A1.2"):
        assert f'<span class="crit">{crit}</span>' in html
    for locker in results["lockers"]:
        assert locker["id"] in html and locker["manifest_sha256"] in html
    assert "soc2-backup-auditor 0.1.0" in html
    assert "2026-09-30 02:00:05Z" in html  # as_of
    assert "2026-11-27 13:50:00Z" in html  # generated_at


def test_criteria_are_the_union_of_the_controls(results, manifest):
    results["controls"][0]["criteria"] = ["A1.3", "CC9.1"]
    results["controls"][1]["criteria"] = ["CC6.1"]
    html = render(results, manifest)
    cover = html.split('id="summary"')[0]
    assert re.findall(r'<span class="crit">([^<]+)</span>', cover) == ["CC6.1", "CC9.1", "A1.2", "A1.3"]


def test_summary_counts_exceptions_and_badges(results, manifest):
    html = render(results, manifest)
    summary = html.split('id="summary"')[1].split('<section class="control"')[0]
    assert summary.count("<tr>") == len(results["controls"]) + 1
    assert 'class="badge s-fail"' in summary and 'class="badge s-inconclusive"' in summary
    assert 'class="badge s-pass"' in summary
    # backup-frequency: two fails + one inconclusive
    row = summary.split(">backup-frequency<")[1].split("</tr>")[0]
    assert '<td class="num has-exc">2</td>' in row and '<td class="num has-inc">1</td>' in row


def test_examined_lists_the_api_methods_of_the_evidence(results, manifest):
    html = render(results, manifest)
    section = html.split('id="control-backup-cross-region"')[1].split('<section')[0]
    assert "storage buckets.list" in section
    assert "cloudasset assets.list" in section
    assert "1 failed" in section  # the SERVICE_DISABLED call
    assert "github repos.listForOrg" not in section


def test_coverage_calendar_has_a_cell_per_day_and_store(results, manifest):
    html = render(results, manifest)
    section = html.split('id="control-backup-frequency"')[1].split('<section')[0]
    # one calendar row per finding with a days map, 92 days each (2026-07-01..2026-09-30), drawn as one
    # rect per run of equal days (so thousands of stores stay cheap to render)
    (svg,) = re.findall(r'<svg[^>]*class="chart calendar".*?</svg>', section, re.S)
    runs = re.findall(r"<rect [^>]*><title>(\d{4}-\d{2}-\d{2})(?: to (\d{4}-\d{2}-\d{2}))?: ([^<]+)</title></rect>", svg)
    cells = []
    for first, last, state in runs:
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last or first):
            cells.append((day.isoformat(), state))
            day += timedelta(days=1)
    assert len(cells) == 4 * 92 and len(runs) < len(cells)
    per_day = Counter(d for d, _ in cells)
    assert len(per_day) == 92 and set(per_day.values()) == {4}  # every store, every day, exactly once
    assert ("2026-08-11", "outside the policy (exception)") in cells  # a missed window
    states = {state for _, state in cells}
    assert {"not due yet", "stopped (no backup due)", "unknown (not verifiable)", "within the policy"} <= states
    assert "2026-08-11..2026-08-14" in section or "2026-08-11" in section
    assert "96.4" in section  # the longest gap, among the observed values


def test_waiver_is_shown(results, manifest):
    html = render(results, manifest)
    section = html.split('id="control-backup-enabled"')[1].split('<section')[0]
    assert "CHG-4411" in section and "Waived" in section


def test_css_is_inlined_and_nothing_external_is_referenced(results, manifest):
    html = render(results, manifest)
    assert "<style>" in html and "@page" in html and "counter(pages)" in html
    assert "<link" not in html
    # one script, the packaged table sorter, inline: no src, nothing fetched
    assert html.count("<script") == 1 and "<script>" in html and script().strip() in html
    assert not re.search(r'\bsrc=', html)
    # links stay inside the document or the pack's own evidence items
    assert not re.search(r'\bhref="(?!#|evidence/items/e-[0-9a-f]{16}\.json")', html)


def test_render_is_pure(results, manifest):
    before = copy.deepcopy((results, manifest))
    assert render(results, manifest) == render(results, manifest)
    assert (results, manifest) == before


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("organization"),
        lambda r: r["period"].pop("timezone"),
        lambda r: r["controls"][0].pop("policy_clause"),
        lambda r: r["controls"][0]["findings"][0].pop("message"),
        lambda r: r["controls"][2]["population"].pop("in_scope"),
    ],
)
def test_missing_key_raises(results, manifest, mutate):
    mutate(results)
    with pytest.raises(ReportError) as info:
        render(results, manifest)
    assert isinstance(info.value.__cause__, (jinja2.UndefinedError, KeyError))


def test_strict_undefined_is_the_cause_for_a_missing_results_key(results, manifest):
    del results["as_of"]
    with pytest.raises(ReportError) as info:
        render(results, manifest)
    assert isinstance(info.value.__cause__, jinja2.UndefinedError)


def test_missing_manifest_key_raises(results, manifest):
    del manifest["calls"]
    with pytest.raises(ReportError):
        render(results, manifest)


def hostile_results(results: dict) -> dict:
    control = results["controls"][0]
    finding = control["findings"][0]
    finding["message"] = HOSTILE
    finding["resource"] = "//cloudsql.googleapis.com/projects/p/instances/<img src=http://127.0.0.1:1/x>"
    finding["observed"] = {"note": HOSTILE}
    control["title"] = "</style><link rel=attachment href=file:///etc/passwd>"
    results["organization"] = "Evil </title><style>@import url(file:///etc/passwd);</style>"
    return results


def test_hostile_strings_are_escaped(results, manifest):
    html = render(hostile_results(results), manifest)
    assert html.count("<script>") == 1 and script().strip() in html  # only the packaged table script
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<link" not in html
    assert "&lt;link rel=&#34;attachment&#34; href=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "<img" not in html
    assert html.count("<style>") == 1 and html.count("</style>") == 1
    # url(file://...) only ever appears as escaped text inside elements, never in the stylesheet
    style = html.split("<style>")[1].split("</style>")[0]
    assert "file:" not in style and "url(" not in style


def test_appendix_lists_every_call_and_prints_a_capped_number(results, manifest):
    template = manifest["calls"][0]
    manifest["calls"] = [dict(template, id=f"c-{i:016x}", items=[]) for i in range(MAX_APPENDIX_CALLS + 37)]
    manifest["counts"]["calls"] = len(manifest["calls"])
    html = render(results, manifest)
    appendix = html.split('id="evidence"')[1]
    for i in range(MAX_APPENDIX_CALLS + 37):  # the HTML lists every call ...
        assert f'id="call-c-{i:016x}"' in appendix
    # ... and the PDF (print media) lays out the first MAX_APPENDIX_CALLS: the rest are marked pdf-omit
    assert f'<tbody class="call" id="call-c-{MAX_APPENDIX_CALLS - 1:016x}">' in appendix
    assert f'<tbody class="call pdf-omit" id="call-c-{MAX_APPENDIX_CALLS:016x}">' in appendix
    assert f"first {MAX_APPENDIX_CALLS} of {MAX_APPENDIX_CALLS + 37} calls" in appendix
    assert "@media print { .screen-only, .pdf-omit { display: none !important; } }" in html


def test_appendix_lists_calls_with_error_reason_and_first_page_hash(results, manifest):
    html = render(results, manifest)
    appendix = html.split('id="evidence"')[1]
    for call in manifest["calls"]:
        assert call["id"] in appendix
    assert "SERVICE_DISABLED" in appendix and "HTTP 403" in appendix
    first = manifest["calls"][0]
    sha = next(i["sha256"] for i in manifest["items"] if i["id"] == first["items"][0])
    assert sha in appendix  # the full digest, never a prefix
    for item in manifest["items"]:
        assert item["sha256"] in appendix
    assert f'{manifest["counts"]["items"]} response pages' in appendix


def test_every_page_digest_is_in_the_html_and_the_print_is_capped_per_call(results, manifest):
    from auditor.reports.html import MAX_PRINTED_PAGES

    call = manifest["calls"][0]
    extra = [dict(manifest["items"][0], id=f"e-{i:016x}", call_id=call["id"], page=i, sha256=f"{i:064x}")
             for i in range(MAX_PRINTED_PAGES + 5)]
    manifest["items"] = manifest["items"] + extra
    call["items"] = [item["id"] for item in extra]
    appendix = render(results, manifest).split('id="evidence"')[1]
    for i, item in enumerate(extra):
        assert item["sha256"] in appendix  # every digest, in full
        omitted = f'<div class="page-digest pdf-omit" id="ev-{item["id"]}">' in appendix
        assert omitted == (i >= MAX_PRINTED_PAGES), i
    assert "+5 more pages of this call" in appendix
