"""The benchmark's OpenMetrics generator: well-formed, consistent, and accepted by promtool."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from bench.gen_openmetrics import Scale, count_series, write_file, write_openmetrics
from tests.conftest import IN_CI

TINY = Scale(models=1, versions=2, features=2, hours=0.25, step_s=15)
END = 1_800_000_000
LINE = re.compile(r'^([a-zA-Z_:][\w:]*)(\{[^}]*\}) (\S+) (\d+)$')


def _parse(text: str) -> dict[tuple[str, str], list[tuple[int, float]]]:
    series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = LINE.match(line)
        assert match, f"malformed sample line: {line!r}"
        series[(match.group(1), match.group(2))].append((int(match.group(4)),
                                                         float(match.group(3))))
    return series


def test_output_shape_matches_the_declared_scale() -> None:
    out = io.StringIO()
    stats = write_openmetrics(out, TINY, END)
    text = out.getvalue()
    assert text.endswith("# EOF\n")
    series = _parse(text)
    assert len(series) == stats.series == count_series(TINY)
    assert stats.samples == stats.series * TINY.steps
    for samples in series.values():
        times = [t for t, _ in samples]
        assert times == sorted(times) and times[-1] == END - TINY.step_s
    models = {re.search(r'model="([^"]+)"', labels).group(1) for _, labels in series
              if 'model="' in labels}
    assert models == {"model-00"}
    features = {re.search(r'feature="([^"]+)"', labels).group(1) for _, labels in series
                if 'feature="' in labels}
    assert features == {"feature_00", "feature_01"}


def test_counters_are_monotonic_and_histogram_buckets_cumulative() -> None:
    out = io.StringIO()
    write_openmetrics(out, TINY, END)
    series = _parse(out.getvalue())
    for (name, _labels), samples in series.items():
        if name.endswith("_total"):
            values = [v for _, v in samples]
            assert values == sorted(values), name
    buckets: dict[str, list[tuple[float, list[float]]]] = defaultdict(list)
    for (name, labels), samples in series.items():
        if name == "ml_inference_duration_seconds_bucket":
            le = re.search(r'le="([^"]+)"', labels).group(1)
            rest = re.sub(r',?le="[^"]+"', "", labels)
            buckets[rest].append((float(le), [v for _, v in samples]))
    assert buckets
    for per_le in buckets.values():
        per_le.sort()
        for (_, lower), (_, upper) in zip(per_le, per_le[1:], strict=False):
            assert all(a <= b for a, b in zip(lower, upper, strict=True))


@pytest.mark.integration
def test_promtool_accepts_the_output(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is missing")
        pytest.skip("promtool not installed")
    source = tmp_path / "tiny.om"
    stats = write_file(source, TINY, END)
    out = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                          str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listing = subprocess.run([promtool, "tsdb", "list", str(tmp_path / "data")],
                             capture_output=True, text=True, timeout=60)
    # the block table ends with NUM SAMPLES, NUM CHUNKS, NUM SERIES, SIZE per block
    rows = [line.split() for line in listing.stdout.splitlines()[1:] if line.strip()]
    assert sum(int(r[-4]) for r in rows) == stats.samples
    assert max(int(r[-2]) for r in rows) == stats.series
