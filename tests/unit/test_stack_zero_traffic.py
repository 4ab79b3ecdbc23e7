"""Every serving-stack adapter without traffic: no recorded series is NaN or +/-Inf.

Each stack's own input series (tests/unit/test_stack_adapters.py, written from the stack's
documented names) with every counter and histogram flat at 0 for the whole case, gauges left as
they are: a model that serves nothing. A ratio, mean or quantile over no requests is undefined;
the adapters record it absent (rules/_stacklib.py per(), quantile(); rules/_rulelib.py divide(),
quantile_with_traffic()), so no alert compares with NaN and no panel draws it. (NaN compares
false everywhere, so an alert would hide it rather than fire; `x >= -Inf` keeps every number and
drops exactly the NaNs.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.stacks.support import STACKS
from tests.unit.test_stack_adapters import CASES, _promtool_test, rule_files  # noqa: F401

RECORDED = '{__name__=~".+:.+"}'
GROWING = re.compile(r"^0\+[0-9.e+-]+x(\d+)$")  # a counter: 0, then +n per minute


def _idle(series: list[dict]) -> list[dict]:
    out = []
    for item in series:
        grows = GROWING.match(item["values"])
        out.append({**item, "values": f"0x{grows.group(1)}"} if grows else item)
    return out


def test_cases_have_counters_to_flatten():
    for stack in STACKS:
        assert any(GROWING.match(x["values"]) for x in CASES[stack][0]), stack


@pytest.mark.parametrize("stack", STACKS)
def test_no_recorded_series_is_nan_or_infinite_without_traffic(
        stack: str, rule_files: list[Path], tmp_path: Path):  # noqa: F811
    _promtool_test(rule_files, tmp_path / f"{stack}_idle_test.yml", _idle(CASES[stack][0]), [
        # series are recorded (the request rate is a real 0) ...
        (f"count({RECORDED}) > bool 0", "{}", 1),
        # ... and none is NaN ...
        (f"count({RECORDED}) - (count({RECORDED} >= -Inf) or vector(0))", "{}", 0),
        # ... or infinite
        (f"count({RECORDED} == +Inf or {RECORDED} == -Inf) or vector(0)", "{}", 0),
    ])
