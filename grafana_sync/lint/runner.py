"""Load dashboards and configuration, run the enabled rules, apply `.lint` files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.jsonio import (
    atomic_write_text,
    canonical_dumps,
    check_dashboard,
    compiled_files,
    load_dashboard_file,
    parse_json_text,
)
from grafana_sync.lint.base import LintContext, Rule
from grafana_sync.lint.config import LintConfig, apply_configs, load_lint_file
from grafana_sync.lint.contract import (
    MetricContract,
    load_contract,
    load_label_map,
    load_record_exprs,
    load_records,
    rule_files,
)
from grafana_sync.lint.model import ERROR, WARNING, Dashboard, Finding
from grafana_sync.lint.registry import ALIASES, FOREIGN_RULES, RULES, RULES_BY_NAME
from grafana_sync.project import LintSettings, Project

LINT_FILE = ".lint"


@dataclass
class LintOptions:
    root: Path
    output_dir: Path
    paths: list[Path] = field(default_factory=list)
    metrics_contract: Path | None = None
    rule_specs: list[str] = field(default_factory=list)
    config_files: list[Path] = field(default_factory=list)
    enable: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    fix: bool = False  # apply the mechanical fixes (rules marked fixable), then lint again
    # Lint this text instead of files (`--stdin`); stdin_path names it in messages and decides
    # which `.lint` files apply (it need not exist). With fix, the fixed JSON is in `fixed_text`.
    stdin_text: str | None = None
    stdin_path: Path | None = None
    #: The project's configured contract and rule files ([tool.grafana-sync.lint] of root's
    #: pyproject.toml, grafana_sync.project), used when metrics_contract / rule_specs are not
    #: given; None reads them from root. The engine has no default file names of its own.
    project_settings: LintSettings | None = None


@dataclass
class LintResult:
    findings: list[Finding]
    dashboards: int
    excluded: int
    notes: list[str]
    fixed: list[Finding] = field(default_factory=list)  # what --fix fixed
    fixed_text: str | None = None  # --stdin --fix: the fixed dashboard JSON

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)


def rule_name(name: str) -> str:
    """Canonical rule name for a user-given one; unknown names are a ConfigError."""
    name = ALIASES.get(name, name)
    if name not in RULES_BY_NAME:
        raise ConfigError(f"unknown rule {name!r} (see 'grafana-sync lint --list-rules')")
    return name


def enabled_rules(enable: list[str], disable: list[str]) -> list[Rule]:
    on = {rule_name(n) for n in enable}
    off = {rule_name(n) for n in disable}
    return [r for r in RULES if (r.enabled_by_default or r.name in on) and r.name not in off]


def display(path: Path) -> str:
    """A path as the user would write it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resolve_files(options: LintOptions) -> list[Path]:
    if not options.paths:
        files = compiled_files(options.output_dir)
        if not files:
            raise ConfigError(
                f"no compiled dashboards under {display(options.output_dir)} "
                "(run 'grafana-sync build' first, or pass PATH...)"
            )
        return files
    files: list[Path] = []
    for path in options.paths:
        if path.is_dir():
            files.extend(compiled_files(path))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or directory")
    if not files:
        raise ConfigError("no dashboard JSON files in the given paths")
    return files


def load_dashboards(files: list[Path]) -> list[Dashboard]:
    dashboards = []
    for path in files:
        raw = load_dashboard_file(path)
        dashboards.append(Dashboard(path=path, display_path=display(path), raw=raw))
    return dashboards


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def load_metric_contract(options: LintOptions, notes: list[str]) -> tuple[MetricContract | None, bool]:
    """(contract, explicit). The default contract applies only inside the output dir."""
    explicit = options.metrics_contract is not None
    settings = options.project_settings or Project.from_root(options.root).lint
    if explicit:
        path = options.metrics_contract
        if not path.is_file():
            raise ConfigError(f"{path}: metrics contract not found")
        contract = load_contract(path, display(path))
    else:
        path = settings.metrics_contract
        if path is None:
            notes.append("metric-contract-rule skipped: no metrics contract (pass "
                         "--metrics-contract PATH, or set metrics-contract in "
                         "[tool.grafana-sync.lint] of pyproject.toml)")
            return None, False
        if not path.is_file():
            notes.append(f"metric-contract-rule skipped: the configured metrics contract "
                         f"{display(path)} does not exist")
            return None, False
        try:
            contract = load_contract(path, display(path))
        except ConfigError as exc:
            notes.append(f"metric-contract-rule skipped: {exc}")
            return None, False
    files = []
    for spec in options.rule_specs or list(settings.rules):
        found = rule_files(spec, options.root)
        if not found and options.rule_specs:
            raise ConfigError(f"{spec}: matches no rule files")
        files.extend(found)
    for rule_file in files:
        contract.records |= load_records(rule_file, display(rule_file))
        contract.record_exprs.update(load_record_exprs(rule_file, display(rule_file)))
        contract.rule_sources.append(display(rule_file))
    if settings.label_map:
        contract.label_map = load_label_map(settings.label_map, "[tool.grafana-sync.lint]")
    contract.target_labels = tuple(settings.target_labels)
    return contract, explicit


class ConfigCache:
    """`.lint` files by path, each parsed once, with notes about unknown rules and reasons."""

    def __init__(self, notes: list[str]) -> None:
        self._loaded: dict[Path, LintConfig | None] = {}
        self._notes = notes

    def get(self, path: Path, required: bool = False) -> LintConfig | None:
        key = path.resolve()
        if key not in self._loaded:
            if not path.is_file():
                if required:
                    raise ConfigError(f"{path}: lint configuration file not found")
                self._loaded[key] = None
            else:
                config = load_lint_file(path, display(path), ALIASES)
                self._notes.extend(config.notes)
                for name in sorted(config.rule_names()):
                    if name not in RULES_BY_NAME and name not in FOREIGN_RULES:
                        self._notes.append(f"{config.source}: unknown rule {name!r} ignored")
                for what in config.missing_reasons():
                    self._notes.append(f"{config.source}: {what} has no reason; say why")
                self._loaded[key] = config
        return self._loaded[key]


def configs_for(dash: Dashboard, root: Path, cache: ConfigCache, extra: list[LintConfig]) -> list[LintConfig]:
    """The dashboard's own folder's `.lint`, its parents' up to the project root, the root's."""
    folders = [dash.path.resolve().parent]
    if _under(dash.path, root):
        while folders[-1] != root.resolve():
            folders.append(folders[-1].parent)
    elif root.resolve() not in folders:
        folders.append(root.resolve())
    found = [cache.get(folder / LINT_FILE) for folder in folders]
    return [c for c in found if c is not None] + extra


def _load_stdin(options: LintOptions) -> list[Dashboard]:
    path = options.stdin_path or Path.cwd() / "<stdin>"
    name = display(path) if options.stdin_path else "<stdin>"
    raw = check_dashboard(parse_json_text(options.stdin_text or "", name), name)
    return [Dashboard(path=path, display_path=name, raw=raw)]


def run_lint(options: LintOptions) -> LintResult:
    rules = enabled_rules(options.enable, options.disable)
    notes: list[str] = []
    if options.stdin_text is not None:
        dashboards = _load_stdin(options)
    else:
        dashboards = load_dashboards(resolve_files(options))
    cache = ConfigCache(notes)
    extra = [c for c in (cache.get(p, required=True) for p in options.config_files) if c]

    ctx = LintContext(dashboards=dashboards)
    if any(r.name in ("metric-contract-rule", "target-label-propagation-rule") for r in rules):
        contract, explicit = load_metric_contract(options, notes)
        ctx.contract = contract
        if contract is not None and explicit:
            ctx.contract_applies = lambda _d: True
        elif contract is not None:
            ctx.contract_applies = lambda d: _under(d.path, options.output_dir)
            if any(not _under(d.path, options.output_dir) for d in dashboards):
                notes.append(f"metric-contract-rule checks only dashboards under "
                             f"{display(options.output_dir)} against {contract.source}; pass "
                             "--metrics-contract PATH to check the others")

    findings, excluded, fixes = _check(dashboards, rules, ctx, options, cache, extra)
    result = LintResult(findings=findings, dashboards=len(dashboards), excluded=excluded,
                        notes=notes)
    if options.fix:
        _apply_fixes(dashboards, fixes, options, result)
        # lint again what the fixes produced: the findings left are the real state
        fresh = [Dashboard(path=d.path, display_path=d.display_path, raw=d.raw)
                 for d in dashboards]
        ctx = LintContext(dashboards=fresh, contract=ctx.contract,
                          contract_applies=ctx.contract_applies)
        result.findings, result.excluded, _ = _check(fresh, rules, ctx, options, cache, extra)
    result.notes = list(dict.fromkeys(notes))
    return result


Fix = tuple[Finding, Callable[[], None]]


def _check(dashboards: list[Dashboard], rules: list[Rule], ctx: LintContext,
           options: LintOptions, cache: ConfigCache, extra: list[LintConfig]
           ) -> tuple[list[Finding], int, dict[int, list[Fix]]]:
    """(findings, number excluded, fixes by dashboard index) of the rules on the dashboards."""
    findings: list[Finding] = []
    fixes: dict[int, list[Fix]] = {}
    excluded = 0
    for index, dash in enumerate(dashboards):
        configs = configs_for(dash, options.root, cache, extra)
        for rule in rules:
            try:
                issues = list(rule.check(dash, ctx))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{dash.display_path}: {rule.name} cannot check this dashboard "
                    f"({type(exc).__name__}: {exc}); is it valid Grafana dashboard JSON?"
                ) from None
            for issue in issues:
                finding = Finding(
                    file=dash.display_path,
                    rule=rule.name,
                    severity=issue.severity or rule.severity,
                    dashboard_uid=dash.uid,
                    dashboard_title=dash.title,
                    panel_id=issue.panel.id if issue.panel else None,
                    panel_title=issue.panel.title if issue.panel else None,
                    ref_id=issue.target.ref_id if issue.target else None,
                    message=issue.message,
                    target_index=issue.target.index if issue.target else None,
                    panel_index=issue.panel.index if issue.panel else None,
                    fixable=issue.fix is not None,
                )
                kept = apply_configs(finding, configs)
                if kept is None:
                    excluded += 1  # an excluded finding is never fixed either
                    continue
                findings.append(kept)
                if issue.fix is not None:
                    fixes.setdefault(index, []).append((kept, issue.fix))
    findings.sort(key=Finding.sort_key)
    return findings, excluded, fixes


def _apply_fixes(dashboards: list[Dashboard], fixes: dict[int, list[Fix]],
                 options: LintOptions, result: LintResult) -> None:
    """Run the fixes on each dashboard's JSON and write each changed file once, atomically.

    The file keeps its layout when it has one this writer reproduces (key order, indent, ASCII
    escaping: checked by a round trip of the unchanged JSON), so only the fixed values change;
    otherwise it is written in canonical form (sorted keys, 2-space indent) with a note.
    """
    for index, dash in enumerate(dashboards):
        todo = fixes.get(index, [])
        if options.stdin_text is not None:
            original = options.stdin_text
        elif todo:
            original = dash.path.read_text(encoding="utf-8")
        else:
            continue
        if not todo or not _own_shape(original, dash.display_path):
            if options.stdin_text is not None:
                result.fixed_text = original  # the editor's buffer, unchanged
            if not todo:
                continue
            result.notes.append(f"{dash.display_path}: not fixed: it is not classic dashboard "
                                "JSON (legacy rows, a Kubernetes resource or an API answer), "
                                "which lint reads converted; fix it where it is edited")
            continue
        dumps = _layout_of(original)
        for finding, fix in todo:
            fix()
            result.fixed.append(finding)
        if dumps is None:
            dumps = canonical_dumps
            if todo and options.stdin_text is None:
                result.notes.append(f"{dash.display_path}: written in canonical JSON form (sorted "
                                    "keys, 2-space indent): its own layout could not be kept")
        text = dumps(dash.raw)
        if options.stdin_text is not None:
            result.fixed_text = text
        elif text != original:
            mode = dash.path.stat().st_mode & 0o7777
            atomic_write_text(dash.path, text)
            dash.path.chmod(mode)  # a fix changes content, never permissions
            if _under(dash.path, options.output_dir):
                result.notes.append(f"{dash.display_path} is written by 'grafana-sync build': fix "
                                    "the dashboard's source too, or the next build undoes this")
    result.fixed.sort(key=Finding.sort_key)


def _own_shape(text: str, name: str) -> bool:
    """Whether lint read this JSON as it is (so fixing what lint read fixes the file)."""
    try:
        data = parse_json_text(text, name)
        return check_dashboard(data, name) is data
    except ConfigError:
        return False


def _layout_of(text: str) -> Callable[[Any], str] | None:
    """A serialiser reproducing `text` byte for byte from its own parsed JSON, or None."""
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return None
    if canonical_dumps(data) == text:
        return canonical_dumps  # keys stay sorted even when a fix adds one
    newline = "\n" if text.endswith("\n") else ""
    for indent in (2, 4, "\t", 1, 3, 8):
        for ascii_only in (False, True):
            def dumps(value: Any, indent: Any = indent, ascii_only: bool = ascii_only) -> str:
                return json.dumps(value, indent=indent, ensure_ascii=ascii_only) + newline
            if dumps(data) == text:
                return dumps
    return None
