"""Fairness and compliance: does the model treat the approved groups alike, and is it auditable?"""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import label_variable, ml_dashboards
from _lib.layout import section
from _lib.panels import (
    bargauge,
    higher_is_bad,
    lower_is_bad,
    outside_is_bad,
    q,
    stat,
    table,
    table_q,
    timeseries,
)
from _lib.promql import (
    ATTR,
    GROUP,
    INFO,
    MODEL,
    MV,
    M,
    V,
    by,
    eq,
    match,
    ne,
    ratio,
    sel,
    sum_rate,
    zero_if_none,
)

folder = C.folder

GROUPED = MV + " {{" + ATTR + "}}={{" + GROUP + "}}"
GROUPS = sel(match(ATTR, "$attribute"), version=True)
SPD = outside_is_bad(-C.spd_fair_bound, C.spd_fair_bound)
DIR = outside_is_bad(C.dir_fair_lower, C.dir_fair_upper)
FAIRNESS_LABELS = (M, V, ATTR, GROUP)
UNAPPROVED = sel(ne("stage", "retired"), ne("approved", "true"), version=True)

favourable_rate = ratio(
    sum_rate("ml_group_predictions_total",
             sel(match(ATTR, "$attribute"), eq("outcome", "favorable"), version=True),
             FAIRNESS_LABELS),
    sum_rate("ml_group_predictions_total", GROUPS, FAIRNESS_LABELS),
)


def gauge_metric(metric: str) -> str:
    return f"max by ({by(*FAIRNESS_LABELS)}) ({metric}{GROUPS})"


dashboards = ml_dashboards(
    uid="ml-fairness",
    title="ML monitoring: fairness and compliance",
    area="fairness",
    description="Favourable-outcome rate per pre-approved group, statistical parity "
    "difference and disparate impact ratio against their fair ranges, audit-log coverage, and "
    "whether every live version is an approved one.",
    extra_variables=[
        label_variable("attribute", ATTR, "ml_group_predictions_total", "Attribute",
                       "Protected attribute whose pre-approved groups are compared."),
    ],
    sections=[
        section(
            "Compliance",
            stat("Live versions not approved", "Live (non-retired) versions whose "
                 "ml_model_info says approved!=\"true\". Bad: anything above 0 (an unreviewed "
                 "model is serving).",
                 [q(zero_if_none(f"count by ({by()}) ({INFO}{UNAPPROVED})"))],
                 unit="short", steps=higher_is_bad(None, 1), graph=False, w=6, h=6),
            table("Approval of live versions", "Each live version with its stage and "
                  "approval flag. Bad: approved=false on a production or canary version.",
                  [table_q(s.live_versions())], unit="none", hide=("Time", "Value"), w=10, h=6),
            stat("Audit coverage", "Predictions written to the audit log / predictions "
                 f"served. Bad: below {C.audit_coverage_min:.0%} (decisions that cannot be "
                 "explained later).",
                 [q(ratio(sum_rate("ml_predictions_logged_total", sel(version=True)),
                          sum_rate("ml_predictions_total", sel(version=True))), MODEL)],
                 unit="percentunit", steps=lower_is_bad(C.audit_coverage_min - 0.04,
                                                        C.audit_coverage_min),
                 decimals=2, w=8, h=6),
        ),
        section(
            "Group outcomes",
            timeseries("Favourable-outcome rate per group", "Share of favourable predictions "
                       "per group (from counters, at the dashboard's resolution). Bad: groups "
                       "drifting apart.",
                       [q(favourable_rate, GROUPED)], unit="percentunit", min=0, max=1, w=12),
            bargauge("Favourable-outcome rate now", "Favourable rate per group over the "
                     "service's sliding window. The ratio of two bars is their disparate "
                     "impact. Bad: bars far apart.",
                     [q(gauge_metric("ml_group_favorable_outcome_ratio"), GROUPED,
                        instant=True)],
                     unit="percentunit", steps=[{"color": "blue", "value": None}], min=0,
                     max=1, w=12),
        ),
        section(
            "Fairness metrics",
            timeseries("Statistical parity difference", "Favourable rate of the group minus "
                       "that of all other groups. Fair range "
                       f"{-C.spd_fair_bound:g} ... {C.spd_fair_bound:g} (dashed). Bad: "
                       "outside it.",
                       [q(gauge_metric("ml_fairness_parity_difference"), GROUPED)],
                       unit="none", steps=SPD, w=12),
            timeseries("Disparate impact ratio", "Favourable rate of the group divided by "
                       f"that of all other groups. Fair range {C.dir_fair_lower:g} ... "
                       f"{C.dir_fair_upper:g} (four-fifths rule). Bad: outside it.",
                       [q(gauge_metric("ml_fairness_disparate_impact_ratio"), GROUPED)],
                       unit="none", steps=DIR, w=12),
            bargauge("Parity difference now", "Current statistical parity difference per "
                     "group; green inside the fair range. Bad: red (outside "
                     f"{-C.spd_fair_bound:g} ... {C.spd_fair_bound:g}).",
                     [q(gauge_metric("ml_fairness_parity_difference"), GROUPED, instant=True)],
                     unit="none", steps=SPD, min=-0.5, max=0.5, w=12),
            bargauge("Disparate impact now", "Current disparate impact ratio per group; green "
                     f"inside the fair range. Bad: red (outside {C.dir_fair_lower:g} ... "
                     f"{C.dir_fair_upper:g}).",
                     [q(gauge_metric("ml_fairness_disparate_impact_ratio"), GROUPED,
                        instant=True)],
                     unit="none", steps=DIR, min=0, max=2, w=12),
        ),
    ],
)
