"""ml_monitoring benchmarks: overhead per prediction, and drift on a 10,000-row window.

1. Overhead: one prediction of a 30-feature model through `monitor.track()` (validation,
   latency, in-flight, class, score, drift buffer, pending ground truth) against the same call
   instrumented with bare prometheus_client objects only (in-flight gauge, latency histogram,
   request / prediction / class counters, score histogram). Each call is timed on its own
   (perf_counter_ns), in alternating blocks so both see the same machine noise. The model call
   itself is not included (it is the same in both). The work the library moves to its refresh
   thread (binning buffered rows, outliers, window gauges) is timed separately, per row.
2. Drift: 10,000 live rows x 30 features (5 shifted, 3 rescaled) against a 10,000-row
   reference. The library (reference profile once; then ingest the window and compute, and
   compute alone: what a refresh costs) against scipy directly on the raw arrays (ks_2samp and
   decile-binned PSI / Jensen-Shannon per feature, the computation a service without the
   library would run) and, when it installs, Evidently's data-drift report in its own
   virtualenv (.venv-bench-evidently, created on first use; `--no-evidently` skips it).
   Verdicts per feature and method are compared: they must be the same.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import REPO_ROOT, log

FEATURES = 30
THRESHOLD = 0.2
METHODS = ("psi", "ks", "jensenshannon")
EVIDENTLY_VENV = REPO_ROOT / ".venv-bench-evidently"
# Evidently 0.7 imports a pandas internal that pandas 3 removed
EVIDENTLY_REQUIREMENTS = ("evidently>=0.7", "pandas<3")


# ----------------------------------------------------------------------------- overhead
def _bare(registry):
    from prometheus_client import Counter, Gauge, Histogram

    from ml_monitoring.metrics import LATENCY_BUCKETS, SCORE_BUCKETS

    mv = ("model", "version")
    req = Counter("ml_inference_requests", "d", (*mv, "status"), registry=registry).labels(
        "m", "v1", "success")
    pred = Counter("ml_predictions", "d", mv, registry=registry).labels("m", "v1")
    dur = Histogram("ml_inference_duration_seconds", "d", mv, buckets=LATENCY_BUCKETS,
                    registry=registry).labels("m", "v1")
    inflight = Gauge("ml_inference_in_progress_requests", "d", mv, registry=registry).labels(
        "m", "v1")
    score = Histogram("ml_prediction_score", "d", mv, buckets=SCORE_BUCKETS,
                      registry=registry).labels("m", "v1")
    cls = Counter("ml_predicted_class", "d", (*mv, "class"), registry=registry)
    classes = [cls.labels("m", "v1", c) for c in ("a", "b")]

    def call(row, proba):
        inflight.inc()
        t0 = time.perf_counter()
        k = 0 if proba[0] >= proba[1] else 1
        req.inc()
        pred.inc()
        dur.observe(time.perf_counter() - t0)
        score.observe(proba[k])
        classes[k].inc()
        inflight.dec()

    return call


def overhead(n: int = 20000, block: int = 1000) -> dict:
    from prometheus_client import CollectorRegistry

    from ml_monitoring import Monitoring

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(FEATURES)]
    reference = rng.normal(size=(5000, FEATURES))
    X = rng.normal(size=(n, FEATURES))
    rows = [dict(zip(names, r, strict=True)) for r in X.tolist()]
    p = rng.random(n)
    probas = [(float(a), 1.0 - float(a)) for a in p]
    y = rng.integers(0, 2, size=2000)
    baseline = (y, np.column_stack([1 - rng.random(2000), rng.random(2000)]))
    bare = _bare(CollectorRegistry())
    hub = Monitoring(CollectorRegistry(), background=False)
    mon = hub.monitor("m", "v1", features=names, classes=["a", "b"], reference=reference,
                      baseline=baseline)

    def lib(row, proba):
        with mon.track(row) as t:
            t.set(proba=proba)

    for i in range(min(2000, n)):  # warm-up (caches, first series)
        bare(rows[i], probas[i])
        lib(rows[i], probas[i])
    hub.refresh()
    times = {"bare": [], "library": []}
    refresh_ns = 0
    clock = time.perf_counter_ns
    for start in range(0, n, block):
        for name, fn in (("bare", bare), ("library", lib)):
            out = times[name]
            for i in range(start, min(start + block, n)):
                t0 = clock()
                fn(rows[i], probas[i])
                out.append(clock() - t0)
        t0 = clock()
        hub.refresh()  # the refresh thread's work for this block
        refresh_ns += clock() - t0
    result = {}
    for name, ns in times.items():
        us = np.asarray(ns) / 1000.0
        result[name] = {"median": float(np.median(us)), "p99": float(np.percentile(us, 99))}
    result["overhead"] = {k: result["library"][k] - result["bare"][k] for k in ("median", "p99")}
    result["refresh_per_row"] = refresh_ns / n / 1000.0
    result["n"] = n
    return result


# ----------------------------------------------------------------------------- drift
def drift_data(rows: int = 10000, seed: int = 1):
    rng = np.random.default_rng(seed)
    kinds = [rng.normal, rng.exponential, rng.uniform]
    reference = np.column_stack([kinds[f % 3](size=rows * 2)[:rows] for f in range(FEATURES)])
    live = np.column_stack([kinds[f % 3](size=rows * 2)[rows:] for f in range(FEATURES)])
    sd = reference.std(axis=0)
    shifted, rescaled = [1, 7, 12, 20, 28], [4, 15, 25]
    for f in shifted:
        live[:, f] += 0.8 * sd[f]
    for f in rescaled:
        live[:, f] = reference[:, f].mean() + (live[:, f] - reference[:, f].mean()) * 1.8
    return reference, live, set(shifted) | set(rescaled)


def _verdicts(scores: dict[str, np.ndarray]) -> dict[str, list[int]]:
    return {m: [int(f) for f in np.flatnonzero(np.asarray(scores[m]) >= THRESHOLD)]
            for m in METHODS}


def library_drift(reference, live, runs: int) -> dict:
    from ml_monitoring.drift import DriftWindow, Profile

    names = [f"f{i}" for i in range(FEATURES)]
    t_profile, t_full, t_compute = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        profile = Profile.from_data(reference, names)
        t_profile.append(time.perf_counter() - t0)
        window = DriftWindow(profile, len(live))
        t0 = time.perf_counter()
        window.add(live)
        s = window.scores()
        t_full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        s = window.scores()
        t_compute.append(time.perf_counter() - t0)
    verdicts = _verdicts({"psi": s.psi, "ks": s.ks, "jensenshannon": s.jensenshannon})
    verdicts["ks_pvalue"] = [int(f) for f in np.flatnonzero(s.ks_pvalue < 0.05)]
    return {"profile": statistics.median(t_profile), "ingest_compute": statistics.median(t_full),
            "compute": statistics.median(t_compute), "verdicts": verdicts}


def scipy_drift(reference, live, runs: int) -> dict:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    def run():
        out = {m: [] for m in (*METHODS, "ks_pvalue")}
        for f in range(FEATURES):
            ref, cur = reference[:, f], live[:, f]
            edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
            a = np.bincount(np.searchsorted(edges, cur, "right"), minlength=len(edges) + 1)
            e = np.bincount(np.searchsorted(edges, ref, "right"), minlength=len(edges) + 1)
            a = np.clip(a / a.sum(), 1e-4, None)
            e = np.clip(e / e.sum(), 1e-4, None)
            a, e = a / a.sum(), e / e.sum()
            out["psi"].append(float(np.sum((a - e) * np.log(a / e))))
            out["jensenshannon"].append(float(jensenshannon(a, e, base=2)))
            res = ks_2samp(cur, ref, method="asymp")
            out["ks"].append(float(res.statistic))
            out["ks_pvalue"].append(float(res.pvalue))
        return out

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        scores = run()
        times.append(time.perf_counter() - t0)
    verdicts = _verdicts(scores)
    verdicts["ks_pvalue"] = [int(f) for f in np.flatnonzero(np.asarray(scores["ks_pvalue"]) < 0.05)]
    return {"time": statistics.median(times), "verdicts": verdicts}


EVIDENTLY_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from evidently import Dataset, DataDefinition, Report
from evidently.presets import DataDriftPreset
z = np.load(sys.argv[1])
names = [f"f{i}" for i in range(z["reference"].shape[1])]
ref = pd.DataFrame(z["reference"], columns=names)
cur = pd.DataFrame(z["live"], columns=names)
out = {}
for method in ("psi", "ks", "jensenshannon"):
    times = []
    for _ in range(int(sys.argv[2])):
        t0 = time.perf_counter()
        definition = DataDefinition(numerical_columns=names)
        report = Report([DataDriftPreset(method=method, threshold=%THRESHOLD%)])
        result = report.run(Dataset.from_pandas(cur, data_definition=definition),
                            Dataset.from_pandas(ref, data_definition=definition))
        times.append(time.perf_counter() - t0)
    values = {}
    for metric in result.dict()["metrics"]:
        name = metric.get("metric_name", "")
        if "ValueDrift" in name and "column=" in name:
            col = name.split("column=")[1].split(",")[0].rstrip(")")
            values[col] = metric["value"]
    out[method] = {"time": sorted(times)[len(times) // 2], "values": values}
print(json.dumps(out))
""".replace("%THRESHOLD%", str(THRESHOLD))


def _evidently_python() -> Path | None:
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        log("drift bench: installing Evidently in .venv-bench-evidently (once)")
        made = subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)],
                              capture_output=True, text=True)
        if made.returncode != 0:
            return None
        inst = subprocess.run([str(python), "-m", "pip", "install", "-q",
                               *EVIDENTLY_REQUIREMENTS],
                              capture_output=True, text=True, timeout=1800)
        if inst.returncode != 0:
            log(f"drift bench: Evidently did not install: {inst.stderr.strip()[-300:]}")
            return None
    return python


def evidently_drift(reference, live, runs: int) -> dict | None:
    python = _evidently_python()
    if python is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, reference=reference, live=live)
        script = Path(tmp) / "ev.py"
        script.write_text(EVIDENTLY_SCRIPT)
        r = subprocess.run([str(python), str(script), str(data), str(runs)],
                           capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        log(f"drift bench: Evidently run failed: {r.stderr.strip()[-500:]}")
        return None
    out = json.loads(r.stdout.strip().splitlines()[-1])
    verdicts = {}
    for method, res in out.items():
        values = np.array([res["values"].get(f"f{i}", np.nan) for i in range(FEATURES)])
        # Evidently reports a p-value for ks (drift when < 0.05), a distance otherwise
        if method == "ks":
            verdicts["ks_pvalue"] = [int(f) for f in np.flatnonzero(values < 0.05)]
        else:
            verdicts[method] = [int(f) for f in np.flatnonzero(values >= THRESHOLD)]
    return {"time": {m: res["time"] for m, res in out.items()}, "verdicts": verdicts}


# ----------------------------------------------------------------------------- report
def run(runs: int, quick: bool = False, with_evidently: bool = True) -> tuple[str, dict]:
    n = 5000 if quick else 20000
    log(f"instrumentation bench: overhead per prediction ({n} calls each)")
    ov = overhead(n)
    rows = 2000 if quick else 10000
    reference, live, truth = drift_data(rows)
    log(f"instrumentation bench: drift on {rows} rows x {FEATURES} features")
    lib = library_drift(reference, live, runs)
    sp = scipy_drift(reference, live, runs)
    ev = evidently_drift(reference, live, runs) if with_evidently else None
    lines = [
        f"Overhead per prediction, {FEATURES} features, drift on ({ov['n']} calls each, "
        "µs per call, model call excluded):",
        "",
        "| instrumentation | median µs | p99 µs |",
        "|---|---|---|",
        f"| bare prometheus_client (6 instruments) | {ov['bare']['median']:.1f} | "
        f"{ov['bare']['p99']:.1f} |",
        f"| ml_monitoring `track()` | {ov['library']['median']:.1f} | "
        f"{ov['library']['p99']:.1f} |",
        f"| **overhead** (difference) | **{ov['overhead']['median']:.1f}** | "
        f"**{ov['overhead']['p99']:.1f}** |",
        "",
        f"Moved off the request path (refresh thread: binning, outliers, window gauges): "
        f"{ov['refresh_per_row']:.1f} µs per row. Target: overhead ≤ 20 µs median.",
        "",
        f"Drift on a {rows:,}-row window × {FEATURES} features against a {rows:,}-row reference "
        f"(median of {runs}; drifted features by construction: {sorted(truth)}):",
        "",
        "| computation | seconds | vs library compute | vs library ingest + compute |",
        "|---|---|---|---|",
        f"| ml_monitoring: compute from the window's counts (what a refresh costs) | "
        f"{lib['compute']:.4f} | 1× | |",
        f"| ml_monitoring: ingest {rows:,} rows + compute | {lib['ingest_compute']:.4f} | | 1× |",
        f"| ml_monitoring: reference profile (once per reference) | {lib['profile']:.4f} | | |",
        f"| scipy directly (ks_2samp + decile PSI / JS per feature) | {sp['time']:.4f} | "
        f"{sp['time'] / lib['compute']:.0f}× | {sp['time'] / lib['ingest_compute']:.1f}× |",
    ]
    if ev is not None:
        total = sum(ev["time"].values())
        lines.append(f"| Evidently DataDriftPreset, psi + ks + jensenshannon (3 reports) | "
                     f"{total:.4f} | {total / lib['compute']:.0f}× | "
                     f"{total / lib['ingest_compute']:.1f}× |")
    else:
        lines.append("| Evidently | not measured (not installable here, or --no-evidently) | | |")
    lines += ["", "Verdicts: drifted features (score at or above 0.2; for `ks p < 0.05`, the KS "
              "test's p-value below 0.05, Evidently's KS criterion):", "",
              "| method | ml_monitoring | scipy | Evidently | same |", "|---|---|---|---|---|"]
    same_all = True
    for m in (*METHODS, "ks_pvalue"):
        evv = ev["verdicts"].get(m) if ev else None
        same = lib["verdicts"][m] == sp["verdicts"][m] and (evv is None or evv == lib[
            "verdicts"][m])
        same_all &= same
        label = "ks p < 0.05" if m == "ks_pvalue" else m
        lines.append(f"| {label} | {lib['verdicts'][m]} | {sp['verdicts'][m]} | "
                     f"{evv if evv is not None else '—'} | {'yes' if same else 'NO'} |")
    lines.append("")
    return "\n".join(lines) + "\n", {"overhead": ov, "library": lib, "scipy": sp,
                                     "evidently": ev, "same_verdicts": same_all}


if __name__ == "__main__":
    print(run(3, quick="--quick" in sys.argv, with_evidently="--no-evidently" not in sys.argv)[0])
