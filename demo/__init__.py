"""Reference exporter: a real small model serving simulated traffic, emitting docs/metrics.md.

Run `python -m demo --help`. Modules: models (training), scenario (incident schedules, as data),
simulation (request stream and window scores), drift / quality (the statistics), evaluation
(batch job, Pushgateway), exporters (simulated DCGM/cAdvisor/kube-state-metrics/OpenCost),
instruments (the Prometheus registry), contract (reads docs/metrics.md).
"""
