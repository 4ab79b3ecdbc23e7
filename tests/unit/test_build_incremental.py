"""Incremental build (issue #18): a source is compiled again exactly when something it depends
on changed, and a stale output is never kept.

A temp project, built with the real CLI in a child process as a user runs it. Each dashboard
module appends its name to a log file OUTSIDE the project when it runs, so a test sees exactly
which sources were compiled:
- a.py imports _lib/common.py, _lib/only_a.py and the project package `teamcfg` (at the project
  root, not in the dashboards folder), which reads team.yaml through a cached loader — the way
  this repository's dashboards read monitoring.yaml through ml_monitoring/config.py — or the
  file named by $TEAM_CONFIG;
- b.py imports _lib/common.py only; c.py imports nothing of the project; d.json is a JSON source.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grafana_sync import incremental
from grafana_sync.jsonio import _canonical

REPO = Path(__file__).resolve().parents[2]
CACHE = ".grafana-sync-build-cache"

TEAMCFG = '''
import os
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def _load(path):
    return dict(line.split(": ", 1) for line in Path(path).read_text().splitlines() if line)


def team():
    path = os.environ.get("TEAM_CONFIG") or ROOT / "team.yaml"
    return _load(str(path))["team"]
'''

LOG = '''
import os
with open(os.environ["BUILD_LOG"], "a") as _fh:
    _fh.write(__name__.rsplit(".", 1)[-1] + "\\n")
'''


def panel(title: str) -> str:
    return ('{"type": "stat", "title": ' + title + ', "description": "Up; bad: 0.", '
            '"fieldConfig": {"defaults": {"unit": "short"}, "overrides": []}, '
            '"targets": [{"expr": "sum(up)"}]}')


MODULES = {
    "a.py": LOG + textwrap.dedent('''
        from _lib.common import TAGS
        from _lib.only_a import TITLE
        import teamcfg
        dashboard = {"uid": "a", "title": TITLE + " " + teamcfg.team(), "tags": TAGS,
                     "panels": [%s]}
    ''') % panel('"A " + teamcfg.team()'),
    "b.py": LOG + textwrap.dedent('''
        from _lib import common
        dashboard = {"uid": "b", "title": "B", "tags": common.TAGS, "panels": [%s]}
    ''') % panel('"B"'),
    "c.py": LOG + textwrap.dedent('''
        dashboard = {"uid": "c", "title": "C", "tags": ["x"], "panels": [%s]}
    ''') % panel('"C"'),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    lib = root / "dashboards" / "_lib"
    lib.mkdir(parents=True)
    for name, text in MODULES.items():
        (root / "dashboards" / name).write_text(text)
    (root / "dashboards" / "d.json").write_text(json.dumps(
        {"uid": "d", "title": "D", "panels": [json.loads(panel('"D"'))]}))
    (lib / "__init__.py").write_text("")
    (lib / "common.py").write_text('TAGS = ["managed-by-grafana-sync"]\n')
    (lib / "only_a.py").write_text('TITLE = "Team"\n')
    (root / "teamcfg").mkdir()
    (root / "teamcfg" / "__init__.py").write_text(TEAMCFG)
    (root / "team.yaml").write_text("team: red\n")
    (root / "pyproject.toml").write_text('[tool.grafana-sync]\noutput-dir = "out"\n')
    return root


def build(project: Path, *args: str, env: dict[str, str] | None = None
          ) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Run `grafana-sync build`; the set of sources it compiled (from the log) and the process."""
    log = project.parent / "log.txt"
    log.write_text("")
    full_env = {k: v for k, v in os.environ.items() if k not in ("TEAM_CONFIG", "DASH_SECRET")}
    full_env.update({"BUILD_LOG": str(log), "PYTHONPATH": str(REPO), **(env or {})})
    proc = subprocess.run([sys.executable, "-m", "grafana_sync", "build", *args], cwd=project,
                          env=full_env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return set(log.read_text().split()), proc


def outputs(project: Path) -> dict[str, bytes]:
    out = project / "out"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != CACHE}


def built_ok(project: Path, **kwargs: object) -> set[str]:
    compiled, proc = build(project, **kwargs)  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stderr
    return compiled


def title(project: Path, uid: str) -> str:
    return json.loads((project / "out" / f"{uid}.json").read_text())["title"]


def clean_build(project: Path, tmp: Path, env: dict[str, str] | None = None) -> dict[str, bytes]:
    """What a build from nothing writes for the project as it is now (the reference)."""
    copy = tmp / "fresh"
    subprocess.run(["cp", "-r", str(project), str(copy)], check=True)
    subprocess.run(["rm", "-rf", str(copy / "out")], check=True)
    assert built_ok(copy, env=env) == {"a", "b", "c"}
    result = outputs(copy)
    subprocess.run(["rm", "-rf", str(copy)], check=True)
    return result


def test_nothing_changed_compiles_nothing_and_outputs_stay_identical(project: Path) -> None:
    assert built_ok(project) == {"a", "b", "c"}
    first = outputs(project)
    compiled, proc = build(project)
    assert compiled == set()
    assert "4 source(s) skipped" in proc.stdout and "4 unchanged" in proc.stdout
    assert outputs(project) == first
    assert title(project, "a") == "Team red"


@pytest.mark.parametrize(("path", "edit", "expected"), [
    ("dashboards/a.py", lambda t: t + "# edited\n", {"a"}),
    ("dashboards/b.py", lambda t: t.replace('"B"', '"B2"'), {"b"}),
    ("dashboards/_lib/only_a.py", lambda t: t.replace("Team", "Squad"), {"a"}),
    ("dashboards/_lib/common.py", lambda t: t + "# edited\n", {"a", "b"}),
    ("team.yaml", lambda t: "team: blue\n", {"a"}),
    ("teamcfg/__init__.py", lambda t: t + "# edited\n", {"a"}),
])
def test_a_change_compiles_exactly_the_sources_that_use_it(project: Path, tmp_path: Path,
                                                           path: str, edit, expected: set[str]
                                                           ) -> None:
    assert built_ok(project) == {"a", "b", "c"}
    target = project / path
    target.write_text(edit(target.read_text()))
    assert built_ok(project) == expected  # c (no project imports) and d (JSON) never
    assert outputs(project) == clean_build(project, tmp_path)  # nothing stale kept
    assert built_ok(project) == set()


def test_config_change_updates_the_output(project: Path) -> None:
    built_ok(project)
    (project / "team.yaml").write_text("team: blue\n")
    assert built_ok(project) == {"a"}
    assert title(project, "a") == "Team blue"


def test_environment_variable_read_by_the_config_loader(project: Path, tmp_path: Path) -> None:
    """teamcfg reads $TEAM_CONFIG through os.environ and then that file (outside the project):
    both recorded, no declaration needed."""
    other = tmp_path / "other.yaml"
    other.write_text("team: green\n")
    built_ok(project)
    assert built_ok(project, env={"TEAM_CONFIG": str(other)}) == {"a"}
    assert title(project, "a") == "Team green"
    assert built_ok(project, env={"TEAM_CONFIG": str(other)}) == set()
    other.write_text("team: violet\n")
    assert built_ok(project, env={"TEAM_CONFIG": str(other)}) == {"a"}
    assert title(project, "a") == "Team violet"
    assert built_ok(project) == {"a"}  # unset again: back to team.yaml
    assert title(project, "a") == "Team red"


def test_outputs_deleted_or_edited_by_hand_are_rebuilt(project: Path) -> None:
    built_ok(project)
    first = outputs(project)
    (project / "out" / "b.json").unlink()
    (project / "out" / "a.json").write_text('{"edited": true}\n')
    compiled, proc = build(project)
    assert proc.returncode == 0 and compiled == {"a", "b"}
    assert outputs(project) == first


def test_engine_or_installed_package_change_rebuilds_everything(project: Path) -> None:
    built_ok(project)
    cache = project / "out" / CACHE
    data = json.loads(cache.read_text())
    data["key"]["engine"] = "0" * 64  # as if grafana_sync's code or the interpreter changed
    cache.write_text(json.dumps(data))
    assert built_ok(project) == {"a", "b", "c"}
    data = json.loads(cache.read_text())
    grafanalib_files = [p for p in data["third_party"] if "/grafanalib/" in p]
    stdlib_or_other = list(data["third_party"])
    assert stdlib_or_other, "installed module files loaded by the build are recorded"
    victim = grafanalib_files[0] if grafanalib_files else stdlib_or_other[0]
    data["third_party"][victim] = [1, 1]  # as if that package were upgraded (new size/mtime)
    cache.write_text(json.dumps(data))
    assert built_ok(project) == {"a", "b", "c"}


def test_engine_fingerprint_covers_the_engine_sources(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    engine = tmp_path / "engine"
    engine.mkdir()
    (engine / "compile.py").write_text("X = 1\n")
    monkeypatch.setattr(incremental, "_ENGINE_DIR", engine)
    before = incremental.engine_fingerprint()
    (engine / "compile.py").write_text("X = 2\n")
    assert incremental.engine_fingerprint() != before


def test_declared_inputs_cover_what_cannot_be_seen(project: Path) -> None:
    """A file whose absence is only stat()ed raises no audit event: declare it."""
    (project / "dashboards" / "c.py").write_text(MODULES["c.py"].replace(
        'dashboard = {', 'from pathlib import Path\n'
        'EXTRA = (Path(__file__).parents[1] / "extra.txt")\n'
        'NAME = EXTRA.read_text().strip() if EXTRA.exists() else "C"\n'
        'dashboard = {').replace('"title": "C"', '"title": NAME'))
    (project / "pyproject.toml").write_text(
        '[tool.grafana-sync]\noutput-dir = "out"\nbuild-inputs = ["extra.txt"]\n')
    assert built_ok(project) == {"a", "b", "c"}
    assert title(project, "c") == "C"
    (project / "extra.txt").write_text("Extra\n")
    assert built_ok(project) == {"a", "b", "c"}  # a declared input: every source
    assert title(project, "c") == "Extra"
    (project / "extra.txt").write_text("Extra 2\n")  # now also seen read by c.py
    assert built_ok(project) == {"a", "b", "c"}
    assert title(project, "c") == "Extra 2"


def test_added_and_removed_sources(project: Path) -> None:
    built_ok(project)
    (project / "dashboards" / "e.py").write_text(MODULES["c.py"].replace('"c"', '"e"'))
    assert built_ok(project) == {"e"}
    (project / "dashboards" / "e.py").unlink()
    compiled, proc = build(project)
    assert compiled == set() and "removed out/e.json" in proc.stdout
    assert not (project / "out" / "e.json").exists()


def test_check_never_trusts_the_cache(project: Path) -> None:
    built_ok(project)
    (project / "team.yaml").write_text("team: blue\n")
    compiled, proc = build(project, "--check")
    assert proc.returncode == 1 and "stale: out/a.json" in proc.stdout
    assert compiled == {"a", "b", "c"}  # --check compiles everything, writes nothing
    assert title(project, "a") == "Team red"


def test_failed_build_writes_nothing_and_keeps_no_temp_files(project: Path) -> None:
    built_ok(project)
    before = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    (project / "dashboards" / "_lib" / "common.py").write_text('TAGS = ["changed"]\n')
    (project / "dashboards" / "z.py").write_text("dashboard = {'uid': 'bad uid', 'title': 'Z'}\n")
    compiled, proc = build(project)
    assert proc.returncode == 2 and "bad uid" in proc.stderr
    after = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    assert after == before  # a.json and b.json were staged, never written; no .tmp left
    (project / "dashboards" / "z.py").unlink()
    assert built_ok(project) == {"a", "b"}


def test_canonical_writer_matches_json_dumps_byte_for_byte() -> None:
    def reference(data: object) -> str:
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False,
                          allow_nan=False) + "\n"

    samples = [
        {}, [], {"b": [1, 2.5, -0.0, 1e300, 10**30, True, False, None, "é\u2028\"\\\n\x00"],
                 "a": {"": {}, "z": [], "y": [[]], "\U0001f600": "\ud83d"}},
        [{"k": 1}, [{"x": [None]}]], "text", 3, 2.0,
    ]
    for path in sorted((REPO / "provisioning" / "dashboards").rglob("*.json")):
        samples.append(json.loads(path.read_text()))
    for data in samples:
        assert _canonical(data) == reference(data)
    with pytest.raises(ValueError):
        _canonical({"a": float("nan")})


def test_cache_stores_hashes_not_values_of_environment_variables(project: Path) -> None:
    (project / "dashboards" / "c.py").write_text(
        "import os\nTOKEN = os.environ.get('DASH_SECRET')\n" + MODULES["c.py"])
    built_ok(project, env={"DASH_SECRET": "s3cr3t-value"})
    text = (project / "out" / CACHE).read_text()
    assert "s3cr3t-value" not in text
    assert hashlib.sha256(b"s3cr3t-value").hexdigest() in text
    assert built_ok(project, env={"DASH_SECRET": "s3cr3t-value"}) == set()
    assert built_ok(project, env={"DASH_SECRET": "other"}) == {"c"}


# -- this repository's dashboards: monitoring.yaml is read through ml_monitoring/config.py ------


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """dashboards/, ml_monitoring/ and monitoring.yaml of this repository (rules left out)."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("dashboards", "ml_monitoring"):
        subprocess.run(["cp", "-r", str(REPO / name), str(root / name)], check=True)
    (root / "monitoring.yaml").write_text((REPO / "monitoring.yaml").read_text())
    (root / "pyproject.toml").write_text('[tool.grafana-sync]\noutput-dir = "out"\n')
    return root


def repo_build(root: Path, env: dict[str, str] | None = None) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != "MONITORING_CONFIG"}
    full_env.update({"PYTHONPATH": f"{root}{os.pathsep}{REPO}", **(env or {})})
    proc = subprocess.run([sys.executable, "-m", "grafana_sync", "build"], cwd=root,
                          env=full_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_repository_dashboards_follow_monitoring_yaml_and_its_variable(repo_copy: Path,
                                                                       tmp_path: Path) -> None:
    sources = len([p for p in (repo_copy / "dashboards").glob("*.py")
                   if not p.name.startswith("_")])
    repo_build(repo_copy)
    assert f"{sources} source(s) skipped" in repo_build(repo_copy)
    before = outputs(repo_copy)
    config = repo_copy / "monitoring.yaml"
    config.write_text(config.read_text() + "\nfolder: ml-elsewhere\n")
    out = repo_build(repo_copy)
    assert "skipped" not in out  # every dashboard reads the config: all compiled
    after = outputs(repo_copy)
    assert after != before and all(k.startswith("ml-elsewhere/") for k in after
                                   if k.endswith(".json"))
    other = tmp_path / "other.yaml"
    other.write_text("folder: ml-third\n")
    assert "skipped" not in repo_build(repo_copy, env={"MONITORING_CONFIG": str(other)})
    assert all(k.startswith("ml-third/") for k in outputs(repo_copy) if k.endswith(".json"))
    assert f"{sources} source(s) skipped" in repo_build(
        repo_copy, env={"MONITORING_CONFIG": str(other)})
