"""The output folder: taken with a lock, fresh or replaced on purpose, and never left claiming a
complete pack when a write failed (a full disk, injected through the one write interface of the
locker and the pack, `auditor.evidence.locker.write_through`, so no root and no mount are needed).
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import auditor.runner
from auditor.cli import app
from auditor.config import load_config
from auditor.errors import EvidenceError, OutputError
from auditor.evidence import locker as locker_module
from auditor.evidence.locker import LockerWriter
from auditor.outdir import LOCK_FILE, OutputFolder
from auditor.simulator import Simulator, load_scenario
from auditor.simulator.faults import Fault
from auditor.verify import verify_pack

runner = CliRunner()
real_write_through = locker_module.write_through


@pytest.fixture(scope="module")
def simulator(sample_dir):
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as sim:
        yield sim


@pytest.fixture
def quick_pdf(monkeypatch):
    """These tests are about the folder, not the layout: the PDF's 8 s of WeasyPrint are skipped."""
    import auditor.reports.pdf

    monkeypatch.setattr(auditor.reports.pdf, "render_pdf", _one_page_pdf)


def _one_page_pdf(html: str) -> bytes:
    """A blank page carrying the report's digests in its document information, as the real PDF does
    (`auditor verify` checks them), so a pack of these tests still verifies."""
    import io
    import re

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    results = re.search(r'name="auditor-results-sha256" content="([0-9a-f]{64})"', html)
    lockers = re.search(r'name="auditor-evidence-manifests-sha256" content="([0-9a-f ]*)"', html)
    writer.add_metadata({"/auditorresultssha256": results.group(1) if results else "",
                         "/auditorevidencemanifestssha256": lockers.group(1) if lockers else ""})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def config(sample_dir, simulator):
    """The sample company, Google side only (the GitHub side adds nothing to these properties)."""
    return load_config(sample_dir / "auditor.yaml").model_copy(update={"github": None}).with_endpoints(simulator.url)


def temporaries(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.name.endswith(".tmp"))


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


# ------------------------------------------------------------------------------------------ lock

def test_a_second_run_into_a_taken_folder_refuses_naming_the_holder(tmp_path):
    with OutputFolder(tmp_path / "out"):
        assert (tmp_path / "out" / LOCK_FILE).read_text().split()[0] == str(os.getpid())
        with pytest.raises(OutputError, match=rf"another run \(pid {os.getpid()}\) is writing into this folder"):
            with OutputFolder(tmp_path / "out"):
                pass
    assert not (tmp_path / "out" / LOCK_FILE).exists()  # released: the folder is empty again
    assert list((tmp_path / "out").iterdir()) == []


def test_two_concurrent_runs_into_one_folder(config, simulator, tmp_path, quick_pdf):
    """One proceeds, the other refuses with exit 2 naming the first one's pid; the pack verifies."""
    out = tmp_path / "pack"
    outcome: dict = {}
    simulator.faults.add(Fault(kind="slow", delay=0.05))

    def first() -> None:
        try:
            outcome["run"] = auditor.runner.run(config, out)
        except BaseException as err:  # surfaced by the assertion below
            outcome["error"] = err

    thread = threading.Thread(target=first)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (out / LOCK_FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        config_file = tmp_path / "auditor.yaml"
        config_file.write_text("organization: x\nperiod: {quarter: 2026-Q3}\npolicy:\n  classifications:\n    c: {}\n"
                               "gcp: {projects: [p], credentials: anonymous}\n")
        code, output = invoke("run", "--config", config_file, "--out", out)
        assert code == 2, output
        assert f"another run (pid {os.getpid()})" in " ".join(output.split())
    finally:
        thread.join(timeout=300)
        simulator.faults.clear()
    assert "error" not in outcome, outcome.get("error")
    assert verify_pack(out).intact, verify_pack(out).lines()
    manifest = json.loads((out / "evidence" / "manifest.json").read_text())
    assert len((out / "evidence" / "calls.jsonl").read_text().splitlines()) == len(manifest["calls"])
    listed = {i["path"] for i in manifest["items"]}
    assert {p.relative_to(out / "evidence").as_posix() for p in (out / "evidence" / "items").iterdir()} == listed


# ------------------------------------------------------------------------------- fresh / replace

def test_a_folder_holding_a_pack_is_refused_unless_replaced(sample_pack, tmp_path):
    import shutil

    out = tmp_path / "pack"
    shutil.copytree(sample_pack.out, out)
    with pytest.raises(OutputError, match="already holds an evidence pack.*--replace"):
        with OutputFolder(out):
            pass
    assert verify_pack(out).intact  # refused: nothing touched
    (out / "notes.txt").write_text("the auditor's own notes")
    with pytest.raises(OutputError, match="also holds notes.txt; nothing was removed"):
        with OutputFolder(out, replace=True):
            pass
    assert verify_pack(out).lines() == ["added: notes.txt"]
    (out / "notes.txt").unlink()
    with OutputFolder(out, replace=True):
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE, "INCOMPLETE"]


def test_a_killed_run_s_calls_jsonl_is_never_appended_to(tmp_path):
    evidence = tmp_path / "pack" / "evidence"
    evidence.mkdir(parents=True)
    (evidence / "calls.jsonl").write_text('{"id": "c-stale"}\n')  # what a SIGKILLed run leaves
    with pytest.raises(EvidenceError, match="calls.jsonl from an earlier run"):
        LockerWriter(evidence, config_snapshot={}, identity={})
    with pytest.raises(OutputError, match="already holds files \\(evidence\\)"):
        with OutputFolder(tmp_path / "pack"):
            pass
    with OutputFolder(tmp_path / "pack", replace=True):
        assert not evidence.exists()


# ----------------------------------------------------------------------------------- full disk

def full_disk(monkeypatch, when) -> list[str]:
    """Make write_through fail with ENOSPC for the files `when(name)` picks; returns the names tried."""
    tried: list[str] = []
    real = locker_module.write_through

    def write_through(handle, data):
        name = Path(getattr(handle, "name", "")).name
        tried.append(name)
        if when(name):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(handle, data)

    monkeypatch.setattr(locker_module, "write_through", write_through)
    return tried


def _items_after(count: int):
    seen = {"items": 0}

    def when(name: str) -> bool:
        if name.startswith(".e-"):
            seen["items"] += 1
        return seen["items"] > count

    return when


@pytest.mark.parametrize("phase, when", [
    ("evidence item", _items_after(5)),
    ("calls.jsonl", lambda name: name == "calls.jsonl"),
    ("evidence manifest", lambda name: name.startswith(".manifest.json.")),
    ("report", lambda name: name.startswith(".report.html.")),
    ("SHA256SUMS", lambda name: name.startswith(".SHA256SUMS.")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_full_disk_ends_the_run_with_exit_2_and_no_pack_claiming_completeness(config, tmp_path, monkeypatch, quick_pdf,
                                                                               phase, when):
    out = tmp_path / "pack"
    tried = full_disk(monkeypatch, when)
    monkeypatch.setattr("auditor.cli._load", lambda *_args: config)
    code, output = invoke("run", "--config", tmp_path / "unused.yaml", "--out", out)
    assert tried, "no write went through the write interface"
    assert code == 2, output
    assert "No space left on device" in " ".join(output.split())
    assert temporaries(out) == []
    assert not (out / "pack-manifest.json").exists() and not (out / "SHA256SUMS").exists()
    assert not (out / LOCK_FILE).exists()
    monkeypatch.setattr(locker_module, "write_through", real_write_through)
    code, output = invoke("verify", out)
    assert code == 2 and "incomplete pack" in output, output
    code, output = invoke("check", "--evidence", out / "evidence", "--out", tmp_path / "re")
    output = " ".join(output.split())
    if phase in ("evidence item", "calls.jsonl", "evidence manifest"):
        assert code == 2 and "incomplete locker" in output, output
    else:  # the locker was finished before the disk filled, the pack was not: check refuses it all the same
        assert code == 2 and "the locker of an incomplete pack, not re-performed" in output, output
        assert "INCOMPLETE is still there" in output and "it lacks pack-manifest.json, SHA256SUMS" in output, output
        assert not (tmp_path / "re" / "results.json").exists()
    assert (out / "INCOMPLETE").is_file()  # the marker a finished run removes last


def test_a_finished_run_leaves_no_marker_and_its_pack_lists_none(config, tmp_path, quick_pdf):
    out = tmp_path / "pack"
    seen: dict = {}
    real = auditor.runner.write_pack_manifest

    def spy(out_dir, extra=None):  # the marker is there while the pack is written, and not listed in it
        seen["marker"] = (out_dir / "INCOMPLETE").is_file()
        return real(out_dir, extra)

    import unittest.mock

    with unittest.mock.patch.object(auditor.runner, "write_pack_manifest", spy):
        auditor.runner.run(config, out)
    assert seen == {"marker": True}
    assert not (out / "INCOMPLETE").exists()
    manifest = json.loads((out / "pack-manifest.json").read_text())
    assert "INCOMPLETE" not in {f["path"] for f in manifest["files"]}
    assert verify_pack(out).intact
    code, output = invoke("check", "--evidence", out / "evidence", "--out", tmp_path / "re")
    assert code in (0, 3), output


def test_a_complete_locker_only_folder_still_re_performs(config, tmp_path):
    """`auditor collect` then `auditor check` is the documented way to check later: no marker is left."""
    out = tmp_path / "today"
    with OutputFolder(out):
        assert (out / "INCOMPLETE").is_file()
        auditor.runner.collect(config, out / "evidence")
    assert sorted(p.name for p in out.iterdir()) == ["evidence"]
    code, output = invoke("check", "--evidence", out / "evidence", "--out", tmp_path / "re")
    assert code in (0, 3), output
    assert (tmp_path / "re" / "results.json").is_file()


def test_a_full_disk_before_anything_is_written_leaves_nothing(config, tmp_path, monkeypatch):
    out = tmp_path / "pack"
    full_disk(monkeypatch, lambda name: name == "INCOMPLETE")
    monkeypatch.setattr("auditor.cli._load", lambda *_args: config)
    code, output = invoke("run", "--config", tmp_path / "unused.yaml", "--out", out)
    assert code == 2 and "INCOMPLETE: cannot write: No space left on device" in " ".join(output.split()), output
    assert not out.exists()


def test_atomic_write_on_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    full_disk(monkeypatch, lambda name: True)
    with pytest.raises(OutputError, match="results.json: cannot write: No space left on device"):
        locker_module.atomic_write(tmp_path / "results.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_a_report_into_the_pack_that_fails_half_way_withdraws_the_pack_manifest(sample_pack, tmp_path, monkeypatch, quick_pdf):
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(sample_pack.out, pack)
    full_disk(monkeypatch, lambda name: name.startswith(".workbook.xlsx."))
    code, output = invoke("report", "--results", pack / "results.json", "--evidence", pack / "evidence", "--out", pack)
    assert code == 2 and "No space left on device" in " ".join(output.split())
    assert temporaries(pack) == [] and not (pack / "pack-manifest.json").exists() and not (pack / "SHA256SUMS").exists()
    monkeypatch.setattr(locker_module, "write_through", real_write_through)
    code, output = invoke("verify", pack)
    assert code == 2 and "incomplete pack" in output
    code, output = invoke("check", "--evidence", pack / "evidence", "--out", tmp_path / "re")
    assert code == 2 and "the locker of an incomplete pack" in " ".join(output.split()), output
    # the pack is finished by rendering it again once the disk has room
    code, output = invoke("report", "--results", pack / "results.json", "--evidence", pack / "evidence", "--out", pack)
    assert code == 0, output
    assert not (pack / "INCOMPLETE").exists() and verify_pack(pack).intact


def test_a_run_stopped_before_it_wrote_anything_leaves_an_empty_folder_empty(tmp_path):
    """The marker only says a pack is unfinished when there is one: a usage error leaves no INCOMPLETE."""
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        with OutputFolder(out):
            assert (out / "INCOMPLETE").is_file()
            raise RuntimeError("a usage error before any file was written")
    assert list(out.iterdir()) == []
