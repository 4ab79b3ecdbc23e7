"""Generate OpenMetrics history of the metrics contract (docs/metrics.md) for backfilling.

Output is fed to `promtool tsdb create-blocks-from openmetrics`. Cardinality follows the
contract's labels: `models` × `versions` serving series, `features` per model for the drift and
input-validation series, simulated exporter series per serving pod and per node.

Speed: values are not computed per series. A handful of value patterns (counter increments,
ratios, histogram buckets…) are rendered once as " <value> <timestamp>\\n" suffixes, and each
series is written as `prefix + prefix.join(suffixes)` — one C-level join per series. Series of
the same kind share one of `PATTERNS` patterns (picked by a hash of the labels), which is fine
for query cost (what Prometheus reads does not depend on the values) but not for realism of
the curves.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PATTERNS = 6
LATENCY_BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                   "10", "+Inf")
SCORE_BUCKETS = ("0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1", "+Inf")
QUEUE_BUCKETS = ("0.001", "0.01", "0.1", "0.5", "1", "5", "+Inf")
DELAY_BUCKETS = ("30", "120", "600", "3600", "14400", "86400", "+Inf")
OUTLIER_BUCKETS = ("1", "5", "10", "50", "100", "1000", "+Inf")
QUALITY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
ERROR_TYPES = ("timeout", "invalid_input", "model_exception", "dependency_unavailable")
DRIFT_METHODS = ("psi", "ks", "jensenshannon")
GROUPS = ("under_40", "40_to_64", "65_plus")
CLASSES = ("positive", "negative")
PODS_PER_NODE = 4


@dataclass(frozen=True)
class Scale:
    models: int = 50
    versions: int = 3
    features: int = 30
    hours: float = 24.0
    step_s: int = 15

    @property
    def steps(self) -> int:
        return int(self.hours * 3600 // self.step_s)

    def describe(self) -> str:
        return (f"{self.models} models × {self.versions} versions × {self.features} features, "
                f"{self.hours:g} h at {self.step_s} s")


@dataclass(frozen=True)
class Family:
    name: str  # the OpenMetrics family name (counters without `_total`)
    type: str  # counter | gauge | histogram
    kind: str  # value pattern: rate, ratio, score, small, const1, timestamp, bool, count
    buckets: tuple[str, ...] = ()


@dataclass
class Stats:
    series: int = 0
    samples: int = 0
    bytes: int = 0


def _labels(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


class _Patterns:
    """Pre-rendered value suffixes per (kind, pattern index)."""

    def __init__(self, start: int, scale: Scale) -> None:
        self.ts = [f" {start + i * scale.step_s}\n" for i in range(scale.steps)]
        self.step = scale.step_s
        self.start = start
        self._cache: dict[tuple[str, int, float], list[str]] = {}

    def suffixes(self, kind: str, index: int, frac: float = 1.0) -> list[str]:
        key = (kind, index, frac)
        if key not in self._cache:
            values = self._values(kind, index, frac)
            self._cache[key] = [" " + v + t for v, t in zip(values, self.ts, strict=True)]
        return self._cache[key]

    def _values(self, kind: str, index: int, frac: float) -> list[str]:
        rng = random.Random(f"{kind}-{index}")
        n = len(self.ts)
        if kind in ("rate", "bucket"):  # counters: cumulative, monotone; buckets share the base
            base_rate = (5 + 20 * rng.random()) * self.step
            total, out = 0.0, []
            for i in range(n):
                wave = 1 + 0.3 * math.sin(i / 240 + index)
                total += base_rate * wave * (0.8 + 0.4 * rng.random())
                out.append(f"{int(total * frac)}")
            return out
        if kind == "sum":
            base = self.suffixes("rate", index)
            return [f"{int(s.split()[0]) * 0.07:.3f}" for s in base]
        if kind == "ratio":
            level = 0.85 + 0.1 * rng.random()
            return [f"{min(1.0, level + 0.03 * math.sin(i / 300) + 0.01 * rng.random()):.4f}"
                    for i in range(n)]
        if kind == "score":
            return [f"{0.05 + 0.2 * abs(math.sin(i / 500 + index)):.4f}" for i in range(n)]
        if kind == "restarts":  # a counter that rarely moves
            return [f"{(i + 97 * index) // 1500}" for i in range(n)]
        if kind == "small":
            return [f"{int(10 * rng.random())}" for _ in range(n)]
        if kind == "bool":
            return ["1" if (i // 480 + index) % 7 == 0 else "0" for i in range(n)]
        if kind == "const1":
            return ["1"] * n
        if kind == "timestamp":
            return [f"{self.start - 3600 * (index + 1)}"] * n
        if kind == "lagts":  # a timestamp that keeps up with time (last run, last success)
            return [f"{self.start + (i - i % 60) * self.step}" for i in range(n)]
        if kind == "count":
            return [f"{1000 + int(500 * rng.random())}" for _ in range(n)]
        raise ValueError(f"unknown value kind {kind!r}")


def _pattern_of(labels: str) -> int:
    return int(hashlib.blake2s(labels.encode(), digest_size=2).hexdigest(), 16) % PATTERNS


def _families_and_series(scale: Scale) -> Iterator[tuple[Family, list[dict[str, str]]]]:
    """Every family of the contract with the label sets of its series."""
    mv, m, pods, nodes = [], [], [], []
    for mi in range(scale.models):
        model = f"model-{mi:02d}"
        m.append({"job": "ml-model", "model": model})
        for vi in range(scale.versions):
            version = f"v{vi + 1}"
            mv.append({"job": "ml-model", "instance": f"{model}-{version}-0:8000", "model": model,
                       "version": version})
            node = f"gpu-node-{len(pods) // PODS_PER_NODE + 1}"
            pods.append({"namespace": "ml-serving", "pod": f"{model}-{version}-0",
                         "container": model, "node": node})
    nodes = sorted({p["node"] for p in pods})

    def cross(base: list[dict[str, str]], **dims: tuple[str, ...]) -> list[dict[str, str]]:
        out = base
        for key, values in dims.items():
            out = [{**b, key: v} for b in out for v in values]
        return out

    def fam(name: str, type_: str, kind: str, series: list[dict[str, str]],
            buckets: tuple[str, ...] = ()) -> tuple[Family, list[dict[str, str]]]:
        return Family(name, type_, kind, buckets), series

    features = tuple(f"feature_{i:02d}" for i in range(scale.features))
    stages = ("production", "canary", "retired")
    # --- model service, per model and version
    yield fam("ml_inference_requests", "counter", "rate", cross(mv, status=("success", "error")))
    yield fam("ml_predictions", "counter", "rate", mv)
    yield fam("ml_inference_duration_seconds", "histogram", "bucket", mv, LATENCY_BUCKETS)
    yield fam("ml_inference_in_progress_requests", "gauge", "small", mv)
    yield fam("ml_model_quality_ratio", "gauge", "ratio", cross(mv, metric=QUALITY_METRICS))
    yield fam("ml_model_baseline_quality_ratio", "gauge", "ratio",
              cross(mv, metric=QUALITY_METRICS))
    yield fam("ml_model_quality_window_samples", "gauge", "count", mv)
    yield fam("ml_labeled_predictions", "counter", "rate", cross(mv, correct=("true", "false")))
    yield fam("ml_classification_outcomes", "counter", "rate",
              cross(mv, **{"class": CLASSES}, outcome=("tp", "fp", "tn", "fn")))
    yield fam("ml_ground_truth_received", "counter", "rate", mv)
    yield fam("ml_concept_drift_score", "gauge", "score", mv)
    yield fam("ml_concept_drift_detected", "gauge", "bool", mv)
    yield fam("ml_prediction_score", "histogram", "bucket", mv, SCORE_BUCKETS)
    yield fam("ml_predicted_class", "counter", "rate", cross(mv, **{"class": CLASSES}))
    yield fam("ml_prediction_drift_score", "gauge", "score",
              cross(mv, method=("psi", "jensenshannon")))
    yield fam("ml_prediction_errors", "counter", "rate", cross(mv, error_type=ERROR_TYPES))
    yield fam("ml_group_predictions", "counter", "rate",
              cross(mv, attribute=("age_band",), group=GROUPS,
                    outcome=("favorable", "unfavorable")))
    for name in ("ml_group_favorable_outcome_ratio", "ml_fairness_disparate_impact_ratio"):
        yield fam(name, "gauge", "ratio", cross(mv, attribute=("age_band",), group=GROUPS))
    yield fam("ml_fairness_parity_difference", "gauge", "score",
              cross(mv, attribute=("age_band",), group=GROUPS))
    yield fam("ml_predictions_logged", "counter", "rate", mv)
    yield fam("ml_feedback", "counter", "rate", cross(mv, feedback=("positive", "negative")))
    yield fam("ml_prediction_overrides", "counter", "rate", mv)
    info = [{**s, "stage": stages[int(s["version"][1:]) % 3], "approved": "true",
             "framework": "sklearn", "algorithm": "gbm", "namespace": "ml-serving",
             "pod": f"{s['model']}-{s['version']}-0"} for s in mv]
    yield fam("ml_model_info", "gauge", "const1", info)
    yield fam("ml_model_deployed_timestamp_seconds", "gauge", "timestamp", mv)
    yield fam("ml_model_traffic_share_ratio", "gauge", "ratio", mv)
    ev = [{**s, "job": "ml_evaluation"} for s in mv]
    yield fam("ml_evaluation_quality_ratio", "gauge", "ratio", cross(ev, metric=QUALITY_METRICS))
    yield fam("ml_evaluation_samples", "gauge", "count", ev)
    # --- model service, per model (and feature)
    yield fam("ml_inference_queued_requests", "gauge", "small", m)
    yield fam("ml_inference_queue_duration_seconds", "histogram", "bucket", m, QUEUE_BUCKETS)
    yield fam("ml_inference_max_concurrency", "gauge", "count", m)
    yield fam("ml_ground_truth_delay_seconds", "histogram", "bucket", m, DELAY_BUCKETS)
    mf = cross(m, feature=features)
    yield fam("ml_feature_drift_score", "gauge", "score", cross(mf, method=DRIFT_METHODS))
    yield fam("ml_feature_drift_threshold", "gauge", "score", cross(mf, method=DRIFT_METHODS))
    yield fam("ml_feature_drift_pvalue", "gauge", "ratio", mf)
    yield fam("ml_feature_drift_detected", "gauge", "bool", cross(mf, method=DRIFT_METHODS))
    yield fam("ml_input_validation_failures", "counter", "rate",
              cross(mf, reason=("missing", "out_of_range")))
    for name in ("ml_drifted_features", "ml_drift_window_samples"):
        yield fam(name, "gauge", "count", m)
    yield fam("ml_drifted_features_ratio", "gauge", "score", m)
    yield fam("ml_dataset_drift_detected", "gauge", "bool", m)
    yield fam("ml_drift_last_run_timestamp_seconds", "gauge", "lagts", m)
    yield fam("ml_target_drift_score", "gauge", "score", cross(m, method=("psi", "jensenshannon")))
    yield fam("ml_outliers", "counter", "rate", cross(m, detector=("mahalanobis",)))
    yield fam("ml_outlier_score", "histogram", "bucket", cross(m, detector=("mahalanobis",)),
              OUTLIER_BUCKETS)
    yield fam("ml_cost_budget_usd_per_hour", "gauge", "count", m)
    em = [{**s, "job": "ml_evaluation"} for s in m]
    yield fam("ml_evaluation_duration_seconds", "gauge", "small", em)
    for name in ("ml_evaluation_last_success_timestamp_seconds",
                 "ml_evaluation_window_end_timestamp_seconds"):
        yield fam(name, "gauge", "lagts", em)
    yield fam("ml_evaluation_last_failure_timestamp_seconds", "gauge", "timestamp", em)
    yield fam("ml_evaluation_schedule_interval_seconds", "gauge", "count", em)
    # --- simulated exporters, per serving pod and per node
    gpu = [{"job": "dcgm-exporter", "gpu": "0", "UUID": f"GPU-{i:04d}", "device": "nvidia0",
            "modelName": "NVIDIA A10G", "Hostname": p["node"], "namespace": p["namespace"],
            "pod": p["pod"], "container": p["container"]} for i, p in enumerate(pods)]
    for name in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
                 "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP"):
        yield fam(name, "gauge", "count", gpu)
    yield fam("DCGM_FI_DEV_XID_ERRORS", "gauge", "small", gpu)
    cadv = [{"job": "cadvisor", "namespace": p["namespace"], "pod": p["pod"],
             "container": p["container"], "image": "registry/ml-serving:1"} for p in pods]
    for name in ("container_cpu_usage_seconds", "container_cpu_cfs_periods",
                 "container_cpu_cfs_throttled_periods"):
        yield fam(name, "counter", "rate", cadv)
    yield fam("container_memory_working_set_bytes", "gauge", "count", cadv)
    ksm = [{"job": "kube-state-metrics", **p} for p in pods]
    for name in ("kube_pod_container_resource_requests", "kube_pod_container_resource_limits"):
        yield fam(name, "gauge", "count", cross(ksm, resource=("cpu", "memory", "nvidia_com_gpu")))
    ksm_pod = [{k: v for k, v in s.items() if k != "node"} for s in ksm]
    yield fam("kube_pod_container_status_restarts", "counter", "restarts", ksm_pod)
    yield fam("kube_pod_container_status_last_terminated_reason", "gauge", "bool",
              cross(ksm_pod, reason=("OOMKilled", "Error", "Completed")))
    oc_pods = [{"job": "opencost", **p} for p in pods]
    for name in ("container_cpu_allocation", "container_memory_allocation_bytes",
                 "container_gpu_allocation"):
        yield fam(name, "gauge", "count", oc_pods)
    oc_nodes = [{"job": "opencost", "node": n, "instance_type": "g5.xlarge", "region": "eu-west-1",
                 "provider_id": f"i-{i:08x}"} for i, n in enumerate(nodes)]
    for name in ("node_cpu_hourly_cost", "node_ram_hourly_cost", "node_gpu_hourly_cost",
                 "node_total_hourly_cost", "node_gpu_count"):
        yield fam(name, "gauge", "ratio", oc_nodes)
    ne = [{"job": "node", "instance": f"{n}:9100"} for n in nodes]
    yield fam("node_cpu_seconds", "counter", "rate",
              cross(ne, cpu=("0", "1", "2", "3"),
                    mode=("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")))
    for name in ("node_load1", "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes"):
        yield fam(name, "gauge", "count", ne)
    fs = cross(ne, device=("/dev/nvme0n1p1",), fstype=("ext4",), mountpoint=("/",))
    for name in ("node_filesystem_avail_bytes", "node_filesystem_size_bytes"):
        yield fam(name, "gauge", "count", fs)
    for name in ("node_network_receive_bytes", "node_network_transmit_bytes"):
        yield fam(name, "counter", "rate", cross(ne, device=("eth0",)))


def count_series(scale: Scale) -> int:
    return sum(len(series) * (len(f.buckets) + 2 if f.type == "histogram" else 1)
               for f, series in _families_and_series(scale))


def write_openmetrics(out: IO[str], scale: Scale, end: int) -> Stats:
    """Write `scale.hours` of history ending at `end` (Unix seconds) as OpenMetrics text."""
    start = end - scale.steps * scale.step_s
    patterns = _Patterns(start, scale)
    stats = Stats()

    def emit(sample_name: str, labels: str, suffixes: list[str]) -> None:
        prefix = sample_name + labels
        text = prefix + prefix.join(suffixes)
        out.write(text)
        stats.series += 1
        stats.samples += len(suffixes)
        stats.bytes += len(text)

    for family, series in _families_and_series(scale):
        out.write(f"# TYPE {family.name} {family.type}\n")
        for pairs in series:
            labels = _labels(pairs)
            index = _pattern_of(labels)
            if family.type == "counter":
                emit(family.name + "_total", labels, patterns.suffixes(family.kind, index))
            elif family.type == "histogram":
                n = len(family.buckets)
                for i, le in enumerate(family.buckets):
                    frac = 1.0 if le == "+Inf" else round((i + 1) / n, 3)
                    emit(family.name + "_bucket", _labels({**pairs, "le": le}),
                         patterns.suffixes("bucket", index, frac))
                emit(family.name + "_sum", labels, patterns.suffixes("sum", index))
                emit(family.name + "_count", labels, patterns.suffixes("bucket", index))
            else:
                emit(family.name, labels, patterns.suffixes(family.kind, index))
    out.write("# EOF\n")
    return stats


def write_file(path: Path, scale: Scale, end: int) -> Stats:
    with path.open("w", encoding="utf-8", buffering=1 << 20) as fh:
        return write_openmetrics(fh, scale, end)
