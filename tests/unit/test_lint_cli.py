"""`grafana-sync lint` end to end through cli.main: output formats, exit codes, one-line errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from grafana_sync.cli import main
from grafana_sync.lint import RULES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
CLEAN = json.loads((FIXTURES / "clean-dashboard.json").read_text(encoding="utf-8"))
JSON_KEYS = {"file", "rule", "severity", "dashboard_uid", "dashboard_title", "panel_id",
             "panel_title", "ref_id", "target_index", "message", "reason", "fixable"}


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["lint", *args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def acceptance_dashboard() -> dict:
    """The issue's new-user check: `rate(x[5m])` and no unit, everything else in order."""
    dash = copy.deepcopy(CLEAN)
    dash["panels"][1]["targets"][0]["expr"] = "rate(x[5m])"
    del dash["panels"][1]["fieldConfig"]["defaults"]["unit"]
    return dash


def test_json_output_lists_exactly_the_two_findings(project: Path, capsys) -> None:
    write(project / "pyproject.toml", '[tool.grafana-sync.lint]\nmetrics-contract = "docs/metrics.md"\n')
    write(project / "docs" / "metrics.md", "| `demo_requests_total` | counter |\n")
    write(project / "some.json", acceptance_dashboard())
    code, out, err = run(capsys, "--format", "json", "some.json")
    assert code == 1
    findings = json.loads(out)
    assert [(f["rule"], f["severity"]) for f in findings] == [
        ("panel-units-rule", "error"), ("target-rate-interval-rule", "error")]
    assert all(set(f) == JSON_KEYS for f in findings)
    units, rate = findings
    assert (units["file"], units["dashboard_uid"], units["panel_id"], units["panel_title"],
            units["ref_id"]) == ("some.json", "lint-example", 2, "Request rate", None)
    assert (rate["ref_id"], rate["target_index"]) == ("A", 0)
    assert "[5m]" in rate["message"] and "$__rate_interval" in rate["message"]
    assert "checks only dashboards under provisioning/dashboards" in err


def test_text_output_one_line_per_finding_and_summary(project: Path, capsys) -> None:
    write(project / "some.json", acceptance_dashboard())
    code, out, _ = run(capsys, "some.json")
    assert code == 1
    assert out.splitlines() == [
        "some.json: [error] panel-units-rule: dashboard 'lint-example' panel 'Request rate' "
        "(id 2): has no unit (fieldConfig.defaults.unit)",
        "some.json: [error] target-rate-interval-rule: dashboard 'lint-example' panel "
        "'Request rate' (id 2) target A: rate() over [5m] should use [$__rate_interval]",
        "1 dashboard linted: 2 errors, 0 warnings",
    ]


def test_clean_and_warning_only_exit_zero(project: Path, capsys) -> None:
    write(project / "a.json", CLEAN)
    editable = copy.deepcopy(CLEAN)
    editable.update(uid="other", editable=True)
    write(project / "b.json", editable)
    code, out, _ = run(capsys, "a.json", "b.json")
    assert code == 0
    assert out.splitlines()[-1] == "2 dashboards linted: 0 errors, 1 warning"
    assert "[warning] uneditable-dashboard" in out
    code, out, _ = run(capsys, "--format", "json", "a.json")
    assert (code, json.loads(out)) == (0, [])


def test_no_paths_lints_every_compiled_dashboard(project: Path, capsys) -> None:
    write(project / "provisioning" / "dashboards" / "ml" / "lint-example.json", CLEAN)
    second = copy.deepcopy(CLEAN)
    second["uid"] = "second"
    write(project / "provisioning" / "dashboards" / "second.json", second)
    code, out, _ = run(capsys)
    assert (code, out) == (0, "2 dashboards linted: 0 errors, 0 warnings\n")


def test_no_compiled_dashboards_is_a_usage_error(project: Path, capsys) -> None:
    (project / "dashboards").mkdir()  # a project (grafana_sync.project) with nothing compiled
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert err == ("error: no compiled dashboards under provisioning/dashboards "
                   "(run 'grafana-sync build' first, or pass PATH...)\n")


@pytest.mark.parametrize(("content", "expected"), [
    ('{"uid": "x", "panels": [', "bad.json:1:25: malformed JSON: Expecting value"),
    ("[1, 2, 3]", "bad.json: not a Grafana dashboard"),
    ('{"apiVersion": 1, "providers": []}', "bad.json: not a Grafana dashboard"),
    ('{"uid": "x", "panels": {"a": 1}}', "bad.json: not a Grafana dashboard"),
])
def test_malformed_or_non_dashboard_json_is_one_line_exit_2(project: Path, capsys, content,
                                                             expected) -> None:
    write(project / "bad.json", content)
    write(project / "good.json", CLEAN)
    code, out, err = run(capsys, "good.json", "bad.json")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {expected}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_path_and_unknown_rule_are_usage_errors(project: Path, capsys) -> None:
    code, _, err = run(capsys, "nope.json")
    assert (code, err) == (2, "error: nope.json: no such file or directory\n")
    write(project / "a.json", CLEAN)
    code, _, err = run(capsys, "--enable", "no-such-rule", "a.json")
    assert code == 2 and "unknown rule 'no-such-rule'" in err


def test_enable_and_disable(project: Path, capsys) -> None:
    write(project / "a.json", acceptance_dashboard())
    code, out, _ = run(capsys, "--disable", "panel-units-rule",
                       "--disable", "target-rate-interval-rule", "a.json")
    assert code == 0
    code, out, _ = run(capsys, "--enable", "template-job-rule", "--format", "json", "a.json")
    assert "template-job-rule" in [f["rule"] for f in json.loads(out)]


def test_lint_file_next_to_dashboard_applies(project: Path, capsys) -> None:
    write(project / "dash" / "a.json", acceptance_dashboard())
    write(project / "dash" / ".lint",
          "exclusions:\n  panel-units-rule:\n    reason: raw numbers\n"
          "warnings:\n  target-rate-interval-rule:\n    reason: fixed window on purpose\n")
    code, out, _ = run(capsys, "dash/a.json")
    assert code == 0
    assert out.splitlines()[-1] == "1 dashboard linted: 0 errors, 1 warning, 1 excluded by .lint"
    assert "(warning per .lint: fixed window on purpose)" in out


def test_list_rules(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["lint", "--list-rules"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert [line.split()[0] for line in out.splitlines()] == [r.name for r in RULES]
