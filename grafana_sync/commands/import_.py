"""`grafana-sync import FILE.json... [--output-dir dashboards/]`: dashboard JSON -> Python modules."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync.commands.options import defined_dir_option
from grafana_sync.errors import EXIT_OK, ConfigError, SyncError
from grafana_sync.importer import import_text
from grafana_sync.importer.generate import engine_is_first_party
from grafana_sync.importer.write import write_module
from grafana_sync.project import find_project, relative_to_cwd
from grafana_sync.pull import defined_uids


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE.json...")
@click.option("--output-dir", metavar="DIR",
              help="Where to write one Python module per dashboard [default: the project's "
                   "dashboards-dir, else dashboards/ at its root].")
@defined_dir_option
@click.option("--force", is_flag=True,
              help="Overwrite a module that already exists, or import a dashboard whose uid the "
                   "repository already defines.")
@click.option("--quiet", "-q", is_flag=True, help="Do not list the fields the build does not carry.")
def import_(files: tuple[str, ...], output_dir: str | None, compiled_dir: str | None, force: bool,
            quiet: bool) -> int:
    """Turn Grafana dashboard JSON into readable grafanalib modules.

    \b
    Any schemaVersion, legacy `rows` dashboards, the API's {"dashboard", "meta"} answer and
    Kubernetes-shaped (apiVersion/kind/spec) dashboards are read. Each module compiles (make
    dashboards) to exactly the JSON the build makes of the original; every field the build does
    not carry as it is (legacy Angular options, export-only sections) is listed per field.

    \b
    Example:
      grafana-sync import exported/*.json --output-dir dashboards/
      make dashboards && grafana-sync diff --against exported/
    """
    project = find_project(required=False, dashboards_dir=output_dir, output_dir=compiled_dir)
    out = relative_to_cwd(project.dashboards_dir)
    defined = defined_uids(relative_to_cwd(project.output_dir))
    first_party = engine_is_first_party(out)  # ruff sorts the imports by where the module lives
    code = EXIT_OK
    for name in files:
        path = Path(name)
        try:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
            result = import_text(text, name, engine_first_party=first_party)
            if result.uid in defined and not force:
                raise ConfigError(f"{name}: dashboard uid {result.uid!r} is already defined in this "
                                  f"repository ({defined[result.uid]}); pass --force to import it anyway")
            target = write_module(result, out, force=force)
        except SyncError as exc:
            click.echo(f"error: {exc}", err=True)
            code = max(code, exc.exit_code)
            continue
        click.echo(f"{name} -> {target} (uid {result.uid})")
        if not quiet:
            for note in result.notes:
                click.echo(f"  note: {note}")
    return code
