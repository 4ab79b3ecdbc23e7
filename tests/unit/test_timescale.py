"""Time-scaled rule rendering (grafana_sync.timescale): every value worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grafana_sync import timescale
from grafana_sync.errors import BuildError, ConfigError
from grafana_sync.rules import compile_rules, render_time_scaled
from grafana_sync.timescale import TimeScale, format_duration, scale_expr, scale_groups

REPO = Path(__file__).resolve().parents[2]
X20 = TimeScale(20)  # 1 s resolution: range windows at least 4 s


@pytest.mark.parametrize(("expr", "scaled"), [
    ("rate(x[5m])", "rate(x[15s])"),  # 300 / 20
    ("x offset 1h", "x offset 3m"),  # 3600 / 20 = 180
    ("x offset -5m", "x offset -15s"),
    ("rate(x[5m] offset 1h)", "rate(x[15s] offset 3m)"),
    ("max_over_time(y[1h:30s])", "max_over_time(y[3m:2s])"),  # 30 / 20 = 1.5: half up
    ("max_over_time(y[1h:] offset 10m)", "max_over_time(y[3m:] offset 30s)"),  # default step stays
    ("last_over_time(up[1d])", "last_over_time(up[1h12m])"),  # 86400 / 20 = 4320
    ("increase(x[6h]) >= 20", "increase(x[18m]) >= 20"),  # thresholds are not times
    # layout, strings and `@` timestamps are left alone
    ('sum by (a) (\n  rate(x{a="[5m] offset 1h"}[10m])\n)',
     'sum by (a) (\n  rate(x{a="[5m] offset 1h"}[30s])\n)'),
    ("x @ 3600", "x @ 3600"),
])
def test_windows_offsets_and_steps_divided_by_the_speed(expr, scaled):
    assert scale_expr(expr, X20) == scaled


def test_window_constants_follow_their_window():
    expr = "avg_over_time(r[1h]) * 3600 >= 100"
    # undeclared: a number is a number
    assert scale_expr(expr, X20) == "avg_over_time(r[3m]) * 3600 >= 100"
    # declared: the count over [1h] becomes the count over [3m] = 180 s
    assert scale_expr(expr, X20, [3600]) == "avg_over_time(r[3m]) * 180 >= 100"
    # floored together: 3600 / 3600 = 1 s < 4 x 1 s, window and constant both 4
    assert scale_expr(expr, TimeScale(3600), [3600]) == "avg_over_time(r[4s]) * 4 >= 100"


def test_range_floor_is_min_samples_scrapes():
    # 2m / 60 = 2 s: fewer than 4 scrapes of 1 s, raised to 4 s; with 2 s scrapes to 8 s
    assert scale_expr("rate(x[2m])", TimeScale(60)) == "rate(x[4s])"
    assert scale_expr("rate(x[2m])", TimeScale(60, resolution=2)) == "rate(x[8s])"
    assert TimeScale(60, resolution=2).min_range == 8
    # a window already shorter than the floor keeps its length (3 s / 60 rounds to 0)
    assert scale_expr("rate(x[3s])", TimeScale(60)) == "rate(x[3s])"
    # subquery steps: at least one resolution
    assert scale_expr("max_over_time(y[10m:10s])", TimeScale(60, resolution=2)) == "max_over_time(y[10s:2s])"
    # an offset stays one (1 s at least); `for` has no floor (test_groups_for_and_intervals)
    assert scale_expr("x offset 20s", TimeScale(60)) == "x offset 1s"


def test_groups_for_and_intervals():
    groups = [{"name": "g", "interval": "1m", "rules": [
        {"alert": "A", "expr": "rate(x[5m]) > 0", "for": "15m", "keep_firing_for": "90s",
         "labels": {"severity": "warning"}},
        {"record": "r", "expr": "sum(rate(x[5m]))"},
    ]}]
    out = scale_groups(groups, TimeScale(10, resolution=2))
    assert out == [{"name": "g", "interval": "6s", "rules": [  # 60 / 10
        {"alert": "A", "expr": "rate(x[30s]) > 0", "for": "1m30s", "keep_firing_for": "9s",
         "labels": {"severity": "warning"}},
        {"record": "r", "expr": "sum(rate(x[30s]))"},
    ]}]
    assert groups[0]["rules"][0]["for"] == "15m"  # input untouched


def test_format_duration():
    assert [format_duration(s) for s in (0, 5, 90, 3600, 4320, 90061)] == \
        ["0s", "5s", "1m30s", "1h", "1h12m", "1d1h1m1s"]


def test_bad_input_is_one_line():
    with pytest.raises(ConfigError, match="factor must be a positive number"):
        TimeScale(0)
    with pytest.raises(ConfigError, match="does not parse"):
        scale_expr("rate(x[5m]", X20)


def test_a_rewrite_that_disagrees_with_the_parser_is_refused(monkeypatch):
    monkeypatch.setattr(timescale, "_rewrite", lambda text, ts, constants: text)
    with pytest.raises(BuildError, match="cannot time-scale this expression faithfully"):
        scale_expr("rate(x[5m])", X20)


def test_every_project_rule_at_speed_1_is_unchanged(tmp_path):
    """The rewrite touches nothing else: at factor 1 the rules equal the committed ones."""
    result = compile_rules(REPO / "rules", tmp_path, tmp_path / "t", TimeScale(1))
    assert not result.errors
    for compiled in result.rules:
        committed = yaml.safe_load((REPO / "prometheus" / "rules" / compiled.relpath).read_text())
        assert yaml.safe_load(compiled.text) == committed, compiled.relpath
    assert not result.tests  # promtool tests pin real time: not written scaled


def test_project_alerts_scaled_to_speed_20(tmp_path):
    written = render_time_scaled(REPO / "rules", tmp_path, X20)
    assert {p.name for p in written} >= {"alerts.yml", "recording.yml"}
    alerts = {(r["alert"], r["labels"]["severity"]): r
              for g in yaml.safe_load((tmp_path / "alerts.yml").read_text())["groups"]
              for r in g["rules"] if "alert" in r}
    err = alerts[("MLErrorRatioHigh", "warning")]
    assert err["for"] == "15s"  # 5m / 20
    # the 1h window -> 3m, its request count 3600 -> 180 (requests in the scaled window)
    assert "[3m]" in err["expr"] and "* 180)" in err["expr"] and "3600" not in err["expr"]
    assert "[1h]" not in err["expr"]
    fb = alerts[("MLFeedbackVolumeDrop", "warning")]
    assert "[30s]" in fb["expr"] and "[18m]" in fb["expr"]  # 10m and 6h
    assert alerts[("MLModelQualityBelowBaseline", "critical")]["for"] == "45s"  # 15m / 20
    down = alerts[("MLModelTargetDown", "critical")]
    assert "[1h12m]" in down["expr"] and down["for"] == "6s"  # 1d / 20, 2m / 20
    recording = (tmp_path / "recording.yml").read_text()
    assert "[15s]" in recording and "[5m]" not in recording
    # the cost rule's 3600 is USD/h per predictions/s (a unit, not a window): left alone
    assert "* 3600" in recording
    assert (tmp_path / "alerts.yml").read_text().splitlines()[1].startswith("# TIME-SCALED")


def test_window_constants_must_be_numbers(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.py").write_text('window_constants = ["1h"]\n'
                                'groups = [{"name": "g", "rules": [{"record": "a", "expr": "x"}]}]\n')
    result = compile_rules(rules, tmp_path / "out", tmp_path / "t", X20)
    assert [str(e) for e in result.errors] == [
        f"{rules / 'r.py'}: `window_constants` must be a list of positive numbers (seconds), got ['1h']"]
