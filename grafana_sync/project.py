"""Where a project lives and how it is configured (DESIGN.md "Compile"; docs/configuration.md).

The project root is found as git finds its repository: from the current directory upwards, the
nearest directory that has a `pyproject.toml` with a `[tool.grafana-sync]` table, or else the
default folders (`dashboards/` or `provisioning/dashboards/`). So every command works from any
subdirectory. The engine's own defaults name only its own conventions (where sources and
compiled JSON live); anything specific to a project (a metrics contract, rule files for lint)
comes from its configuration:

    [tool.grafana-sync]
    dashboards-dir = "dashboards"                 # sources (modules, .json)
    output-dir = "provisioning/dashboards"        # compiled <uid>.json
    datasources-dir = "provisioning/datasources"  # provisioning YAML that push reads
    rules-dir = "rules"                           # Prometheus rule-group modules (optional)
    rules-output-dir = "prometheus/rules"         # compiled <module>.yml rule files
    rules-tests-dir = "prometheus/tests"          # compiled <module>_test.yml promtool tests
    build-inputs = ["config.yaml"]                # files (globs) every dashboard depends on,
                                                  # beyond what build sees them read (optional)
    build-env = ["MY_CONFIG"]                     # environment variables likewise (optional)

    [tool.grafana-sync.lint]
    metrics-contract = "docs/metrics.md"          # markdown contract for metric-contract-rule
    rules = ["prometheus/rules"]                  # recording-rule files, directories or globs
    label-map = "pkg.module:function"             # {contract label: series label} (optional)
    target-labels = ["cluster"]                   # labels every series may carry besides job
                                                  # and instance (e.g. external labels)

Paths in the table are relative to the root.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = "pyproject.toml"
CONFIG_TABLE = "grafana-sync"
DEFAULT_DASHBOARDS_DIR = "dashboards"
DEFAULT_OUTPUT_DIR = "provisioning/dashboards"
DEFAULT_DATASOURCES_DIR = "provisioning/datasources"
# Prometheus rule-group modules and where their compiled rule files and promtool tests go.
DEFAULT_RULES_SRC_DIR = "rules"
DEFAULT_RULES_OUTPUT_DIR = "prometheus/rules"
DEFAULT_RULES_TESTS_DIR = "prometheus/tests"

_TOP_KEYS = {"dashboards-dir", "output-dir", "datasources-dir", "rules-dir", "rules-output-dir",
             "rules-tests-dir", "build-inputs", "build-env", "lint"}
_LINT_KEYS = {"metrics-contract", "rules", "label-map", "target-labels"}


@dataclass(frozen=True)
class LintSettings:
    """Project-specific inputs of lint (none by default: the engine assumes no file names)."""

    metrics_contract: Path | None = None
    rules: tuple[str, ...] = ()
    # `module:function` returning {contract label name: series label name} (a renamed setup)
    label_map: str | None = None
    # labels every series may carry besides the target's job and instance (external labels
    # such as a cluster label), named as in the contract (the label map applies)
    target_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    """Paths of one project, resolved against its root."""

    root: Path
    dashboards_dir: Path
    output_dir: Path
    datasources_dir: Path
    rules_dir: Path
    rules_output_dir: Path
    rules_tests_dir: Path
    lint: LintSettings = field(default_factory=LintSettings)
    config_file: Path | None = None  # the pyproject.toml that configured it, if any
    #: rules_dir was named (option or configuration): then a missing folder is an error, while
    #: the default one is simply optional
    rules_dir_given: bool = False
    #: extra inputs of every dashboard for the incremental build (grafana_sync.incremental):
    #: paths or globs relative to the root, and environment variable names
    build_inputs: tuple[str, ...] = ()
    build_env: tuple[str, ...] = ()

    @classmethod
    def from_root(cls, root: Path | str = ".", *, dashboards_dir: str | Path | None = None,
                  output_dir: str | Path | None = None,
                  datasources_dir: str | Path | None = None, rules_dir: str | Path | None = None,
                  rules_output_dir: str | Path | None = None,
                  rules_tests_dir: str | Path | None = None) -> Project:
        """The project at `root`, its configuration read from root/pyproject.toml if present.

        Explicit directories override the configuration; relative ones are taken as given
        (relative to the current directory, as a user typing a path means them).
        """
        root = Path(root).resolve()
        config_file = root / CONFIG_FILE
        table = _read_table(config_file) if config_file.is_file() else None
        settings = table or {}

        def folder(explicit: str | Path | None, key: str, default: str) -> Path:
            if explicit is not None:
                return Path(explicit).resolve()
            return root / _path_value(settings.get(key, default), config_file, key)

        lint_table = settings.get("lint", {})
        contract = lint_table.get("metrics-contract")
        return cls(
            root=root,
            dashboards_dir=folder(dashboards_dir, "dashboards-dir", DEFAULT_DASHBOARDS_DIR),
            output_dir=folder(output_dir, "output-dir", DEFAULT_OUTPUT_DIR),
            datasources_dir=folder(datasources_dir, "datasources-dir", DEFAULT_DATASOURCES_DIR),
            rules_dir=folder(rules_dir, "rules-dir", DEFAULT_RULES_SRC_DIR),
            rules_output_dir=folder(rules_output_dir, "rules-output-dir", DEFAULT_RULES_OUTPUT_DIR),
            rules_tests_dir=folder(rules_tests_dir, "rules-tests-dir", DEFAULT_RULES_TESTS_DIR),
            lint=LintSettings(
                metrics_contract=(root / _path_value(contract, config_file, "lint.metrics-contract")
                                  if contract is not None else None),
                rules=tuple(str(root / r) for r in lint_table.get("rules", ())),
                label_map=_label_map_value(lint_table.get("label-map"), config_file),
                target_labels=_label_list(lint_table.get("target-labels", []), config_file,
                                          "lint.target-labels"),
            ),
            config_file=config_file if table is not None else None,
            rules_dir_given=rules_dir is not None or "rules-dir" in settings,
            build_inputs=_string_list(settings.get("build-inputs", []), config_file,
                                      "build-inputs"),
            build_env=_env_list(settings.get("build-env", []), config_file),
        )


def _label_map_value(value: Any, source: Path | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[\w.]+:\w+", value):
        raise ConfigError(f"{source}: [tool.{CONFIG_TABLE}] lint.label-map must be "
                          f"'module:function', got {value!r}")
    return value


def _string_list(value: Any, source: Path | None, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{source}: [tool.{CONFIG_TABLE}] {key} must be a list of paths "
                          f"relative to the project root, got {value!r}")
    return tuple(value)


def _env_list(value: Any, source: Path | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, str) and re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", v) for v in value):
        raise ConfigError(f"{source}: [tool.{CONFIG_TABLE}] build-env must be a list of "
                          f"environment variable names, got {value!r}")
    return tuple(value)


def _label_list(value: Any, source: Path | None, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, str) and re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", v) for v in value):
        raise ConfigError(f"{source}: [tool.{CONFIG_TABLE}] {key} must be a list of label names, "
                          f"got {value!r}")
    return tuple(value)


def _path_value(value: Any, source: Path, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: [tool.{CONFIG_TABLE}] {key} must be a non-empty path string")
    return value


def _read_table(path: Path) -> dict[str, Any] | None:
    """The [tool.grafana-sync] table of a pyproject.toml (None when it has none), validated."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {str(exc).splitlines()[0]}") from None
    tool = data.get("tool")
    table = tool.get(CONFIG_TABLE) if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{CONFIG_TABLE}] must be a table")
    _check_keys(table, _TOP_KEYS, path, f"tool.{CONFIG_TABLE}")
    lint = table.get("lint", {})
    if not isinstance(lint, dict):
        raise ConfigError(f"{path}: [tool.{CONFIG_TABLE}.lint] must be a table")
    _check_keys(lint, _LINT_KEYS, path, f"tool.{CONFIG_TABLE}.lint")
    rules = lint.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) and r for r in rules):
        raise ConfigError(f"{path}: [tool.{CONFIG_TABLE}.lint] rules must be a list of paths "
                          "or globs")
    return table


def _check_keys(table: Mapping[str, Any], known: set[str], path: Path, name: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: [{name}] has an unknown key {key!r} "
                              f"(known: {', '.join(sorted(known))})")


def _is_root(directory: Path) -> bool:
    config = directory / CONFIG_FILE
    if config.is_file() and _read_table(config) is not None:
        return True
    return (directory / DEFAULT_DASHBOARDS_DIR).is_dir() or (directory / DEFAULT_OUTPUT_DIR).is_dir()


def find_root(start: Path | str | None = None) -> Path | None:
    """The nearest directory from `start` (default: the current one) upwards that is a project
    root (see the module doc), or None."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if _is_root(directory):
            return directory
    return None


def find_project(start: Path | str | None = None, *, required: bool = True,
                 **overrides: str | Path | None) -> Project:
    """The project containing `start` (default: the current directory).

    Not inside a project: a ConfigError saying so when `required`, else the current directory
    as the root (commands given explicit files, such as `lint FILE`, need no project).
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    root = find_root(here)
    if root is None:
        if required:
            raise ConfigError(
                f"{here} is not inside a grafana-sync project: no {CONFIG_FILE} with "
                f"[tool.{CONFIG_TABLE}], {DEFAULT_DASHBOARDS_DIR}/ or {DEFAULT_OUTPUT_DIR}/ here "
                "or in any parent directory (cd into the project, or pass -C DIR)")
        root = here
    return Project.from_root(root, **overrides)


def relative_to_cwd(path: Path) -> Path:
    """`path` relative to the current directory when it is inside it (short messages)."""
    return relative_to(path, Path.cwd())


def relative_to(path: Path, base: Path) -> Path:
    """`path` relative to `base` when it is inside it, else `path` as given."""
    try:
        return path.resolve().relative_to(base.resolve())
    except ValueError:
        return path
