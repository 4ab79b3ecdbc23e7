"""docs/lint.md documents every rule with the severity and default the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from grafana_sync.lint import RULES

ROW_RE = re.compile(r"^\| `([a-z-]+)` \| \**(error|warning)\** \| \**(on|off)\** \|")


def test_rules_table_matches_the_registry(repo_root: Path) -> None:
    text = (repo_root / "docs" / "lint.md").read_text(encoding="utf-8")
    documented = [m.groups() for m in map(ROW_RE.match, text.splitlines()) if m]
    expected = [(r.name, r.severity, "on" if r.enabled_by_default else "off") for r in RULES]
    assert documented == expected
