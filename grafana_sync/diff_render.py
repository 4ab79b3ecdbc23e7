"""Render a DiffResult as text (terminal), markdown (PR comment) or JSON (machines).

The JSON shape is a contract documented in docs/diff.md and docs/diff-output.schema.json.
"""

from __future__ import annotations

import json
import re
from typing import Any

from grafana_sync.diff import MISSING, DashboardDiff, DiffResult, FieldChange, PanelChange
from grafana_sync.model import PanelRef

JSON_SCHEMA_VERSION = 1
#: First line of every markdown report, so CI can find and update its own PR comment.
MARKDOWN_MARKER = "<!-- grafana-sync-diff -->"

_SIGN = {"added": "+", "removed": "-", "changed": "~", "moved": ">", "reordered": "~"}
#: ANSI SGR colour codes per change kind (what `click.style(fg=...)` would emit).
_COLOUR = {"added": 32, "removed": 31, "changed": 33, "moved": 36, "reordered": 33}


def ansi(text: str, colour: int | None, bold: bool = False) -> str:
    """`text` in an ANSI colour (and bold), reset at the end."""
    codes = ([colour] if colour is not None else []) + ([1] if bold else [])
    return "".join(f"\x1b[{c}m" for c in codes) + text + "\x1b[0m" if codes else text


def format_value(value: Any) -> str:
    """One JSON value on one line; absent as (absent).

    Strings are quoted Python-style ('up{job="x"}' reads better than JSON's escaped quotes),
    everything else is compact JSON (true, null, lists, objects).
    """
    if value is MISSING:
        return "(absent)"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def format_grid(ref: PanelRef) -> str:
    gp = ref.grid_pos or {}
    where = " ".join(f"{k}={gp[k]}" for k in ("x", "y", "w", "h") if k in gp) or "no gridPos"
    return f"{where}" + (f" in row {ref.row!r}" if ref.row is not None else "")


def _panel_label(ref: PanelRef) -> str:
    kind = "row" if ref.type == "row" else "panel"
    pid = f" (id {ref.id})" if ref.id is not None else ""
    return f"{kind} {ref.title!r}{pid}"


#: A field change longer than this on one line is shown as `path:` then `- old` / `+ new` lines.
TEXT_ONE_LINE_MAX = 100


def _field_line(change: FieldChange) -> str:
    if change.change == "reordered":
        return f"{change.path}: order {format_value(change.old)} → {format_value(change.new)}"
    return f"{change.path}: {format_value(change.old)} → {format_value(change.new)}"


def _text_field(change: FieldChange, indent: str, style: Any) -> list[str]:
    """One line, or for long values (PromQL) the path then old and new on lines of their own."""
    line = f"{indent}{_SIGN[change.change]} {_field_line(change)}"
    if len(line) <= TEXT_ONE_LINE_MAX or change.change == "reordered":
        return [style(line, change.change)]
    out = [style(f"{indent}{_SIGN[change.change]} {change.path}:", change.change)]
    if change.old is not MISSING:
        out.append(style(f"{indent}      - {format_value(change.old)}", "removed"))
    if change.new is not MISSING:
        out.append(style(f"{indent}      + {format_value(change.new)}", "added"))
    return out


# ------------------------------------------------------------------------------------------ text


def render_text(result: DiffResult, color: bool = False) -> str:
    """Human-readable diff for a terminal; ANSI colours only when `color` is true."""

    def style(text: str, kind: str, bold: bool = False) -> str:
        return ansi(text, _COLOUR.get(kind), bold) if color else text

    if result.is_empty:
        return (f"No differences between {result.old_label} and {result.new_label} "
                f"({len(result.unchanged)} dashboards compared).\n")
    lines: list[str] = [f"--- {result.old_label}", f"+++ {result.new_label}"]
    for dash in result.dashboards:
        lines.append("")
        head = f"{_SIGN[dash.status]} dashboard {dash.title!r} ({dash.uid}) {dash.status}"
        if dash.status != "changed":
            head += f", {dash.panel_count} panels"
        lines.append(style(head, dash.status, bold=True))
        for change in dash.changes:
            lines.extend(_text_field(change, "  ", style))
        for panel in dash.panels:
            lines.extend(_text_panel(panel, style))
        if dash.shifted:
            lines.append(style(f"  · {_shifted_sentence(dash)}", "moved"))
    lines.append("")
    lines.append(_summary_line(result))
    return "\n".join(lines) + "\n"


def _text_panel(panel: PanelChange, style: Any) -> list[str]:
    ref = panel.ref
    label = _panel_label(ref)
    if panel.kind == "added":
        return [style(f"  + {label} added at {format_grid(ref)}", "added")]
    if panel.kind == "removed":
        return [style(f"  - {label} removed (was at {format_grid(ref)})", "removed")]
    if panel.kind == "moved":
        assert panel.old is not None and panel.new is not None
        return [style(f"  > {label} moved: {format_grid(panel.old)} → {format_grid(panel.new)}",
                      "moved")]
    out = [style(f"  ~ {label} changed:", "changed")]
    for change in panel.fields:
        out.extend(_text_field(change, "      ", style))
    return out


def _shifted_sentence(dash: DashboardDiff) -> str:
    n = len(dash.shifted)
    return (f"{n} panel{'s' if n != 1 else ''} only shifted with the layout "
            "(same row, size and order; positions in --format json)")


def _summary_line(result: DiffResult) -> str:
    c = result.counts()
    dash = (f"dashboards: {c['dashboards_added']} added, {c['dashboards_removed']} removed, "
            f"{c['dashboards_changed']} changed, {c['dashboards_unchanged']} unchanged")
    panels = (f"panels: {c['panels_added']} added, {c['panels_removed']} removed, "
              f"{c['panels_moved']} moved, {c['panels_changed']} changed")
    if c["panels_shifted"]:
        panels += f", {c['panels_shifted']} shifted"
    return f"{dash}; {panels}"


# -------------------------------------------------------------------------------------- markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md_text(text: str) -> str:
    """Escape text for a markdown table cell (pipes, emphasis, HTML), on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_code(text: str) -> str:
    """`text` as an inline code span safe inside a GFM table cell.

    Newlines become spaces (a cell is one line), pipes are escaped as `\\|` (GFM splits cells
    on them even inside code spans, and removes the backslash), and the span is fenced with one
    more backtick than the longest backtick run inside it, padded when it touches a backtick.
    """
    text = " ".join(text.splitlines()).replace("|", "\\|")
    if not text:
        return "` `"
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_value(value: Any) -> str:
    if value is MISSING:
        return "*(absent)*"
    if isinstance(value, str):
        return md_code(value)
    return md_code(format_value(value))


def _md_grid(ref: PanelRef) -> str:
    return md_text(format_grid(ref))


def render_markdown(result: DiffResult) -> str:
    """A PR comment: a summary, then one section per dashboard with tables of changes."""
    lines = [MARKDOWN_MARKER, "## Grafana dashboard diff", "",
             f"`{result.old_label}` → `{result.new_label}`: {md_text(_summary_line(result))}", ""]
    if result.is_empty:
        lines.append("No dashboard changes.")
        return "\n".join(lines) + "\n"
    for dash in result.dashboards:
        lines.extend(_md_dashboard(dash))
    return "\n".join(lines) + "\n"


def _md_dashboard(dash: DashboardDiff) -> list[str]:
    lines = [f"### {md_text(dash.title)} (`{dash.uid}`): {dash.status}", ""]
    if dash.status != "changed":
        verb = "New dashboard" if dash.status == "added" else "Dashboard removed"
        lines += [f"{verb} with {dash.panel_count} panels.", ""]
        return lines
    if dash.changes:
        lines += ["| Dashboard field | Change | Old | New |", "|---|---|---|---|"]
        for c in dash.changes:
            lines.append(f"| {md_code(c.path)} | {c.change} | {_md_value(c.old)} | "
                         f"{_md_value(c.new)} |")
        lines.append("")
    if dash.panels:
        lines += ["| Panel | Change | Field | Old | New |", "|---|---|---|---|---|"]
        for panel in dash.panels:
            lines.extend(_md_panel_rows(panel))
        lines.append("")
    if dash.shifted:
        lines += [f"*{md_text(_shifted_sentence(dash))}*", ""]
    return lines


def _md_panel_rows(panel: PanelChange) -> list[str]:
    ref = panel.ref
    name = md_text(_panel_label(ref))
    if panel.kind == "added":
        return [f"| {name} | added | | | {_md_grid(ref)} |"]
    if panel.kind == "removed":
        return [f"| {name} | removed | | {_md_grid(ref)} | |"]
    if panel.kind == "moved":
        assert panel.old is not None and panel.new is not None
        return [f"| {name} | moved | {md_code('gridPos')} | {_md_grid(panel.old)} | "
                f"{_md_grid(panel.new)} |"]
    return [f"| {name} | {c.change} | {md_code(c.path)} | {_md_value(c.old)} | "
            f"{_md_value(c.new)} |" for c in panel.fields]


# ------------------------------------------------------------------------------------------ json


def _json_field(change: FieldChange) -> dict[str, Any]:
    out: dict[str, Any] = {"path": change.path, "change": change.change}
    if change.old is not MISSING:
        out["old"] = change.old
    if change.new is not MISSING:
        out["new"] = change.new
    return out


def _json_panel(panel: PanelChange) -> dict[str, Any]:
    return {
        "change": panel.kind,
        "old": panel.old.as_dict() if panel.old is not None else None,
        "new": panel.new.as_dict() if panel.new is not None else None,
        "fields": [_json_field(c) for c in panel.fields],
    }


def result_as_dict(result: DiffResult) -> dict[str, Any]:
    """The JSON document (schema: docs/diff-output.schema.json)."""
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "old": result.old_label,
        "new": result.new_label,
        "identical": result.is_empty,
        "summary": result.counts(),
        "unchanged": list(result.unchanged),
        "dashboards": [
            {
                "uid": d.uid,
                "title": d.title,
                "status": d.status,
                "panel_count": d.panel_count if d.status != "changed" else None,
                "changes": [_json_field(c) for c in d.changes],
                "panels": [_json_panel(p) for p in d.panels],
                "shifted": [{"old": o.as_dict(), "new": n.as_dict()} for o, n in d.shifted],
            }
            for d in result.dashboards
        ],
    }


def render_json(result: DiffResult) -> str:
    """Machine-readable diff: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(result_as_dict(result), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
