"""Serving signals from Seldon Core v2 (the agent beside each server) and MLServer (stack
`seldon`).

Sources (docs/stacks/seldon.md): SeldonIO/seldon-core @ 7b77f8b78e87
scheduler/pkg/metrics/agent.go (`seldon_model_infer_total`, `seldon_model_infer_seconds_total`;
labels `model`, `model_internal` = `<model>_<version>`, `code`); SeldonIO/MLServer
@ a325e523b5a5 mlserver/handlers/dataplane.py (`model_infer_request_success_total`,
`model_infer_request_failure_total`, summary `model_infer_request_duration`; labels `model`,
`version`).
- The agent's series first (Seldon Core v2); MLServer's for models served without Seldon.
- Errors: `code` other than 2xx / gRPC OK; MLServer's failure counter.
- No per-model latency histogram in either (the agent's `seldon_model_infer_api_seconds` has no
  model label): the mean only (seconds sum / count); percentile panels show the mean.
- Loaded: the agent's `seldon_loaded_model_gauge` (1 loaded, 0 unloaded; labels `server`,
  `server_replica`, `model_internal`: agent.go addLoadedModelMetrics); model and version come
  from `model_internal`. Neither the agent nor MLServer reports a load time.
"""

from _stacklib import JMV, core, first, group, loaded, mean_by, per, rate_by, relabel, selector

STACK = "seldon"


def _agent(expr: str) -> str:
    return relabel(expr, model="model", version_from="model_internal", version_regex=".*_(.+)")


def _ml(expr: str) -> str:
    return relabel(expr, model="model", version="version")


def _ml_requests() -> str:
    success = rate_by(JMV, _ml, "model_infer_request_success_total")
    failure = rate_by(JMV, _ml, "model_infer_request_failure_total")
    return f"({success}\n  + {failure})\n  or\n{success}"


_rules = [*core(
    requests=first(rate_by(JMV, _agent, "seldon_model_infer_total"), _ml_requests()),
    errors=first(rate_by(JMV, _agent, "seldon_model_infer_total", 'code!~"2..|OK"'),
                 rate_by(JMV, _ml, "model_infer_request_failure_total")),
    mean=first(per(rate_by(JMV, _agent, "seldon_model_infer_seconds_total"),
                   rate_by(JMV, _agent, "seldon_model_infer_total")),
               mean_by(JMV, _ml, "model_infer_request_duration")),
), loaded(relabel(selector("seldon_loaded_model_gauge"), model="model_internal",
                  model_regex="(.+)_[^_]+", version_from="model_internal",
                  version_regex=".*_(.+)"))]

groups = group(STACK, _rules)
