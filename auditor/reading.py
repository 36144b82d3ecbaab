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
- no integer beyond 64 bits, in YAML or JSON (orjson would turn it into an inexact float; every
  field of every input fits in a signed 64-bit integer, and Python's exact big integers would only
  overflow later, in a date or a duration), nor an infinite or NaN YAML float: each is refused naming
  the file, the key and (YAML) the line and column;
- nesting is limited (a 200,000-deep ``[`` stops at the limit, it never reaches Python's recursion
  limit) and so is the number of nodes, which bounds YAML alias expansion ("billion laughs").

The caller chooses the error class (ConfigError, EvidenceError, ...), so each command keeps its own
wording and exit code.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

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
#: The range every integer of every input must fit in (a signed 64-bit integer).
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1


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


def _check_shape(data: Any, source: str, error: ErrorType, max_nodes: int | None, text: str | None = None) -> None:
    """Iterative walk: nesting at most MAX_DEPTH (and, for YAML, at most max_nodes nodes with
    aliases expanded), so nothing downstream (pydantic, jsonschema, json.dumps) can recurse too deep;
    and, in the same pass, no number `bad_number` refuses (`text`: the YAML, to name its line)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    nodes = 0
    bad = False
    push = stack.append
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            bad = bad or bad_number(value) is not None
            continue
        if depth >= MAX_DEPTH:
            raise error(f"{source}: nested more than {MAX_DEPTH} levels deep")
        nodes += len(value)
        if max_nodes is not None and nodes > max_nodes:
            raise error(f"{source}: expands to more than {max_nodes:,} values (aliases included)")
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))
            elif kind is int:
                if not INT_MIN <= child <= INT_MAX:
                    bad = True
            elif kind is float:
                if not -INT_MAX <= child <= INT_MAX:  # also inf and NaN (every comparison with NaN is false)
                    bad = True
    if bad:
        _check_numbers(data, source, error, text)


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


def key_path(loc: Iterable[Any]) -> str:
    """A key path as errors print it: policy.classifications.restricted.backup_interval, stores.3.owner."""
    return ".".join(str(part) for part in loc) or "(top level)"


def bad_number(value: Any) -> str | None:
    """Why a parsed number cannot be accepted (beyond 64 bits, or not finite), or None."""
    kind = type(value)
    if kind is int:
        if INT_MIN <= value <= INT_MAX:
            return None
        digits = len(str(abs(value))) if value.bit_length() < 20_000 else None
        size = f"a {digits}-digit integer" if digits else "an integer"
        return f"{size} is beyond a signed 64-bit integer (at most {INT_MAX:,} is accepted)"
    if kind is float:
        if not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if abs(value) > INT_MAX and value.is_integer():
            return f"{value:.6g} is beyond a signed 64-bit integer (a number this large loses its exact value)"
    return None


def find_number(data: Any) -> tuple[tuple[Any, ...], str] | None:
    """(key path, reason) of the first number `bad_number` refuses, walking iteratively; None if none."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            children: Any = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            why = bad_number(value)
            if why:
                return path, why
            continue
        stack.extend(reversed([(child, path + (key,)) for key, child in children]))
    return None


@dataclass(frozen=True)
class Marks:
    """Where each key path of a YAML document starts (1-based line and column), from its composed node
    tree, so a validation error (pydantic's `loc`) can name the spot. An aliased node is indexed once,
    at its first use; a path under a later use falls back to the deepest known part of it."""

    index: dict[tuple[str, ...], tuple[int, int]]

    def at(self, loc: Iterable[Any]) -> tuple[int, int] | None:
        path = tuple(str(part) for part in loc)
        while True:
            if path in self.index:
                return self.index[path]
            if not path:
                return None
            path = path[:-1]

    def where(self, source: Any, loc: Iterable[Any] = ()) -> str:
        """`source:LINE` (or just `source` when nothing is known), for the start of an error line."""
        mark = self.at(loc)
        return f"{source}:{mark[0]}" if mark else str(source)

    def column(self, loc: Iterable[Any]) -> str:
        """` (column N)` for the end of an error line, where the column is known and not the first."""
        mark = self.at(loc)
        return f" (column {mark[1]})" if mark and mark[1] > 1 else ""

    def known(self, loc: Iterable[Any]) -> bool:
        return tuple(str(part) for part in loc) in self.index


NO_MARKS = Marks({})


def yaml_marks(text: str) -> Marks:
    """The Marks of YAML text (NO_MARKS when it does not compose). Composing is what loading does
    first, so this costs one more parse, paid only when an error is being reported."""
    loader = yamlsafe.StrictSafeLoader(text)
    try:
        root = loader.get_single_node()
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, MemoryError):
        return NO_MARKS
    finally:
        loader.dispose()
    index: dict[tuple[str, ...], tuple[int, int]] = {}
    if root is None:
        return NO_MARKS
    index[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
    seen: set[int] = set()
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen or len(index) > MAX_YAML_NODES:
            continue
        seen.add(id(node))
        children: list[tuple[Any, tuple[str, ...]]] = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    here = path + (key.value,)
                    index.setdefault(here, (key.start_mark.line + 1, key.start_mark.column + 1))
                    children.append((value, here))
        elif isinstance(node, yaml.SequenceNode):
            for number, value in enumerate(node.value):
                here = path + (str(number),)
                index.setdefault(here, (value.start_mark.line + 1, value.start_mark.column + 1))
                children.append((value, here))
        stack.extend(reversed(children))  # document order: an aliased node is indexed where it is defined
    return Marks(index)


def _check_numbers(data: Any, source: str, error: ErrorType, text: str | None) -> None:
    found = find_number(data)
    if found is None:
        return
    path, why = found
    if text is not None:
        marks = yaml_marks(text)
        raise error(f"{marks.where(source, path)}: {key_path(path)}: {why}{marks.column(path)}")
    raise error(f"{source}: {key_path(path)}: {why}")


def parse_yaml(text: str, source: str, *, error: ErrorType = ConfigError, dates_as_text: bool = True) -> Any:
    """Safe, strict YAML; every failure (syntax, unhashable or duplicate key, out-of-range value,
    nesting, a number beyond 64 bits) is `error` naming the file and line."""
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
    _check_shape(data, source, error, MAX_YAML_NODES, text)
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
