"""Running a serving stack's demo with its adapter rules on a real Prometheus (tests only).

`compile_stack_rules(tmp, stack)` compiles rules/ with `stacks: [contract, <stack>]` (a temp
monitoring.yaml, in a subprocess: the rule modules read the config once per process);
`SCRAPE[stack]` lists the extra scrape jobs a stack's demo needs (its other endpoints, and the
target labels a Kubernetes scrape config would set); `empty_by_design(stack)` reads, from
docs/stacks/<stack>.md, the panels that stack cannot fill.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.promharness import DEMO_TARGET, REPO_ROOT

STACKS = ("triton", "kserve", "seldon", "bentoml", "torchserve", "tfserving", "rayserve")

# where a stack's adapter reads a model from a sidecar scraped apart, the demo serves that
# model's ground truth there too: the truth to compare with is that job's
TRUTH_JOB: dict[str, str] = {"kserve": "queue-proxy-.*"}

SCRAPE: dict[str, list[dict]] = {
    "kserve": [
        {"job_name": f"queue-proxy-{model}", "targets": [DEMO_TARGET],
         "metrics_path": f"/queue-proxy/{model}/metrics", "labels": {"inferenceservice": model}}
        for model in ("cancer-screening", "wine-cultivar")
    ],
    "seldon": [{"job_name": "mlserver", "targets": [DEMO_TARGET],
                "metrics_path": "/mlserver/metrics"}],
}

_COMPILE = """
import sys
from pathlib import Path
from grafana_sync.rules import compile_rules
out = Path(sys.argv[1])
result = compile_rules(Path("rules"), out, out / "tests")
if result.errors:
    sys.exit("\\n".join(str(e) for e in result.errors))
out.mkdir(parents=True, exist_ok=True)
for f in result.rules:
    (out / f.relpath).write_text(f.text)
    print(out / f.relpath)
"""


def compile_stack_rules(tmp: Path, stacks: tuple[str, ...], extra: str = "") -> list[Path]:
    """The rule files compiled with these stacks on (`extra`: more monitoring.yaml text)."""
    config = tmp / "monitoring.yaml"
    config.write_text("stacks: [" + ", ".join(("contract", *stacks)) + "]\n" + extra)
    proc = subprocess.run([sys.executable, "-c", _COMPILE, str(tmp / "rules")], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**_env(), "MONITORING_CONFIG": str(config)})
    if proc.returncode:
        raise AssertionError(f"rule compilation failed: {proc.stderr or proc.stdout}")
    return [Path(line) for line in proc.stdout.split()]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def empty_by_design(stack: str) -> set[str]:
    """Panel titles listed under "## Panels this stack leaves empty" in docs/stacks/<stack>.md."""
    text = (REPO_ROOT / "docs" / "stacks" / f"{stack}.md").read_text(encoding="utf-8")
    match = re.search(r"^## Panels this stack leaves empty\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        return set()
    return {m for m in re.findall(r"^- `([^`]+)`", match.group(1), re.M)}
