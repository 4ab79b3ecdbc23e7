"""Read the metrics contract (docs/metrics.md) into data.

The contract is markdown tables with the header
`| metric | type | labels | unit | emitted by | description |`. A metric's *section* is the `##`
heading it sits under; everything except the "not emitted by the demo" section is emitted by
`python -m demo`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CONTRACT_PATH = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
HEADER = ("metric", "type", "labels", "unit", "emitted by", "description")
TYPES = ("counter", "gauge", "histogram", "summary", "info")
NOT_IN_DEMO_SECTION = "Exporter metrics from real exporters (not emitted by the demo)"
SIMULATED_SECTION = "Exporter metrics simulated by the demo"

_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class ContractError(ValueError):
    """The contract file is malformed (message names the line)."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: str
    labels: tuple[str, ...]
    unit: str
    emitted_by: str
    description: str
    section: str  # the `##` heading
    line: int

    @property
    def emitted_by_demo(self) -> bool:
        return self.section != NOT_IN_DEMO_SECTION

    @property
    def simulated(self) -> bool:
        return self.section == SIMULATED_SECTION


def _cells(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]


def parse_contract(text: str, source: str = "docs/metrics.md") -> dict[str, MetricSpec]:
    """All metrics of the contract by name; ContractError on a malformed row or a duplicate."""
    specs: dict[str, MetricSpec] = {}
    section = ""
    in_table = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            section = line[3:].strip()
            in_table = False
            continue
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if tuple(c.lower() for c in cells) == HEADER:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= set("-: "):
            continue
        where = f"{source}:{lineno}"
        if len(cells) != len(HEADER):
            raise ContractError(f"{where}: expected {len(HEADER)} columns, got {len(cells)}")
        name_cell, type_, labels_cell, unit, emitted_by, description = cells
        m = re.fullmatch(r"`([^`]+)`", name_cell)
        if not m or not _NAME_RE.match(m.group(1)):
            raise ContractError(f"{where}: metric name must be one backticked name: {name_cell}")
        name = m.group(1)
        if type_ not in TYPES:
            raise ContractError(f"{where}: {name}: type {type_!r} is not one of {TYPES}")
        if labels_cell in ("—", "-", ""):
            labels: tuple[str, ...] = ()
        else:
            labels = tuple(re.findall(r"`([^`]+)`", labels_cell))
            rest = re.sub(r"`[^`]+`", "", labels_cell).replace(",", "").strip()
            if not labels or rest:
                raise ContractError(f"{where}: {name}: labels must be backticked names "
                                    f"separated by commas: {labels_cell}")
        for label in labels:
            if not _LABEL_RE.match(label):
                raise ContractError(f"{where}: {name}: bad label name {label!r}")
        if name in specs:
            raise ContractError(f"{where}: {name} is listed twice (first at line "
                                f"{specs[name].line})")
        specs[name] = MetricSpec(name, type_, labels, unit, emitted_by, description, section,
                                 lineno)
    return specs


def load_contract(path: Path | str = CONTRACT_PATH) -> dict[str, MetricSpec]:
    path = Path(path)
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))


def demo_metrics(path: Path | str = CONTRACT_PATH) -> dict[str, MetricSpec]:
    """The metrics `python -m demo` must emit."""
    return {n: s for n, s in load_contract(path).items() if s.emitted_by_demo}


def exposition_families(text: str) -> dict[str, tuple[str, list[frozenset[str]]]]:
    """Parse a /metrics exposition: name (counters with `_total`) -> (type, label sets).

    One label set per sample (`le`/`quantile` dropped, `_created` samples ignored).
    """
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, tuple[str, list[frozenset[str]]]] = {}
    for fam in text_string_to_metric_families(text):
        name = fam.name + "_total" if fam.type == "counter" else fam.name
        samples = [frozenset(s.labels) - {"le", "quantile"} for s in fam.samples
                   if not s.name.endswith("_created")]
        out[name] = (fam.type, samples)
    return out


def compare_exposition(text: str, specs: dict[str, MetricSpec]) -> list[str]:
    """Differences between an exposition and the contract, one line each (empty = agree).

    Both directions: every listed metric is present with at least one sample, its type and
    exactly its labels on every sample; nothing unlisted is exposed.
    """
    seen = exposition_families(text)
    problems = []
    for name, spec in specs.items():
        if name not in seen or not seen[name][1]:
            problems.append(f"{name}: listed in the contract, not emitted")
            continue
        type_, samples = seen[name]
        if type_ != spec.type:
            problems.append(f"{name}: emitted as {type_}, contract says {spec.type}")
        for labels in samples:
            if labels != set(spec.labels):
                problems.append(f"{name}: emitted with labels {sorted(labels)}, contract says "
                                f"{list(spec.labels)}")
                break
    for name in sorted(set(seen) - set(specs)):
        problems.append(f"{name}: emitted but not in the contract")
    return problems
