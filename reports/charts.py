"""Pictures for the report, as inline SVG built here (no external assets, nothing fetched).

Every text value from the data is XML-escaped before it enters the SVG; the result is returned as
``markupsafe.Markup`` so the autoescaping templates embed it as is.

Coverage calendar
    One row per data store, one cell per day of the period, from any finding whose
    ``details.days`` maps ISO dates to day states (auditor.results.DAY_STATES: kept, broken, unknown,
    stopped, not_due, not_applicable). Rows with exceptions come first.

Regions view
    Where each data store's primary and backups live, read tolerantly from any finding that carries
    them, so the cross-region check can emit them without coordination. Keys read, first found wins:
      primary  ``details.primary_location``, ``observed.primary_location``, ``details.primary_region``,
               ``observed.primary_region``, ``observed.region``
      backups  ``details.backup_locations`` (list), ``observed.backup_locations`` (list),
               ``details.backup_location``, ``observed.backup_location``, ``observed.backup_region``
    Locations are lower-cased and placed under their country from the packaged regions table;
    an unknown location is shown under "unknown country", never guessed.
"""

from __future__ import annotations

import csv
import functools
from datetime import date
from importlib import resources
from typing import Any, Iterable

from markupsafe import Markup, escape

from auditor.results import EXCEPTION_DAYS

DAY_COLORS = {
    "kept": "#3f9b68", "broken": "#d64545", "unknown": "#e5a530",
    "not_due": "#ffffff", "stopped": "#52606d", "not_applicable": "#d9e2ec",
}
DAY_LABELS = {"kept": "within the policy", "broken": "outside the policy (exception)",
              "unknown": "unknown (not verifiable)", "not_due": "not due yet",
              "stopped": "stopped (no backup due)", "not_applicable": "did not exist"}
BAD_DAYS = EXCEPTION_DAYS
#: the words of documents written before the day vocabulary was shared, drawn as the shared state they meant
LEGACY_DAYS = {"succeeded": "kept", "enabled": "kept", "missed": "broken", "disabled": "broken"}
STATUS_COLORS = {"pass": "#1e7b45", "fail": "#b42318", "inconclusive": "#8a5300", "not_applicable": "#52606d"}
ELLIPSIS = "\u2026"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def short_name(resource: str) -> str:
    """A data store's name as people say it: project/instance, bucket, org/repo."""
    name = resource.removeprefix("//")
    for prefix in ("cloudsql.googleapis.com/projects/", "sqladmin.googleapis.com/projects/"):
        if name.startswith(prefix):
            return name.removeprefix(prefix).replace("/instances/", "/")
    if name.startswith("storage.googleapis.com/"):
        return name.removeprefix("storage.googleapis.com/")
    if name.startswith("github.com/"):
        return name.removeprefix("github.com/")
    if name.startswith("cloudresourcemanager.googleapis.com/projects/"):
        return "project " + name.rsplit("/", 1)[-1]
    parts = name.split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else name


def _e(value: Any) -> str:
    return str(escape(str(value)))


def _bad(states: Iterable[str]) -> int:
    return sum(1 for s in states if s in BAD_DAYS)


#: the row's count in two short words, so it fits the right margin ("92 exception/unknown")
_SHORT = {"broken": "exception", "unknown": "unknown"}


def _bad_words(states: Iterable[str]) -> str:
    present = [_SHORT.get(s, s) for s in BAD_DAYS if s in set(states)]
    return "/".join(present)


def calendar_rows(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for f in findings:
        days = (f.get("details") or {}).get("days")
        if isinstance(days, dict) and days:
            rows.append({"resource": f["resource"], "status": f["status"],
                         "days": {d: LEGACY_DAYS.get(s, s) for d, s in sorted(days.items())}})
    order = {"fail": 0, "inconclusive": 1, "pass": 2, "not_applicable": 3}
    return sorted(rows, key=lambda r: (order.get(r["status"], 4), r["resource"]))


def _runs(days: dict[str, str], columns: list[str]) -> list[tuple[str, str, str]]:
    """Runs of adjacent columns (days) in the same state, as (first day, last day, state)."""
    runs: list[tuple[str, str, str]] = []
    previous = -2
    for i, d in enumerate(columns):
        state = days.get(d)
        if state is None:
            continue
        if runs and runs[-1][2] == state and i == previous + 1:
            runs[-1] = (runs[-1][0], d, state)
        else:
            runs.append((d, d, state))
        previous = i
    return runs


def coverage_calendar(findings: list[dict[str, Any]], max_rows: int = 40) -> Markup:
    """The backup-coverage calendar; empty Markup when no finding has day records."""
    rows = calendar_rows(findings)
    if not rows:
        return Markup("")
    shown = rows[:max_rows]
    all_days = sorted({d for r in shown for d in r["days"]})
    cell, gap, label_w, right_w, row_h, top = 6, 1, 196, 124, 16, 32
    width = label_w + len(all_days) * (cell + gap) + right_w
    height = top + len(shown) * row_h + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart calendar" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-label="Backup coverage calendar">']
    x_of = {d: label_w + i * (cell + gap) for i, d in enumerate(all_days)}
    for d in all_days:  # month labels and day ticks
        day = date.fromisoformat(d)
        if day.day == 1 or d == all_days[0]:
            out.append(f'<text x="{x_of[d]}" y="12" font-size="11" font-weight="bold" fill="#334e68" {FONT}>{day:%b %Y}</text>')
            out.append(f'<line x1="{x_of[d] - 0.5}" y1="15" x2="{x_of[d] - 0.5}" y2="{top + len(shown) * row_h}" stroke="#9aa5b1" stroke-width="0.4"/>')
        if day.day in (1, 8, 15, 22, 29):
            out.append(f'<text x="{x_of[d] + cell / 2}" y="27" font-size="8" text-anchor="middle" fill="#829ab1" {FONT}>{day.day}</text>')
    for i, row in enumerate(shown):
        y = top + i * row_h
        color = STATUS_COLORS.get(row["status"], "#1f2933")
        out.append(f'<text x="0" y="{y + 10}" font-size="11" fill="{color}" {FONT}>{_e(short_name(row["resource"])[:30])}</text>')
        for first, last, state in _runs(row["days"], all_days):  # one rect per run of equal days: a PDF of
            fill = DAY_COLORS.get(state, "#cbd2d9")              # thousands of stores renders in seconds
            stroke = ' stroke="#9aa5b1" stroke-width="0.4"' if state == "not_due" else ""
            span = f"{first}" if first == last else f"{first} to {last}"
            out.append(f'<rect x="{x_of[first]}" y="{y}" width="{x_of[last] - x_of[first] + cell}" height="{row_h - 3}" '
                       f'fill="{fill}"{stroke}><title>{_e(span)}: {_e(DAY_LABELS.get(state, state))}</title></rect>')
        bad = _bad(row["days"].values())
        summary = f"{bad} {_bad_words(row['days'].values())}" if bad else "no gaps"
        out.append(f'<text x="{width - right_w + 5}" y="{y + 10}" font-size="10" fill="{color}" {FONT}>{_e(summary)}</text>')
    bottom = top + len(shown) * row_h
    out.extend(f'<line x1="{x_of[d] + cell + gap / 2}" y1="{top}" x2="{x_of[d] + cell + gap / 2}" y2="{bottom}" '
               f'stroke="#ffffff" stroke-width="{gap}"/>' for d in all_days[:-1])  # the day grid, drawn once
    ly = bottom + 18
    lx = label_w
    drawn = {state for row in shown for state in row["days"].values()}
    for state, label in DAY_LABELS.items():
        if state not in drawn:  # the legend names only the states this chart shows
            continue
        stroke = ' stroke="#9aa5b1" stroke-width="0.4"' if state == "not_due" else ""
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{DAY_COLORS[state]}"{stroke}/>')
        out.append(f'<text x="{lx + 14}" y="{ly}" font-size="10" fill="#486581" {FONT}>{_e(label)}</text>')
        lx += 26 + len(label) * 5.6
    if len(rows) > max_rows:
        out.append(f'<text x="0" y="{ly + 18}" font-size="10" fill="#627d98" {FONT}>{len(rows) - max_rows} more data stores: see the workbook.</text>')
    out.append("</svg>")
    return Markup("".join(out))


@functools.lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[str, str]]:
    """location -> (country or '', city or members), from the packaged regions table."""
    text = resources.files("auditor").joinpath("data/regions.csv").read_text(encoding="utf-8")
    return {row["location"].lower(): (row["country"], row["city_or_members"]) for row in csv.DictReader(text.splitlines())}


def _first(f: dict[str, Any], paths: tuple[tuple[str, str], ...]) -> Any:
    for section, key in paths:
        value = (f.get(section) or {}).get(key)
        if value:
            return value
    return None


PRIMARY_KEYS = (("details", "primary_location"), ("observed", "primary_location"), ("details", "primary_region"),
                ("observed", "primary_region"), ("observed", "region"))
BACKUP_KEYS = (("details", "backup_locations"), ("observed", "backup_locations"), ("details", "backup_location"),
               ("observed", "backup_location"), ("observed", "backup_region"))


def placements(controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per data store: primary location, backup locations and the finding's status (cross-region control first)."""
    ordered = sorted(controls, key=lambda c: 0 if c["id"] == "backup-cross-region" else 1)
    seen: dict[str, dict[str, Any]] = {}
    for control in ordered:
        for f in control["findings"]:
            if f["resource"] in seen:
                continue
            primary, backups = _first(f, PRIMARY_KEYS), _first(f, BACKUP_KEYS)
            if not primary or not backups:
                continue
            backups = [backups] if isinstance(backups, str) else [str(b) for b in backups if b]
            seen[f["resource"]] = {"resource": f["resource"], "primary": str(primary).lower(),
                                   "backups": [b.lower() for b in backups], "status": f["status"], "control": control["id"]}
    return sorted(seen.values(), key=lambda p: p["resource"])


def regions_view(controls: list[dict[str, Any]], max_rows: int = 40) -> Markup:
    """Matrix of data stores (rows) by location (columns, grouped by country): P primary, B backup."""
    rows = placements(controls)[:max_rows]
    if not rows:
        return Markup("")
    table = _regions()
    locations = sorted({loc for r in rows for loc in [r["primary"], *r["backups"]]},
                       key=lambda loc: (table.get(loc, ("~", ""))[0] or "~", loc))
    label_w, row_h, top, status_w = 200, 24, 56, 96
    # each column as wide as its longest label (country, location, city), so no label runs into the next
    headers = []
    for loc in locations:
        country, where = table.get(loc, ("", "unknown location"))
        country = country or ("several countries" if loc in table else "unknown country")
        where = where if len(where) <= 24 else where[:22] + ELLIPSIS
        headers.append((country, loc, where))
    widths = [max(72.0, 7.4 * len(country) + 12, 6.6 * len(loc) + 14, 5.4 * len(where) + 12) for country, loc, where in headers]
    lefts = [label_w + sum(widths[:i]) for i in range(len(widths))]
    centre = {loc: lefts[i] + widths[i] / 2 for i, loc in enumerate(locations)}
    width = label_w + sum(widths) + status_w
    height = top + len(rows) * row_h + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart regions" viewBox="0 0 {width:.0f} {height}" '
           f'width="{min(182, width * 0.3):.0f}mm" role="img" aria-label="Where primaries and backups live">']
    for i, (country, loc, where) in enumerate(headers):
        x, cx = lefts[i], centre[loc]
        out.append(f'<text x="{cx:.1f}" y="14" font-size="11" font-weight="bold" text-anchor="middle" fill="#102a43" {FONT}>{_e(country)}</text>')
        out.append(f'<text x="{cx:.1f}" y="29" font-size="10.5" text-anchor="middle" fill="#334e68" {FONT}>{_e(loc)}</text>')
        out.append(f'<text x="{cx:.1f}" y="42" font-size="8.5" text-anchor="middle" fill="#829ab1" {FONT}>{_e(where)}</text>')
        out.append(f'<line x1="{x:.1f}" y1="46" x2="{x:.1f}" y2="{top + len(rows) * row_h}" stroke="#e4e7eb" stroke-width="0.5"/>')
    for j, row in enumerate(rows):
        y = top + j * row_h
        color = STATUS_COLORS.get(row["status"], "#1f2933")
        out.append(f'<text x="0" y="{y + 14}" font-size="11" fill="{color}" {FONT}>{_e(short_name(row["resource"])[:30])}</text>')
        for i, loc in enumerate(locations):
            cx = centre[loc]
            marks = []
            if loc == row["primary"]:
                marks.append(("P", "#243b53"))
            if loc in row["backups"]:
                marks.append(("B", "#3f9b68" if row["status"] == "pass" else color))
            for k, (letter, fill) in enumerate(marks):
                dx = (k - (len(marks) - 1) / 2) * 20
                out.append(f'<circle cx="{cx + dx}" cy="{y + 10}" r="8.5" fill="{fill}"/>')
                out.append(f'<text x="{cx + dx}" y="{y + 13.8}" font-size="10.5" font-weight="bold" text-anchor="middle" fill="#fff" {FONT}>{letter}</text>')
        out.append(f'<text x="{width - status_w + 10:.1f}" y="{y + 14}" font-size="10" fill="{color}" {FONT}>{_e(row["status"].replace("_", " "))}</text>')
    ly = top + len(rows) * row_h + 20
    out.append(f'<text x="0" y="{ly}" font-size="10" fill="#486581" {FONT}>P primary · B backup</text>')
    out.append("</svg>")
    return Markup("".join(out))
