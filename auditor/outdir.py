"""The output folder of a run, taken for the run's whole life.

Two runs into one `--out` would overwrite each other's files (the last manifest wins, items it does
not list are left behind, calls.jsonl gets both runs' lines). So a run:

- takes the folder with an exclusive lock (flock on the folder itself, released by the kernel if
  the process dies) and records its pid in `.auditor.lock`, so a second run refuses (exit 2)
  naming the holder;
- starts from an empty or absent folder; a folder holding a pack, or the leftovers of a run that
  did not finish, is refused unless the run was told to replace it (`--replace`), and then only
  the files a pack consists of are removed (the pack's claim of completeness first), never anything
  else found there;
- on every exit path removes its temporary files, and on a failure (a full disk) removes the
  pack manifest and SHA256SUMS if it had written them, so a folder never claims a complete pack
  that is not one;
- writes `INCOMPLETE` into the folder before anything else and removes it only after its last file
  (SHA256SUMS) is written. A run a full disk, a bug or a SIGKILL stopped leaves it behind, so
  `auditor check` refuses that folder's locker and `auditor verify` names the pack incomplete even
  when the locker itself was finished before the disk filled (the locker is complete, the pack is not,
  and a re-performance of it would read as the pack's). A folder `auditor collect` finished has no
  marker: checking a complete locker-only folder is the documented way to re-perform later.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from pathlib import Path
from types import TracebackType

from auditor.errors import EvidenceError, OutputError

LOCK_FILE = ".auditor.lock"
PACK_MANIFEST = "pack-manifest.json"
SUMS = "SHA256SUMS"
#: Written first and removed last by a run: while it exists the folder is not a finished pack or locker.
UNFINISHED = "INCOMPLETE"
#: Files that make a finished pack (for the message naming what an unfinished one lacks).
PACK_CLAIMS = ("evidence/manifest.json", "results.json", PACK_MANIFEST, SUMS)
#: What a pack folder holds besides the files its manifest lists (for a run that did not finish).
PACK_NAMES = ("evidence", "results.json", "report.html", "report.pdf", "workbook.xlsx", "oscal-assessment-results.json",
              "samples.json", "results.csv", "results.sarif", "junit.xml", PACK_MANIFEST, SUMS, UNFINISHED)
_TMP = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def is_temporary(name: str) -> bool:
    """A file atomic_write is still writing (or one a killed run left behind)."""
    return bool(_TMP.match(name))


def _holder(folder: Path) -> str:
    try:
        text = (folder / LOCK_FILE).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another run (its pid is not recorded yet)"
    pid = text.split()[0] if text else ""
    return f"another run (pid {pid})" if pid.isdigit() else "another run"


def _pack_listing(folder: Path) -> set[str]:
    """Top-level names the folder's pack manifest lists (a readable one), for --replace."""
    from auditor import reading

    try:
        _raw, manifest = reading.read_json(folder / PACK_MANIFEST, "pack manifest", error=OutputError)
    except OutputError:
        return set()
    files = manifest.get("files") if isinstance(manifest, dict) else None
    names = set()
    for entry in files if isinstance(files, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(path, str) and path and not path.startswith(("/", "..")):
            names.add(path.split("/", 1)[0])
    return names


class OutputFolder:
    """`with OutputFolder(path, fresh=True, replace=False):` -- see the module's docstring.

    `fresh=False` (check, report) takes the lock only: those commands add files to a folder that may
    already hold others (report writes into the pack it renders; `claims=True` then withdraws the pack
    manifest and SHA256SUMS if the rewrite fails half-way, so the pack never claims to be complete)."""

    def __init__(self, path: str | Path, *, fresh: bool = True, replace: bool = False, claims: bool | None = None) -> None:
        self.path = Path(path)
        self.fresh = fresh
        self.claims = fresh if claims is None else claims  # a failure withdraws the pack's claim of completeness
        self.replace = replace
        self._fd: int | None = None

    def __enter__(self) -> "OutputFolder":
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as err:
            raise OutputError(f"{self.path}: cannot use as the output folder: {err.strerror or err}") from err
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(self._fd)
            self._fd = None
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(f"{self.path}: {_holder(self.path)} is writing into this folder; "
                                  "wait for it to finish or choose another --out") from err
            raise OutputError(f"{self.path}: cannot lock the output folder: {err.strerror or err}") from err
        try:
            if self.fresh:
                self._make_fresh()
            self._write_lock_file()
            if self.claims:
                self._write_marker()
        except BaseException:
            self._release()
            raise
        return self

    def _write_lock_file(self) -> None:
        try:
            (self.path / LOCK_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
        except OSError as err:
            raise OutputError(f"{self.path / LOCK_FILE}: cannot write: {err.strerror or err}") from err

    def _write_marker(self) -> None:
        from datetime import datetime, timezone

        started = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        text = (f"A run (pid {os.getpid()}, started {started}) is writing this folder, or stopped before it finished.\n"
                "Until a run finishes it, `auditor verify` calls the pack incomplete and `auditor check` refuses its\n"
                "locker. Run again with --replace (or, when results.json is here, finish the pack with\n"
                "`auditor report --results DIR/results.json --evidence DIR/evidence --out DIR`).\n")
        from auditor.evidence import locker  # its write_through: the one place bytes reach the disk

        try:
            with open(self.path / UNFINISHED, "wb") as handle:
                locker.write_through(handle, text.encode())
                os.fsync(handle.fileno())
        except OSError as err:
            raise OutputError(f"{self.path / UNFINISHED}: cannot write: {err.strerror or err}") from err

    def _make_fresh(self) -> None:
        entries = sorted(p.name for p in self.path.iterdir() if p.name != LOCK_FILE)
        if not entries:
            return
        holds_pack = (self.path / PACK_MANIFEST).exists() or (self.path / SUMS).exists()
        what = "an evidence pack" if holds_pack else f"files ({', '.join(entries[:5])}{', ...' if len(entries) > 5 else ''})"
        if not self.replace:
            raise OutputError(f"{self.path}: already holds {what}; choose an empty or new --out folder, "
                              "or pass --replace to replace the pack")
        ours = set(PACK_NAMES) | _pack_listing(self.path)
        foreign = [name for name in entries if name not in ours and not is_temporary(name)]
        if foreign:
            raise OutputError(f"{self.path}: --replace removes only a pack's own files, and this folder also holds "
                              f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}; nothing was removed")
        # the claim of completeness goes first, so an interrupted replacement never looks like a pack
        # and an unfinished run's marker last, so an interrupted replacement still reads as unfinished
        first, last = (SUMS, PACK_MANIFEST), (UNFINISHED,)
        order = ([n for n in first if n in entries] + [n for n in entries if n not in first + last]
                 + [n for n in last if n in entries])
        for name in order:
            target = self.path / name
            try:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            except OSError as err:
                raise OutputError(f"{target}: cannot remove the earlier pack's file: {err.strerror or err}") from err

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        try:
            remove_temporary_files(self.path)
            if err is not None and self.claims:
                # a run that failed never leaves a folder claiming a complete pack
                for name in (SUMS, PACK_MANIFEST):
                    try:
                        (self.path / name).unlink(missing_ok=True)
                    except OSError:
                        pass
                self._drop_marker_if_nothing_written()
            elif err is None and self.claims:
                # the last step of a finished run: the folder no longer says it is unfinished
                try:
                    (self.path / UNFINISHED).unlink(missing_ok=True)
                except OSError as unlink_err:
                    raise OutputError(f"{self.path / UNFINISHED}: cannot remove: {unlink_err.strerror or unlink_err}") from unlink_err
        finally:
            self._release()

    def _drop_marker_if_nothing_written(self) -> None:
        """A run stopped before it wrote anything (a usage error) leaves the folder as it found it."""
        try:
            if all(p.name in (LOCK_FILE, UNFINISHED) for p in self.path.iterdir()):
                (self.path / UNFINISHED).unlink(missing_ok=True)
        except OSError:
            pass

    def _release(self) -> None:
        if self._fd is None:
            return
        try:
            (self.path / LOCK_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None


def remove_temporary_files(folder: Path) -> None:
    """Every temporary file atomic_write left in the folder (none unless a process died mid-write)."""
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            if is_temporary(name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                except OSError:
                    pass


def unfinished(folder: Path) -> str | None:
    """Why `folder` (a pack or collect folder) is not finished, naming what it lacks; None when a run
    finished it (no INCOMPLETE marker)."""
    marker = Path(folder) / UNFINISHED
    if not marker.exists() and not marker.is_symlink():
        return None
    missing = [name for name in PACK_CLAIMS if not (Path(folder) / name).is_file()]
    lacks = f"it lacks {', '.join(missing)}" if missing else "its last step (removing the marker) never came"
    return (f"{folder}: the run that wrote this folder did not finish ({UNFINISHED} is still there; {lacks}); "
            "run again with --replace")


def refuse_unfinished_locker(evidence: Path) -> None:
    """EvidenceError (exit 2) when the locker at `evidence` belongs to a folder whose run did not finish
    (`auditor check` re-performs only finished lockers: a pack stopped by a full disk is not re-performed
    as if it were complete)."""
    folder = Path(evidence).resolve().parent
    why = unfinished(folder)
    if why is not None:
        raise EvidenceError(f"{evidence}: the locker of an incomplete pack, not re-performed: {why}")
