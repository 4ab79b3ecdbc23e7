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
    DRIFT_RELATIVE,
    FEEDBACK_SHARE,
    LABELED_ACCURACY,
    LABELED_COUNT,
    MODEL,
    RECENT_ACCURACY,
    RECENT_COUNT,
    VERSION,
    M,
    alert,
    by,
    divide,
    human_duration,
    lbl,
    num,
    on,
    pct,
    seconds,
    sel,
    t,
)

from ml_monitoring.config import FEEDBACK_WINDOW, LABELED_WINDOW
from ml_monitoring.stats import QUALITY_METRICS

ERRORS = "model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m"
P95 = "model_version:ml_inference_duration_seconds:p95_rate5m"
MV = f"{MODEL} {VERSION}"
PSI = sel('method="psi"')
UNAPPROVED = sel('approved="false"')
LOOKBACK = "1d"  # how far back a dead target's or vanished model's identity is remembered
LONG = "1h"  # the long window of the burn-rate style error-ratio alert
LONG_SECONDS = 3600  # LONG in seconds: "requests in the window" = average rate over LONG x this
# Numbers in this module's expressions that stand for a window (seconds): a time-scaled rendering
# (grafana_sync.timescale, `make demo`) divides them with the windows. Every 3600 here is the
# request count of the LONG window; never use the number for anything else in this module.
window_constants = (LONG_SECONDS,)
REQS = "model_version:ml_inference_requests:rate5m"
ERRS = "model_version:ml_inference_request_errors:rate5m"
STAGE_KEYS = on("job", version=True)
ACCURACY = "accuracy"  # the library's `metric` label value the labelled-prediction counters measure
assert ACCURACY in QUALITY_METRICS


def long_ratio() -> str:
    """The error ratio over LONG, from the stack adapters' recorded 5m rates (stack-agnostic)."""
    return divide(f"avg_over_time({ERRS}[{LONG}])", f"avg_over_time({REQS}[{LONG}])").strip()


def _error_ratio(x: float) -> str:
    """Burn-rate style: the 5m ratio (fast to resolve) and the 1h ratio (the evidence) above `x`;
    the 1h ratio must clear `x` by `ratio_noise_z` binomial standard errors of the 1h request count,
    and at least `ratio_min_requests` requests: low-traffic canaries and the healthy baseline's
    sampling noise stay quiet."""
    z, nmin = t("ratio_noise_z"), t("ratio_min_requests")
    n = f"(avg_over_time({REQS}[{LONG}]) * {LONG_SECONDS})"
    return (f"{ERRORS} > {num(x)}\n"
            f"and\n  {long_ratio()}\n  > {num(x)} + {num(z)} * sqrt({num(round(x * (1 - x), 6))} / {n})\n"
            f"and {n} >= {num(nmin)}\n")


def _target_down() -> list[dict]:
    # The serving selector picks the model service's targets; without one, its scrape job.
    target = sel() or '{job="ml-model"}'
    down = f"up{target} == 0"
    # A dead target's series are gone, so its model comes from the last ml_model_info it exported
    # (up to a day back): the alert carries `model` and inhibits that model's serving alerts
    # (prometheus/alertmanager.yml). A target never seen exporting ml_model_info still fires,
    # without `model` (the `or`).
    info = f"max {by('job', 'instance')} (last_over_time(ml_model_info{sel()}[{LOOKBACK}]))"
    where = on("job", "instance", model=False)
    rules = alert(
        "MLModelTargetDown",
        f"(\n  {info}\n    and {where} ({down})\n)\nor {where} ({down})\n",
        summary="Model service target {{ $labels.instance }} is down",
        description=("Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}"
                     f"{{{{ if $labels.{M} }}}}, model {MODEL}{{{{ end }}}}) "
                     "for {for}: the model service is down or unreachable, and every other ML alert "
                     "for it is blind."),
    )
    # Per job: the service vanished from service discovery (no `up` series at all: nothing to be
    # down). absent() keeps the selector's equality matchers as labels.
    rules += alert(
        "MLModelJobAbsent", f"absent(up{target})",
        summary="No model service target is discovered{{ if $labels.job }} (job {{ $labels.job }}){{ end }}",
        description=(f"Prometheus has no scrape target matching {target} "
                     "{{ if $labels.job }}(job {{ $labels.job }}) {{ end }}for {for}: the model "
                     "service was removed from service discovery (or its scrape job renamed), so "
                     "no ML alert can fire for it."),
    )
    # Per model: seen in the last day, not reporting now (its target died, was removed, or stopped
    # exporting this model). A deliberately retired model stays in this alert for a day.
    rules += alert(
        "MLModelStoppedReporting",
        f"max {by('job')} (last_over_time(ml_model_info{sel()}[{LOOKBACK}]))\n"
        f"  unless {on()} ml_model_info{sel()}\n",
        summary=f"{MODEL} stopped reporting",
        description=(f"Model {MODEL} (job {{{{ $labels.job }}}}) exported ml_model_info within the "
                     f"last {human_duration(LOOKBACK)} but has not for {{for}}: its service died, "
                     "was removed from discovery, or no longer serves it. Silence it if the model "
                     "was retired on purpose."),
    )
    return rules


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
        "MLErrorRatioHigh", _error_ratio, "error_ratio_warn", "error_ratio_crit",
        f"{MV}: {{{{ $value | humanizePercentage }}}} of requests fail",
        lambda sev, x: (f"{{{{ $value | humanizePercentage }}}} of inference requests to model {MODEL} "
                        f"version {VERSION} failed over the last 5 minutes ({sev} above {pct(x)}, confirmed "
                        f"over the last {human_duration(LONG)})."))
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


def _below_baseline(x: float) -> str:
    """Online quality (the library's 1000-label gauges) more than `x` below the baseline, unless,
    for the accuracy, the labelled accuracy of the last LABELED_RECENT_WINDOW (from at least
    quality_window_min_samples labels) is back above baseline - `x` by `quality_release_z`
    standard errors: a 20 % canary's gauge lags an incident's end by ~28 minutes (docs/alerts.md, "The
    canary lag"). The margin keeps noise from resetting the `for` of a real, mild degradation; a
    version without recent counters is judged on the gauge alone."""
    keys = on("job", version=True)
    acc, n = RECENT_ACCURACY, RECENT_COUNT
    accuracy = f'metric="{ACCURACY}"'
    baseline = f"max {by('job', version=True)} (ml_model_baseline_quality_ratio{sel(accuracy)})"
    recovered = (f"{acc}\n    - {keys} {baseline}\n"
                 f"  > -{num(x)} + {num(t('quality_release_z'))} * sqrt({acc} * (1 - {acc}) / {n})")
    return (f"model_version:ml_model_quality_ratio:baseline_delta < -{num(x)}\n"
            f"unless {on('job', 'metric', version=True)}\n"
            f"label_replace(\n  {recovered},\n  \"metric\", \"{ACCURACY}\", \"\", \"\"\n)\n")


def _quality() -> list[dict]:
    metric = lbl("metric")
    rules = _two_level(
        "MLModelQualityBelowBaseline", _below_baseline, "quality_drop_warn", "quality_drop_crit",
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
        # Score / threshold is recorded (recording.py), the series the drift panels read.
        *alert("MLFeatureDrift", f"{DRIFT_RELATIVE}{sel()} >= 1",
               summary=f"{MODEL}: feature {feature} drifted ({method})",
               description=(f"Feature {feature} of model {MODEL} has a {method} drift score "
                            "{{ $value | printf \"%.2f\" }} times the exported threshold against "
                            "its training reference, for {for}.")),
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


def _feedback() -> list[dict]:
    fb = f"ml_feedback_total{sel()}"
    preds = f"ml_predictions_total{sel()}"
    jm = by("job")
    drop, nmin, low = t("feedback_volume_drop"), t("feedback_min_events"), t("feedback_positive_crit")

    def per_prediction(window: str) -> str:
        return divide(f"sum {jm} (rate({fb}[{window}]))",
                      f"sum {jm} (rate({preds}[{window}]))").strip()

    return [
        # Feedback per prediction over 10m (traffic changes cancel out) fell below a share of its 6h
        # level: the feedback widget or pipeline broke. Judged only with enough feedback in 6h.
        *alert("MLFeedbackVolumeDrop",
               f"(\n  {per_prediction('10m')}\n)\n< {num(drop)} * (\n  {per_prediction('6h')}\n)\n"
               f"and sum {jm} (increase({fb}[6h])) >= {num(nmin)}\n",
               summary=f"{MODEL}: user feedback dropped",
               description=(f"Model {MODEL} receives {{{{ $value | printf \"%.4f\" }}}} feedback "
                            f"events per prediction over 10 minutes, under {pct(drop)} of its 6-hour "
                            "level, for {for}: the feedback widget or pipeline is probably broken.")),
        *alert("MLFeedbackPositiveShareLow",
               f"{FEEDBACK_SHARE}{sel()} < {num(low)}\n",
               summary=f"{MV}: {{{{ $value | humanizePercentage }}}} of feedback is positive",
               description=(f"Only {{{{ $value | humanizePercentage }}}} of the user feedback on model "
                            f"{MODEL} version {VERSION} over {human_duration(FEEDBACK_WINDOW)} is "
                            f"positive (bad below {pct(low)}), for {{for}}.")),
    ]


def _stage(expr: str, stage: str) -> str:
    matcher = f'stage="{stage}"'
    return f"({expr} and {STAGE_KEYS} ml_model_info{sel(matcher)})"


def _quality_regression() -> str:
    """Canary accuracy below production's minus `quality_drop_warn`, by more than `ratio_noise_z`
    standard errors of the difference (sqrt(p_c(1-p_c)/n_c + p_p(1-p_p)/n_p)), both over the same
    LABELED_WINDOW of labelled predictions and each from at least quality_window_min_samples
    labels (the recorded accuracy is absent below that). $value: the canary's accuracy."""
    jm, acc, n = by("job"), LABELED_ACCURACY, LABELED_COUNT
    canary, production = _stage(acc, "canary"), _stage(acc, "production")
    return (f"{canary}\n"
            f"  < {on('job', version=True)}\n"
            f"  (\n"
            f"      max {jm} {production} - {num(t('quality_drop_warn'))}\n"
            f"    - {on('job')} group_right()\n"
            f"      {num(t('ratio_noise_z'))} * sqrt(\n"
            f"          {canary} * (1 - {acc}) / {n}\n"
            f"        + {on('job')} group_left()\n"
            f"          max {jm} ({production} * (1 - {acc}) / {n})\n"
            f"      )\n"
            f"  )\n")


def _rollout() -> list[dict]:
    """A canary worse than the production version it replaces, while it takes traffic."""
    jm = by("job")
    match = f"{on('job')} group_left()"
    lat, err = t("rollout_latency_factor"), t("rollout_error_factor")
    warn, nmin, qdrop = t("error_ratio_warn"), t("ratio_min_requests"), t("quality_drop_warn")
    z = t("ratio_noise_z")
    n = f"(avg_over_time({REQS}[{LONG}]) * {LONG_SECONDS})"
    canary_err = _stage(long_ratio(), "canary")
    prod_err = f"max {jm} {_stage(long_ratio(), 'production')}"
    return [
        # the canary's 1h ratio must clear the warning ratio by `ratio_noise_z` standard errors of
        # its request count, as MLErrorRatioHigh's: a 20 % canary's ratio over a few thousand
        # requests crossed twice production's on healthy traffic (docs/alerts.md)
        *alert("MLRolloutErrorRegression",
               f"{canary_err}\n  > {match} ({num(err)} * {prod_err})\n"
               f"and {canary_err}\n  > {num(warn)} + {num(z)} * sqrt({num(round(warn * (1 - warn), 6))}"
               f" / {n})\n"
               f"and {n} >= {num(nmin)}\n",
               summary=f"{MV} (canary) fails more than production",
               description=(f"Canary version {VERSION} of model {MODEL} fails "
                            "{{ $value | humanizePercentage }} of its requests over the last "
                            f"{human_duration(LONG)}, more than {times(err)} the production version's "
                            f"ratio and above {pct(warn)} by over {num(z)} standard errors: stop or roll "
                            "back the rollout.")),
        *alert("MLRolloutLatencyRegression",
               f"{_stage(P95, 'canary')}\n  > {match} ({num(lat)} * max {jm} {_stage(P95, 'production')})\n",
               summary=f"{MV} (canary) is slower than production",
               description=(f"The p95 latency of canary version {VERSION} of model {MODEL} is "
                            "{{ $value | humanizeDuration }}, more than "
                            f"{times(lat)} the production version's, for {{for}}.")),
        *alert("MLRolloutQualityRegression", _quality_regression(),
               summary=f"{MV} (canary): accuracy below production",
               description=(f"The accuracy of canary version {VERSION} of model {MODEL} on its "
                            f"predictions labelled in the last {human_duration(LABELED_WINDOW)} is "
                            "{{ $value | printf \"%.3f\" }}: more than "
                            f"{num(qdrop)} below the production version's over the same "
                            f"{human_duration(LABELED_WINDOW)}, by over {num(t('ratio_noise_z'))} "
                            "standard errors of the difference, for {for}.")),
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
        ("ml-feedback.alerts", _feedback()),
        ("ml-rollout.alerts", _rollout()),
    )
    if rules
]
