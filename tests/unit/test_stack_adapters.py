"""Each serving-stack adapter on promtool: native series in, the serving signals out, exactly.

The input series are written here from each stack's documented names, labels and units
(docs/stacks/<stack>.md, citing the stack's source), independently of the demo's emitters;
every expected value is worked out by hand in the comment next to it. Counters grow by a fixed
amount per minute from 0, so at 10m a 5m rate is exactly (increase per minute) / 60 and the
percentiles interpolate inside known buckets. Values are compared as round(value * 1e6).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.promharness import promtool_test
from tests.stacks.support import STACKS, compile_stack_rules

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MV = "model_version:ml_inference"
MD = "model:ml_inference"
LOADED, LOAD = "model_version:ml_model_loaded:max", "model_version:ml_model_load_duration_seconds:max"


def s(series: str, values: str) -> dict:
    return {"series": series, "values": values}


def per_min(n: float) -> str:
    """A counter growing by n per minute for 10 minutes."""
    return f"0+{n:g}x10"


def _bucket(name: str, labels: str, counts: dict[str, str]) -> list[dict]:
    return [s(f'{name}{{{labels},le="{le}"}}', values) for le, values in counts.items()]


def histogram(name: str, labels: str, buckets: dict[str, float], total: float,
              count: float) -> list[dict]:
    """A native histogram growing per minute: `<name>_bucket` (cumulative count per `le`),
    `<name>_sum` and `<name>_count`, all with `labels`."""
    return [*_bucket(f"{name}_bucket", labels, {le: per_min(n) for le, n in buckets.items()}),
            s(f"{name}_sum{{{labels}}}", per_min(total)),
            s(f"{name}_count{{{labels}}}", per_min(count))]


# The checks every stack's models share: requests/s, error ratio (0-1) and mean latency (s) per
# version, each model's series from its stack's input in CASES (None: not checked there).
RED: list[tuple[str, str, str, str, float, float | None, float | None]] = [
    # stack, job, model, version, requests/s, error ratio, mean latency
    ("triton", "t", "m", "1", 1.0, 0.1, 0.02),  # (54+6)/60; 6/60; 1 080 000 µs / 54
    ("kserve", "qp", "a", "unknown", 1.0, 0.1, 0.04),  # Knative >= 1.21, seconds
    ("kserve", "qp", "b", "unknown", 1.0, 0.05, 0.03),  # Knative <= 1.18, milliseconds
    ("kserve", "ks", "c", "unknown", 1.0, 0.0, 0.05),  # predict histogram: no errors
    ("seldon", "agent", "m", "3", 1.0, 0.05, 0.05),
    ("seldon", "ml", "n", "unknown", 1.0, 0.1, 0.1),  # version "None" -> unknown
    ("bentoml", "b", "a", "v1", 1.0, 0.1, 0.05),
    ("bentoml", "b", "b", "v2", 1.0, 0.0, None),  # BentoML 1.1 names
    # errors: the host's 4XX+5XX share (6/60) applied to the model's requests;
    # mean: 5 400 000 µs / (60 - 6) successful requests
    ("torchserve", "ts", "m", "1.0", 1.0, 0.1, 0.1),
    ("tfserving", "tf", "m", "unknown", 1.0, 0.05, 0.05),
    ("rayserve", "ray", "m", "unknown", 1.0, 0.1, 0.03),
    ("rayserve", "ray", "n", "unknown", 1.0, None, None),  # older Ray: counters without _total
]


def red(job: str, model: str, version: str, requests: float, ratio: float | None,
        mean: float | None) -> dict[str, float]:
    """One RED row as expected series -> value."""
    labels = f'{{job="{job}",model="{model}",version="{version}"}}'
    checks = {f"{MV}_requests:rate5m{labels}": requests,
              f"{MV}_request_errors_per_ml_inference_requests:ratio_rate5m{labels}": ratio,
              f"{MV}_duration_seconds:mean5m{labels}": mean}
    return {name: value for name, value in checks.items() if value is not None}


# stack -> (input series, {expected series: value})
CASES: dict[str, tuple[list[dict], dict[str, float]]] = {
    "triton": (
        [
            s('nv_inference_request_success{job="t",model="m",version="1"}', per_min(54)),
            s('nv_inference_request_failure{job="t",model="m",version="1",reason="BACKEND"}',
              per_min(6)),
            # 54 successes x 20 ms = 1 080 000 µs per minute
            s('nv_inference_request_duration_us{job="t",model="m",version="1"}',
              per_min(1080000)),
            s('nv_inference_queue_duration_us{job="t",model="m",version="1"}', per_min(540000)),
            s('nv_inference_count{job="t",model="m",version="1"}', per_min(108)),
            s('nv_inference_exec_count{job="t",model="m",version="1"}', per_min(27)),
            s('nv_inference_pending_request_count{job="t",model="m",version="1"}', "3x10"),
            *_bucket("nv_inference_first_response_histogram_ms_bucket",
                     'job="t",model="m",version="1"',
                     {"10": per_min(27), "50": per_min(54), "+Inf": per_min(54)}),
            # version 1 loaded in 2.5 s; version 2's reporter exists, its load not finished
            s('nv_model_load_duration_secs{job="t",model="m",version="1"}', "2.5x10"),
            s('nv_model_load_duration_secs{job="t",model="m",version="2"}', "0x10"),
        ],
        {
            f'{LOADED}{{job="t",model="m",version="1"}}': 1,
            f'{LOADED}{{job="t",model="m",version="2"}}': 0,
            f'{LOAD}{{job="t",model="m",version="1"}}': 2.5,
            f'{MV}_request_errors:rate5m{{job="t",model="m",version="1"}}': 0.1,
            # p50: rank 27 of 54 ends bucket le=10 -> 10 ms; p95: rank 51.3 -> 10 + 40 x 24.3/27
            f'{MV}_duration_seconds:p50_rate5m{{job="t",model="m",version="1"}}': 0.01,
            f'{MV}_duration_seconds:p95_rate5m{{job="t",model="m",version="1"}}': 0.046,
            f'{MD}_duration_seconds:p99_rate5m{{job="t",model="m"}}': 0.0492,  # 10 + 40 x 26.46/27
            f'{MD}_queued_requests:sum{{job="t",model="m"}}': 3,
            f'{MD}_queue_duration_seconds:mean5m{{job="t",model="m"}}': 0.01,  # 540000/54 µs
            f'{MD}_batch_size:mean5m{{job="t",model="m"}}': 4,  # 108/27
        },
    ),
    "kserve": (
        [
            # model a: Knative >= 1.21 queue-proxy (seconds); 54 x 200 and 6 x 500 per minute
            *histogram("kn_serving_invocation_duration_seconds",
                       'job="qp",inferenceservice="a",http_response_status_code="200"',
                       {"0.05": 50, "0.1": 54, "+Inf": 54}, 2.16, 54),
            *histogram("kn_serving_invocation_duration_seconds",
                       'job="qp",inferenceservice="a",http_response_status_code="500"',
                       {"0.05": 6, "0.1": 6, "+Inf": 6}, 0.24, 6),
            s('kn_serving_queue_depth{job="qp",inferenceservice="a"}', "2x10"),
            # model b: Knative <= 1.18 (OpenCensus, milliseconds); 57 x 200, 3 x 503 per minute
            s('revision_app_request_count{job="qp",inferenceservice="b",response_code="200",'
              'response_code_class="2xx"}', per_min(57)),
            s('revision_app_request_count{job="qp",inferenceservice="b",response_code="503",'
              'response_code_class="5xx"}', per_min(3)),
            *histogram("revision_app_request_latencies",
                       'job="qp",inferenceservice="b",response_code="200"',
                       {"20": 30, "50": 60, "+Inf": 60}, 1800, 60),
            # model c: no queue-proxy (RawDeployment): the Python server's predict histogram
            *histogram("request_predict_seconds", 'job="ks",model_name="c"',
                       {"0.1": 60, "+Inf": 60}, 3, 60),
            # the Python server also reports model a: the queue-proxy must win (no double count)
            s('request_predict_seconds_count{job="ks",model_name="a"}', per_min(60)),
        ],
        {
            # all codes: le=0.05 56/min, le=0.1 60/min. p50 rank 30 -> 0.05 x 30/56;
            # p95 rank 57 -> 0.05 + 0.05 x 1/4 (percentiles of seconds histograms: recording.py)
            f'{MV}_duration_seconds:p50_rate5m{{job="qp",model="a",version="unknown"}}':
                0.05 * 30 / 56,
            f'{MD}_duration_seconds:p95_rate5m{{job="qp",model="a"}}': 0.0625,
            f'{MD}_queued_requests:sum{{job="qp",model="a"}}': 2,
            # ms: p50 rank 30 ends le=20 -> 20 ms; p95 rank 57 -> 20 + 30 x 27/30 = 47 ms
            f'{MV}_duration_seconds:p50_rate5m{{job="qp",model="b",version="unknown"}}': 0.02,
            f'{MD}_duration_seconds:p95_rate5m{{job="qp",model="b"}}': 0.047,
            f'{MV}_duration_seconds:p95_rate5m{{job="ks",model="c",version="unknown"}}': 0.095,
        },
    ),
    "seldon": (
        [
            *[s(f'seldon_model_infer_total{{job="agent",server="mlserver",server_replica="0",'
                f'model="m",model_internal="m_3",method_type="rest",code="{code}"}}', per_min(n))
              for code, n in (("200", 57), ("500", 3))],
            *[s(f'seldon_model_infer_seconds_total{{job="agent",server="mlserver",'
                f'server_replica="0",model="m",model_internal="m_3",method_type="rest",'
                f'code="{code}"}}', per_min(n)) for code, n in (("200", 2.85), ("500", 0.15))],
            # MLServer reports m too (the agent must win) and n alone (no version requested)
            s('model_infer_request_success_total{job="ml",model="m",version="3"}', per_min(57)),
            s('model_infer_request_success_total{job="ml",model="n",version="None"}',
              per_min(54)),
            s('model_infer_request_failure_total{job="ml",model="n",version="None"}', per_min(6)),
            s('model_infer_request_duration_sum{job="ml",model="n",version="None"}', per_min(6)),
            s('model_infer_request_duration_count{job="ml",model="n",version="None"}',
              per_min(60)),
            # the agent's loaded gauge: m version 3 loaded, my_model version 4 unloaded
            s('seldon_loaded_model_gauge{job="agent",server="mlserver",server_replica="0",'
              'model_internal="m_3"}', "1x10"),
            s('seldon_loaded_model_gauge{job="agent",server="mlserver",server_replica="0",'
              'model_internal="my_model_4"}', "0x10"),
        ],
        {
            f'{LOADED}{{job="agent",model="m",version="3"}}': 1,
            f'{LOADED}{{job="agent",model="my_model",version="4"}}': 0,
            f'{MD}_requests:rate5m{{job="agent",model="m"}}': 1.0,  # not 1.95: no double count
            # no histogram: the model-level mean stands in for the percentile panels
            f'{MD}_duration_seconds:mean5m{{job="ml",model="n"}}': 0.1,
        },
    ),
    "bentoml": (
        [
            *[s(f'bentoml_service_request_total{{job="b",endpoint="/predict",service_name="a",'
                f'service_version="v1",http_response_code="{code}",runner_name="a"}}',
                per_min(n)) for code, n in (("200", 54), ("500", 6))],
            *[s(f'bentoml_service_request_duration_seconds_bucket{{job="b",endpoint="/predict",'
                f'service_name="a",service_version="v1",http_response_code="{code}",'
                f'runner_name="a",le="{le}"}}', per_min(n))
              for code, n in (("200", 54), ("500", 6)) for le in ("0.1", "+Inf")],
            s('bentoml_service_request_duration_seconds_sum{job="b",service_name="a",'
              'service_version="v1",http_response_code="200"}', per_min(3)),
            s('bentoml_service_request_duration_seconds_count{job="b",service_name="a",'
              'service_version="v1",http_response_code="200"}', per_min(60)),
            s('bentoml_service_request_in_progress{job="b",endpoint="/predict",service_name="a",'
              'service_version="v1",runner_name="a"}', "2x10"),
            s('bentoml_service_adaptive_batch_size_sum{job="b",service_name="a",'
              'service_version="v1",runner_name="a",worker_index="1",method_name="predict"}',
              per_min(240)),
            s('bentoml_service_adaptive_batch_size_count{job="b",service_name="a",'
              'service_version="v1",runner_name="a",worker_index="1",method_name="predict"}',
              per_min(60)),
            # BentoML 1.1 names for model b
            s('bentoml_api_server_request_total{job="b",endpoint="/predict",service_name="b",'
              'service_version="v2",http_response_code="200"}', per_min(60)),
            s('bentoml_api_server_request_duration_seconds_bucket{job="b",endpoint="/predict",'
              'service_name="b",service_version="v2",http_response_code="200",le="0.2"}',
              per_min(60)),
            s('bentoml_api_server_request_duration_seconds_bucket{job="b",endpoint="/predict",'
              'service_name="b",service_version="v2",http_response_code="200",le="+Inf"}',
              per_min(60)),
        ],
        {
            f'{MV}_duration_seconds:p50_rate5m{{job="b",model="a",version="v1"}}': 0.05,
            f'{MV}_in_progress_requests:sum{{job="b",model="a",version="v1"}}': 2,
            f'{MD}_batch_size:mean5m{{job="b",model="a"}}': 4,
            f'{MD}_duration_seconds:p95_rate5m{{job="b",model="b"}}': 0.19,  # 0.2 x 57/60
        },
    ),
    "torchserve": (
        [
            s('ts_inference_requests_total{job="ts",instance="h:8082",model_name="m",'
              'model_version="1.0",hostname="h"}', per_min(60)),
            # 54 successes x 100 ms
            s('ts_inference_latency_microseconds{job="ts",instance="h:8082",model_name="m",'
              'model_version="1.0",hostname="h"}', per_min(5400000)),
            s('ts_queue_latency_microseconds{job="ts",instance="h:8082",model_name="m",'
              'model_version="1.0",hostname="h"}', per_min(540000)),
            s('Requests2XX{job="ts",instance="h:8082",Level="Host",Hostname="h"}', per_min(54)),
            s('Requests5XX{job="ts",instance="h:8082",Level="Host",Hostname="h"}', per_min(6)),
            # two workers of m 1.0 (ms), one of my_model 2.0 (a model name with an underscore)
            *[s(f'WorkerLoadTime{{job="ts",instance="h:8082",WorkerName="W-{port}-{mv}",'
                f'Level="Host",Hostname="h"}}', f"{ms}x10")
              for port, mv, ms in ((9000, "m_1.0", 3200), (9001, "m_1.0", 2800),
                                   (9002, "my_model_2.0", 1500))],
        ],
        {
            f'{LOAD}{{job="ts",model="m",version="1.0"}}': 3.2,  # the slower worker
            f'{LOAD}{{job="ts",model="my_model",version="2.0"}}': 1.5,
            f'{MD}_queue_duration_seconds:mean5m{{job="ts",model="m"}}': 0.01,
        },
    ),
    "tfserving": (
        [
            s(':tensorflow:serving:request_count{job="tf",model_name="m",status="OK"}',
              per_min(57)),
            s(':tensorflow:serving:request_count{job="tf",model_name="m",'
              'status="INVALID_ARGUMENT"}', per_min(3)),
            *histogram(":tensorflow:serving:request_latency",
                       'job="tf",model_name="m",API="predict",entrypoint="REST"',
                       {"10000": 30, "100000": 60, "+Inf": 60}, 3000000, 60),
            # version 2 of m: one failed and one successful load, 5 s in all
            *[s(f':tensorflow:cc:saved_model:load_attempt_count{{job="tf",'
                f'model_path="/models/m/2",status="{st}"}}', "1x10") for st in ("success", "fail")],
            s(':tensorflow:cc:saved_model:load_latency{job="tf",model_path="/models/m/2"}',
              "5000000x10"),
        ],
        {
            f'{LOAD}{{job="tf",model="m",version="2"}}': 2.5,  # 5 000 000 µs / 2 attempts
            # µs: p50 rank 30 ends le=10000 -> 0.01 s; p95 rank 57 -> 10000 + 90000 x 27/30
            f'{MV}_duration_seconds:p50_rate5m{{job="tf",model="m",version="unknown"}}': 0.01,
            f'{MD}_duration_seconds:p95_rate5m{{job="tf",model="m"}}': 0.091,
        },
    ),
    "rayserve": (
        [
            s('ray_serve_deployment_request_counter_total{job="ray",application="app",'
              'deployment="m",replica="app#m#r1",route="/m"}', per_min(60)),
            s('ray_serve_deployment_error_counter_total{job="ray",application="app",'
              'deployment="m",replica="app#m#r1",route="/m"}', per_min(6)),
            *_bucket("ray_serve_deployment_processing_latency_ms_bucket",
                     'job="ray",application="app",deployment="m",replica="app#m#r1",route="/m"',
                     {"10.0": per_min(30), "100.0": per_min(60), "+Inf": per_min(60)}),
            s('ray_serve_deployment_processing_latency_ms_sum{job="ray",deployment="m"}',
              per_min(1800)),
            s('ray_serve_deployment_processing_latency_ms_count{job="ray",deployment="m"}',
              per_min(60)),
            s('ray_serve_replica_processing_queries{job="ray",application="app",deployment="m",'
              'replica="app#m#r1"}', "4x10"),
            s('ray_serve_deployment_queued_queries{job="ray",application="app",deployment="m",'
              'handle="h",actor_id="a"}', "2x10"),
            s('ray_serve_actual_batch_size_sum{job="ray",deployment="m"}', per_min(120)),
            s('ray_serve_actual_batch_size_count{job="ray",deployment="m"}', per_min(60)),
            # an older Ray: counters without _total
            s('ray_serve_deployment_request_counter{job="ray",application="app",deployment="n",'
              'replica="app#n#r1",route="/n"}', per_min(60)),
            # m: one healthy replica of two; n: its only replica unhealthy
            *[s(f'ray_serve_deployment_replica_healthy{{job="ray",application="app",'
                f'deployment="{d}",replica="app#{d}#{r}"}}', f"{v}x10")
              for d, r, v in (("m", "r1", 1), ("m", "r2", 0), ("n", "r1", 0))],
        ],
        {
            f'{LOADED}{{job="ray",model="m",version="unknown"}}': 1,
            f'{LOADED}{{job="ray",model="n",version="unknown"}}': 0,
            # ms: p50 ends le=10 -> 0.01 s; p95 rank 57 -> 10 + 90 x 27/30 = 91 ms
            f'{MV}_duration_seconds:p50_rate5m{{job="ray",model="m",version="unknown"}}': 0.01,
            f'{MD}_duration_seconds:p95_rate5m{{job="ray",model="m"}}': 0.091,
            f'{MV}_in_progress_requests:sum{{job="ray",model="m",version="unknown"}}': 4,
            f'{MD}_queued_requests:sum{{job="ray",model="m"}}': 2,
            f'{MD}_batch_size:mean5m{{job="ray",model="m"}}': 2,
        },
    ),
}


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory) -> list[Path]:
    return compile_stack_rules(tmp_path_factory.mktemp("stack-rules"), STACKS)


def _promtool_test(rule_files: list[Path], test_file: Path, series: list[dict],
                   checks: list[tuple[str, str, float]], eval_time: str = "10m") -> None:
    """promtool test rules: `series` sampled every minute; each (expr, labels, value) at
    `eval_time`."""
    promtool_test(test_file, rule_files, [{"interval": "1m", "input_series": series,
                                           "promql_expr_test": [
        {"expr": expr, "eval_time": eval_time, "exp_samples": [{"labels": lb, "value": v}]}
        for expr, lb, v in checks]}])


def _outputs(expected: dict[str, float]) -> list[tuple[str, str, float]]:
    """Recorded series -> value, compared as round(value * 1e6)."""
    return [(f"round({name} * 1e6)", "{" + name.split("{", 1)[1], round(value * 1e6))
            for name, value in expected.items()]


def test_every_stack_has_a_case():
    assert set(CASES) == set(STACKS)
    assert {row[0] for row in RED} == set(STACKS)


@pytest.mark.parametrize(("stack", "job", "model", "version", "requests", "ratio", "mean"), RED,
                         ids=[f"{row[0]}-{row[1]}-{row[2]}" for row in RED])
def test_serving_signals(stack: str, job: str, model: str, version: str, requests: float,
                         ratio: float | None, mean: float | None, rule_files: list[Path],
                         tmp_path: Path):
    _promtool_test(rule_files, tmp_path / f"{stack}_red_test.yml", CASES[stack][0],
                   _outputs(red(job, model, version, requests, ratio, mean)))


@pytest.mark.parametrize("stack", STACKS)
def test_adapter_outputs(stack: str, rule_files: list[Path], tmp_path: Path):
    series, expected = CASES[stack]
    _promtool_test(rule_files, tmp_path / f"{stack}_test.yml", series, _outputs(expected))


def test_kserve_p95_over_a_split_histogram_vs_an_unsplit_truth(rule_files, tmp_path):
    """The KServe live-test mismatch (adapter p95 1.0 s, demo truth 0.05 s), reproduced.

    One model on Knative <= 1.18 (milliseconds), its histogram split by response code as
    queue-proxy splits it. Sampled every minute from 0, evaluated at 4m: the 5m window starts
    1m before the first sample, so Prometheus extrapolates each series 60 s back to the window
    start, unless its counter would reach zero sooner (durationToZero = 240 s x first / increase,
    promql/functions.go extrapolatedRate; Prometheus 2.42 as Debian ships it):
      200 (fast): 1000 + 100/min -> increase 400, zero 600 s back: x 300/240 -> 500
      503 (fast, born with an error burst): 0 + 40/min -> zero at the first sample: 160
      504 (timeouts, 1-2 s): 10 + 7.2/min -> 28.8, zero 83 s back: x 300/240 -> 36
    Split (the adapter): le=60 660, le=2000 696; rank 0.95 x 696 = 661.2 > 660, so the p95
    lies among the timeouts: 1000 + 1000 x 1.2/36 = 1033.33 ms = 1.03333 s.
    The same requests unsplit (the old truth): le=0.06 1000 + 140/min -> 700, le=2 1010 +
    147.2/min -> 736; rank 699.2 < 700: 0.06 x 699.2/700 = 0.0599314 s. Split by code as the
    native series are (the truth now), the truth gives the adapter's 1.03333 s.
    """
    qp = 'job="qp",inferenceservice="w"'
    ms = "revision_app_request_latencies_bucket"
    series = [
        *_bucket(ms, f'{qp},response_code="200"',
                 dict.fromkeys(("60", "1000", "2000", "+Inf"), "1000+100x10")),
        *_bucket(ms, f'{qp},response_code="503"',
                 dict.fromkeys(("60", "1000", "2000", "+Inf"), "0+40x10")),
        *_bucket(ms, f'{qp},response_code="504"',
                 {"60": "0x10", "1000": "0x10", "2000": "10+7.2x10", "+Inf": "10+7.2x10"}),
        *_bucket("truth_unsplit_bucket", 'model="w"',
                 {"0.06": "1000+140x10", "1": "1000+140x10", "2": "1010+147.2x10",
                  "+Inf": "1010+147.2x10"}),
        *[b for code, counts in (
            ("200", dict.fromkeys(("0.06", "1", "2", "+Inf"), "1000+100x10")),
            ("503", dict.fromkeys(("0.06", "1", "2", "+Inf"), "0+40x10")),
            ("504", {"0.06": "0x10", "1": "0x10", "2": "10+7.2x10", "+Inf": "10+7.2x10"}))
          for b in _bucket("truth_split_bucket", f'model="w",code="{code}"', counts)],
    ]
    adapter = f'{MV}_duration_seconds:p95_rate5m{{job="qp",model="w",version="unknown"}}'
    checks = [
        (f"round({adapter} * 1e6)", '{job="qp",model="w",version="unknown"}', 1033333),
        ("round(histogram_quantile(0.95, sum by (le) (rate(truth_unsplit_bucket[5m]))) * 1e6)",
         "{}", 59931),
        ("round(histogram_quantile(0.95, sum by (le) (rate(truth_split_bucket[5m]))) * 1e6)",
         "{}", 1033333),
    ]
    _promtool_test(rule_files, tmp_path / "kserve_split_test.yml", series, checks, eval_time="4m")
