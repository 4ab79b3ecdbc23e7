"""The demo's series under the label names of the monitoring config (monitoring.yaml).

The demo builds its series with the contract's label names (`model`, `version`, `feature`, ...);
`renamed()` wraps a registry so every exposition (the /metrics page, a Pushgateway push) carries
the configured names instead, e.g. `model_name` and `model_version`. One narrow hook: the rest of
the demo never needs to know the config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ml_monitoring.config import LABELS, POD_LABELS, MonitoringConfig, load_config


def label_map(cfg: MonitoringConfig | None = None) -> dict[str, str]:
    """Contract label name -> configured name, for the labels that differ."""
    cfg = cfg or load_config()
    mapping = {role: getattr(cfg.labels, role) for role in LABELS}
    mapping.update(dict(zip(POD_LABELS, cfg.labels.pod, strict=False)))
    return {k: v for k, v in mapping.items() if k != v}


class _Renaming(Collector):
    def __init__(self, inner: CollectorRegistry, mapping: Mapping[str, str]) -> None:
        self._inner = inner
        self._mapping = dict(mapping)

    def collect(self) -> Iterator[Metric]:
        rename = self._mapping
        for family in self._inner.collect():
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = [s._replace(labels={rename.get(k, k): v for k, v in s.labels.items()})
                           for s in family.samples]
            yield out


def renamed(registry: CollectorRegistry, mapping: Mapping[str, str] | None = None) -> CollectorRegistry:
    """`registry` as served under the configured label names (itself when nothing is renamed)."""
    mapping = label_map() if mapping is None else mapping
    if not mapping:
        return registry
    wrapper = CollectorRegistry(auto_describe=False)
    wrapper.register(_Renaming(registry, mapping))
    return wrapper


def grouping_key(key: Mapping[str, str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """A Pushgateway grouping key under the configured label names."""
    mapping = label_map() if mapping is None else mapping
    return {mapping.get(k, k): v for k, v in key.items()}
