"""What the CLI shows in CI: plain progress lines, JSON events, every failed call, `collect`'s failures."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import yaml
from typer.testing import CliRunner

from auditor import cli
from auditor.display import Display
from auditor.simulator import Simulator, load_scenario


def _call(api, method="m.list", scope="projects/p"):
    return SimpleNamespace(api=api, method=method, scope=scope)


def _record(outcome="ok", kind=None):
    return SimpleNamespace(outcome=outcome, error={"kind": kind, "reason": "R"} if kind else None, requests=1, retries=0,
                           items=["i"], started_at="2026-01-01T00:00:00Z", ended_at="2026-01-01T00:00:01Z")


def test_plain_progress_prints_calls_done_of_total_per_api_while_running():
    stream = io.StringIO()
    display = Display(stream, terminal=False, interval=0.05)
    with display.progress() as progress:
        calls = [_call("sqladmin"), _call("sqladmin"), _call("storage")]
        for call in calls:
            progress.started(call)
        progress.finished(calls[0], _record(), 2)
        progress.finished(calls[2], _record("error", "permission_denied"), 1)
        time.sleep(0.3)  # a slow call: the lines keep coming while nothing ends
        lines_while_waiting = stream.getvalue().splitlines()
        progress.finished(calls[1], _record(), 0)
    assert len(lines_while_waiting) >= 2
    assert lines_while_waiting[-1].startswith("collecting: 2 of 3 calls done (sqladmin 1/2, storage 1/1); 1 failed")
    assert stream.getvalue().splitlines()[-1].startswith("collected: 3 of 3 calls done (sqladmin 2/2, storage 1/1); 1 failed")


def test_quiet_shows_no_progress_and_verbose_one_line_per_call():
    stream = io.StringIO()
    with Display(stream, terminal=False, quiet=True, interval=0.01).progress() as progress:
        progress.started(_call("storage"))
        progress.finished(_call("storage"), _record(), 0)
        time.sleep(0.05)
    assert stream.getvalue() == ""
    stream = io.StringIO()
    with Display(stream, terminal=False, verbose=True, interval=60).progress() as progress:
        progress.started(_call("storage"))
        progress.finished(_call("storage"), _record("error", "timeout"), 0)
    assert "  error timeout R: storage m.list projects/p (1 requests)" in stream.getvalue()


def test_every_failed_call_is_listed_or_counted(capsys):
    failed = [{"api": "sqladmin", "method": "instances.list", "scope": f"projects/p{i}",
               "error": {"kind": "permission_denied", "reason": "IAM_PERMISSION_DENIED"}} for i in range(cli.FAILED_CALLS_SHOWN + 7)]
    cli._failed_calls(failed, 100, "evidence/manifest.json")
    err = capsys.readouterr().err
    assert f"{len(failed)} of 100 calls failed" in err
    assert sum(1 for line in err.splitlines() if "IAM_PERMISSION_DENIED" in line) == cli.FAILED_CALLS_SHOWN
    assert "and 7 more, all in the pack (evidence/manifest.json)" in err


def test_json_log_has_one_event_per_line_for_every_call_check_and_file(tmp_path):
    out = tmp_path / "pack"
    proc = subprocess.run([sys.executable, "-m", "auditor", "demo", "--out", str(out), "--outputs", "json,junit",
                           "--log-format", "json"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_GCE_CHECK": "True"})
    assert proc.returncode == 3, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    manifest = json.loads((out / "evidence" / "manifest.json").read_text())
    kinds = [e["event"] for e in events]
    assert kinds.count("call.started") == kinds.count("call.ended") == len(manifest["calls"])
    ended = [e for e in events if e["event"] == "call.ended"]
    assert sorted((e["api"], e["method"], e["scope"], e["outcome"]) for e in ended) == sorted(
        (c["api"], c["method"], c["scope"], c["outcome"]) for c in manifest["calls"])
    assert {e["reason"] for e in ended if e["outcome"] != "ok"} >= {"IAM_PERMISSION_DENIED", "SERVICE_DISABLED"}
    results = json.loads((out / "results.json").read_text())
    assert [e["check"] for e in events if e["event"] == "check.done"] == [c["id"] for c in results["controls"]]
    written = {os.path.basename(e["path"]) for e in events if e["event"] == "file.written"}
    assert {"results.json", "junit.xml", "manifest.json", "SHA256SUMS"} <= written
    assert events[-1]["event"] == "run.done" and events[-1]["exit_code"] == 3


def test_collect_lists_what_failed(tmp_path, sample_dir):
    with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as simulator:
        config = yaml.safe_load((sample_dir / "auditor.yaml").read_text())
        config["gcp"]["endpoints"] = {api: simulator.url for api in config["gcp"]["endpoints"]}
        config.pop("github", None)
        config["inventory"] = str(sample_dir / "inventory.yaml")
        path = tmp_path / "auditor.yaml"
        path.write_text(yaml.safe_dump(config))
        result = CliRunner().invoke(cli.app, ["collect", "--config", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "sqladmin instances.list projects/bks-legacy: permission_denied IAM_PERMISSION_DENIED" in result.output
    assert "sqladmin instances.list projects/bks-sandbox: service_disabled SERVICE_DISABLED" in result.output
