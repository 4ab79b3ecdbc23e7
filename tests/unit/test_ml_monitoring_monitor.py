"""ml_monitoring's monitor: the contract it emits, drift verdicts, never raising, bounded labels."""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import ml_monitoring  # noqa: E402
from demo.contract import compare_exposition, load_contract  # noqa: E402
from ml_monitoring import EvaluationJob, Limits, Monitoring, Windows  # noqa: E402
from ml_monitoring.metrics import EVALUATION_SPECS, SPECS, exposed_name  # noqa: E402

SMALL = Windows(drift=200, outputs=200, labels=200, quality=300, min_quality=100,
                fairness=600, min_fairness=300, min_fairness_group=50)
GROUPS = ["under_40", "40_to_64", "65_plus"]
SERVICE_SECTION = "Metrics emitted by the model service"
BATCH_SECTION = "Batch evaluation metrics"


@pytest.fixture(scope="module")
def trained():
    data = load_breast_cancer()
    features = [f.replace(" ", "_") for f in data.feature_names]
    X_tr, X_val, y_tr, y_val = train_test_split(data.data, data.target, test_size=0.3,
                                                random_state=0, stratify=data.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X_tr, y_tr)
    return features, [str(c) for c in data.target_names], X_tr, X_val, y_val, model


def _hub(**kwargs) -> Monitoring:
    return Monitoring(CollectorRegistry(), background=False, windows=kwargs.pop("windows", SMALL),
                      **kwargs)


def _monitor(hub, trained, version="v1", **kwargs):
    features, classes, X_tr, X_val, y_val, model = trained
    args = dict(features=features, classes=classes, reference=X_tr,
                baseline=(y_val, model.predict_proba(X_val)), favorable_class="benign",
                fairness={"age_band": GROUPS}, approved=True, framework="scikit-learn",
                algorithm="LogisticRegression", cost_budget_usd_per_hour=2.0, max_concurrency=4,
                audit=lambda record: None)
    args.update(kwargs)
    return hub.monitor("breast-cancer", version, **args)


def _samples(hub, name: str) -> dict[tuple, float]:
    out = {}
    for fam in hub.registry.collect():
        for s in fam.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def _value(hub, name: str, **labels) -> float:
    hits = [v for k, v in _samples(hub, name).items() if all((a, b) in k for a, b in
                                                             labels.items())]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def _traffic(monitor, trained, n, rng, shift=None, label=True, pool="validation"):
    """Bootstrap rows of the validation (or training) split, a little jitter, maybe shifted."""
    features, classes, X_tr, X_val, y_val, model = trained
    sd = X_tr.std(axis=0)
    rows = X_val if pool == "validation" else X_tr
    idx = rng.integers(0, len(rows), size=n)
    X = rows[idx] + rng.normal(0, 0.05, size=(n, len(features))) * sd
    if shift:
        for f, k in shift.items():
            X[:, features.index(f)] += k * sd[features.index(f)]
    ids = []
    for i in range(n):
        with monitor.track(dict(zip(features, X[i].tolist(), strict=True)), group=GROUPS[i % 3]) as t:
            if t.valid:
                t.set(proba=model.predict_proba(np.array([t.values]))[0])
        ids.append((t.id, int(y_val[idx[i]]) if pool == "validation" else None))
    if label:
        for pid, y in ids:
            monitor.ground_truth(pid, y)
    return ids


def test_exposition_is_the_service_contract_both_ways(trained):
    hub = _hub()
    mon = _monitor(hub, trained)
    _traffic(mon, trained, 700, np.random.default_rng(1))
    with mon.queue():
        pass
    mon.feedback(True)
    mon.override()
    mon.track({"mean_radius": None}).__enter__().__exit__(None, None, None)
    hub.refresh()
    contract = {n: s for n, s in load_contract().items() if s.section == SERVICE_SECTION}
    problems = compare_exposition(generate_latest(hub.registry).decode(), contract)
    assert not problems, "\n".join(problems)


def test_specs_match_the_contract_tables():
    contract = load_contract()
    for specs, section in ((SPECS, SERVICE_SECTION), (EVALUATION_SPECS, BATCH_SECTION)):
        listed = {n: s for n, s in contract.items() if s.section == section}
        ours = {exposed_name(s): s for s in specs}
        assert set(ours) == set(listed)
        for name, spec in ours.items():
            labels = tuple({"MODEL": "model", "VERSION": "version", "FEATURE": "feature",
                            "ATTRIBUTE": "attribute", "GROUP": "group"}.get(lb, lb)
                           for lb in spec.labels)
            assert labels == listed[name].labels, name
            assert spec.kind == listed[name].type, name


def test_evaluation_job_registry_is_the_batch_contract():
    job = EvaluationJob("breast-cancer", classes=["malignant", "benign"], schedule_interval=60)
    with job.run() as run:
        run.evaluate("v1", [0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    contract = {n: s for n, s in load_contract().items() if s.section == BATCH_SECTION}
    assert not compare_exposition(generate_latest(job.registry).decode(), contract)
    assert _value_of(job.registry, "ml_evaluation_quality_ratio", metric="accuracy") == 0.75
    assert _value_of(job.registry, "ml_evaluation_samples") == 4


def _value_of(registry, name, **labels):
    return [s.value for fam in registry.collect() for s in fam.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())][0]


def test_failed_evaluation_run_keeps_the_last_success(trained):
    clock = iter([100.0, 200.0]).__next__
    job = EvaluationJob("m", classes=["a", "b"], schedule_interval=60, clock=clock)
    with job.run() as run:
        run.evaluate("v1", ["a", "b"], [[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(RuntimeError), job.run():
        raise RuntimeError("warehouse down")
    assert _value_of(job.registry, "ml_evaluation_last_success_timestamp_seconds") == 100.0
    assert _value_of(job.registry, "ml_evaluation_last_failure_timestamp_seconds") == 200.0
    assert _value_of(job.registry, "ml_evaluation_quality_ratio", metric="accuracy") == 1.0


def test_drifted_inputs_move_exactly_the_drifted_features(trained):
    """Healthy traffic (drawn from the reference, the training split) stays under every
    threshold; shifting three features moves those three over on every method, and only them."""
    features = trained[0]
    hub = _hub(windows=Windows(drift=400))
    mon = _monitor(hub, trained)
    rng = np.random.default_rng(3)
    _traffic(mon, trained, 400, rng, label=False, pool="training")
    hub.refresh()
    for method, threshold in (("psi", 0.2), ("ks", 0.2), ("jensenshannon", 0.2)):
        for f in features:
            assert _value(hub, "ml_feature_drift_score", feature=f, method=method) < threshold
    assert _value(hub, "ml_drifted_features") == 0
    drifted = {"mean_texture": 1.5, "worst_area": -1.0, "mean_smoothness": 2.0}
    _traffic(mon, trained, 400, rng, shift=drifted, label=False, pool="training")
    hub.refresh()
    for f in features:
        for method in ("psi", "ks", "jensenshannon"):
            score = _value(hub, "ml_feature_drift_score", feature=f, method=method)
            flag = _value(hub, "ml_feature_drift_detected", feature=f, method=method)
            assert (score >= 0.2) == (f in drifted), (f, method, score)
            assert flag == (1.0 if f in drifted else 0.0)
        assert (_value(hub, "ml_feature_drift_pvalue", feature=f) < 1e-6) == (f in drifted)
    assert _value(hub, "ml_drifted_features") == 3
    assert _value(hub, "ml_drifted_features_ratio") == pytest.approx(3 / 30)
    assert _value(hub, "ml_dataset_drift_detected") == 1.0


def test_quality_fairness_and_ground_truth_counters(trained):
    hub = _hub(clock=lambda: 1000.0, windows=Windows(quality=300, min_quality=100,
                                                     fairness=1000, min_fairness=300,
                                                     min_fairness_group=50))
    mon = _monitor(hub, trained)
    ids = _traffic(mon, trained, 650, np.random.default_rng(5), label=False)
    for pid, y in ids[:500]:
        assert mon.ground_truth(pid, y, at=1090.0)
    assert not mon.ground_truth(ids[0][0], 1)  # already labelled
    assert not mon.ground_truth("no-such-id", 1)
    hub.refresh()
    assert _value(hub, "ml_ground_truth_received_total") == 500
    assert _value(hub, "ml_predictions_total") == 650
    assert _value(hub, "ml_ground_truth_delay_seconds_count") == 500
    assert _value(hub, "ml_ground_truth_delay_seconds_sum") == pytest.approx(500 * 90.0)
    correct = _value(hub, "ml_labeled_predictions_total", correct="true")
    assert correct + _value(hub, "ml_labeled_predictions_total", correct="false") == 500
    acc = _value(hub, "ml_model_quality_ratio", metric="accuracy")
    assert 0.85 < acc <= 1.0
    tp = _value(hub, "ml_classification_outcomes_total", **{"class": "benign"}, outcome="tp")
    tn = _value(hub, "ml_classification_outcomes_total", **{"class": "benign"}, outcome="tn")
    assert tp + tn == correct
    assert _value(hub, "ml_model_quality_window_samples") == 300
    for g in GROUPS:
        fav = _value(hub, "ml_group_predictions_total", group=g, outcome="favorable")
        unf = _value(hub, "ml_group_predictions_total", group=g, outcome="unfavorable")
        assert fav + unf in (216, 217)
        assert _value(hub, "ml_group_favorable_outcome_ratio", group=g) == pytest.approx(
            fav / (fav + unf))
    assert _value(hub, "ml_predictions_logged_total") == 650


def test_accuracy_window_matches_sklearn_on_the_labelled_rows(trained):
    from sklearn.metrics import accuracy_score, roc_auc_score

    features, classes, X_tr, X_val, y_val, model = trained
    hub = _hub()
    mon = _monitor(hub, trained)
    flipped = []
    for i in range(len(X_val)):
        with mon.track(dict(zip(features, X_val[i].tolist(), strict=True))) as t:
            proba = model.predict_proba(X_val[i:i + 1])[0]
            t.set(proba=proba)
        y = int(y_val[i]) if i % 4 else 1 - int(y_val[i])  # a quarter of the truth flipped
        flipped.append((y, proba))
        mon.ground_truth(t.id, classes[y])
    hub.refresh()
    window = flipped[-300:]
    y = np.array([a for a, _ in window])
    p = np.array([b for _, b in window])
    assert _value(hub, "ml_model_quality_ratio", metric="accuracy") == pytest.approx(
        accuracy_score(y, p.argmax(axis=1)))
    assert _value(hub, "ml_model_quality_ratio", metric="roc_auc") == pytest.approx(
        roc_auc_score(y, p[:, 1]))
    assert _value(hub, "ml_concept_drift_detected") == 1.0


MALFORMED = [None, "", b"\xff", 42, 3.5, [], [1, 2, 3], {"mean_radius": "12"},
             {"mean_radius": float("nan")}, {"mean_radius": float("inf")}, {"mean_radius": True},
             {"mean_radius": [1]}, {"mean_radius": {"x": 1}}, {1: 2}, object(), np.zeros(3),
             np.full(30, np.nan), {f"x{i}": i for i in range(1000)}]


@pytest.mark.parametrize("body", MALFORMED, ids=lambda b: type(b).__name__)
def test_malformed_input_never_raises_and_counts_as_invalid(trained, body):
    hub = _hub()
    mon = _monitor(hub, trained)
    with mon.track(body) as t:
        assert not t.valid
    assert _value(hub, "ml_prediction_errors_total", error_type="invalid_input") == 1
    assert _value(hub, "ml_inference_requests_total", status="error") == 1
    assert _value(hub, "ml_inference_in_progress_requests") == 0
    failures = sum(_samples(hub, "ml_input_validation_failures_total").values())
    assert failures >= 1
    assert sum(_samples(hub, "ml_monitoring_errors_total").values()) == 0
    # the plain call and the decorator are as safe
    assert mon.record(body, proba=[0.5, 0.5]) is not None
    assert mon.instrument(lambda features: [0.2, 0.8])(body) == [0.2, 0.8]


def test_out_of_range_and_missing_reasons(trained):
    features, _c, X_tr, *_ = trained
    hub = _hub()
    mon = _monitor(hub, trained)
    row = dict(zip(features, X_tr[0].tolist(), strict=True))
    span = X_tr[:, 0].max() - X_tr[:, 0].min()
    row["mean_radius"] = X_tr[:, 0].max() + 0.6 * span
    del row["worst_area"]
    row["mean_texture"] = "abc"
    v = mon.validate(row)
    assert set(v.problems) == {("mean_radius", "out_of_range"), ("worst_area", "missing"),
                               ("mean_texture", "wrong_type")}
    row["mean_radius"] = X_tr[:, 0].max() + 0.4 * span  # within half a span: accepted
    assert ("mean_radius", "out_of_range") not in mon.validate(row).problems
    assert _value(hub, "ml_input_validation_failures_total", feature="mean_radius",
                  reason="out_of_range") == 1


@pytest.mark.parametrize("exc, kind", [(TimeoutError(), "timeout"),
                                        (ConnectionError(), "dependency_unavailable"),
                                        (ZeroDivisionError(), "model_exception"),
                                        (ml_monitoring.InvalidInput("no"), "invalid_input")])
def test_exceptions_are_counted_by_type_and_propagate(trained, exc, kind):
    hub = _hub()
    mon = _monitor(hub, trained)
    with pytest.raises(type(exc)), mon.track({}):
        assert _value(hub, "ml_inference_in_progress_requests") == 1
        raise exc
    assert _value(hub, "ml_prediction_errors_total", error_type=kind) == 1
    assert _value(hub, "ml_inference_in_progress_requests") == 0
    assert _value(hub, "ml_inference_duration_seconds_count") == 1


def test_internal_errors_are_counted_and_logged_once(trained, caplog, monkeypatch):
    hub = _hub()
    mon = _monitor(hub, trained)

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(mon.state.store, "put", broken)
    features, _c, X_tr, *_ = trained
    with caplog.at_level(logging.WARNING, logger="ml_monitoring"):
        for _ in range(5):
            with mon.track(dict(zip(features, X_tr[0].tolist(), strict=True))) as t:
                t.set(proba=[0.3, 0.7])
    assert _value(hub, "ml_monitoring_errors_total", operation="record") == 5
    assert len([r for r in caplog.records if "disk full" in r.getMessage()]) == 1


def test_unknown_labels_are_refused_not_turned_into_series(trained, caplog):
    hub = _hub(limits=Limits(models=1, versions=2))
    mon = _monitor(hub, trained)
    with caplog.at_level(logging.WARNING, logger="ml_monitoring"):
        for _ in range(3):
            assert mon.record(prediction="cat") is None
            mon.record(proba=[0.1, 0.9], group="martians")
            mon.record(proba=[0.1, 0.9], group={"zodiac": "leo"})
            other = hub.monitor("another-model", "v1", features=["a"], classes=["x", "y"])
            _monitor(hub, trained, "v2")
            third = hub.monitor("breast-cancer", "v3")
    assert isinstance(other, ml_monitoring.monitor.NullMonitor)
    assert isinstance(third, ml_monitoring.monitor.NullMonitor)
    with third.track({}) as t:
        t.set(proba=[1, 0])
    text = generate_latest(hub.registry).decode()
    for value in ('"cat"', "martians", "zodiac", '"leo"', "another-model", 'version="v3"'):
        assert value not in text
    assert _value(hub, "ml_monitoring_errors_total", operation="refused") == 9
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3  # one for refused labels, one per refused monitor
    assert _value(hub, "ml_predicted_class_total", version="v1", **{"class": "benign"}) == 6


def test_label_names_follow_the_configuration(trained, monkeypatch):
    from ml_monitoring import _settings, metrics

    monkeypatch.setattr(metrics, "label_names", lambda: _settings.LabelNames(
        model="model_name", version="model_version", feature="input", attribute="protected",
        group="cohort"))
    hub = _hub()
    mon = _monitor(hub, trained)
    _traffic(mon, trained, 250, np.random.default_rng(0), label=False)
    hub.refresh()
    text = generate_latest(hub.registry).decode()
    assert 'ml_predictions_total{model_name="breast-cancer",model_version="v1"}' in text
    assert 'input="mean_radius"' in text
    assert re.search(r'ml_group_predictions_total\{cohort="under_40",model_name="breast-cancer",'
                     r'model_version="v1",outcome="\w+",protected="age_band"\}', text)
    assert 'model="' not in text and 'feature="' not in text and 'group="' not in text


def test_decorator_and_plain_call(trained):
    features, classes, X_tr, X_val, y_val, model = trained
    hub = _hub()
    mon = _monitor(hub, trained)

    @mon.instrument(group_arg="band")
    def predict(row, band=None):
        return model.predict_proba(np.array([[row[f] for f in features]]))[0]

    row = dict(zip(features, X_val[0].tolist(), strict=True))
    assert len(predict(row, band="65_plus")) == 2
    pid = mon.record(row, prediction="benign", score=0.9, latency=0.012)
    assert pid and mon.ground_truth(pid, "benign")
    assert _value(hub, "ml_predictions_total") == 2
    assert _value(hub, "ml_group_predictions_total", group="65_plus", outcome="favorable") + \
        _value(hub, "ml_group_predictions_total", group="65_plus", outcome="unfavorable") == 1
    assert _value(hub, "ml_inference_duration_seconds_count") == 2
    assert _value(hub, "ml_labeled_predictions_total", correct="true") == 1


def test_stage_change_replaces_the_info_series(trained):
    hub = _hub()
    mon = _monitor(hub, trained)
    mon.set_stage("retired")
    info = _samples(hub, "ml_model_info")
    assert [dict(k)["stage"] for k in info] == ["retired"]
    assert not math.isnan(_value(hub, "ml_model_deployed_timestamp_seconds"))
