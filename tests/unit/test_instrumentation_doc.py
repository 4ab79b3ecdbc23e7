"""docs/instrumentation.md's quick start runs as written and emits the service contract."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")

from demo.contract import compare_exposition, load_contract  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402


def _quick_start() -> str:
    text = (REPO_ROOT / "docs" / "instrumentation.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_quick_start_runs_and_emits_the_contract(tmp_path):
    script = tmp_path / "quick_start.py"
    script.write_text(_quick_start(), encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    contract = {n: s for n, s in load_contract().items()
                if s.section == "Metrics emitted by the model service"}
    # the quick start sets no cost budget, concurrency or queue: everything else is there
    optional = {"ml_cost_budget_usd_per_hour", "ml_inference_max_concurrency"}
    problems = [p for p in compare_exposition(r.stdout, contract)
                if p.split(":")[0] not in optional]
    assert not problems, "\n".join(problems)
    assert 'ml_input_validation_failures_total{feature="mean_radius",model="breast-cancer",' \
           'reason="wrong_type"} 1.0' in r.stdout
    assert re.search(r'ml_model_quality_ratio\{metric="accuracy",model="breast-cancer",'
                     r'version="v1"\} 0\.9\d*', r.stdout)
