"""Plan and apply a push: folders, datasources and dashboards, owned and pruned safely.

`make_plan` only reads Grafana (GET); `apply_plan` performs the writes the plan lists, so a
dry run is `make_plan` + printing. Safety rules (docs/push.md):

- a dashboard is ours only if Grafana's copy carries the `managed-by-grafana-sync` tag; a uid
  held by any other dashboard is a conflict, overwritten only with `force`;
- each push stores a content hash in a `grafana-sync-hash:<hex>` tag; a managed dashboard whose
  content no longer matches its hash was edited in Grafana since the last push and is a conflict
  (without a hash, `meta.updatedBy` is compared with the pusher's own login instead);
- dashboards saved with `overwrite: false` and the version we read, so a concurrent edit between
  plan and apply fails with 412 instead of being lost;
- prune deletes only dashboards that no local file defines AND that are proven ours one by one:
  read back, carrying the ownership tag and a push marker that matches their current content
  under their own uid (`proves_ownership`). An edited one, or a "Save as" copy with the same
  tags, is a conflict shown with its diff; only `force` deletes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.client import GrafanaClient
from grafana_sync.errors import ConfigError, GrafanaError
from grafana_sync.jsonio import (
    compiled_files,
    format_path,
    index_by_uid,
    load_dashboard_file,
    non_finite_paths,
)
from grafana_sync.model import content_equal as _model_content_equal
from grafana_sync.model import equal_apart_from_noise_keys, normalise_for_compare
from grafana_sync.provisioning import DatasourceSpec, Folder, Provider, folder_for
from grafana_sync.uids import uid_problem

log = logging.getLogger(__name__)

OWNER_TAG = "managed-by-grafana-sync"
HASH_TAG_PREFIX = "grafana-sync-hash:"
HASH_LENGTH = 16

CREATE, UPDATE, UNCHANGED, CONFLICT, DELETE = "create", "update", "unchanged", "conflict", "delete"
FAILED = "failed"


# -- content, hashing and the push marker -----------------------------------------------------
def strip_push_marker(dashboard: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without the `grafana-sync-hash:` tag (what diff should compare against)."""
    dash = dict(dashboard)
    tags = dash.get("tags")
    if isinstance(tags, list):
        dash["tags"] = [t for t in tags if not (isinstance(t, str)
                                                and t.startswith(HASH_TAG_PREFIX))]
    return dash


def push_marker(dashboard: Mapping[str, Any]) -> str | None:
    """The content hash stored by the last push, if any."""
    for tag in dashboard.get("tags") or []:
        if isinstance(tag, str) and tag.startswith(HASH_TAG_PREFIX):
            return tag[len(HASH_TAG_PREFIX):]
    return None


def content_hash(dashboard: Mapping[str, Any]) -> str:
    """Stable hash of a dashboard's normalised content (push marker excluded).

    The uid is part of the content hashed, so a marker proves something only for the uid it was
    pushed under: a "Save as" copy carrying the same tags does not verify (`proves_ownership`).
    """
    return _hash_of(normalise_for_compare(strip_push_marker(dashboard)))


def _hash_of(content: Mapping[str, Any]) -> str:
    """content_hash of an already normalised dashboard (push marker excluded)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def proves_ownership(uid: str, dashboard: Mapping[str, Any]) -> bool:
    """Is Grafana's copy of `uid` exactly what this tool last pushed for that uid?

    True only when it carries the ownership tag and a push marker, its own uid is `uid`, and the
    marker equals the hash of its current content (which includes the uid). A dashboard edited
    in Grafana since, or a copy made with "Save as" (same tags, another uid), proves nothing.
    """
    tags = dashboard.get("tags")
    marker = push_marker(dashboard)
    return (isinstance(tags, list) and OWNER_TAG in tags and marker is not None
            and dashboard.get("uid") == uid and marker == content_hash(dashboard))


def content_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """grafana_sync.model.content_equal, push marker excluded."""
    return _model_content_equal(strip_push_marker(a), strip_push_marker(b))


def body_to_push(local: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard JSON to POST: local content + ownership tag + hash marker, no id/version.

    Only top-level keys change, so a shallow copy (strip_push_marker's) keeps `local` intact.
    """
    dash = _unmarked_body(local)
    dash["tags"] = [*dash["tags"], HASH_TAG_PREFIX + _hash_of(normalise_for_compare(dash))]
    return dash


def _unmarked_body(local: Mapping[str, Any]) -> dict[str, Any]:
    """body_to_push(local) without its push marker (a shallow copy: top-level keys only)."""
    dash = strip_push_marker(local)
    for key in ("id", "version"):
        dash.pop(key, None)
    tags = [t for t in dash.get("tags") or [] if isinstance(t, str)]
    if OWNER_TAG not in tags:
        tags.append(OWNER_TAG)
    dash["tags"] = tags
    return dash


def same_content_as_pushed(grafana_dash: Mapping[str, Any], local: Mapping[str, Any]) -> bool:
    """= content_equal(grafana_dash, body_to_push(local)), the comparison push plans with.

    Fast path (issue #18): Grafana answers what was saved, so after a push its copy usually
    equals the body apart from bookkeeping (`equal_apart_from_noise_keys`, a sufficient
    condition): then nothing is normalised or hashed. Otherwise each side is normalised once.
    """
    body = _unmarked_body(local)
    grafana_side = strip_push_marker(grafana_dash)
    if equal_apart_from_noise_keys(grafana_side, body):
        return True
    return normalise_for_compare(grafana_side) == normalise_for_compare(body)


def panel_diff_text(uid: str, grafana_side: Mapping[str, Any], local: Mapping[str, Any]) -> str:
    """Panel-level difference Grafana → local (what a forced push would change)."""
    from grafana_sync.diff import diff_dashboards  # only for conflicts: not on push's start-up
    from grafana_sync.diff_render import render_text

    old = {uid: strip_push_marker(grafana_side)}
    new = {uid: strip_push_marker(body_to_push(local))}
    result = diff_dashboards(old, new, old_label="Grafana", new_label="local")
    return render_text(result)


# -- local dashboards -------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalDashboard:
    uid: str
    title: str
    path: Path
    folder: Folder | None  # None: General
    dashboard: dict[str, Any] = field(repr=False)


def load_local_dashboards(output_dir: Path, providers: list[Provider]) -> list[LocalDashboard]:
    """Every compiled dashboard with the folder it belongs in; duplicate uids are ConfigErrors."""
    indexed = index_by_uid((str(path), load_dashboard_file(path)) for path in compiled_files(output_dir))
    local = []
    for uid, (name, dash) in indexed.items():
        problem = uid_problem(uid)
        if problem:  # checked for every file before the first request is sent
            raise ConfigError(f"{name}: dashboard uid {uid!r} {problem}")
        if not str(dash.get("title") or "").strip():
            raise ConfigError(f"{name}: dashboard {uid!r} has no title")
        bad = non_finite_paths(dash)
        if bad:
            raise ConfigError(f"{name}: dashboard {uid!r}: field {format_path(bad[0])} is not a "
                              "finite number (NaN/Infinity are not JSON); fix the source and build")
        path = Path(name)
        local.append(LocalDashboard(uid=uid, title=str(dash["title"]), path=path,
                                    folder=folder_for(path, output_dir, providers), dashboard=dash))
    return local


# -- the plan ---------------------------------------------------------------------------------
@dataclass
class FolderPlan:
    folder: Folder
    action: str  # create / update (retitle) / unchanged / failed
    current_title: str | None = None
    version: int | None = None
    reason: str = ""


@dataclass
class DatasourcePlan:
    spec: DatasourceSpec
    action: str  # create / update / unchanged / conflict / failed
    reason: str = ""


@dataclass
class DashboardPlan:
    uid: str
    title: str
    action: str  # create / update / unchanged / conflict / delete / failed
    folder: Folder | None = None
    reason: str = ""
    diff: str = ""
    local: dict[str, Any] | None = field(default=None, repr=False)
    remote_version: int | None = None
    forced: bool = False


@dataclass
class Plan:
    folders: list[FolderPlan] = field(default_factory=list)
    datasources: list[DatasourcePlan] = field(default_factory=list)
    dashboards: list[DashboardPlan] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for d in self.dashboards if d.action == action)

    @property
    def writes(self) -> int:
        """How many write calls applying the plan makes."""
        return (sum(1 for f in self.folders if f.action in (CREATE, UPDATE))
                + sum(1 for d in self.datasources if d.action in (CREATE, UPDATE))
                + sum(1 for d in self.dashboards if d.action in (CREATE, UPDATE, DELETE)))

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        """(kind, name, error) for everything that could not even be planned."""
        return ([("folder", f.folder.uid, f.reason) for f in self.folders if f.action == FAILED]
                + [("datasource", d.spec.uid, d.reason) for d in self.datasources
                   if d.action == FAILED]
                + [("dashboard", d.uid, d.reason) for d in self.dashboards
                   if d.action == FAILED])

    @property
    def conflicts(self) -> list[DashboardPlan | DatasourcePlan]:
        return ([d for d in self.datasources if d.action == CONFLICT]
                + [d for d in self.dashboards if d.action == CONFLICT])


def _folder_uid(folder: Folder | None) -> str:
    return folder.uid if folder else ""


def _folder_label(folder: Folder | None) -> str:
    return f"{folder.title!r} ({folder.uid})" if folder else "General"


def plan_dashboard(local: LocalDashboard, remote: dict[str, Any] | None, *,
                   identity: str | None, force: bool) -> DashboardPlan:
    """Decide what to do with one local dashboard given Grafana's copy (None: absent)."""
    plan = DashboardPlan(uid=local.uid, title=local.title, action=CREATE, folder=local.folder,
                         local=local.dashboard)
    if remote is None:
        plan.reason = f"new, in folder {_folder_label(local.folder)}"
        return plan
    grafana_dash = remote.get("dashboard") or {}
    meta = remote.get("meta") or {}
    plan.remote_version = grafana_dash.get("version") if isinstance(
        grafana_dash.get("version"), int) else meta.get("version")
    remote_folder = str(meta.get("folderUid") or "")
    same_folder = remote_folder == _folder_uid(local.folder)
    same_content = same_content_as_pushed(grafana_dash, local.dashboard)
    tags = grafana_dash.get("tags") or []
    if meta.get("provisioned"):
        plan.action = CONFLICT
        plan.reason = ("provisioned from files in Grafana (meta.provisioned): Grafana refuses API "
                       "saves; change the provisioning mount instead")
        if same_content and same_folder:
            plan.action, plan.reason = UNCHANGED, "provisioned, content already equal"
        return plan
    if same_content and same_folder:
        plan.action = UNCHANGED
        return plan
    if OWNER_TAG not in tags:
        plan.reason = (f"uid is held in Grafana by dashboard {grafana_dash.get('title')!r} "
                       f"without the {OWNER_TAG} tag (not ours)")
        plan.diff = panel_diff_text(local.uid, grafana_dash, local.dashboard)
        if not force:
            plan.action = CONFLICT
            return plan
        plan.action, plan.forced = UPDATE, True
        return plan
    edited, why = _edited_in_grafana(grafana_dash, meta, identity)
    changes = []
    if not same_content:
        changes.append("content changed")
    if not same_folder:
        changes.append(f"move from folder {remote_folder or 'General'!r} to "
                       f"{_folder_label(local.folder)}")
    plan.action = UPDATE
    plan.reason = ", ".join(changes)
    if edited:
        plan.diff = panel_diff_text(local.uid, grafana_dash, local.dashboard)
        if force:
            plan.forced = True
            plan.reason += f"; overwriting an edit made in Grafana ({why})"
        else:
            plan.action = CONFLICT
            plan.reason = f"changed in Grafana since the last push ({why})"
    return plan


def _edited_in_grafana(grafana_dash: Mapping[str, Any], meta: Mapping[str, Any],
                       identity: str | None) -> tuple[bool, str]:
    """Was Grafana's copy changed by someone else since grafana-sync pushed it?"""
    updated_by = str(meta.get("updatedBy") or "")
    when = str(meta.get("updated") or "")
    if updated_by:
        who = f"last saved by {updated_by!r}" + (f" at {when}" if when else "")
    else:
        who = "last saver unknown"
    marker = push_marker(grafana_dash)
    if marker is not None:
        if marker == content_hash(grafana_dash):
            return False, ""
        return True, f"content no longer matches the hash of the last push; {who}"
    if identity and updated_by == identity:
        return False, ""
    if identity:
        return True, f"no push hash on the dashboard; {who}, not by this token's user {identity!r}"
    return True, f"no push hash on the dashboard; {who}"


def plan_folder(client: GrafanaClient, folder: Folder) -> FolderPlan:
    try:
        remote = client.get_folder(folder.uid)
    except GrafanaError as exc:
        return FolderPlan(folder, FAILED, reason=str(exc))
    if remote is None:
        return FolderPlan(folder, CREATE)
    if remote.get("title") != folder.title:
        return FolderPlan(folder, UPDATE, current_title=remote.get("title"),
                          version=remote.get("version"))
    return FolderPlan(folder, UNCHANGED, current_title=remote.get("title"))


def plan_folders(client: GrafanaClient, folders: Iterable[Folder]) -> list[FolderPlan]:
    return [plan_folder(client, folder) for folder in sorted(set(folders), key=lambda f: f.uid)]


def plan_datasource(client: GrafanaClient, spec: DatasourceSpec, *, force: bool
                    ) -> DatasourcePlan:
    remote = client.get_datasource(spec.uid)
    if remote is None:
        other = client.get_datasource_by_name(spec.name)
        if other is not None and other.get("uid") != spec.uid:
            return DatasourcePlan(spec, CONFLICT,
                                  f"a datasource named {spec.name!r} already exists with uid "
                                  f"{other.get('uid')!r}; rename one of them")
        return DatasourcePlan(spec, CREATE, f"from {spec.source.name}")
    changed = [k for k, v in spec.body.items()
               if k != "secureJsonData" and remote.get(k) != v]
    set_fields = remote.get("secureJsonFields") or {}
    missing_secrets = [k for k in (spec.body.get("secureJsonData") or {}) if not set_fields.get(k)]
    if missing_secrets:
        changed.append("secureJsonData")  # names only: values are secret
    if not changed and not force:
        return DatasourcePlan(spec, UNCHANGED)
    if remote.get("readOnly"):
        if not changed:
            return DatasourcePlan(spec, UNCHANGED, "read-only in Grafana (provisioned)")
        return DatasourcePlan(spec, CONFLICT, "read-only in Grafana (provisioned from files), "
                                              f"differs in {', '.join(changed)}")
    return DatasourcePlan(spec, UPDATE,
                          f"{', '.join(changed)} changed" if changed else "re-sent (--force)")


#: Writes in flight at once (`--jobs`): Grafana serialises dashboard saves in its database (with
#: SQLite it retries a locked write only a few times) and this tool never re-sends a save.
DEFAULT_JOBS = 4
#: Reads in flight at once (`--read-jobs`): GETs are idempotent and retried with backoff (429
#: and 5xx included). A dashboard already in Grafana costs one GET (UI-edit detection needs its
#: content), so this sets the round trips of a no-op push: ceil(dashboards / read jobs).
DEFAULT_READ_JOBS = 16
#: Local uids per presence search (`dashboardUIDs`, a repeated key of at most ~55 bytes each):
#: 100 keep the request line under the 8 KiB that common proxies accept.
SEARCH_UIDS_PER_REQUEST = 100


@dataclass
class _Reads:
    """The reads of a plan that do not depend on each other, started together."""

    folders: list[Future[FolderPlan]]
    datasources: list[Future[DatasourcePlan]]
    presence: list[tuple[list[str], Future[set[str] | None]]]  # (uids, which of them exist)
    managed: Future[list[dict[str, Any]]] | None  # prune: the search for the ownership tag


def _start_reads(client: GrafanaClient, pool: Executor, local: list[LocalDashboard],
                 datasources: list[DatasourceSpec], *, force: bool, prune: bool) -> _Reads:
    folders = sorted({d.folder for d in local if d.folder}, key=lambda f: f.uid)
    uids = [d.uid for d in local]
    chunks = [uids[i:i + SEARCH_UIDS_PER_REQUEST]
              for i in range(0, len(uids), SEARCH_UIDS_PER_REQUEST)]
    return _Reads(
        folders=[pool.submit(plan_folder, client, folder) for folder in folders],
        datasources=[pool.submit(_plan_datasource_or_failure, client, spec, force)
                     for spec in datasources],
        presence=[(chunk, pool.submit(present_uids, client, chunk)) for chunk in chunks],
        managed=pool.submit(client.search_dashboards, tag=OWNER_TAG) if prune else None,
    )


def present_uids(client: GrafanaClient, uids: list[str]) -> set[str] | None:
    """Which of `uids` Grafana's search lists (`GET /api/search?dashboardUIDs=…`, one request
    for up to SEARCH_UIDS_PER_REQUEST uids); None when the search failed (read each one).

    A uid the search does not list is created without being read first: the save is sent with
    `overwrite: false` and no version, which Grafana refuses (412) if the uid exists after all
    (a dashboard this token cannot see, or a search index that lags), so nothing is overwritten.
    """
    try:
        hits = client.search_dashboards(dashboard_uids=uids)
    except GrafanaError as exc:
        log.debug("presence search failed, reading each dashboard instead: %s", exc)
        return None
    wanted = set(uids)
    return {hit["uid"] for hit in hits if hit["uid"] in wanted}


def _plan_datasource_or_failure(client: GrafanaClient, spec: DatasourceSpec,
                                force: bool) -> DatasourcePlan:
    try:
        return plan_datasource(client, spec, force=force)
    except GrafanaError as exc:
        return DatasourcePlan(spec, FAILED, str(exc))


def _read_and_plan(client: GrafanaClient, local: LocalDashboard, *, identity: str | None,
                   force: bool) -> DashboardPlan:
    """GET Grafana's copy and decide (in a worker: comparing overlaps other reads' waits)."""
    try:
        remote = client.get_dashboard(local.uid)
    except GrafanaError as exc:
        return DashboardPlan(uid=local.uid, title=local.title, action=FAILED,
                             folder=local.folder, reason=str(exc))
    return plan_dashboard(local, remote, identity=identity, force=force)


def _read_and_plan_prune(client: GrafanaClient, uid: str, *, force: bool
                         ) -> DashboardPlan | None:
    try:
        remote = client.get_dashboard(uid)
    except GrafanaError as exc:
        return DashboardPlan(uid=uid, title=uid, action=FAILED, reason=str(exc))
    return plan_prune_candidate(uid, remote, force=force)


def _finish_plan(client: GrafanaClient, pool: Executor, reads: _Reads,
                 local: list[LocalDashboard], *, force: bool, identity: str | None) -> Plan:
    """Read what the first round showed is needed (concurrently) and decide every action."""
    plan = Plan(folders=[f.result() for f in reads.folders],
                datasources=[d.result() for d in reads.datasources])
    to_read: set[str] = set()
    for chunk, future in reads.presence:
        found = future.result()
        to_read.update(chunk if found is None else found)
    planned = {d.uid: pool.submit(_read_and_plan, client, d, identity=identity, force=force)
               for d in local if d.uid in to_read}
    candidates: list[str] = []
    if reads.managed is not None:  # prune needs the complete list: a failed search is an error
        defined = {d.uid for d in local}
        candidates = sorted({hit["uid"] for hit in reads.managed.result()
                             if hit["uid"] not in defined})
    pruned = [pool.submit(_read_and_plan_prune, client, uid, force=force) for uid in candidates]
    for dash in local:
        future = planned.get(dash.uid)
        plan.dashboards.append(future.result() if future is not None else
                               plan_dashboard(dash, None, identity=identity, force=force))
    plan.dashboards.extend(p for p in (f.result() for f in pruned) if p is not None)
    return plan


def make_plan(client: GrafanaClient, local: list[LocalDashboard],
              datasources: list[DatasourceSpec], *, force: bool = False, prune: bool = False,
              identity: str | None = None, read_jobs: int = DEFAULT_READ_JOBS) -> Plan:
    """Read Grafana (GET only) and decide every action; no write call is made here.

    Round trips (issue #18): one round reads the folders, the datasources and which local uids
    exist (search by uid; with `prune` also the search for the ownership tag); then one GET per
    dashboard that exists (its content decides unchanged / update / conflict, UI edits
    included) and per prune candidate, `read_jobs` at a time. Absent uids are planned as
    creations without a GET.
    """
    with ThreadPoolExecutor(max_workers=max(1, read_jobs)) as pool:
        reads = _start_reads(client, pool, local, datasources, force=force, prune=prune)
        return _finish_plan(client, pool, reads, local, force=force,
                            identity=identity)


def plan_prune_candidate(uid: str, remote: dict[str, Any] | None, *, force: bool
                         ) -> DashboardPlan | None:
    """A dashboard tagged as ours and no longer defined: delete it only if proven ours
    (`proves_ownership`: read back, exactly what this tool last pushed for that uid). Anything
    else tagged as ours is a conflict with its diff, deleted only with force. None: it is gone.
    """
    if remote is None:
        return None  # deleted meanwhile
    dash, meta = remote["dashboard"], remote.get("meta") or {}
    title = str(dash.get("title") or uid)
    if proves_ownership(uid, dash) and not meta.get("provisioned"):
        return DashboardPlan(uid=uid, title=title, action=DELETE,
                             reason="pushed by grafana-sync, unchanged since, no longer defined")
    if meta.get("provisioned"):
        why = "provisioned from files in Grafana (meta.provisioned): Grafana refuses API deletes"
    else:
        why = _unproven_reason(uid, dash, meta)
    item = DashboardPlan(uid=uid, title=title, action=CONFLICT, reason=why,
                         diff=_deletion_diff(uid, dash))
    if force and not meta.get("provisioned"):
        item.action, item.forced = DELETE, True
        item.reason = f"deleting although {why}"
    return item


def _deletion_diff(uid: str, dash: Mapping[str, Any]) -> str:
    """What deleting Grafana's copy would lose: the dashboard and each of its panels."""
    from grafana_sync.diff import diff_dashboards  # only for prune: not on push's start-up
    from grafana_sync.diff_render import render_text

    old = strip_push_marker(dash)
    gone = render_text(diff_dashboards({uid: old}, {}, old_label="Grafana", new_label="pruned"))
    panels = render_text(diff_dashboards({uid: old}, {uid: {**old, "panels": []}},
                                         old_label="Grafana", new_label="pruned"))
    keep = [line for line in panels.splitlines() if line.startswith("  ")]
    return "\n".join([*gone.splitlines(), *keep])


def _unproven_reason(uid: str, dash: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """Why a dashboard tagged as ours is not proven ours (for a prune conflict)."""
    who = []
    if meta.get("createdBy"):
        who.append(f"created by {str(meta['createdBy'])!r}")
    if meta.get("updatedBy"):
        who.append(f"last saved by {str(meta['updatedBy'])!r}"
                   + (f" at {meta['updated']}" if meta.get("updated") else ""))
    suffix = f" ({', '.join(who)})" if who else ""
    if push_marker(dash) is None:
        return f"no push marker: not proven to be pushed by grafana-sync{suffix}"
    return ("content does not match its push marker for this uid: changed in Grafana since the "
            f"last push, or a copy (\"Save as\") of a managed dashboard{suffix}")


def fetch_dashboards(client: GrafanaClient, uids: Iterable[str], *, jobs: int = 4
                     ) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
    """uid -> (Grafana's `{"dashboard", "meta"}` or None when absent, error text or None).

    The one concurrent remote read shared by push (plan, prune) and diff: `jobs` requests in
    flight; an error for one uid does not stop the others.
    """
    uids = list(dict.fromkeys(uids))

    def fetch(uid: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            return client.get_dashboard(uid), None
        except GrafanaError as exc:
            return None, str(exc)

    if not uids:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(uids)))) as pool:
        return dict(zip(uids, pool.map(fetch, uids), strict=True))


def load_remote_dashboards(client: GrafanaClient, local_uids: Iterable[str], *, jobs: int = 4
                           ) -> dict[str, dict[str, Any]]:
    """For diff: the live dashboards tagged as ours, plus any uid defined locally (concurrently).

    A uid defined locally but absent from Grafana is simply not returned (it shows as "added").
    The push marker tag is bookkeeping and is dropped. The first read error is raised.
    """
    uids = {hit["uid"] for hit in client.search_dashboards(tag=OWNER_TAG)} | set(local_uids)
    found: dict[str, dict[str, Any]] = {}
    for uid, (answer, error) in sorted(fetch_dashboards(client, sorted(uids), jobs=jobs).items()):
        if error is not None:
            raise GrafanaError(error)
        if answer is not None:
            found[uid] = strip_push_marker(answer["dashboard"])
    return found


# -- the whole push -------------------------------------------------------------------------
@dataclass
class PushResult:
    """What `push` planned and (unless a dry run) did."""

    plan: Plan
    outcomes: list[Outcome] | None  # None: dry run, nothing was written

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        done = [(o.kind, o.name, o.detail) for o in self.outcomes or [] if o.failed]
        return self.plan.failures + done

    @property
    def exit_code(self) -> int:
        return 1 if self.failures or self.plan.conflicts else 0


def plan_push(client: GrafanaClient, local: list[LocalDashboard],
              datasources: list[DatasourceSpec], *, force: bool = False, prune: bool = False,
              read_jobs: int = DEFAULT_READ_JOBS) -> Plan:
    """Check that the URL is Grafana, learn who we are, and plan (GET requests only).

    Health and the signed-in user are read in the same first round as `make_plan`'s
    independent reads; their errors are reported first, as if they had been read first.
    `local` must not be empty: with nothing defined, prune would treat every dashboard as stale.
    """
    if not local:
        raise ConfigError("no compiled dashboards to push (push refuses to run, and to prune, "
                          "with nothing defined)")
    with ThreadPoolExecutor(max_workers=max(1, read_jobs)) as pool:
        health = pool.submit(client.health)
        user = pool.submit(client.current_user)
        reads = _start_reads(client, pool, local, datasources, force=force, prune=prune)
        health.result()
        login = (user.result() or {}).get("login")
        identity = login if isinstance(login, str) else None
        return _finish_plan(client, pool, reads, local, force=force,
                            identity=identity)


def push(client: GrafanaClient, local: list[LocalDashboard], datasources: list[DatasourceSpec],
         *, dry_run: bool = False, force: bool = False, prune: bool = False, message: str = "",
         jobs: int = DEFAULT_JOBS, read_jobs: int = DEFAULT_READ_JOBS,
         on_outcome: Callable[[Outcome], None] | None = None) -> PushResult:
    """`plan_push`, then unless `dry_run` apply the plan (`on_outcome` sees each result)."""
    plan = plan_push(client, local, datasources, force=force, prune=prune, read_jobs=read_jobs)
    if dry_run:
        return PushResult(plan, None)
    return PushResult(plan, apply_plan(client, plan, message=message, jobs=jobs,
                                       on_outcome=on_outcome))


def default_message(root: Path) -> str:
    """`grafana-sync push <git describe>: <HEAD subject>` in a git checkout, else a plain line."""
    def git(*args: str) -> str:
        try:
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""

    describe = git("describe", "--always", "--dirty")
    subject = git("log", "-1", "--format=%s")
    message = "grafana-sync push"
    if describe:
        message += f" {describe}"
    if subject:
        message += f": {subject}"
    return message[:500]


# -- applying it ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What happened to one item of the plan."""

    kind: str  # folder / datasource / dashboard
    name: str
    action: str  # the planned action, or "failed"
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.action == FAILED


def apply_plan(client: GrafanaClient, plan: Plan, *, message: str, jobs: int = DEFAULT_JOBS,
               on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Perform the plan's writes: folders, then datasources, then dashboards (concurrently).

    A failure is recorded and the rest goes on; nothing is retried that may have applied.
    """
    outcomes: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    broken_folders = {fp.folder.uid: fp.reason for fp in plan.folders if fp.action == FAILED}
    for fp in plan.folders:
        try:
            if fp.action == CREATE:
                client.create_folder(fp.folder.uid, fp.folder.title)
            elif fp.action == UPDATE:
                client.update_folder(fp.folder.uid, fp.folder.title, fp.version)
            else:
                continue
            record(Outcome("folder", fp.folder.uid, fp.action, fp.folder.title))
        except GrafanaError as exc:
            broken_folders[fp.folder.uid] = str(exc)
            record(Outcome("folder", fp.folder.uid, FAILED, str(exc)))

    for dp in plan.datasources:
        if dp.action not in (CREATE, UPDATE):
            continue
        try:
            if dp.action == CREATE:
                client.create_datasource(dp.spec.body)
            else:
                client.update_datasource(dp.spec.uid, dp.spec.body)
            record(Outcome("datasource", dp.spec.uid, dp.action, dp.reason))
        except GrafanaError as exc:
            record(Outcome("datasource", dp.spec.uid, FAILED, str(exc)))

    def do(item: DashboardPlan) -> Outcome:
        try:
            if item.action == DELETE:
                gone = client.delete_dashboard(item.uid)
                return Outcome("dashboard", item.uid, DELETE,
                               item.title if gone else f"{item.title} (already gone)")
            folder_uid = _folder_uid(item.folder)
            if folder_uid in broken_folders:
                return Outcome("dashboard", item.uid, FAILED,
                               f"not saved: its folder {folder_uid!r} could not be ensured")
            assert item.local is not None
            body = body_to_push(item.local)
            if item.action == UPDATE and item.remote_version is not None:
                body["version"] = item.remote_version
            client.save_dashboard(body, folder_uid=folder_uid or None, message=message,
                                  overwrite=item.forced)
            return Outcome("dashboard", item.uid, item.action, item.title)
        except GrafanaError as exc:
            return Outcome("dashboard", item.uid, FAILED, str(exc))

    writes = [d for d in plan.dashboards if d.action in (CREATE, UPDATE, DELETE)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in as_completed([pool.submit(do, item) for item in writes]):
            record(future.result())
    return outcomes
