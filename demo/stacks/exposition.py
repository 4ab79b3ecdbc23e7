"""A Prometheus text exposition written by hand, as each serving stack writes its own.

prometheus-client cannot reproduce other exporters' output (it appends `_total` to every
counter's TYPE line, and Triton, TorchServe and Knative's OpenCensus exporter expose counters
without it), so the stacks' series are rendered here: exact metric names (`:tensorflow:…`
included), TYPE lines, `le` bounds formatted like the stack's own client library, and label
values escaped per the text format. Everything is in memory and guarded by one lock per
registry: the simulation writes, the HTTP thread renders.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]


def go_float(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'g', -1, 64) as client_golang writes values and `le`."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(float(value))
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        text = f"{mantissa}e{sign}{abs(int(exp)):02d}"
    return text


def python_float(value: float) -> str:
    """prometheus-client's floatToGoString: `le="1.0"`, `le="+Inf"` (Python servers)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def absl_float(value: float) -> str:
    """absl::StrCat(double): six significant digits, as TensorFlow Serving writes `le`."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


@dataclass
class Family:
    """One metric family. `kind`: counter, gauge, histogram, summary or untyped."""

    name: str
    kind: str
    help: str
    buckets: Sequence[float] = ()
    le_format: Callable[[float], str] = go_float
    value_format: Callable[[float], str] = go_float
    sample_name: str | None = None  # counters: the sample name when it differs (name + _total)
    bucket_fn: Callable[[Labels], Sequence[float]] | None = None  # buckets per series
    values: dict[Labels, float] = field(default_factory=dict)
    hist: dict[Labels, list[float]] = field(default_factory=dict)  # bucket counts (not cum.)
    sums: dict[Labels, float] = field(default_factory=dict)
    counts: dict[Labels, float] = field(default_factory=dict)

    def bounds(self, labels: Labels) -> Sequence[float]:
        return self.bucket_fn(labels) if self.bucket_fn else self.buckets

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def set(self, labels: Labels, value: float) -> None:
        self.values[labels] = float(value)

    def touch(self, labels: Labels) -> None:
        """Create the series at zero (clients do on first use; rates need a first sample)."""
        if self.kind in ("histogram",):
            self.hist.setdefault(labels, [0.0] * (len(self.bounds(labels)) + 1))
            self.sums.setdefault(labels, 0.0)
            self.counts.setdefault(labels, 0.0)
        elif self.kind == "summary":
            self.sums.setdefault(labels, 0.0)
            self.counts.setdefault(labels, 0.0)
        else:
            self.values.setdefault(labels, 0.0)

    def observe(self, labels: Labels, values: Iterable[float]) -> None:
        self.touch(labels)
        if self.kind == "summary":
            for v in values:
                self.sums[labels] += v
                self.counts[labels] += 1
            return
        counts = self.hist[labels]
        bounds = self.bounds(labels)
        for v in values:
            counts[bisect.bisect_left(bounds, v)] += 1
            self.sums[labels] += v
            self.counts[labels] += 1

    def drop(self, predicate: Callable[[Labels], bool]) -> None:
        for store in (self.values, self.hist, self.sums, self.counts):
            for key in [k for k in store if predicate(k)]:
                del store[key]

    def render(self, keep: Callable[[Labels], bool] | None = None) -> list[str]:
        if keep is not None:
            part = Family(self.name, self.kind, self.help, self.buckets, self.le_format,
                          self.value_format, self.sample_name, self.bucket_fn)
            for store, target in ((self.values, part.values), (self.hist, part.hist),
                                  (self.sums, part.sums), (self.counts, part.counts)):
                target.update({k: v for k, v in store.items() if keep(k)})
            return part.render()
        if not (self.values or self.counts):
            return []
        fmt = self.value_format
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        if self.kind == "histogram":
            for labels in sorted(self.hist):
                cumulative = 0.0
                for bound, n in zip([*self.bounds(labels), math.inf], self.hist[labels],
                                    strict=True):
                    cumulative += n
                    le = f'le="{self.le_format(bound)}"'
                    lines.append(f"{self.name}_bucket{_labels(labels, le)} {fmt(cumulative)}")
                lines.append(f"{self.name}_sum{_labels(labels)} {fmt(self.sums[labels])}")
                lines.append(f"{self.name}_count{_labels(labels)} {fmt(self.counts[labels])}")
        elif self.kind == "summary":
            for labels in sorted(self.counts):
                lines.append(f"{self.name}_count{_labels(labels)} {fmt(self.counts[labels])}")
                lines.append(f"{self.name}_sum{_labels(labels)} {fmt(self.sums[labels])}")
        else:
            sample = self.sample_name or self.name
            for labels in sorted(self.values):
                lines.append(f"{sample}{_labels(labels)} {fmt(self.values[labels])}")
        return lines


class Exposition:
    """The families of one /metrics endpoint, rendered in registration order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.families: dict[str, Family] = {}

    def add(self, family: Family) -> Family:
        self.families[family.name] = family
        return family

    def render(self, keep: Callable[[Labels], bool] | None = None) -> str:
        """The text exposition (only the series `keep` accepts, when given)."""
        with self.lock:
            lines: list[str] = []
            for family in self.families.values():
                lines.extend(family.render(keep))
        return "\n".join(lines) + ("\n" if lines else "")


def labels(**pairs: str) -> Labels:
    """Keyword labels in the order written (the order the stack writes them)."""
    return tuple((k, str(v)) for k, v in pairs.items())
