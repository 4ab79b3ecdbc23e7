"""`.lint` files (dashboard-linter's format): parsed, looked up, applied; bad ones are one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from grafana_sync.errors import ConfigError
from grafana_sync.lint import LintOptions, run_lint
from grafana_sync.lint.config import load_lint_file
from grafana_sync.lint.registry import ALIASES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
CLEAN = json.loads((FIXTURES / "clean-dashboard.json").read_text(encoding="utf-8"))


def broken_dashboard() -> dict:
    """Two findings: no unit on 'Request rate' (id 2), [5m] in 'p99 latency' (id 3) target B."""
    dash = copy.deepcopy(CLEAN)
    del dash["panels"][1]["fieldConfig"]["defaults"]["unit"]
    dash["panels"][2]["targets"][1]["expr"] = "rate(demo_requests_total[5m])"
    return dash


def run(tmp_path: Path, lint_text: str | None, folder: str = "dash", **options):
    where = tmp_path / folder
    where.mkdir(parents=True, exist_ok=True)
    path = where / "d.json"
    path.write_text(json.dumps(broken_dashboard()), encoding="utf-8")
    if lint_text is not None:
        (where / ".lint").write_text(lint_text, encoding="utf-8")
    return run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                **options))


def rules(result) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in result.findings]


def test_without_lint_file_both_findings_are_errors(tmp_path: Path) -> None:
    result = run(tmp_path, None)
    assert rules(result) == [("panel-units-rule", "error"), ("target-rate-interval-rule", "error")]
    assert result.excluded == 0


def test_whole_rule_exclusion_silences_it(tmp_path: Path) -> None:
    result = run(tmp_path, "exclusions:\n  panel-units-rule:\n    reason: shown as raw counts\n")
    assert rules(result) == [("target-rate-interval-rule", "error")]
    assert result.excluded == 1


def test_bare_rule_name_excludes_like_dashboard_linter(tmp_path: Path) -> None:
    result = run(tmp_path, "exclusions:\n  panel-units-rule:\n")
    assert rules(result) == [("target-rate-interval-rule", "error")]
    assert any("has no reason" in n for n in result.notes)


def test_warning_downgrades_and_keeps_reason(tmp_path: Path) -> None:
    result = run(tmp_path, "warnings:\n  target-rate-interval-rule:\n    reason: fixed window\n")
    assert rules(result) == [("panel-units-rule", "error"), ("target-rate-interval-rule", "warning")]
    assert result.findings[1].reason == "fixed window"
    assert (result.errors, result.warnings) == (1, 1)


@pytest.mark.parametrize(("entry", "excluded"), [
    ("- dashboard: Lint example\n        panel: p99 latency\n        targetIdx: 1", True),
    ("- dashboard: lint-example\n        panel: p99 latency", True),  # uid works too
    ("- panel: p99 latency\n        targetIdx: 0", False),  # wrong target
    ("- panel: Request rate", False),  # wrong panel
    ("- dashboard: Another dashboard", False),
])
def test_entries_match_dashboard_panel_and_target(tmp_path: Path, entry: str,
                                                  excluded: bool) -> None:
    text = f"exclusions:\n  target-rate-interval-rule:\n    reason: r\n    entries:\n      {entry}\n"
    result = run(tmp_path, text)
    assert ("target-rate-interval-rule", "error") not in rules(result) if excluded else (
        ("target-rate-interval-rule", "error") in rules(result))
    assert ("panel-units-rule", "error") in rules(result)


def test_exclusion_wins_over_warning(tmp_path: Path) -> None:
    text = "exclusions:\n  panel-units-rule:\n    reason: a\nwarnings:\n  panel-units-rule:\n    reason: b\n"
    assert rules(run(tmp_path, text)) == [("target-rate-interval-rule", "error")]


def test_lint_file_in_parent_folder_and_project_root_apply(tmp_path: Path) -> None:
    (tmp_path / ".lint").write_text("exclusions:\n  panel-units-rule:\n    reason: root\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".lint").write_text(
        "warnings:\n  target-rate-interval-rule:\n    reason: parent\n")
    result = run(tmp_path, None, folder="a/b")
    assert rules(result) == [("target-rate-interval-rule", "warning")]


def test_explicit_config_file(tmp_path: Path) -> None:
    extra = tmp_path / "extra.lint"
    extra.write_text("exclusions:\n  panel-units-rule:\n    reason: extra\n")
    result = run(tmp_path, None, config_files=[extra])
    assert rules(result) == [("target-rate-interval-rule", "error")]
    with pytest.raises(ConfigError, match="not found"):
        run(tmp_path, None, config_files=[tmp_path / "missing.lint"])


def test_old_rule_names_are_aliases(tmp_path: Path) -> None:
    result = run(tmp_path, "exclusions:\n  panel-rate-interval-rule:\n    reason: old name\n")
    assert rules(result) == [("panel-units-rule", "error")]


def test_unknown_rule_is_a_note_foreign_rule_is_silent(tmp_path: Path) -> None:
    text = ("exclusions:\n  target-job-rule:\n    reason: not ours\n"
            "  no-such-rule:\n    reason: typo\n")
    result = run(tmp_path, text)
    assert len(rules(result)) == 2
    unknown = [n for n in result.notes if "unknown rule" in n]
    assert len(unknown) == 1 and unknown[0].endswith("/dash/.lint: unknown rule 'no-such-rule' ignored")
    assert not any("target-job-rule" in n for n in result.notes)


@pytest.mark.parametrize(("text", "message"), [
    ("exclusions: [a, b]\n", "'exclusions' must map rule names"),
    ("exclusions:\n  panel-units-rule: yes\n", "expected a mapping"),
    ("exclusions:\n  panel-units-rule:\n    entries: {panel: x}\n", "entries: expected a list"),
    ("exclusions:\n  panel-units-rule:\n    entries:\n      - targetIdx: first\n",
     "expected a target index"),
    ("exclusions:\n  a: [\n", "malformed .lint file"),
    ("- just a list\n", "a .lint file is a mapping"),
])
def test_malformed_lint_file_is_one_line_config_error(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / ".lint"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_lint_file(path, "x/.lint", ALIASES)
    assert message in str(info.value)
    assert str(info.value).startswith("x/.lint")
    assert "\n" not in str(info.value)


def test_target_idx_accepts_string_and_lowercase_key(tmp_path: Path) -> None:
    path = tmp_path / ".lint"
    path.write_text("warnings:\n  r:\n    entries:\n      - targetIdx: '2'\n      - targetidx: 0\n")
    config = load_lint_file(path, ".lint", ALIASES)
    assert [e.target_idx for e in config.warnings["r"].entries] == [2, 0]


def test_unknown_keys_are_notes_not_errors_as_in_dashboard_linter(tmp_path: Path) -> None:
    """dashboard-linter's YAML decoder ignores unknown keys; a typo still gets a note here."""
    text = ("exclusion:\n  panel-units-rule:\n"
            "exclusions:\n  target-rate-interval-rule:\n    why: typo\n    entries:\n"
            "      - pannel: p99 latency\n")
    result = run(tmp_path, text)
    # the misspelled entry key is ignored, so the entry matches every finding of the rule
    assert rules(result) == [("panel-units-rule", "error")]
    notes = [n for n in result.notes if "unknown key" in n]
    assert [n.split(": ", 1)[1] for n in notes] == [
        "unknown key 'exclusion' ignored (expected 'exclusions' or 'warnings')",
        "exclusions.target-rate-interval-rule: unknown key 'why' ignored (expected reason, entries)",
        "exclusions.target-rate-interval-rule.entries[0]: unknown key 'pannel' ignored (expected "
        "dashboard, panel, targetIdx, alert, reason)",
    ]
    assert all(n.startswith("dash/.lint: ") or n.endswith(".lint") or "/dash/.lint: " in n
               for n in notes)


def test_alert_entries_from_mixins_are_accepted_and_match_no_dashboard_finding(
        tmp_path: Path) -> None:
    """kubernetes-mixin's .lint lists alerts (for mixtool) next to dashboards."""
    text = ("exclusions:\n  target-rate-interval-rule:\n    reason: mixtool alert\n    entries:\n"
            "      - alert: KubeAPIErrorBudgetBurn\n"
            "  panel-units-rule:\n    reason: raw counts\n    entries:\n"
            "      - alert: SomeAlert\n      - panel: Request rate\n")
    result = run(tmp_path, text)
    assert rules(result) == [("target-rate-interval-rule", "error")]
    assert not [n for n in result.notes if "unknown key" in n]
