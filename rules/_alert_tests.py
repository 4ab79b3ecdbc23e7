"""promtool tests of every alert (prometheus/tests/alerts_test.yml), following the config.

Each alert: a "bad" series that crosses its threshold fires only once its `for` has elapsed (an
earlier eval_time expects nothing firing), and a healthy series stays silent; two-level alerts
also get a series between the warning and the critical threshold (warning only). Inputs are
derived from the configured thresholds and `for` windows, and labels from the configured names
(rules/_testlib.py), so a team's monitoring.yaml gets tests of its own alerts. Inputs are raw
exporter series, so the recording rules under the alerts are exercised too. With the default
config the values are the hand-worked ones of the comments.
"""

from __future__ import annotations

import re

from _rulelib import CONFIG, num, pct, seconds, t
from _testlib import exp_labels, humanize_duration, humanize_percentage, job, minutes, series

SERVING = "ml-model"
EVAL = "ml_evaluation"
BASE = CONFIG.runbook_url


def _for(name: str) -> int:
    return minutes(CONFIG.alert(name).for_)


def _human_for(name: str) -> str:
    from _rulelib import human_duration

    return human_duration(CONFIG.alert(name).for_)


def _on(name: str) -> bool:
    return CONFIG.alert(name).enabled


def _alert(name: str, severity: str, summary: str, description: str, source: str = "serving",
           **labels: str) -> dict:
    return {"exp_labels": {"severity": severity, **exp_labels(source, **labels)},
            "exp_annotations": {"summary": summary, "description": description,
                                "runbook_url": f"{BASE}#{name.lower()}"}}


def _case(name: str, inputs: list[tuple[str, str]], fired: list[dict], *, start: int = 0,
          length: int | None = None) -> dict:
    """One test: nothing fires before `for` has elapsed; at `for` + 5m exactly `fired` does."""
    window = _for(name)
    end = start + window + 5
    n = length or end + 5
    return {
        "interval": "1m",
        "input_series": [{"series": s, "values": v.replace("{n}", str(n))} for s, v in inputs],
        "alert_rule_test": [
            {"eval_time": f"{max(start + window - 1, 1)}m", "alertname": name, "exp_alerts": []},
            {"eval_time": f"{end}m", "alertname": name, "exp_alerts": fired},
        ],
    }


def _levels(name: str, warn: float, crit: float) -> list[str]:
    """The severities a two-level alert is configured with."""
    settings = CONFIG.alert(name)
    return [s for s in ("warning", "critical") if s in settings.severities]


# --- serving -----------------------------------------------------------------------------------


def target_down() -> dict:
    """demo:8000 (serving churn) dies at 10m: the alert names its last known model. demo:8002 was
    never seen exporting ml_model_info: it still fires, without a model. demo:8001 is up."""
    name = "MLModelTargetDown"
    j = job(SERVING)
    (sev,) = CONFIG.alert(name).severities
    info = {"job": SERVING, "version": "v1", "approved": "true"}
    why = ": the model service is down or unreachable, and every other ML alert for it is blind."
    return _case(name, [
        (series("up", job=SERVING, instance="demo:8000"), "1x9 0x{n}"),
        (series("ml_model_info", **info, instance="demo:8000", model="churn"), "1x9"),
        (series("up", job=SERVING, instance="demo:8001"), "1x{n}"),
        (series("ml_model_info", **info, instance="demo:8001", model="fraud"), "1x{n}"),
        (series("up", job=SERVING, instance="demo:8002"), "1x9 0x{n}"),
    ], [
        _alert(name, sev, "Model service target demo:8000 is down",
               f"Prometheus has failed to scrape demo:8000 (job {j}, model churn) for "
               f"{_human_for(name)}{why}", job=SERVING, instance="demo:8000", model="churn"),
        _alert(name, sev, "Model service target demo:8002 is down",
               f"Prometheus has failed to scrape demo:8002 (job {j}) for {_human_for(name)}{why}",
               job=SERVING, instance="demo:8002"),
    ], start=10)


def job_absent() -> list[dict]:
    """No target of the model service's job is discovered (another job's is): fires; when one is
    discovered, even down, it stays silent (MLModelTargetDown covers that)."""
    name = "MLModelJobAbsent"
    (sev,) = CONFIG.alert(name).severities
    selector = CONFIG.selectors.of("serving")
    target = "{" + selector + "}" if selector else '{job="ml-model"}'
    other = {"series": 'up{job="pushgateway", instance="pg:9091"}', "values": "1x20"}
    # absent() labels its output with the selector's equality matchers only
    equal = dict(re.findall(r'(\w+)\s*=(?!~)\s*"([^"]*)"', target))
    shown = f" (job {equal['job']})" if "job" in equal else ""
    labels = {k: (SERVING if k == "job" else v) for k, v in equal.items()}
    fired = _case(name, [], [_alert(
        name, sev, f"No model service target is discovered{shown}",
        f"Prometheus has no scrape target matching {target} {shown[1:] + ' ' if shown else ''}for "
        f"{_human_for(name)}: the model service was removed from service discovery (or its scrape job "
        "renamed), so no ML alert can fire for it.", **labels)])
    fired["input_series"] = [other]
    quiet = _case(name, [(series("up", job=SERVING, instance="demo:8000"), "0x{n}")], [])
    quiet["input_series"].append(other)
    return [fired, quiet]


def stopped_reporting() -> dict:
    """churn's ml_model_info ends at 10m (absent from 15m, the 5m lookback): fires `for` later;
    fraud keeps reporting."""
    name = "MLModelStoppedReporting"
    info = {"job": SERVING, "version": "v1", "approved": "true", "instance": "demo:8000"}
    return _case(name, [
        (series("ml_model_info", **info, model="churn"), "1x10"),
        (series("ml_model_info", **info, model="fraud"), "1x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn stopped reporting",
               f"Model churn (job {job(SERVING)}) exported ml_model_info within the last 1 day but has "
               f"not for {_human_for(name)}: its service died, was removed from discovery, or no longer "
               "serves it. Silence it if the model was retired on purpose.",
               job=SERVING, model="churn")], start=15)


def error_ratio() -> list[dict]:
    """v1 fails at twice the critical ratio (both levels), v2 between warning and critical. Quiet:
    fraud v1 (no errors), fraud v2 at 0.8 of the warning ratio (the healthy demo's 0.8 % with the
    defaults), and the low-traffic canary churn v3 at twice the warning ratio of 10 requests/min
    (defaults): 600 requests an hour cannot tell 2 % from 1 % (its 1h ratio must clear the
    threshold by `ratio_noise_z` standard errors)."""
    name = "MLErrorRatioHigh"
    warn, crit = t("error_ratio_warn"), t("error_ratio_crit")
    per_min = 1000
    bad = min(round(2 * crit * per_min), per_min)
    mid = round((warn + crit) / 2 * per_min)
    inputs = []
    # the low-traffic canary: few enough requests that twice the warning ratio is within
    # `ratio_noise_z` standard errors (10 a minute with the defaults)
    z = t("ratio_noise_z")
    low = int(z * z * (1 - warn) / (60 * 1.21 * warn))
    rows = (("churn", "v1", per_min, bad), ("churn", "v2", per_min, mid), ("fraud", "v1", per_min, 0),
            ("fraud", "v2", per_min, round(0.8 * warn * per_min, 3)),
            *((("churn", "v3", low, round(2 * warn * low, 4)),) if low else ()))
    for model, version, total, errors in rows:
        inputs += [
            (series("ml_inference_requests_total", job=SERVING, model=model, version=version,
                    status="success"), f"0+{num(total - errors)}x{{n}}"),
            (series("ml_inference_requests_total", job=SERVING, model=model, version=version,
                    status="error"), f"0+{num(errors)}x{{n}}" if errors else "0x{n}"),
        ]
    fired = []
    for version, errors in (("v1", bad), ("v2", mid)):
        ratio = errors / per_min
        shown = humanize_percentage(ratio)
        for severity, threshold in (("warning", warn), ("critical", crit)):
            if ratio > threshold and severity in _levels(name, warn, crit):
                fired.append(_alert(
                    name, severity, f"churn {version}: {shown} of requests fail",
                    f"{shown} of inference requests to model churn version {version} failed over the "
                    f"last 5 minutes ({severity} above {pct(threshold)}, confirmed over the last 1 hour).",
                    job=SERVING, model="churn", version=version))
    return [_case(name, inputs, fired, start=1), dead_target_error_ratio()]


def dead_target_error_ratio() -> dict:
    """churn v1 fails 10 % of requests, then its target dies at 20m (series end, up 0): the
    error-ratio alert resolves once the 5m window empties (the 1h window alone keeps nothing
    firing) and MLModelTargetDown, carrying model churn, takes over."""
    base = {"job": SERVING, "model": "churn", "version": "v1"}
    inputs = [
        (series("up", job=SERVING, instance="demo:8000"), "1x19 0x20"),
        (series("ml_model_info", **base, instance="demo:8000", approved="true"), "1x19"),
        (series("ml_inference_requests_total", **base, instance="demo:8000", status="success"),
         "0+900x19"),
        (series("ml_inference_requests_total", **base, instance="demo:8000", status="error"),
         "0+100x19"),
    ]
    warn, crit = t("error_ratio_warn"), t("error_ratio_crit")
    firing = [_alert("MLErrorRatioHigh", severity, "churn v1: 10% of requests fail",
                     f"10% of inference requests to model churn version v1 failed over the last 5 "
                     f"minutes ({severity} above {pct(x)}, confirmed over the last 1 hour).",
                     job=SERVING, model="churn", version="v1")
              for severity, x in (("warning", warn), ("critical", crit))
              if 0.1 > x and severity in CONFIG.alert("MLErrorRatioHigh").severities]
    return {
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in inputs],
        "alert_rule_test": [
            {"eval_time": "19m", "alertname": "MLErrorRatioHigh", "exp_alerts": firing},
            {"eval_time": "19m", "alertname": "MLModelTargetDown", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "MLErrorRatioHigh", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "MLModelTargetDown", "exp_alerts": [_alert(
                "MLModelTargetDown", "critical", "Model service target demo:8000 is down",
                f"Prometheus has failed to scrape demo:8000 (job {job(SERVING)}, model churn) for "
                f"{_human_for('MLModelTargetDown')}: the model service is down or unreachable, and "
                "every other ML alert for it is blind.", job=SERVING, instance="demo:8000",
                model="churn")]},
        ],
    }


def latency() -> dict:
    """v1: every request in (crit, 2 crit] (both levels); v2 in (warn, crit]; fraud in (0, warn/2]."""
    name = "MLLatencySLOBreach"
    warn, crit = t("latency_p95_warn_seconds"), t("latency_p95_crit_seconds")
    bounds = [warn / 2, warn, crit, 2 * crit]
    inputs, fired = [], []
    for model, version, upper in (("churn", "v1", 3), ("churn", "v2", 2), ("fraud", "v1", 0)):
        for i, le in enumerate([*bounds, None]):
            values = "0+60x{n}" if le is None or i >= upper else "0x{n}"
            inputs.append((series("ml_inference_duration_seconds_bucket", job=SERVING, model=model,
                                  version=version, le="+Inf" if le is None else num(le)), values))
        low = bounds[upper - 1] if upper else 0.0
        p95 = low + (bounds[upper] - low) * 0.95
        for severity, threshold in (("warning", warn), ("critical", crit)):
            if p95 > threshold and severity in _levels(name, warn, crit):
                why = (f"SLO: p95 at most {seconds(threshold)}" if severity == "warning" else
                       f"critical above {seconds(threshold)}"
                       + (", twice the SLO" if threshold == 2 * warn else ""))
                fired.append(_alert(
                    name, severity, f"{model} {version}: p95 latency {humanize_duration(p95)}",
                    f"The 95th percentile inference latency of model {model} version {version} is "
                    f"{humanize_duration(p95)} over the last 5 minutes ({why}).",
                    job=SERVING, model=model, version=version))
    return _case(name, inputs, fired, start=1)


def no_predictions() -> dict:
    """churn stops after 5 minutes (its 5m rate is 0 from 10m on); fraud keeps serving."""
    name = "MLNoPredictions"
    window = _for(name)
    n = 10 + window + 10
    case = _case(name, [
        (series("ml_predictions_total", job=SERVING, model="churn", version="v1"), f"0+50x5 250x{n}"),
        (series("ml_predictions_total", job=SERVING, model="fraud", version="v1"), f"0+50x{n + 5}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn serves no predictions",
               f"Model churn returned no predictions for {_human_for(name)} although its service is "
               "scraped: traffic stopped reaching it, or every request fails.", job=SERVING, model="churn")],
        start=10)
    return case


def workers() -> dict:
    """churn: all 100 workers busy; fraud: half the threshold."""
    name = "MLWorkersSaturated"
    limit = t("worker_saturation_crit")
    calm = int(limit * 100 / 2)
    return _case(name, [
        (series("ml_inference_in_progress_requests", job=SERVING, model="churn", version="v1"), "60x{n}"),
        (series("ml_inference_in_progress_requests", job=SERVING, model="churn", version="v2"), "40x{n}"),
        (series("ml_inference_max_concurrency", job=SERVING, model="churn"), "100x{n}"),
        (series("ml_inference_in_progress_requests", job=SERVING, model="fraud", version="v1"),
         f"{calm}x{{n}}"),
        (series("ml_inference_max_concurrency", job=SERVING, model="fraud"), "100x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn: workers 100% busy",
               "100% of the worker concurrency of model churn is in use: requests queue up and latency "
               "will follow.", job=SERVING, model="churn")] if limit < 1 else [])


# --- quality and drift -------------------------------------------------------------------------


def quality() -> list[dict]:
    name = "MLModelQualityBelowBaseline"
    warn, crit = t("quality_drop_warn"), t("quality_drop_crit")
    baseline = 0.95
    rows = [("v1", "accuracy", round(baseline - 2 * crit, 4)),  # both levels
            ("v1", "f1", round(baseline - (warn + crit) / 2, 4)),  # warning only
            ("v2", "accuracy", round(baseline - warn / 2, 4))]  # silent
    inputs, fired = [], []
    for version, metric, score in rows:
        labels = {"job": SERVING, "model": "churn", "version": version, "metric": metric}
        inputs += [(series("ml_model_quality_ratio", **labels), f"{score}x{{n}}"),
                   (series("ml_model_baseline_quality_ratio", **labels), f"{baseline}x{{n}}")]
        delta = score - baseline
        for severity, threshold in (("warning", warn), ("critical", crit)):
            if delta < -threshold and severity in _levels(name, warn, crit):
                fired.append(_alert(
                    name, severity, f"churn {version}: {metric} below its training baseline",
                    f"Online {metric} of model churn version {version} differs from its validation "
                    f"baseline by {delta:.3f} (online minus baseline; {severity} below -{num(threshold)}).",
                    **labels))
    return [_case(name, inputs, fired), quality_recovered()]


def quality_recovered() -> dict:
    """The 1000-label gauges of every version below lag at 0.85 on accuracy and F1 (baseline
    0.95: both levels), but the labelled accuracy of the last LABELED_RECENT_WINDOW says (with the
    defaults): fraud v2 is back at its baseline from 200 labels a minute (2000 in 10m: 3 standard
    errors are 0.015, inside the 0.02 warning margin): its accuracy alerts are held no longer,
    its F1 (no counters measure it) still fires; fraud v3 from 5 labels a minute (50, under the
    100-label minimum): fires; fraud v4 at 0.935 from 200 a minute (0.015 below the baseline,
    less than 0.02 - 3 standard errors above the warning threshold): its warning still fires, its
    critical does not (0.035 inside the 0.05 margin); fraud v5 at 0.945 from 200 a minute (0.005
    below: 2 standard errors, 0.010, clear the warning threshold, 3 would not) is released by
    `quality_release_z` (2) but would not be by `ratio_noise_z` (3)."""
    import math

    from ml_monitoring.config import LABELED_RECENT_WINDOW

    name = "MLModelQualityBelowBaseline"
    warn, crit = t("quality_drop_warn"), t("quality_drop_crit")
    z, nmin, window = (t("quality_release_z"), t("quality_window_min_samples"),
                       minutes(LABELED_RECENT_WINDOW))
    baseline, lagging = 0.95, 0.85
    versions = {"v2": (200, 0.95), "v3": (5, 0.95), "v4": (200, 0.935), "v5": (200, 0.945)}
    end = _for(name) + 5
    inputs, fired = [], []
    for version, (per_min, accuracy) in versions.items():
        labels = {"job": SERVING, "model": "fraud", "version": version}
        inputs += _labeled("fraud", version, per_min, accuracy)[:2]
        n = per_min * min(end, window)
        for metric in ("accuracy", "f1"):
            inputs += [(series("ml_model_quality_ratio", **labels, metric=metric), f"{lagging}x{{n}}"),
                       (series("ml_model_baseline_quality_ratio", **labels, metric=metric),
                        f"{baseline}x{{n}}")]
            for severity, x in (("warning", warn), ("critical", crit)):
                held = (metric == "accuracy" and n >= nmin and accuracy - baseline
                        > -x + z * math.sqrt(accuracy * (1 - accuracy) / n))
                if lagging - baseline < -x and not held and severity in _levels(name, warn, crit):
                    fired.append(_alert(
                        name, severity, f"fraud {version}: {metric} below its training baseline",
                        f"Online {metric} of model fraud version {version} differs from its validation "
                        f"baseline by {lagging - baseline:.3f} (online minus baseline; {severity} below "
                        f"-{num(x)}).", **labels, metric=metric))
    return _case(name, inputs, fired)


def concept_drift() -> dict:
    name = "MLConceptDrift"
    z = t("concept_drift_z")
    bad, calm = round(z + 1.2, 1), round(z / 3, 1)
    return _case(name, [
        (series("ml_concept_drift_score", job=SERVING, model="churn", version="v1"), f"{bad}x{{n}}"),
        (series("ml_concept_drift_score", job=SERVING, model="churn", version="v2"), f"{calm}x{{n}}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn v1: error rate drifted from validation",
               f"The error rate of model churn version v1 on labelled traffic is {bad:.1f} standard errors "
               f"above its validation error rate (concept drift from {num(z)}).",
               job=SERVING, model="churn", version="v1")])


def feature_drift() -> dict:
    """tenure/psi 0.31 >= its exported 0.2 fires; tenure/ks 0.1 and age/psi 0.05 stay silent."""
    name = "MLFeatureDrift"
    inputs = []
    for feature, method, score in (("tenure", "psi", 0.31), ("tenure", "ks", 0.1), ("age", "psi", 0.05)):
        labels = {"job": SERVING, "model": "churn", "feature": feature, "method": method}
        inputs += [(series("ml_feature_drift_score", **labels), f"{score}x{{n}}"),
                   (series("ml_feature_drift_threshold", **labels), "0.2x{n}")]
    return _case(name, inputs, [_alert(
        name, CONFIG.alert(name).severities[0], "churn: feature tenure drifted (psi)",
        "Feature tenure of model churn has a psi drift score 1.55 times the exported threshold "
        f"against its training reference, for {_human_for(name)}.",
        job=SERVING, model="churn", feature="tenure", method="psi")])


def drift_widespread() -> dict:
    name = "MLDataDriftWidespread"
    share = t("drifted_share_crit")
    bad = min(1.0, round(share + 0.2, 4))
    return _case(name, [
        (series("ml_drifted_features_ratio", job=SERVING, model="churn"), f"{bad}x{{n}}"),
        (series("ml_drifted_features_ratio", job=SERVING, model="fraud"), f"{round(share / 3, 4)}x{{n}}"),
    ], [_alert(name, CONFIG.alert(name).severities[0],
               f"churn: {humanize_percentage(bad)} of features drifted",
               f"{humanize_percentage(bad)} of the monitored input features of model churn are drifted "
               f"under PSI (at least {pct(share)}): the input data no longer looks like the training "
               "data; consider retraining.", job=SERVING, model="churn")] if bad >= share else [])


def prediction_drift() -> dict:
    """v1 psi above the threshold fires; the same value under another method, and v2, stay silent."""
    name = "MLPredictionDrift"
    psi = t("prediction_drift_crit")
    bad = round(psi + 0.15, 4)
    return _case(name, [
        (series("ml_prediction_drift_score", job=SERVING, model="churn", version="v1", method="psi"),
         f"{bad}x{{n}}"),
        (series("ml_prediction_drift_score", job=SERVING, model="churn", version="v1",
                method="jensenshannon"), f"{bad}x{{n}}"),
        (series("ml_prediction_drift_score", job=SERVING, model="churn", version="v2", method="psi"),
         f"{round(psi / 4, 4)}x{{n}}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn v1: prediction distribution drifted",
               f"The output distribution of model churn version v1 has a PSI of {bad:.3f} against its "
               f"outputs on the validation split (threshold {num(psi)}).",
               job=SERVING, model="churn", version="v1", method="psi")])


# --- evaluation --------------------------------------------------------------------------------


def evaluation_stale() -> dict:
    """Test time starts at Unix 0. churn last succeeded at 0 with a 900 s schedule: stale after
    `evaluation_missed_runs_crit` x 900 s, firing `for` later. fraud succeeds every minute."""
    name = "MLEvaluationStale"
    runs = t("evaluation_missed_runs_crit")
    stale = int(runs * 15) + 1  # minutes after which churn's age exceeds runs x 15 min
    window = _for(name)
    end = stale + window + 5
    n = end + 5
    ev = {"job": EVAL}
    times = "twice" if runs == 2 else f"{num(runs)} times"
    return {
        "interval": "1m",
        "input_series": [
            {"series": series("ml_evaluation_last_success_timestamp_seconds", **ev, model="churn"),
             "values": f"0x{n}"},
            {"series": series("ml_evaluation_schedule_interval_seconds", **ev, model="churn"),
             "values": f"900x{n}"},
            {"series": series("ml_evaluation_last_success_timestamp_seconds", **ev, model="fraud"),
             "values": f"0+60x{n}"},
            {"series": series("ml_evaluation_schedule_interval_seconds", **ev, model="fraud"),
             "values": f"900x{n}"},
        ],
        "alert_rule_test": [
            {"eval_time": f"{stale + window - 1}m", "alertname": name, "exp_alerts": []},
            {"eval_time": f"{end}m", "alertname": name, "exp_alerts": [_alert(
                name, CONFIG.alert(name).severities[0], "churn: batch evaluation is stale",
                f"The last successful evaluation run of model churn finished {humanize_duration(end * 60)} "
                f"ago, more than {times} its schedule: quality scores on the dashboards are out of date.",
                "evaluation", job=EVAL, model="churn")]},
        ],
    }


def evaluation_failing() -> dict:
    name = "MLEvaluationFailing"
    ev = {"job": EVAL}
    return _case(name, [
        (series("ml_evaluation_last_success_timestamp_seconds", **ev, model="churn"), "100x{n}"),
        (series("ml_evaluation_last_failure_timestamp_seconds", **ev, model="churn"), "200x{n}"),
        (series("ml_evaluation_last_success_timestamp_seconds", **ev, model="fraud"), "300x{n}"),
        (series("ml_evaluation_last_failure_timestamp_seconds", **ev, model="fraud"), "0x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn: the last batch evaluation run failed",
               "The most recent evaluation run of model churn failed (at 1970-01-01 00:03:20 +0000 UTC) "
               "after the last successful one; the quality scores shown are from the last good run.",
               "evaluation", job=EVAL, model="churn")])


def push_failing() -> dict:
    name = "MLPushgatewayPushFailing"
    ev = {"job": EVAL}
    j = job(EVAL, "evaluation")
    model = CONFIG.labels.model
    return _case(name, [
        (series("push_failure_time_seconds", **ev, model="churn"), "200x{n}"),
        (series("push_time_seconds", **ev, model="churn"), "100x{n}"),
        (series("push_failure_time_seconds", **ev, model="fraud"), "0x{n}"),
        (series("push_time_seconds", **ev, model="fraud"), "300x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], f"Pushes of job {j} to the Pushgateway fail",
               f"The last push of group job={j}, {model}=churn to the Pushgateway failed (at 1970-01-01 "
               "00:03:20 +0000 UTC) after its last successful push: the batch job's metrics are not being "
               "updated.", "evaluation", job=EVAL, model="churn")])


# --- cost and infrastructure -------------------------------------------------------------------


def cost_over_budget() -> dict:
    """churn-v1-0 on node n1: 2 CPU x 0.5 + 4 GiB x 0.25 + 1 GPU x 3 = 5 USD/h, budgeted so the
    burn is 1.25 x the threshold; fraud-v1-0: 1 CPU x 0.5 + 2 GiB x 0.25 = 1 USD/h, budget 10."""
    name = "MLCostOverBudget"
    burn = t("budget_burn_crit")
    budget = 5 / (1.25 * burn)
    pod = {"job": "opencost", "namespace": "ml", "node": "n1"}
    info = {"job": SERVING, "version": "v1", "namespace": "ml", "approved": "true"}
    shown = humanize_percentage(5 / budget)
    return _case(name, [
        (series("node_cpu_hourly_cost", job="opencost", node="n1"), "0.5x{n}"),
        (series("node_ram_hourly_cost", job="opencost", node="n1"), "0.25x{n}"),
        (series("node_gpu_hourly_cost", job="opencost", node="n1"), "3x{n}"),
        (series("container_cpu_allocation", **pod, pod="churn-v1-0", container="churn"), "2x{n}"),
        (series("container_memory_allocation_bytes", **pod, pod="churn-v1-0", container="churn"),
         "4294967296x{n}"),
        (series("container_gpu_allocation", **pod, pod="churn-v1-0", container="churn"), "1x{n}"),
        (series("container_cpu_allocation", **pod, pod="fraud-v1-0", container="fraud"), "1x{n}"),
        (series("container_memory_allocation_bytes", **pod, pod="fraud-v1-0", container="fraud"),
         "2147483648x{n}"),
        (series("ml_model_info", **info, model="churn", pod="churn-v1-0"), "1x{n}"),
        (series("ml_model_info", **info, model="fraud", pod="fraud-v1-0"), "1x{n}"),
        (series("ml_cost_budget_usd_per_hour", job=SERVING, model="churn"), f"{num(round(budget, 6))}x{{n}}"),
        (series("ml_cost_budget_usd_per_hour", job=SERVING, model="fraud"), "1000x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], f"churn: serving cost at {shown} of budget",
               f"Serving model churn costs {shown} of its hourly budget (ml_cost_budget_usd_per_hour) for "
               f"{_human_for(name)}.", model="churn")])


def gpu() -> list[dict]:
    """churn v1's GPU above both thresholds, fraud v1's at half of them."""
    util, mem = t("gpu_utilisation_crit"), t("gpu_memory_crit")
    busy = round((util * 100 + 100) / 2, 2)
    used = round((mem + 1) / 2 * 16000)
    pods = {"churn-v1-0": (busy, used), "fraud-v1-0": (round(util * 50, 2), round(mem * 8000))}
    inputs = []
    for i, (pod, (u, fb)) in enumerate(pods.items()):
        labels = {"job": "dcgm", "gpu": str(i), "namespace": "ml", "pod": pod}
        inputs += [(series("DCGM_FI_DEV_GPU_UTIL", **labels), f"{num(u)}x{{n}}"),
                   (series("DCGM_FI_DEV_FB_USED", **labels), f"{fb}x{{n}}"),
                   (series("DCGM_FI_DEV_FB_FREE", **labels), f"{16000 - fb}x{{n}}")]
        model = pod.split("-")[0]
        inputs.append((series("ml_model_info", job=SERVING, model=model, version="v1", namespace="ml",
                              pod=pod, approved="true"), "1x{n}"))
    saturated = _case("MLGPUSaturated", inputs, [_alert(
        "MLGPUSaturated", CONFIG.alert("MLGPUSaturated").severities[0],
        f"churn v1: GPUs {humanize_percentage(busy / 100)} busy",
        f"The GPUs serving model churn version v1 are {humanize_percentage(busy / 100)} utilised on "
        f"average for {_human_for('MLGPUSaturated')} (above {pct(util)}): no headroom for traffic peaks.",
        model="churn", version="v1")])
    pressure = _case("MLGPUMemoryPressure", inputs, [_alert(
        "MLGPUMemoryPressure", CONFIG.alert("MLGPUMemoryPressure").severities[0],
        f"churn v1: GPU memory {humanize_percentage(used / 16000)} used",
        f"A GPU serving model churn version v1 has {humanize_percentage(used / 16000)} of its framebuffer "
        f"in use for {_human_for('MLGPUMemoryPressure')} (above {pct(mem)}): out-of-memory errors are next.",
        model="churn", version="v1")])
    return [c for c, name in ((saturated, "MLGPUSaturated"), (pressure, "MLGPUMemoryPressure"))
            if _on(name)]


# --- compliance --------------------------------------------------------------------------------


def fairness() -> list[dict]:
    spd, low, high = t("spd_fair_bound"), t("dir_fair_lower"), t("dir_fair_upper")
    bad_spd, bad_dir = -round(spd + 0.08, 4), round(low - 0.1, 4)
    base = {"job": SERVING, "model": "churn", "version": "v1", "attribute": "age_band"}
    inputs = [
        (series("ml_fairness_parity_difference", **base, group="65_plus"), f"{bad_spd}x{{n}}"),
        (series("ml_fairness_parity_difference", **base, group="under_40"), f"{round(spd / 2, 4)}x{{n}}"),
        (series("ml_fairness_disparate_impact_ratio", **base, group="65_plus"), f"{bad_dir}x{{n}}"),
        (series("ml_fairness_disparate_impact_ratio", **base, group="under_40"),
         f"{round((low + high) / 2, 4)}x{{n}}"),
    ]
    cases = []
    if _on("MLFairnessParityOutOfRange"):
        name = "MLFairnessParityOutOfRange"
        cases.append(_case(name, inputs, [_alert(
            name, CONFIG.alert(name).severities[0], "churn v1: group 65_plus treated unequally",
            f"The statistical parity difference of group age_band=65_plus for model churn version v1 is "
            f"outside the fair range -{num(spd)}..{num(spd)} (|SPD| = {abs(bad_spd):.3f}) for "
            f"{_human_for(name)}.", **base, group="65_plus")]))
    if _on("MLDisparateImpactOutOfRange"):
        name = "MLDisparateImpactOutOfRange"
        cases.append(_case(name, inputs, [_alert(
            name, CONFIG.alert(name).severities[0], "churn v1: disparate impact for group 65_plus",
            f"The disparate impact ratio of group age_band=65_plus for model churn version v1 is "
            f"{bad_dir:.2f}, outside the fair range {num(low)}..{num(high)} (four-fifths rule), for "
            f"{_human_for(name)}.", **base, group="65_plus")]))
    return cases


def audit_gap() -> dict:
    """churn logs 9 points of the target fewer than it predicts; fraud logs everything."""
    name = "MLAuditLogGap"
    audit = t("audit_coverage_min")
    logged = max(0, round((audit - 0.09) * 1000))
    v1 = {"job": SERVING, "model": "churn", "version": "v1"}
    f1 = {"job": SERVING, "model": "fraud", "version": "v1"}
    return _case(name, [
        (series("ml_predictions_total", **v1), "0+1000x{n}"),
        (series("ml_predictions_logged_total", **v1), f"0+{logged}x{{n}}"),
        (series("ml_predictions_total", **f1), "0+1000x{n}"),
        (series("ml_predictions_logged_total", **f1), "0+1000x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn v1: predictions missing from the audit log",
               f"Only {humanize_percentage(logged / 1000)} of the predictions of model churn version v1 "
               f"reached the audit log over 15 minutes (target {pct(audit)}+).", **v1)], start=1)


def unapproved() -> dict:
    """churn v2 is unapproved and serves traffic (fires); fraud v2 is unapproved but idle."""
    name = "MLUnapprovedVersionServing"
    return _case(name, [
        (series("ml_model_info", job=SERVING, model="churn", version="v1", approved="true"), "1x{n}"),
        (series("ml_model_info", job=SERVING, model="churn", version="v2", approved="false"), "1x{n}"),
        (series("ml_model_info", job=SERVING, model="fraud", version="v2", approved="false"), "1x{n}"),
        (series("ml_predictions_total", job=SERVING, model="churn", version="v1"), "0+100x{n}"),
        (series("ml_predictions_total", job=SERVING, model="churn", version="v2"), "0+10x{n}"),
        (series("ml_predictions_total", job=SERVING, model="fraud", version="v2"), "0x{n}"),
    ], [_alert(name, CONFIG.alert(name).severities[0], "churn v2 serves traffic without approval",
               "Model churn version v2 has not passed the model-risk review (approved=\"false\") but "
               f"serves 0.17 predictions/s, for {_human_for(name)}.",
               job=SERVING, model="churn", version="v2")], start=1)


# --- feedback and rollouts ----------------------------------------------------------------------


def feedback() -> list[dict]:
    """Volume: churn gets 10 feedback events per 100 predictions a minute for an hour, then 1 (a
    broken widget): the 10m ratio falls under half its 6h level at about 67m. fraud stays at 10.
    Positive share: churn v1 50 % positive (fires), fraud v1 90 % (quiet), churn v2 20 % positive
    but only 15 events in 15 minutes (too few to judge)."""
    cases = []
    name = "MLFeedbackVolumeDrop"
    drop = t("feedback_volume_drop")
    if _on(name):
        cases.append({"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in (
            (series("ml_predictions_total", job=SERVING, model="churn", version="v1"), "0+100x120"),
            (series("ml_feedback_total", job=SERVING, model="churn", version="v1", feedback="positive"),
             "0+10x60 600+1x60"),
            (series("ml_predictions_total", job=SERVING, model="fraud", version="v1"), "0+100x120"),
            (series("ml_feedback_total", job=SERVING, model="fraud", version="v1", feedback="positive"),
             "0+10x120"),
        )], "alert_rule_test": [
            {"eval_time": "60m", "alertname": name, "exp_alerts": []},
            {"eval_time": f"{64 + _for(name)}m", "alertname": name, "exp_alerts": []},
            {"eval_time": f"{70 + _for(name) + 5}m", "alertname": name, "exp_alerts": [_alert(
                name, CONFIG.alert(name).severities[0], "churn: user feedback dropped",
                "Model churn receives 0.0100 feedback events per prediction over 10 minutes, under "
                f"{pct(drop)} of its 6-hour level, for {_human_for(name)}: the feedback widget or "
                "pipeline is probably broken.", job=SERVING, model="churn")]},
        ]})
    name = "MLFeedbackPositiveShareLow"
    if _on(name):
        low = t("feedback_positive_crit")
        inputs = []
        for model, version, pos, neg in (("churn", "v1", 5, 5), ("fraud", "v1", 9, 1),
                                         ("churn", "v2", 0.2, 0.8)):
            for kind, per_min in (("positive", pos), ("negative", neg)):
                inputs.append((series("ml_feedback_total", job=SERVING, model=model, version=version,
                                      feedback=kind), f"0+{num(per_min)}x{{n}}"))
        cases.append(_case(name, inputs, [_alert(
            name, CONFIG.alert(name).severities[0], "churn v1: 50% of feedback is positive",
            f"Only 50% of the user feedback on model churn version v1 over 15 minutes is positive (bad "
            f"below {pct(low)}), for {_human_for(name)}.", job=SERVING, model="churn", version="v1")]
            if 0.5 < low else [], start=2))
    return cases


def rollout() -> list[dict]:
    """churn: canary v2 fails 3 % (production v1 0.5 %) and has p95 98.75ms (v1 48.75ms): the
    error and latency rollout alerts fire for churn v2. fraud's canary v2 is as good as its
    production v1 (0.8 % errors: under the warning ratio; same latency): quiet. spam's canary v2
    fails 2 % (production 0.5 %) of 10 requests a minute: 600 an hour cannot tell 2 % from the
    1 % warning ratio (it must clear it by `ratio_noise_z` standard errors, 2.2 % with the
    defaults): quiet (the rule before issue #22's fix fired). Quality: rollout_quality()."""
    def info(model: str, version: str, stage: str) -> tuple[str, str]:
        return (series("ml_model_info", job=SERVING, model=model, version=version, stage=stage,
                       approved="true"), "1x{n}")

    inputs = [info(model, version, stage) for model in ("churn", "fraud", "spam")
              for version, stage in (("v1", "production"), ("v2", "canary"))]
    rows = {("churn", "v1"): (1000, 5, 1), ("churn", "v2"): (200, 6, 3),
            ("fraud", "v1"): (1000, 5, 1), ("fraud", "v2"): (200, 1.6, 1),
            ("spam", "v1"): (1000, 5, 1), ("spam", "v2"): (10, 0.2, 1)}
    bounds = ("0.025", "0.05", "0.075", "0.1", "+Inf")
    for (model, version), (total, errors, first) in rows.items():
        labels = {"job": SERVING, "model": model, "version": version}
        inputs += [
            (series("ml_inference_requests_total", **labels, status="success"),
             f"0+{num(total - errors)}x{{n}}"),
            (series("ml_inference_requests_total", **labels, status="error"), f"0+{num(errors)}x{{n}}"),
            *[(series("ml_inference_duration_seconds_bucket", **labels, le=le),
               "0+60x{n}" if i >= first else "0x{n}") for i, le in enumerate(bounds)],
        ]
    churn = {"job": SERVING, "model": "churn", "version": "v2"}
    err, lat, warn, z = (t("rollout_error_factor"), t("rollout_latency_factor"), t("error_ratio_warn"),
                         t("ratio_noise_z"))

    def failing(ratio: float, per_min: float) -> bool:
        n = per_min * 60  # requests in the 1h window
        return (ratio > max(err * 0.005, warn) and n >= t("ratio_min_requests")
                and ratio > warn + z * (warn * (1 - warn) / n) ** 0.5)

    expected = {
        "MLRolloutErrorRegression": (
            failing(0.03, 200),
            "churn v2 (canary) fails more than production",
            "Canary version v2 of model churn fails 3% of its requests over the last 1 hour, more than "
            f"{'twice' if err == 2 else num(err) + ' times'} the production version's ratio and above "
            f"{pct(t('error_ratio_warn'))} by over {num(z)} standard errors: stop or roll back the "
            "rollout."),
        "MLRolloutLatencyRegression": (
            0.09875 > lat * 0.04875, "churn v2 (canary) is slower than production",
            f"The p95 latency of canary version v2 of model churn is 98.75ms, more than "
            f"{'twice' if lat == 2 else num(lat) + ' times'} the production version's, for "
            f"{_human_for('MLRolloutLatencyRegression')}."),
    }
    # spam's low-traffic canary, were it judged failing (a config without a noise margin)
    extra = {"MLRolloutErrorRegression": [_alert(
        "MLRolloutErrorRegression", CONFIG.alert("MLRolloutErrorRegression").severities[0],
        "spam v2 (canary) fails more than production",
        expected["MLRolloutErrorRegression"][2].replace("churn", "spam").replace("3%", "2%"),
        job=SERVING, model="spam", version="v2")] if failing(0.02, 10) else []}
    return [_case(name, inputs, [_alert(name, CONFIG.alert(name).severities[0], summary, description,
                                        **churn)] * fires + extra.get(name, []), start=1)
            for name, (fires, summary, description) in expected.items() if _on(name)]


def _labeled(model: str, version: str, per_min: float, accuracy: float) -> list[tuple[str, str]]:
    """Labelled-prediction counters (and the library's accuracy gauge, which the rule before
    issue #22's fix compared) of a version with `per_min` labels a minute at `accuracy`."""
    labels = {"job": SERVING, "model": model, "version": version}
    right = round(per_min * accuracy, 4)
    return [(series("ml_labeled_predictions_total", **labels, correct="true"), f"0+{num(right)}x{{n}}"),
            (series("ml_labeled_predictions_total", **labels, correct="false"),
             f"0+{num(round(per_min - right, 4))}x{{n}}"),
            *([(series("ml_model_quality_ratio", **labels, metric="accuracy"), f"{num(accuracy)}x{{n}}")]
              if per_min else [])]


def rollout_quality() -> list[dict]:
    """Canary against production on labelled accuracy over the same LABELED_WINDOW, with the
    binomial margin. Production v1 of every model: 100 labels a minute at 0.95. Canaries (with the
    defaults): churn v2 at 0.50 from 10 labels a minute, fires once it has quality_window_min_samples
    labels (10m) and its `for` elapsed; fraud v2 at 0.92 from 5 a minute (150 in 30m: 0.03 below
    production is within 3 standard errors plus 0.02) and spam v2 at 0.33 from 3 a minute (90 in 30m:
    under the 100-label minimum) stay quiet, although the old rule (canary gauge < production gauge -
    0.02) fired on both; idle's counters are flat (zero traffic: no NaN, quiet). A dead target: churn's
    canary keeps failing until its target dies at 40m, and the alert resolves once its
    ml_model_info is stale (5m), although the window still holds its labels."""
    name = "MLRolloutQualityRegression"
    if not _on(name):
        return []
    import math

    from _rulelib import human_duration

    from ml_monitoring.config import LABELED_WINDOW

    window, nmin = minutes(LABELED_WINDOW), t("quality_window_min_samples")
    z, drop = t("ratio_noise_z"), t("quality_drop_warn")
    bad = 2 * max(1, math.ceil(nmin / 20))  # labels a minute: nmin reached at 10m
    reach = max(1, math.ceil(nmin / bad))
    few = int((nmin - 1) // window) if nmin >= 1 else 0  # labels a minute: under nmin in a window
    canaries = {"churn": (bad, 0.5), "fraud": (5, 0.92), **({"spam": (few, round(1 / 3, 4))} if few else {}),
                "idle": (0, 0.0)}

    def info(model: str, version: str, stage: str, values: str = "1x{n}") -> tuple[str, str]:
        return (series("ml_model_info", job=SERVING, model=model, version=version, stage=stage,
                       approved="true"), values)

    inputs = []
    for model, (per_min, accuracy) in canaries.items():
        inputs += [info(model, "v1", "production"), info(model, "v2", "canary"),
                   *_labeled(model, "v1", 0 if model == "idle" else 100, 0.95),
                   *_labeled(model, "v2", per_min, accuracy)]
    end = reach + _for(name) + 5  # _case's eval time of the firing check

    def fires(per_min: float, p: float) -> bool:
        n_c, n_p = per_min * min(end, window), 100 * min(end, window)
        if not per_min or n_c < nmin:
            return False
        return p < 0.95 - drop - z * math.sqrt(p * (1 - p) / n_c + 0.95 * 0.05 / n_p)

    span = human_duration(LABELED_WINDOW)

    def firing(model: str, accuracy: float) -> dict:
        return _alert(name, CONFIG.alert(name).severities[0],
                      f"{model} v2 (canary): accuracy below production",
                      f"The accuracy of canary version v2 of model {model} on its predictions labelled in "
                      f"the last {span} is {accuracy:.3f}: more than {num(drop)} below the production "
                      f"version's over the same {span}, by over {num(z)} standard errors of the "
                      f"difference, for {_human_for(name)}.", job=SERVING, model=model, version="v2")

    judged = _case(name, inputs, [firing(m, p) for m, (k, p) in canaries.items() if fires(k, p)],
                   start=reach)
    # the dead target: churn's series end at 40m (its target is down from then)
    dead_at = max(end, 40)
    dead = [(series("up", job=SERVING, instance="demo:8000"), f"1x{dead_at - 1} 0x10"),
            info("churn", "v1", "production", f"1x{dead_at - 1}"),
            info("churn", "v2", "canary", f"1x{dead_at - 1}"),
            *_labeled("churn", "v1", 100, 0.95), *_labeled("churn", "v2", bad, 0.5)]
    dead_case = {
        "interval": "1m",
        "input_series": [{"series": s, "values": v.replace("{n}", str(dead_at - 1))} for s, v in dead],
        "alert_rule_test": [
            {"eval_time": f"{dead_at - 1}m", "alertname": name,
             "exp_alerts": [firing("churn", 0.5)] if fires(bad, 0.5) else []},
            {"eval_time": f"{dead_at + 6}m", "alertname": name, "exp_alerts": []},
        ],
    }
    return [judged, dead_case]


_SINGLE = {
    "MLModelTargetDown": target_down, "MLModelStoppedReporting": stopped_reporting,
    "MLLatencySLOBreach": latency,
    "MLNoPredictions": no_predictions, "MLWorkersSaturated": workers,
    "MLConceptDrift": concept_drift,
    "MLFeatureDrift": feature_drift, "MLDataDriftWidespread": drift_widespread,
    "MLPredictionDrift": prediction_drift, "MLEvaluationStale": evaluation_stale,
    "MLEvaluationFailing": evaluation_failing, "MLPushgatewayPushFailing": push_failing,
    "MLCostOverBudget": cost_over_budget, "MLAuditLogGap": audit_gap,
    "MLUnapprovedVersionServing": unapproved,
}


_MULTI = {"MLErrorRatioHigh": error_ratio, "MLModelJobAbsent": job_absent,
          "MLModelQualityBelowBaseline": quality}


def cases() -> list[dict]:
    out = [make() for name, make in _SINGLE.items() if _on(name)]
    out += [case for name, make in _MULTI.items() if _on(name) for case in make()]
    return out + gpu() + fairness() + feedback() + rollout() + rollout_quality()
