"""The wheel a user installs with `pip install .` / `pipx install .` runs the demo from anywhere.

The wheel is built from a copy of the repository's tracked files and installed into a fresh virtual
environment; `auditor demo` then runs from an empty folder, so templates, schemas and the sample
company must come from the wheel (the check asserts the imported package lives in the new
environment, not in the repository). In the suite the new environment borrows the test
environment's already-installed dependencies (a path entry; the editable install of the project
itself is not visible through it) to stay well under a minute; `make install-check` sets
AUDITOR_INSTALL_CHECK=full and installs the wheel with all its dependencies from the package index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tracked_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


def test_the_wheel_installs_and_runs_the_demo_from_an_empty_folder(tmp_path):
    full = os.environ.get("AUDITOR_INSTALL_CHECK") == "full"
    source = _tracked_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("soc2_backup_auditor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("auditor/templates/report.html.j2", "auditor/schemas/results.v1.json", "auditor/schemas/config.v1.json",
                   "auditor/samples/bangkok-solutions/auditor.yaml", "auditor/samples/bangkok-solutions/scenario.yaml",
                   "auditor/reports/sarif.py", "auditor/checks/__init__.py", "auditor/data/regions.csv"):
        assert needed in names, needed
    assert not any(n.startswith(("checks/", "reports/", "templates/", "tests/")) for n in names)  # no generic top-level packages
    # every package of the source tree is in the wheel (a subpackage missing from pyproject's list breaks the install only)
    mapped = {"auditor": "auditor", "checks": "auditor/checks", "reports": "auditor/reports"}
    for top, inside in mapped.items():
        for init in (ROOT / top).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                assert f"{inside}/{init.relative_to(ROOT / top).as_posix()}" in names, init

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    if full:
        subprocess.run([*install, str(wheel)], check=True, timeout=1800)
    else:
        subprocess.run([*install, "--no-deps", str(wheel)], check=True, timeout=300)
        new_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip()
        # the test environment's dependencies, as a plain path entry (its .pth files, the editable install among them, are not run)
        Path(new_site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run([str(python), "-c", "import auditor; print(auditor.__file__)"], capture_output=True, text=True,
                           check=True, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(venv)), where

    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"NO_GCE_CHECK": "True"}
    proc = subprocess.run([str(venv / "bin" / "auditor"), "demo", "--out", "pack", "--outputs", "json,html,sarif"], cwd=work,
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 3, proc.stderr[-3000:]  # the sample's denied project and disabled API, on purpose
    results = json.loads((work / "pack" / "results.json").read_text())
    assert len(results["controls"]) >= 12
    assert (work / "pack" / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert json.loads((work / "pack" / "results.sarif").read_text())["runs"][0]["results"]
