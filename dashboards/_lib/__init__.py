"""Shared library of the ML monitoring dashboards (not a dashboard module: name starts with _)."""
