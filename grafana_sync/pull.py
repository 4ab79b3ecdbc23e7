"""Fetch live dashboards from Grafana (GET only) as JSON files and, optionally, Python modules.

`select_uids` resolves what to pull (uids, folders, tags: the union of explicit uids and the
search hits; nothing given = every dashboard), `pull` reads each one and writes
`<json_dir>/<uid>.json` (the dashboard model as Grafana returns it, push marker removed) and,
with `python_dir`, a module through `grafana_sync.importer`. Safety:

- only GET requests (health, search, read);
- a file that exists is never overwritten without `force`;
- a dashboard the repository already defines (its uid is among the compiled dashboards) is not
  written as a module, nor as JSON into the compiled output, without `force`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grafana_sync.client import GrafanaClient
from grafana_sync.errors import ConfigError, GrafanaError, SyncError
from grafana_sync.importer import import_dashboard
from grafana_sync.importer.generate import engine_is_first_party
from grafana_sync.importer.write import write_module
from grafana_sync.jsonio import atomic_write_text, canonical_dumps, compiled_files
from grafana_sync.sync import strip_push_marker


@dataclass
class Pulled:
    uid: str
    title: str
    json_path: Path | None = None
    module_path: Path | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class PullResult:
    pulled: list[Pulled] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each: uid and why
    folders: dict[str, str] = field(default_factory=dict)  # folder uid -> title, of the modules
    errors: list[SyncError] = field(default_factory=list)


def defined_uids(output_dir: Path) -> dict[str, Path]:
    """uid -> compiled file, for every dashboard the repository defines (its build output)."""
    found: dict[str, Path] = {}
    for path in compiled_files(output_dir):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("uid"), str):
            found.setdefault(data["uid"], path)
    return found


def select_uids(client: GrafanaClient, uids: Iterable[str], folders: Iterable[str],
                tags: Iterable[str]) -> list[str]:
    """Explicit uids plus the dashboards matching every tag in any of the folders."""
    uids, folders, tags = list(uids), list(folders), list(tags)
    chosen = list(dict.fromkeys(uids))
    if folders or tags or not uids:
        hits = client.search_dashboards(tag=tags[0] if tags else None, folder_uids=folders or None)
        for hit in hits:
            if not isinstance(hit, dict) or not isinstance(hit.get("uid"), str):
                continue
            hit_tags = hit.get("tags") if isinstance(hit.get("tags"), list) else []
            if all(t in hit_tags for t in tags[1:]) and hit["uid"] not in chosen:
                chosen.append(hit["uid"])
    return chosen


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def pull(client: GrafanaClient, uids: list[str], *, json_dir: Path, python_dir: Path | None,
         compiled_dir: Path, force: bool = False) -> PullResult:
    result = PullResult()
    defined = defined_uids(compiled_dir)
    for uid in uids:
        try:
            answer = client.get_dashboard(uid)
            if answer is None:
                raise GrafanaError(f"dashboard {uid!r}: not found in Grafana")
            dashboard = answer.get("dashboard") if isinstance(answer, dict) else None
            if not isinstance(dashboard, dict):
                raise GrafanaError(f"read dashboard {uid!r}: Grafana answered without a dashboard object")
            meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
            dashboard = strip_push_marker(dashboard)
            title = str(dashboard.get("title") or uid)
            overwrites_definition = python_dir is not None or _is_inside(json_dir, compiled_dir)
            if uid in defined and not force and overwrites_definition:
                result.skipped.append(f"{uid} ({title}): already defined in this repository "
                                      f"({defined[uid]}); pass --force to write it anyway")
                continue
            item = Pulled(uid=uid, title=title)
            imported = None
            if python_dir is not None:  # import first: a dashboard that cannot be imported writes nothing
                folder = meta.get("folderUid") if isinstance(meta.get("folderUid"), str) else None
                imported = import_dashboard(dashboard, f"{uid}.json", folder=folder or None,
                                            engine_first_party=engine_is_first_party(Path(python_dir)))
                if folder:
                    result.folders[folder] = str(meta.get("folderTitle") or folder)
                item.notes = imported.notes
            target = json_dir / f"{uid}.json"
            if target.exists() and not force:
                raise ConfigError(f"{target}: already exists; pass --force to overwrite it")
            if imported is not None:
                module = Path(python_dir or ".") / f"{imported.module_name}.py"
                if module.exists() and not force:
                    raise ConfigError(f"{module}: already exists; pass --force to overwrite it")
            try:
                atomic_write_text(target, canonical_dumps(dashboard))
            except OSError as exc:
                raise ConfigError(f"{target}: cannot write: {exc.strerror or exc}") from None
            item.json_path = target
            if imported is not None:
                item.module_path = write_module(imported, Path(python_dir or "."), force=force)
            result.pulled.append(item)
        except SyncError as exc:
            result.errors.append(exc)
    return result


def describe_selection(uids: list[str], folders: list[str], tags: list[str]) -> str:
    parts = []
    if uids:
        parts.append(f"uid {', '.join(uids)}")
    if folders:
        parts.append(f"folder {', '.join(folders)}")
    if tags:
        parts.append(f"tag {', '.join(tags)}")
    return " and ".join(parts) or "every dashboard"


__all__ = ["PullResult", "Pulled", "defined_uids", "describe_selection", "pull", "select_uids"]


