"""The per-control strip: one row per control, one cell per day of the period, the worst state of that
day over the control's resources; a control tested at one moment only is drawn as a labelled band, so
the calendar shows every control and never implies a day-by-day record that does not exist."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from markupsafe import Markup, escape

#: day states (results v2) -> (rank, colour, legend word); the worst rank of a day wins
_STATES = {
    "missed": (5, "#d64545", "exception"), "disabled": (5, "#d64545", "exception"), "broken": (5, "#d64545", "exception"),
    "fail": (5, "#d64545", "exception"), "unknown": (4, "#e5a530", "unknown"), "inconclusive": (4, "#e5a530", "unknown"),
    "succeeded": (2, "#3f9b68", "kept"), "enabled": (2, "#3f9b68", "kept"), "kept": (2, "#3f9b68", "kept"),
    "pass": (2, "#3f9b68", "kept"), "stopped": (1, "#52606d", "stopped"), "not_applicable": (0, "#d9e2ec", "not applicable"),
    "not_due": (0, "#ffffff", "not due"),
}
_FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _e(value: Any) -> str:
    return str(escape(str(value)))


def worst_by_day(control: dict[str, Any]) -> dict[str, str]:
    """{ISO day: the worst state of any of the control's findings that day}."""
    out: dict[str, str] = {}
    for finding in control["findings"]:
        days = (finding.get("details") or {}).get("days")
        if not isinstance(days, dict):
            continue
        for day, state in days.items():
            held = out.get(day)
            if held is None or _STATES.get(state, (3,))[0] > _STATES.get(held, (3,))[0]:
                out[day] = state
    return out


def control_strips(controls: list[dict[str, Any]], period: dict[str, Any]) -> Markup:
    first, last = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    cell, label_w, row_h, top = 6, 196, 15, 16
    width = label_w + len(days) * cell + 8
    height = top + len(controls) * row_h + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart strips" viewBox="0 0 {width} {height}" width="100%" '
           f'role="img" aria-label="Every control, day by day">']
    for i, day in enumerate(days):
        if day.endswith("-01") or i == 0:
            out.append(f'<text x="{label_w + i * cell}" y="11" font-size="10" font-weight="bold" fill="#334e68" {_FONT}>'
                       f'{date.fromisoformat(day):%b}</text>')
    for row, control in enumerate(controls):
        y = top + row * row_h
        out.append(f'<text x="0" y="{y + 10}" font-size="10" fill="#1f2933" {_FONT}>{_e(control["id"][:32])}</text>')
        states = worst_by_day(control)
        if not states:
            as_of = (control.get("coverage") or {}).get("statement", "point in time")
            out.append(f'<rect x="{label_w}" y="{y}" width="{len(days) * cell}" height="{row_h - 3}" fill="#f0f4f8" '
                       f'stroke="#9aa5b1" stroke-width="0.4"><title>{_e(as_of)}</title></rect>')
            out.append(f'<text x="{label_w + 4}" y="{y + 9}" font-size="8" fill="#52606d" {_FONT}>point in time only: '
                       'no day-by-day record</text>')
            continue
        for i, day in enumerate(days):
            state = states.get(day, "not_due")
            colour = _STATES.get(state, (3, "#cbd2d9", state))[1]
            out.append(f'<rect x="{label_w + i * cell}" y="{y}" width="{cell - 1}" height="{row_h - 3}" fill="{colour}">'
                       f'<title>{_e(day)}: {_e(state)}</title></rect>')
    ly, lx = top + len(controls) * row_h + 14, label_w
    for word, colour in (("exception", "#d64545"), ("unknown", "#e5a530"), ("kept", "#3f9b68"), ("stopped", "#52606d"),
                         ("not applicable / not due", "#d9e2ec")):
        out.append(f'<rect x="{lx}" y="{ly - 8}" width="9" height="9" fill="{colour}"/>'
                   f'<text x="{lx + 12}" y="{ly}" font-size="9" fill="#486581" {_FONT}>{_e(word)}</text>')
        lx += 24 + len(word) * 5.2
    out.append("</svg>")
    return Markup("".join(out))
