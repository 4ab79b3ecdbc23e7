"""The instrumentation benchmark's harness: both drift computations agree, the timer times."""

from __future__ import annotations

import pytest

pytest.importorskip("scipy")

from bench import instr_bench  # noqa: E402


def test_library_and_scipy_give_the_same_verdicts_on_the_constructed_drift():
    reference, live, truth = instr_bench.drift_data(rows=1500)
    lib = instr_bench.library_drift(reference, live, runs=1)
    sp = instr_bench.scipy_drift(reference, live, runs=1)
    assert lib["verdicts"] == sp["verdicts"]
    assert set(lib["verdicts"]["psi"]) == truth  # the constructed drift is what is found
    assert lib["compute"] > 0 and sp["time"] > 0


def test_overhead_measures_both_sides():
    result = instr_bench.overhead(n=400, block=100)
    assert result["n"] == 400
    for side in ("bare", "library"):
        assert 0 < result[side]["median"] <= result[side]["p99"]
    assert result["overhead"]["median"] == pytest.approx(
        result["library"]["median"] - result["bare"]["median"])
