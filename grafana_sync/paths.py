"""Where things live in a project: see grafana_sync.project (kept for existing imports)."""

from __future__ import annotations

from grafana_sync.project import (
    DEFAULT_DASHBOARDS_DIR,
    DEFAULT_DATASOURCES_DIR,
    DEFAULT_OUTPUT_DIR,
    Project,
)

ProjectPaths = Project

__all__ = ["DEFAULT_DASHBOARDS_DIR", "DEFAULT_DATASOURCES_DIR", "DEFAULT_OUTPUT_DIR", "ProjectPaths"]
