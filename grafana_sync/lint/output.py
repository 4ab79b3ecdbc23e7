"""Render lint results: one line per finding plus a summary (text), or a JSON list (json)."""

from __future__ import annotations

import json

from grafana_sync.lint.model import Finding
from grafana_sync.lint.runner import LintResult
from grafana_sync.redact import escape_controls


def format_finding(finding: Finding) -> str:
    """`file: [severity] rule: dashboard 'uid' panel 'title' (id N) target A: message`."""
    where = f"dashboard '{finding.dashboard_uid or finding.dashboard_title}'"
    if finding.panel_title is not None:
        where += f" panel '{finding.panel_title}'"
        if finding.panel_id is not None:
            where += f" (id {finding.panel_id})"
    if finding.target_index is not None:
        where += f" target {finding.ref_id or f'#{finding.target_index}'}"
    line = f"{finding.file}: [{finding.severity}] {finding.rule}: {where}: {finding.message}"
    if finding.reason:
        line += f" (warning per .lint: {finding.reason})"
    return line


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(result: LintResult) -> str:
    linted = _plural(result.dashboards, "dashboard")
    counts = [_plural(result.errors, "error"), _plural(result.warnings, "warning")]
    if result.excluded:
        counts.append(f"{result.excluded} excluded by .lint")
    if result.fixed:
        counts.append(f"{len(result.fixed)} fixed")
    return f"{linted} linted: {', '.join(counts)}"


def render_text(result: LintResult) -> str:
    lines = [format_finding(f).replace(f"[{f.severity}]", "[fixed]", 1) for f in result.fixed]
    lines += [format_finding(f) for f in result.findings]
    lines = [escape_controls(line) for line in lines]
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def render_json(result: LintResult) -> str:
    return json.dumps([f.to_json() for f in result.findings], indent=2, ensure_ascii=False) + "\n"
