"""Read the Grafana provisioning files push mirrors: datasources and dashboard providers.

`provisioning/datasources/*.yaml` gives the datasources push ensures; `provisioning/dashboards/
*.yaml` (the file providers) say which Grafana folder each compiled dashboard belongs in, so a
push and a provisioning mount put every dashboard in the same folder.

Environment variables are expanded in values as Grafana does (`$VAR`, `${VAR}`, `$$` for a
literal `$`; keys are never expanded). grafana-sync also accepts `${VAR:-default}`; Grafana itself
does not, so use it only in files push reads and Grafana does not. A variable that is unset (and
has no default) is a one-line ConfigError naming the file and the variable, never an empty value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.redact import register_secret
from grafana_sync.uids import UID_RULE, is_valid_uid
from grafana_sync.yamlio import load_yaml_file

_ENV_RE = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# Fields of a provisioning datasource entry that the HTTP API accepts (AddDataSourceCommand).
_DATASOURCE_API_FIELDS = ("name", "type", "uid", "access", "url", "user", "database",
                          "basicAuth", "basicAuthUser", "withCredentials", "isDefault",
                          "jsonData", "secureJsonData")


def expand_env(value: Any, env: Mapping[str, str], source: Path) -> Any:
    """Expand $VAR/${VAR} in every string value (recursively; keys untouched)."""
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group("braced") or match.group("bare")
            if name in env:
                return env[name]
            if match.group("default") is not None:
                return match.group("default")
            raise ConfigError(f"{source}: environment variable {name} is not set "
                              f"(referenced as {match.group(0)})")
        return _ENV_RE.sub(sub, value)
    if isinstance(value, list):
        return [expand_env(v, env, source) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, env, source) for k, v in value.items()}
    return value


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith("."))


def _load_yaml(path: Path) -> dict[str, Any]:
    data = load_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a YAML mapping with apiVersion at the top")
    return data


# -- datasources ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasourceSpec:
    """One datasource from a provisioning file, as the HTTP API wants it.

    `body` may hold secrets (secureJsonData, expanded from the environment): never print it.
    """

    source: Path
    uid: str
    name: str
    body: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        return f"DatasourceSpec(uid={self.uid!r}, name={self.name!r}, source={str(self.source)!r})"


def _entries(directory: Path, key: str, env: Mapping[str, str] | None):
    """(file, index, entry with $VARs expanded) of every item of the `key` list in
    directory/*.yaml, in file order; a malformed list or item is a one-line ConfigError."""
    env = os.environ if env is None else env
    for path in _yaml_files(directory):
        entries = _load_yaml(path).get(key) or []
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: '{key}' must be a list")
        for i, raw in enumerate(entries):
            if not isinstance(raw, dict):
                raise ConfigError(f"{path}: {key}[{i}] must be a mapping")
            yield path, i, expand_env(raw, env, path)


def load_datasources(directory: Path, env: Mapping[str, str] | None = None
                     ) -> list[DatasourceSpec]:
    """Every datasource in directory/*.yaml (deleteDatasources/prune are Grafana's business)."""
    specs: list[DatasourceSpec] = []
    seen: dict[str, Path] = {}
    for path, i, entry in _entries(directory, "datasources", env):
        name, uid, dstype = entry.get("name"), entry.get("uid"), entry.get("type")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: datasources[{i}] has no name")
        if not isinstance(dstype, str) or not dstype:
            raise ConfigError(f"{path}: datasource {name!r} has no type")
        if not is_valid_uid(uid):
            raise ConfigError(f"{path}: datasource {name!r} needs a fixed uid "
                              f"({UID_RULE}) so push can upsert it")
        if uid in seen:
            raise ConfigError(f"{path}: datasource uid {uid!r} is also defined in {seen[uid]}")
        seen[uid] = path
        body = {k: entry[k] for k in _DATASOURCE_API_FIELDS if k in entry}
        secure = body.get("secureJsonData")
        if isinstance(secure, dict):  # never printed, whatever message they end up in
            for value in secure.values():
                if isinstance(value, str):
                    register_secret(value)
        body.setdefault("access", "proxy")
        specs.append(DatasourceSpec(source=path, uid=uid, name=name, body=body))
    return specs


# -- dashboard providers and folders ----------------------------------------------------------
@dataclass(frozen=True)
class Folder:
    """A Grafana folder a dashboard belongs in (None stands for General)."""

    uid: str
    title: str


@dataclass(frozen=True)
class Provider:
    source: Path
    name: str
    path: PurePosixPath
    folder: str
    folder_uid: str
    from_files_structure: bool


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def load_providers(directory: Path, env: Mapping[str, str] | None = None) -> list[Provider]:
    """Dashboard file providers from directory/*.yaml (e.g. provisioning/dashboards/*.yaml)."""
    providers: list[Provider] = []
    for path, i, entry in _entries(directory, "providers", env):
        options = entry.get("options") or {}
        opath = options.get("path") if isinstance(options, dict) else None
        name = str(entry.get("name") or f"providers[{i}]")
        if not isinstance(opath, str) or not opath:
            raise ConfigError(f"{path}: provider {name!r} has no options.path")
        folder = str(entry.get("folder") or "")
        folder_uid = str(entry.get("folderUid") or "")
        from_fs = _truthy(options.get("foldersFromFilesStructure", False))
        if from_fs and (folder or folder_uid):
            raise ConfigError(f"{path}: provider {name!r}: folder and folderUid must be "
                              "empty when foldersFromFilesStructure is true")
        if folder_uid and not is_valid_uid(folder_uid):
            raise ConfigError(f"{path}: provider {name!r}: folderUid {folder_uid!r} is not a "
                              f"valid uid ({UID_RULE})")
        providers.append(Provider(source=path, name=name,
                                  path=PurePosixPath(opath.rstrip("/") or "/"),
                                  folder=folder, folder_uid=folder_uid,
                                  from_files_structure=from_fs))
    return providers


def _slug_uid(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return (slug or "folder")[:40]


def _provider_anchor(provider: Provider, local_dirs: tuple[str, ...]) -> tuple[int, int] | None:
    """Where the provider's path points in the local tree: (depth, matched components), or None.

    The provider path is where Grafana sees the files (e.g. /etc/grafana/provisioning/dashboards/
    ml); Grafana's mount point is unknown here, so path components are matched from the end: the
    provider covers local directory local_dirs[:depth+1] when its path ends in those names.
    The deepest covered directory wins.
    """
    parts = provider.path.parts
    best: tuple[int, int] | None = None
    for depth in range(len(local_dirs)):
        k = 0
        while k <= depth and k < len(parts) and parts[-1 - k] == local_dirs[depth - k]:
            k += 1
        if k >= 1:
            best = (depth, k)
    return best


def folder_for(file: Path, output_dir: Path, providers: list[Provider]) -> Folder | None:
    """The Grafana folder of a compiled dashboard file (None: General).

    Rules, in order: the provider whose `options.path` ends in the file's directory (the deepest
    one) decides — its `folder`/`folderUid`, or with `foldersFromFilesStructure` the file's
    parent directory name; no matching provider: a file in `<output_dir>/<dir>/` goes to folder
    uid = title = `<dir>`; a file directly in `<output_dir>` goes to General.
    """
    rel = file.resolve().parent.relative_to(output_dir.resolve())
    # The chain of local directory names from the output dir down to the file's directory.
    local_dirs = (output_dir.resolve().name, *rel.parts)
    chosen: tuple[tuple[int, int], Provider] | None = None
    for provider in providers:
        anchor = _provider_anchor(provider, local_dirs)
        if anchor is not None and (chosen is None or anchor > chosen[0]):
            chosen = (anchor, provider)
    if chosen is not None:
        (depth, _), provider = chosen
        if provider.from_files_structure:
            if depth == len(local_dirs) - 1:
                return None  # a file at the provider's root goes to General
            return _dir_folder(file, local_dirs[-1])
        if not provider.folder and not provider.folder_uid:
            return None
        title = provider.folder or provider.folder_uid
        return Folder(uid=provider.folder_uid or _slug_uid(title), title=title)
    if not rel.parts:
        return None
    return _dir_folder(file, rel.parts[-1])


def _dir_folder(file: Path, dirname: str) -> Folder:
    if not is_valid_uid(dirname):
        raise ConfigError(f"{file}: folder directory name {dirname!r} is not a valid folder uid "
                          f"({UID_RULE}); rename it or add a dashboard "
                          "provider with folderUid for it")
    return Folder(uid=dirname, title=dirname)
