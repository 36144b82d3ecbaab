"""One reading path for every file the auditor reads: config, data map, waivers, responses, scenario,
results.json, locker manifests and items.

Each input is read the same way, so a careless or hostile file ends in one clear error (exit 2)
naming the file, the line or key, and the reason, never in a traceback, a hang or exhausted memory:

- only regular files are read (``/dev/zero``, a FIFO or a folder is refused before any read), and
  no more than the input's size limit (the file is opened non-blocking, and the read is capped
  even if the file grows after it was measured);
- text must be UTF-8; the error gives the line and byte that cannot be decoded;
- YAML is loaded safely (no tags run, duplicate or unhashable keys refused) and JSON strictly
  (no NaN, no numbers beyond a double);
- nesting is limited (a 200,000-deep ``[`` stops at the limit, it never reaches Python's recursion
  limit) and so is the number of nodes, which bounds YAML alias expansion ("billion laughs").

The caller chooses the error class (ConfigError, EvidenceError, ...), so each command keeps its own
wording and exit code.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Callable

import orjson
import yaml

from auditor import yamlsafe
from auditor.errors import AuditorError, ConfigError

MiB = 1 << 20

#: Largest file accepted per kind of input. Generous (a data map of 100,000 stores is ~30 MiB; a
#: quarter's locker manifest for 200 projects ~100 MiB), finite, so /dev/zero-sized files are refused.
LIMITS: dict[str, int] = {
    "config": 16 * MiB,
    "inventory": 128 * MiB,
    "waivers": 16 * MiB,
    "responses": 16 * MiB,
    "scenario": 128 * MiB,
    "results": 1024 * MiB,
    "manifest": 2048 * MiB,
    "item": 1024 * MiB,
    "pack manifest": 512 * MiB,
}
DEFAULT_LIMIT = 64 * MiB
#: Deepest nesting of mappings and lists accepted in any document (the real ones stay below 20).
MAX_DEPTH = 100
#: Most nodes a YAML document may expand to (aliases included): bounds "billion laughs" documents.
MAX_YAML_NODES = 5_000_000

ErrorType = Callable[[str], AuditorError]


def limit_of(what: str) -> int:
    return LIMITS.get(what, DEFAULT_LIMIT)


def read_bytes(path: str | Path, what: str, *, error: ErrorType = ConfigError, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (the input kind's limit by default)."""
    path = Path(path)
    limit = limit_of(what) if limit is None else limit
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it anyway.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise error(f"{path}: cannot read the {what} file: {err.strerror or err}") from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                    else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file")
            raise error(f"{path}: cannot read the {what} file: it is {kind}, not a regular file")
        if info.st_size > limit:
            raise error(f"{path}: the {what} file is {info.st_size:,} bytes, more than the {limit:,} bytes accepted")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise error(f"{path}: the {what} file is larger than the {limit:,} bytes accepted")
        return b"".join(chunks)
    except OSError as err:
        raise error(f"{path}: cannot read the {what} file: {err.strerror or err}") from err
    finally:
        os.close(fd)


def decode(data: bytes, source: str, *, error: ErrorType = ConfigError) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); the error names the line and byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise error(f"{source}:{line}: not UTF-8 text (byte {err.start} cannot be decoded)") from err
    return text.removeprefix("\ufeff")


def read_text(path: str | Path, what: str, *, error: ErrorType = ConfigError) -> str:
    return decode(read_bytes(path, what, error=error), str(path), error=error)


def _check_shape(data: Any, source: str, error: ErrorType, max_nodes: int | None) -> None:
    """Iterative walk: nesting at most MAX_DEPTH (and, for YAML, at most max_nodes nodes with
    aliases expanded), so nothing downstream (pydantic, jsonschema, json.dumps) can recurse too deep."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_DEPTH:
            raise error(f"{source}: nested more than {MAX_DEPTH} levels deep")
        nodes += len(value)
        if max_nodes is not None and nodes > max_nodes:
            raise error(f"{source}: expands to more than {max_nodes:,} values (aliases included)")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _yaml_depth(text: str, source: str, error: ErrorType) -> None:
    """Nesting measured on the parser's events, before anything recursive (the composer) runs."""
    loader = yamlsafe.StrictSafeLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise error(f"{source}:{mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str, *, error: ErrorType = ConfigError, dates_as_text: bool = True) -> Any:
    """Safe, strict YAML; every failure (syntax, unhashable or duplicate key, out-of-range value,
    nesting) is `error` naming the file and line."""
    try:
        _yaml_depth(text, source, error)
        data = yamlsafe.load(text, dates_as_text=dates_as_text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(err, "problem", None) or str(err)
        raise error(f"{where}: not valid YAML: {problem}") from err
    except (ValueError, OverflowError, TypeError, RecursionError, MemoryError) as err:
        raise error(f"{source}: not valid YAML: {type(err).__name__}: {str(err)[:200]}") from err
    _check_shape(data, source, error, MAX_YAML_NODES)
    return data


def read_yaml(path: str | Path, what: str, *, error: ErrorType = ConfigError, dates_as_text: bool = True) -> tuple[str, Any]:
    """(text, data) of a YAML input file."""
    text = read_text(path, what, error=error)
    return text, parse_yaml(text, str(path), error=error, dates_as_text=dates_as_text)


def parse_json(data: bytes | str, source: str, *, error: ErrorType = ConfigError) -> Any:
    """Strict JSON (orjson: no NaN or Infinity, nesting capped), then the shared depth limit."""
    if isinstance(data, bytes):
        decode(data, source, error=error)  # a precise "line N: not UTF-8" instead of orjson's offset
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        line = getattr(err, "lineno", None)
        reason = getattr(err, "msg", None) or str(err)
        if "depth limit" in reason:
            reason = "nested more than 1,024 levels deep"
        raise error(f"{source}{f':{line}' if line else ''}: not valid JSON: {reason}") from err
    _check_shape(value, source, error, None)
    return value


def read_json(path: str | Path, what: str, *, error: ErrorType = ConfigError) -> tuple[bytes, Any]:
    """(raw bytes, document) of a JSON input file (the bytes, for digests)."""
    raw = read_bytes(path, what, error=error)
    return raw, parse_json(raw, str(path), error=error)
