"""grafana-sync import: shapes, the Python it writes, the escape hatch, the CLI's safety rules."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from grafanalib.core import Dashboard, Target, Template

from grafana_sync.cli import main
from grafana_sync.compile import compile_all, compile_dashboard
from grafana_sync.errors import ConfigError
from grafana_sync.grafanalib_extra import ExtraJson, LibraryPanel, PluginPanel
from grafana_sync.importer import import_dashboard, import_text
from grafana_sync.importer.fit import encode
from grafana_sync.importer.pysource import WIDTH, Call, pystr, render

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "import"


def small(**extra: Any) -> dict[str, Any]:
    dash = {
        "uid": "svc", "title": "Service", "schemaVersion": 39, "tags": ["team"],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": "label_values(up, job)", "refresh": 2, "multi": True, "includeAll": True},
            {"name": "window", "type": "interval", "query": "1m,5m,1h", "auto": True, "auto_count": 30,
             "auto_min": "10s"},
            {"name": "filter", "type": "textbox", "query": "", "label": "Filter"},
            {"name": "env", "type": "constant", "query": "prod", "hide": 2},
            {"name": "tier", "type": "custom", "query": "gold,silver",
             "options": [{"selected": True, "text": "gold", "value": "gold"},
                         {"selected": False, "text": "silver", "value": "silver"}],
             "current": {"selected": True, "text": "gold", "value": "gold"}},
            {"name": "Filters", "type": "adhoc",
             "datasource": {"type": "prometheus", "uid": "${datasource}"}},
        ]},
        "annotations": {"list": [{"name": "Deploys", "enable": True, "iconColor": "red",
                                  "datasource": {"type": "prometheus", "uid": "${datasource}"},
                                  "expr": "changes(build_info[5m]) > 0"}]},
        "links": [{"title": "Runbook", "type": "link", "url": "https://runbooks.example/svc",
                   "targetBlank": True}],
        "panels": [
            {"id": 1, "type": "row", "title": "Traffic", "collapsed": False,
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}, "panels": []},
            {"id": 2, "type": "timeseries", "title": "Requests", "description": "Bad: a drop to 0.",
             "gridPos": {"h": 8, "w": 12, "x": 0, "y": 1}, "repeat": "job", "repeatDirection": "h",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "fieldConfig": {"defaults": {"unit": "reqps", "min": 0}, "overrides": [
                 {"matcher": {"id": "byName", "options": "errors"},
                  "properties": [{"id": "color", "value": {"fixedColor": "red", "mode": "fixed"}}]}]},
             "transformations": [{"id": "organize", "options": {"renameByName": {"Value": "rps"}}}],
             "targets": [{"refId": "A", "expr": 'sum by (job) (rate(http_requests_total{job=~"$job"}'
                                                '[$__rate_interval]))', "legendFormat": "{{job}}"}]},
            {"id": 3, "type": "row", "title": "Details", "collapsed": True,
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": 9},
             "panels": [{"id": 4, "type": "grafana-piechart-panel", "title": "Share",
                         "gridPos": {"h": 8, "w": 8, "x": 0, "y": 10},
                         "targets": [{"refId": "A", "expr": "sum by (code) (up)"}],
                         "pieType": "donut"},
                        {"id": 5, "type": "logs", "title": "Logs",
                         "gridPos": {"h": 8, "w": 16, "x": 8, "y": 10},
                         "datasource": {"type": "loki", "uid": "loki"},
                         "targets": [{"refId": "A", "datasource": {"type": "loki", "uid": "loki"},
                                      "expr": '{job="svc"} |= "error"', "queryType": "range"}]}]},
        ],
        **extra,
    }
    return dash


def build_module(source: str, tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "dashboards"
    folder.mkdir(exist_ok=True)
    (folder / "imported.py").write_text(source, encoding="utf-8")
    built = compile_all(folder)
    assert not built.errors, [str(e) for e in built.errors]
    return built.dashboards[0].data


def reference(dash: dict[str, Any]) -> dict[str, Any]:
    return compile_dashboard(copy.deepcopy(dash), Path("ref.json"), None).data


def test_every_templating_kind_rows_repeat_overrides_links_round_trip(tmp_path: Path) -> None:
    dash = small()
    result = import_dashboard(dash, "svc.json")
    assert build_module(result.source, tmp_path) == reference(dash)
    tree = ast.parse(result.source)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"Dashboard", "Templating", "Template", "RowPanel", "TimeSeries", "GridPos",
            "Repeat", "Logs", "PluginPanel"} <= called
    # queries are plain strings in Target(expr=...), readable as written
    assert '"expr": "changes(build_info[5m]) > 0"' in result.source
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert dash["panels"][1]["targets"][0]["expr"] in strings  # one string literal, as written
    assert 'legendFormat="{{job}}"' in result.source or '"legendFormat": "{{job}}"' in result.source
    assert 'unit="reqps"' in result.source or '"unit": "reqps"' in result.source


def test_shared_values_are_named_once(tmp_path: Path) -> None:
    result = import_dashboard(small(), "svc.json")
    assert result.source.count('{"type": "prometheus", "uid": "${datasource}"}') == 1
    assert 'DS_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}' in result.source


def test_kubernetes_v1_resource_and_api_answer_read_as_the_dashboard(tmp_path: Path) -> None:
    dash = small()
    plain = import_dashboard(dash, "svc.json")
    spec = {k: v for k, v in dash.items() if k != "uid"}
    k8s = {"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
           "metadata": {"name": "svc", "namespace": "default"}, "spec": spec}
    from_k8s = import_dashboard(k8s, "svc.yaml.json")
    assert from_k8s.reference == plain.reference
    assert any("Kubernetes-shaped" in n for n in from_k8s.notes)
    envelope = import_dashboard({"dashboard": dash, "meta": {"folderUid": "ops"}}, "api.json",
                                folder="ops")
    assert envelope.reference == plain.reference and 'folder = "ops"' in envelope.source


def test_legacy_rows_are_laid_out_and_reported(tmp_path: Path) -> None:
    legacy = {"uid": "old", "title": "Old", "schemaVersion": 14, "rows": [
        {"title": "A", "showTitle": True, "height": "250px", "panels": [
            {"id": 1, "type": "graph", "title": "CPU", "span": 6,
             "targets": [{"refId": "A", "expr": "rate(cpu[5m])"}], "yaxes": [{"format": "percent"}]},
            {"id": 2, "type": "singlestat", "title": "Up", "span": 6, "targets": [{"expr": "up"}]}]}]}
    result = import_dashboard(legacy, "old.json")
    built = build_module(result.source, tmp_path)
    assert [p["type"] for p in built["panels"]] == ["row", "timeseries", "stat"]
    assert [p["gridPos"]["w"] for p in built["panels"]] == [24, 12, 12]
    notes = "\n".join(result.notes)
    assert "legacy rows" in notes
    assert "panel 'CPU' (id 1): yaxes: not carried" in notes
    assert "panel 'CPU' (id 1): type: changed by the build: \"graph\" -> \"timeseries\"" in notes


def test_untitled_panels_overlaps_and_missing_uid_are_fixed_and_said(tmp_path: Path) -> None:
    dash = {"title": "No uid", "panels": [
        {"id": 1, "type": "text", "title": "", "gridPos": {"h": 4, "w": 12, "x": 0, "y": 0},
         "options": {"content": "# hi", "mode": "markdown"}},
        {"id": 2, "type": "stat", "title": "Up", "gridPos": {"h": 4, "w": 12, "x": 6, "y": 0},
         "targets": [{"expr": "up"}]}]}
    result = import_dashboard(dash, "exports/no-uid.json")
    built = build_module(result.source, tmp_path)
    assert built["uid"] == "no-uid"
    assert built["panels"][0]["title"] == "Untitled text 1"
    assert built["panels"][1]["gridPos"] == {"h": 4, "w": 12, "x": 6, "y": 4}
    notes = "\n".join(result.notes)
    assert "uid: None is not a valid Grafana uid for the build; set to 'no-uid'" in notes
    assert "panel 'Untitled text 1' (id 1): title: the original text panel has none" in notes
    assert "panel 'Up' (id 2): gridPos.y: 0 -> 4" in notes


def test_library_panel_reference(tmp_path: Path) -> None:
    dash = {"uid": "lib", "title": "Lib", "panels": [
        {"id": 7, "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
         "libraryPanel": {"uid": "cpu-lib", "name": "CPU"}, "title": "CPU",
         "type": "timeseries", "targets": [{"expr": "copied model"}]}],
        "__elements": {"cpu-lib": {"uid": "cpu-lib", "model": {}}}}
    result = import_dashboard(dash, "lib.json")
    assert 'LibraryPanel(uid="cpu-lib", name="CPU"' in result.source
    built = build_module(result.source, tmp_path)
    assert built["panels"] == [{"gridPos": {"h": 8, "w": 12, "x": 0, "y": 0}, "id": 7,
                                "libraryPanel": {"name": "CPU", "uid": "cpu-lib"}, "title": "CPU"}]
    assert any("__elements: export-only" in n for n in result.notes)


@pytest.mark.parametrize("text,message", [
    ("{not json", "x.json:1:2: malformed JSON"),
    ("[1, 2]", "x.json: not a Grafana dashboard"),
    ('{"uid": "a", "panels": []}', "x.json: dashboard has no title"),
    ('{"uid": "a", "title": "A", "panels": {"x": 1}}', "x.json: not a Grafana dashboard"),
])
def test_bad_input_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        import_text(text, "x.json")
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_extra_json_merges_removes_and_replaces() -> None:
    wrapped = ExtraJson(Target(expr="up", refId="A"), {"hide": None, "format": "table",
                                                      "nested": {"a": 1}})
    data = wrapped.to_json_data()
    assert "hide" not in data and data["format"] == "table" and data["nested"] == {"a": 1}
    assert data["expr"] == "up"
    again = wrapped.to_json_data()  # the residual is not consumed or shared
    assert again == data and wrapped.extraJson["nested"] == {"a": 1}
    dash = ExtraJson(Dashboard(title="T", uid="t"), {"weekStart": "monday"})
    assert dash.title == "T" and encode(dash)["weekStart"] == "monday"
    with pytest.raises(TypeError):
        ExtraJson({"not": "grafanalib"}, {})
    assert encode(PluginPanel(type="flant-statusmap-panel", title="S"))["type"] == "flant-statusmap-panel"
    assert encode(LibraryPanel(uid="u", name="N"))["libraryPanel"] == {"uid": "u", "name": "N"}
    assert encode(Template(name="x", query="y"))["name"] == "x"


def test_source_rendering_is_valid_python_within_the_width() -> None:
    tricky = 'a "quoted" \\ back\nslash\ttab ünïcödé \u200b' + "x" * 300
    call = Call("f", [("text", tricky), ("items", [{"k": tricky}] * 2)])
    source = "value = " + render(call, 0, len("value = "), tail=0)
    assert max(len(line) for line in source.splitlines()) <= WIDTH
    namespace: dict[str, Any] = {"f": lambda **kw: kw}
    exec(compile(source, "<test>", "exec"), namespace)  # noqa: S102
    assert namespace["value"] == {"text": tricky, "items": [{"k": tricky}] * 2}
    assert eval(pystr("\x00\x7f\ud800"[:2])) == "\x00\x7f"  # noqa: S307


def test_cli_writes_modules_and_refuses_to_overwrite(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "svc.json"
    src.write_text(json.dumps(small()), encoding="utf-8")
    out = tmp_path / "dashboards"
    with pytest.raises(SystemExit) as exc:
        main(["import", str(src), "--output-dir", str(out)])
    assert exc.value.code == 0
    written = out / "svc.py"
    assert written.is_file() and "svc.json -> " in capsys.readouterr().out
    written.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["import", str(src), "--output-dir", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "svc.py: already exists" in err and "--force" in err
    assert written.read_text(encoding="utf-8") == "# mine\n"
    with pytest.raises(SystemExit) as exc:
        main(["import", str(src), "--output-dir", str(out), "--force"])
    assert exc.value.code == 0 and "Dashboard(" in written.read_text(encoding="utf-8")


def test_cli_bad_file_is_one_line_and_others_still_import(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    good = CORPUS / "istio-mesh.json"
    out = tmp_path / "dashboards"
    with pytest.raises(SystemExit) as exc:
        main(["import", str(bad), str(tmp_path / "missing.json"), str(good), "--output-dir", str(out)])
    captured = capsys.readouterr()
    assert exc.value.code == 2
    errors = [line for line in captured.err.splitlines() if line]
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert "Traceback" not in captured.err
    assert [p.name for p in out.glob("*.py")] == ["d_1a9a8ea49444aae205c7737573e894f9.py"]


def test_lint_runs_on_the_output_of_an_imported_module(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dashboards").mkdir()
    with pytest.raises(SystemExit):
        main(["import", str(CORPUS / "node-exporter-full.json"), "--output-dir", "dashboards", "-q"])
    with pytest.raises(SystemExit) as exc:
        main(["build"])
    assert exc.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--format", "json"])
    out = capsys.readouterr().out
    assert exc.value.code in (0, 1)  # findings are the dashboard's own
    report = json.loads(out)
    assert report  # lint read the dashboard and reported on it


def test_what_grafana_would_migrate_survives_the_build(tmp_path: Path) -> None:
    """A Grafana 6 text panel keeps its text; tag-filtered annotations keep their filter (in
    `target`, where Grafana keeps it now and the schema allows it)."""
    dash = {"uid": "t", "title": "T", "panels": [
        {"id": 1, "type": "text", "title": "About", "content": "# Runbook", "mode": "markdown",
         "gridPos": {"h": 3, "w": 6, "x": 0, "y": 0}}],
        "annotations": {"list": [{"datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "iconColor": "red", "name": "Deploys",
                                  "type": "tags", "tags": ["deploy"], "matchAny": True, "limit": 100}]},
        "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)",
                                 "definition": "label_values(up, job)"}]}}
    result = import_dashboard(dash, "t.json")
    built = build_module(result.source, tmp_path)
    assert built["panels"][0]["options"] == {"content": "# Runbook", "mode": "markdown"}
    annotation = built["annotations"]["list"][0]
    assert annotation["type"] == "tags"
    assert annotation["target"] == {"type": "tags", "tags": ["deploy"], "matchAny": True, "limit": 100}
    notes = "\n".join(result.notes)
    assert "templating.list[*].definition: not carried" in notes  # not in Grafana's schema
    assert "panel 'About' (id 1): content: moved to options.content by the build" in notes
    assert "annotations.list[*].tags: moved to annotations.list[*].target.tags by the build" in notes


def test_cli_refuses_a_uid_the_repository_defines(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    compiled = tmp_path / "provisioning" / "dashboards" / "ml" / "svc.json"
    compiled.parent.mkdir(parents=True)
    compiled.write_text(json.dumps({"uid": "svc", "title": "Ours", "panels": []}), encoding="utf-8")
    src = tmp_path / "svc.json"
    src.write_text(json.dumps(small()), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["import", str(src)])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "dashboard uid 'svc' is already defined in this repository" in err and "--force" in err
    assert not (tmp_path / "dashboards" / "svc.py").exists()
    with pytest.raises(SystemExit) as exc:
        main(["import", str(src), "--force"])
    assert exc.value.code == 0 and (tmp_path / "dashboards" / "svc.py").is_file()


@pytest.mark.parametrize("uid,module", [
    ("svc-api", "svc_api"), ("1a2b", "d_1a2b"), ("json", "json_dashboard"),
    ("grafanalib", "grafanalib_dashboard"), ("class", "class_dashboard"), ("__x__", "x"),
])
def test_module_names_never_shadow_other_modules(uid: str, module: str) -> None:
    from grafana_sync.importer import module_name_for

    assert module_name_for(uid) == module


def test_import_block_follows_where_the_module_lives(tmp_path: Path) -> None:
    """Inside this repository grafana_sync is first party (its own section, after grafanalib);
    in a project that installs it, it is third party (one section, grafana_sync sorts first)."""
    from grafana_sync.importer.generate import engine_is_first_party

    repo = Path(__file__).resolve().parents[2]
    assert engine_is_first_party(repo / "dashboards")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert not engine_is_first_party(tmp_path / "dashboards")
    inside = import_dashboard(small(), "svc.json").source
    outside = import_dashboard(small(), "svc.json", engine_first_party=False).source
    assert "\n\nfrom grafana_sync.grafanalib_extra import ExtraJson, PluginPanel\n" in inside
    assert "from grafana_sync.grafanalib_extra import ExtraJson, PluginPanel\nfrom grafanalib.core" in outside
