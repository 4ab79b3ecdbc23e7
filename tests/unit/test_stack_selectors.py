"""`selectors.serving` reaches every native series a serving-stack adapter reads.

Compiled with every stack on (the LLM servers too) and a serving selector configured
(monitoring.yaml `selectors:`), each vector selector in each adapter rule that reads a native
series (not a recorded `a:b:c` name) must carry the selector's matcher: otherwise, with
`job=~"ml-.*"` say, a panel would also count other jobs' series (found on Ray Serve's and
Triton's queue gauges and BentoML's in-flight gauge, read bare while their counters were
selected).
"""

from __future__ import annotations

import promql_parser
import yaml

from grafana_sync.lint.promql import walk
from tests.stacks.support import STACKS, compile_stack_rules

SELECTOR = 'namespace="ml-serving"'
# series that are not the serving stack's (Prometheus' own `up`, the contract's and the
# Kubernetes/cost sources have their own selectors); the stack modules read none of them today
NOT_SERVING = {"up"}
LLM_STACKS = ("vllm", "tgi")  # the LLM servers (rules/stack_vllm.py, stack_tgi.py, llm_*.py)


def _native_selectors(expr: str):
    for node, _ in walk(promql_parser.parse(expr)):
        if isinstance(node, promql_parser.VectorSelector):
            names = [m.value for m in node.matchers.matchers if m.name == "__name__"]
            name = node.name or (names[0] if names else "")
            if ":" not in name and name not in NOT_SERVING:
                yield name or str(node), node


def test_every_native_series_carries_the_serving_selector(tmp_path):
    files = compile_stack_rules(tmp_path, (*STACKS, *LLM_STACKS),
                                extra=f"selectors:\n  serving: '{SELECTOR}'\n")
    checked, missing = 0, []
    for path in files:
        if not path.stem.startswith(("stack_", "llm_")) or path.stem in ("stack_contract", "llm_contract"):
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for name, node in _native_selectors(rule["expr"]):
                    checked += 1
                    matchers = {(m.name, m.value) for m in node.matchers.matchers}
                    if ("namespace", "ml-serving") not in matchers:
                        missing.append(f"{path.stem}: {rule.get('record') or rule.get('alert')} "
                                       f"reads {name} without the serving selector")
    assert checked > 50  # every stack's native series were seen
    assert not missing, "\n".join(missing)
