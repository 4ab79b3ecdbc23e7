"""examples/instrumented_service.py on a real Prometheus (+ Pushgateway for the batch job):
after traffic with delayed labels, every panel of the performance, drift, errors, fairness and
feedback dashboards has data; malformed requests get a 4xx and show as validation failures.

The stack: the example service (`--port`), `prometheus-pushgateway`, examples/evaluation_job.py
pushing to it, and a real Prometheus (1 s scrape and evaluation, the project's rules) scraping
both. Helpers come from tests/promharness.py; panel queries are run as in
tests/integration/test_dashboards_data.py (variables at All, `$__rate_interval` = 1m).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from demo.contract import load_contract
from tests.integration.test_dashboards_data import evaluate, numbers
from tests.promharness import (
    PROMETHEUS_BIN,
    PUSHGATEWAY_BIN,
    REPO_ROOT,
    PromStack,
    _spawn,
    _wait_http,
    free_port,
    project_rule_files,
    prometheus_config,
    pushgateway_isolation,
    require_binary,
)
from tests.unit.test_dashboards import (
    compiled_dashboards,
    iter_targets,
    metric_names,
    target_id,
)

pytest.importorskip("sklearn")

pytestmark = pytest.mark.integration

SPECS = load_contract()
DASHBOARDS = ("ml-performance", "ml-drift", "ml-errors", "ml-fairness", "ml-feedback")
AGE_BANDS = ("under_40", "40_to_64", "65_plus")
PREDICTIONS = 3000  # a fifth to the canary: its fairness window (500) fills too
LABEL_COVERAGE = 0.8


def _rows():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    return names, data.data, data.target, [str(c) for c in data.target_names]


class Traffic:
    """Predictions from the dataset's rows, labels arriving 0.5-4 s later, some feedback."""

    def __init__(self, url: str, canary_url: str) -> None:
        self.production_url = url
        self.canary_url = canary_url
        self.names, self.X, self.y, self.classes = _rows()
        self.rng = random.Random(11)
        self.pending: list[tuple[float, str, str, str]] = []
        self.lock = threading.Lock()
        self.statuses: list[int] = []

    def predict(self, i: int) -> None:
        """Request i: one in five to the canary (its labels and feedback go there too)."""
        url = self.canary_url if i % 5 == 4 else self.production_url
        row = dict(zip(self.names, self.X[i % len(self.X)].tolist(), strict=True))
        row["age_band"] = AGE_BANDS[(i // 5) % 3]
        r = requests.post(f"{url}/predict", json=row, timeout=10)
        self.statuses.append(r.status_code)
        if r.status_code != 200:
            return
        pid = r.json()["id"]
        if self.rng.random() < LABEL_COVERAGE:
            with self.lock:
                self.pending.append((time.monotonic() + self.rng.uniform(0.5, 4.0), url,
                                     pid, self.classes[int(self.y[i % len(self.y)])]))
        if self.rng.random() < 0.1:
            requests.post(f"{url}/feedback", json={
                "id": pid, "positive": self.rng.random() < 0.8,
                "override": self.rng.random() < 0.05}, timeout=10)

    def deliver_due_labels(self, everything: bool = False) -> int:
        now = time.monotonic()
        with self.lock:
            due = [p for p in self.pending if everything or p[0] <= now]
            self.pending = [p for p in self.pending if not (everything or p[0] <= now)]
        for _, url, pid, label in due:
            r = requests.post(f"{url}/ground_truth", json={"id": pid, "label": label},
                              timeout=10)
            assert r.status_code == 200, r.text
        return len(due)


@contextlib.contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def service_stack():
    prom = require_binary(PROMETHEUS_BIN)
    push_bin = require_binary(PUSHGATEWAY_BIN)
    workdir = Path(tempfile.mkdtemp(prefix="instr-stack-"))
    procs = []
    stack = None
    try:
        push = f"127.0.0.1:{free_port()}"
        procs.append(_spawn("pushgateway", [push_bin, f"--web.listen-address={push}",
                                            *pushgateway_isolation(workdir)], workdir))
        _wait_http(procs[-1], f"http://{push}/-/ready", 30)
        time.sleep(0.5)  # a pushgateway that lost the port to another process has exited now
        assert procs[-1].popen.poll() is None, procs[-1].tail()
        port, canary_port = free_port(), free_port()
        procs.append(_spawn("service", [sys.executable, "examples/instrumented_service.py",
                                        "--port", str(port)], workdir, cwd=REPO_ROOT))
        with _env(MODEL_VERSION="v2", MODEL_STAGE="canary"):
            procs.append(_spawn("canary", [sys.executable, "examples/instrumented_service.py",
                                           "--port", str(canary_port)], workdir, cwd=REPO_ROOT))
        service_url = f"http://127.0.0.1:{port}"
        _wait_http(procs[-2], f"{service_url}/metrics", 60)
        _wait_http(procs[-1], f"http://127.0.0.1:{canary_port}/metrics", 60)
        config = prometheus_config(f"127.0.0.1:{port}", None, project_rule_files(), (), push)
        config["scrape_configs"][0]["static_configs"][0]["targets"].append(
            f"127.0.0.1:{canary_port}")
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        prom_port = free_port()
        procs.append(_spawn("prometheus", [
            prom, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"], workdir))
        _wait_http(procs[-1], f"http://127.0.0.1:{prom_port}/-/ready", 60)
        stack = PromStack(f"http://127.0.0.1:{prom_port}", service_url, 1.0, "instrumented",
                          time.time(), config_path, workdir / "data",
                          ("ml-model", "pushgateway"), procs)
        stack.wait_for('up{job="ml-model"} == 1', timeout=30)
        stack.pushgateway_url = f"http://{push}"
        stack.canary_url = f"http://127.0.0.1:{canary_port}"
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def served(service_stack):
    """Drive the service: predictions, malformed requests, delayed labels, the batch job."""
    stack = service_stack
    traffic = Traffic(stack.demo_url, stack.canary_url)
    malformed = [b"not json", b"[1, 2, 3]", b'{"mean_radius": "big"}', b"{}",
                 b'{"mean_radius": null}', b'"string"']
    codes = [requests.post(f"{stack.demo_url}/predict", data=body, timeout=10).status_code
             for body in malformed]
    with ThreadPoolExecutor(4) as pool:
        for start in range(0, PREDICTIONS, 300):
            list(pool.map(traffic.predict, range(start, start + 300)))
            traffic.deliver_due_labels()
    # keep a trickle going so every rate() has samples over time, labels keep arriving
    deadline = time.monotonic() + 12
    i = PREDICTIONS
    while time.monotonic() < deadline:
        traffic.predict(i)
        i += 1
        traffic.deliver_due_labels()
        time.sleep(0.02)
    traffic.deliver_due_labels(everything=True)
    job = subprocess.run([sys.executable, "examples/evaluation_job.py", "--pushgateway",
                          stack.pushgateway_url, "--schedule-interval", "60"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert job.returncode == 0, job.stderr
    stack.wait_for("ml_evaluation_last_success_timestamp_seconds", timeout=30)
    stack.wait_for("ml_fairness_parity_difference", timeout=30)
    time.sleep(3)  # a few more scrapes and rule evaluations
    return stack, traffic, codes


def test_malformed_requests_get_4xx_and_count_as_validation_failures(served):
    stack, _traffic, codes = served
    assert all(400 <= c < 500 for c in codes), codes
    errors = stack.query('sum(ml_prediction_errors_total{error_type="invalid_input"})')
    assert numbers(errors) == [6.0]
    failures = {r["metric"]["reason"]: float(r["value"][1]) for r in stack.query(
        'sum by (reason) (ml_input_validation_failures_total{feature="mean_radius"})')}
    # missing: not JSON, a list, {}, null, a string; wrong_type: "big"
    assert failures == {"missing": 5.0, "out_of_range": 0.0, "wrong_type": 1.0}
    served_ok = numbers(stack.query('sum(ml_inference_requests_total{status="success"})'))
    assert served_ok and served_ok[0] >= PREDICTIONS


def test_ground_truth_joined_and_scored(served):
    stack, traffic, _ = served
    received = numbers(stack.query("sum(ml_ground_truth_received_total)"))[0]
    predictions = numbers(stack.query("sum(ml_predictions_total)"))[0]
    assert 0.7 < received / predictions < 0.9
    accuracy = numbers(stack.query('ml_model_quality_ratio{metric="accuracy"}'))
    assert accuracy and 0.9 < accuracy[0] <= 1.0  # the dataset's own rows, a good model


def test_batch_job_pushed_with_grouping_and_last_success(served):
    stack, _, _ = served
    result = stack.query('ml_evaluation_last_success_timestamp_seconds{model="breast-cancer"}')
    assert [r["metric"]["job"] for r in result] == ["ml_evaluation"], result
    assert abs(float(result[0]["value"][1]) - time.time()) < 120
    push = stack.query('push_time_seconds{job="ml_evaluation", model="breast-cancer"}')
    assert push, "grouping key (job, model) not on the Pushgateway"


@pytest.mark.parametrize("item", [t for t in iter_targets() if t[0] in DASHBOARDS],
                         ids=target_id)
def test_every_panel_has_data(served, item):
    stack, _, _ = served
    uid, panel, target = item
    exporters = sorted({SPECS[n].emitted_by.replace(" (simulated in demo)", "")
                        for n in metric_names(target["expr"]) if n in SPECS and SPECS[n].simulated})
    if exporters:  # kube-state-metrics / DCGM series: no service can emit them
        pytest.skip(f"reads metrics of {', '.join(exporters)}, not of the model service")
    result = evaluate(stack, target["expr"])
    assert result, f"{uid} / {panel['title']} / {target['refId']}: no data"
    assert any(not math.isnan(v) for v in numbers(result)), "only NaN (0/0) values"


def test_the_dashboards_exist():
    assert set(DASHBOARDS) <= set(compiled_dashboards())


def test_drifted_inputs_move_exactly_those_features(served):
    """Runs last: 300 requests (the example's drift window) with three features shifted by 1.5
    training standard deviations; on Prometheus exactly those three are drifted, under every
    method, and the share of drifted features says 3 of 30."""
    stack, traffic, _ = served
    shifted = ("mean_texture", "worst_area", "mean_smoothness")
    sd = {f: traffic.X[:, traffic.names.index(f)].std() for f in shifted}
    for i in range(300):
        row = dict(zip(traffic.names, traffic.X[i % len(traffic.X)].tolist(), strict=True))
        for f in shifted:
            row[f] += 1.5 * sd[f]
        r = requests.post(f"{traffic.production_url}/predict", json=row, timeout=10)
        assert r.status_code == 200, r.text
    instance = traffic.production_url.removeprefix("http://")
    expected = {m: set(shifted) for m in ("psi", "ks", "jensenshannon")}

    def by_method(result) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in result:
            out.setdefault(r["metric"]["method"], set()).add(r["metric"]["feature"])
        return out

    # the window turns over as the refresh thread bins the rows and Prometheus scrapes
    flagged = stack.wait_for(f'ml_feature_drift_detected{{instance="{instance}"}} == 1',
                             timeout=30, predicate=lambda r: by_method(r) == expected)
    assert by_method(flagged) == expected
    ratio = numbers(stack.query(f'ml_drifted_features_ratio{{instance="{instance}"}}'))
    assert ratio == [pytest.approx(0.1)]
