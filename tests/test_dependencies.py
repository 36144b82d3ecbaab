"""Each runtime dependency is imported by the tool itself (auditor/, checks/, reports/); test-only ones live in the extra."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: distributions used without an import of their own name
INDIRECT = {"google-auth-httplib2": "google_auth_httplib2"}
#: distributions another dependency uses when present, with that dependency: the tool imports the latter
USED_BY = {"lxml": "openpyxl"}  # openpyxl writes the workbook's XML through lxml when it is importable


def _name(requirement: str) -> str:
    """The distribution's normalised name (PEP 503: jsonschema-rs and jsonschema_rs are one)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip()).lower()


def test_every_runtime_dependency_is_imported_at_run_time():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r).lower() for r in project["dependencies"]}
    imported: set[str] = set()
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
    for folder in ("auditor", "checks", "reports"):
        for path in (ROOT / folder).rglob("*.py"):
            imported |= set(pattern.findall(path.read_text()))
    distributions = packages_distributions()
    used = {_name(dist) for module in imported for dist in distributions.get(module, [])}
    unused = sorted(name for name in runtime if name not in used and INDIRECT.get(name) not in imported
                    and USED_BY.get(name) not in imported)
    assert not unused, f"runtime dependencies the tool never imports (move them to an extra): {unused}"
    test_only = {_name(r).lower() for r in project["optional-dependencies"]["test"]}
    assert {"pandas", "compliance-trestle"} <= test_only and not {"pandas", "compliance-trestle"} & runtime
