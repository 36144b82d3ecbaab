"""The output formats a run, a check or a report may write (`--outputs`), and the one place that writes them.

Daily CI wants results, JUnit and SARIF in seconds; the quarter's pack wants the PDF people read.
Each format is one file of the pack. `json` (results.json) is always written by `run` and `check`:
every other output, `gate` and `verify` read it. `samples.json` (the auditor's sample) comes with
the human-readable formats, which show it.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from auditor.errors import ConfigError
from auditor.evidence.locker import atomic_write

#: format -> the file it writes in the output folder
FILES = {
    "json": "results.json",
    "html": "report.html",
    "pdf": "report.pdf",
    "xlsx": "workbook.xlsx",
    "csv": "findings.csv",
    "oscal": "oscal-assessment-results.json",
    "junit": "junit.xml",
    "sarif": "results.sarif",
}
FORMATS = tuple(FILES)
#: what a pack held before formats could be chosen; still the default
DEFAULT_OUTPUTS = ("json", "html", "pdf", "xlsx", "oscal")
HUMAN = ("html", "pdf", "xlsx")  # these show the auditor's sample, so samples.json comes with them
SAMPLES = "samples.json"
OSCAL_PLAN = "oscal-assessment-plan.json"  # written with `oscal` when the OSCAL renderer has a plan


class UsageError(ConfigError):
    """A command-line value is wrong (exit 2, before any work)."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_outputs(value: str | None) -> tuple[str, ...]:
    """`--outputs json,sarif` -> ("json", "sarif"); `all` is every format; None is the default set."""
    if value is None or not value.strip():
        return DEFAULT_OUTPUTS
    chosen: list[str] = []
    for word in (w.strip().lower() for w in value.split(",")):
        if not word:
            continue
        if word == "all":
            chosen.extend(FORMATS)
            continue
        if word not in FILES:
            raise UsageError(f"--outputs: unknown format {word!r}{did_you_mean(word, FORMATS)}; "
                             f"choose from {', '.join(FORMATS)} (or all)")
        chosen.append(word)
    formats = tuple(dict.fromkeys(["json", *chosen]))  # results.json is always written, and first
    if "csv" in formats:
        _csv_writer()  # a missing renderer is a usage error now, not after a collection
    return formats


def _csv_writer() -> Callable[[dict[str, Any], Path], None]:
    try:
        from auditor.reports.csv import write_csv
    except ImportError as err:
        raise UsageError("--outputs csv: this build has no CSV renderer (auditor.reports.csv)") from err
    return write_csv


@dataclass(frozen=True)
class Sources:
    """The repository files a SARIF result can point at (paths as code scanning sees them, texts to find lines in)."""

    config_uri: str | None = None
    config_text: str | None = None
    inventory_uri: str | None = None
    inventory_text: str | None = None

    def locator(self) -> Any:
        from auditor.reports.sarif import Locator, SourceFile

        config = SourceFile(self.config_uri, self.config_text) if self.config_uri and self.config_text is not None else None
        inventory = (SourceFile(self.inventory_uri, self.inventory_text)
                     if self.inventory_uri and self.inventory_text is not None else None)
        if config is None and inventory is None:
            raise UsageError("--outputs sarif: each result must point at a line of the repository, and neither the "
                             "config nor the data map is known here; give --config FILE (the auditor.yaml the evidence "
                             "was collected with)")
        return Locator(config, inventory)


def repo_relative(path: Path, workspace: str | None = None) -> str:
    """The path as code scanning names it: relative to the checkout ($GITHUB_WORKSPACE), else to the
    nearest folder holding .git, else to the current folder; the bare name when none contains it."""
    path = path.resolve()
    roots: list[Path] = []
    if workspace:
        roots.append(Path(workspace).resolve())
    roots.extend(p for p in path.parents if (p / ".git").exists())
    roots.append(Path.cwd().resolve())
    for root in roots:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name


def sources_from_files(config_path: Path | None, inventory_path: Path | None, env: Mapping[str, str]) -> Sources:
    """For `run`: the config and data map as they are on disk."""
    workspace = env.get("GITHUB_WORKSPACE")

    def read(path: Path | None, kind: str) -> tuple[str | None, str | None]:
        if path is None:
            return None, None
        from auditor import reading
        from auditor.errors import ConfigError

        try:  # both were read and validated before the run; this is the same reading path again
            return repo_relative(path, workspace), reading.read_text(path, kind, error=ConfigError)
        except ConfigError:
            return None, None

    config_uri, config_text = read(config_path, "config")
    inventory_uri, inventory_text = read(inventory_path, "inventory")
    return Sources(config_uri, config_text, inventory_uri, inventory_text)


def sources_from_locker(locker: Any, config_path: Path | None, env: Mapping[str, str]) -> Sources:
    """For `check` and `report`: the data map as stored in the locker (its text at collection time), and
    the config when the user names it."""
    workspace = env.get("GITHUB_WORKSPACE")
    config = sources_from_files(config_path, None, env)
    for call in locker.calls("inventory", "read"):
        for item_id in call.get("items", []):
            try:
                body = json.loads(locker.body(item_id))
                document = body["documents"][0]
                return Sources(config.config_uri, config.config_text, repo_relative(Path(document["path"]), workspace),
                               document["text"])
            except (ValueError, KeyError, IndexError, TypeError):
                continue
    return config


def render(results: dict[str, Any], manifest: dict[str, Any], out_dir: Path, outputs: tuple[str, ...], *,
           seed: str | None = None, results_sha256: str | None = None, sources: Sources | None = None,
           written: Callable[[Path], None] | None = None) -> list[Path]:
    """Write the chosen formats other than results.json (written by the caller, before the rest).

    `written` is told of each file as it lands (the CLI's log). Returns the paths in the order written.
    """
    from auditor.runner import write_json

    paths: list[Path] = []

    def done(path: Path) -> None:
        paths.append(path)
        if written is not None:
            written(path)

    if sources is not None and "sarif" in outputs:
        locator = sources.locator()  # a usage error, before anything is rendered
    elif "sarif" in outputs:
        locator = Sources().locator()
    samples = None
    if any(name in outputs for name in HUMAN):
        from auditor.sampling import draw

        sizes = (manifest.get("config") or {}).get("sampling")
        samples = draw(results, seed, sizes)
        write_json(out_dir / SAMPLES, samples)
        done(out_dir / SAMPLES)
    if "html" in outputs or "pdf" in outputs:
        from auditor.reports.html import render_html

        integrity = {"results_sha256": results_sha256}
        if "pdf" in outputs:
            from auditor.reports.pdf import render_pdf

            # the print form: the same templates without the rows print media hides (auditor.reports.html.FORMS)
            printed = render_html(results, manifest, samples=samples, integrity=integrity, form="print")
            atomic_write(out_dir / FILES["pdf"], render_pdf(printed))
            del printed
            done(out_dir / FILES["pdf"])
        if "html" in outputs:
            html = render_html(results, manifest, samples=samples, integrity=integrity)
            atomic_write(out_dir / FILES["html"], html.encode())
            done(out_dir / FILES["html"])
    if "xlsx" in outputs:
        from auditor.reports.workbook import render_workbook

        atomic_write(out_dir / FILES["xlsx"], render_workbook(results, manifest, samples))
        done(out_dir / FILES["xlsx"])
    if "oscal" in outputs:
        from auditor.reports import oscal

        plan = getattr(oscal, "render_oscal_plan", None)  # the assessment plan the results' import-ap points at
        if plan is not None:
            atomic_write(out_dir / OSCAL_PLAN, plan(results))
            done(out_dir / OSCAL_PLAN)
        atomic_write(out_dir / FILES["oscal"], oscal.render_oscal(results, manifest))
        done(out_dir / FILES["oscal"])
    if "csv" in outputs:
        _csv_writer()(results, out_dir / FILES["csv"])
        done(out_dir / FILES["csv"])
    if "junit" in outputs:
        from auditor.ci import write_junit

        write_junit(out_dir / FILES["junit"], results)
        done(out_dir / FILES["junit"])
    if "sarif" in outputs:
        from auditor import __version__
        from auditor.reports.sarif import render_sarif

        atomic_write(out_dir / FILES["sarif"], render_sarif(results, locator, tool_version=__version__).encode())
        done(out_dir / FILES["sarif"])
    return paths
