"""The demo's generative models: a simulated LLM serving engine with a token-level timing model.

No LLM weights can be downloaded here, so the two LLM "models" (`chat-assistant`,
`code-assistant`) are simulations of a continuous-batching server (vLLM-like), built from the
costs real engines have:

- **prefill** (time to process the prompt) grows with the prompt length: a fixed cost, a cost
  per prompt token and a quadratic attention term; running decodes slow it a little (chunked
  prefill shares the GPU);
- **decode**: one token per engine iteration for every running request; an iteration costs a
  base time plus a cost per running sequence (batching) and per 1k tokens held in the KV cache
  (memory bandwidth), so inter-token latency rises with load;
- **KV cache**: every running request holds its prompt plus the tokens generated so far; the
  cache has a fixed capacity in tokens. When the running set would not fit, the engine runs at
  the cache limit, preempts (and later recomputes) requests, and new requests wait in the queue;
  waiting clients give up after a timeout (finish reason `abort`);
- requests arrive as a Poisson stream; prompt and generation lengths are log-normal; a
  generation that reaches `max_tokens` finishes with reason `length`, others with `stop`, a few
  are aborted by the client or fail (`error`).

Each tick solves the engine's steady state for the current load (running requests from Little's
law with the load-dependent iteration time, capped by the batch and KV limits; the queue grows
by arrivals minus service) and then samples every finished request: its prompt and generation
length, queue time, prefill time, per-token latencies and end-to-end latency. Latencies are in
simulated seconds; counters count simulated requests and tokens (so with `--speed N` their
Prometheus rates are N times the simulated rates, like the rest of the demo).

Incidents (demo/scenario.py): `llm_kv_saturation` (a traffic surge of long conversations fills
the KV cache), `llm_ttft_spike` (prefill `factor` times slower: e.g. prefix caching switched off
by a config change) and `llm_eval_regression` (a version whose evaluation scores are worse).

The series are exposed in the contract's `ml_llm_*` names (docs/metrics.md, "LLM serving") or,
with `--stack vllm|tgi`, in the native names of that server (demo/llm_native.py). Quality comes
from a batch evaluation job (LLM-judge scores, guardrail trigger rates) reported like the other
evaluation metrics (Pushgateway, or this /metrics); user feedback per version goes to the
contract's `ml_feedback_total`.
"""

from __future__ import annotations

import math
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from demo.exporters import (
    CPU_PRICE,
    GPU_MEMORY_MIB,
    GPU_MODEL,
    GPU_PRICE,
    NAMESPACE,
    NODE_TYPE,
    RAM_PRICE,
    pod_name,
)
from demo.instruments import Snapshot, SnapshotCollector
from demo.labels import grouping_key, renamed

# --------------------------------------------------------------------------------------------
# Bucket layouts. The contract's latency buckets are vLLM's (vllm/v1/metrics/loggers.py @
# 005a810bc40f, PrometheusStatLogger), so a TTFT SLO of 1 s (or 0.5, 2.5, ...) is a bucket bound
# on the contract and on vLLM alike.
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
               7.5, 10.0, 20.0, 40.0, 80.0)
REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
                           40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
# vLLM's queue-time buckets start at 0.3 s (they are its request-latency buckets); the contract
# resolves healthy queueing (milliseconds) too.
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                 60.0, 120.0, 300.0)
MAX_MODEL_LEN = 8192


def buckets_1_2_5(max_value: int) -> tuple[float, ...]:
    """1, 2, 5, 10, 20, 50, ... up to max_value (vLLM's `build_1_2_5_buckets`)."""
    out: list[float] = []
    exponent = 0
    while True:
        for m in (1, 2, 5):
            value = m * 10**exponent
            if value > max_value:
                return tuple(float(v) for v in out)
            out.append(value)
        exponent += 1


LENGTH_BUCKETS = buckets_1_2_5(MAX_MODEL_LEN)

FINISH_REASONS = ("stop", "length", "abort", "error")
EVAL_METRICS = ("helpfulness", "faithfulness", "harmlessness")
GUARDRAILS = ("toxicity", "pii_leak", "jailbreak")
LLM_NODE = "gpu-node-3"
CLIENT_TIMEOUT = 120.0  # simulated seconds a client waits in the queue before giving up
MAX_REQUESTS_PER_TICK = 400  # per version: caps CPU at high --speed
ITL_SAMPLES_PER_REQUEST = 4  # per-token latencies drawn per request (weighted to its tokens)
FEEDBACK_PROBABILITY = 0.05
EVALUATION_INTERVAL = 900.0  # simulated seconds between LLM evaluation runs
EVALUATION_JOB = "ml_evaluation"


@dataclass(frozen=True)
class LLMVersionSpec:
    version: str
    stage: str  # production | canary
    share: float  # traffic share
    eval_scores: tuple[tuple[str, float], ...]  # LLM-judge scores on the evaluation set
    guardrail_rates: tuple[tuple[str, float], ...]  # share of evaluated answers flagged


@dataclass(frozen=True)
class LLMSpec:
    name: str
    requests_per_second: float  # simulated
    prompt_median: float  # tokens
    prompt_sigma: float  # log-normal shape
    generation_median: float
    generation_sigma: float
    max_tokens: int
    kv_capacity_tokens: float
    max_num_seqs: int
    prefill_base: float  # seconds
    prefill_per_token: float  # seconds per prompt token
    prefill_quadratic: float  # seconds per prompt token squared (attention)
    itl_base: float  # seconds per engine iteration, empty batch
    itl_per_seq: float  # + seconds per running sequence
    itl_per_kv_ktoken: float  # + seconds per 1k tokens held in the KV cache
    error_probability: float
    abort_probability: float
    versions: tuple[LLMVersionSpec, ...]
    gpu_first: int  # GPU index of the first version's pod on LLM_NODE


_SCORES = (("helpfulness", 0.86), ("faithfulness", 0.91), ("harmlessness", 0.97))
_GUARDRAILS = (("toxicity", 0.004), ("pii_leak", 0.002), ("jailbreak", 0.001))

LLM_SPECS: tuple[LLMSpec, ...] = (
    LLMSpec(
        name="chat-assistant", requests_per_second=3.0, prompt_median=380.0, prompt_sigma=0.7,
        generation_median=170.0, generation_sigma=0.6, max_tokens=512,
        kv_capacity_tokens=28000.0, max_num_seqs=128, prefill_base=0.012,
        prefill_per_token=0.00011, prefill_quadratic=1.5e-8, itl_base=0.016,
        itl_per_seq=0.00025, itl_per_kv_ktoken=0.0004, error_probability=0.002,
        abort_probability=0.01,
        versions=(LLMVersionSpec("v1", "production", 1.0, _SCORES, _GUARDRAILS),),
        gpu_first=0,
    ),
    LLMSpec(
        name="code-assistant", requests_per_second=1.5, prompt_median=900.0, prompt_sigma=0.5,
        generation_median=240.0, generation_sigma=0.6, max_tokens=1024,
        kv_capacity_tokens=60000.0, max_num_seqs=128, prefill_base=0.015,
        prefill_per_token=0.00010, prefill_quadratic=1.5e-8, itl_base=0.018,
        itl_per_seq=0.00025, itl_per_kv_ktoken=0.0004, error_probability=0.002,
        abort_probability=0.008,
        versions=(
            LLMVersionSpec("v1", "production", 0.8, _SCORES, _GUARDRAILS),
            LLMVersionSpec("v2", "canary", 0.2,
                           (("helpfulness", 0.88), ("faithfulness", 0.92), ("harmlessness", 0.97)),
                           _GUARDRAILS),
        ),
        gpu_first=1,
    ),
)
LLM_MODELS = tuple(s.name for s in LLM_SPECS)


def lognormal_mean(median: float, sigma: float) -> float:
    return median * math.exp(sigma * sigma / 2.0)


# --------------------------------------------------------------------------------------------
# accumulators


class Hist:
    """A cumulative histogram with fixed upper bounds (the last bucket is +Inf)."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = np.asarray(bounds, dtype=float)
        self.counts = np.zeros(len(bounds) + 1)  # per bucket, not cumulative
        self.sum = 0.0

    def observe(self, values: np.ndarray, weights: np.ndarray | None = None) -> None:
        if len(values) == 0:
            return
        idx = np.searchsorted(self.bounds, values, side="left")  # value <= bound
        w = np.ones(len(values)) if weights is None else weights
        self.counts += np.bincount(idx, weights=w, minlength=len(self.counts))
        self.sum += float(np.dot(values, w))

    def cumulative(self) -> list[tuple[str, float]]:
        acc = np.cumsum(self.counts)
        les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        return list(zip(les, acc.tolist(), strict=True))

    @property
    def count(self) -> float:
        return float(self.counts.sum())


@dataclass
class TickSample:
    """What one version's engine finished in one tick, request by request (simulated seconds).

    A renderer (contract, vLLM, TGI) observes the parts its server's histograms cover.
    """

    prompt: np.ndarray  # prompt tokens per finished request
    generation: np.ndarray  # generated tokens per request
    reason: np.ndarray  # finish reason per request
    queue: np.ndarray
    prefill: np.ndarray
    ttft: np.ndarray  # for requests that produced a token
    e2e: np.ndarray
    itl: np.ndarray  # per-token latencies drawn for the decoding requests ...
    itl_weights: np.ndarray  # ... each standing for this many tokens
    decode_steps: float  # engine decode iterations in the tick
    iteration: float  # their duration (s)
    queue_aborts: int  # clients that gave up waiting (no token, not in the arrays above)


@dataclass
class EngineStats:
    """What one version's engine has done so far (counters and histograms) and is doing now."""

    layout: dict[str, Sequence[float]]
    requests: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FINISH_REASONS, 0.0))
    prompt_tokens: float = 0.0
    generation_tokens: float = 0.0
    preemptions: float = 0.0
    hist: dict[str, Hist] = field(default_factory=dict)
    # gauges
    running: float = 0.0
    waiting: float = 0.0
    kv_usage: float = 0.0
    batch_max_tokens: float = 0.0  # tokens the running batch may hold (TGI's view of the cache)
    kv_capacity: float = 0.0  # tokens the KV cache holds
    # engine state
    queue: float = 0.0  # waiting requests (fluid)
    iteration: float = 0.0  # current decode iteration time (s)

    def __post_init__(self) -> None:
        self.hist = {k: Hist(b) for k, b in self.layout.items()}
        # ground truth for adapter tests in native stacks (demo_truth_llm_*, docs/stacks/llm.md)
        self.truth_ttft = Hist(TTFT_BUCKETS)


# --------------------------------------------------------------------------------------------
# the engine


def _incident_map(active, model: str) -> dict:
    return {inc.kind: inc for inc in active if inc.model == model}


class LLMServing:
    """The LLM part of the demo: traffic, engine, evaluation, and its /metrics output.

    Hooked into `demo.simulation.Simulation` as an extension: `step()` every tick, `publish()`
    into the simulation's gauge snapshot (model info, deployment times, traffic shares, the
    simulated OpenCost series of the LLM pods), and `collector` (counters, histograms and engine
    gauges, in contract or native names) registered on the demo's registry.
    """

    def __init__(self, scenario, speed: float, seed: int, snapshots: SnapshotCollector,
                 pushgateway: str | None = None, feedback=None, renderer=None) -> None:
        self.scenario = scenario
        self.speed = speed
        self.rng = np.random.default_rng(seed + 1017)
        self.snapshots = snapshots
        self.pushgateway = pushgateway
        self.feedback = feedback  # prometheus Counter ml_feedback_total (model, version, feedback)
        self.renderer = renderer or ContractRenderer()
        self.specs = {s.name: s for s in LLM_SPECS}
        self.stats: dict[tuple[str, str], EngineStats] = {
            (s.name, v.version): EngineStats(self.renderer.layout(s))
            for s in LLM_SPECS for v in s.versions
        }
        self._last_sim = 0.0
        self.evaluation = LLMEvaluation(self)
        self.collector = LLMCollector(self)
        self._push_warned = False

    # ---------------------------------------------------------------- native endpoints
    def paths(self) -> list[str]:
        """The per-engine endpoints of a native stack (none for the contract)."""
        from demo.llm_native import engine_paths

        if isinstance(self.renderer, ContractRenderer):
            return []
        return sorted(engine_paths(self.stats))

    def render(self, path: str) -> str | None:
        """The exposition of the engine at `path` (`/llm/<model>/<version>/metrics`), or None."""
        from demo.llm_native import engine_paths

        if isinstance(self.renderer, ContractRenderer):
            return None
        key = engine_paths(self.stats).get(path)
        if key is None:
            return None
        return self.renderer.render(key[0], key[1], self.stats[key])

    # ---------------------------------------------------------------- hooks
    def warm_up(self, seconds: float = 600.0, step: float = 30.0) -> None:
        """Serve healthy traffic before t=0 so the engine state and the histograms are warm."""
        t = -seconds
        self._last_sim = t
        while t < 0:
            t = min(t + step, 0.0)
            self.step(t, [], None)
        self._last_sim = 0.0

    def step(self, now_sim: float, active, clock) -> None:
        dt = max(now_sim - self._last_sim, 0.0)
        self._last_sim = now_sim
        for spec in LLM_SPECS:
            incidents = _incident_map(active, spec.name)
            for vspec in spec.versions:
                self._engine_tick(spec, vspec, incidents, dt)
        if clock is not None:
            self.evaluation.maybe_run(active, now_sim, clock)

    def publish(self, snap: Snapshot, now_sim: float, clock) -> None:
        """Gauges shared with the classifier models' snapshot (one family per name)."""
        info = snap.gauge("ml_model_info", "Loaded model versions (value 1).",
                          ("model", "version", "stage", "approved", "framework", "algorithm",
                           "namespace", "pod"))
        deployed = snap.gauge("ml_model_deployed_timestamp_seconds", "When the version was "
                              "deployed.", ("model", "version"))
        share = snap.gauge("ml_model_traffic_share_ratio", "Configured traffic share.",
                           ("model", "version"))
        node_l = ("node", "instance_type", "region", "provider_id", "arch")
        alloc_l = ("namespace", "pod", "container", "node")
        node = (LLM_NODE, NODE_TYPE["instance_type"], NODE_TYPE["region"],
                f"aws:///{NODE_TYPE['region']}a/i-0a1b2c3d4e5f60103", "amd64")
        snap.gauge("node_cpu_hourly_cost", "Hourly cost per vCPU on this node.", node_l).set(
            node, CPU_PRICE)
        snap.gauge("node_ram_hourly_cost", "Hourly cost per GiB of RAM on this node.",
                   node_l).set(node, RAM_PRICE)
        snap.gauge("node_gpu_hourly_cost", "Hourly cost per GPU on this node.", node_l).set(
            node, GPU_PRICE)
        snap.gauge("node_total_hourly_cost", "Total node cost per hour.", node_l).set(
            node, CPU_PRICE * NODE_TYPE["vcpus"] + RAM_PRICE * NODE_TYPE["ram_gib"]
            + GPU_PRICE * NODE_TYPE["gpus"])
        snap.gauge("node_gpu_count", "Number of GPUs on the node.", node_l).set(
            node, NODE_TYPE["gpus"])
        dcgm_l = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "hostname", "namespace",
                  "pod", "container")
        util = snap.gauge("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", dcgm_l)
        fb_used = snap.gauge("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", dcgm_l)
        fb_free = snap.gauge("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", dcgm_l)
        power = snap.gauge("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", dcgm_l)
        temp = snap.gauge("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", dcgm_l)
        xid = snap.gauge("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.",
                         dcgm_l)
        cpu = snap.gauge("container_cpu_allocation", "CPU cores allocated to the container.",
                         alloc_l)
        mem = snap.gauge("container_memory_allocation_bytes", "Memory allocated to the "
                         "container.", alloc_l)
        gpu = snap.gauge("container_gpu_allocation", "GPUs allocated to the container.", alloc_l)
        for spec in LLM_SPECS:
            for vspec in spec.versions:
                pod = pod_name(spec.name, vspec.version)
                info.set((spec.name, vspec.version, vspec.stage, "true", "pytorch",
                          "transformer-decoder", NAMESPACE, pod), 1.0)
                deployed.set((spec.name, vspec.version),
                             clock.wall_at(0.0) if clock is not None else 0.0)
                share.set((spec.name, vspec.version), vspec.share)
                # the GPU: busier as the KV cache fills; the engine preallocates 90 % of its
                # memory for weights and KV cache (vLLM's gpu_memory_utilization default)
                st = self.stats[(spec.name, vspec.version)]
                index = spec.gpu_first + [v.version for v in spec.versions].index(vspec.version)
                gl = (str(index), "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_DNS, pod)),
                      f"00000000:{0x17 + index:02X}:00.0", f"nvidia{index}", GPU_MODEL, LLM_NODE,
                      NAMESPACE, pod, spec.name)
                busy = 30.0 + 55.0 * st.kv_usage
                util.set(gl, round(busy))
                fb_used.set(gl, round(0.9 * GPU_MEMORY_MIB))
                fb_free.set(gl, round(0.1 * GPU_MEMORY_MIB))
                power.set(gl, 55.0 + 1.9 * busy)
                temp.set(gl, round(34.0 + 0.45 * busy))
                xid.set(gl, 0.0)
                al = (NAMESPACE, pod, spec.name, LLM_NODE)
                cpu.set(al, 4.0)
                mem.set(al, 32.0 * 1024.0**3)
                gpu.set(al, 1.0)

    # ---------------------------------------------------------------- engine physics
    def _engine_tick(self, spec: LLMSpec, vspec: LLMVersionSpec, incidents: dict,
                     dt: float) -> None:
        st = self.stats[(spec.name, vspec.version)]
        rng = self.rng
        kv = incidents.get("llm_kv_saturation")
        slow = incidents.get("llm_ttft_spike")
        load = kv.params["load"] if kv else 1.0
        context = kv.params["context"] if kv else 1.0
        prefill_factor = slow.params["factor"] if slow else 1.0

        lam = spec.requests_per_second * vspec.share * load
        p_mean = lognormal_mean(spec.prompt_median * context, spec.prompt_sigma)
        g_mean = min(lognormal_mean(spec.generation_median, spec.generation_sigma),
                     0.9 * spec.max_tokens)
        kv_per_request = p_mean + g_mean / 2.0  # tokens held on average while decoding
        prefill_mean = prefill_factor * (spec.prefill_base + spec.prefill_per_token * p_mean
                                         + spec.prefill_quadratic * p_mean * p_mean)

        def iteration(n: float) -> float:
            return (spec.itl_base + spec.itl_per_seq * n
                    + spec.itl_per_kv_ktoken * n * kv_per_request / 1000.0)

        # running requests: Little's law with the load-dependent iteration time (fixed point)
        n_demand = 0.0
        for _ in range(30):
            n_demand = lam * (prefill_mean + g_mean * iteration(n_demand))
        n_cap = min(float(spec.max_num_seqs), 0.98 * spec.kv_capacity_tokens / kv_per_request)
        pressure = n_demand / n_cap if n_cap > 0 else 0.0
        if n_demand > n_cap:  # engine full: runs at the cap, the rest waits
            n_run = n_cap
            itl = iteration(n_cap)
            mu = n_cap / (prefill_mean + g_mean * itl)
        else:
            n_run = n_demand
            itl = iteration(n_demand)
            mu = math.inf
        # the queue: arrivals minus service; waiting clients give up after CLIENT_TIMEOUT
        if math.isfinite(mu):
            gave_up = st.queue / CLIENT_TIMEOUT * dt
            st.queue = max(st.queue + (lam - mu) * dt - gave_up, 0.0)
            served = mu
        else:  # capacity to spare: whatever waited is scheduled now
            gave_up = 0.0
            served = lam + st.queue / max(dt, 1e-9)
            st.queue = 0.0
        queue_mean = 0.004 + (st.queue / served if served > 0 else 0.0)
        kv_usage = min(n_run * kv_per_request / spec.kv_capacity_tokens, 1.0)
        # preemption: when the demand exceeds the cache, running requests are evicted
        preempt_share = min(max(2.0 * (pressure - 0.95), 0.0), 0.6)

        st.iteration = itl
        st.kv_capacity = spec.kv_capacity_tokens
        st.running = float(rng.poisson(n_run)) if n_run > 0 else 0.0
        st.waiting = float(round(st.queue + (rng.poisson(0.02 * n_run) if n_run else 0)))
        st.kv_usage = float(min(max(kv_usage * rng.normal(1.0, 0.01), 0.0), 1.0))
        st.batch_max_tokens = st.kv_usage * spec.kv_capacity_tokens

        # the requests that finished in this tick
        n_fin = int(rng.poisson(served * dt)) if served * dt > 0 else 0
        n_abort_queue = int(rng.poisson(gave_up)) if gave_up > 0 else 0
        n = min(n_fin, MAX_REQUESTS_PER_TICK)
        if n_abort_queue:
            st.requests["abort"] += n_abort_queue
        if n == 0 and not n_abort_queue:
            return
        prompt = np.clip(rng.lognormal(math.log(spec.prompt_median * context),
                                       spec.prompt_sigma, n),
                         8, MAX_MODEL_LEN - spec.max_tokens).round()
        wanted = rng.lognormal(math.log(spec.generation_median), spec.generation_sigma, n)
        gen = np.clip(wanted, 1, spec.max_tokens).round()
        reason = np.where(wanted >= spec.max_tokens, "length", "stop").astype(object)
        u = rng.random(n)
        aborted = u < spec.abort_probability
        failed = (u >= spec.abort_probability) & (
            u < spec.abort_probability + spec.error_probability)
        reason[aborted] = "abort"
        reason[failed] = "error"
        gen[aborted] = np.maximum((gen[aborted] * rng.random(int(aborted.sum()))).round(), 1)
        gen[failed] = 0

        queue = rng.exponential(queue_mean, n)
        prefill = (prefill_factor * (spec.prefill_base + spec.prefill_per_token * prompt
                                     + spec.prefill_quadratic * prompt * prompt)
                   * (1.0 + 0.002 * n_run) * rng.lognormal(0.0, 0.1, n))
        req_itl = itl * rng.lognormal(0.0, 0.12, n)  # a request's mean inter-token latency
        frontend = 0.003
        ttft = frontend + queue + prefill
        preempted = rng.random(n) < preempt_share
        recompute = np.where(preempted, prefill + rng.exponential(2.0, n), 0.0)
        e2e = ttft + np.maximum(gen - 1, 0) * req_itl + recompute

        produced = gen > 0
        st.requests.update({r: st.requests[r] + float((reason == r).sum())
                            for r in FINISH_REASONS})
        st.prompt_tokens += float(prompt.sum())
        st.generation_tokens += float(gen.sum())
        st.preemptions += float(preempted.sum())
        st.truth_ttft.observe(ttft[produced])
        decoding = gen > 1
        k = ITL_SAMPLES_PER_REQUEST
        per_token = (np.repeat(req_itl[decoding], k)
                     * rng.lognormal(0.0, 0.2, int(decoding.sum()) * k))
        weights = np.repeat((gen[decoding] - 1) / k, k)
        self.renderer.observe(st, TickSample(
            prompt=prompt, generation=gen, reason=reason, queue=queue, prefill=prefill,
            ttft=np.where(produced, ttft, np.nan), e2e=e2e, itl=per_token, itl_weights=weights,
            decode_steps=float(round(dt / itl)) if n_run > 0 else 0.0, iteration=itl,
            queue_aborts=n_abort_queue))

        if self.feedback is not None:
            helpful = dict(self.evaluation.current_scores(spec.name, vspec.version, incidents))
            p_pos = min(max(0.25 + 0.75 * helpful.get("helpfulness", 0.8), 0.0), 1.0)
            gives = int(rng.binomial(int(produced.sum()), FEEDBACK_PROBABILITY))
            if gives:
                pos = int(rng.binomial(gives, p_pos))
                if pos:
                    self.feedback.labels(spec.name, vspec.version, "positive").inc(pos)
                if gives - pos:
                    self.feedback.labels(spec.name, vspec.version, "negative").inc(gives - pos)


# --------------------------------------------------------------------------------------------
# quality: the batch evaluation job (LLM-judge scores and guardrail triggers per version)


@dataclass
class _EvalState:
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    guardrails: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    last_success: float | None = None
    duration: float = 0.0


class LLMEvaluation:
    """Scores each LLM version on an evaluation set every 15 simulated minutes.

    A judge model rates the answers (`helpfulness`, `faithfulness`, `harmlessness`, 0-1) and
    the guardrails flag some (`toxicity`, `pii_leak`, `jailbreak`: share of answers flagged).
    Reported like the classifier evaluation (demo/evaluation.py): PUT to the Pushgateway under
    `job="ml_evaluation"`, grouping key `model`, or exposed on /metrics without one.
    """

    # Prompts per run. Real evaluation sets run to hundreds or thousands of prompts; the share of
    # answers a guardrail flags is only as precise as the run is large: with 200, the healthy
    # 0.4 % toxicity flagged 4 answers (2 %, the panel's red step) in about one run in a hundred
    # per version (tests/unit/test_healthy_noise.py).
    SAMPLES = 1000

    def __init__(self, serving: LLMServing) -> None:
        self.serving = serving
        self.models: dict[str, _EvalState] = {s.name: _EvalState() for s in LLM_SPECS}
        self.next_run = 0.0

    def current_scores(self, model: str, version: str, incidents: dict):
        vspec = next(v for v in self.serving.specs[model].versions if v.version == version)
        reg = incidents.get("llm_eval_regression")
        hit = reg is not None and reg.params["version"] == version
        for metric, score in vspec.eval_scores:
            yield metric, max(score - (reg.params["drop"] if hit else 0.0), 0.0)

    def maybe_run(self, active, now_sim: float, clock) -> None:
        if now_sim < self.next_run:
            return
        while self.next_run <= now_sim:
            self.next_run += EVALUATION_INTERVAL
        rng = self.serving.rng
        wall_now = clock.wall_at(now_sim)
        for spec in LLM_SPECS:
            t0 = time.perf_counter()
            ev = self.models[spec.name]
            incidents = _incident_map(active, spec.name)
            reg = incidents.get("llm_eval_regression")
            for vspec in spec.versions:
                v = vspec.version
                hit = reg is not None and reg.params["version"] == v
                ev.samples[v] = self.SAMPLES
                ev.scores[v] = {
                    m: float(np.clip(s + rng.normal(0.0, 0.01), 0.0, 1.0))
                    for m, s in self.current_scores(spec.name, v, incidents)
                }
                factor = reg.params["guardrail_factor"] if hit else 1.0
                ev.guardrails[v] = {
                    g: float(rng.binomial(self.SAMPLES, min(r * factor, 1.0))) / self.SAMPLES
                    for g, r in vspec.guardrail_rates
                }
            ev.duration = time.perf_counter() - t0
            ev.last_success = wall_now
            self._push(spec.name, clock)
        if not self.serving.pushgateway:
            self.serving.snapshots.publish("llm-evaluation", self.snapshot(clock))

    def snapshot(self, clock, only: str | None = None) -> Snapshot:
        snap = Snapshot()
        score = snap.gauge("ml_llm_evaluation_score_ratio", "LLM-judge score of the last "
                           "evaluation run (0-1).", ("model", "version", "metric"))
        guard = snap.gauge("ml_llm_guardrail_trigger_ratio", "Share of evaluated answers a "
                           "guardrail flagged in the last evaluation run.",
                           ("model", "version", "guardrail"))
        n = snap.gauge("ml_evaluation_samples", "Labelled predictions the last run evaluated.",
                       ("model", "version"))
        ok = snap.gauge("ml_evaluation_last_success_timestamp_seconds", "When the last "
                        "evaluation run succeeded.", ("model",))
        fail = snap.gauge("ml_evaluation_last_failure_timestamp_seconds", "When the last "
                          "evaluation run failed (0 = never).", ("model",))
        dur = snap.gauge("ml_evaluation_duration_seconds", "Runtime of the last successful "
                         "run.", ("model",))
        we = snap.gauge("ml_evaluation_window_end_timestamp_seconds", "End of the data window "
                        "the last successful run evaluated.", ("model",))
        si = snap.gauge("ml_evaluation_schedule_interval_seconds", "How often the evaluation "
                        "job is scheduled (wall-clock seconds).", ("model",))
        for name, ev in sorted(self.models.items()):
            if ev.last_success is None or (only is not None and name != only):
                continue
            for v, scores in ev.scores.items():
                for metric, value in scores.items():
                    score.set((name, v, metric), value)
            for v, rates in ev.guardrails.items():
                for g, value in rates.items():
                    guard.set((name, v, g), value)
            for v, count in ev.samples.items():
                n.set((name, v), count)
            ok.set((name,), ev.last_success)
            fail.set((name,), 0.0)
            dur.set((name,), ev.duration)
            we.set((name,), ev.last_success)
            si.set((name,), EVALUATION_INTERVAL / clock.speed)
        return snap

    def _push(self, name: str, clock) -> None:
        url = self.serving.pushgateway
        if not url:
            return
        registry = CollectorRegistry()
        collector = SnapshotCollector()
        collector.publish("push", self.snapshot(clock, only=name))
        registry.register(collector)
        try:
            push_to_gateway(url, job=EVALUATION_JOB, grouping_key=grouping_key({"model": name}),
                            registry=renamed(registry), timeout=5)
        except Exception as exc:  # noqa: BLE001 - a down Pushgateway must not stop the demo
            if not self.serving._push_warned:
                print(f"demo: warning: push to {url} failed: {exc}", file=sys.stderr)
                self.serving._push_warned = True


# --------------------------------------------------------------------------------------------
# output: the contract's names (the native names are in demo/llm_native.py)


class ContractRenderer:
    """The engine's state in the metrics contract's `ml_llm_*` names (docs/metrics.md)."""

    MV = ("model", "version")

    def layout(self, spec: LLMSpec) -> dict[str, Sequence[float]]:
        return {"ttft": TTFT_BUCKETS, "itl": ITL_BUCKETS, "e2e": REQUEST_LATENCY_BUCKETS,
                "queue": QUEUE_BUCKETS, "prompt_len": LENGTH_BUCKETS,
                "generation_len": LENGTH_BUCKETS}

    def observe(self, st: EngineStats, t: TickSample) -> None:
        h = st.hist
        if t.queue_aborts:  # waited until the client timeout, then gave up
            h["e2e"].observe(np.full(t.queue_aborts, CLIENT_TIMEOUT))
            h["queue"].observe(np.full(t.queue_aborts, CLIENT_TIMEOUT))
        produced = t.generation > 0
        h["ttft"].observe(t.ttft[produced])
        h["e2e"].observe(t.e2e)
        h["queue"].observe(t.queue)
        h["prompt_len"].observe(t.prompt)
        h["generation_len"].observe(t.generation[produced])
        h["itl"].observe(t.itl, t.itl_weights)

    def families(self, stats: dict[tuple[str, str], EngineStats]) -> Iterator:
        mv = self.MV
        prompt = CounterMetricFamily("ml_llm_prompt_tokens", "Prompt (prefill) tokens "
                                     "processed.", labels=mv)
        gen = CounterMetricFamily("ml_llm_generation_tokens", "Tokens generated.", labels=mv)
        req = CounterMetricFamily("ml_llm_requests", "Requests finished, by finish reason.",
                                  labels=(*mv, "finish_reason"))
        pre = CounterMetricFamily("ml_llm_preemptions", "Requests preempted by the engine "
                                  "(evicted from the KV cache, recomputed later).", labels=mv)
        running = GaugeMetricFamily("ml_llm_requests_running", "Requests in the running "
                                    "batch.", labels=mv)
        waiting = GaugeMetricFamily("ml_llm_requests_waiting", "Requests waiting to be "
                                    "scheduled.", labels=mv)
        kv = GaugeMetricFamily("ml_llm_kv_cache_usage_ratio", "Share of the KV cache in use "
                               "(0-1).", labels=mv)
        hists = {
            "ttft": HistogramMetricFamily("ml_llm_time_to_first_token_seconds", "Time from "
                                          "request arrival to the first output token.",
                                          labels=mv),
            "itl": HistogramMetricFamily("ml_llm_inter_token_latency_seconds", "Time between "
                                         "two output tokens (one observation per token).",
                                         labels=mv),
            "e2e": HistogramMetricFamily("ml_llm_e2e_request_latency_seconds", "Request "
                                         "latency from arrival to the last token.", labels=mv),
            "queue": HistogramMetricFamily("ml_llm_queue_time_seconds", "Time a request waited "
                                           "before the engine scheduled it.", labels=mv),
            "prompt_len": HistogramMetricFamily("ml_llm_request_prompt_tokens", "Prompt length "
                                                "per request (tokens).", labels=mv),
            "generation_len": HistogramMetricFamily("ml_llm_request_generation_tokens",
                                                    "Generated tokens per request.", labels=mv),
        }
        for (model, version), st in sorted(stats.items()):
            lv = [model, version]
            prompt.add_metric(lv, st.prompt_tokens)
            gen.add_metric(lv, st.generation_tokens)
            for reason in FINISH_REASONS:
                req.add_metric([*lv, reason], st.requests[reason])
            pre.add_metric(lv, st.preemptions)
            running.add_metric(lv, st.running)
            waiting.add_metric(lv, st.waiting)
            kv.add_metric(lv, st.kv_usage)
            for key, fam in hists.items():
                h = st.hist[key]
                fam.add_metric(lv, h.cumulative(), h.sum)
        yield from (prompt, gen, req, pre, running, waiting, kv, *hists.values())


class LLMCollector(Collector):
    """The contract's `ml_llm_*` series on the demo's /metrics (nothing there in a native stack:
    each engine then has its own endpoint, LLMServing.render)."""

    def __init__(self, serving: LLMServing) -> None:
        self.serving = serving

    def collect(self):
        renderer = self.serving.renderer
        if isinstance(renderer, ContractRenderer):
            yield from renderer.families(self.serving.stats)
        else:
            yield from truth_families(self.serving.stats)


def truth_families(stats: dict[tuple[str, str], EngineStats]) -> Iterator:
    """What the engines did, in the contract's units, for tests of the native adapters (never
    read by dashboards or rules; only with --stack vllm|tgi, docs/stacks/llm.md)."""
    mv = ("model", "version")
    req = CounterMetricFamily("demo_truth_llm_requests", "Ground truth: requests the engine "
                              "finished, by finish reason.", labels=(*mv, "finish_reason"))
    prompt = CounterMetricFamily("demo_truth_llm_prompt_tokens", "Ground truth: prompt tokens.",
                                 labels=mv)
    gen = CounterMetricFamily("demo_truth_llm_generation_tokens", "Ground truth: generated "
                              "tokens.", labels=mv)
    ttft = HistogramMetricFamily("demo_truth_llm_time_to_first_token_seconds", "Ground truth: "
                                 "time to first token (the contract's buckets).", labels=mv)
    for (model, version), st in sorted(stats.items()):
        for reason in FINISH_REASONS:
            req.add_metric([model, version, reason], st.requests[reason])
        prompt.add_metric([model, version], st.prompt_tokens)
        gen.add_metric([model, version], st.generation_tokens)
        ttft.add_metric([model, version], st.truth_ttft.cumulative(), st.truth_ttft.sum)
    yield from (req, prompt, gen, ttft)


LLM_STACKS = ("vllm", "tgi")  # `--stack` values that change the LLM engines' names


def make_renderer(stack: str, vllm_legacy: bool = False):
    """The renderer for `--stack`: native for vLLM / TGI, the contract's names otherwise."""
    from demo import llm_native

    if stack == "vllm":
        return llm_native.VLLMRenderer(legacy=vllm_legacy)
    if stack == "tgi":
        return llm_native.TGIRenderer()
    return ContractRenderer()
