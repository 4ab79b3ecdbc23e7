"""import -> build -> diff on a corpus of real public dashboards (tests/fixtures/import/SOURCES.md).

For every dashboard: the generated module passes ruff, `build` compiles it to exactly the JSON the
build makes of the original, and every difference `diff --against` shows between the original and
that build is a field import reported (nothing changes silently).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grafana_sync.compile import compile_all
from grafana_sync.diff import diff_dashboards
from grafana_sync.importer import import_text
from grafana_sync.importer.shapes import load_classic
from grafana_sync.importer.write import write_module

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "import"
FILES = sorted(CORPUS.glob("*.json"))


def _schema(path: Path) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    data = data.get("spec", data) if "apiVersion" in data else data
    return int(data.get("schemaVersion") or 0)


def _variables(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [v for v in (data.get("templating") or {}).get("list", []) if isinstance(v, dict)]


def test_corpus_is_big_and_varied_enough() -> None:
    assert len(FILES) >= 15
    versions = {_schema(p) for p in FILES}
    assert min(v for v in versions if v) <= 16 and max(versions) >= 41
    texts = [p.read_text(encoding="utf-8") for p in FILES]
    assert sum('"rows"' in t for t in texts) >= 2  # legacy rows dashboards
    assert any('"apiVersion": "dashboard.grafana.app/' in t for t in texts)  # Kubernetes-shaped
    assert sum('"libraryPanel"' in t for t in texts) >= 1
    kinds = {v.get("type") for p in FILES for v in _variables(p)}
    assert {"query", "datasource", "custom", "interval", "adhoc"} <= kinds
    assert sum(len(_variables(p)) >= 6 for p in FILES) >= 3  # heavy templating
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f"`{path.name}`" in sources, f"{path.name} has no source in SOURCES.md"
    assert len(re.findall(r"\b[0-9a-f]{40}\b", sources)) >= len(FILES)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    out = tmp_path_factory.mktemp("dashboards")
    results = {}
    for path in FILES:
        result = import_text(path.read_text(encoding="utf-8"), path.name)
        folder = out / path.stem  # one folder each: two real dashboards may share a uid
        results[path.name] = (write_module(result, folder), result)
    return results


def test_generated_modules_pass_ruff(imported: dict[str, tuple[Path, object]]) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed (it is a dev dependency)")
    config = Path(__file__).resolve().parents[2] / "pyproject.toml"
    files = [str(p) for p, _ in imported.values()]
    proc = subprocess.run([ruff, "check", "--no-cache", "--config", str(config), *files],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_import_build_diff(path: Path, imported: dict[str, tuple[Path, object]]) -> None:
    module, result = imported[path.name]
    folder = module.parent
    built = compile_all(folder)
    assert not built.errors, [str(e) for e in built.errors]
    compiled = {d.uid: d for d in built.dashboards}[result.uid]
    assert compiled.text == result.reference

    original, _ = load_classic(json.loads(path.read_text(encoding="utf-8")), path.name)
    diff = diff_dashboards({result.uid: original}, {result.uid: compiled.data})
    notes = "\n".join(result.notes)
    for dash in diff.dashboards:
        for change in dash.changes:
            if change.change != "added":
                assert f": {generic(change.path)}: " in notes, f"unreported: {change.path}"
        for panel in dash.panels:
            for change in panel.fields:
                if change.change == "added":
                    continue
                where = f"panel {panel.ref.title!r} (id {panel.ref.id})"
                field = f"{generic(change.path)}: "
                lines = [n for n in result.notes if field in n]
                assert lines, f"unreported: {where} {change.path}"
                assert any(where in n or " more" in n for n in lines), f"unreported: {where} {change.path}"


def generic(path: str) -> str:
    return re.sub(r"\[[^\]]*\]", "[*]", path)
