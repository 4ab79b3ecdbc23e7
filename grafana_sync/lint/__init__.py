"""`grafana-sync lint`: dashboard-linter-compatible rules, in pure Python (docs/lint.md)."""

from grafana_sync.lint.model import Finding
from grafana_sync.lint.registry import RULES, RULES_BY_NAME
from grafana_sync.lint.runner import LintOptions, LintResult, run_lint

__all__ = ["RULES", "RULES_BY_NAME", "Finding", "LintOptions", "LintResult", "run_lint"]
