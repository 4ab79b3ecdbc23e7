"""Generate N grafanalib dashboard definitions of P panels each, for the build benchmark.

The same source text is written twice: `ours/dash_NNNN.py` (what `grafana-sync build` imports)
and `theirs/dash_NNNN.dashboard.py` (what grafanalib's `generate-dashboards` wants), so both
tools compile byte-identical definitions. Each definition is self-contained (grafanalib only).
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = '''"""Generated benchmark dashboard {index} ({panels} panels)."""
from grafanalib.core import (
    Dashboard, GridPos, Stat, Target, Template, Templating, Threshold, TimeSeries,
)

METRICS = [
    "ml_inference_requests_total", "ml_predictions_total", "ml_prediction_errors_total",
    "ml_feedback_total", "ml_labeled_predictions_total",
]
DS = {{"type": "prometheus", "uid": "${{datasource}}"}}


def panel(i):
    metric = METRICS[i % len(METRICS)]
    pos = GridPos(h=8, w=12, x=(i % 2) * 12, y=(i // 2) * 8)
    if i % 4 == 3:
        return Stat(
            title=f"{{metric}} total #{{i}}", description=f"Total {{metric}}; bad when 0.",
            dataSource=DS, gridPos=pos, format="reqps",
            targets=[Target(expr=f'sum(rate({{metric}}{{{{model=~"$model"}}}}[$__rate_interval]))',
                            legendFormat="total", refId="A")],
            thresholds=[Threshold("green", 0, 0.0), Threshold("red", 1, 100.0)],
        )
    return TimeSeries(
        title=f"{{metric}} by model #{{i}}",
        description=f"Rate of {{metric}} per model and version; bad when it drops to 0.",
        dataSource=DS, gridPos=pos, unit="reqps",
        targets=[
            Target(expr=f'sum by (model, version) (rate({{metric}}{{{{model=~"$model", '
                        f'version=~"$version"}}}}[$__rate_interval]))',
                   legendFormat="{{{{model}}}} {{{{version}}}}", refId="A"),
            Target(expr=f'histogram_quantile(0.99, sum by (le, model) '
                        f'(rate(ml_inference_duration_seconds_bucket{{{{model=~"$model"}}}}'
                        f'[$__rate_interval])))', legendFormat="p99 {{{{model}}}}", refId="B"),
        ],
    )


def variable(name):
    return Template(name=name, label=name, dataSource="${{datasource}}",
                    query=f"label_values(ml_model_info, {{name}})", multi=True, includeAll=True,
                    refresh=2)


dashboard = Dashboard(
    uid="bench-{index:04d}",
    title="Bench dashboard {index:04d}",
    tags=["ml-monitoring", "managed-by-grafana-sync", "overview"],
    templating=Templating(list=[
        Template(name="datasource", type="datasource", query="prometheus", default="Prometheus"),
        variable("model"), variable("version"),
    ]),
    panels=[panel(i) for i in range({panels})],
)
'''


def definition_source(index: int, panels: int = 20) -> str:
    return TEMPLATE.format(index=index, panels=panels)


def write_definitions(root: Path, count: int, panels: int = 20) -> tuple[Path, Path]:
    """Write `count` definitions to root/ours and root/theirs; return both folders."""
    ours, theirs = root / "ours", root / "theirs"
    ours.mkdir(parents=True, exist_ok=True)
    theirs.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        text = definition_source(index, panels)
        (ours / f"dash_{index:04d}.py").write_text(text, encoding="utf-8")
        (theirs / f"dash_{index:04d}.dashboard.py").write_text(text, encoding="utf-8")
    return ours, theirs


def toggle_one(folder: Path, pattern: str = "*.py") -> Path:
    """Change one definition's title, back and forth (the 'one dashboard changed' case)."""
    first = sorted(folder.glob(pattern))[0]
    text = first.read_text(encoding="utf-8")
    if 'title="Changed bench dashboard' in text:
        text = text.replace('title="Changed bench dashboard', 'title="Bench dashboard', 1)
    else:
        text = text.replace('title="Bench dashboard', 'title="Changed bench dashboard', 1)
    first.write_text(text, encoding="utf-8")
    return first
