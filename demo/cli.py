"""`python -m demo`: the reference exporter's command line."""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import textwrap
import threading
import time
from urllib.parse import urlparse

from demo.scenario import INCIDENT_KINDS, SCENARIOS
from demo.stacks import STACKS

LLM_STACKS = ("vllm", "tgi")  # the LLM engines' native names (demo/llm.py LLM_STACKS)

TICK_SECONDS = 0.5
MAX_SPEED = 3600.0
MAX_SEED = 2**32 - 1


class UsageError(Exception):
    """A user mistake: printed as one `error: …` line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{message} (see python -m demo --help)")


def _describe_scenarios() -> str:
    lines = []
    for s in SCENARIOS.values():
        lines.append(textwrap.fill(f"{s.name}: {s.description}", width=96,
                                   initial_indent="  ", subsequent_indent="      "))
        for inc in s.incidents:
            end = "end" if inc.end is None else f"{inc.end / 60:g} min"
            params = ", ".join(f"{k}={v}" for k, v in inc.params.items())
            lines.append(f"      {inc.start / 60:>5g} min .. {end:<8} {inc.kind:<17} "
                         f"{inc.model}" + (f" ({params})" if params else ""))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    incidents = "\n".join(f"  {k}: {v}" for k, v in INCIDENT_KINDS.items())
    p = _Parser(
        prog="python -m demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Reference exporter for the ML monitoring dashboards. Trains small scikit-learn\n"
            "models on bundled datasets (breast cancer, wine; no download), serves a simulated\n"
            "request stream through them and exposes every metric of docs/metrics.md on\n"
            "http://HOST:PORT/metrics: real predictions, accuracy/precision/recall/F1/AUC on\n"
            "delayed ground truth, per-feature drift (PSI, KS, Jensen-Shannon), fairness per\n"
            "group, feedback, errors, latency, plus SIMULATED DCGM (GPU), cAdvisor,\n"
            "kube-state-metrics and OpenCost metrics. A scenario injects incidents at known\n"
            "simulated offsets (see demo/scenario.py)."
        ),
        epilog=(
            "Scenarios (offsets in simulated minutes):\n" + _describe_scenarios()
            + "\n\nIncident kinds:\n" + incidents
            + "\n\nTime: --speed N makes one wall second N simulated seconds (traffic, ground-"
            "truth\ndelay, evaluation schedule and incident offsets all scale; prices and "
            "resource\ncounters do not). Exit codes: 0 stopped by Ctrl-C/SIGTERM, 2 bad usage."
        ),
    )
    p.add_argument("--port", type=int, default=8000, help="port to serve /metrics on "
                   "(default 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--speed", default="1", help="simulated seconds per wall second, > 0 and "
                   f"<= {MAX_SPEED:g} (default 1; tests use 60)")
    p.add_argument("--seed", type=int, default=7, help="random seed for the data split and "
                   "the traffic (default 7)")
    p.add_argument("--scenario", default="default", help="incident schedule: "
                   + ", ".join(SCENARIOS) + " (default: default)")
    p.add_argument("--pushgateway", metavar="URL", default=None, help="push the batch "
                   "evaluation metrics to this Pushgateway (e.g. http://127.0.0.1:9091) instead "
                   "of exposing them on /metrics")
    p.add_argument("--stack", default="contract", help="serving stack whose native metric "
                   "names, labels and units the serving series use: "
                   + ", ".join(STACKS + LLM_STACKS) + " (default: contract, the ml_* names; "
                   "vllm and tgi: the LLM engines, one endpoint per engine at "
                   "/llm/MODEL/VERSION/metrics; docs/stacks/)")
    p.add_argument("--vllm-legacy-names", action="store_true", help="with --stack vllm: the "
                   "names vLLM used before 0.9 (gpu_cache_usage_perc, "
                   "time_per_output_token_seconds)")
    p.add_argument("--list-scenarios", action="store_true", help="print the scenarios and "
                   "their incident offsets, then exit")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    try:
        speed = float(args.speed)
    except ValueError:
        raise UsageError(f"invalid --speed {args.speed!r}: not a number") from None
    if not math.isfinite(speed) or speed <= 0 or speed > MAX_SPEED:
        raise UsageError(f"invalid --speed {args.speed!r}: must be > 0 and <= {MAX_SPEED:g}")
    args.speed = speed
    if not 0 <= args.seed <= MAX_SEED:  # numpy and scikit-learn take 32-bit unsigned seeds
        raise UsageError(f"invalid --seed {args.seed}: must be 0-{MAX_SEED}")
    if not 1 <= args.port <= 65535:
        raise UsageError(f"invalid --port {args.port}: must be 1-65535")
    if args.scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {args.scenario!r}; choose one of "
                         + ", ".join(SCENARIOS))
    if args.stack not in STACKS + LLM_STACKS:
        raise UsageError(f"unknown stack {args.stack!r}; choose one of "
                         + ", ".join(STACKS + LLM_STACKS))
    if args.vllm_legacy_names and args.stack != "vllm":
        raise UsageError("--vllm-legacy-names needs --stack vllm")
    if args.pushgateway is not None:
        url = urlparse(args.pushgateway)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise UsageError(f"invalid --pushgateway {args.pushgateway!r}: expected "
                             "http://HOST:PORT")
    return args


def _serve(args: argparse.Namespace) -> int:
    try:
        from demo.evaluation import EvaluationJob
        from demo.instruments import Instruments
        from demo.llm import make_renderer
        from demo.serving import start_metrics_server
        from demo.simulation import build
    except ImportError as exc:
        raise UsageError(f"the demo needs its extra dependencies ({exc}): "
                         "pip install -e '.[demo]' (make venv does)") from None

    from demo.labels import label_map, renamed
    from demo.stacks import create, wrap_wsgi
    from ml_monitoring.config import MonitoringConfigError

    try:
        names = label_map()  # the monitoring config's label names (monitoring.yaml)
    except MonitoringConfigError as exc:
        raise UsageError(str(exc)) from None
    instruments = Instruments()
    serving = None if args.stack in LLM_STACKS else create(args.stack, instruments)
    try:
        served = instruments.registry if serving is None else serving.without_contract(
            instruments.registry)
        server, ready = start_metrics_server(args.port, args.host, renamed(served, names))
        if serving is not None:
            server.set_app(wrap_wsgi(server.get_app(), serving))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} on {args.host} is already in use") from None
        raise UsageError(f"cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}") from None
    stop = threading.Event()

    def _stop(_sig, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    evaluation = EvaluationJob(instruments.snapshots, args.pushgateway)
    sim = build(args.scenario, args.speed, args.seed, instruments, evaluation, serving,
                llm_renderer=make_renderer(args.stack, args.vllm_legacy_names))
    for ext in sim.extensions:  # native LLM engines: one endpoint each
        if getattr(ext, "paths", None) and ext.paths():
            server.set_app(_with_paths(server.get_app(), ext.render))
    # One tick at a time: a scrape never sees a tick half applied (at --speed 40 a tick is 20
    # simulated seconds of traffic; a counter read between two others of the same tick, e.g.
    # predictions before the audit log's, skews every ratio over a few scrapes)
    tick = threading.Lock()
    server.set_app(_locked(server.get_app(), tick))
    sim.warm_up()
    sim.step()
    ready.set()  # /metrics answered 503 until now: no scrape sees a half-built exposition
    if serving is not None:
        serving.ready.set()
    stack = "" if serving is None else f", stack {args.stack}"
    print(f"demo: serving http://{args.host}:{args.port}/metrics (scenario {args.scenario}, "
          f"speed {args.speed:g}, seed {args.seed}{stack}); Ctrl-C stops", file=sys.stderr,
          flush=True)
    try:
        while not stop.is_set():
            started = time.monotonic()
            with tick:
                sim.step()
            stop.wait(max(TICK_SECONDS - (time.monotonic() - started), 0.05))
    finally:
        server.shutdown()
    return 0


def _locked(app, lock: threading.Lock):
    """The WSGI app answering under `lock` (the whole exposition, between two ticks)."""

    def wrapped(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    return wrapped


def _with_paths(app, render):
    """The WSGI app, plus the paths `render(path)` answers (text exposition) before it."""

    def wrapped(environ, start_response):
        text = render(environ.get("PATH_INFO", ""))
        if text is None:
            return app(environ, start_response)
        body = text.encode()
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        if args.list_scenarios:
            print(_describe_scenarios())
            return 0
        return _serve(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `python -m demo --help | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
