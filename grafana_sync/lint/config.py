"""`.lint` files: dashboard-linter's format for exclusions and warnings.

    exclusions:
      target-rate-interval-rule:
        reason: Top 10s are meant for the selected range.
        entries:
          - dashboard: Apollo Server        # dashboard title (or, here, also its uid)
            panel: Top 10 Duration Rate     # panel title
          - panel: Requests Per Second
            targetIdx: 2                    # index into the panel's targets, from 0
    warnings:
      panel-units-rule:
        reason: ...

A rule listed without entries applies to every finding of that rule. An entry matches when every
field it sets matches (unset fields match anything), as in dashboard-linter. Exclusions drop a
finding; warnings downgrade it to a warning (an exclusion wins when both match).

As dashboard-linter (whose YAML decoder ignores unknown keys), an unknown key is not an error:
it is ignored with a note naming it, so a typo is still seen. `alert:` entries (read by mixtool
for the alerts of a mixin) are accepted and never match a dashboard finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.lint.model import WARNING, Finding
from grafana_sync.yamlio import load_yaml_file

SECTIONS = ("exclusions", "warnings")
ENTRY_KEYS = {"reason", "dashboard", "panel", "targetIdx", "targetidx", "alert"}


@dataclass(frozen=True)
class Entry:
    reason: str | None = None
    dashboard: str | None = None
    panel: str | None = None
    target_idx: int | None = None
    alert: str | None = None  # mixtool's: names an alert, so never a dashboard finding

    def matches(self, finding: Finding) -> bool:
        if self.alert is not None:
            return False
        if self.dashboard is not None and self.dashboard not in (
            finding.dashboard_title, finding.dashboard_uid
        ):
            return False
        if self.panel is not None and self.panel != finding.panel_title:
            return False
        return self.target_idx is None or self.target_idx == finding.target_index


@dataclass(frozen=True)
class RuleEntries:
    reason: str | None = None
    entries: tuple[Entry, ...] = ()

    def match(self, finding: Finding) -> Entry | None:
        """The matching entry (a whole-rule match gives an empty Entry), or None."""
        if not self.entries:
            return Entry(reason=self.reason)
        for entry in self.entries:
            if entry.matches(finding):
                return entry
        return None


@dataclass
class LintConfig:
    """One parsed `.lint` file."""

    source: str
    exclusions: dict[str, RuleEntries] = field(default_factory=dict)
    warnings: dict[str, RuleEntries] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # unknown keys, ignored

    def rule_names(self) -> set[str]:
        return set(self.exclusions) | set(self.warnings)

    def missing_reasons(self) -> list[str]:
        """'section rule' for every entry that gives no reason (neither its own nor its rule's)."""
        missing = []
        for section in SECTIONS:
            for rule, spec in getattr(self, section).items():
                if spec.reason:
                    continue
                if not spec.entries or any(not e.reason for e in spec.entries):
                    missing.append(f"{section} {rule}")
        return missing


def apply_configs(finding: Finding, configs: list[LintConfig]) -> Finding | None:
    """None when excluded; the finding downgraded to a warning (with its reason) when warned."""
    for config in configs:
        spec = config.exclusions.get(finding.rule)
        if spec is not None and spec.match(finding) is not None:
            return None
    for config in configs:
        spec = config.warnings.get(finding.rule)
        entry = spec.match(finding) if spec is not None else None
        if entry is not None:
            finding.severity = WARNING
            finding.reason = entry.reason or spec.reason
            return finding
    return finding


def load_lint_file(path: Path, display: str, aliases: dict[str, str]) -> LintConfig:
    """Parse one `.lint` file; any shape error is a one-line ConfigError naming the file."""
    data = load_yaml_file(path, display, ".lint file")
    config = LintConfig(source=display)
    if data is None:
        return config
    if not isinstance(data, dict):
        raise ConfigError(f"{display}: a .lint file is a mapping with 'exclusions' and 'warnings'")
    for key in data:
        if key not in SECTIONS:
            config.notes.append(f"{display}: unknown key {key!r} ignored (expected 'exclusions' "
                                "or 'warnings')")
    for section in SECTIONS:
        rules = data.get(section)
        if rules is None:
            continue
        if not isinstance(rules, dict):
            raise ConfigError(f"{display}: '{section}' must map rule names to their entries")
        target: dict[str, RuleEntries] = getattr(config, section)
        for rule, spec in rules.items():
            name = aliases.get(str(rule), str(rule))
            target[name] = _rule_entries(spec, f"{display}: {section}.{rule}", config.notes)
    return config


def _rule_entries(spec: Any, where: str, notes: list[str]) -> RuleEntries:
    if spec is None:
        return RuleEntries()
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with 'reason' and/or 'entries'")
    for key in sorted(set(spec) - {"reason", "entries"}, key=str):
        notes.append(f"{where}: unknown key {key!r} ignored (expected reason, entries)")
    reason = _optional_str(spec.get("reason"), f"{where}.reason")
    raw_entries = spec.get("entries") or []
    if not isinstance(raw_entries, list):
        raise ConfigError(f"{where}.entries: expected a list")
    entries = []
    for i, raw in enumerate(raw_entries):
        here = f"{where}.entries[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{here}: expected a mapping (dashboard, panel, targetIdx, reason)")
        for key in sorted(set(raw) - ENTRY_KEYS, key=str):
            notes.append(f"{here}: unknown key {key!r} ignored (expected dashboard, panel, "
                         "targetIdx, alert, reason)")
        idx_raw = raw.get("targetIdx", raw.get("targetidx"))
        entries.append(Entry(
            reason=_optional_str(raw.get("reason"), f"{here}.reason"),
            dashboard=_optional_str(raw.get("dashboard"), f"{here}.dashboard"),
            panel=_optional_str(raw.get("panel"), f"{here}.panel"),
            target_idx=_optional_index(idx_raw, f"{here}.targetIdx"),
            alert=_optional_str(raw.get("alert"), f"{here}.alert"),
        ))
    return RuleEntries(reason=reason, entries=tuple(entries))


def _optional_str(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{where}: expected a string")


def _optional_index(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        idx = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a target index (0, 1, ...)") from None
    if idx < 0 or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a target index (0, 1, ...)")
    return idx
