"""Write an imported module: atomically, never over a file without --force."""

from __future__ import annotations

from pathlib import Path

from grafana_sync.errors import ConfigError
from grafana_sync.importer.generate import ImportResult
from grafana_sync.jsonio import atomic_write_text


def write_module(result: ImportResult, output_dir: Path, *, force: bool = False) -> Path:
    target = output_dir / f"{result.module_name}.py"
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists (dashboard uid {result.uid!r}); pass --force "
                          "to overwrite it")
    try:
        atomic_write_text(target, result.source)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return target
