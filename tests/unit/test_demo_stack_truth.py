"""The demo's ground truth (`demo_truth_*`) is split like the stack's own series.

Prometheus extrapolates `rate()` series by series, and a counter near zero at the window's
first sample is extrapolated less (promql/functions.go, extrapolatedRate: the "durationToZero"
clamp). A sum of rates over a histogram split by status code therefore equals the rate of the
same requests unsplit only when both are split alike. The live adapter tests compare the two,
so where a stack splits its request and latency series by HTTP code (KServe's queue-proxy,
BentoML, Seldon's agent) the truth must carry the same split: per code, the same requests and
the same latency. (An unsplit truth made KServe's wine-cultivar p95 read 1.0 s in the adapter
against 0.05 s in the truth in one CI run: tests/unit/test_stack_adapters.py reproduces it.)
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pytest

from demo.stacks import create

MODELS = ("cancer-screening", "wine-cultivar")
LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

# stack -> native (count sample, sum sample, model label (None: the endpoint's model), code
# label, sum unit per second)
NATIVE = {
    "kserve": [
        ("kn_serving_invocation_duration_seconds_count", "kn_serving_invocation_duration_seconds_sum",
         None, "http_response_status_code", 1.0),
        ("revision_app_request_latencies_count", "revision_app_request_latencies_sum", None,
         "response_code", 1000.0),
    ],
    "bentoml": [
        (f"{ns}_request_duration_seconds_count", f"{ns}_request_duration_seconds_sum",
         "service_name", "http_response_code", 1.0)
        for ns in ("bentoml_service", "bentoml_api_server")
    ],
    "seldon": [("seldon_model_infer_total", "seldon_model_infer_seconds_total", "model", "code",
                1.0)],
}

# one tick: two successes, a timeout (504), a feature-store failure (503), a rejected input (400)
FAILED = np.array([False, True, True, True, False])
CAUSES = np.array(["", "timeout", "dependency_unavailable", "invalid_input", ""], dtype=object)
LATENCY = np.array([0.0125, 1.3, 0.0155, 0.0011, 0.0305])
CODES = {"200": 2, "504": 1, "503": 1, "400": 1, "500": 0}


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, line
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def _served(stack: str):
    emitter = create(stack)
    for model in MODELS:
        emitter.deploy(model, "v1")
    for k, model in enumerate(MODELS):  # the second model's tick twice: counts differ by model
        for _ in range(k + 1):
            emitter.record(model, "v1", FAILED, CAUSES, LATENCY, np.zeros(len(LATENCY)))
    emitter.ready.set()
    return emitter


@pytest.mark.parametrize("stack", sorted(NATIVE))
def test_truth_is_split_by_code_like_the_native_series(stack: str):
    emitter = _served(stack)
    truth: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    native: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for path in ("/metrics", *emitter.paths):
        endpoint_model = emitter.path_models.get(path)
        for name, lb, value in _samples(emitter.render(path)):
            if path == "/metrics" and name.startswith("demo_truth_latency_seconds_"):
                assert "code" in lb, (name, lb)  # unsplit before the fix (issue #15)
                slot = 0 if name.endswith("_count") else 1 if name.endswith("_sum") else None
                if slot is not None:
                    truth[(lb["model"], lb["code"])][slot] += value
            for count, total, model_label, code_label, unit in NATIVE[stack]:
                if name in (count, total):
                    model = endpoint_model if model_label is None else lb[model_label]
                    slot = 0 if name == count else 1
                    native[(model, lb[code_label])][slot] += value / (1 if slot == 0 else unit)
    # Seldon's agent counts every version; here one version per model, so the keys agree
    assert set(truth) == set(native), (sorted(truth), sorted(native))
    for (model, code), (n, seconds) in native.items():
        ticks = MODELS.index(model) + 1
        assert n == CODES[code] * ticks, (model, code, n)
        assert truth[(model, code)][0] == n, (model, code)
        assert truth[(model, code)][1] == pytest.approx(seconds, abs=1e-9), (model, code)


@pytest.mark.parametrize("stack", [*sorted(NATIVE), "triton", "tfserving"])
def test_truth_requests_and_errors_by_code(stack: str):
    emitter = _served(stack)
    seen: dict[tuple[str, str], float] = {}
    for name, lb, value in _samples(emitter.render("/metrics")):
        if name in ("demo_truth_requests_total", "demo_truth_request_errors_total") \
                and lb["model"] == MODELS[1]:
            seen[("errors" if "errors" in name else "requests", lb["code"])] = value
    # twice the tick: per code its requests; failures only under the error codes
    assert seen == {("requests", "200"): 4.0, ("requests", "400"): 2.0,
                    ("requests", "500"): 0.0, ("requests", "503"): 2.0,
                    ("requests", "504"): 2.0, ("errors", "400"): 2.0, ("errors", "500"): 0.0,
                    ("errors", "503"): 2.0, ("errors", "504"): 2.0}


@pytest.mark.parametrize("stack", ["torchserve", "rayserve"])
def test_truth_of_an_unsplit_request_counter_is_unsplit(stack: str):
    """TorchServe counts a version's requests in one series, Ray Serve a deployment's requests
    and errors in one series each: so does the truth."""
    emitter = _served(stack)
    truth = {(name, tuple(sorted(lb))): value
             for name, lb, value in _samples(emitter.render("/metrics"))
             if name in ("demo_truth_requests_total", "demo_truth_request_errors_total")
             and lb["model"] == MODELS[1]}
    assert truth == {("demo_truth_requests_total", ("model", "version")): 10.0,
                     ("demo_truth_request_errors_total", ("model", "version")): 6.0}


@pytest.mark.parametrize("stack", ["triton", "tfserving", "torchserve", "rayserve"])
def test_an_unsplit_latency_keeps_an_unsplit_truth(stack: str):
    emitter = _served(stack)  # their latency series carry no status code
    truth = [lb for name, lb, _v in _samples(emitter.render("/metrics"))
             if name.startswith("demo_truth_latency_seconds")]
    assert truth and all("code" not in lb for lb in truth)
