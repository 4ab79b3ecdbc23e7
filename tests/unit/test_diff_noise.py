"""Each noise field is ignored (and a real change next to it is not): docs/diff.md "Noise"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from grafana_sync.diff import content_equal, diff_dashboards, normalise_for_compare
from grafana_sync.diff_render import render_json
from tests.unit.test_diff_fixtures import DS, base_dashboard, panel


def _top(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__(key, value)


def _panels(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Apply fn to every panel, rows and the children of collapsed rows included."""
    def mutate(d: dict[str, Any]) -> None:
        for p in d["panels"]:
            fn(p)
            for child in p.get("panels", []):
                fn(child)
    return mutate


def _targets(fn: Callable[[dict[str, Any], dict[str, Any]], None]):
    return _panels(lambda p: [fn(p, t) for t in p.get("targets", [])])


def _builtin_annotation(d: dict[str, Any]) -> None:
    d["annotations"]["list"].insert(0, {
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
        "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
        "type": "dashboard"})


def _variable_current(d: dict[str, Any]) -> None:
    for var in d["templating"]["list"]:
        var["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}


def _variable_options(d: dict[str, Any]) -> None:
    for var in d["templating"]["list"]:
        var["options"] = [{"selected": True, "text": "prom", "value": "prom"}]


def _target_datasource_from_panel(p: dict[str, Any], t: dict[str, Any]) -> None:
    t["datasource"] = p.get("datasource")


NOISE: dict[str, Callable[[dict[str, Any]], None]] = {
    "id": _top("id", 42),
    "version": _top("version", 17),
    "iteration": _top("iteration", 1700000000000),
    "schemaVersion": _top("schemaVersion", 41),
    "__inputs": _top("__inputs", [{"name": "DS_PROMETHEUS", "type": "datasource"}]),
    "__elements": _top("__elements", {}),
    "__requires": _top("__requires", [{"type": "grafana", "id": "grafana", "version": "11.4.0"}]),
    "editable: true": _top("editable", True),
    "fiscalYearStartMonth: 0": _top("fiscalYearStartMonth", 0),
    "graphTooltip: 0": _top("graphTooltip", 0),
    "liveNow: false": _top("liveNow", False),
    "weekStart: ''": _top("weekStart", ""),
    "timepicker: {}": _top("timepicker", {}),
    "gnetId: null": _top("gnetId", None),
    "dashboard description: ''": _top("description", ""),
    "null values": _panels(lambda p: p.__setitem__("interval", None)),
    "built-in annotation": _builtin_annotation,
    "variable current": _variable_current,
    "query/datasource variable options": _variable_options,
    "pluginVersion": _panels(lambda p: p.__setitem__("pluginVersion", "11.4.0")),
    "panel links: []": _panels(lambda p: p.__setitem__("links", [])),
    "panel transformations: []": _panels(lambda p: p.__setitem__("transformations", [])),
    "panel transparent: false": _panels(lambda p: p.__setitem__("transparent", False)),
    "panel options: {}": _panels(lambda p: p.setdefault("options", {})),
    "empty fieldConfig": _panels(lambda p: p.setdefault(
        "fieldConfig", {"defaults": {}, "overrides": []})),
    "target editorMode": _targets(lambda p, t: t.__setitem__("editorMode", "code")),
    "target hide: false": _targets(lambda p, t: t.__setitem__("hide", False)),
    "target datasource equal to the panel's": _targets(_target_datasource_from_panel),
    "tag order": lambda d: d["tags"].reverse(),
    "key order": lambda d: d.update(dict(reversed(list(d.items())))),
}


def _without_target_datasources(d: dict[str, Any]) -> None:
    for p in d["panels"]:
        for x in [p, *p.get("panels", [])]:
            for t in x.get("targets", []):
                t.pop("datasource", None)


@pytest.mark.parametrize("name", list(NOISE))
def test_noise_is_ignored(name: str) -> None:
    new = base_dashboard()
    if name == "target datasource equal to the panel's":
        _without_target_datasources(new)  # the fixture has them; Grafana adds them on save
    else:
        NOISE[name](new)
    assert new != base_dashboard() or name == "key order"
    assert content_equal(base_dashboard(), new)
    result = diff_dashboards({"infra": base_dashboard()}, {"infra": new})
    assert result.is_empty, json.loads(render_json(result))["dashboards"]


@pytest.mark.parametrize("key,value,path", [
    ("editable", False, "editable"),
    ("graphTooltip", 1, "graphTooltip"),
    ("liveNow", True, "liveNow"),
])
def test_non_default_values_of_default_keys_are_changes(key: str, value: Any, path: str) -> None:
    new = base_dashboard()
    new[key] = value
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    assert doc["dashboards"][0]["changes"] == [{"path": path, "change": "added", "new": value}]


def test_custom_variable_options_are_content_not_noise() -> None:
    old = base_dashboard()
    old["templating"]["list"].append({"name": "env", "type": "custom", "query": "a,b",
                                      "options": [{"text": "a", "value": "a"}]})
    new = base_dashboard()
    new["templating"]["list"].append({"name": "env", "type": "custom", "query": "a,b",
                                      "options": [{"text": "b", "value": "b"}]})
    assert not content_equal(old, new)


def test_target_datasource_different_from_the_panels_is_a_change() -> None:
    new = base_dashboard()
    panel(new, "p99 latency")["targets"][0]["datasource"] = {"type": "prometheus", "uid": "other"}
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    (entry,) = doc["dashboards"][0]["panels"]
    # The reference side's datasource equals its panel's (noise); the local one names another.
    assert entry["fields"] == [{"path": "targets[A].datasource", "change": "added",
                                "new": {"type": "prometheus", "uid": "other"}}]


def test_normalise_for_compare_lists_what_it_strips() -> None:
    dash = base_dashboard()
    for mutate in NOISE.values():
        mutate(dash)
    clean = normalise_for_compare(dash)
    for key in ("id", "version", "iteration", "schemaVersion", "__inputs", "__requires",
                "editable", "graphTooltip", "gnetId"):
        assert key not in clean
    assert all("pluginVersion" not in p for p in clean["panels"])
    assert all("current" not in v for v in clean["templating"]["list"])
    assert [a["name"] for a in clean["annotations"]["list"]] == ["Deployments"]
    assert panel(clean, "p99 latency")["targets"][0] == {
        "refId": "A", "legendFormat": "{{model}}",
        "expr": panel(base_dashboard(), "p99 latency")["targets"][0]["expr"]}
    assert panel(clean, "p99 latency")["datasource"] == DS
