"""The benchmark harness: Grafana's step maths, the recording-rule rewrite, rule levels, the
fake Grafana server (benchmark code), child-process measurement and the bench CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bench.common import run_measured
from bench.dashboard_queries import (
    dashboard_queries,
    macro_values,
    panel_interval_s,
    range_query_params,
    rate_interval_s,
    round_interval_ms,
    variable_queries,
)
from bench.fake_grafana_server import BenchGrafanaServer
from bench.gen_dashboards import definition_source, toggle_one
from bench.query_bench import recording_levels
from bench.rule_rewrite import load_rate_rules, rewrite

REPO = Path(__file__).resolve().parents[2]

RULES = """
groups:
  - name: g
    rules:
      - record: model_version:req:rate5m
        expr: sum by (job, model, version) (rate(req_total[5m]))
      - record: model:req:rate5m
        expr: sum by (job, model) (model_version:req:rate5m)
      - record: model_version:req_errors:rate5m
        expr: sum by (job, model, version) (rate(req_total{status="error"}[5m]))
      - record: model_version:req_error:ratio
        expr: model_version:req_errors:rate5m / model_version:req:rate5m
      - record: model:req_error:ratio
        expr: sum by (model) (model_version:req_error:ratio)
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.mark.parametrize(("range_s", "step_s"), [(6 * 3600, 15), (24 * 3600, 60),
                                                 (7 * 86400, 300), (3600, 15)])
def test_grafana_step_for_a_1500px_panel(range_s: int, step_s: int) -> None:
    assert panel_interval_s(range_s) == step_s


def test_round_interval_and_rate_interval() -> None:
    assert round_interval_ms(14_400) == 15_000  # 6 h / 1500 px
    assert round_interval_ms(57_600) == 60_000  # 24 h / 1500 px
    assert rate_interval_s(15) == 60 and rate_interval_s(60) == 75


def test_rewrite_uses_the_most_aggregated_matching_rule(rules_file: Path) -> None:
    rules = load_rate_rules([rules_file])
    expr, n = rewrite('sum by (model) (rate(req_total{model=~"$model"}[$__rate_interval]))', rules)
    assert (expr, n) == ('sum by (model) (model:req:rate5m{model=~"$model"})', 1)
    expr, n = rewrite('sum by (model, version) (rate(req_total{status="error", model=~"a"}'
                      '[$__rate_interval]))', rules)
    assert (expr, n) == ('sum by (model, version) (model_version:req_errors:rate5m{model=~"a"})',
                         1)


@pytest.mark.parametrize("expr", [
    'sum by (pod) (rate(req_total[$__rate_interval]))',  # label the rules dropped
    'sum by (model) (rate(req_total{status="ok"}[$__rate_interval]))',  # no rule for status="ok"
    'sum by (model) (rate(req_total[5m]))',  # not the dashboard's window
    'sum by (model) (increase(req_total[$__rate_interval]))',  # not a rate
])
def test_rewrite_leaves_what_no_rule_records(rules_file: Path, expr: str) -> None:
    assert rewrite(expr, load_rate_rules([rules_file])) == (expr, 0)


def test_recording_levels_order_dependencies(rules_file: Path) -> None:
    levels = [[r["record"] for r in level] for level in recording_levels([rules_file])]
    assert levels == [["model_version:req:rate5m", "model_version:req_errors:rate5m"],
                      ["model:req:rate5m", "model_version:req_error:ratio"],
                      ["model:req_error:ratio"]]


DASH = {
    "uid": "d",
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus"},
        {"name": "model", "type": "query",
         "query": {"query": "label_values(ml_model_info, model)"}},
        {"name": "version", "type": "query",
         "query": 'label_values(ml_model_info{model=~"$model"}, version)'},
    ]},
    "annotations": {"list": [{"name": "Deploys", "expr": "changes(x[5m]) > 0", "enable": True}]},
    "panels": [
        {"type": "row", "title": "r", "collapsed": True, "panels": [
            {"type": "timeseries", "title": "Rate", "targets": [
                {"refId": "A", "expr": "sum(rate(a_total[$__rate_interval]))"},
                {"refId": "B", "expr": "hidden", "hide": True}]}]},
        {"type": "stat", "title": "Now", "options": {"graphMode": "none",
                                                     "reduceOptions": {"calcs": ["lastNotNull"]}},
         "targets": [{"refId": "A", "expr": "sum(a)"}]},
        {"type": "stat", "title": "Spark", "options": {"graphMode": "area"},
         "targets": [{"refId": "A", "expr": "sum(b)"}]},
        {"type": "table", "title": "T", "targets": [{"refId": "A", "expr": "c", "instant": True}]},
    ],
}


def test_dashboard_queries_as_grafana_sends_them() -> None:
    queries = {q.panel: q for q in dashboard_queries(DASH)}
    assert set(queries) == {"Rate", "Now", "Spark", "T", "annotation: Deploys"}
    assert queries["T"].instant and not queries["Rate"].instant
    assert queries["Now"].last_value_only and not queries["Spark"].last_value_only
    params = range_query_params(queries["Rate"], "q", end=86_400 * 10 + 7, range_s=24 * 3600)
    assert params["step"] == "60" and int(params["start"]) % 60 == 0
    assert macro_values(queries["Rate"], 24 * 3600) == {"interval": "1m", "rate_interval": "75s",
                                                        "range_": "1d"}
    assert range_query_params(queries["T"], "q", end=100, range_s=3600) == {"query": "q",
                                                                            "time": "100"}
    assert [(v.name, v.label) for v in variable_queries(DASH)] == [("model", "model"),
                                                                   ("version", "version")]


def test_fake_grafana_server_counts_and_behaves_like_the_api() -> None:
    with BenchGrafanaServer() as server:
        auth = {"Authorization": f"Bearer {server.token}"}
        assert requests.get(f"{server.url}/api/user", timeout=5).status_code == 401
        body = {"dashboard": {"uid": "u1", "title": "T", "tags": ["a"]}, "overwrite": False}
        saved = requests.post(f"{server.url}/api/dashboards/db", json=body, headers=auth,
                              timeout=5).json()
        assert saved["version"] == 1
        stale = {"dashboard": {"uid": "u1", "title": "T2", "version": 7}, "overwrite": False}
        assert requests.post(f"{server.url}/api/dashboards/db", json=stale, headers=auth,
                             timeout=5).status_code == 412
        got = requests.get(f"{server.url}/api/dashboards/uid/u1", headers=auth, timeout=5).json()
        assert got["dashboard"]["title"] == "T" and got["meta"]["folderUid"] == ""
        hits = requests.get(f"{server.url}/api/search", params={"tag": "a"}, headers=auth,
                            timeout=5).json()
        assert [h["uid"] for h in hits] == ["u1"]
        assert server.total_requests() == 5
        assert server.counts["POST /api/dashboards/db"] == 2
        assert server.counts["GET /api/dashboards/uid/{id}"] == 1


def test_run_measured_reports_the_childs_own_peak_memory() -> None:
    result = run_measured([sys.executable, "-c", "x = b'x' * (150 * 2**20); print('ok')"])
    assert result.returncode == 0 and result.stdout == "ok\n"
    assert result.maxrss_mib >= 150
    # a big parent must not leak its own peak into the child's figure (Linux keeps ru_maxrss
    # across fork + exec)
    ballast = b"x" * (300 * 2**20)
    small = run_measured([sys.executable, "-c", "pass"])
    assert len(ballast) and small.maxrss_mib < 100
    failing = run_measured([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert failing.returncode == 3


def test_generated_definition_is_one_dashboard_of_n_panels(tmp_path: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(definition_source(3, panels=7), "dash.py", "exec"), namespace)  # noqa: S102
    dashboard = namespace["dashboard"]
    assert dashboard.uid == "bench-0003" and len(dashboard.panels) == 7
    (tmp_path / "dash_0000.py").write_text(definition_source(0), encoding="utf-8")
    toggle_one(tmp_path)
    assert 'title="Changed bench dashboard' in (tmp_path / "dash_0000.py").read_text()
    toggle_one(tmp_path)
    assert (tmp_path / "dash_0000.py").read_text() == definition_source(0)


def test_bench_cli_help() -> None:
    out = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for option in ("--quick", "--only", "--runs", "--output"):
        assert option in out.stdout


def test_bench_quick_build_writes_a_table_to_an_explicit_output(tmp_path: Path) -> None:
    report = tmp_path / "bench.md"
    out = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--only",
                          "build", "--build-sizes", "3", "--output", str(report)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = report.read_text(encoding="utf-8")
    assert "bench/run.py --quick --only build --build-sizes 3" in text
    assert "| generated 3 | 3 | 60 |" in text
    assert "nproc" in text or "CPUs" in text


def test_bench_cli_rejects_bad_sizes(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--only", "build",
                          "--build-sizes", "ten", "--no-write"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 2
    assert "expected comma-separated integers" in out.stderr
    assert "Traceback" not in out.stderr


def test_bench_quick_without_output_writes_nothing(tmp_path: Path) -> None:
    """`--quick` is a smoke run: without an explicit --output it writes no file (in particular
    not the tracked docs/benchmarks.md), it only prints."""
    tracked = REPO / "docs" / "benchmarks.md"
    before = tracked.read_bytes() if tracked.exists() else None
    out = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--only",
                          "build", "--build-sizes", "2"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "| generated 2 | 2 | 40 |" in out.stdout
    assert (tracked.read_bytes() if tracked.exists() else None) == before
    assert not (REPO / "docs" / "benchmarks-history.md").exists() or \
        "generated 2 | 2 | 40" not in (REPO / "docs" / "benchmarks-history.md").read_text()


def test_report_record_keeps_latest_full_run_and_moves_older_to_history(tmp_path: Path) -> None:
    from bench.report import history_path, record

    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nProse and findings.\n\n# Results\n\n"
                   "## 2026-01-01 — full run\n\nold A\n", encoding="utf-8")
    out.chmod(0o640)
    hist = history_path(out)
    assert hist == tmp_path / "benchmarks-history.md"

    # A partial run goes below the latest full run; nothing moves.
    assert record(out, "## 2026-01-02 — full run (push)\n\npartial B\n", full=False) is None
    assert not hist.exists()
    text = out.read_text(encoding="utf-8")
    assert text.index("old A") < text.index("partial B")
    assert text.startswith("# Benchmarks\n\nProse and findings.\n\n# Results\n\n")

    # A full run replaces both; they move to the history file.
    assert record(out, "## 2026-01-03 — full run\n\nnew C\n", full=True) == hist
    assert out.read_text(encoding="utf-8") == (
        "# Benchmarks\n\nProse and findings.\n\n# Results\n\n## 2026-01-03 — full run\n\nnew C\n")
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)
    history = hist.read_text(encoding="utf-8")
    assert history.index("old A") < history.index("partial B")
    assert "new C" not in history

    # The next full run puts its predecessor first in the history (newest first).
    record(out, "## 2026-01-04 — full run\n\nnew D\n", full=True)
    history = hist.read_text(encoding="utf-8")
    assert history.startswith("# Benchmark history")
    assert history.index("new C") < history.index("old A") < history.index("partial B")
    assert history.count("# Benchmark history") == 1
    assert "new D" in out.read_text(encoding="utf-8") and "new C" not in out.read_text()
    assert not list(tmp_path.glob(".*tmp*"))


def test_push_targets_are_read_off_the_run() -> None:
    """The push section states issue #18's targets from its own medians (wall and ratio)."""
    from bench.push_bench import PushResult, render_targets

    fast = PushResult(100, 20)
    fast.ours["no-op push"].walls = [0.40, 0.45, 0.60]  # median 0.45 s
    fast.naive["no-op push"].walls = [2.4, 2.5, 2.6]  # 0.18x
    big = PushResult(500, 20)
    big.ours["first push"].walls = [4.0, 4.2]  # median 4.1 s
    big.naive["first push"].walls = [12.0, 12.0]  # 0.34x
    text = render_targets([fast, big])
    rows = [line for line in text.splitlines() if line.startswith("| ") and "target" not in line]
    assert rows[0] == ("| no-op push of 100 at 20 ms | ≤ 0.5 s and ≤ 0.2× naive | 450 ms, 0.18× "
                       "| met |")
    assert rows[1].startswith("| first push of 500 at 20 ms | ≤ 0.3× naive | 4.10 s, 0.34× |")
    assert rows[1].endswith("**not met** |")
    slow = PushResult(100, 20)
    slow.ours["no-op push"].walls = [0.55]  # ratio met, wall not
    slow.naive["no-op push"].walls = [3.0]
    assert "**not met**" in render_targets([slow])
    assert render_targets([PushResult(10, 0)]) == ""  # no target at that size: nothing said


def test_recording_levels_take_a_record_name_from_the_first_file(tmp_path: Path) -> None:
    """--query-baseline backfills the union of the tree's and the baseline's rules: a name both
    define is recorded once, with the tree's expression."""
    ours, theirs = tmp_path / "ours.yml", tmp_path / "theirs.yml"
    ours.write_text("groups: [{name: a, rules: [{record: 'x:y:rate5m', expr: 'sum(rate(m[5m]))'}]}]\n")
    theirs.write_text("groups: [{name: b, rules: [{record: 'x:y:rate5m', expr: 'OLD'},"
                      " {record: 'old:only', expr: 'up'}]}]\n")
    levels = recording_levels([ours, theirs])
    flat = [r for level in levels for r in level]
    assert [(r["record"], r["expr"]) for r in flat] == [("x:y:rate5m", "sum(rate(m[5m]))"),
                                                          ("old:only", "up")]



def test_baseline_dashboards_are_the_committed_ones_under_a_prefix() -> None:
    from bench.query_bench import BEFORE, baseline_dashboards

    dashboards = baseline_dashboards("HEAD")
    uids = {d["uid"] for d in dashboards}
    assert "before/ml-drift" in uids and all(u.startswith(BEFORE) for u in uids)
    assert all(d["panels"] for d in dashboards)



def test_before_after_table_reports_the_heaviest_panel_and_its_reduction() -> None:
    from bench.gen_openmetrics import Scale
    from bench.query_bench import (
        BEFORE,
        VARIANTS,
        QueryBenchResult,
        QueryResult,
        _before_after,
        summarise,
    )

    result = QueryBenchResult(Scale(models=1), runs=1, baseline="main")
    for range_name in ("6h", "24h"):
        old = [QueryResult("d", "Heavy", "A", "x", walls=[2.0], prom=[1.5], samples=1000),
               QueryResult("d", "Light", "A", "y", walls=[0.1], prom=[0.1], samples=10)]
        new = [QueryResult("d", "Heavy", "A", "x", walls=[0.5], prom=[0.3], samples=50),
               QueryResult("d", "Light", "A", "y", walls=[0.1], prom=[0.1], samples=10)]
        for variant in VARIANTS:
            result.results[(BEFORE + "d", range_name, variant)] = old
            result.results[("d", range_name, variant)] = new
    text = _before_after(result, summarise(result))
    row = next(line for line in text.splitlines() if line.startswith("| d |"))
    assert "1600 ms | 400 ms | 0.25×" in row  # Prometheus time summed per dashboard
    assert "Heavy (A): 1,000 | 50 (0.05× (20.0× fewer))" in row
