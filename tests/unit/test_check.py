"""grafana-sync check without a Prometheus: variable resolution, macros, verdicts, CLI errors.

A fake API stands in for Prometheus here; tests/integration/test_check_prometheus.py runs the
same code against the real binary.
"""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from grafana_sync.check import (
    DATA,
    EMPTY,
    ERROR,
    NO_HISTORY,
    Checker,
    CheckError,
    CheckOptions,
    PanelReport,
    PrometheusAPI,
    QueryError,
    TargetReport,
    _summarise,
    dashboard_range,
    parse_duration,
    render_text,
    round_interval,
)
from grafana_sync.cli import cli
from grafana_sync.errors import ConfigError


class FakeAPI:
    """Answers from a table: label values per (label, match), and query -> result."""

    shown_url = "http://prom.example:9090"

    def __init__(self, labels=None, results=None, history=True):
        self.labels = labels or {}
        self.results = results or {}
        self.history = history
        self.queries: list[str] = []
        self.label_calls: list[tuple[str, str | None]] = []

    def ping(self):
        pass

    def scrape_interval(self):
        return None

    def label_values(self, label, match, start, end):
        self.label_calls.append((label, match))
        return self.labels.get((label, match), [])

    def label_names(self, match, start, end):
        return ["job", "model"]

    def _answer(self, expr):
        self.queries.append(expr)
        if expr.startswith("count(up offset"):
            return [{"metric": {}, "value": [0, "1"]}] if self.history else []
        for needle, result in self.results.items():
            if needle in expr:
                if isinstance(result, Exception):
                    raise result
                return result
        return []

    def query(self, expr, at):
        return self._answer(expr)

    def query_range(self, expr, start, end, step):
        return self._answer(expr)


def series(n=1):
    return [{"metric": {"i": str(i)}, "values": [[0, "1"]]} for i in range(n)]


def var(name, query, current=None, **extra):
    v = {"name": name, "type": "query", "query": query, "includeAll": True, "multi": True,
         "datasource": {"type": "prometheus", "uid": "${datasource}"}}
    if current is not None:
        v["current"] = {"value": current}
    v.update(extra)
    return v


def dash(panels, variables=(), time_from="now-1h"):
    return {"uid": "d1", "title": "D", "time": {"from": time_from, "to": "now"},
            "templating": {"list": list(variables)}, "panels": panels}


def panel(title, *exprs, **extra):
    p = {"id": len(title), "title": title, "type": "timeseries", "gridPos": {"w": 12},
         "targets": [{"refId": chr(65 + i), "expr": e} for i, e in enumerate(exprs)]}
    p.update(extra)
    return p


def run(d, api, **opts):
    return Checker(api, CheckOptions(scrape_interval=15.0, at=1_700_000_000.0, **opts)).run(
        [("d.json", d)]).dashboards[0]


def test_durations_and_ranges():
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("500ms") == 0.5
    with pytest.raises(ValueError):
        parse_duration("5 minutes")
    assert dashboard_range({"time": {"from": "now-6h", "to": "now"}}) == 21600.0
    assert dashboard_range({"time": {"from": "now-7d", "to": "now-1d"}}) == 6 * 86400.0
    assert dashboard_range({"time": {"from": "2024-01-01", "to": "now"}}) == 21600.0  # default
    assert round_interval(3.7) == 5.0
    assert round_interval(14.0) == 15.0
    assert round_interval(40.0) == 30.0


def test_all_uses_allvalue_and_rate_interval_follows_scrape_interval():
    api = FakeAPI(labels={("model", "up"): ["a", "b"]}, results={"rate(": series()})
    d = dash([panel("p", 'sum(rate(x{model=~"$model"}[$__rate_interval]))')],
             [var("model", "label_values(up, model)", ["$__all"], allValue=".*")])
    report = run(d, api)
    assert report.variables[0].selected == ".*"
    # 1h over 960 px -> 5s interval, below the 15s scrape interval -> $__interval = 15s;
    # $__rate_interval = max(15s + 15s, 4 x 15s) = 60s
    assert report.panels[0].targets[0].query == 'sum(rate(x{model=~".*"}[60s]))'
    assert report.panels[0].status == DATA


def test_all_without_allvalue_is_an_escaped_alternation_and_chained_variables_resolve():
    api = FakeAPI(labels={("model", "up"): ["a.b", "c"],
                          ("version", 'info{model=~"(a\\.b|c)"}'): ["1", "2"]},
                  results={"y{": series()})
    d = dash([panel("p", 'y{model=~"$model", version=~"$version"}')],
             [var("model", "label_values(up, model)", ["$__all"]),
              var("version", 'label_values(info{model=~"$model"}, version)', ["2"])])
    report = run(d, api)
    assert [v.selected for v in report.variables] == ["(a\\.b|c)", "2"]
    assert report.panels[0].targets[0].query == 'y{model=~"(a\\.b|c)", version=~"2"}'


def test_stale_selection_falls_back_to_first_value_and_regex_filters():
    api = FakeAPI(labels={("pod", None): ["web-1", "db-1", "web-2"]})
    d = dash([], [var("pod", "label_values(pod)", ["gone"], includeAll=False, multi=False,
                      regex="/web-(.*)/")])
    assert run(d, api).variables[0].selected == "1"


def test_custom_and_constant_variables():
    d = dash([panel("p", "topk($n, z[$w])")],
             [{"name": "n", "type": "custom", "query": "5,10", "current": {"value": "10"}},
              {"name": "w", "type": "constant", "query": "5m"}])
    api = FakeAPI(results={"topk(10, z[5m])": series()})
    assert run(d, api).panels[0].status == DATA


def test_empty_variable_is_a_failure_and_named_in_its_panels():
    api = FakeAPI()
    d = dash([panel("p", 'x{model=~"$model"}')], [var("model", "label_values(up, model)")])
    report = Checker(api, CheckOptions(scrape_interval=15.0, at=1e9)).run([("d.json", d)])
    assert report.dashboards[0].variables[0].status == EMPTY
    assert "metric absent: up" in report.dashboards[0].variables[0].reason
    assert report.dashboards[0].panels[0].reason == "A: variable $model has no values"
    assert not report.ok


def test_diagnosis_metric_absent_label_missing_and_no_match():
    # counts the diagnosis asks for: metric exists, one label exists, one value does not
    results = {
        'count(last_over_time({__name__="gone"}': [],
        'count(last_over_time({__name__="m"}[': [{"metric": {}, "value": [0, "3"]}],
        'count(last_over_time({__name__="m",region!=""}': [],
        'count(last_over_time({__name__="m",model!=""}': [{"metric": {}, "value": [0, "3"]}],
    }
    api = FakeAPI(results=results, labels={("model", '{__name__="m"}'): ["a", "b"]})
    d = dash([panel("absent", "sum(gone)"), panel("nolabel", 'm{region="eu"}'),
              panel("nomatch", 'm{model="zzz"}')])
    report = run(d, api)
    reasons = {p.title: p.reason for p in report.panels}
    assert reasons["absent"] == "A: metric absent: gone"
    assert reasons["nolabel"] == "A: label missing: no m series has the label 'region'"
    assert reasons["nomatch"] == 'A: selector matches nothing: m{model="zzz"}; model has a, b'
    assert all(p.status == EMPTY for p in report.panels)


def test_recording_rule_hint_and_query_error():
    api = FakeAPI(results={"sum(": QueryError('parse error: unexpected "("')})
    d = dash([panel("rule", "a:b:rate5m"), panel("bad", "sum(")])
    report = run(d, api)
    assert "is its rule file loaded" in report.panels[0].reason
    assert report.panels[1].status == ERROR
    assert report.panels[1].reason == 'A: query error: parse error: unexpected "("'


def test_offset_without_history_is_reported_apart_and_does_not_fail():
    api = FakeAPI(results={"now_q": series()}, history=False)
    d = dash([panel("wow", "now_q", "old_q offset 7d"), panel("only-old", "old_q offset 7d")])
    report = Checker(api, CheckOptions(scrape_interval=15.0, at=1e9)).run([("d.json", d)])
    panels = report.dashboards[0].panels
    assert [p.status for p in panels] == [DATA, NO_HISTORY]
    assert panels[0].targets[1].status == NO_HISTORY
    assert report.ok
    text = render_text(report)
    assert "'wow': data; waiting for history: B: offset 604800s" in text
    assert text.rstrip().endswith("OK")


def test_offset_with_history_is_diagnosed_normally():
    api = FakeAPI(history=True)
    d = dash([panel("old", "old_q offset 7d")])
    report = run(d, api)
    assert report.panels[0].status == EMPTY
    assert "metric absent: old_q" in report.panels[0].reason


def test_hidden_targets_rows_and_other_datasources():
    api = FakeAPI(results={"good": series()})
    hidden = panel("hidden", "good", "never_run")
    hidden["targets"][1]["hide"] = True
    row = {"type": "row", "collapsed": True, "panels": [panel("in-row", "good")]}
    loki = panel("loki", "{app=\"x\"}", datasource={"type": "loki", "uid": "l"})
    text = {"type": "text", "title": "notes"}
    report = run(dash([hidden, row, loki, text]), api)
    assert [p.title for p in report.panels] == ["hidden", "in-row"]
    assert "never_run" not in " ".join(api.queries)


def test_summarise_error_wins_then_data():
    p = PanelReport(1, "t", DATA, targets=[TargetReport("A", "", "", DATA, 1),
                                           TargetReport("B", "", "", ERROR, 0, "boom")])
    _summarise(p)
    assert (p.status, p.reason) == (ERROR, "B: boom")
    p = PanelReport(1, "t", DATA, targets=[TargetReport("A", "", "", EMPTY, 0, "why"),
                                           TargetReport("B", "", "", NO_HISTORY, 0, "old")])
    _summarise(p)
    assert (p.status, p.reason) == (EMPTY, "A: why")


def test_bad_url_is_a_config_error():
    with pytest.raises(ConfigError, match="expected http"):
        PrometheusAPI("prom:9090")


def test_unreachable_prometheus_exits_2_with_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tmp_path / "d.json"
    d.write_text(json.dumps(dash([panel("p", "up")])))
    api = PrometheusAPI(f"http://user:s3cret@127.0.0.1:{port}", timeout=2)
    with pytest.raises(CheckError) as err:
        Checker(api, CheckOptions(scrape_interval=15.0)).run([("d", dash([]))])
    assert "unreachable" in str(err.value) and "s3cret" not in str(err.value)
    assert err.value.exit_code == 2


def test_cli_usage_errors(tmp_path, monkeypatch):
    (tmp_path / "dashboards").mkdir()  # a project (grafana_sync.project) with nothing compiled
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 2 and "--prometheus" in result.output
    result = runner.invoke(cli, ["check", "--prometheus", "http://127.0.0.1:1", "--range", "x"])
    assert result.exit_code == 2 and "not a duration" in result.output
    result = runner.invoke(cli, ["check", "--prometheus", "http://127.0.0.1:1"],
                           standalone_mode=False)
    assert isinstance(result.exception, ConfigError)
    assert "no compiled dashboards" in str(result.exception)
