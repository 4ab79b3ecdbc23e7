"""dashboards/_lib/panels.py drops no panel field: every grafanalib attribute that ModernPanel,
PromTarget and Row expose reaches the compiled JSON, or setting it is a one-line build error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import attr
import pytest
from grafanalib.core import Dashboard, GridPos, Repeat

from grafana_sync.compile import compile_dashboard
from grafana_sync.errors import BuildError, ConfigError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "dashboards"))
from _lib.panels import (  # noqa: E402
    _LEGACY_PANEL_ATTRS,
    _LEGACY_TARGET_ATTRS,
    ModernPanel,
    PromTarget,
    Row,
)

LOKI = {"type": "loki", "uid": "logs"}

#: attribute -> (value to set, path in the compiled panel JSON, expected value there)
PANEL_VALUES: dict[str, tuple[Any, tuple[str, ...], Any]] = {
    "dataSource": (LOKI, ("datasource",), LOKI),
    "targets": ([PromTarget(expr="up", refId="Q")], ("targets", 0, "refId"), "Q"),
    "title": ("Every field", ("title",), "Every field"),
    "cacheTimeout": ("60s", ("cacheTimeout",), "60s"),
    "description": ("What bad looks like", ("description",), "What bad looks like"),
    "gridPos": (GridPos(h=5, w=7, x=3, y=0), ("gridPos",), {"h": 5, "w": 7, "x": 3, "y": 0}),
    "hideTimeOverride": (True, ("hideTimeOverride",), True),
    "id": (42, ("id",), 42),
    "interval": ("30s", ("interval",), "30s"),
    "links": ([{"title": "runbook", "url": "https://example.org/rb"}], ("links", 0, "title"),
              "runbook"),
    "maxDataPoints": (500, ("maxDataPoints",), 500),
    "repeat": (Repeat(direction="h", variable="model", maxPerRow=4), ("repeat",), "model"),
    "thresholdType": ("percentage", ("fieldConfig", "defaults", "thresholds", "mode"), "percentage"),
    "timeFrom": ("24h", ("timeFrom",), "24h"),
    "timeShift": ("1d", ("timeShift",), "1d"),
    "transparent": (True, ("transparent",), True),
    "transformations": ([{"id": "merge", "options": {}}], ("transformations", 0, "id"), "merge"),
    "extraJson": ({"libraryPanel": {"uid": "lib", "name": "Lib"}}, ("libraryPanel", "uid"), "lib"),
    # ModernPanel's own attributes
    "kind": ("stat", ("type",), "stat"),
    "unit": ("reqps", ("fieldConfig", "defaults", "unit"), "reqps"),
    "steps": ([{"color": "green", "value": None}, {"color": "red", "value": 5}],
              ("fieldConfig", "defaults", "thresholds", "steps", 1, "value"), 5),
    "mappings": ([{"type": "value", "options": {"1": {"text": "up"}}}],
                 ("fieldConfig", "defaults", "mappings", 0, "type"), "value"),
    "min": (1.5, ("fieldConfig", "defaults", "min"), 1.5),
    "max": (9.5, ("fieldConfig", "defaults", "max"), 9.5),
    "decimals": (3, ("fieldConfig", "defaults", "decimals"), 3),
    "color": ({"mode": "fixed", "fixedColor": "blue"}, ("fieldConfig", "defaults", "color", "mode"),
              "fixed"),
    "custom": ({"lineWidth": 3}, ("fieldConfig", "defaults", "custom", "lineWidth"), 3),
    "overrides": ([{"matcher": {"id": "byName", "options": "x"}, "properties": []}],
                  ("fieldConfig", "overrides", 0, "matcher", "options"), "x"),
    "options": ({"tooltip": {"mode": "multi", "sort": "desc"}}, ("options", "tooltip", "sort"),
                "desc"),
    "noValue": ("n/a", ("fieldConfig", "defaults", "noValue"), "n/a"),
}
REPEAT_EXTRA = {("repeatDirection",): "h", ("maxPerRow",): 4}


def _compile_panel(panel: Any) -> dict[str, Any]:
    dash = Dashboard(title="t", uid="t", panels=[panel])
    compiled = compile_dashboard(dash, Path("lib_test.py"), None)
    (out,) = compiled.data["panels"]
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _base(**kwargs: Any) -> ModernPanel:
    fields = {"kind": "timeseries", "title": "p", "description": "d",
              "targets": [PromTarget(expr="up")], "gridPos": GridPos(h=8, w=12, x=0, y=0)}
    fields.update(kwargs)
    return ModernPanel(**fields)


def test_the_table_covers_every_attribute_of_the_panel_class() -> None:
    names = {f.name for f in attr.fields(ModernPanel)}
    covered = set(PANEL_VALUES) | set(_LEGACY_PANEL_ATTRS) | {"thresholds"}
    assert names == covered, f"add a row for: {sorted(names - covered)}"


@pytest.mark.parametrize("name", sorted(PANEL_VALUES))
def test_every_panel_attribute_reaches_the_compiled_json(name: str) -> None:
    value, path, expected = PANEL_VALUES[name]
    panel = _compile_panel(_base(**{name: value}))
    assert _get(panel, path) == expected
    if name == "repeat":
        for extra_path, extra in REPEAT_EXTRA.items():
            assert _get(panel, extra_path) == extra
    baseline = _compile_panel(_base())
    if name not in ("targets", "title", "description", "gridPos"):
        with pytest.raises((KeyError, IndexError, AssertionError)):
            assert _get(baseline, path) == expected  # the default differs: the value came through


@pytest.mark.parametrize("name, value", [("editable", False), ("error", True), ("height", 300),
                                         ("minSpan", 4), ("span", 6), ("thresholds", [{"value": 1}])])
def test_legacy_panel_attributes_are_an_error_naming_the_panel(name: str, value: Any) -> None:
    with pytest.raises((BuildError, ConfigError)) as err:
        _compile_panel(_base(title="Latency", **{name: value}))
    message = str(err.value)
    assert "Latency" in message and name in message and "\n" not in message


TARGET_VALUES: dict[str, tuple[Any, str, Any]] = {
    "expr": ("sum(up)", "expr", "sum(up)"),
    "format": ("table", "format", "table"),
    "hide": (True, "hide", True),
    "legendFormat": ("{{job}}", "legendFormat", "{{job}}"),
    "interval": ("1m", "interval", "1m"),
    "refId": ("Z", "refId", "Z"),
    "instant": (True, "instant", True),
    "datasource": (LOKI, "datasource", LOKI),
}


def test_target_table_covers_every_target_attribute() -> None:
    names = {f.name for f in attr.fields(PromTarget)}
    assert names == set(TARGET_VALUES) | set(_LEGACY_TARGET_ATTRS)


@pytest.mark.parametrize("name", sorted(TARGET_VALUES))
def test_every_target_attribute_reaches_the_compiled_json(name: str) -> None:
    value, key, expected = TARGET_VALUES[name]
    target = attr.evolve(PromTarget(expr="up", refId="A"), **{name: value})
    (out,) = _compile_panel(_base(targets=[target]))["targets"]
    assert out[key] == expected


@pytest.mark.parametrize("name, value", [("metric", "m"), ("target", "g"), ("step", 30),
                                         ("intervalFactor", 1)])
def test_legacy_target_attributes_are_an_error(name: str, value: Any) -> None:
    with pytest.raises((BuildError, ConfigError)) as err:
        _compile_panel(_base(targets=[PromTarget(expr="up", **{name: value})]))
    assert name in str(err.value) and "\n" not in str(err.value)


def test_row_keeps_its_repeat() -> None:
    row = Row(title="Per model", gridPos=GridPos(h=1, w=24, x=0, y=0),
              repeat=Repeat(variable="model"))
    out = _compile_panel(row)
    assert out["type"] == "row" and out["repeat"] == "model"
