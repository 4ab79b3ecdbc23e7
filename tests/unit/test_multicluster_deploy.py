"""deploy/multicluster/ and the compose `multicluster` profile are consistent (checked statically).

The agents carry the configured cluster label as an external label and remote-write to the central
service; the central Prometheus receives remote write and loads the compiled rules; every
datasource variant passes Grafana's provisioning schema and keeps the dashboards' datasource uid.
The live topology (real agents + central Prometheus) is tested in
tests/integration/test_multicluster.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.multicluster import cluster_label

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "multicluster"
CONTRACTS = REPO.parent / "shared" / "grafana-contracts"
SCHEMA = CONTRACTS / "provisioning" / "provisioning-datasources.schema.json"
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
PROFILE = {name: svc for name, svc in COMPOSE.items() if "multicluster" in svc.get("profiles", [])}
AGENTS = sorted(DEPLOY.glob("agent-*.yml"))
DATASOURCES = sorted((DEPLOY / "datasources").glob("*.yaml"))


def _command(service: str) -> list[str]:
    return list(COMPOSE[service]["command"])


def _mounts(service: str) -> dict[str, str]:
    """container path -> host source, for the bind mounts of a service."""
    out = {}
    for vol in COMPOSE[service].get("volumes", []):
        source, target = vol.split(":")[:2]
        if source.startswith("."):
            out[target] = source
    return out


def _ports(service: str) -> set[int]:
    return {int(str(p).split(":")[-1]) for p in COMPOSE[service].get("ports", [])} | (
        {9090} if COMPOSE[service]["image"].startswith("prom/prometheus") else set()) | (
        {8000} if "--port 8000" in " ".join(_command(service)) else set())


def test_two_clusters_each_with_an_agent_and_a_demo():
    assert len(AGENTS) >= 2
    for path in AGENTS:
        name = path.stem.removeprefix("agent-")
        assert f"agent-{name}" in PROFILE and f"demo-{name}" in PROFILE
        assert "--enable-feature=agent" in _command(f"agent-{name}")
        assert _mounts(f"agent-{name}")["/etc/prometheus/agent.yml"] == f"./deploy/multicluster/{path.name}"


@pytest.mark.parametrize("path", AGENTS, ids=lambda p: p.name)
def test_agent_labels_its_cluster_and_writes_to_the_central_service(path: Path):
    config = yaml.safe_load(path.read_text())
    name = path.stem.removeprefix("agent-")
    assert config["global"]["external_labels"] == {cluster_label(): name}
    (write,) = config["remote_write"]
    host, port = write["url"].removeprefix("http://").split("/", 1)[0].split(":")
    assert host in PROFILE and int(port) in _ports(host)
    assert write["url"].endswith("/api/v1/write")
    for job in config["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            t_host, t_port = target.split(":")
            assert t_host == f"demo-{name}", "an agent scrapes its own cluster only"
            assert int(t_port) in _ports(t_host)


def test_central_receives_remote_write_and_evaluates_the_compiled_rules():
    assert "--web.enable-remote-write-receiver" in _command("central")
    mounts = _mounts("central")
    assert mounts["/etc/prometheus/rules"] == "./prometheus/rules"
    config_path = next(a.split("=", 1)[1] for a in _command("central") if a.startswith("--config.file="))
    assert mounts[config_path] == "./deploy/multicluster/central.yml"
    central = yaml.safe_load((DEPLOY / "central.yml").read_text())
    assert central["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert "scrape_configs" not in central, "the central server only receives"


@pytest.mark.parametrize("path", [*AGENTS, DEPLOY / "central.yml"], ids=lambda p: p.name)
def test_promtool_accepts_the_configs(path: Path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus)")
    argv = [promtool, "check", "config", "--syntax-only", str(path)]
    if path.name.startswith("agent-"):
        argv.insert(3, "--agent")
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.contract
@pytest.mark.parametrize("path", DATASOURCES, ids=lambda p: p.name)
def test_datasource_variants_pass_the_provisioning_schema(path: Path):
    if not SCHEMA.is_file():
        pytest.skip("../shared/grafana-contracts absent (Grafana's contracts for offline tests)")
    jsonschema = pytest.importorskip("jsonschema")
    doc = yaml.safe_load(path.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (ds,) = doc["datasources"]
    # the dashboards' datasource variable defaults to this uid: they work unchanged
    single = yaml.safe_load((REPO / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    assert ds["uid"] == single["datasources"][0]["uid"]
    assert ds["type"] == "prometheus"


def test_mimir_variant_sends_the_tenant_header_as_a_secret():
    (ds,) = yaml.safe_load((DEPLOY / "datasources" / "mimir.yaml").read_text())["datasources"]
    assert ds["url"].endswith("/prometheus")
    assert ds["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"
    assert ds["secureJsonData"]["httpHeaderValue1"].startswith("${"), "tenant from the environment"
    assert "httpHeaderValue1" not in ds["jsonData"]
