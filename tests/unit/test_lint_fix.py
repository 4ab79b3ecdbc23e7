"""`grafana-sync lint --fix` and `--stdin`: fixable findings fixed, nothing else changed."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path

import pytest

from grafana_sync.cli import main
from grafana_sync.jsonio import canonical_dumps
from grafana_sync.lint import RULES_BY_NAME

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
CLEAN = json.loads((FIXTURES / "clean-dashboard.json").read_text(encoding="utf-8"))
FIXABLE = {"template-datasource-rule", "template-on-time-change-reload-rule",
           "uneditable-dashboard", "panel-id-rule"}


def run(capsys, *args: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        import io
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as info:
        main(["lint", *args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def broken() -> dict:
    """One finding of each fixable rule, plus one that is not fixable (rate over [5m])."""
    dash = copy.deepcopy(CLEAN)
    dash["editable"] = True
    variables = dash["templating"]["list"]
    next(v for v in variables if v["type"] == "datasource")["label"] = "DS"
    next(v for v in variables if v["type"] == "query")["refresh"] = 1
    dash["panels"][2]["id"] = dash["panels"][1]["id"]  # duplicate id
    dash["panels"][1]["targets"][0]["expr"] = "sum(rate(demo_requests_total[5m]))"
    return dash


def expected_after_fix(before: dict) -> dict:
    """`before` with exactly the fixed values changed, computed independently of the fixers."""
    after = copy.deepcopy(before)
    after["editable"] = False
    variables = after["templating"]["list"]
    next(v for v in variables if v["type"] == "datasource")["label"] = "Data source"
    next(v for v in variables if v["type"] == "query")["refresh"] = 2
    ids = [p["id"] for p in after["panels"]] + [
        c["id"] for p in after["panels"] for c in p.get("panels", [])]
    after["panels"][2]["id"] = max(ids) + 1
    return after


def test_the_fixable_rules_are_upstreams_and_ours() -> None:
    assert {name for name, rule in RULES_BY_NAME.items() if rule.fixable} == FIXABLE


@pytest.mark.parametrize("layout", ["canonical", "indent4", "grafana-export"])
def test_fix_leaves_file_clean_for_fixable_rules_and_changes_nothing_else(
        project: Path, capsys, layout: str) -> None:
    before = broken()
    if layout == "canonical":
        text = canonical_dumps(before)
    elif layout == "indent4":
        text = json.dumps(before, indent=4)
    else:  # Grafana's export: 2 spaces, its own key order, no trailing newline
        text = json.dumps(dict(reversed(list(before.items()))), indent=2)
    path = project / "d.json"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o644)

    code, out, err = run(capsys, "--fix", "d.json")

    after_text = path.read_text(encoding="utf-8")
    assert json.loads(after_text) == expected_after_fix(before)
    # the layout is kept: the same serialisation of the fixed data
    if layout == "canonical":
        assert after_text == canonical_dumps(expected_after_fix(before))
    elif layout == "indent4":
        assert after_text == json.dumps(expected_after_fix(before), indent=4)
    else:
        assert after_text == json.dumps(
            dict(reversed(list(expected_after_fix(before).items()))), indent=2)
    changed = [line for line in after_text.splitlines() if line not in text.splitlines()]
    assert len(changed) == 4, changed
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    # what was fixed is reported, what is left is still an error
    lines = out.splitlines()
    assert sorted(line.split(": ")[1].split()[1] for line in lines if "[fixed]" in line) == sorted(
        FIXABLE)
    assert [line.split(": ")[1] for line in lines if "[error]" in line] == [
        "[error] target-rate-interval-rule"]
    assert lines[-1] == "1 dashboard linted: 1 error, 0 warnings, 4 fixed"
    assert code == 1
    # linting again: nothing fixable left
    code, out, _ = run(capsys, "--format", "json", "d.json")
    assert {f["rule"] for f in json.loads(out)} == {"target-rate-interval-rule"}


def test_fix_without_fixable_findings_does_not_touch_the_file(project: Path, capsys) -> None:
    path = project / "d.json"
    text = json.dumps(CLEAN, indent=3) + "\n\n"
    path.write_text(text, encoding="utf-8")
    mtime = path.stat().st_mtime_ns
    code, out, _ = run(capsys, "--fix", "d.json")
    assert code == 0 and path.read_text(encoding="utf-8") == text
    assert path.stat().st_mtime_ns == mtime
    assert out.splitlines()[-1] == "1 dashboard linted: 0 errors, 0 warnings"


def test_fix_skips_findings_excluded_by_lint_file(project: Path, capsys) -> None:
    before = broken()
    path = project / "d.json"
    path.write_text(canonical_dumps(before), encoding="utf-8")
    (project / ".lint").write_text(
        "exclusions:\n  uneditable-dashboard:\n    reason: editable on purpose\n")
    run(capsys, "--fix", "d.json")
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["editable"] is True
    expected = expected_after_fix(before)
    expected["editable"] = True
    assert after == expected


def test_unreproducible_layout_is_written_canonically_with_a_note(project: Path, capsys) -> None:
    path = project / "d.json"
    path.write_text(json.dumps(broken(), separators=(",", ":")), encoding="utf-8")
    code, _, err = run(capsys, "--fix", "d.json")
    assert path.read_text(encoding="utf-8") == canonical_dumps(expected_after_fix(broken()))
    assert "d.json: written in canonical JSON form" in err


def test_stdin_lints_and_names_the_given_file(project: Path, capsys, monkeypatch) -> None:
    (project / "sub").mkdir()
    (project / "sub" / ".lint").write_text(
        "exclusions:\n  target-rate-interval-rule:\n    reason: fixed window on purpose\n")
    code, out, _ = run(capsys, "--stdin", "--stdin-filename", "sub/x.json",
                       stdin=json.dumps(broken()), monkeypatch=monkeypatch)
    rules = sorted(line.split(": ")[1] for line in out.splitlines()[:-1])
    assert rules == sorted(["[warning] template-datasource-rule",
                            "[error] template-on-time-change-reload-rule",
                            "[warning] uneditable-dashboard", "[error] panel-id-rule"])
    assert all(line.startswith("sub/x.json: ") for line in out.splitlines()[:-1])
    assert code == 1
    assert not (project / "sub" / "x.json").exists()


def test_stdin_fix_writes_fixed_json_to_stdout_and_findings_to_stderr(
        project: Path, capsys, monkeypatch) -> None:
    text = json.dumps(broken(), indent=2)
    code, out, err = run(capsys, "--stdin", "--fix", stdin=text, monkeypatch=monkeypatch)
    assert out == json.dumps(expected_after_fix(broken()), indent=2)
    assert "<stdin>: [fixed] uneditable-dashboard" in err
    assert "<stdin>: [error] target-rate-interval-rule" in err
    assert code == 1
    assert list(project.iterdir()) == []  # nothing written


def test_stdin_malformed_json_is_one_line_exit_2(project: Path, capsys, monkeypatch) -> None:
    code, out, err = run(capsys, "--stdin", stdin='{"panels": [', monkeypatch=monkeypatch)
    assert code == 2 and out == ""
    assert err.startswith("error: <stdin>:1:") and len(err.strip().splitlines()) == 1


def test_stdin_with_paths_is_a_usage_error(project: Path, capsys, monkeypatch) -> None:
    code, _, err = run(capsys, "--stdin", "x.json", stdin="{}", monkeypatch=monkeypatch)
    assert code == 2 and "give no PATH" in err


@pytest.mark.parametrize("shape", ["legacy-rows", "kubernetes-v1"])
def test_fix_leaves_converted_shapes_alone_with_a_note(project: Path, capsys, shape: str) -> None:
    """Lint reads legacy rows and Kubernetes resources converted; writing the conversion back
    would rewrite the whole file, so they are reported, not fixed."""
    inner = broken()
    if shape == "legacy-rows":
        panels = inner.pop("panels")
        inner["rows"] = [{"title": "Row", "panels": [p for p in panels if p["type"] != "row"]}]
        data = inner
    else:
        data = {"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
                "metadata": {"name": inner["uid"]}, "spec": inner}
    path = project / "d.json"
    text = json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "--fix", "d.json")
    assert path.read_text(encoding="utf-8") == text
    assert "d.json: not fixed: it is not classic dashboard JSON" in err
    assert "[fixed]" not in out and "uneditable-dashboard" in out
    assert code == 1
