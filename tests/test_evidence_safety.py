"""An interrupted or killed run leaves a locker that is complete, honestly marked interrupted, or rejected.

Runs `auditor run` in a subprocess against a slow simulator and interrupts it (SIGINT) or kills it
(SIGKILL) while it collects.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from auditor.errors import EvidenceError
from auditor.evidence import locker as locker_module
from auditor.evidence.locker import Locker, LockerWriter, atomic_write
from auditor.simulator import Simulator, load_scenario
from auditor.simulator.faults import Fault


def test_atomic_write_leaves_no_partial_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "items" / "e-1.json"
    target.parent.mkdir()

    def crash(src, dst):
        raise KeyboardInterrupt  # killed between fsync and rename

    monkeypatch.setattr(locker_module.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b'{"items": []}')
    assert not target.exists()
    leftovers = list(target.parent.iterdir())
    assert leftovers == []  # the temporary file is removed on every exit path, Ctrl-C included


def test_atomic_write_fsyncs_before_rename(tmp_path, monkeypatch):
    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(locker_module.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(locker_module.os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b)))
    atomic_write(tmp_path / "x.json", b"{}")
    assert order == ["fsync", "replace"] and (tmp_path / "x.json").read_bytes() == b"{}"


def test_a_locker_without_manifest_is_rejected(tmp_path):
    writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"gcp": "anonymous"})
    recorder = writer.begin_call("sqladmin", "instances.list", {"project": "p"}, "projects/p")
    recorder.page("http://127.0.0.1/x", 200, b'{"items": []}', None)
    recorder.finish()
    (tmp_path / "evidence" / "items" / ".e-0.json.abc.tmp").write_bytes(b'{"ite')  # a write cut short
    with pytest.raises(EvidenceError, match="no evidence manifest"):
        Locker(tmp_path / "evidence")


def test_temp_files_are_never_items(tmp_path):
    writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"gcp": "anonymous"})
    recorder = writer.begin_call("sqladmin", "instances.list", {"project": "p"}, "projects/p")
    recorder.page("http://127.0.0.1/x", 200, b'{"items": []}', None)
    recorder.finish()
    (tmp_path / "evidence" / "items" / ".e-0.json.abc.tmp").write_bytes(b'{"ite')
    manifest = writer.close()
    locker = Locker(tmp_path / "evidence")
    assert all(not Path(item["path"]).name.startswith(".") for item in manifest["items"])
    assert set(locker.items) == set(manifest["calls"][0]["items"])
    assert manifest["interrupted"] is False


def test_close_after_interrupt_ends_open_calls(tmp_path):
    writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"gcp": "anonymous"})
    recorder = writer.begin_call("logging", "entries.list", {"filter": "x"}, "projects/p")
    recorder.page("http://127.0.0.1/x", 200, b'{"entries": []}', None)
    manifest = writer.close(interrupted=True)
    (call,) = manifest["calls"]
    assert manifest["interrupted"] is True and call["outcome"] == "error" and call["error"]["kind"] == "interrupted"
    assert call["items"] and Locker(tmp_path / "evidence").body(call["items"][0])


@pytest.fixture
def slow_simulator(sample_dir):
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as sim:
        sim.faults.add(Fault(kind="slow", delay=0.4))
        yield sim


def _start_run(sample_dir, sim, tmp_path):
    text = (sample_dir / "auditor.yaml").read_text().replace("http://127.0.0.1:8765", sim.url)
    data = yaml.safe_load(text)
    data.pop("github", None)  # the Google collectors are enough to interrupt
    config = tmp_path / "auditor.yaml"
    config.write_text(yaml.safe_dump(data))
    (tmp_path / "inventory.yaml").write_text((sample_dir / "inventory.yaml").read_text())
    out = tmp_path / "pack"
    env = {**os.environ, "NO_GCE_CHECK": "True"}
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--config", str(config), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
                            # a CI runner may start us with SIGINT ignored, which the child would inherit
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    items = out / "evidence" / "items"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (items.is_dir() and any(p.suffix == ".json" for p in items.iterdir())):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    return proc, out


def _check(evidence: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", "check", "--evidence", str(evidence), "--out", str(tmp_path / "re")],
                          capture_output=True, text=True, env={**os.environ, "NO_GCE_CHECK": "True"})


def test_sigkill_mid_run_leaves_a_locker_that_is_rejected(sample_dir, slow_simulator, tmp_path):
    proc, out = _start_run(sample_dir, slow_simulator, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    evidence = out / "evidence"
    assert not (evidence / "manifest.json").exists()
    assert (evidence / "calls.jsonl").exists()  # detectable as an incomplete locker
    for line in (evidence / "calls.jsonl").read_text().splitlines():
        json.loads(line)  # whole lines only: each record is written and flushed in one piece
    result = _check(evidence, tmp_path)
    assert result.returncode == 2
    assert "no evidence manifest" in result.stderr


def test_sigint_mid_run_writes_an_honest_interrupted_pack(sample_dir, slow_simulator, tmp_path):
    proc, out = _start_run(sample_dir, slow_simulator, tmp_path)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3, stderr.decode()
    assert b"interrupted" in stderr
    locker = Locker(out / "evidence")
    assert locker.manifest["interrupted"] is True
    for item_id in locker.items:
        locker.body(item_id)
    results = json.loads((out / "results.json").read_text())
    for control in results["controls"]:
        assert control["status"] != "pass", control["id"]
        assert any(f["status"] == "inconclusive" and f["details"]["unverified"] for f in control["findings"])
    assert (out / "SHA256SUMS").exists()


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "a\x00b", "x" * 5000, "..\\..\\win", "%2e%2e%2f"])
def test_hostile_resource_names_cannot_escape_the_locker(tmp_path, name):
    root = tmp_path / "evidence"
    writer = LockerWriter(root, config_snapshot={}, identity={"gcp": "anonymous"})
    recorder = writer.begin_call("sqladmin", "instances.list", {"project": name, "instance": name}, f"projects/{name}")
    body = json.dumps({"items": [{"name": name, "project": name}]}).encode()
    recorder.page(f"http://127.0.0.1/v1/projects/{name}", 200, body, None)
    recorder.finish()
    writer.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(root.resolve()) for p in files)
    assert {p.name for p in (root / "items").iterdir()} == {f"{i}.json" for i in Locker(root).items}
    from auditor.facts.sources.sql_instances import sql_instance

    instance = sql_instance({"name": name, "project": name}, "e-1")
    assert instance is not None and instance.resource.endswith(name)



def test_pages_are_synced_together_before_the_manifest(tmp_path, monkeypatch):
    """No fsync per page (tens of thousands at scale); one sync, and only then the manifest (fsynced)."""
    order: list[str] = []
    monkeypatch.setattr(locker_module.os, "fsync", lambda fd: order.append("fsync"))
    monkeypatch.setattr(locker_module.os, "sync", lambda: order.append("sync"))
    writer = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={"gcp": "anonymous"})
    for page in range(3):
        recorder = writer.begin_call("sqladmin", "instances.list", {"project": f"p{page}"}, f"projects/p{page}")
        recorder.page("http://127.0.0.1/x", 200, b'{"items": []}', None)
        recorder.finish()
    assert order == []
    writer.close()
    assert order == ["sync", "fsync"]  # every page at once, then the manifest's own fsync
    assert Locker(tmp_path / "evidence").manifest["counts"]["items"] == 3
