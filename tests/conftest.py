"""Test set-up: nothing may probe the cloud metadata server, and every test is offline but for 127.0.0.1.

Also the expensive set-ups that many tests only READ, built once per session:

- ``sample_pack``: the sample company's evidence pack, made by ``auditor demo`` exactly as a user runs
  it (simulator, client libraries, locker, checks, HTML, PDF, workbook, OSCAL). Rendering the PDF is
  most of a pack's cost, so one build serves the end-to-end, pack, CLI and token tests.
- ``sample_google_collection``: the sample scenario collected by the Google collectors alone.

Both are shared read-only: a test that changes files copies the folder into its own ``tmp_path``
first. A digest of every file is taken after the build and compared at the end of the session, so a
test that wrote into a shared folder fails loudly instead of quietly changing what others read.

Under pytest-xdist (`make test` runs `-n auto`) each worker is its own session: the first worker that
needs a shared build makes it under a file lock in the run's common temporary folder, and the others
wait for it and load it from there, so each is still built once per run.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import pickle
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest

os.environ["NO_GCE_CHECK"] = "True"
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)

#: The auditor's sample seed the shared pack is drawn with (tests/test_pack.py checks it is printed).
SAMPLE_SEED = "auditor-2026-q3"
#: A distinctive GitHub token for the shared pack's run; tests/test_github_collector.py greps every output for it.
SAMPLE_TOKEN = "ghp_TESTtokenValue0123456789abcdefXYZ"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return Path(str(resources.files("auditor.samples") / "bangkok-solutions"))


@dataclass(frozen=True)
class SamplePack:
    """One `auditor demo --out DIR --seed SAMPLE_SEED` run, with everything it showed.

    ``out`` is shared by every test that asks for it: read it, or copy it before changing anything.
    """

    out: Path
    exit_code: int
    output: str  # the terminal as a user saw it: stdout and stderr interleaved
    stdout: str
    logs: str  # every log record of the run, DEBUG and up
    outcome: Any  # the auditor.runner.RunOutcome the command's run returned
    stats: dict  # the simulator's request counts, per (api, "METHOD /template")
    seed: str
    token: str


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _unchanged(folder: Path, before: dict[str, str], what: str) -> None:
    after = _digests(folder)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"a test changed the shared {what} (copy it into tmp_path first): {changed[:10]}"


T = TypeVar("T")


@pytest.fixture(scope="session")
def _build_once(tmp_path_factory):
    """``build_once(name, build, what)``: ``build(folder)`` once per test run, its folder checked at the end.

    Without xdist that is once per session. With xdist, the workers of one run share the parent of
    their temporary folders: the first to take the lock builds there and pickles the value (plain
    data) with the folder's digests; the others unpickle both. Every worker checks the folder at its end.
    """
    checks: list[tuple[Path, dict[str, str], str]] = []

    def build_once(name: str, build: Callable[[Path], T], what: str) -> T:
        if os.environ.get("PYTEST_XDIST_WORKER") is None:
            folder = tmp_path_factory.mktemp(name)
            value = build(folder)
            digests = _digests(folder)
        else:
            root = tmp_path_factory.getbasetemp().parent
            folder, stored = root / name, root / f"{name}.pickle"
            with open(root / f"{name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also if build() raises
                if not stored.is_file():
                    folder.mkdir()
                    value = build(folder)
                    stored.write_bytes(pickle.dumps((value, _digests(folder))))
                value, digests = pickle.loads(stored.read_bytes())
        checks.append((folder, digests, what))
        return value

    yield build_once
    for folder, digests, what in checks:
        _unchanged(folder, digests, what)


@pytest.fixture(scope="session")
def sample_pack(_build_once) -> SamplePack:
    """The sample company's pack, built once through the CLI's demo command.

    The command runs unchanged; two spies only record what it made: the RunOutcome that
    auditor.runner.run returned and the simulator instance (for its request counts).
    """
    return SamplePack(**_build_once("sample-pack", _demo, "sample pack"))


def _demo(folder: Path) -> dict[str, Any]:
    from typer.testing import CliRunner

    import auditor.runner
    import auditor.simulator
    from auditor.cli import app

    out = folder / "pack"
    outcomes: list = []
    simulators: list = []
    real_run, real_simulator = auditor.runner.run, auditor.simulator.Simulator

    def recording_run(*args, **kwargs):
        outcome = real_run(*args, **kwargs)
        outcomes.append(outcome)
        return outcome

    class RecordedSimulator(real_simulator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            simulators.append(self)

    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(logging.Formatter("%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GITHUB_TOKEN", SAMPLE_TOKEN)  # the sample config's github.token_env
            mp.setattr(auditor.runner, "run", recording_run)
            mp.setattr(auditor.simulator, "Simulator", RecordedSimulator)
            result = CliRunner().invoke(app, ["demo", "--out", str(out), "--seed", SAMPLE_SEED])
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert len(outcomes) == 1 and len(simulators) == 1, result.output
    return dict(out=out, exit_code=result.exit_code, output=result.output, stdout=result.stdout, logs=logs.getvalue(),
                outcome=outcomes[0], stats=dict(simulators[0].stats), seed=SAMPLE_SEED, token=SAMPLE_TOKEN)


@dataclass(frozen=True)
class SampleCollection:
    """The sample scenario collected by the Google collectors alone (config ``github: null``), default page sizes."""

    collection: Any  # auditor.runner.Collection; its evidence_dir is shared, read-only
    stats: dict


@pytest.fixture(scope="session")
def sample_google_collection(sample_dir, _build_once) -> SampleCollection:
    from auditor.config import load_config
    from auditor.runner import collect
    from auditor.simulator import Simulator, load_scenario

    def build(folder: Path) -> dict[str, Any]:
        config = load_config(sample_dir / "auditor.yaml").model_copy(update={"github": None})
        with Simulator(load_scenario(sample_dir / "scenario.yaml"), port=0) as simulator:
            collection = collect(config.with_endpoints(simulator.url), folder / "evidence")
            return dict(collection=collection, stats=dict(simulator.stats))

    return SampleCollection(**_build_once("sample-google", build, "sample Google collection"))
