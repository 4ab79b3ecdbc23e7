"""grafana_sync: compile grafanalib dashboards to canonical Grafana JSON, lint, diff and push them.

The engine is generic: it knows Grafana and grafanalib, nothing about the dashboards' subject.
"""

__version__ = "0.1.0"
