"""ML model monitoring: the monitoring config (`ml_monitoring.config`) for dashboards, rules, demo."""
