"""The known-metric set for metric-contract-rule: a markdown metrics contract plus recording rules.

The engine knows no metric names of its own. A contract is any markdown file whose tables hold
metric names in backticks in their first column (`| \\`http_requests_total\\` | counter | ... |`);
a cell may list several names, and `name_*` is a prefix pattern. Recording rule names come from
Prometheus rule files (`groups[].rules[].record`).
"""

from __future__ import annotations

import fnmatch
import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

from grafana_sync.errors import ConfigError
from grafana_sync.jsonio import decode_text
from grafana_sync.yamlio import load_yaml_file

_BACKTICK_RE = re.compile(r"`([^`]+)`")
_METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_PATTERN_RE = re.compile(r"^[a-zA-Z_:*][a-zA-Z0-9_:*]*$")
_SEPARATOR_RE = re.compile(r"^\|?[\s:|-]+\|?$")
_METRIC_HEADER_RE = re.compile(r"metric|name", re.IGNORECASE)

# Series Prometheus itself writes for every target or alert: not part of anyone's contract.
PROMETHEUS_SYNTHETIC = frozenset({
    "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added",
    "scrape_samples_post_metric_relabeling", "ALERTS", "ALERTS_FOR_STATE",
})
# Series a classic histogram or summary named `x` exposes.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass
class MetricContract:
    """Known metric names, where they came from (for messages), and recording rule names."""

    source: str
    names: set[str] = field(default_factory=set)
    patterns: list[str] = field(default_factory=list)
    records: set[str] = field(default_factory=set)
    rule_sources: list[str] = field(default_factory=list)
    # for target-label-propagation-rule: metric -> labels (the contract's labels column), the
    # recording rules' expressions, and the project's contract-name -> series-name label map
    labels: dict[str, frozenset[str]] = field(default_factory=dict)
    record_exprs: dict[str, str] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)
    # labels every series may carry besides job and instance (contract names; label map applies)
    target_labels: tuple[str, ...] = ()

    def knows(self, name: str) -> bool:
        if name in PROMETHEUS_SYNTHETIC or self._listed(name) or name in self.records:
            return True
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and self._listed(name[: -len(suffix)]):
                return True
        return False

    def _listed(self, name: str) -> bool:
        return name in self.names or any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def explain_unknown(self, name: str) -> str:
        if ":" in name:
            where = ", ".join(self.rule_sources) or "no rule files found"
            return (f"recording rule '{name}' is not defined in the rule files ({where}) "
                    f"nor listed in the metrics contract ({self.source})")
        return f"metric '{name}' is not in the metrics contract ({self.source})"


def parse_contract_markdown(text: str) -> tuple[set[str], list[str]]:
    """Metric names and `*` patterns from the first column of the markdown tables.

    Tables whose header's first cell says "metric" or "name" are read; when no table has such a
    header, every table is (so a bare list of names in a table still works).
    """
    tables = _tables(text)
    chosen = [rows for header, rows in tables if _METRIC_HEADER_RE.search(header)]
    names: set[str] = set()
    patterns: list[str] = []
    for rows in chosen or [rows for _, rows in tables]:
        for first_cell in rows:
            for token in _BACKTICK_RE.findall(first_cell):
                token = token.strip().split("{", 1)[0].strip()
                if _METRIC_RE.match(token):
                    names.add(token)
                elif "*" in token and _PATTERN_RE.match(token) and token.strip("*"):
                    patterns.append(token)
    return names, patterns


def _tables(text: str) -> list[tuple[str, list[str]]]:
    """(header first cell, [first cell of each body row]) for every markdown table."""
    tables: list[tuple[str, list[str]]] = []
    lines = [line.strip() for line in text.splitlines()]
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("|"):
            i += 1
            continue
        has_separator = i + 1 < len(lines) and bool(_SEPARATOR_RE.match(lines[i + 1]))
        header = _split_row(line)[0] if has_separator else ""
        rows: list[str] = [] if has_separator else [_split_row(line)[0]]
        i += 2 if has_separator else 1
        while i < len(lines) and lines[i].startswith("|"):
            if not _SEPARATOR_RE.match(lines[i]):
                rows.append(_split_row(lines[i])[0])
            i += 1
        tables.append((header, rows))
    return tables


def _split_row(line: str) -> list[str]:
    body = line.strip().strip("|")
    cells, current, in_code = [], [], False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "`":
            in_code = not in_code
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if ch == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current).strip())
    return cells


def load_contract(path: Path, display: str) -> MetricContract:
    try:
        text = decode_text(path.read_bytes(), display)
    except OSError as exc:
        raise ConfigError(f"{display}: cannot read metrics contract: {exc.strerror or exc}") from None
    names, patterns = parse_contract_markdown(text)
    if not names and not patterns:
        raise ConfigError(
            f"{display}: no metric names found (expected markdown tables with `metric_name` "
            "in backticks in the first column)"
        )
    return MetricContract(source=display, names=names, patterns=patterns,
                          labels=parse_contract_labels(text))


def rule_files(spec: str, root: Path) -> list[Path]:
    """A rule file, a directory (its *.yml and *.yaml) or a glob, relative to the project root."""
    path = Path(spec) if Path(spec).is_absolute() else root / spec
    if path.is_dir():
        return sorted([*path.glob("*.yml"), *path.glob("*.yaml")])
    if path.is_file():
        return [path]
    if any(ch in spec for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
    raise ConfigError(f"{spec}: no such rule file or directory")


_HEADER = re.compile(r"^\|(.+)\|\s*$")
_NAMES = re.compile(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`")


def parse_contract_labels(text: str) -> dict[str, frozenset[str]]:
    """metric -> labels, from markdown tables with `metric`/`name`, `type` and `labels` columns."""
    out: dict[str, frozenset[str]] = {}
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines[:-1]):
        if not (_HEADER.match(line) and _SEPARATOR_RE.match(lines[i + 1])):
            continue
        header = [c.strip().lower() for c in line.strip("|").split("|")]
        if "labels" not in header or not header or header[0] not in ("metric", "name"):
            continue
        col_labels = header.index("labels")
        col_type = header.index("type") if "type" in header else None
        for row in lines[i + 2:]:
            if not row.startswith("|"):
                break
            cells = [c.strip() for c in row.strip("|").split("|")]
            if len(cells) <= col_labels:
                continue
            labels = frozenset(_NAMES.findall(cells[col_labels]))
            kind = cells[col_type].strip().lower() if col_type is not None and col_type < len(cells) else ""
            for name in _NAMES.findall(cells[0]):
                out[name] = labels
                if kind == "histogram":
                    out[f"{name}_bucket"] = labels | {"le"}
                    out[f"{name}_sum"] = out[f"{name}_count"] = labels
                if kind == "summary":
                    out[f"{name}_sum"] = out[f"{name}_count"] = labels
                    out[name] = labels | {"quantile"}
    return out


def load_record_exprs(path: Path, display: str) -> dict[str, str]:
    """Recording rule name -> expression of one Prometheus rule file (malformed parts skipped)."""
    data = load_yaml_file(path, display, "rule file")
    out: dict[str, str] = {}
    groups = data.get("groups") if isinstance(data, dict) else None
    for group in groups if isinstance(groups, list) else []:
        rules = group.get("rules") if isinstance(group, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, dict) and isinstance(rule.get("record"), str) \
                    and isinstance(rule.get("expr"), str):
                out[rule["record"]] = rule["expr"]
    return out


def load_label_map(spec: str, display: str) -> dict[str, str]:
    """Call the project's `module:function` that maps contract label names to series ones."""
    import importlib

    module_name, _, attr = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
        mapping = func()
    except Exception as exc:  # the project's code: one line, never a traceback
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{display}: label-map {spec!r} failed: {detail}") from None
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ConfigError(f"{display}: label-map {spec!r} must return a dict of label names")
    return mapping


def load_records(path: Path, display: str) -> set[str]:
    """Recording rule names (`groups[].rules[].record`) of one Prometheus rule file."""
    data = load_yaml_file(path, display, "rule file")
    if data is None:
        return set()
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise ConfigError(f"{display}: not a Prometheus rule file (expected a 'groups' list)")
    records: set[str] = set()
    for group in groups:
        rules = group.get("rules") if isinstance(group, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, dict) and isinstance(rule.get("record"), str):
                records.add(rule["record"])
    return records
