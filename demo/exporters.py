"""Simulated exporters: DCGM (GPU), cAdvisor, kube-state-metrics and OpenCost.

None of these can run here (no GPU, no Kubernetes, no cloud bill), so the demo emits their
metrics with the real names, types, units and labels, driven by the simulated load. Everything
in this module is a simulation and is documented as such in docs/metrics.md. Names and labels
as the exporters' sources write them:

- NVIDIA/dcgm-exporter @ d5e5f510a1b6b393f39a43293ccd9dc985defc79: etc/default-counters.csv
  (names, units); internal/pkg/rendermetrics/render_metrics.go (labels `gpu`, `UUID`,
  `pci_bus_id`, `device`, `modelName`, `hostname` — `Hostname` before that commit, #655 — and
  the pod's `namespace`, `pod`, `container` from the Kubernetes mapping);
- google/cadvisor @ 6a0c4f2539a8b1c11215804dee404c06fe3e0218: lib/metrics/prometheus.go
  (`container_cpu_usage_seconds_total` has a `cpu` label, "total" when per-CPU usage is off,
  as in the kubelet; every series has `id`, `image`, `name`, and the kubelet adds `container`,
  `pod`, `namespace`);
- kubernetes/kube-state-metrics @ c92fe0c5ce02d3b52abf54490e00db6c706f2ba5:
  docs/metrics/workload/pod-metrics.md (`uid` on every pod-container series);
- opencost/opencost @ 5f6533303e3850c8635796a74bb22802d16e9090: pkg/costmodel/metrics.go
  (node prices labelled `instance`, `node`, `instance_type`, `region`, `provider_id`, `arch`;
  allocations `namespace`, `pod`, `container`, `instance`, `node`). `instance` is left out: it
  would clash with the scrape target's own `instance` label (OpenCost is scraped with
  honor_labels in its chart; the demo is not).
"""

from __future__ import annotations

import uuid

from demo.instruments import Snapshot

NAMESPACE = "ml-serving"
GIB = 1024.0**3
GPU_MODEL = "NVIDIA A10G"
GPU_MEMORY_MIB = 24576.0
CPU_REQUEST, CPU_LIMIT = 2.0, 4.0
MEM_REQUEST, MEM_LIMIT = 8 * GIB, 12 * GIB
CFS_PERIODS_PER_SECOND = 10.0  # 100 ms CFS period
NODE_TYPE = {"instance_type": "g5.12xlarge", "region": "eu-west-1", "vcpus": 48,
             "ram_gib": 192, "gpus": 4}
# spot prices (USD per hour); a cost_jump multiplies them (the node fell back to on-demand)
CPU_PRICE, RAM_PRICE, GPU_PRICE = 0.0316, 0.0042, 0.95
# DCGM_FI_DEV_GPU_UTIL (%) = GPU_IDLE_UTIL + GPU_UTIL_PER_LOAD x load (1 = the model's nominal
# traffic). Was 4 + 38 x load: every healthy model's GPUs idled over 58 % of the time and the
# canary's 88 %, so the idle-spend panels were red on healthy traffic (docs/alerts.md).
GPU_IDLE_UTIL, GPU_UTIL_PER_LOAD = 20.0, 35.0
TERMINATION_REASONS = ("OOMKilled", "Error", "Completed")


def pod_name(model: str, version: str) -> str:
    return f"{model}-{version}-0"


class PodState:
    def __init__(self, model: str, version: str, node: str, gpu: int) -> None:
        self.model, self.version, self.node, self.gpu = model, version, node, gpu
        self.pod = pod_name(model, version)
        self.uuid = "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_DNS, self.pod))
        self.uid = str(uuid.uuid5(uuid.NAMESPACE_OID, self.pod))  # the pod's metadata.uid
        self.load = 0.0  # requests per simulated second / nominal model rate (EMA)
        self.cpu_seconds = 0.0
        self.cfs_periods = 0.0
        self.cfs_throttled = 0.0
        self.cores = 0.0
        self.throttle = 0.0
        self.working_set = 1.6 * GIB
        self.gpu_util = 0.0
        self.restarts = 0
        self.last_reason = ""


class InfraSimulator:
    def __init__(self, models, speed: float) -> None:
        self.models = models
        self.speed = speed
        self.pods: dict[tuple[str, str], PodState] = {}
        self._bursts_seen: set[tuple[str, float]] = set()
        self.price_factor: dict[str, float] = {}

    def _pod(self, model: str, version: str) -> PodState:
        key = (model, version)
        if key not in self.pods:
            spec = self.models[model].spec
            gpu = [v.version for v in spec.versions].index(version)
            self.pods[key] = PodState(model, version, spec.node, gpu)
        return self.pods[key]

    def step(self, state, active, now_sim: float, wall_dt: float, rng) -> None:
        by_model = {}
        for inc in active:
            by_model.setdefault(inc.model, {})[inc.kind] = inc
        for name, st in state.items():
            incidents = by_model.get(name, {})
            spike = "latency_spike" in incidents
            burst = incidents.get("error_burst")
            jump = incidents.get("cost_jump")
            self.price_factor[st.model.spec.node] = jump.params["factor"] if jump else 1.0
            nominal = st.model.spec.requests_per_second
            tick_sim = max(wall_dt * self.speed, 1e-9)
            for version in sorted(st.deployed):
                pod = self._pod(name, version)
                rows = st.versions[version].rows_last_tick
                inst_load = rows / tick_sim / nominal if nominal else 0.0
                pod.load = 0.7 * pod.load + 0.3 * min(inst_load, 3.0)
                pod.cores = 0.15 + 0.9 * pod.load + (1.6 if spike else 0.0)
                pod.cores *= float(rng.normal(1.0, 0.03))
                pod.cpu_seconds += max(pod.cores, 0.0) * wall_dt
                periods = CFS_PERIODS_PER_SECOND * wall_dt
                pod.throttle = 0.45 if spike else 0.01 + 0.02 * pod.load
                pod.cfs_periods += periods
                pod.cfs_throttled += periods * pod.throttle
                target_ws = (1.6 + 0.6 * pod.load) * GIB
                if burst is not None:
                    target_ws = 0.97 * MEM_LIMIT
                pod.working_set = 0.8 * pod.working_set + 0.2 * target_ws
                # a GPU sized for its model: about 55 % busy at the model's nominal traffic
                # (a 20 % canary on its own GPU: about 27 %), saturated by a latency spike
                util = GPU_IDLE_UTIL + GPU_UTIL_PER_LOAD * pod.load + (55.0 if spike else 0.0)
                pod.gpu_util = min(max(util * float(rng.normal(1.0, 0.05)), 0.0), 100.0)
            if burst is not None and (name, burst.start) not in self._bursts_seen:
                self._bursts_seen.add((name, burst.start))
                pod = self._pod(name, sorted(st.deployed)[0])
                pod.restarts += 1
                pod.last_reason = "OOMKilled"
                pod.working_set = 1.6 * GIB

    def publish(self, snap: Snapshot, state, now_sim: float) -> None:
        dcgm_labels = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "hostname",
                       "namespace", "pod", "container")
        gpu_util = snap.gauge("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", dcgm_labels)
        fb_used = snap.gauge("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).",
                             dcgm_labels)
        fb_free = snap.gauge("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).",
                             dcgm_labels)
        power = snap.gauge("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", dcgm_labels)
        temp = snap.gauge("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", dcgm_labels)
        xid = snap.gauge("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.",
                         dcgm_labels)
        cad = ("namespace", "pod", "container", "image", "id", "name")
        cpu = snap.counter("container_cpu_usage_seconds", "Cumulative cpu time consumed in "
                           "seconds.", (*cad, "cpu"))
        ws = snap.gauge("container_memory_working_set_bytes", "Current working set in bytes.",
                        cad)
        periods = snap.counter("container_cpu_cfs_periods", "Number of elapsed enforcement "
                               "period intervals.", cad)
        throttled = snap.counter("container_cpu_cfs_throttled_periods", "Number of throttled "
                                 "period intervals.", cad)
        ksm = ("namespace", "pod", "uid", "container", "node", "resource", "unit")
        req = snap.gauge("kube_pod_container_resource_requests", "The number of requested "
                         "request resource by a container.", ksm)
        lim = snap.gauge("kube_pod_container_resource_limits", "The number of requested limit "
                         "resource by a container.", ksm)
        restarts = snap.counter("kube_pod_container_status_restarts", "The number of container "
                                "restarts per container.", ("namespace", "pod", "uid", "container"))
        reason = snap.gauge("kube_pod_container_status_last_terminated_reason", "Describes the "
                            "last reason the container was in terminated state.",
                            ("namespace", "pod", "uid", "container", "reason"))
        node_l = ("node", "instance_type", "region", "provider_id", "arch")
        cpu_cost = snap.gauge("node_cpu_hourly_cost", "Hourly cost per vCPU on this node.",
                              node_l)
        ram_cost = snap.gauge("node_ram_hourly_cost", "Hourly cost per GiB of RAM on this node.",
                              node_l)
        gpu_cost = snap.gauge("node_gpu_hourly_cost", "Hourly cost per GPU on this node.", node_l)
        total_cost = snap.gauge("node_total_hourly_cost", "Total node cost per hour.", node_l)
        gpu_count = snap.gauge("node_gpu_count", "Number of GPUs on the node.", node_l)
        alloc_l = ("namespace", "pod", "container", "node")
        cpu_alloc = snap.gauge("container_cpu_allocation", "CPU cores allocated to the "
                               "container.", alloc_l)
        mem_alloc = snap.gauge("container_memory_allocation_bytes", "Memory allocated to the "
                               "container.", alloc_l)
        gpu_alloc = snap.gauge("container_gpu_allocation", "GPUs allocated to the container.",
                               alloc_l)
        nodes = sorted({m.spec.node for m in self.models.values()})
        for i, node in enumerate(nodes):
            f = self.price_factor.get(node, 1.0)
            labels = (node, NODE_TYPE["instance_type"], NODE_TYPE["region"],
                      f"aws:///{NODE_TYPE['region']}a/i-0a1b2c3d4e5f6000{i + 1}", "amd64")
            cpu_cost.set(labels, CPU_PRICE * f)
            ram_cost.set(labels, RAM_PRICE * f)
            gpu_cost.set(labels, GPU_PRICE * f)
            total_cost.set(labels, f * (CPU_PRICE * NODE_TYPE["vcpus"]
                                        + RAM_PRICE * NODE_TYPE["ram_gib"]
                                        + GPU_PRICE * NODE_TYPE["gpus"]))
            gpu_count.set(labels, NODE_TYPE["gpus"])
        for (model, version), pod in sorted(self.pods.items()):
            if version not in state[model].deployed:
                continue
            container = model
            image = f"registry.example.com/ml/{model}:{version}"
            gl = (str(pod.gpu), pod.uuid, f"00000000:{0x17 + pod.gpu:02X}:00.0",
                  f"nvidia{pod.gpu}", GPU_MODEL, pod.node, NAMESPACE, pod.pod, container)
            used = 2800.0 + 60.0 * pod.gpu_util
            gpu_util.set(gl, round(pod.gpu_util))
            fb_used.set(gl, round(used))
            fb_free.set(gl, round(GPU_MEMORY_MIB - used))
            power.set(gl, 55.0 + 1.9 * pod.gpu_util)
            temp.set(gl, round(34.0 + 0.45 * pod.gpu_util))
            xid.set(gl, 0.0)
            cgroup = (f"/kubepods/burstable/pod{pod.uid}/"
                      f"{uuid.uuid5(uuid.NAMESPACE_URL, pod.pod + '/' + container).hex}")
            cl = (NAMESPACE, pod.pod, container, image, cgroup, cgroup.rsplit("/", 1)[1])
            cpu.set((*cl, "total"), pod.cpu_seconds)
            ws.set(cl, pod.working_set)
            periods.set(cl, pod.cfs_periods)
            throttled.set(cl, pod.cfs_throttled)
            for r, unit, rq, lm in (("cpu", "core", CPU_REQUEST, CPU_LIMIT),
                                    ("memory", "byte", MEM_REQUEST, MEM_LIMIT),
                                    ("nvidia_com_gpu", "integer", 1.0, 1.0)):
                req.set((NAMESPACE, pod.pod, pod.uid, container, pod.node, r, unit), rq)
                lim.set((NAMESPACE, pod.pod, pod.uid, container, pod.node, r, unit), lm)
            restarts.set((NAMESPACE, pod.pod, pod.uid, container), pod.restarts)
            for why in TERMINATION_REASONS:
                reason.set((NAMESPACE, pod.pod, pod.uid, container, why),
                           1.0 if pod.last_reason == why else 0.0)
            al = (NAMESPACE, pod.pod, container, pod.node)
            cpu_alloc.set(al, max(CPU_REQUEST, pod.cores))
            mem_alloc.set(al, max(MEM_REQUEST, pod.working_set))
            gpu_alloc.set(al, 1.0)
