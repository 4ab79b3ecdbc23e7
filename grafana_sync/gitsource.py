"""Read the dashboard JSON committed at a git ref, without a checkout.

`git ls-tree` lists the files under the compiled-dashboards folder at the ref and
`git cat-file --batch` reads their blobs in one process; the working tree and index are never
touched, so this is safe to run with uncommitted changes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.jsonio import check_dashboard, decode_text, index_by_uid, parse_json_text


def _git(args: list[str], cwd: Path, input_bytes: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input_bytes,
                              capture_output=True, check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed (needed for --against-ref)") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
    return proc.stdout


def repo_toplevel(cwd: Path) -> Path:
    """The root of the git work tree containing cwd; ConfigError when cwd is not in one."""
    try:
        out = _git(["rev-parse", "--show-toplevel"], cwd)
    except ConfigError:
        raise ConfigError(f"{cwd} is not inside a git repository (needed for --against-ref)"
                          ) from None
    return Path(out.decode().strip())


def resolve_ref(ref: str, cwd: Path) -> str:
    """The commit id `ref` names; an unknown ref is a one-line ConfigError."""
    if not ref or ref.startswith("-"):
        raise ConfigError(f"invalid git ref {ref!r}")
    try:
        out = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                   cwd)
    except ConfigError:
        raise ConfigError(f"unknown git ref {ref!r} (try a branch, tag or commit, "
                          f"e.g. HEAD or origin/main; in CI fetch with fetch-depth: 0)") from None
    return out.decode().strip()


def list_json_files(commit: str, folder: PurePosixPath, top: Path) -> list[tuple[str, str]]:
    """(path, blob id) of every *.json file under folder at commit, sorted by path."""
    pathspec = [] if str(folder) in ("", ".") else ["--", f"{folder}/"]
    out = _git(["ls-tree", "-r", "-z", "--full-tree", commit, *pathspec], top)
    files: list[tuple[str, str]] = []
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        _mode, kind, blob = meta.split()
        name = PurePosixPath(path).name
        if kind == "blob" and name.endswith(".json") and not name.startswith("."):
            files.append((path, blob))
    return sorted(files)


def read_blobs(blobs: list[str], top: Path) -> list[bytes]:
    """The contents of the given blobs, in order, through one `git cat-file --batch`."""
    if not blobs:
        return []
    out = _git(["cat-file", "--batch"], top, input_bytes="".join(f"{b}\n" for b in blobs).encode())
    contents: list[bytes] = []
    pos = 0
    for _ in blobs:
        header_end = out.index(b"\n", pos)
        _sha, _kind, size = out[pos:header_end].decode().split()
        start = header_end + 1
        contents.append(out[start:start + int(size)])
        pos = start + int(size) + 1  # blob content is followed by a newline
    return contents


def load_dashboards_at_ref(ref: str, folder: Path, cwd: Path | None = None
                           ) -> dict[str, dict[str, Any]]:
    """uid -> dashboard for every compiled JSON file under `folder` as committed at `ref`.

    `folder` is the compiled-dashboards directory in the work tree (absolute, or relative to
    cwd). A folder that does not exist at the ref gives no dashboards (every local one is new).
    Errors (not a repository, unknown ref, malformed JSON, duplicate uid) are one-line
    ConfigErrors naming `ref:path`.
    """
    cwd = (cwd or Path.cwd()).resolve()
    top = repo_toplevel(cwd).resolve()
    commit = resolve_ref(ref, cwd)
    folder_abs = (cwd / folder).resolve()
    try:
        rel = PurePosixPath(folder_abs.relative_to(top).as_posix())
    except ValueError:
        raise ConfigError(f"{folder} is outside the git repository at {top}") from None
    files = list_json_files(commit, rel, top)
    contents = read_blobs([blob for _path, blob in files], top)
    def parsed():
        for (path, _blob), raw in zip(files, contents, strict=True):
            name = f"{ref}:{path}"
            text = decode_text(raw, name)
            yield name, check_dashboard(parse_json_text(text, name), name)

    return {uid: dash for uid, (_name, dash) in index_by_uid(parsed()).items()}
