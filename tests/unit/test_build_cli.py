"""`grafana-sync build` end to end in a temporary project, run as a user would (subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "build"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dashboards").mkdir()
    shutil.copy(FIXTURES / "example.py", tmp_path / "dashboards" / "example.py")
    return tmp_path


def write_module(project: Path, name: str, body: str) -> Path:
    path = project / "dashboards" / name
    path.write_text(textwrap.dedent(body))
    return path


SIMPLE = """
from grafanalib.core import Dashboard, GridPos, Target, TimeSeries
dashboard = Dashboard(title={title!r}, uid={uid!r}, panels=[
    TimeSeries(title={ptitle!r}, targets=[Target(expr="up")], unit="short",
               gridPos=GridPos(h=8, w=12, x=0, y=0)),
])
"""


def simple(uid: str = "simple", title: str = "Simple", ptitle: str = "Up") -> str:
    return SIMPLE.format(uid=uid, title=title, ptitle=ptitle)


def test_build_matches_hand_checked_golden(project: Path) -> None:
    proc = run(project, "build")
    assert proc.returncode == 0, proc.stderr
    out = project / "provisioning" / "dashboards" / "team-a" / "example-service.json"
    assert out.read_text() == (FIXTURES / "example.golden.json").read_text()


def test_build_is_byte_identical_and_canonical(project: Path) -> None:
    assert run(project, "build").returncode == 0
    out = project / "provisioning" / "dashboards" / "team-a" / "example-service.json"
    first = out.read_bytes()
    proc = run(project, "build")
    assert proc.returncode == 0
    assert "1 unchanged" in proc.stdout
    assert out.read_bytes() == first
    text = first.decode()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert not list(out.parent.glob(".*.tmp")), "temp files left behind"


def test_check_passes_when_up_to_date_and_writes_nothing(project: Path) -> None:
    assert run(project, "build").returncode == 0
    out = project / "provisioning" / "dashboards" / "team-a" / "example-service.json"
    mtime = out.stat().st_mtime_ns
    proc = run(project, "build", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_mtime_ns == mtime


def test_check_reports_missing_stale_and_orphaned(project: Path) -> None:
    proc = run(project, "build", "--check")
    assert proc.returncode == 1
    assert "missing: provisioning/dashboards/team-a/example-service.json" in proc.stdout
    assert not (project / "provisioning").exists(), "--check must write nothing"

    write_module(project, "old.py", simple(uid="old", title="Old"))
    assert run(project, "build").returncode == 0
    (project / "dashboards" / "old.py").unlink()  # an earlier build wrote old.json
    out = project / "provisioning" / "dashboards" / "team-a" / "example-service.json"
    out.write_text(out.read_text().replace("Request rate", "Request rate (edited)"))
    orphan = project / "provisioning" / "dashboards" / "old.json"
    proc = run(project, "build", "--check")
    assert proc.returncode == 1
    assert "stale: provisioning/dashboards/team-a/example-service.json" in proc.stdout
    assert "orphaned: provisioning/dashboards/old.json" in proc.stdout
    assert orphan.exists() and "(edited)" in out.read_text(), "--check must write nothing"

    proc = run(project, "build")
    assert proc.returncode == 0
    assert "removed provisioning/dashboards/old.json" in proc.stdout
    assert not orphan.exists()
    assert "(edited)" not in out.read_text()
    assert run(project, "build", "--check").returncode == 0


def test_list_of_dashboards_and_library_modules(project: Path) -> None:
    write_module(project, "_shared.py", 'UNIT = "short"\n')
    write_module(project, "multi.py", """
        from grafanalib.core import Dashboard, GridPos, Target, TimeSeries
        from _shared import UNIT
        def make(uid):
            return Dashboard(title=uid, uid=uid, panels=[TimeSeries(
                title="Up", targets=[Target(expr="up")], unit=UNIT,
                gridPos=GridPos(h=8, w=12, x=0, y=0))])
        dashboards = [make("one"), make("two")]
    """)
    proc = run(project, "build")
    assert proc.returncode == 0, proc.stderr
    out = project / "provisioning" / "dashboards"
    assert (out / "one.json").exists() and (out / "two.json").exists()
    assert not (out / "_shared.json").exists()


@pytest.mark.parametrize(
    ("name", "body", "code", "expected"),
    [
        ("broken.py", "import nonexistent_module_xyz\n", 2,
         "dashboards/broken.py: import failed (at broken.py:1): "
         "ModuleNotFoundError: No module named 'nonexistent_module_xyz'"),
        ("raises.py", "x = 1\nraise ValueError('bad threshold')\n", 2,
         "raises.py: import failed (at raises.py:2): ValueError: bad threshold"),
        ("syntax.py", "def (:\n", 2, "syntax.py:1: syntax error"),
        ("exits.py", "import sys\nsys.exit(3)\n", 2,
         "exits.py: import failed (at exits.py:2): SystemExit: 3"),
        ("empty.py", "X = 1\n", 2, "empty.py: defines neither `dashboard` nor `dashboards`"),
        ("wrongtype.py", "dashboard = 42\n", 2, "wrongtype.py: `dashboard` is a int, not a grafanalib"),
        ("longuid.py", simple(uid="u" * 41), 2, "is 41 characters; the limit is 40"),
        ("baduid.py", simple(uid="bad uid!"), 2, "uid 'bad uid!' has characters other than"),
        ("nouid.py", simple(uid=""), 2, "dashboard 'Simple' has no uid"),
        ("notitle.py", simple(ptitle=""), 2, "panel #1 (timeseries) has no title"),
    ],
)
def test_bad_input_gives_one_line_error(project: Path, name: str, body: str, code: int,
                                        expected: str) -> None:
    write_module(project, name, body)
    proc = run(project, "build")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, proc.stderr
    assert expected in error_lines[0]
    assert name in error_lines[0]
    assert not (project / "provisioning").exists(), "a failed build must write nothing"


def test_duplicate_uid_names_both_files(project: Path) -> None:
    write_module(project, "a.py", simple(uid="same"))
    write_module(project, "b.py", simple(uid="same"))
    proc = run(project, "build")
    assert proc.returncode == 2
    assert "b.py: dashboard uid 'same' is already used by a.py" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_overlapping_panels_are_rejected(project: Path) -> None:
    write_module(project, "overlap.py", """
        from grafanalib.core import Dashboard, GridPos, Target, TimeSeries
        dashboard = Dashboard(title="O", uid="overlap", panels=[
            TimeSeries(title="A", targets=[Target(expr="up")], gridPos=GridPos(h=8, w=12, x=0, y=0)),
            TimeSeries(title="B", targets=[Target(expr="up")], gridPos=GridPos(h=8, w=12, x=6, y=4)),
        ])
    """)
    proc = run(project, "build")
    assert proc.returncode == 2
    assert "overlap.py: dashboard 'overlap': panel 'B' overlaps panel 'A'" in proc.stderr


def test_missing_dashboards_folder(tmp_path: Path) -> None:
    proc = run(tmp_path, "build")  # not a project at all: says where it looked
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {tmp_path} is not inside a grafana-sync project")
    assert "-C DIR" in proc.stderr and proc.stderr.count("\n") == 1
    (tmp_path / "pyproject.toml").write_text('[tool.grafana-sync]\ndashboards-dir = "src"\n')
    proc = run(tmp_path, "build")  # a project whose configured sources folder is missing
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: src: dashboards folder not found"
    assert "Traceback" not in proc.stderr


def test_help_explains(tmp_path: Path) -> None:
    proc = run(tmp_path, "build", "--help")
    assert proc.returncode == 0
    assert "--check" in proc.stdout and "Exit codes" in proc.stdout
