"""The JSON checks push and build run on every file were made faster (issue #18): same answers.

The references are the previous implementations, written out (a path for every value; a stack
of (depth, value) pairs); both run on random nested JSON with NaN/Infinity at any depth and on
the repository's compiled dashboards."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from grafana_sync.jsonio import json_depth_exceeds, non_finite_paths

REPO = Path(__file__).resolve().parents[2]


def reference_non_finite_paths(data: Any) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            found.append(path)
        elif isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return sorted(found, key=lambda p: [str(k) for k in p])


def reference_depth_exceeds(data: Any, limit: int) -> bool:
    stack: list[tuple[int, Any]] = [(1, data)]
    while stack:
        depth, value = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((depth + 1, v) for v in children if isinstance(v, dict | list))
    return False


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 7 or r < 0.3:
        return rng.choice([1, 2.5, float("nan"), float("inf"), -float("inf"), "x", None, True,
                           0.0, [], {}])
    if r < 0.65:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"k{i}": _random_json(rng, depth + 1) for i in range(rng.randint(0, 4))}


def _cases() -> list[Any]:
    rng = random.Random(18)
    compiled = [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((REPO / "provisioning" / "dashboards").rglob("*.json"))]
    deep = 1
    for _ in range(120):
        deep = [deep] if len(str(deep)) % 2 else {"k": deep}
    return [_random_json(rng) for _ in range(2000)] + compiled + [deep, float("nan"), 3]


def test_non_finite_paths_as_before() -> None:
    cases = _cases()
    assert sum(bool(reference_non_finite_paths(c)) for c in cases) > 100  # both answers occur
    for case in cases:
        assert non_finite_paths(case) == reference_non_finite_paths(case)


def test_depth_check_as_before() -> None:
    cases = _cases()
    for limit in (1, 2, 3, 6, 100):
        for case in cases:
            assert json_depth_exceeds(case, limit) == reference_depth_exceeds(case, limit)
    assert json_depth_exceeds(cases[-3]) and not json_depth_exceeds(cases[-4])
