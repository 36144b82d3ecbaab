"""The sample company's evidence pack as a reviewer receives it: PDF, HTML, workbook, OSCAL, sample, integrity.

The pack is produced over real HTTP (simulator -> client libraries -> locker -> checks -> renderers) by
`auditor demo`, once per session (the `sample_pack` fixture of tests/conftest.py), then each output is
opened with the tool a reviewer would use. Tests that change a file work on their own copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pypdf
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.sampling import draw
from auditor.verify import verify_pack

SEED = "auditor-2026-q3"
LOOK_DIR = Path("/tmp/pack-look")
#: Files every pack holds; each is tampered with in turn below (evidence items are covered by the loop test).
PACK_FILES = ["results.json", "report.html", "report.pdf", "workbook.xlsx", "oscal-assessment-results.json", "oscal-assessment-plan.json",
              "samples.json", "pack-manifest.json", "SHA256SUMS", "evidence/manifest.json", "evidence/calls.jsonl"]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pack(sample_pack) -> Path:
    """The session's one sample pack (tests/conftest.py), drawn with SEED. Shared: tests that change files copy it first."""
    assert sample_pack.seed == SEED
    return sample_pack.out


@pytest.fixture(scope="module")
def results(pack) -> dict:
    return json.loads((pack / "results.json").read_text())


@pytest.fixture(scope="module")
def pdf_pages(pack) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO((pack / "report.pdf").read_bytes()))
    return [page.extract_text() for page in reader.pages]


def exceptions(results):
    return [(c, f) for c in results["controls"] for f in c["findings"] if f["status"] in ("fail", "inconclusive")]


# ----------------------------------------------------------------------------------------------- PDF

def test_pdf_page_count_is_for_people(pdf_pages, results):
    # cover, contents, summary, matrix (2), pictures, 2-3 pages per control, appendices, and the sample:
    # every control is sampled now (a daily control 25 resource-days, about a page each), and every control is
    # judged day by day (the source-code controls too: a calendar each); what the identity may do adds about 5
    # a control's printed exception table is capped (reports.html.MAX_EXCEPTIONS, about four rows a page, and the
    # register lists each once more): a control near the cap (the inventory controls judged day by day from one run,
    # every store's past map unknown) takes up to seven pages of it, so each printed row past the tenth counts half a page
    from auditor.reports.html import MAX_EXCEPTIONS
    from auditor.reports.view import exceptions_in_order

    long_tables = sum(max(0, min(len(exceptions_in_order(c, results)), MAX_EXCEPTIONS) - 10) for c in results["controls"])
    # enc2: the coverage calendar draws one row per finding that keeps a day-by-day record (every Google-managed
    # instance's encryption now does), about 40 rows a page
    drawn = sum(1 for c in results["controls"] for f in c["findings"] if f["details"].get("days"))
    assert 8 <= len(pdf_pages) <= 16 + 8 * len(results["controls"]) + long_tables // 2 + 5 + drawn // 40  # + 5: Appendix A's permission table; listings go to the workbook
    n = len(pdf_pages)
    assert f"page 3 of {n}" in pdf_pages[2]
    assert "Bangkok Solutions — 2026-07-01 to 2026-09-30 (UTC)" in pdf_pages[2]


def test_pdf_holds_every_exception_of_results(pdf_pages, results):
    flat = squash("\n".join(pdf_pages))
    found = exceptions(results)
    assert found, "the sample company fails some controls on purpose"
    register = {e["finding"]: e for e in results["exceptions"]["entries"]}
    groups = {g["id"]: g for g in results["exceptions"]["scope_limitations"]}
    from auditor.reports.html import MAX_EXCEPTIONS
    from auditor.reports.view import exceptions_in_order

    # each control prints its first MAX_EXCEPTIONS exceptions (failures first) and says how many more the workbook holds
    printed = {f["id"] for c in results["controls"] for f in exceptions_in_order(c, results)[:MAX_EXCEPTIONS]}
    for control in results["controls"]:
        listed = len(exceptions_in_order(control, results))
        if listed > MAX_EXCEPTIONS:
            assert squash(f"The printed report shows the first {MAX_EXCEPTIONS} of {listed}") in flat, control["id"]
    for control, finding in found:
        limitation = register[finding["id"]]["scope_limitation"]
        if limitation:  # a scope limitation is printed once, with its error responses, not once per control
            group = groups[limitation]
            assert squash(f"{group['id']}{group['project']}") in flat, finding["id"]
            for eid in group["evidence"]:
                assert eid in flat, (finding["id"], eid)
            continue
        if finding["id"] not in printed:
            continue  # past the control's printed cap: in the workbook (the cap note above says so)
        assert squash(finding["message"]) in flat, finding["id"]
        assert squash(finding["resource"]) in flat, finding["id"]
        for eid in finding["evidence"][:6]:
            assert eid in flat, (finding["id"], eid)


def test_pdf_contents_point_at_the_right_pages(pdf_pages, results):
    contents = pdf_pages[1]
    assert "Contents" in contents
    for n, control in enumerate(results["controls"], start=1):
        match = re.search(re.escape(control["title"][:30]) + r".*?(\d+)\s*$", contents, re.M | re.S)
        assert match, control["id"]
        page = int(re.search(rf"{re.escape(control['title'])}.*?(\d+)\n", contents.replace("\xa0", " "), re.S).group(1))
        assert f"Control {n} · {control['id']}" in pdf_pages[page - 1], (control["id"], page)


def test_pdf_cover_carries_the_digests_verify_checks(pack, pdf_pages, results):
    cover = squash(pdf_pages[0])
    assert hashlib.sha256((pack / "results.json").read_bytes()).hexdigest() in cover
    for locker in results["lockers"]:
        assert locker["manifest_sha256"] in cover
    assert SEED in cover
    html = (pack / "report.html").read_text()
    pack_manifest = json.loads((pack / "pack-manifest.json").read_text())
    assert pack_manifest["results_sha256"] in html and pack_manifest["sample_seed"] == SEED


def test_pdf_coverage_matrix_names_every_promise_and_the_platform_claim(pdf_pages, results):
    flat = squash("\n".join(pdf_pages))
    for promise in results["policy_coverage"]["promises"]:
        assert squash(promise["text"])[:60] in flat, promise["id"]
    assert squash("Cloud SQL does not alert anyone by itself") in flat
    assert squash("End-user computing systems") in flat and "Manualevidence:" in flat


def test_pdf_prints_the_sample_with_its_seed_and_evidence(pack, pdf_pages):
    samples = json.loads((pack / "samples.json").read_text())
    text = "\n".join(pdf_pages)
    flat = squash(text)
    assert samples["seed"] == SEED and squash(f"--seed {SEED}") in flat
    (daily,) = [c for c in samples["controls"] if c["control"] == "backup-frequency"]
    assert daily["size"] == 25
    for item in daily["items"]:
        assert squash(f"{item['n']}{item['date']}") in flat
        assert item["evidence"] and item["evidence"][0] in flat


def test_pdf_pages_are_rasterised_for_a_human_look(pack):
    """Writes page images to /tmp/pack-look; a person looks at them (the test checks they are not blank)."""
    import pypdfium2

    LOOK_DIR.mkdir(exist_ok=True)
    document = pypdfium2.PdfDocument(str(pack / "report.pdf"))
    for index in range(len(document)):
        image = document[index].render(scale=1.0).to_pil().convert("L")
        image.save(LOOK_DIR / f"page-{index + 1:02d}.png")
        assert image.getextrema()[0] < 100, f"page {index + 1} looks blank"


# ------------------------------------------------------------------------------- machine-readable

def test_workbook_opens_with_pandas_and_holds_every_finding(pack, results):
    sheets = pd.read_excel(pack / "workbook.xlsx", sheet_name=None)
    assert {"Summary", "Findings", "Exceptions", "Coverage", "Evidence", "Calls", "Samples"} <= set(sheets)
    findings = sheets["Findings"]
    for control in results["controls"]:
        ids = set(findings.loc[findings["control"] == control["id"], "finding_id"])
        assert ids == {f["id"] for f in control["findings"]}, control["id"]
    manifest = json.loads((pack / "evidence/manifest.json").read_text())
    evidence = sheets["Evidence"]
    assert set(evidence["item_id"]) == {i["id"] for i in manifest["items"]}
    assert {"method", "params", "identity", "received_at_utc", "sha256"} <= set(evidence.columns)
    assert set(evidence["sha256"]) == {i["sha256"] for i in manifest["items"]}  # full digests
    assert set(sheets["Samples"]["seed"]) == {SEED}


def test_oscal_assessment_results_read_with_trestle(pack, results):
    """The OSCAL writer no longer uses trestle; trestle's models still read what it wrote (a third reader)."""
    from trestle.oscal import OSCAL_VERSION
    from trestle.oscal.assessment_results import AssessmentResults

    document = json.loads((pack / "oscal-assessment-results.json").read_text())
    document["assessment-results"]["metadata"]["oscal-version"] = OSCAL_VERSION  # trestle pins its own (older) version
    model = AssessmentResults.model_validate(document["assessment-results"])
    (result,) = model.results
    assert {f.target.target_id for f in result.findings} == {c["id"] for c in results["controls"]}
    assert len(result.observations) == sum(len(c["findings"]) for c in results["controls"])
    states = {f.target.target_id: f.target.status.state.value for f in result.findings}
    for control in results["controls"]:
        assert (states[control["id"]] == "satisfied") == (control["status"] == "pass")


def test_samples_json_can_be_redrawn_from_results_and_seed(pack, results):
    samples = json.loads((pack / "samples.json").read_text())
    assert draw(results, samples["seed"], samples["sizes"]) == samples


# ----------------------------------------------------------------------------------------- integrity

def test_verify_says_intact_with_exit_0(pack):
    outcome = verify_pack(pack)
    assert outcome.intact, outcome.lines()
    assert outcome.files_checked == len(json.loads((pack / "pack-manifest.json").read_text())["files"])
    result = CliRunner().invoke(app, ["verify", str(pack)])
    assert result.exit_code == 0, result.output


def test_sha256sum_accepts_the_pack(pack):
    if not shutil.which("sha256sum"):
        pytest.skip("sha256sum (coreutils) is not installed")
    done = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=pack, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def flip_one_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if offset is None else offset
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", PACK_FILES)
def test_one_changed_byte_in_a_pack_file_is_named(pack, tmp_path, name):
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    flip_one_byte(copy / name)
    outcome = verify_pack(copy)
    assert not outcome.intact
    assert name in outcome.changed, outcome.lines()
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and f"changed: {name}" in result.output


def test_one_changed_byte_in_any_file_of_the_pack_is_named(pack, tmp_path):
    files = sorted(p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file())
    assert len(files) >= len(PACK_FILES) + 3
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    # every file of the pack but the evidence pages, and of those (hundreds, all read by one path) the first,
    # the last and every 15th: the whole pack took over two minutes, one verify per file
    items = [n for n in files if n.startswith("evidence/items/")]
    chosen = [n for n in files if not n.startswith("evidence/items/")] + sorted({*items[::15], items[-1]})
    assert len(items) > 30 and items[0] in chosen
    for name in chosen:  # one file changed at a time: flip its first byte, verify, put the byte back
        original = (copy / name).read_bytes()
        flip_one_byte(copy / name, offset=0)
        outcome = verify_pack(copy)
        assert name in outcome.changed, (name, outcome.lines())
        (copy / name).write_bytes(original)
    assert verify_pack(copy).intact  # every byte put back: the copy is the pack again


def test_added_and_removed_files_are_named(pack, tmp_path):
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    (copy / "notes.txt").write_text("added later")
    item = sorted((copy / "evidence" / "items").iterdir())[0]
    extra_item = item.with_name("e-0000000000000000.json")
    extra_item.write_text("{}")
    removed = item.relative_to(copy).as_posix()
    item.unlink()
    (copy / "workbook.xlsx").unlink()
    outcome = verify_pack(copy)
    assert "notes.txt" in outcome.added and extra_item.relative_to(copy).as_posix() in outcome.added
    assert removed in outcome.removed and "workbook.xlsx" in outcome.removed
    assert not outcome.changed, outcome.lines()


def test_a_folder_that_is_not_a_pack_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert CliRunner().invoke(app, ["verify", str(tmp_path / "missing")]).exit_code == 2


def test_report_command_redraws_with_a_new_seed_and_keeps_the_pack_verifiable(pack, tmp_path):
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    result = CliRunner().invoke(app, ["report", "--results", str(copy / "results.json"), "--evidence", str(copy / "evidence"),
                                      "--out", str(copy), "--seed", "another-seed"])
    assert result.exit_code == 0, result.output
    assert json.loads((copy / "samples.json").read_text())["seed"] == "another-seed"
    assert verify_pack(copy).intact


# ------------------------------------------------------------------------------------- the browser

def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_html_report_renders_in_headless_chromium(pack, tmp_path):
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs the Debian package before the tests")
        pytest.skip("chromium is not installed here (apt-get install -y chromium); CI installs it")
    from PIL import Image

    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    profile.mkdir()
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1200,1600",
               f"--screenshot={shot}", (pack / "report.html").as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr[-2000:]
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    low, high = image.getextrema()
    assert low < 80 and high > 200, "the screenshot is blank"
    dark = sum(image.histogram()[:128])
    assert dark > 5_000, "too little ink: the report did not render"
