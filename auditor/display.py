"""What a command shows while it works: progress, events and the files it wrote, on stderr.

stdout is for results (the summary table, file paths, gate reports), so everything here goes to
stderr. Four ways to show it, chosen by the CLI from `--quiet`, `--verbose`, `--log-format` and
whether stderr is a terminal:

- a terminal: rich's live progress bar (the call in flight, calls done of total);
- not a terminal (CI logs): a plain line every few seconds, calls done of total and per API, so a
  17-minute GitHub collection is never silent; `--verbose` adds one line per call that ends;
- `--log-format json`: one JSON object per line and event (call.started, call.ended with its
  outcome, check.done, file.written, run.done), for log pipelines;
- `--quiet`: nothing but warnings and errors.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, TextIO

LOG_FORMATS = ("text", "json")
PLAIN_INTERVAL = 5.0  # seconds between plain progress lines


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Counts:
    """Calls done and known, in total and per API (the scheduler tells us each call as it is queued)."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.failed = 0
        self.started = time.monotonic()

    def queued(self, api: str) -> None:
        self.known[api] = self.known.get(api, 0) + 1

    def ended(self, api: str, ok: bool) -> None:
        self.done[api] = self.done.get(api, 0) + 1
        self.failed += 0 if ok else 1

    def line(self) -> str:
        done, known = sum(self.done.values()), sum(self.known.values())
        per_api = ", ".join(f"{api} {self.done.get(api, 0)}/{n}" for api, n in sorted(self.known.items()))
        failed = f"; {self.failed} failed" if self.failed else ""
        return f"collecting: {done} of {known} calls done ({per_api}){failed}; {time.monotonic() - self.started:.0f} s"


class Display:
    """One command's progress and event output (see the module docstring)."""

    def __init__(self, stream: TextIO, *, terminal: bool, quiet: bool = False, verbose: bool = False,
                 log_format: str = "text", interval: float = PLAIN_INTERVAL,
                 rich_console: Any = None) -> None:
        self.stream, self.terminal = stream, terminal
        self.quiet, self.verbose, self.log_format = quiet, verbose, log_format
        self.interval = interval
        self.rich_console = rich_console
        self._lock = threading.Lock()

    @property
    def json(self) -> bool:
        return self.log_format == "json"

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def event(self, name: str, **fields: Any) -> None:
        """A JSON event line (json format only)."""
        if self.json:
            self._write(json.dumps({"time": _now(), "event": name, **fields}, default=str))

    def info(self, text: str) -> None:
        """A plain message: shown unless --quiet, and not in the json format (which has events instead)."""
        if not self.quiet and not self.json:
            self._write(text)

    def file_written(self, path: Path) -> None:
        size = path.stat().st_size if path.is_file() else None
        self.event("file.written", path=str(path), bytes=size)
        if self.verbose and not self.json and not self.quiet:
            self._write(f"wrote {path} ({size} bytes)")

    def checks_done(self, results: dict[str, Any]) -> None:
        for control in results.get("controls", []):
            counts: dict[str, int] = {}
            for finding in control["findings"]:
                counts[finding["status"]] = counts.get(finding["status"], 0) + 1
            self.event("check.done", check=control["id"], status=control["status"],
                       effective_status=control["effective_status"], findings=counts)

    @contextmanager
    def progress(self) -> Iterator[Any]:
        """The scheduler's Progress for one collection."""
        if self.json:
            yield _JsonProgress(self)
        elif self.quiet:
            yield _Silent()
        elif self.terminal and not self.verbose and self.rich_console is not None:
            with _rich_progress(self.rich_console) as bar:
                yield bar
        else:
            with _plain_progress(self) as plain:
                yield plain


class _Silent:
    def started(self, call: Any) -> None:
        pass

    def finished(self, call: Any, record: Any, queued: int) -> None:
        pass


def _ended_fields(call: Any, record: Any) -> dict[str, Any]:
    error = record.error or {}
    fields = {"api": call.api, "method": call.method, "scope": call.scope, "outcome": record.outcome,
              "requests": record.requests, "retries": record.retries, "pages": len(record.items),
              "started_at": record.started_at, "ended_at": record.ended_at}
    if record.outcome != "ok":
        fields.update(kind=error.get("kind"), reason=error.get("reason"), http_status=error.get("http_status"))
    return fields


class _JsonProgress:
    def __init__(self, display: Display) -> None:
        self.display = display

    def started(self, call: Any) -> None:
        self.display.event("call.started", api=call.api, method=call.method, scope=call.scope)

    def finished(self, call: Any, record: Any, queued: int) -> None:
        self.display.event("call.ended", **_ended_fields(call, record))


class _PlainProgress:
    def __init__(self, display: Display) -> None:
        self.display = display
        self.counts = Counts()

    def started(self, call: Any) -> None:
        self.counts.queued(call.api)

    def finished(self, call: Any, record: Any, queued: int) -> None:
        self.counts.ended(call.api, record.outcome == "ok")
        if self.display.verbose:
            error = record.error or {}
            why = "" if record.outcome == "ok" else f" {error.get('kind')} {error.get('reason') or ''}".rstrip()
            self.display._write(f"  {record.outcome}{why}: {call.api} {call.method} {call.scope} "
                                f"({record.requests} requests)")


@contextmanager
def _plain_progress(display: Display) -> Iterator[_PlainProgress]:
    plain = _PlainProgress(display)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(display.interval):
            display._write(plain.counts.line())

    ticker = threading.Thread(target=tick, name="auditor-progress", daemon=True)
    ticker.start()
    try:
        yield plain
    finally:
        stop.set()
        ticker.join(timeout=1)
        if plain.counts.known:
            display._write(plain.counts.line().replace("collecting:", "collected:", 1))


class _RichBar:
    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.task = progress.add_task("collecting", total=0)
        self.done = 0

    def started(self, call: Any) -> None:
        self.progress.update(self.task, description=f"{call.api} {call.method} {call.scope}")

    def finished(self, call: Any, record: Any, queued: int) -> None:
        self.done += 1
        self.progress.update(self.task, completed=self.done, total=self.done + queued)


@contextmanager
def _rich_progress(console: Any) -> Iterator[_RichBar]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield _RichBar(progress)
