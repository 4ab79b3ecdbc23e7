"""The shipped Prometheus and Alertmanager files, checked by the real promtool and amtool.

`promtool check config` (with the rule files), `promtool check rules`, `promtool test rules`,
`amtool check-config` on alertmanager.yml (secret paths pointed at a temp dir, as the demo
stack does: the shipped file itself is what is checked, only paths differ), `amtool config
routes test` for each severity, and the Kubernetes variant and the demo stack's rendered config.
In CI a missing binary is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROM = REPO / "prometheus"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.integration

sys.path.insert(0, str(REPO / "scripts"))
import render_demo_config  # noqa: E402


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found (apt-get install prometheus prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}\n{result.stderr}"


def test_promtool_check_config_with_rule_files():
    result = run(binary("promtool"), "check", "config", str(PROM / "prometheus.yml"))
    assert_ok(result)
    for rule_file in sorted((PROM / "rules").glob("*.yml")):
        assert rule_file.name in result.stdout  # every rule file was found and checked


def test_promtool_check_rules():
    files = sorted(str(p) for p in (PROM / "rules").glob("*.yml"))
    assert_ok(run(binary("promtool"), "check", "rules", *files))


def test_promtool_unit_tests():
    tests = sorted(str(p) for p in (PROM / "tests").glob("*.yml"))
    assert len(tests) >= 2
    result = run(binary("promtool"), "test", "rules", *tests, cwd=PROM / "tests")
    assert_ok(result)
    assert result.stdout.count("SUCCESS") == len(tests)


def test_promtool_unit_tests_fail_when_a_threshold_is_wrong(tmp_path):
    """The unit tests can fail: loosen one threshold and promtool reports it."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for rule_file in (PROM / "rules").glob("*.yml"):
        shutil.copy(rule_file, tmp_path / "rules")
    alerts = (PROM / "rules" / "alerts.yml").read_text()
    broken = alerts.replace("ratio_rate5m > 0.05", "ratio_rate5m > 0.5", 1)
    assert broken != alerts
    (tmp_path / "rules" / "alerts.yml").write_text(broken)
    shutil.copy(PROM / "tests" / "alerts_test.yml", tmp_path / "tests")
    result = run(binary("promtool"), "test", "rules", "alerts_test.yml", cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "MLErrorRatioHigh" in result.stdout + result.stderr


def test_kubernetes_variant_is_valid_apart_from_kubernetes_sd(tmp_path):
    """Debian's promtool lacks kubernetes_sd: swap it for a static target, check the rest."""
    config = yaml.safe_load((PROM / "prometheus-kubernetes.yml").read_text())
    swapped = 0

    def swap(node):
        nonlocal swapped
        if isinstance(node, dict):
            if "kubernetes_sd_configs" in node:
                del node["kubernetes_sd_configs"]
                node["static_configs"] = [{"targets": ["127.0.0.1:1"]}]
                swapped += 1
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)

    swap(config)
    assert swapped >= 5
    config["rule_files"] = [str(PROM / "rules" / "*.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    assert_ok(run(binary("promtool"), "check", "config", str(tmp_path / "prometheus.yml")))


@pytest.fixture
def rendered(tmp_path) -> Path:
    """The demo stack's configs, rendered exactly as scripts/demo-stack.sh does."""
    code = render_demo_config.main(
        [str(tmp_path), "--prometheus-port", "19090", "--alertmanager-port", "19093",
         "--pushgateway-port", "19091", "--node-exporter-port", "19100", "--demo-port", "18000",
         "--webhook-port", "19095"]
    )
    assert code == 0
    return tmp_path


def test_amtool_check_config_on_the_shipped_alertmanager_yml(rendered):
    # The route tree and inhibition are the shipped ones; paths are local and every receiver
    # notifies the local webhook sink (scripts/webhook_sink.py) instead of PagerDuty/Slack.
    shipped = yaml.safe_load((PROM / "alertmanager.yml").read_text())
    local = yaml.safe_load((rendered / "alertmanager.yml").read_text())
    assert local["route"] == shipped["route"]
    assert local["inhibit_rules"] == shipped["inhibit_rules"]
    result = run(binary("amtool"), "check-config", str(rendered / "alertmanager.yml"))
    assert_ok(result)
    assert "1 templates" in result.stdout and "4 receivers" in result.stdout


def test_amtool_rejects_a_broken_template(rendered, tmp_path):
    """amtool really parses the notification templates: a broken one fails the check."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ml.tmpl").write_text('{{ define "ml.title" }}{{ .Status')
    config = yaml.safe_load((rendered / "alertmanager.yml").read_text())
    config["templates"] = [str(bad / "*.tmpl")]
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    assert run(binary("amtool"), "check-config", str(tmp_path / "am.yml")).returncode != 0


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "model=m"], "pagerduty-critical,slack-critical"),
        (["severity=warning", "model=m"], "slack-warnings"),
        (["severity=info"], "blackhole"),
        (["alertname=Unlabelled"], "slack-warnings"),
    ],
)
def test_amtool_routes_by_severity(rendered, labels, receivers):
    result = run(
        binary("amtool"), "config", "routes", "test",
        f"--config.file={rendered / 'alertmanager.yml'}", *labels,
    )
    assert_ok(result)
    assert result.stdout.strip() == receivers


def test_demo_stack_prometheus_config_is_valid(rendered):
    result = run(binary("promtool"), "check", "config", str(rendered / "prometheus.yml"))
    assert_ok(result)
    text = (rendered / "prometheus.yml").read_text()
    assert "127.0.0.1:18000" in text and "demo:8000" not in text
    # every receiver notifies the local webhook sink: no secret to fill in, nothing to leak
    assert sorted((rendered / "secrets").iterdir()) == []
