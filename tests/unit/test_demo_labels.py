"""The demo emits its series under the monitoring config's label names (monitoring.yaml)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from demo.labels import grouping_key, label_map, renamed
from ml_monitoring.config import MonitoringConfig, parse_config

REPO = Path(__file__).resolve().parents[2]
RENAMED = parse_config({"labels": {"model": "model_name", "version": "model_version",
                                   "feature": "input_name", "pod": ["kubernetes_namespace", "pod"]}})


def test_label_map_lists_only_renamed_labels():
    assert label_map(MonitoringConfig()) == {}
    assert label_map(RENAMED) == {"model": "model_name", "version": "model_version",
                                  "feature": "input_name", "namespace": "kubernetes_namespace"}


def test_registry_is_served_under_the_configured_names():
    registry = CollectorRegistry()
    c = Counter("ml_predictions", "p", ("model", "version"), registry=registry)
    c.labels("churn", "v1").inc(3)
    g = Gauge("ml_feature_drift_score", "d", ("model", "feature", "method"), registry=registry)
    g.labels("churn", "age", "psi").set(0.25)
    text = generate_latest(renamed(registry, label_map(RENAMED))).decode()
    assert 'ml_predictions_total{model_name="churn",model_version="v1"} 3.0' in text
    assert 'ml_feature_drift_score{input_name="age",method="psi",model_name="churn"} 0.25' in text
    assert not re.search(r'[{,](model|version|feature)="', text)
    # unchanged config: the very same registry, no wrapper
    assert renamed(registry, {}) is registry


def test_pushgateway_grouping_key_is_renamed():
    assert grouping_key({"model": "churn"}, label_map(RENAMED)) == {"model_name": "churn"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_process_follows_monitoring_config(tmp_path):
    config = tmp_path / "monitoring.yaml"
    config.write_text("labels: {model: model_name, version: model_version, feature: input_name}\n")
    port = _free_port()
    env = {**os.environ, "MONITORING_CONFIG": str(config)}
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", str(port), "--speed", "60"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        text, deadline = "", time.time() + 120
        while time.time() < deadline and "ml_feature_drift_score{" not in text:
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                continue
        assert "ml_predictions_total{" in text, proc.stderr
        series = [line for line in text.splitlines() if line.startswith("ml_")]
        assert any('model_name="' in line and 'model_version="' in line for line in series)
        assert any('input_name="' in line for line in series if line.startswith("ml_feature_drift"))
        assert not [line for line in series if re.search(r'[{,](model|version|feature)="', line)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_demo_with_a_bad_config_is_one_line_exit_2(tmp_path):
    config = tmp_path / "monitoring.yaml"
    config.write_text("labels: {model: model-name}\n")
    proc = subprocess.run([sys.executable, "-m", "demo", "--port", str(_free_port())], cwd=REPO,
                          env={**os.environ, "MONITORING_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {config}: labels.model: 'model-name' is not a "
                                   "Prometheus label name")
