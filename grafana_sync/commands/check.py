"""`grafana-sync check`: run every dashboard query against a Prometheus; name the empty panels."""

from __future__ import annotations

import json
from pathlib import Path

import click

from grafana_sync.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from grafana_sync.jsonio import compiled_files, load_dashboard_file
from grafana_sync.project import find_project


def _duration(_ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from grafana_sync.check import parse_duration

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if seconds <= 0:
        raise click.BadParameter("must be greater than 0", param=param)
    return seconds


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prometheus", "prometheus_url", envvar="PROMETHEUS_URL", required=True,
              metavar="URL", help="Prometheus (or compatible) base URL, e.g. "
              "http://127.0.0.1:9090 [env PROMETHEUS_URL].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: problems and a summary; json: every variable, "
              "panel, target and annotation.")
@click.option("--range", "range_", callback=_duration, metavar="DURATION",
              help="Time range to query (e.g. 1h). Default: each dashboard's own (time.from).")
@click.option("--scrape-interval", callback=_duration, metavar="DURATION",
              help="The datasource's scrape interval, for $__rate_interval. Default: the "
              "provisioned datasource's timeInterval, else Prometheus's global scrape_interval.")
@click.option("--verbose", "-v", is_flag=True, help="Text: list panels with data too.")
@click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False),
              help="CA bundle to verify the Prometheus TLS certificate.")
@click.option("--insecure", is_flag=True, help="Skip TLS verification (not recommended).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds per request.")
def check(paths: tuple[Path, ...], prometheus_url: str, fmt: str, range_: float | None,
          scrape_interval: float | None, verbose: bool, ca_cert: str | None, insecure: bool,
          timeout: float) -> int:
    """Run every panel, variable and annotation query of compiled dashboards (PATH...; none =
    every compiled dashboard) against a Prometheus, with Grafana's variables and macros resolved
    as Grafana would. Each panel is reported as data, empty or error, with why (metric absent,
    label missing, selector matching nothing, query error). Queries whose `offset` reaches back
    before Prometheus's oldest data are reported apart and do not fail.

    Exit 0 when every panel has data, 1 otherwise, 2 on usage errors or an unreachable
    Prometheus.
    """
    from grafana_sync.check import Checker, CheckOptions, PrometheusAPI, render_text

    project = find_project(required=not paths)
    files = list(paths) or compiled_files(project.output_dir)
    if not files:
        raise ConfigError(f"no compiled dashboards in {project.output_dir} "
                          "(run grafana-sync build, or name the JSON files)")
    dashboards = []
    for path in files:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        dashboards.append((str(path), load_dashboard_file(path)))
    if scrape_interval is None:
        scrape_interval = _provisioned_scrape_interval(project.datasources_dir)
    api = PrometheusAPI(prometheus_url, timeout=timeout, ca_cert=ca_cert, insecure=insecure)
    report = Checker(api, CheckOptions(range_seconds=range_,
                                       scrape_interval=scrape_interval)).run(dashboards)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(report, verbose=verbose), nl=False)
    return EXIT_OK if report.ok else EXIT_FAILURE


class _AnyEnv(dict):
    """Environment for reading provisioning files offline: every ${VAR} expands to ''."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return ""


def _provisioned_scrape_interval(directory: Path) -> float | None:
    """timeInterval of the default (else first) provisioned Prometheus datasource, if any."""
    from grafana_sync.check import parse_duration
    from grafana_sync.provisioning import load_datasources

    if not directory.is_dir():
        return None
    try:
        specs = [s for s in load_datasources(directory, env=_AnyEnv())
                 if s.body.get("type") == "prometheus"]
    except ConfigError:
        return None
    specs.sort(key=lambda s: not s.body.get("isDefault"))
    for spec in specs:
        raw = (spec.body.get("jsonData") or {}).get("timeInterval")
        if isinstance(raw, str):
            try:
                return parse_duration(raw)
            except ValueError:
                continue
    return None
