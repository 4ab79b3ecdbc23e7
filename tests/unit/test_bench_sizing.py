"""bench/sizing.py: the exposition covers the generator's series; the derived limits are right."""

from __future__ import annotations

import re

from bench.gen_openmetrics import Scale, count_series
from bench.sizing import SizingResult, exposition, render


def test_exposition_has_one_line_per_series_of_the_generator():
    scale = Scale(models=2, versions=3, features=4)
    names, count = exposition(scale)
    assert count == len(names) == count_series(scale)
    assert len(set(names)) == count, "a series rendered twice"
    assert all(re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*\{.*\}", n) for n in names)


def test_render_derives_marginal_cost_per_model():
    gib = 2**30
    small = SizingResult(10, 8_000, 10_000, 1 * gib, 0.10, 11, 5)
    big = SizingResult(50, 40_000, 50_000, 3 * gib, 0.50, 11, 5)
    text = render([small, big], 30)
    # (50000 - 10000) / 40 models = 1000 series; (3 - 1) GiB / 40 = 51.2 MiB; 0.4 s / 40 = 10 ms
    assert "Marginal cost of one model: 1,000 head series, 51.20 MiB" in text
    assert "53,687 bytes per series" in text
    assert "10.00 ms of rule evaluation per cycle" in text
    # (16 GiB - 1 GiB) / 51.2 MiB + 10 = 310 models; 0.5 * 15 s / 10 ms = 750 models
    assert "holds about 310 models" in text
    assert "15 s evaluation interval at about 750 models" in text
