"""PDF report: content survives layout, no fetches, no attachments; page images for a human look."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pypdf
import pypdfium2
import pytest

from auditor.reports.html import render_html
from auditor.reports.pdf import RefusedURLError, SafeFetcher, render_pdf

FIXTURES = Path(__file__).parent / "fixtures"
LOOK_DIR = Path("/tmp/report-look")
EXCEPTION_STATUSES = ("fail", "inconclusive")


def load_fixtures() -> tuple[dict, dict]:
    return (
        json.loads((FIXTURES / "results_sample.json").read_text(encoding="utf-8")),
        json.loads((FIXTURES / "manifest_sample.json").read_text(encoding="utf-8")),
    )


def squash(text: str) -> str:
    """Whitespace-free text, so words wrapped across table lines still match."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    results, manifest = load_fixtures()
    return render_pdf(render_html(results, manifest))


@pytest.fixture(scope="module")
def sample_text(sample_pdf) -> str:
    reader = pypdf.PdfReader(io.BytesIO(sample_pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_is_a4_with_footer(sample_pdf, sample_text):
    reader = pypdf.PdfReader(io.BytesIO(sample_pdf))
    assert len(reader.pages) >= 4
    box = reader.pages[0].mediabox
    assert round(float(box.width)) == 595 and round(float(box.height)) == 842
    n = len(reader.pages)
    assert f"page 2 of {n}" in sample_text
    assert "Bangkok Solutions — 2026-07-01 to 2026-09-30 (UTC)" in reader.pages[1].extract_text()


def test_pdf_contains_every_control_and_failing_resource(sample_text):
    results, _ = load_fixtures()
    flat = squash(sample_text)
    for control in results["controls"]:
        assert control["id"] in sample_text
        assert squash(control["title"]) in flat
        for finding in control["findings"]:
            if finding["status"] in EXCEPTION_STATUSES:
                assert squash(finding["resource"]) in flat


def test_each_control_starts_a_page(sample_pdf):
    results, _ = load_fixtures()
    reader = pypdf.PdfReader(io.BytesIO(sample_pdf))
    starts = [squash(page.extract_text())[:240].lower() for page in reader.pages]
    for n, control in enumerate(results["controls"], start=1):
        assert any(squash(f"control {n} · {control['id']}") in s for s in starts), control["id"]


def test_sample_pdf_has_no_attachments(sample_pdf):
    assert pypdf.PdfReader(io.BytesIO(sample_pdf)).attachments == {}


def test_hostile_finding_is_escaped_and_pdf_has_no_attachment():
    results, manifest = load_fixtures()
    finding = results["controls"][0]["findings"][0]
    finding["message"] = (
        '<script>alert(1)</script> <link rel="attachment" href="file:///etc/passwd"> url(file:///etc/passwd)'
    )
    html = render_html(results, manifest)
    assert html.count("<script>") == 1 and "<script>alert" not in html and "<link" not in html  # only the packaged table script
    pdf = render_pdf(html)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {}
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "<script>alert(1)</script>" in text  # shown as text, not executed or interpreted
    assert "root:x:0:0" not in text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/x",
        "https://127.0.0.1:1/x",
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "ftp://127.0.0.1:1/x",
        "auditor-asset:../__init__.py",
        "auditor-asset:/etc/passwd",
        "auditor-asset:report.html.j2",
        "auditor-asset:missing.css",
        "report.css",
        "",
    ],
)
def test_safe_fetcher_refuses(url):
    fetcher = SafeFetcher()
    with pytest.raises(RefusedURLError):
        fetcher.fetch(url)
    with pytest.raises(RefusedURLError):
        fetcher(url)


def test_safe_fetcher_serves_data_urls_and_packaged_assets():
    fetcher = SafeFetcher()
    payload = base64.b64encode(b"\x89PNG fake").decode()
    response = fetcher.fetch(f"data:image/png;base64,{payload}")
    assert response.read() == b"\x89PNG fake" and response.content_type == "image/png"
    css = fetcher.fetch("auditor-asset:report.css")
    assert css.content_type == "text/css" and b"@page" in css.read()


def test_raw_html_with_external_references_renders_without_them(caplog):
    # Bypass the template: even raw hostile HTML cannot make WeasyPrint read a file or the network.
    html = """<!DOCTYPE html><html><head>
      <link rel="stylesheet" href="http://127.0.0.1:1/x.css">
      <link rel="attachment" href="file:///etc/passwd">
      <style>@import url(file:///etc/passwd); body { background: url(http://127.0.0.1:1/bg.png); }</style>
      <link rel="stylesheet" href="auditor-asset:report.css">
      </head><body><p>still renders</p>
      <img src="file:///etc/passwd"><img src="http://127.0.0.1:1/x">
      <object data="file:///etc/passwd"></object>
      <a rel="attachment" href="file:///etc/passwd">a</a>
      </body></html>"""
    pdf = render_pdf(html)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {}
    text = "".join(page.extract_text() for page in reader.pages)
    assert "still renders" in text
    assert "root:" not in text
    assert re.search(rb"/EmbeddedFile", pdf) is None


def test_rasterise_pages_for_a_look(sample_pdf):
    """Writes page 1 (cover), 2 (summary) and 3 (first control) to /tmp/report-look/ for review."""
    LOOK_DIR.mkdir(parents=True, exist_ok=True)
    doc = pypdfium2.PdfDocument(sample_pdf)
    try:
        for index, name in ((0, "cover"), (1, "summary"), (2, "first-control")):
            image = doc[index].render(scale=1.5).to_pil()
            path = LOOK_DIR / f"{name}.png"
            image.save(path)
            # not blank: some dark pixels exist
            assert image.convert("L").getextrema()[0] < 100
            assert path.stat().st_size > 5000
    finally:
        doc.close()
