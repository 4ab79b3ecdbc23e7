"""Where things live in a project (contract: DESIGN.md "Compile")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_DASHBOARDS_DIR = "dashboards"
DEFAULT_OUTPUT_DIR = "provisioning/dashboards"
DEFAULT_DATASOURCES_DIR = "provisioning/datasources"
# Prometheus rule-group modules and where their compiled rule files and promtool tests go.
DEFAULT_RULES_SRC_DIR = "rules"
DEFAULT_RULES_OUTPUT_DIR = "prometheus/rules"
DEFAULT_RULES_TESTS_DIR = "prometheus/tests"


@dataclass(frozen=True)
class ProjectPaths:
    """Paths of one project, resolved against its root (the current directory by default)."""

    root: Path
    dashboards_dir: Path
    output_dir: Path
    datasources_dir: Path

    @classmethod
    def from_root(
        cls,
        root: Path | str = ".",
        dashboards_dir: str | Path = DEFAULT_DASHBOARDS_DIR,
        output_dir: str | Path = DEFAULT_OUTPUT_DIR,
        datasources_dir: str | Path = DEFAULT_DATASOURCES_DIR,
    ) -> ProjectPaths:
        root = Path(root).resolve()
        return cls(
            root=root,
            dashboards_dir=(root / dashboards_dir),
            output_dir=(root / output_dir),
            datasources_dir=(root / datasources_dir),
        )
