"""Build writes and removes only its own files (issue #12 items 2-5), run as a user would.

- item 2: only files listed in the manifest beside the output (with the hash build wrote) are
  replaced or removed; an output folder holding any other JSON is refused (exit 2, nothing
  written) — behind a symlink, `--output-dir provisioning`, `--output-dir .`;
- item 3: written files get 0666 minus the umask, like any other file the user creates;
- item 4: NaN / Infinity are refused with one line naming dashboard, panel and field;
- item 5: a uid or folder uid with a trailing newline is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit import test_build_cli
from tests.unit.test_build_cli import run, simple, write_module

project = test_build_cli.project  # fixture

MANIFEST = ".grafana-sync-manifest"


def run_umask(cwd: Path, umask: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(umask))


def user_file(path: Path, uid: str = "mine") -> str:
    """A user's own dashboard JSON, in exactly the canonical form build writes."""
    text = json.dumps({"panels": [], "title": "Mine", "uid": uid}, indent=2, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


# -- item 2: what build may delete ------------------------------------------------------------
def test_build_writes_a_manifest_of_what_it_wrote(project: Path) -> None:
    assert run(project, "build").returncode == 0
    out = project / "provisioning" / "dashboards"
    written = out / "team-a" / "example-service.json"
    lines = [line for line in (out / MANIFEST).read_text().splitlines() if not line.startswith("#")]
    assert lines == [f"{hashlib.sha256(written.read_bytes()).hexdigest()}  team-a/example-service.json"]


def test_user_json_behind_a_symlinked_output_dir_is_never_removed(project: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    mine = real / "mine.json"
    text = user_file(mine)
    (project / "provisioning").mkdir()
    (project / "provisioning" / "dashboards").symlink_to(real, target_is_directory=True)
    proc = run(project, "build")
    assert proc.returncode == 2
    line = error_line(proc)
    assert "mine.json" in line and "not written by build" in line
    assert mine.read_text() == text
    assert sorted(p.name for p in real.iterdir()) == ["mine.json"], "a refused build writes nothing"


def test_output_dir_holding_another_builds_output_is_refused(project: Path) -> None:
    assert run(project, "build").returncode == 0
    committed = project / "provisioning" / "dashboards" / "team-a" / "example-service.json"
    before = committed.read_text()
    proc = run(project, "build", "--output-dir", "provisioning")
    assert proc.returncode == 2
    assert "example-service.json" in error_line(proc)
    assert committed.read_text() == before
    assert not (project / "provisioning" / MANIFEST).exists()


def test_output_dir_dot_is_refused_when_it_holds_json(project: Path) -> None:
    fixture = project / "tests" / "fixture.json"
    text = user_file(fixture, uid="fixture")
    proc = run(project, "build", "--output-dir", ".")
    assert proc.returncode == 2
    assert "tests/fixture.json" in error_line(proc)
    assert fixture.read_text() == text
    assert not (project / "team-a").exists() and not (project / MANIFEST).exists()


def test_removed_dashboard_file_edited_since_build_is_kept(project: Path) -> None:
    write_module(project, "old.py", simple(uid="old", title="Old"))
    assert run(project, "build").returncode == 0
    orphan = project / "provisioning" / "dashboards" / "old.json"
    orphan.write_text(orphan.read_text().replace('"Old"', '"Old, hand-edited"'))
    (project / "dashboards" / "old.py").unlink()
    proc = run(project, "build")
    assert proc.returncode == 2
    assert "old.json" in error_line(proc) and "changed since build wrote" in error_line(proc)
    assert "hand-edited" in orphan.read_text()
    check = run(project, "build", "--check")
    assert check.returncode == 1 and "not written by build: provisioning/dashboards/old.json" in check.stdout


def test_file_at_a_build_target_not_written_by_build_is_not_overwritten(project: Path) -> None:
    target = project / "provisioning" / "dashboards" / "team-a" / "example-service.json"
    text = user_file(target, uid="example-service")
    proc = run(project, "build")
    assert proc.returncode == 2
    assert target.read_text() == text


def test_identical_files_without_a_manifest_are_adopted(project: Path) -> None:
    """A fresh clone of a project from before the manifest: the committed output is adopted."""
    assert run(project, "build").returncode == 0
    (project / "provisioning" / "dashboards" / MANIFEST).unlink()
    check = run(project, "build", "--check")
    assert check.returncode == 1 and f"stale: provisioning/dashboards/{MANIFEST}" in check.stdout
    assert run(project, "build").returncode == 0
    assert run(project, "build", "--check").returncode == 0


def test_merge_conflict_in_the_manifest_is_resolved_by_building(project: Path) -> None:
    write_module(project, "old.py", simple(uid="old", title="Old"))
    assert run(project, "build").returncode == 0
    manifest = project / "provisioning" / "dashboards" / MANIFEST
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(["<<<<<<< HEAD\n", *lines, "=======\n", lines[-1],
                                 ">>>>>>> feature\n"]))
    (project / "dashboards" / "old.py").unlink()
    proc = run(project, "build")
    assert proc.returncode == 0, proc.stderr
    assert not (project / "provisioning" / "dashboards" / "old.json").exists()
    assert "<<<<<<<" not in manifest.read_text()


def test_manifest_entry_outside_the_folder_is_refused(project: Path, tmp_path: Path) -> None:
    victim = project / "provisioning" / "victim.json"
    victim.parent.mkdir(parents=True)
    victim.write_text("{}\n")
    digest = hashlib.sha256(b"{}\n").hexdigest()
    out = project / "provisioning" / "dashboards"
    out.mkdir()
    (out / MANIFEST).write_text(f"{digest}  ../victim.json\n")
    proc = run(project, "build")
    assert proc.returncode == 2 and MANIFEST in error_line(proc)
    assert victim.exists()


# -- item 3: file modes -----------------------------------------------------------------------
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_respect_the_umask(project: Path, umask: int, mode: int) -> None:
    assert run_umask(project, umask, "build").returncode == 0
    out = project / "provisioning" / "dashboards"
    for path in (out / "team-a" / "example-service.json", out / MANIFEST):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
    # a rewrite (stale file) gets the same mode, not mkstemp's 0600
    written = out / "team-a" / "example-service.json"
    written.write_text(written.read_text().replace("Request rate", "Edited"))
    written.chmod(0o600)
    assert run_umask(project, umask, "build").returncode == 0
    assert stat.S_IMODE(written.stat().st_mode) == mode


# -- item 4: NaN / Infinity -------------------------------------------------------------------
NAN_PANEL = """
from grafanalib.core import Dashboard, GridPos, Target, Threshold, TimeSeries
dashboard = Dashboard(title="Nan", uid="nan-dash", panels=[
    TimeSeries(title="Fine", targets=[Target(expr="up")], unit="short",
               gridPos=GridPos(h=8, w=12, x=0, y=0)),
    TimeSeries(title="Broken", targets=[Target(expr="up")], unit="short", {field},
               gridPos=GridPos(h=8, w=12, x=12, y=0)),
])
"""


@pytest.mark.parametrize(("field", "shown"), [
    ('extraJson={"fieldConfig": {"defaults": {"max": float("nan")}}}', "NaN"),
    ('thresholds=[Threshold("green", 0, 0.0), Threshold("red", 1, float("inf"))]', "Infinity"),
    ('extraJson={"options": {"legend": {"width": -float("inf")}}}', "-Infinity"),
])
def test_non_finite_numbers_are_refused_naming_dashboard_panel_and_field(
        project: Path, field: str, shown: str) -> None:
    write_module(project, "nan.py", NAN_PANEL.format(field=field))
    proc = run(project, "build")
    assert proc.returncode == 2
    line = error_line(proc)
    assert "nan.py" in line and "'nan-dash'" in line and "panel 'Broken'" in line
    assert f"is {shown}" in line
    assert "field " in line
    assert not (project / "provisioning").exists()


def test_top_level_non_finite_number_is_refused(project: Path) -> None:
    write_module(project, "top.py", 'dashboard = {"uid": "top", "title": "Top", "panels": [], '
                                    '"refresh_weight": float("nan")}\n')
    proc = run(project, "build")
    assert proc.returncode == 2
    assert "dashboard 'top': field refresh_weight is NaN" in error_line(proc)


# -- item 5: full-match uids ------------------------------------------------------------------
@pytest.mark.parametrize("module", [
    simple(uid="abc\n"),
    "folder = 'team\\n'\n" + simple(uid="abc"),
])
def test_trailing_newline_in_uid_or_folder_is_refused(project: Path, module: str) -> None:
    write_module(project, "nl.py", module)
    proc = run(project, "build")
    assert proc.returncode == 2
    assert "nl.py" in error_line(proc)
    assert not (project / "provisioning").exists()
