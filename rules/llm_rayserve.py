"""LLM signals for Ray Serve LLM (stack `rayserve`): the vLLM engine's metrics through Ray.

Ray Serve LLM runs vLLM with `RayPrometheusStatLogger` (vllm-project/vllm
`vllm/v1/metrics/ray_wrappers.py` @02579a5f38c5): the same metrics as vLLM, renamed for
OpenTelemetry (every character outside [a-zA-Z0-9_] becomes `_`, so `vllm:x` -> `vllm_x`) and
exported by Ray's metrics agent with the `ray_` prefix, plus the tags `ReplicaId` and Ray's
`WorkerId`: `ray_vllm_time_to_first_token_seconds_bucket`, `ray_vllm_generation_tokens_total`,
`ray_vllm_kv_cache_usage_perc`, ... with `model_name` (as queried by Ray's own Serve LLM
dashboard, ray-project/ray `python/ray/dashboard/modules/metrics/dashboards/
serve_llm_dashboard_panels.py` @ef82d1d979d2). Engine metrics are on by default since Ray 2.51
(`log_engine_metrics`). The fleet's serving signals for Ray Serve come from the `rayserve`
stack adapter (ray_serve_* series); this module adds the LLM ones.
"""

from _rulelib import CONFIG
from _vllm import llm_rules

STACK = "rayserve"


def ray_vllm(metric: str) -> str:
    return f"ray_vllm_{metric}"


groups = [{"name": "ml-llm-rayserve.rules", "rules": llm_rules(ray_vllm)}] if CONFIG.stack_on(STACK) else []
