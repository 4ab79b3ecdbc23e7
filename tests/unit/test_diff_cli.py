"""`grafana-sync diff` end to end: --against DIR, --against-ref on a real git repo, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.cli import main
from grafana_sync.jsonio import canonical_dumps
from tests.unit.test_diff_fixtures import base_dashboard, panel

OUT = Path("provisioning/dashboards")


def write(root: Path, dash: dict[str, Any], folder: str = "ml") -> Path:
    path = root / OUT / folder / f"{dash['uid']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(canonical_dumps(dash), encoding="utf-8")
    return path


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=root, check=True, capture_output=True, text=True).stdout


def run(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["diff", *args])
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repo with two commits: the base dashboard, then one query and one unit changed."""
    git(tmp_path, "init", "-q")
    write(tmp_path, base_dashboard())
    write(tmp_path, base_dashboard("other", "Other"), folder="ops")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    dash = base_dashboard()
    panel(dash, "p99 latency")["targets"][0]["expr"] = "histogram_quantile(0.95, x)"
    panel(dash, "Requests per second")["fieldConfig"]["defaults"]["unit"] = "rps"
    write(tmp_path, dash)
    git(tmp_path, "commit", "-q", "-am", "second")
    return tmp_path


def _fields(out: str) -> list[tuple[str, str, str, Any, Any]]:
    doc = json.loads(out)
    return [(d["uid"], e["new"]["title"], f["path"], f.get("old"), f.get("new"))
            for d in doc["dashboards"] for e in d["panels"] for f in e["fields"]]


def test_against_ref_shows_exactly_the_two_changes(repo, monkeypatch, capsys) -> None:
    code, out, err = run(repo, monkeypatch, capsys, "--against-ref", "HEAD~1", "--format", "json")
    assert (code, err) == (0, "")
    expr = panel(base_dashboard(), "p99 latency")["targets"][0]["expr"]
    assert _fields(out) == [
        ("infra", "p99 latency", "targets[A].expr", expr, "histogram_quantile(0.95, x)"),
        ("infra", "Requests per second", "fieldConfig.defaults.unit", "reqps", "rps"),
    ]
    doc = json.loads(out)
    assert doc["old"] == "HEAD~1" and doc["unchanged"] == ["other"]


def test_against_ref_text_and_exit_code(repo, monkeypatch, capsys) -> None:
    code, out, _ = run(repo, monkeypatch, capsys, "--against-ref", "HEAD~1", "--exit-code")
    assert code == 1
    assert "~ fieldConfig.defaults.unit: 'reqps' → 'rps'" in out
    assert "\x1b[" not in out  # not a terminal: plain
    code, out, _ = run(repo, monkeypatch, capsys, "--against-ref", "HEAD", "--exit-code")
    assert code == 0 and out.startswith("No differences between HEAD and local")


def test_against_ref_sees_uncommitted_work_and_leaves_the_tree_alone(repo, monkeypatch,
                                                                    capsys) -> None:
    dash = json.loads((repo / OUT / "ml" / "infra.json").read_text())
    dash["title"] = "Infra (edited)"
    write(repo, dash)
    status_before = git(repo, "status", "--porcelain")
    head_before = git(repo, "rev-parse", "HEAD")
    code, out, _ = run(repo, monkeypatch, capsys, "--against-ref", "HEAD", "--format", "json")
    assert code == 0
    assert json.loads(out)["dashboards"][0]["changes"] == [
        {"path": "title", "change": "changed", "old": "Infrastructure", "new": "Infra (edited)"}]
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "rev-parse", "HEAD") == head_before


def test_against_ref_added_and_removed_dashboards(repo, monkeypatch, capsys) -> None:
    """A dashboard that only exists locally is "added", one only at the ref is "removed"."""
    (repo / OUT / "ops" / "other.json").unlink()
    write(repo, base_dashboard("fresh", "Fresh"))
    code, out, _ = run(repo, monkeypatch, capsys, "--against-ref", "HEAD", "--format", "json")
    statuses = {d["uid"]: d["status"] for d in json.loads(out)["dashboards"]}
    assert statuses == {"fresh": "added", "other": "removed"}


def test_against_ref_where_the_folder_did_not_exist_yet(tmp_path, monkeypatch, capsys) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "README").write_text("x")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    write(tmp_path, base_dashboard())
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--against-ref", "HEAD", "--format", "json")
    assert code == 0
    assert [(d["uid"], d["status"]) for d in json.loads(out)["dashboards"]] == [("infra", "added")]


def test_unknown_ref_is_a_one_line_error(repo, monkeypatch, capsys) -> None:
    code, out, err = run(repo, monkeypatch, capsys, "--against-ref", "origin/nope")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: unknown git ref 'origin/nope'")


def test_not_a_git_repository_is_a_one_line_error(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path, base_dashboard())
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    code, _, err = run(tmp_path, monkeypatch, capsys, "--against-ref", "HEAD")
    assert code == 2 and err.count("\n") == 1 and "not inside a git repository" in err


def test_malformed_json_at_the_ref_names_ref_and_file(repo, monkeypatch, capsys) -> None:
    bad = repo / OUT / "ml" / "broken.json"
    bad.write_text("{\n  \"uid\": \"broken\",\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "broken")
    bad.unlink()
    code, _, err = run(repo, monkeypatch, capsys, "--against-ref", "HEAD")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: HEAD:provisioning/dashboards/ml/broken.json:3:1: malformed JSON")


def test_malformed_local_json_names_the_file(repo, monkeypatch, capsys) -> None:
    (repo / OUT / "ml" / "broken.json").write_text("{ nope")
    code, _, err = run(repo, monkeypatch, capsys, "--against-ref", "HEAD")
    assert code == 2 and err.count("\n") == 1
    assert "broken.json:1:3: malformed JSON" in err and err.startswith("error: ")


def test_against_dir(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path, base_dashboard())
    other = tmp_path / "other"
    other.mkdir()
    changed = base_dashboard()
    panel(changed, "Error ratio")["fieldConfig"]["defaults"]["max"] = 2
    (other / "infra.json").write_text(json.dumps(changed))
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--against", "other", "--exit-code",
                       "--format", "json")
    assert code == 1
    assert _fields(out) == [("infra", "Error ratio", "fieldConfig.defaults.max", 2, 1)]
    (other / "infra.json").write_text(json.dumps(base_dashboard()))
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--against", "other", "--exit-code")
    assert code == 0 and "No differences" in out


def test_markdown_format(repo, monkeypatch, capsys) -> None:
    code, out, _ = run(repo, monkeypatch, capsys, "--against-ref", "HEAD~1", "--format",
                       "markdown")
    assert code == 0
    assert out.startswith("<!-- grafana-sync-diff -->\n## Grafana dashboard diff")
    assert "| panel 'Requests per second' (id 3) | changed | `fieldConfig.defaults.unit` | " \
           "`reqps` | `rps` |" in out.splitlines()


@pytest.mark.parametrize("args,needle", [
    ((), "nothing to compare against: pass --url URL"),
    (("--against", "missing-dir"), "missing-dir: --against needs a directory"),
    (("--against", "x", "--against-ref", "HEAD"), "give either --against DIR or --against-ref"),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, monkeypatch, capsys, args, needle) -> None:
    write(tmp_path, base_dashboard())
    code, out, err = run(tmp_path, monkeypatch, capsys, *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("error: ") and needle in err


def test_no_compiled_dashboards_is_a_one_line_error(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "dashboards").mkdir()  # a project (grafana_sync.project) with nothing compiled
    code, _, err = run(tmp_path, monkeypatch, capsys, "--against", ".")
    assert code == 2 and err.count("\n") == 1 and "run `grafana-sync build` first" in err


def test_colour_on_a_terminal_unless_no_color(monkeypatch) -> None:
    from grafana_sync.commands import diff as diff_cmd

    monkeypatch.setattr(diff_cmd.sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert diff_cmd._use_color() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert diff_cmd._use_color() is False


def test_public_url_drops_credentials() -> None:
    from grafana_sync.redact import public_url

    assert public_url("https://admin:s3cret@grafana.example.com:3000/sub?x=1") == \
        "https://grafana.example.com:3000/sub"


def test_output_dir_option(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "infra.json").write_text(json.dumps(base_dashboard()))
    other = tmp_path / "ref"
    other.mkdir()
    (other / "infra.json").write_text(json.dumps(base_dashboard(title="Old title")))
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--output-dir", "out", "--against", "ref",
                       "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["new"] == "local out"
    assert doc["dashboards"][0]["changes"] == [
        {"path": "title", "change": "changed", "old": "Old title", "new": "Infrastructure"}]
