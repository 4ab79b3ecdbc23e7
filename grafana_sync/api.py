"""The Python API: build, check, lint, diff and push from your own tooling (docs/api.md).

Every function takes the project (a `Project`, a directory inside one, or None for the current
directory: the root is found as git finds it, grafana_sync.project) and returns a result object;
nothing here prints, exits or imports click. Errors a user can cause are raised as
`grafana_sync.errors.SyncError` subclasses (`ConfigError`: usage/configuration, exit code 2;
`BuildError`/`GrafanaError`: failures, exit code 1), each with a one-line message.

    from grafana_sync import api

    report = api.build()                  # compile and write
    assert api.check().up_to_date         # what `build --check` checks
    findings = api.lint().findings
    changes = api.diff(against="snapshot/").result
    plan = api.push(api.Connection("https://grafana.example.com", token=...), dry_run=True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grafana_sync.compile import (
    MANIFEST_NAME,
    BuiltDashboard,
    Incremental,
    OutputState,
    StreamResult,
    refusal,
    stream_build,
    write_stream,
)
from grafana_sync.connection import ConnectionSettings as Connection
from grafana_sync.errors import ConfigError, SyncError
from grafana_sync.project import Project, find_project, relative_to

if TYPE_CHECKING:  # build and check need no diff code: imported where used
    from grafana_sync.diff import DiffResult

__all__ = [
    "BuildReport", "CheckReport", "Connection", "DiffReport", "Project", "build", "check",
    "diff", "find_project", "lint", "push", "stale_outputs",
]

ProjectLike = Project | str | Path | None


def _project(project: ProjectLike, *, required: bool = True, **overrides: Any) -> Project:
    if isinstance(project, Project):
        if any(v is not None for v in overrides.values()):
            return Project.from_root(project.root, **overrides)
        return project
    return find_project(project, required=required, **overrides)


def known_datasources(project: Project) -> dict[str, dict[str, str]]:
    """Provisioned datasources by name and by uid -> {"type", "uid"} (for DatasourceResolver).

    Only names, types and uids are read; environment variables in other fields (URLs, secrets)
    need not be set for a build. Unreadable provisioning gives no table: it is push's business.
    """
    from grafana_sync.provisioning import load_datasources

    class _AnyEnv(dict):  # every $VAR expands to "": build only reads names, types and uids
        def __contains__(self, key: object) -> bool:
            return True

        def __missing__(self, key: str) -> str:
            return ""

    try:
        specs = load_datasources(project.datasources_dir, env=_AnyEnv())
    except SyncError:
        return {}
    table: dict[str, dict[str, str]] = {}
    for spec in specs:
        ref = {"type": str(spec.body.get("type", "")), "uid": spec.uid}
        table[spec.name] = table[spec.uid] = ref
    return table


# -- build and check --------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What `build` compiled and (unless `write=False`) wrote: dashboards, and the Prometheus
    rule files compiled from rule modules (grafana_sync.rules) when the project has them."""

    project: Project
    dashboards: list[BuiltDashboard]
    errors: list[SyncError]
    state: OutputState | None  # None when compiling failed (nothing compared or written)
    rule_states: list[Any] = field(default_factory=list)  # grafana_sync.rules.FolderState
    rule_files: int = 0
    written: bool = False
    #: sources compiled, and skipped because nothing they depend on changed (incremental build)
    compiled_sources: int = 0
    skipped_sources: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        return max((e.exit_code for e in self.errors), default=0)

    def _paths(self, name: str) -> list[Path]:
        if self.state is None:
            return []
        return list(getattr(self.state, name)) + [p for rs in self.rule_states
                                                   for p in getattr(rs, name)]

    @property
    def created(self) -> list[Path]:
        return self._paths("missing") if self.written else []

    @property
    def updated(self) -> list[Path]:
        return self._paths("stale") if self.written else []

    @property
    def removed(self) -> list[Path]:
        return self._paths("orphaned") if self.written else []

    @property
    def unchanged(self) -> list[Path]:
        return self._paths("unchanged")

    @property
    def left_alone(self) -> list[tuple[Path, str]]:
        """Rule files build did not touch because someone changed them since it wrote them.
        (JSON in the dashboards output it cannot prove it wrote makes build refuse instead.)"""
        return [(p, "changed since build wrote it") for rs in self.rule_states for p in rs.kept]


@dataclass
class CheckReport:
    """`build --check`: which compiled files are stale, missing or orphaned."""

    project: Project
    dashboards: list[BuiltDashboard]
    errors: list[SyncError]
    stale: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    orphaned: list[Path] = field(default_factory=list)
    rule_files: int = 0
    has_rules: bool = False

    @property
    def up_to_date(self) -> bool:
        return not (self.errors or self.stale or self.missing or self.orphaned or self.refused)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return max(e.exit_code for e in self.errors)
        return 0 if self.up_to_date else 1

    #: JSON files in the dashboards output that build did not write (or that changed since)
    refused: list[Path] = field(default_factory=list)

    def problems(self) -> list[tuple[str, Path]]:
        """("stale" | "missing" | "orphaned" | "not written by build", path) per file."""
        return ([("stale", p) for p in self.stale] + [("missing", p) for p in self.missing]
                + [("orphaned", p) for p in self.orphaned]
                + [("not written by build", p) for p in self.refused])


def _rule_states(project: Project) -> tuple[list[Any], list[SyncError], int]:
    """Compile the rule modules (if the rules folder exists): folder states, errors, file count."""
    from grafana_sync.project import relative_to_cwd

    source = relative_to_cwd(project.rules_dir)
    if not source.is_dir():
        if project.rules_dir_given:
            return [], [ConfigError(f"{source}: rules folder not found")], 0
        return [], [], 0
    from grafana_sync.rules import MANIFEST, compare_folder, compile_rules

    out, tests = project.rules_output_dir, project.rules_tests_dir
    result = compile_rules(source, out, tests)
    if result.errors:
        return [], list(result.errors), 0
    states = [compare_folder(result.rules, out)]
    if result.tests or (tests / MANIFEST).exists():
        states.append(compare_folder(result.tests, tests))
    return states, [], len(result.rules) + len(result.tests)


def _compile(project: Project, *, write: bool, incremental: bool = False
             ) -> tuple[StreamResult, list[SyncError], list[Any], int]:
    """Compile (streaming, grafana_sync.compile.stream_build) and compare with the output; with
    `incremental`, sources whose inputs did not change are skipped (grafana_sync.incremental)."""
    from grafana_sync.project import relative_to_cwd

    # paths relative to the current directory keep error lines short
    dashboards_dir = relative_to_cwd(project.dashboards_dir)
    options = None
    if incremental:
        options = Incremental(inputs=project.build_inputs, env=project.build_env,
                              root=project.root)
    result = stream_build(dashboards_dir, project.output_dir, known_datasources(project),
                          write=write, incremental=options)
    rule_states, rule_errors, rule_files = _rule_states(project)
    return result, [*result.errors, *rule_errors], rule_states, rule_files


def _build_project(project: ProjectLike, dashboards_dir: str | Path | None,
                   output_dir: str | Path | None, rules: Mapping[str, str | Path | None]
                   ) -> Project:
    return _project(project, dashboards_dir=dashboards_dir, output_dir=output_dir,
                    required=dashboards_dir is None or output_dir is None, **rules)


def build(project: ProjectLike = None, *, dashboards_dir: str | Path | None = None,
          output_dir: str | Path | None = None, rules_dir: str | Path | None = None,
          rules_output_dir: str | Path | None = None, rules_tests_dir: str | Path | None = None,
          write: bool = True) -> BuildReport:
    """Compile every dashboard source and rule module; write what changed (nothing at all when
    anything fails to compile, or when a rule file build would replace is not its own)."""
    proj = _build_project(project, dashboards_dir, output_dir,
                          {"rules_dir": rules_dir, "rules_output_dir": rules_output_dir,
                           "rules_tests_dir": rules_tests_dir})
    result, errors, rule_states, rule_files = _compile(proj, write=write, incremental=write)
    try:
        if errors:
            return BuildReport(proj, result.dashboards, errors, None)
        state = result.state
        report = BuildReport(proj, result.dashboards, errors, state, rule_states, rule_files,
                             compiled_sources=result.compiled, skipped_sources=result.reused)
        if write:
            if state.refused:  # JSON build cannot prove it wrote: refuse before writing anything
                raise refusal(state, proj.output_dir,
                              show=lambda p: str(relative_to(p, proj.root)))
            if rule_states:
                from grafana_sync.rules import write_folder
            for rs in rule_states:  # refuse before writing anything if a rule target is not ours
                if rs.foreign:
                    write_folder(rs)  # raises the one-line ConfigError
            write_stream(result, proj.output_dir)
            for rs in rule_states:
                write_folder(rs)
            report.written = True
        return report
    finally:
        result.spool.close()


def check(project: ProjectLike = None, *, dashboards_dir: str | Path | None = None,
          output_dir: str | Path | None = None, rules_dir: str | Path | None = None,
          rules_output_dir: str | Path | None = None, rules_tests_dir: str | Path | None = None
          ) -> CheckReport:
    """Compile in memory and compare with the committed files; writes nothing."""
    proj = _build_project(project, dashboards_dir, output_dir,
                          {"rules_dir": rules_dir, "rules_output_dir": rules_output_dir,
                           "rules_tests_dir": rules_tests_dir})
    result, errors, rule_states, rule_files = _compile(proj, write=False)
    dashboards = result.dashboards
    if errors:
        return CheckReport(proj, dashboards, errors)
    state = result.state
    report = CheckReport(proj, dashboards, errors, stale=list(state.stale),
                         missing=list(state.missing), orphaned=list(state.orphaned),
                         rule_files=rule_files, has_rules=bool(rule_states),
                         refused=list(state.refused))
    if state.manifest_stale and not report.problems():
        report.stale.append(proj.output_dir / MANIFEST_NAME)
    for rs in rule_states:
        report.stale += rs.stale + rs.foreign
        report.missing += rs.missing
        report.orphaned += rs.orphaned
        if rs.manifest_stale and not (rs.stale or rs.missing or rs.orphaned or rs.foreign):
            from grafana_sync.rules import MANIFEST

            report.stale.append(rs.folder / MANIFEST)
    return report


def stale_outputs(project: ProjectLike = None) -> list[tuple[Path, Path]]:
    """(compiled file, newer source) for compiled files older than a dashboard source file.

    A cheap mtime test first (any source, `_` libraries included, newer than a compiled file);
    only then the sources are compiled in memory, and a file counts only if its content really
    differs from what they produce now (so a fresh checkout's mtimes give no false alarm).
    """
    proj = _project(project)
    from grafana_sync.jsonio import compiled_files

    outputs = compiled_files(proj.output_dir)
    if not outputs or not proj.dashboards_dir.is_dir():
        return []
    sources = [p for p in proj.dashboards_dir.rglob("*")
               if p.suffix in (".py", ".json") and p.is_file() and "__pycache__" not in p.parts]
    if not sources:
        return []
    newest = max(sources, key=lambda p: p.stat().st_mtime)
    newest_mtime = newest.stat().st_mtime
    older = [p for p in outputs if p.stat().st_mtime < newest_mtime]
    if not older:
        return []
    result, errors, _rules, _n = _compile(proj, write=False)
    if errors:
        return [(p, newest) for p in older]
    differing = {p.resolve() for p in result.state.stale}
    return [(p, newest) for p in older if p.resolve() in differing]


# -- lint -------------------------------------------------------------------------------------


def lint(paths: Sequence[str | Path] = (), project: ProjectLike = None, *,
         metrics_contract: str | Path | None = None, rules: Sequence[str] = (),
         config_files: Sequence[str | Path] = (), enable: Sequence[str] = (),
         disable: Sequence[str] = (), fix: bool = False, stdin_text: str | None = None,
         stdin_path: str | Path | None = None) -> Any:
    """Lint compiled dashboards (`paths`; none = every compiled dashboard of the project).

    `fix` applies the mechanical fixes (rules marked fixable) to the files, then lints again;
    `stdin_text` lints that text instead of files (named `stdin_path` in messages; with `fix`
    the fixed JSON is in the result's `fixed_text`).

    The metrics contract and recording-rule files come from the arguments, else from the
    project's [tool.grafana-sync.lint] configuration. Returns a
    `grafana_sync.lint.runner.LintResult` (findings, errors, warnings, notes).
    """
    from grafana_sync.lint.runner import LintOptions, run_lint

    proj = _project(project, required=not paths and stdin_text is None)
    options = LintOptions(
        root=proj.root,
        output_dir=proj.output_dir,
        paths=[Path(p) for p in paths],
        metrics_contract=Path(metrics_contract) if metrics_contract is not None else None,
        rule_specs=list(rules),
        config_files=[Path(p) for p in config_files],
        enable=list(enable),
        disable=list(disable),
        project_settings=proj.lint,
        fix=fix,
        stdin_text=stdin_text,
        stdin_path=Path(stdin_path) if stdin_path is not None else None,
    )
    return run_lint(options)


# -- diff -------------------------------------------------------------------------------------


@dataclass
class DiffReport:
    """The panel-level diff and what the caller should know about its inputs."""

    result: DiffResult
    #: compiled files older than a source that now compiles differently: run build first
    stale: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.result.is_empty

    def render(self, fmt: str = "text", *, color: bool = False) -> str:
        from grafana_sync import diff_render

        if fmt == "json":
            return diff_render.render_json(self.result)
        if fmt == "markdown":
            return diff_render.render_markdown(self.result)
        return diff_render.render_text(self.result, color=color)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def diff(project: ProjectLike = None, *, against: str | Path | None = None,
         against_ref: str | None = None, connection: Connection | None = None,
         output_dir: str | Path | None = None, jobs: int = 4,
         check_stale: bool = True) -> DiffReport:
    """Local compiled dashboards ("new") against a folder of JSON, a git ref, or Grafana."""
    from grafana_sync.gitsource import load_dashboards_at_ref
    from grafana_sync.jsonio import load_compiled_dashboards

    given = [x for x in (against, against_ref, connection) if x is not None]
    if against is not None and against_ref is not None:
        raise ConfigError("give either --against DIR or --against-ref GITREF, not both")
    if len(given) > 1:
        raise ConfigError("compare against one of: a folder (--against), a git ref "
                          "(--against-ref) or Grafana (--url)")
    if not given:
        raise ConfigError("nothing to compare against: pass --url URL (or set GRAFANA_URL) for "
                          "the live Grafana, --against DIR or --against-ref GITREF")
    proj = _project(project, output_dir=output_dir, required=output_dir is None)
    if not proj.output_dir.is_dir():
        raise ConfigError(f"{_display(proj.output_dir)}: no compiled dashboards "
                          f"(run `grafana-sync build` first)")
    new = load_compiled_dashboards(proj.output_dir)
    if against_ref is not None:
        old = load_dashboards_at_ref(against_ref, proj.output_dir)
        old_label = against_ref
    elif against is not None:
        other = Path(against)
        if not other.is_dir():
            raise ConfigError(f"{against}: --against needs a directory of dashboard JSON")
        old = load_compiled_dashboards(other)
        old_label = str(against)
    else:
        assert connection is not None
        old, old_label = _remote(connection, set(new), jobs)
    from grafana_sync.diff import diff_dashboards

    result = diff_dashboards(old, new, old_label=old_label,
                             new_label=f"local {_display(proj.output_dir)}")
    stale = stale_outputs(proj) if check_stale else []
    return DiffReport(result=result, stale=stale)


def _remote(connection: Connection, local_uids: set[str], jobs: int
            ) -> tuple[dict[str, dict[str, Any]], str]:
    from grafana_sync.client import GrafanaClient
    from grafana_sync.redact import public_url
    from grafana_sync.sync import load_remote_dashboards

    client = GrafanaClient(connection)
    try:
        client.health()
        found = load_remote_dashboards(client, local_uids, jobs=jobs)
    finally:
        client.close()
    return found, f"grafana {public_url(connection.url)}"


# -- push -------------------------------------------------------------------------------------


@dataclass
class PushReport:
    """A push plan and, unless it was a dry run, the outcome of each write."""

    plan: Any  # grafana_sync.sync.Plan
    outcomes: list[Any] | None  # grafana_sync.sync.Outcome per write; None for a dry run
    dry_run: bool

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        done = [(o.kind, o.name, o.detail) for o in self.outcomes or [] if o.failed]
        return list(self.plan.failures) + done

    @property
    def ok(self) -> bool:
        return not (self.failures or self.plan.conflicts)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def push(connection: Connection, project: ProjectLike = None, *, dry_run: bool = False,
         prune: bool = False, force: bool = False, message: str | None = None,
         skip_datasource: bool = False, jobs: int = 4, read_jobs: int = 16,
         output_dir: str | Path | None = None,
         on_outcome: Callable[[Any], None] | None = None) -> PushReport:
    """Plan (and unless `dry_run`, apply) a push of the compiled dashboards, their folders and
    the provisioned datasources. A dry run only reads Grafana."""
    from grafana_sync.client import GrafanaClient
    from grafana_sync.provisioning import load_datasources, load_providers
    from grafana_sync.sync import default_message, load_local_dashboards
    from grafana_sync.sync import push as push_dashboards

    proj = _project(project, output_dir=output_dir)
    providers = load_providers(proj.output_dir)
    local = load_local_dashboards(proj.output_dir, providers)
    if not local:
        raise ConfigError(f"no compiled dashboards in {_display(proj.output_dir)}: run "
                          "'grafana-sync build' first (push refuses to run, and to prune, with "
                          "nothing defined)")
    try:
        datasources = [] if skip_datasource else load_datasources(proj.datasources_dir)
    except ConfigError as exc:
        raise ConfigError(f"{exc}; set it, or pass --skip-datasource to leave datasources "
                          "alone") from None
    message = message if message is not None else default_message(proj.root)
    client = GrafanaClient(connection)
    try:  # the orchestration is grafana_sync.sync.push, shared with the CLI
        result = push_dashboards(client, local, datasources, dry_run=dry_run, force=force,
                                 prune=prune, message=message, jobs=jobs, read_jobs=read_jobs,
                                 on_outcome=on_outcome)
    finally:
        client.close()
    return PushReport(plan=result.plan, outcomes=result.outcomes, dry_run=dry_run)
