"""Every rule, its severity and its reason to exist (docs/lint.md is generated from the same facts)."""

from __future__ import annotations

from grafana_sync.lint import rules_grafana as g
from grafana_sync.lint import rules_json as j
from grafana_sync.lint import rules_labels as lbl
from grafana_sync.lint import rules_project as p
from grafana_sync.lint.base import Rule
from grafana_sync.lint.model import ERROR, WARNING

OURS = "grafana-sync"

RULES: tuple[Rule, ...] = (
    Rule("template-datasource-rule", ERROR,
         "The dashboard has a datasource variable named `datasource` (or `<type>_datasource`); "
         "labelled `Data source` (a warning otherwise).",
         "One dashboard works against every Prometheus (dev, prod, Mimir) without edits.",
         g.template_datasource, fixable=True),
    Rule("template-job-rule", ERROR,
         "A `job` variable: query on `$datasource`, multi-select, allValue `.+`.",
         "Off by default: job and instance are scrape topology, not what ML dashboards filter "
         "on (model, version); Pushgateway series carry the pushing job's label and no "
         "instance, and recording rules aggregate both away.",
         g.template_job, enabled_by_default=False),
    Rule("template-instance-rule", ERROR,
         "An `instance` variable: query on `$datasource`, multi-select, allValue `.+`.",
         "Off by default, for the same reasons as template-job-rule.",
         g.template_instance, enabled_by_default=False),
    Rule("template-label-promql-rule", ERROR,
         "Prometheus query variables use label_values/label_names/metrics/query_result (or a "
         "series selector) with valid PromQL inside.",
         "A broken variable query leaves the variable empty and every panel blank.",
         g.template_label_promql),
    Rule("template-on-time-change-reload-rule", ERROR,
         "Query variables refresh on time range change (`refresh: 2`).",
         "Label values change over time (new model versions); stale options hide new series.",
         g.template_on_time_change_reload, fixable=True),
    Rule("panel-datasource-rule", ERROR,
         "Panels and their targets use the templated datasource (`${datasource}`).",
         "A hard-coded datasource uid breaks the panel in every other Grafana.",
         g.panel_datasource),
    Rule("panel-title-description-rule", ERROR,
         "Data panels have a title and a description.",
         "The description is where a reader learns what the panel shows and what bad looks like.",
         g.panel_title_description),
    Rule("panel-units-rule", ERROR,
         "timeseries, stat, gauge, bargauge, table (and graph, singlestat) panels set a valid "
         "Grafana unit; skipped with value mappings or a stat showing non-numeric fields.",
         "0.25 of what? Seconds vs milliseconds, ratio vs percent are classic misreadings.",
         g.panel_units),
    Rule("panel-no-targets-rule", ERROR,
         "Data panels have at least one target.",
         "A panel without a query is always empty.",
         g.panel_no_targets),
    Rule("target-promql-rule", ERROR,
         "Prometheus targets parse as PromQL after Grafana macros and variables are substituted "
         "(by position, see docs/lint.md); a target reusing another panel's query (`panelId`) "
         "names a panel that exists.",
         "A syntax error shows only when someone opens the dashboard.",
         g.target_promql),
    Rule("target-rate-interval-rule", ERROR,
         "rate()/irate()/increase() ranges are `[$__rate_interval]` (increase may also use "
         "`[$__range]`).",
         "A fixed range is too short at some scrape intervals (gaps) and too coarse at others.",
         g.target_rate_interval),
    Rule("target-counter-agg-rule", ERROR,
         "Counters (`*_total`) are read through rate(), irate() or increase().",
         "A raw counter is a meaningless ever-growing line that drops at every restart.",
         g.target_counter_agg),
    Rule("target-job-rule", ERROR,
         "Every selector of a Prometheus query filters `job=~\"$job\"`. Only on dashboards whose "
         "datasource variable is Prometheus.",
         "Off by default, with template-job-rule: the pair only makes sense together, and ML "
         "dashboards filter on model and version, not scrape jobs (see docs/lint.md).",
         g.target_job, enabled_by_default=False),
    Rule("target-instance-rule", ERROR,
         "Every selector of a Prometheus query filters `instance=~\"$instance\"`. Only on "
         "dashboards whose datasource variable is Prometheus.",
         "Off by default, with template-instance-rule (see docs/lint.md).",
         g.target_instance, enabled_by_default=False),
    Rule("uneditable-dashboard", WARNING,
         "The dashboard has `editable: false`.",
         "The code is the source of truth; UI edits are lost at the next push. A warning: "
         "editing in the UI to explore is harmless when provisioning forbids saving.",
         g.uneditable_dashboard, fixable=True),
    Rule("dashboard-uid-rule", ERROR,
         "The dashboard has a uid of 1-40 `[a-zA-Z0-9_-]` characters, unique among the files linted.",
         "Push, diff, links and provisioning identify dashboards by uid.",
         p.dashboard_uid, origin=OURS),
    Rule("panel-id-rule", ERROR,
         "Every panel (rows included) has an integer id, unique in its dashboard.",
         "Grafana links, panel-level diff and `viewPanel` URLs use panel ids.",
         p.panel_id, origin=OURS, fixable=True),
    Rule("panel-gridpos-rule", ERROR,
         "Every panel has a gridPos inside the 24-column grid, overlapping no other panel.",
         "Grafana silently moves overlapping panels, so the layout differs from the code.",
         p.panel_gridpos, origin=OURS),
    Rule("panel-no-angular-rule", ERROR,
         "No Angular panel types (graph, singlestat, table-old, old plugin panels).",
         "Grafana 11 disables Angular: those panels render as an error box.",
         p.panel_no_angular, origin=OURS),
    Rule("target-histogram-le-rule", ERROR,
         "An aggregation over `_bucket` series inside histogram_quantile keeps `le` "
         "(`sum by (le, ...)`).",
         "Dropping `le` sums all buckets together: the quantile is silently wrong.",
         p.target_histogram_le, origin=OURS),
    Rule("metric-contract-rule", ERROR,
         "Every metric a query reads is in the metrics contract (histograms by base name) and "
         "every recording rule (`a:b:c`) is defined in a rule file. Active as described in "
         "docs/lint.md.",
         "A typo or a renamed metric gives an empty panel, not an error.",
         p.metric_contract, origin=OURS),
    Rule("target-label-propagation-rule", ERROR,
         "Every matcher, `by`/`on`/`group_left`/`group_right` clause and `label_values` variable "
         "uses labels the series carry per the metrics contract's labels column and the "
         "recording rules (with the project's label-map applied). Active like "
         "metric-contract-rule.",
         "A filter on a missing label matches at All and empties the panel once a value is "
         "picked; a `by` on a missing label merges every series into one.",
         lbl.label_propagation, origin=OURS),
    Rule("panel-thresholds-rule", ERROR,
         "Threshold steps (defaults and overrides) ascend; only the first, base step is null.",
         "Grafana picks the last step below the value: out-of-order steps colour the wrong range.",
         p.panel_thresholds, origin=OURS),
    Rule("json-finite-numbers-rule", ERROR,
         "No NaN, Infinity or -Infinity anywhere in the dashboard.",
         "They are not JSON: Grafana's API refuses the dashboard and other tools fail to read it.",
         j.json_finite_numbers, origin=OURS),
    Rule("panel-object-rule", ERROR,
         "Every entry of a `panels` list (top level, rows, legacy rows) is a panel object.",
         "A null or a string in `panels` is silently dropped or breaks the dashboard in Grafana.",
         j.panel_objects, origin=OURS),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}

# Older or alternative dashboard-linter names, accepted in .lint files and on the command line.
ALIASES = {
    "template-on-time-change-reload": "template-on-time-change-reload-rule",
    "uneditable-dashboard-rule": "uneditable-dashboard",
    "template-uneditable-rule": "uneditable-dashboard",
    "panel-promql-rule": "target-promql-rule",
    "panel-rate-interval-rule": "target-rate-interval-rule",
}
# dashboard-linter rules this linter does not implement: a .lint file may name them silently.
FOREIGN_RULES = frozenset({
    "target-logql-rule", "target-logql-auto-rule",
    "panel-job-instance-rule", "target-required-matchers-rule", "template-required-variables-rule",
    "target-histogram-rule",
})
