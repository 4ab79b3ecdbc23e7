"""The LLM adapters against expositions written here from each server's source, with promtool.

Input series are vLLM's, TGI's, Triton TensorRT-LLM's and Ray Serve LLM's own names and labels
(docs/stacks/vllm.md, tgi.md, llm.md cite the sources), written by hand, not produced by the
demo; every expected value is worked out in the comments. The rule modules are compiled with
every LLM stack switched on (`stacks:` in a temporary monitoring.yaml).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from tests.promharness import promtool_test

REPO = Path(__file__).resolve().parents[2]
# every stack with an adapter module (triton and rayserve need the serving-stack adapters,
# rules/stack_<name>.py, before the config accepts them)
STACKS = ["vllm", "tgi", *[s for s in ("triton", "rayserve")
                                        if (REPO / "rules" / f"stack_{s}.py").exists()]]


def needs(stack: str) -> None:
    if stack not in STACKS:
        pytest.skip(f"rules/stack_{stack}.py (the {stack} serving adapter) is not there yet")


@lru_cache(maxsize=1)
def compiled(tmp: str = "") -> Path:
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="llm-rules-"))
    (out / "monitoring.yaml").write_text("stacks: [" + ", ".join(STACKS) + "]\n")
    code = (
        "import sys; from pathlib import Path; from grafana_sync.rules import compile_rules\n"
        "out = Path(sys.argv[1]); r = compile_rules(Path('rules'), out, out / 'tests')\n"
        "assert not r.errors, [str(e) for e in r.errors]\n"
        "for f in r.rules: (out / f.relpath).write_text(f.text)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=REPO, check=True,
                   env={**os.environ, "MONITORING_CONFIG": str(out / "monitoring.yaml")})
    return out


def rule_files() -> list[Path]:
    return sorted(compiled().glob("*.yml"))


def records() -> dict[str, list[str]]:
    """record name -> the files recording it."""
    out: dict[str, list[str]] = {}
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    out.setdefault(rule["record"], []).append(path.stem)
    return out


def promtool(tests: list[dict], tmp_path: Path) -> None:
    promtool_test(tmp_path / "adapter_test.yml", rule_files(), tests)


def series(name: str, values: str, **labels: str) -> dict:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def expect(expr: str, value: float, **labels: str) -> dict:
    """`expr` has one series with these labels and this value (to 1e-9: promtool compares
    floats exactly, and 0.3 computed by rate() is 0.30000000000000004)."""
    check = f"abs(({expr}) - {value!r}) < bool 1e-9"
    return {"expr": check, "eval_time": "10m",
            "exp_samples": [{"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in
                                                       sorted(labels.items())) + "}",
                             "value": 1}]}


# --- the signals the dashboards read are recorded ---------------------------------------------

def test_every_llm_signal_a_dashboard_reads_is_recorded():
    from tests.unit.test_dashboards import compiled_dashboards, iter_panels

    recorded = records()
    wanted = set()
    for uid in ("ml-llm", "ml-overview"):
        for panel in iter_panels(compiled_dashboards()[uid]):
            for target in panel.get("targets", []):
                wanted |= set(re.findall(r"\bmodel_version\w*:ml_llm_\w+:\w+", target["expr"]))
    assert wanted
    assert wanted <= set(recorded), sorted(wanted - set(recorded))


def test_no_two_rule_groups_write_the_same_llm_series():
    """Adapters record base signals from their own series; derived ones once (llm.yml)."""
    recorded = records()
    derived = [n for n, files in recorded.items() if ":ml_llm_" in n and "llm" in files]
    assert "model_version:ml_llm_requests:rate5m" in derived
    for name in derived:
        if name.startswith("model_version:ml_llm_time_to_first_token_seconds:p"):
            # TGI has no TTFT histogram: its adapter records these quantiles itself (queue +
            # prefill); llm.yml's, from TTFT bucket rates, never yield a TGI series
            assert set(recorded[name]) == {"llm", "stack_tgi"}, (name, recorded[name])
            continue
        assert recorded[name] == ["llm"], (name, recorded[name])


# --- vLLM ---------------------------------------------------------------------------------------

VLLM = {"job": "vllm", "model_name": "chat", "version": "v1"}
VLLM_OUT = {"job": "vllm", "model": "chat", "version": "v1"}


def vllm_series(prefix: str = "vllm:", legacy: bool = False, labels=VLLM) -> list[dict]:
    def n(metric: str) -> str:
        return prefix + metric

    two = [{**labels, "engine": "0"}, {**labels, "engine": "1"}]
    kv = "gpu_cache_usage_perc" if legacy else "kv_cache_usage_perc"
    itl = "time_per_output_token_seconds" if legacy else "inter_token_latency_seconds"
    e = two[0]
    return [
        # finished per minute: 540 stop, 30 length, 18 abort, 12 error = 600 -> 10/s
        series(n("request_success_total"), "0+540x30", **e, finished_reason="stop"),
        series(n("request_success_total"), "0+30x30", **e, finished_reason="length"),
        series(n("request_success_total"), "0+18x30", **e, finished_reason="abort"),
        series(n("request_success_total"), "0+12x30", **e, finished_reason="error"),
        series(n("prompt_tokens_total"), "0+60000x30", **e),  # 1000 tokens/s
        series(n("generation_tokens_total"), "0+12000x30", **e),  # 200 tokens/s
        series(n("num_preemptions_total"), "0+60x30", **e),  # 1/s = 0.1 per request
        series(n("num_requests_running"), "12x30", **two[0]),  # engines summed: 20
        series(n("num_requests_running"), "8x30", **two[1]),
        series(n("num_requests_waiting"), "3x30", **two[0]),  # 5
        series(n("num_requests_waiting"), "2x30", **two[1]),
        series(n(kv), "0.5x30", **two[0]),  # the fuller engine: 0.75
        series(n(kv), "0.75x30", **two[1]),
        # TTFT, 60 per minute: 30 <= 0.5 s, 45 <= 1 s, 60 <= 2.5 s -> p50 = 0.5, p90 = 1 + 1.5 x
        # (54 - 45) / 15 = 1.9, over the 1 s SLO: 15 / 60 = 0.25
        series(n("time_to_first_token_seconds_bucket"), "0+30x30", **e, le="0.5"),
        series(n("time_to_first_token_seconds_bucket"), "0+45x30", **e, le="1.0"),
        series(n("time_to_first_token_seconds_bucket"), "0+60x30", **e, le="2.5"),
        series(n("time_to_first_token_seconds_bucket"), "0+60x30", **e, le="+Inf"),
        series(n("time_to_first_token_seconds_count"), "0+60x30", **e),
        # inter-token latency: half <= 25 ms, all <= 50 ms -> p50 = 0.025
        series(n(f"{itl}_bucket"), "0+600x30", **e, le="0.025"),
        series(n(f"{itl}_bucket"), "0+1200x30", **e, le="0.05"),
        series(n(f"{itl}_bucket"), "0+1200x30", **e, le="+Inf"),
        # queue time: 6 s waited per minute by 60 requests -> mean 0.1 s
        series(n("request_queue_time_seconds_sum"), "0+6x30", **e),
        series(n("request_queue_time_seconds_count"), "0+60x30", **e),
    ]


def vllm_expectations(out=VLLM_OUT) -> list[dict]:
    return [
        expect("model_version:ml_llm_requests:rate5m", 10, **out),
        expect('model_version_finish_reason:ml_llm_requests:rate5m{finish_reason="abort"}', 0.3,
               finish_reason="abort", **out),
        expect("model_version:ml_llm_request_errors_per_ml_llm_requests:ratio_rate5m", 0.02,
               **out),
        expect("model_version:ml_llm_prompt_tokens:rate5m", 1000, **out),
        expect("model_version:ml_llm_generation_tokens:rate5m", 200, **out),
        expect("model_version:ml_llm_preemptions_per_ml_llm_requests:ratio_rate5m", 0.1, **out),
        expect("model_version:ml_llm_requests_running:sum", 20, **out),
        expect("model_version:ml_llm_requests_waiting:sum", 5, **out),
        expect("model_version:ml_llm_kv_cache_usage_ratio:max", 0.75, **out),
        expect("model_version:ml_llm_time_to_first_token_seconds:p50_rate5m", 0.5, **out),
        expect("model_version:ml_llm_time_to_first_token_seconds:p90_rate5m", 1.9, **out),
        expect("model_version:ml_llm_time_to_first_token_over_slo:ratio_rate5m", 0.25, **out),
        expect("model_version:ml_llm_inter_token_latency_seconds:p50_rate5m", 0.025, **out),
        expect("model_version:ml_llm_queue_time_seconds:mean5m", 0.1, **out),
    ]


def test_vllm_current_names(tmp_path):
    promtool([{"interval": "1m", "input_series": vllm_series(),
               "promql_expr_test": vllm_expectations()}], tmp_path)


def test_vllm_old_names(tmp_path):
    promtool([{"interval": "1m", "input_series": vllm_series(legacy=True),
               "promql_expr_test": vllm_expectations()}], tmp_path)


def test_vllm_without_a_version_label_is_unknown(tmp_path):
    labels = {"job": "vllm", "model_name": "chat"}
    promtool([{"interval": "1m", "input_series": vllm_series(labels=labels),
               "promql_expr_test": [expect("model_version:ml_llm_requests:rate5m", 10,
                                           job="vllm", model="chat", version="unknown")]}],
             tmp_path)


def test_vllm_fleet_serving_signals(tmp_path):
    e = {**VLLM, "engine": "0"}
    promtool([{"interval": "1m", "input_series": [
        *vllm_series(),
        series("vllm:e2e_request_latency_seconds_sum", "0+300x30", **e),  # 5 s mean
        series("vllm:e2e_request_latency_seconds_count", "0+60x30", **e),
    ], "promql_expr_test": [
        expect("model_version:ml_inference_requests:rate5m", 10, **VLLM_OUT),
        expect("model_version:ml_inference_request_errors:rate5m", 0.2, **VLLM_OUT),
        expect("model_version:ml_inference_duration_seconds:mean5m", 5, **VLLM_OUT),
    ]}], tmp_path)


def test_ray_serve_llm_names(tmp_path):
    needs("rayserve")
    ray = {"job": "ray", "model_name": "chat", "version": "v1", "ReplicaId": "r1",
           "WorkerId": "w1"}
    promtool([{"interval": "1m", "input_series": vllm_series(prefix="ray_vllm_", labels=ray),
               "promql_expr_test": vllm_expectations(
                   {"job": "ray", "model": "chat", "version": "v1"})}], tmp_path)


# --- TGI ----------------------------------------------------------------------------------------

# TGI's duration buckets are 0.0001 x 1.5^k: k = 21 is 0.33252567300796504, k = 22
# 0.7481827642679213 (the largest at or below the 1 s SLO), k = 19 0.22168378200531003.
def tgi_series(labels: dict) -> list[dict]:
    return [
        # 570 successes, 18 dropped streams, 12 engine failures per minute -> 10/s
        series("tgi_request_success", "0+570x30", **labels),
        series("tgi_request_failure", "0+18x30", **labels, err="incomplete"),
        series("tgi_request_failure", "0+12x30", **labels, err="generation"),
        series("tgi_request_input_length_sum", "0+60000x30", **labels),  # 1000 tokens/s
        series("tgi_request_generated_tokens_sum", "0+12000x30", **labels),  # 200 tokens/s
        series("tgi_batch_current_size", "20x30", **labels),
        series("tgi_queue_size", "5x30", **labels),
        series("tgi_batch_current_max_tokens", "21000x30", **labels),  # / 28000 = 0.75
        series("tgi_batch_max_total_tokens", "28000x30", **labels),
        # queue: 30 of 60 <= 0.3325 s, 45 <= 0.748 s -> p50 0.33252567300796504, over SLO 0.25
        series("tgi_request_queue_duration_bucket", "0+30x30", **labels,
               le="0.33252567300796504"),
        series("tgi_request_queue_duration_bucket", "0+45x30", **labels,
               le="0.7481827642679213"),
        series("tgi_request_queue_duration_bucket", "0+60x30", **labels, le="+Inf"),
        series("tgi_request_queue_duration_sum", "0+12x30", **labels),  # mean 0.2 s
        series("tgi_request_queue_duration_count", "0+60x30", **labels),
        # prefill batches: all <= 0.2217 s -> p50 = 0.11084189100265501, all within the bound
        series("tgi_batch_inference_duration_bucket", "0+60x30", **labels, method="prefill",
               le="0.22168378200531003"),
        series("tgi_batch_inference_duration_bucket", "0+60x30", **labels, method="prefill",
               le="0.7481827642679213"),
        series("tgi_batch_inference_duration_bucket", "0+60x30", **labels, method="prefill",
               le="+Inf"),
        series("tgi_batch_inference_duration_count", "0+60x30", **labels, method="prefill"),
    ]


def test_tgi_with_model_and_version_target_labels(tmp_path):
    labels = {"job": "tgi", "model": "chat", "version": "v1"}
    out = labels
    promtool([{"interval": "1m", "input_series": tgi_series(labels), "promql_expr_test": [
        expect("model_version:ml_llm_requests:rate5m", 10, **out),
        expect('model_version_finish_reason:ml_llm_requests:rate5m{finish_reason="stop"}', 9.5,
               finish_reason="stop", **out),
        expect('model_version_finish_reason:ml_llm_requests:rate5m{finish_reason="abort"}', 0.3,
               finish_reason="abort", **out),
        expect("model_version:ml_llm_request_errors_per_ml_llm_requests:ratio_rate5m", 0.02,
               **out),
        expect("model_version:ml_llm_prompt_tokens:rate5m", 1000, **out),
        expect("model_version:ml_llm_generation_tokens:rate5m", 200, **out),
        expect("model_version:ml_llm_requests_running:sum", 20, **out),
        expect("model_version:ml_llm_requests_waiting:sum", 5, **out),
        expect("model_version:ml_llm_kv_cache_usage_ratio:max", 0.75, **out),
        expect("model_version:ml_llm_preemptions_per_ml_llm_requests:ratio_rate5m", 0, **out),
        expect("model_version:ml_llm_queue_time_seconds:mean5m", 0.2, **out),
        # over the SLO: 1 - (45/60 queued within the bound) x (60/60 prefilled within) = 0.25
        expect("model_version:ml_llm_time_to_first_token_over_slo:ratio_rate5m", 0.25, **out),
        # TTFT = queue p50 + prefill p50 = 0.33252567300796504 + 0.11084189100265501
        expect("model_version:ml_llm_time_to_first_token_seconds:p50_rate5m",
               0.44336756401062005, **out),
        expect("model_version:ml_inference_requests:rate5m", 10, **out),
        expect("model_version:ml_inference_request_errors:rate5m", 0.5, **out),
    ]}], tmp_path)


def test_tgi_without_target_labels_names_the_model_after_the_job(tmp_path):
    promtool([{"interval": "1m", "input_series": tgi_series({"job": "mistral-7b"}),
               "promql_expr_test": [
                   expect("model_version:ml_llm_requests:rate5m", 10, job="mistral-7b",
                          model="mistral-7b", version="unknown"),
                   expect("model_version:ml_llm_generation_tokens:rate5m", 200,
                          job="mistral-7b", model="mistral-7b", version="unknown"),
               ]}], tmp_path)


# --- Triton TensorRT-LLM ------------------------------------------------------------------------

def test_triton_tensorrt_llm(tmp_path):
    """Both Triton adapters on (rules/llm_triton.py and the serving adapter rules/stack_triton.py),
    on failure counters without a `reason` label: each gives its own signals."""
    needs("triton")
    m = {"job": "triton", "model": "tensorrt_llm", "version": "1"}
    out = m
    promtool([{"interval": "1m", "input_series": [
        series("nv_trt_llm_request_metrics", "7x30", **m, request_type="active"),
        series("nv_trt_llm_request_metrics", "3x30", **m, request_type="waiting"),
        series("nv_trt_llm_request_metrics", "512x30", **m, request_type="max"),
        series("nv_trt_llm_kv_cache_block_metrics", "0.4x30", **m, kv_cache_block_type="fraction"),
        series("nv_inference_request_success", "0+600x30", **m),  # 10/s
        series("nv_inference_request_failure", "0+6x30", **m),  # 0.1/s
        # 60.6 s of queueing per minute in microseconds over 606 requests -> 0.1 s
        series("nv_inference_queue_duration_us", "0+60600000x30", **m),
        # a Triton model without TensorRT-LLM: no LLM signals for it
        series("nv_inference_request_success", "0+600x30", job="triton", model="resnet",
               version="1"),
    ], "promql_expr_test": [
        expect("model_version:ml_llm_requests:rate5m", 10.1, **out),
        expect("model_version:ml_llm_requests_running:sum", 7, **out),
        expect("model_version:ml_llm_requests_waiting:sum", 3, **out),
        expect("model_version:ml_llm_kv_cache_usage_ratio:max", 0.4, **out),
        expect("model_version:ml_llm_queue_time_seconds:mean5m", 0.1, **out),
        # the serving adapter on the same counters: (600 + 6) / 60 requests/s, 6 / 606 failed
        expect('model_version:ml_inference_requests:rate5m{model="tensorrt_llm"}', 10.1, **out),
        expect("model_version:ml_inference_request_errors_per_ml_inference_requests:"
               'ratio_rate5m{model="tensorrt_llm"}', 6 / 606, **out),
        # resnet has no failure series yet: 10 requests/s, errors 0 (not absent)
        expect('model_version:ml_inference_requests:rate5m{model="resnet"}', 10, job="triton",
               model="resnet", version="1"),
        expect('model_version:ml_inference_request_errors:rate5m{model="resnet"}', 0,
               job="triton", model="resnet", version="1"),
    ]}], tmp_path)


# --- no traffic -----------------------------------------------------------------------------------

RECORDED = '{__name__=~".+:.+"}'
TGI = {"job": "tgi", "model": "chat", "version": "v1"}


def _idle(inputs: list[dict]) -> list[dict]:
    """The same series with every counter flat at 0 (gauges as they are): a server idle for
    the whole case."""
    return [{**x, "values": re.sub(r"^0\+[0-9.e+-]+x", "0x", x["values"])} for x in inputs]


@pytest.mark.parametrize("inputs", [
    pytest.param(lambda: vllm_series(), id="vllm"),
    pytest.param(lambda: vllm_series(legacy=True), id="vllm-old-names"),
    pytest.param(lambda: vllm_series(prefix="ray_vllm_", labels={
        "job": "ray", "model_name": "chat", "version": "v1", "ReplicaId": "r1", "WorkerId": "w1"}),
        id="rayserve-llm"),
    pytest.param(lambda: [*tgi_series(TGI), *(  # with the request duration the fleet panels read
        series(f"tgi_request_duration_{part}", "0+60x30", **TGI, **extra)
        for part, extra in (("bucket", {"le": "+Inf"}), ("sum", {}), ("count", {})))], id="tgi"),
])
def test_no_recorded_series_is_nan_or_infinite_without_traffic(inputs, tmp_path):
    """A ratio, mean or quantile over no requests is recorded absent (rules/_rulelib.py divide(),
    quantile_with_traffic(); rules/_llmlib.py finite_duration()), never NaN or +/-Inf: NaN
    compares false (an alert hides it) and a panel would draw it."""
    idle = _idle(inputs())
    assert idle != inputs()  # there were counters to flatten
    promtool([{"interval": "1m", "input_series": idle, "promql_expr_test": [
        {"expr": f"count({RECORDED}) > bool 0", "eval_time": "10m",
         "exp_samples": [{"labels": "{}", "value": 1}]},
        {"expr": f"count({RECORDED}) - (count({RECORDED} >= -Inf) or vector(0))",
         "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 0}]},
        {"expr": f"count({RECORDED} == +Inf or {RECORDED} == -Inf) or vector(0)",
         "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 0}]},
    ]}], tmp_path)
