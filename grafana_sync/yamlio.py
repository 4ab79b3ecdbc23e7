"""Load a YAML file; every failure is one ConfigError line naming the file (and line:column)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from grafana_sync.errors import ConfigError
from grafana_sync.jsonio import decode_text


def load_yaml_file(path: Path, display: str | None = None, what: str = "YAML") -> Any:
    """`yaml.safe_load` of `path`; `what` names the kind of file in the error ("rule file", …)."""
    name = display or str(path)
    try:
        return yaml.safe_load(decode_text(path.read_bytes(), name))
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    except RecursionError:
        raise ConfigError(f"{name}: {what} nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{name}{where}: malformed {what}: {problem}") from None
