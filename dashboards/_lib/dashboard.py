"""`ml_dashboard(...)`: tags, variables, links, deployment annotations and layout in one call."""

from __future__ import annotations

import re
from collections.abc import Sequence

from _config import CONFIG
from grafanalib.core import Annotations, Dashboard, DashboardLink, Templating, Time

from _lib import variables
from _lib.layout import Section, layout
from _lib.panels import DATASOURCE
from _lib.promql import CLUSTER, M, V, by, sel

# The built-in areas; a team adds its own by naming it (any lower-case slug) in ml_dashboard.
AREAS = (
    "overview", "infrastructure", "performance", "drift", "errors", "cost", "versions",
    "fairness", "feedback",
)
AREA_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
BASE_TAGS = ("ml-monitoring", "managed-by-grafana-sync")

INFO_METRIC = "ml_model_info"
DEPLOYED_METRIC = "ml_model_deployed_timestamp_seconds"


def cluster_variable() -> variables.Variable:
    return variables.label_values(
        "cluster", CLUSTER, f"{INFO_METRIC}{sel(model=False, cluster=False)}", "Cluster",
        "Clusters to show (the cluster label the agents add, docs/scale-out.md). One cluster "
        "without the label: no values, and every panel shows everything.",
    )


# The model and version lists: the model info metric of the service's own instrumentation, or
# the request rate a serving-stack adapter records (rules/stack_*.py), so a team serving with
# Triton, KServe, … and no ml_* instrumentation still gets its models listed.
SERVING_RATE_RULE = "model_version:ml_inference_requests:rate5m"


def _listing(model: bool, info_metric: str | None = None) -> str:
    names = (f'__name__="{info_metric}"' if info_metric
             else f'__name__=~"{INFO_METRIC}|{SERVING_RATE_RULE}"')
    rest = sel(model=model)
    return "{" + ", ".join(p for p in (names, rest[1:-1] if rest else "") if p) + "}"


def model_variable(info_metric: str | None = None) -> variables.Variable:
    return variables.label_values(
        "model", M, _listing(False, info_metric), "Model",
        "Models to show: from the model info metric of the live fleet, or from the serving "
        "stack's request rate (docs/stacks/).",
    )


def version_variable(info_metric: str | None = None) -> variables.Variable:
    return variables.label_values(
        "version", V, _listing(True, info_metric), "Version",
        "Model versions to show (of the selected models); \"unknown\" for serving stacks "
        "without model versions.",
    )


def deployments_annotation() -> dict:
    """A marker on every panel when a model version is deployed.

    The deploy time is the gauge's value; the expression returns the series for the minute after
    it (Grafana's Prometheus annotations step is 60 s by default), so one marker per deployment.
    """
    expr = (
        f"(time() - max by ({by(M, V)}) ({DEPLOYED_METRIC}{sel()})) < 60 >= 0"
    )
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": expr,
        "hide": False,
        "iconColor": "#8F3BB8",
        "name": "Model deployments",
    }


def ml_dashboard(
    *,
    uid: str,
    title: str,
    area: str,
    description: str,
    sections: Sequence[Section],
    extra_variables: Sequence[variables.Variable] = (),
    with_version: bool = True,
    time_from: str = "now-6h",
    info_metric: str | None = None,
) -> Dashboard:
    """One ML monitoring dashboard following the conventions in docs/dashboards.md."""
    if not AREA_RE.fullmatch(area) or area in BASE_TAGS:
        raise ValueError(f"{uid}: area {area!r} must be a lower-case tag (letters, digits, -) "
                         f"other than {', '.join(BASE_TAGS)}")
    # info_metric: a series only this dashboard's kind of model has (e.g. the LLMs' request rate)
    templating = [variables.datasource(), cluster_variable(), model_variable(info_metric)]
    if with_version:
        templating.append(version_variable(info_metric))
    templating.extend(extra_variables)
    return Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=[*BASE_TAGS, area],
        editable=False,  # provisioned from code: edit the Python, not the UI
        graphTooltip=1,  # shared crosshair
        refresh="1m",
        timezone="browser",
        time=Time(time_from, "now"),
        templating=Templating(list=templating),
        annotations=Annotations(list=[deployments_annotation()]),
        links=[
            DashboardLink(
                title="ML monitoring", tags=["ml-monitoring"], asDropdown=True,
                includeVars=True, keepTime=True, type="dashboards", icon="dashboard",
                tooltip="The other ML monitoring dashboards",
            )
        ],
        panels=layout(sections),
    )


def ml_dashboards(*, area: str, **kwargs) -> list[Dashboard]:
    """`[ml_dashboard(...)]`, or `[]` when monitoring.yaml turns the area off (`areas:`)."""
    if not CONFIG.monitoring.area_on(area):
        return []
    return [ml_dashboard(area=area, **kwargs)]


def label_variable(name: str, label: str, metric: str, title: str, description: str
                   ) -> variables.Variable:
    """A further label variable, chained on the selected models."""
    return variables.label_values(name, label, f"{metric}{sel()}", title, description)
