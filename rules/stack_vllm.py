"""Adapter for vLLM (stack `vllm`): its native `vllm:*` series -> the serving and LLM signals.

See rules/_vllm.py for the names and their source; docs/stacks/vllm.md for the scrape config
(the model version as a target label) and what each panel reads.
"""

from _rulelib import CONFIG
from _vllm import llm_rules, serving_rules

STACK = "vllm"


def vllm(metric: str) -> str:
    return f"vllm:{metric}"


groups = [
    {"name": "ml-serving-vllm.rules", "rules": serving_rules(vllm)},
    {"name": "ml-llm-vllm.rules", "rules": llm_rules(vllm)},
] if CONFIG.stack_on(STACK) else []
