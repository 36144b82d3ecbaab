"""Display safety: what API content may not do to the page a person reads.

Resource names, labels and error messages come from the APIs, so from whoever named the resource.
Two things in them can mislead or stall a reader of the report:

- invisible characters: bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE makes
  ``//storage.googleapis.com/prod-\u202ekcab`` read as another bucket), zero-width and other
  format characters, and control characters. Each is shown as a visible ``<U+202E>`` instead;
- very long unbroken text (a 15,000-character name): WeasyPrint's line breaking takes minutes
  over such a word, so each run of more than MAX_RUN characters without a space is shortened to
  its head and tail with its length; the full value stays in the workbook and in results.json.

`finalize` is the Jinja environment's finalize hook, so every ``{{ ... }}`` of every template is
covered without a filter to remember; Markup (the templates' own HTML, charts) keeps its markup and
only has the invisible characters made visible.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

#: Longest run of non-space characters shown whole. The longest real full resource name (a Cloud SQL
#: instance of 98 characters in a 30-character project) is ~175; WeasyPrint's time to lay out an
#: unbroken run in a table cell grows about with its cube (0.03 s at 100 characters, 0.6 s at 400,
#: 9 s at 1,500), so longer runs are shortened to a head and a tail, each itself a short run.
MAX_RUN = 200
HEAD, TAIL = 120, 40

_INVISIBLE_RANGES = (
    (0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F),  # control characters but tab and newlines
    (0xAD, 0xAD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
INVISIBLE = re.compile("[" + "".join(f"\\U{a:08X}-\\U{b:08X}" for a, b in _INVISIBLE_RANGES) + "]")
_LONG_RUN = re.compile(r"\S{%d,}" % (MAX_RUN + 1))


def _code_point(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def _shorten(match: re.Match[str]) -> str:
    run = match.group()
    return f"{run[:HEAD]} \u2026 {run[-TAIL:]} [{len(run):,} characters; the full value is in the workbook]"


def visible(text: str) -> str:
    """Plain text with every invisible character written as <U+XXXX> and long unbroken runs shortened."""
    if not text.isascii() or len(text) > MAX_RUN:
        text = _LONG_RUN.sub(_shorten, text)
    if text.isprintable():
        return text
    return INVISIBLE.sub(_code_point, text)


def finalize(value: Any) -> Any:
    """Jinja finalize hook: plain strings made visible (then autoescaped as usual); Markup keeps its
    tags, with invisible characters turned into escaped <U+XXXX> text."""
    if isinstance(value, Markup):
        text = str(value)
        if text.isprintable() or not INVISIBLE.search(text):
            return value
        return Markup(INVISIBLE.sub(lambda m: f"&lt;U+{ord(m.group()):04X}&gt;", text))
    if isinstance(value, str):
        return visible(value)
    return value
