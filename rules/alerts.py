"""Alert rules for ML model monitoring.

Every alert has labels.severity (critical pages via PagerDuty, warning goes to the team's Slack
channel), a templated summary and description, and a runbook_url anchor in docs/runbooks.md (one
section per alert). Thresholds, `for` windows and severities come from the monitoring config, the
same thresholds the dashboards colour by, so a red panel and an alert agree. Where the service
exports its own threshold (drift thresholds, budget, evaluation schedule) the alert compares
against that series instead of a constant.
"""

from _alert_tests import cases as alert_tests
from _rulelib import (
    CONFIG,
    MODEL,
    VERSION,
    alert,
    by,
    divide,
    lbl,
    num,
    on,
    pct,
    seconds,
    sel,
    t,
)

ERRORS = "model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m"
P95 = "model_version:ml_inference_duration_seconds:p95_rate5m"
MV = f"{MODEL} {VERSION}"
PSI = sel('method="psi"')
UNAPPROVED = sel('approved="false"')


def _target_down() -> list[dict]:
    # The serving selector picks the model service's targets; without one, its scrape job.
    target = sel() or '{job="ml-model"}'
    return alert(
        "MLModelTargetDown", f"up{target} == 0",
        summary="Model service target {{ $labels.instance }} is down",
        description=("Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) "
                     "for {for}: the model service is down or unreachable, and every other ML alert "
                     "for it is blind."),
    )


def times(factor: float) -> str:
    return "twice" if factor == 2 else f"{num(factor)} times"


def _two_level(name: str, expr_of, warn: str, crit: str, summary: str, describe) -> list[dict]:
    rules = []
    for severity, key in (("warning", warn), ("critical", crit)):
        rules += alert(name, expr_of(t(key)), severity=severity, summary=summary,
                       description=describe(severity, t(key)))
    return rules


def _serving() -> list[dict]:
    rules = _target_down()
    rules += _two_level(
        "MLErrorRatioHigh", lambda x: f"{ERRORS} > {num(x)}", "error_ratio_warn", "error_ratio_crit",
        f"{MV}: {{{{ $value | humanizePercentage }}}} of requests fail",
        lambda sev, x: (f"{{{{ $value | humanizePercentage }}}} of inference requests to model {MODEL} "
                        f"version {VERSION} failed over the last 5 minutes ({sev} above {pct(x)})."))
    rules += _two_level(
        "MLLatencySLOBreach", lambda x: f"{P95} > {num(x)}", "latency_p95_warn_seconds",
        "latency_p95_crit_seconds",
        f"{MV}: p95 latency {{{{ $value | humanizeDuration }}}}",
        lambda sev, x: (f"The 95th percentile inference latency of model {MODEL} version {VERSION} is "
                        f"{{{{ $value | humanizeDuration }}}} over the last 5 minutes ("
                        + (f"SLO: p95 at most {seconds(x)})." if sev == "warning"
                           else f"critical above {seconds(x)}, twice the SLO)."
                           if x == 2 * t("latency_p95_warn_seconds") else f"critical above {seconds(x)}).")))
    rules += alert(
        "MLNoPredictions", "model:ml_predictions:rate5m == 0",
        summary=f"{MODEL} serves no predictions",
        description=(f"Model {MODEL} returned no predictions for " "{for} although its service is "
                     "scraped: traffic stopped reaching it, or every request fails."))
    jm = by("job")
    rules += alert(
        "MLWorkersSaturated",
        divide(f"sum {jm} (ml_inference_in_progress_requests{sel()})",
               f"max {jm} (ml_inference_max_concurrency{sel()})", on("job"))
        + f"> {num(t('worker_saturation_crit'))}\n",
        summary=f"{MODEL}: workers {{{{ $value | humanizePercentage }}}} busy",
        description=(f"{{{{ $value | humanizePercentage }}}} of the worker concurrency of model {MODEL} "
                     "is in use: requests queue up and latency will follow."))
    return rules


def _quality() -> list[dict]:
    metric = lbl("metric")
    rules = _two_level(
        "MLModelQualityBelowBaseline",
        lambda x: f"model_version:ml_model_quality_ratio:baseline_delta < -{num(x)}",
        "quality_drop_warn", "quality_drop_crit",
        f"{MV}: {metric} below its training baseline",
        lambda sev, x: (f"Online {metric} of model {MODEL} version {VERSION} differs from its "
                        "validation baseline by {{ $value | printf \"%.3f\" }} (online minus "
                        f"baseline; {sev} below -{num(x)})."))
    z = t("concept_drift_z")
    rules += alert(
        "MLConceptDrift", f"ml_concept_drift_score{sel()} >= {num(z)}",
        summary=f"{MV}: error rate drifted from validation",
        description=(f"The error rate of model {MODEL} version {VERSION} on labelled traffic is "
                     "{{ $value | printf \"%.1f\" }} standard errors above its validation error rate "
                     f"(concept drift from {num(z)})."))
    return rules


def _drift() -> list[dict]:
    feature, method = lbl(CONFIG.labels.feature), lbl("method")
    share = t("drifted_share_crit")
    psi = t("prediction_drift_crit")
    return [
        # The service exports the threshold per feature and method; both series carry the same
        # labels, so the comparison matches them one to one.
        *alert("MLFeatureDrift", f"ml_feature_drift_score{sel()} >= ml_feature_drift_threshold{sel()}",
               summary=f"{MODEL}: feature {feature} drifted ({method})",
               description=(f"Feature {feature} of model {MODEL} has a {method} drift score of "
                            "{{ $value | printf \"%.3f\" }} against its training reference, at or "
                            "above the exported threshold, for {for}.")),
        *alert("MLDataDriftWidespread", f"ml_drifted_features_ratio{sel()} >= {num(share)}",
               summary=f"{MODEL}: {{{{ $value | humanizePercentage }}}} of features drifted",
               description=("{{ $value | humanizePercentage }} of the monitored input features of model "
                            f"{MODEL} are drifted under PSI (at least {pct(share)}): the input data no "
                            "longer looks like the training data; consider retraining.")),
        *alert("MLPredictionDrift", f"ml_prediction_drift_score{PSI} >= {num(psi)}",
               summary=f"{MV}: prediction distribution drifted",
               description=(f"The output distribution of model {MODEL} version {VERSION} has a PSI of "
                            "{{ $value | printf \"%.3f\" }} against its outputs on the validation split "
                            f"(threshold {num(psi)}).")),
    ]


def _evaluation() -> list[dict]:
    ev = sel(source="evaluation")
    runs = t("evaluation_missed_runs_crit")
    return [
        # Stale when `evaluation_missed_runs_crit` scheduled runs were missed; the job exports its
        # own schedule.
        *alert("MLEvaluationStale",
               f"time() - ml_evaluation_last_success_timestamp_seconds{ev}\n"
               f"  > {num(runs)} * ml_evaluation_schedule_interval_seconds{ev}\n",
               summary=f"{MODEL}: batch evaluation is stale",
               description=(f"The last successful evaluation run of model {MODEL} finished "
                            "{{ $value | humanizeDuration }} ago, more than "
                            f"{times(runs)} its schedule: quality scores on the dashboards are "
                            "out of date.")),
        *alert("MLEvaluationFailing",
               f"ml_evaluation_last_failure_timestamp_seconds{ev} > "
               f"ml_evaluation_last_success_timestamp_seconds{ev}",
               summary=f"{MODEL}: the last batch evaluation run failed",
               description=(f"The most recent evaluation run of model {MODEL} failed (at "
                            "{{ $value | humanizeTimestamp }}) after the last successful one; the "
                            "quality scores shown are from the last good run.")),
        *alert("MLPushgatewayPushFailing", f"push_failure_time_seconds{ev} > push_time_seconds{ev}",
               summary="Pushes of job {{ $labels.job }} to the Pushgateway fail",
               description=("The last push of group job={{ $labels.job }}"
                            f"{{{{ if $labels.{CONFIG.labels.model} }}}}, {CONFIG.labels.model}="
                            f"{MODEL}{{{{ end }}}} to the Pushgateway failed (at "
                            "{{ $value | humanizeTimestamp }}) after its last successful push: the "
                            "batch job's metrics are not being updated.")),
    ]


def _cost() -> list[dict]:
    burn = t("budget_burn_crit")
    return alert(
        "MLCostOverBudget", f"model:ml_serving_cost_usd_per_hour_per_budget:ratio > {num(burn)}",
        summary=f"{MODEL}: serving cost at {{{{ $value | humanizePercentage }}}} of budget",
        description=(f"Serving model {MODEL} costs {{{{ $value | humanizePercentage }}}} of its hourly "
                     "budget (ml_cost_budget_usd_per_hour) for "
                     "{for}."))


def _infra() -> list[dict]:
    util, mem = t("gpu_utilisation_crit"), t("gpu_memory_crit")
    return [
        *alert("MLGPUSaturated", f"model_version:dcgm_gpu_utilisation:avg_ratio > {num(util)}",
               summary=f"{MV}: GPUs {{{{ $value | humanizePercentage }}}} busy",
               description=(f"The GPUs serving model {MODEL} version {VERSION} are "
                            "{{ $value | humanizePercentage }} utilised on average for "
                            "{for}" f" (above {pct(util)}): no headroom "
                            "for traffic peaks.")),
        *alert("MLGPUMemoryPressure", f"model_version:dcgm_framebuffer_used:max_ratio > {num(mem)}",
               summary=f"{MV}: GPU memory {{{{ $value | humanizePercentage }}}} used",
               description=(f"A GPU serving model {MODEL} version {VERSION} has "
                            "{{ $value | humanizePercentage }} of its framebuffer in use for "
                            "{for}" f" (above {pct(mem)}): "
                            "out-of-memory errors are next.")),
    ]


def _compliance() -> list[dict]:
    attribute, group = lbl(CONFIG.labels.attribute), lbl(CONFIG.labels.group)
    spd, low, high = t("spd_fair_bound"), t("dir_fair_lower"), t("dir_fair_upper")
    audit = t("audit_coverage_min")
    jmv = by("job", version=True)
    return [
        *alert("MLFairnessParityOutOfRange", f"abs(ml_fairness_parity_difference{sel()}) > {num(spd)}",
               summary=f"{MV}: group {group} treated unequally",
               description=(f"The statistical parity difference of group {attribute}={group} for model "
                            f"{MODEL} version {VERSION} is outside the fair range -{num(spd)}..{num(spd)} "
                            "(|SPD| = {{ $value | printf \"%.3f\" }}) for "
                            "{for}.")),
        *alert("MLDisparateImpactOutOfRange",
               f"ml_fairness_disparate_impact_ratio{sel()} < {num(low)} "
               f"or ml_fairness_disparate_impact_ratio{sel()} > {num(high)}",
               summary=f"{MV}: disparate impact for group {group}",
               description=(f"The disparate impact ratio of group {attribute}={group} for model {MODEL} "
                            f"version {VERSION} is {{{{ $value | printf \"%.2f\" }}}}, outside the fair "
                            f"range {num(low)}..{num(high)} (four-fifths rule), for "
                            "{for}.")),
        *alert("MLAuditLogGap",
               divide(f"sum {jmv} (rate(ml_predictions_logged_total{sel()}[15m]))",
                      f"sum {jmv} (rate(ml_predictions_total{sel()}[15m]))")
               + f"< {num(audit)}\n",
               summary=f"{MV}: predictions missing from the audit log",
               description=("Only {{ $value | humanizePercentage }} of the predictions of model "
                            f"{MODEL} version {VERSION} reached the audit log over 15 minutes (target "
                            f"{pct(audit)}+).")),
        # A compliance problem for the model-risk owner, not a page: warning.
        *alert("MLUnapprovedVersionServing",
               "model_version:ml_predictions:rate5m > 0\n"
               f"  and {on('job', version=True)} ml_model_info{UNAPPROVED}\n",
               summary=f"{MV} serves traffic without approval",
               description=(f"Model {MODEL} version {VERSION} has not passed the model-risk review "
                            "(approved=\"false\") but serves {{ $value | printf \"%.2f\" }} "
                            "predictions/s, for {for}.")),
    ]


# promtool tests of every alert, derived from the same config (prometheus/tests/alerts_test.yml)
tests = alert_tests()

groups = [
    {"name": name, "rules": rules}
    for name, rules in (
        ("ml-serving.alerts", _serving()),
        ("ml-quality.alerts", _quality()),
        ("ml-drift.alerts", _drift()),
        ("ml-evaluation.alerts", _evaluation()),
        ("ml-cost.alerts", _cost()),
        ("ml-infra.alerts", _infra()),
        ("ml-compliance.alerts", _compliance()),
    )
    if rules
]
