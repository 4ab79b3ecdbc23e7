"""Render the shipped Prometheus and Alertmanager configs for a loopback stack (`make demo`).

prometheus/prometheus.yml and prometheus/alertmanager.yml name docker-compose services
(`demo:8000`, `pushgateway:9091`, …) and container paths (`/etc/alertmanager/secrets`). This
rewrites them for processes on 127.0.0.1 without touching the originals: every target is mapped
to a loopback port, the exporters that do not run here (DCGM, OpenCost: the demo simulates their
metrics on its own endpoint) are dropped, rule files and templates point into the repository,
and every Alertmanager receiver notifies only the local webhook sink (scripts/webhook_sink.py),
so a demo never pages anyone. An unknown target is an error, so a job added to prometheus.yml is
never silently scraped from the wrong place.

With `--speed N` (the demo's speed) the rules are not the committed prometheus/rules/*.yml but the
same rule modules compiled time-scaled into OUT_DIR/rules (grafana_sync.timescale: every `for`,
range window and window constant divided by N), so one rule-minute is one demo-minute and an
incident's alert fires and resolves while the demo shows it. The scrape and evaluation interval
then defaults to 15 demo-seconds (15 s / N, at least 1 s), range windows never drop below 4
scrapes, and Alertmanager's group_wait / group_interval / repeat_interval / resolve_timeout are
divided by N too (at least 1 s).

    python scripts/render_demo_config.py OUT_DIR --prometheus-port 19090 --demo-port 18000 \
        --webhook-port 19095 --speed 10 ...
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the project's packages (grafana_sync, rules)
    sys.path.insert(0, str(REPO))

from grafana_sync.errors import SyncError  # noqa: E402

PROMETHEUS_YML = REPO / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = REPO / "prometheus" / "alertmanager.yml"

# compose host:port -> the option naming its loopback port
TARGETS = {
    "localhost:9090": "prometheus_port",
    "demo:8000": "demo_port",
    "pushgateway:9091": "pushgateway_port",
    "node-exporter:9100": "node_exporter_port",
    "alertmanager:9093": "alertmanager_port",
}
# jobs whose exporter does not run in the demo stack (the demo simulates their metrics)
DROPPED_JOBS = {"dcgm", "opencost"}
SECRETS_DIR = "/etc/alertmanager/secrets"
TEMPLATES_DIR = "/etc/alertmanager/templates"


class RenderError(Exception):
    """The shipped config has something this script cannot map to the loopback stack."""


def _target(target: str, ports: dict[str, int]) -> str:
    if target not in TARGETS:
        raise RenderError(
            f"{PROMETHEUS_YML.name}: target {target!r} has no loopback mapping in "
            f"scripts/render_demo_config.py (known: {', '.join(sorted(TARGETS))})"
        )
    return f"127.0.0.1:{ports[TARGETS[target]]}"


def render_prometheus(
    config: dict, ports: dict[str, int], rules_dir: Path, scrape_interval: str | None = None
) -> dict:
    """The Prometheus config with loopback targets and absolute rule file paths.

    `scrape_interval` (e.g. "1s") overrides the global scrape and evaluation interval, for a
    demo sped up far enough that 15 s is too coarse.
    """
    out = copy.deepcopy(config)
    if scrape_interval:
        out["global"]["scrape_interval"] = scrape_interval
        out["global"]["evaluation_interval"] = scrape_interval
    out["rule_files"] = [str(rules_dir / Path(p).name) for p in config.get("rule_files", [])]
    for am in out.get("alerting", {}).get("alertmanagers", []):
        for sc in am.get("static_configs", []):
            sc["targets"] = [_target(t, ports) for t in sc["targets"]]
    jobs = []
    for job in out.get("scrape_configs", []):
        if job["job_name"] in DROPPED_JOBS:
            continue
        extra = set(job) - {"job_name", "static_configs", "honor_labels", "metrics_path",
                            "scrape_interval", "scrape_timeout", "scheme"}
        if extra:
            raise RenderError(
                f"{PROMETHEUS_YML.name}: job {job['job_name']!r} uses {sorted(extra)}, which "
                "the loopback stack does not support"
            )
        for sc in job.get("static_configs", []):
            sc["targets"] = [_target(t, ports) for t in sc["targets"]]
        jobs.append(job)
    out["scrape_configs"] = jobs
    return out


def _replace_paths(node, mapping: dict[str, str]):
    if isinstance(node, dict):
        return {k: _replace_paths(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_paths(v, mapping) for v in node]
    if isinstance(node, str):
        for old, new in mapping.items():
            if node.startswith(old + "/"):
                return new + node[len(old):]
    return node


_AM_TIMINGS = ("group_wait", "group_interval", "repeat_interval")


def scale_alertmanager_timings(config: dict, speed: float) -> dict:
    """Alertmanager's route timings and resolve_timeout divided by the demo's speed (at least
    1 s), so notifications (and resolved ones) follow the demo's clock like the rules do."""
    from grafana_sync.timescale import TimeScale, format_duration, parse_duration

    scale = TimeScale(speed)

    def dur(text: str) -> str:
        return format_duration(scale.seconds(parse_duration(text), 1))

    def route(node: dict) -> dict:
        node = dict(node)
        for key in _AM_TIMINGS:
            if key in node:
                node[key] = dur(node[key])
        if "routes" in node:
            node["routes"] = [route(r) for r in node["routes"]]
        return node

    out = copy.deepcopy(config)
    if "route" in out:
        out["route"] = route(out["route"])
    if "resolve_timeout" in (out.get("global") or {}):
        out["global"]["resolve_timeout"] = dur(out["global"]["resolve_timeout"])
    return out


def render_alertmanager(config: dict, secrets_dir: Path, templates_dir: Path,
                        webhook_url: str | None = None) -> dict:
    """The Alertmanager config with secret files and templates at local paths.

    With `webhook_url` (what `make demo` uses) every receiver keeps its name, route and
    inhibition but notifies only `webhook_url/<receiver>` (scripts/webhook_sink.py on loopback):
    no PagerDuty, Slack or other external integration is left, so a demo can never page anyone.
    """
    out = _replace_paths(
        config, {SECRETS_DIR: str(secrets_dir), TEMPLATES_DIR: str(templates_dir)}
    )
    if webhook_url is None:
        return out
    if not webhook_url.startswith(("http://127.", "http://localhost:", "http://[::1]:")):
        raise RenderError(f"webhook URL {webhook_url!r} is not on loopback")
    out["global"] = {k: v for k, v in (out.get("global") or {}).items()
                     if not k.startswith(("slack_", "pagerduty_", "opsgenie_", "victorops_",
                                          "wechat_", "telegram_", "webex_", "smtp_"))}
    out["receivers"] = [
        {"name": r["name"],
         "webhook_configs": [{"url": f"{webhook_url.rstrip('/')}/{r['name']}",
                              "send_resolved": True}]}
        for r in out.get("receivers", [])
    ]
    return out


def secret_files(config: dict) -> list[str]:
    """Every `*_file` value in the Alertmanager config (the secrets it reads)."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k.endswith("_file") and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    return sorted(set(found))


def demo_scrape_interval(speed: float, base: str | None) -> str:
    """15 s of demo time (the shipped scrape interval) at `speed`: whole seconds, at least 1 s."""
    from grafana_sync.timescale import parse_duration

    seconds = parse_duration(base or "15s")
    return f"{max(1, round(seconds / speed))}s"


def render_rules(out_dir: Path, speed: float, scrape_interval: str) -> Path:
    """The rule modules compiled with every window divided by `speed` into out_dir/rules."""
    from grafana_sync.rules import render_time_scaled
    from grafana_sync.timescale import TimeScale, parse_duration

    rules_out = out_dir / "rules"
    scale = TimeScale(speed, resolution=parse_duration(scrape_interval))
    render_time_scaled(REPO / "rules", rules_out, scale)
    return rules_out


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid speed {text!r}: not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"invalid speed {text!r}: must be > 0")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (no usage dump)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    for option in sorted(set(TARGETS.values())):
        parser.add_argument("--" + option.replace("_", "-"), type=int, required=True)
    parser.add_argument("--webhook-port", type=int, required=True,
                        help="port of the local webhook sink every receiver notifies")
    parser.add_argument("--scrape-interval", default=None,
                        help="override the global scrape/evaluation interval (e.g. 1s)")
    parser.add_argument("--speed", type=_speed, default=None,
                        help="the demo's speed: load the rules time-scaled by it (see above)")
    args = parser.parse_args(argv)
    ports = {name: getattr(args, name) for name in set(TARGETS.values())}
    out: Path = args.out_dir
    secrets = out / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    try:
        rules_dir = REPO / "prometheus" / "rules"
        scrape_interval = args.scrape_interval
        if args.speed is not None:
            shipped = yaml.safe_load(PROMETHEUS_YML.read_text()).get("global", {})
            scrape_interval = scrape_interval or demo_scrape_interval(
                args.speed, shipped.get("scrape_interval"))
            rules_dir = render_rules(out, args.speed, scrape_interval)
        prom = render_prometheus(
            yaml.safe_load(PROMETHEUS_YML.read_text()), ports, rules_dir, scrape_interval,
        )
        am = render_alertmanager(
            yaml.safe_load(ALERTMANAGER_YML.read_text()), secrets, REPO / "prometheus" / "templates",
            webhook_url=f"http://127.0.0.1:{args.webhook_port}",
        )
        if args.speed is not None:
            am = scale_alertmanager_timings(am, args.speed)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SyncError as exc:  # grafana_sync's one-line errors (a bad rule module, a bad duration)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    (out / "prometheus.yml").write_text(yaml.safe_dump(prom, sort_keys=False))
    (out / "alertmanager.yml").write_text(yaml.safe_dump(am, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
