"""`grafana-sync import`: Grafana dashboard JSON -> readable grafanalib modules (see generate)."""

from grafana_sync.importer.generate import ImportResult, import_dashboard, import_text, module_name_for

__all__ = ["ImportResult", "import_dashboard", "import_text", "module_name_for"]
