"""grafana_sync.model: one panel walk, one PanelRef, one null rule, datasource refs by type."""

from __future__ import annotations

from grafana_sync.model import (
    DatasourceResolver,
    PanelRef,
    content_equal,
    drop_nulls,
    iter_panels,
    walk_panels,
)
from grafana_sync.normalise import normalise_dashboard


def _dash() -> dict:
    return {
        "uid": "u",
        "panels": [
            {"id": 1, "type": "stat", "title": "top"},
            {"id": 2, "type": "row", "title": "open", "collapsed": False, "panels": []},
            {"id": 3, "type": "timeseries", "title": "in open"},
            {"id": 4, "type": "row", "title": "shut", "collapsed": True, "panels": [
                {"id": 5, "type": "table", "title": "in shut"},
                {"id": 6, "libraryPanel": {"uid": "lib-1", "name": "shared"}, "title": "lib"},
            ]},
            "not a panel",
            {"id": 7, "type": "gauge", "title": "after shut"},
        ],
    }


def test_walk_visits_rows_collapsed_rows_and_library_panels_in_document_order() -> None:
    refs = walk_panels(_dash())
    assert [(r.index, r.id, r.row, r.parent_row) for r in refs] == [
        (0, 1, None, None),
        (1, 2, None, None),
        (2, 3, "open", None),
        (3, 4, None, None),
        (4, 5, "shut", 3),
        (5, 6, "shut", 3),
        (6, 7, "shut", None),  # a top-level panel after a row belongs to its section
    ]
    assert [r.is_row for r in refs] == [False, True, False, True, False, False, False]
    assert refs[5].is_library and refs[5].library_uid == "lib-1" and not refs[4].is_library
    assert [p["id"] for p in iter_panels(_dash())] == [1, 2, 3, 4, 5, 6, 7]
    assert [p["id"] for p in iter_panels(_dash()["panels"])] == [1, 2, 3, 4, 5, 6, 7]


def test_panel_ref_reads_defensively_and_serialises_its_place() -> None:
    ref = PanelRef(index=0, raw={"id": True, "title": 3, "gridPos": {"x": 0, "y": 1, "w": 2, "h": 3}})
    assert (ref.id, ref.title, ref.type) == (None, "", "")
    assert ref.as_dict() == {"id": None, "title": "", "type": "", "row": None,
                             "gridPos": {"x": 0, "y": 1, "w": 2, "h": 3}}


def test_drop_nulls_drops_keys_keeps_list_positions_and_copies() -> None:
    data = {"a": None, "b": [1, None, {"c": None, "d": 2}], "e": {"f": None}}
    out = drop_nulls(data)
    assert out == {"b": [1, None, {"d": 2}], "e": {}}
    out["b"][2]["d"] = 9
    assert data["b"][2]["d"] == 2


def test_content_equal_ignores_the_noise_table_but_not_content() -> None:
    a = {"uid": "u", "title": "t", "panels": [{"id": 1, "type": "stat", "title": "x",
                                               "targets": [{"refId": "A", "expr": "up"}]}]}
    noisy = {**a, "version": 7, "editable": True, "panels": [
        {**a["panels"][0], "pluginVersion": "11.4.0", "transparent": False, "links": [],
         "targets": [{"refId": "A", "expr": "up", "hide": False, "editorMode": "code"}]}]}
    assert content_equal(a, noisy)
    changed = {**a, "panels": [{**a["panels"][0], "targets": [{"refId": "A", "expr": "up2"}]}]}
    assert not content_equal(a, changed)


def test_plain_string_datasources_are_not_assumed_prometheus() -> None:
    resolve = DatasourceResolver(variables={"ds": "prometheus", "logs": "loki"},
                                 known={"Loki": {"type": "loki", "uid": "loki-uid"}})
    assert resolve.ref("Loki") == {"type": "loki", "uid": "loki-uid"}
    assert resolve.ref("Elastic") == {"uid": "Elastic"}  # type unknowable: uid only
    assert resolve.ref("$logs") == {"type": "loki", "uid": "$logs"}
    assert resolve.ref("${ds}") == {"type": "prometheus", "uid": "${ds}"}
    assert resolve.ref({"uid": "${logs}"}) == {"type": "loki", "uid": "${logs}"}
    assert resolve.ref({"type": "tempo", "uid": "t"}) == {"type": "tempo", "uid": "t"}
    assert resolve.ref(None) is None  # two variables: no single default, Grafana's default ds
    one = DatasourceResolver(variables={"logs": "loki"})
    assert one.ref(None) == {"type": "loki", "uid": "${logs}"}


def test_normalise_types_a_loki_panel_from_its_variable() -> None:
    raw = {
        "uid": "u", "title": "t", "schemaVersion": 12,
        "templating": {"list": [{"type": "datasource", "name": "logs", "query": "loki"}]},
        "panels": [
            {"type": "logs", "title": "lines", "datasource": "$logs",
             "targets": [{"expr": '{app="x"}', "refId": ""}]},
            {"type": "logs", "title": "named", "datasource": "Loki", "targets": []},
        ],
    }
    dash = normalise_dashboard(raw, {"Loki": {"type": "loki", "uid": "P8E80F9AEF21F6940"}})
    first, second = dash["panels"]
    assert first["datasource"] == {"type": "loki", "uid": "$logs"}
    assert first["targets"][0]["datasource"] == {"type": "loki", "uid": "$logs"}
    assert first["targets"][0]["refId"] == "A"
    assert second["datasource"] == {"type": "loki", "uid": "P8E80F9AEF21F6940"}
    bare = normalise_dashboard({**raw, "templating": {"list": []}})
    assert bare["panels"][1]["datasource"] == {"uid": "Loki"}
