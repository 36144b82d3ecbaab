"""A subset of the Cloud Logging query language: one evaluator for the simulator and the checks.

The collectors rely on the server to narrow entries (a quarter of audit logs for a large
organisation is too much to fetch and filter locally), so the simulator must apply the filter
the way Logging does, and reject what it cannot parse with 400 like Logging does. The
backup-monitoring check evaluates a company's alert filters with the same code, so "this alert
fires on a failed backup" means exactly what the simulated Logging would match.

Supported: AND, OR, NOT (and ``-`` prefix), parentheses, implicit AND between adjacent terms,
comparisons ``= != : > >= < <=`` on dotted field paths, values as "quoted strings" or bare
words, value groups ``field=(a OR b)``, ``field:*`` (presence), a lone "quoted string" (search
anywhere in the entry). Timestamps compare as datetimes; ``severity`` compares by level.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

Predicate = Callable[[dict[str, Any]], bool]

SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]
_TIME_FIELDS = {"timestamp", "receiveTimestamp"}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|!=|=|<|>|:)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<word>[^\s()"=!<>:]+(?::[^\s()"=!<>:]+)*)
""", re.VERBOSE)
# A bare word may contain ':' only between non-operator chars (e.g. 2026-07-01T00:00:00Z);
# "field:value" is split by the tokenizer rule below, see _tokens.


class LogFilterError(ValueError):
    """The filter is not valid in the supported subset of the Logging query language."""


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise LogFilterError(f"unexpected character {text[pos]!r} at {pos}")
        kind = m.lastgroup
        if kind == "word":
            word = m.group()
            prev = out[-1] if out else None
            after_op = prev is not None and prev.kind == "op"
            if not after_op and ":" in word:
                # "field:value" with no spaces: split at the first ':' (the has operator).
                field, rest = word.split(":", 1)
                out += [_Tok("word", field, pos), _Tok("op", ":", pos + len(field))]
                if rest:
                    out.append(_Tok("word", rest, pos + len(field) + 1))
                pos = m.end()
                continue
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


def _unquote(tok: _Tok) -> str:
    if tok.kind == "str":
        return json.loads(tok.text) if "\\" in tok.text else tok.text[1:-1]
    return tok.text


_FIELD = re.compile(r'^[A-Za-z_@][\w@-]*(\.[A-Za-z_@][\w@-]*)*$')


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise LogFilterError("unexpected end of filter")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text == word

    def parse(self) -> Predicate:
        if not self.toks:
            return lambda e: True
        pred = self.or_expr()
        if self.peek() is not None:
            raise LogFilterError(f"unexpected {self.peek().text!r} at {self.peek().pos}")
        return pred

    def or_expr(self) -> Predicate:
        terms = [self.and_expr()]
        while self.is_word("OR"):
            self.take()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else (lambda e: any(t(e) for t in terms))

    def and_expr(self) -> Predicate:
        terms = [self.unary()]
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "rp" or self.is_word("OR"):
                break
            if self.is_word("AND"):
                self.take()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else (lambda e: all(t(e) for t in terms))

    def unary(self) -> Predicate:
        if self.is_word("NOT"):
            self.take()
            inner = self.unary()
            return lambda e: not inner(e)
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.startswith("-") and len(tok.text) > 1:
            tok.text = tok.text[1:]
            inner = self.unary()
            return lambda e: not inner(e)
        return self.primary()

    def primary(self) -> Predicate:
        tok = self.take()
        if tok.kind == "lp":
            pred = self.or_expr()
            if self.take().kind != "rp":
                raise LogFilterError(f"missing ')' for '(' at {tok.pos}")
            return pred
        if tok.kind == "str":
            needle = _unquote(tok).lower()
            return lambda e: needle in json.dumps(e, ensure_ascii=False).lower()
        if tok.kind != "word" or tok.text in ("AND", "OR", "NOT"):
            raise LogFilterError(f"unexpected {tok.text!r} at {tok.pos}")
        op = self.peek()
        if op is None or op.kind != "op":
            raise LogFilterError(f"bare word {tok.text!r} at {tok.pos}: expected a comparison "
                                 "(global text search needs a quoted string)")
        if not _FIELD.match(tok.text):
            raise LogFilterError(f"invalid field path {tok.text!r} at {tok.pos}")
        self.take()
        return self.value_expr(tok.text.split("."), op.text)

    def value_expr(self, path: list[str], op: str) -> Predicate:
        tok = self.take()
        if tok.kind == "lp":  # field=(a OR b AND c)
            groups: list[list[Predicate]] = [[self.value_expr(path, op)]]
            while True:
                nxt = self.take()
                if nxt.kind == "rp":
                    break
                if nxt.kind == "word" and nxt.text == "OR":
                    groups.append([self.value_expr(path, op)])
                elif nxt.kind == "word" and nxt.text == "AND":
                    groups[-1].append(self.value_expr(path, op))
                else:
                    raise LogFilterError(f"unexpected {nxt.text!r} in value list at {nxt.pos}")
            return lambda e: any(all(p(e) for p in g) for g in groups)
        if tok.kind not in ("str", "word") or (tok.kind == "word" and tok.text in ("AND", "OR", "NOT")):
            raise LogFilterError(f"expected a value after {op!r} at {tok.pos}")
        return _comparison(path, op, _unquote(tok), presence=(tok.kind == "word" and tok.text == "*"))


def _lookup(entry: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(entry, dict) or part not in entry:
            return None
        entry = entry[part]
    return entry


def _time(value: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _order(path: list[str], actual: Any, wanted: str) -> tuple[Any, Any] | None:
    """Comparable forms of (actual, wanted), or None when they cannot be ordered."""
    if path[-1] == "severity" and str(actual).upper() in SEVERITIES and wanted.upper() in SEVERITIES:
        return SEVERITIES.index(str(actual).upper()), SEVERITIES.index(wanted.upper())
    if path[-1] in _TIME_FIELDS or path[-1].endswith("Time"):
        a, w = _time(str(actual)), _time(wanted)
        if a is not None and w is not None:
            return a, w
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return actual, float(wanted)
        except ValueError:
            return None
    return str(actual), wanted


def _comparison(path: list[str], op: str, wanted: str, presence: bool) -> Predicate:
    if op == ":" and presence:
        return lambda e: _lookup(e, path) is not None
    if path[-1] in _TIME_FIELDS and op in ("<", "<=", ">", ">=", "=") and _time(wanted) is None:
        raise LogFilterError(f"invalid timestamp {wanted!r} for {'.'.join(path)}")

    def test(entry: dict[str, Any]) -> bool:
        actual = _lookup(entry, path)
        if actual is None or isinstance(actual, (dict, list)):
            if op == "!=":
                return True
            if op == ":" and actual is not None:
                return wanted.lower() in json.dumps(actual).lower()
            return False
        if op == ":":
            return wanted.lower() in str(actual).lower()
        pair = _order(path, actual, wanted)
        if pair is None:
            return op == "!="
        a, w = pair
        if isinstance(actual, bool):
            a, w = str(actual).lower(), wanted.lower()
        return {"=": a == w, "!=": a != w, "<": a < w, "<=": a <= w, ">": a > w, ">=": a >= w}[op]

    return test


def compile_filter(text: str) -> Predicate:
    """Compile a filter into a predicate over a LogEntry dict; raise LogFilterError if invalid."""
    if len(text) > 20000:
        raise LogFilterError("filter longer than 20000 characters")
    return _Parser(text).parse()
