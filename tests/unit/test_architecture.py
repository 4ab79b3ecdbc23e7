"""The engine's shape: click only in the CLI layer, one definition of each dashboard-model fact,
no default that names this repository's files (issue #14 "Done when")."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "grafana_sync"
CLI_LAYER = {ENGINE / "cli.py", ENGINE / "__main__.py"}


def _modules() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if "__pycache__" not in p.parts)


def _is_cli(path: Path) -> bool:
    return path in CLI_LAYER or (ENGINE / "commands") in path.parents


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_cli_layer_imports_click() -> None:
    offenders = [str(p.relative_to(REPO)) for p in _modules() if not _is_cli(p)
                 and any(n == "click" or n.startswith("click.")
                         for n in _imports(ast.parse(p.read_text())))]
    assert offenders == []


def test_the_library_does_not_import_the_cli_layer() -> None:
    offenders = [str(p.relative_to(REPO)) for p in _modules() if not _is_cli(p)
                 and any(n == "grafana_sync.cli" or n.split(".")[:2] == ["grafana_sync", "commands"]
                         for n in _imports(ast.parse(p.read_text())))]
    assert offenders == []


def _definitions(name: str) -> list[str]:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                found.append(str(path.relative_to(ENGINE)))
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets) and \
                        not isinstance(getattr(node, "value", None), (ast.Name, ast.Attribute)):
                    found.append(str(path.relative_to(ENGINE)))
    return found


def test_dashboard_model_facts_are_defined_once() -> None:
    for name in ("drop_nulls", "_drop_nulls", "PanelRef", "walk_panels", "flatten_panels",
                 "normalise_for_compare", "GRID_WIDTH", "GRID_COLUMNS", "datasource_ref",
                 "variable_name_in", "datasource_uid", "DATA_PANEL_TYPES"):
        defs = [d for d in _definitions(name) if d not in ("diff.py",) or name != "flatten_panels"]
        assert len(defs) <= 1, (name, defs)
    assert _definitions("PanelRef") == ["model.py"]
    assert _definitions("GRID_WIDTH") == ["model.py"]
    assert _definitions("drop_nulls") == ["model.py"]


def test_grid_width_is_not_repeated_in_the_dashboards_library() -> None:
    text = (REPO / "dashboards" / "_lib" / "layout.py").read_text()
    assert "from grafana_sync.model import GRID_WIDTH" in text and "GRID_WIDTH = 24" not in text


def _string_constants(tree: ast.AST) -> set[str]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docstrings}


def test_no_engine_default_names_this_repositorys_files() -> None:
    repo_files = {"docs/metrics.md", "metrics.md", "ml-monitoring", "dashboards/_config.py"}
    offenders = {str(p.relative_to(REPO)): sorted(_string_constants(ast.parse(p.read_text()))
                                                  & repo_files) for p in _modules()}
    assert {k: v for k, v in offenders.items() if v} == {}
