"""docker-compose.yml is consistent with the files it names and the configs that name it.

Docker does not run here, so the stack is checked statically: every bind-mounted source exists,
the mounts put each config where the command line reads it, every Prometheus / Grafana /
Alertmanager address is a compose service on the port it listens on, and no secret is inline.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PROMETHEUS = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
ALERTMANAGER = yaml.safe_load((REPO / "prometheus" / "alertmanager.yml").read_text())
DATASOURCES = yaml.safe_load((REPO / "provisioning" / "datasources" / "prometheus.yaml").read_text())

# Exporters that need hardware or a cluster (GPU nodes, Kubernetes): scraped by prometheus.yml
# in production, not started by compose (the demo simulates their metrics).
NOT_IN_COMPOSE = {"dcgm-exporter", "opencost"}


def _bind_mounts(service: str) -> list[tuple[str, str]]:
    """(host source, container target) of a service's bind mounts (named volumes skipped)."""
    mounts = []
    for vol in SERVICES[service].get("volumes", []):
        source, target = vol.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append((source, target))
    return mounts


def host_path(service: str, container_path: str) -> Path:
    """The repository file a service sees at container_path, through its bind mounts."""
    target = PurePosixPath(container_path)
    best = None
    for source, mount in _bind_mounts(service):
        mount_p = PurePosixPath(mount)
        if target == mount_p or target.is_relative_to(mount_p):
            if best is None or len(mount_p.parts) > len(PurePosixPath(best[1]).parts):
                best = (source, mount)
    if best is None:
        raise AssertionError(f"{service}: nothing mounted at {container_path}")
    source, mount = best
    rel = target.relative_to(PurePosixPath(mount))
    return (REPO / source).joinpath(*rel.parts)


def _flag(service: str, name: str) -> str:
    command = SERVICES[service]["command"]
    text = " ".join(command) if isinstance(command, list) else command
    match = re.search(rf"--{re.escape(name)}[= ](\S+)", text)
    assert match, f"{service}: no --{name} in its command"
    return match.group(1)


def _container_ports(service: str) -> set[int]:
    return {int(str(p).split(":")[-1].split("/")[0]) for p in SERVICES[service].get("ports", [])}


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def test_the_stack_has_every_component():
    assert {"grafana", "prometheus", "pushgateway", "node-exporter", "alertmanager", "demo"} <= set(
        SERVICES
    )
    assert SERVICES["grafana"]["image"].startswith("grafana/grafana:")  # the official image


def test_every_bind_mount_source_exists():
    for name in SERVICES:
        for source, _ in _bind_mounts(name):
            if source == "/":  # node_exporter reads the host's root filesystem
                continue
            assert (REPO / source).exists(), f"{name}: mount source {source} does not exist"


def test_grafana_gets_the_provisioning_directory_at_the_documented_mount():
    assert host_path("grafana", "/etc/grafana/provisioning") == REPO / "provisioning"
    assert 3000 in _container_ports("grafana")


def test_grafana_admin_password_comes_from_an_env_file_never_inline():
    grafana = SERVICES["grafana"]
    assert grafana["env_file"] == [".env"]
    env = grafana.get("environment", {})
    assert not any("PASSWORD" in key for key in env), "a password is inline in docker-compose.yml"
    example = (REPO / ".env.example").read_text()
    assert re.search(r"^GF_SECURITY_ADMIN_PASSWORD=\S+", example, re.M)


def test_prometheus_url_default_is_the_prometheus_service():
    env = SERVICES["grafana"]["environment"]
    match = re.fullmatch(r"\$\{PROMETHEUS_URL:-(http://([\w-]+):(\d+))\}", env["PROMETHEUS_URL"])
    assert match, env["PROMETHEUS_URL"]
    _, host, port = match.groups()
    assert host in SERVICES and int(port) in _container_ports(host)
    assert "${PROMETHEUS_URL}" in [d["url"] for d in DATASOURCES["datasources"]]
    example = (REPO / ".env.example").read_text()
    assert f"PROMETHEUS_URL={match.group(1)}" in example


def test_prometheus_reads_the_shipped_config_and_rules():
    config = host_path("prometheus", _flag("prometheus", "config.file"))
    assert config == REPO / "prometheus" / "prometheus.yml"
    for pattern in PROMETHEUS["rule_files"]:  # relative to the config file's directory
        assert sorted(config.parent.glob(pattern)), f"rule_files {pattern} matches nothing"
    assert 9090 in _container_ports("prometheus")


def test_every_scrape_and_alerting_target_is_a_compose_service_on_its_port():
    targets = [
        t
        for job in PROMETHEUS["scrape_configs"]
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    ]
    targets += [
        t
        for am in PROMETHEUS["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    ]
    checked = set()
    for target in targets:
        host, port = _host_port(target)
        if host == "localhost":  # Prometheus scraping itself
            host = "prometheus"
        if host in NOT_IN_COMPOSE:
            continue
        assert host in SERVICES, f"prometheus.yml target {target}: no compose service {host}"
        assert port in _container_ports(host), f"{target}: service {host} does not expose {port}"
        checked.add(host)
    assert checked == {"prometheus", "demo", "pushgateway", "node-exporter", "alertmanager"}


def test_pushgateway_is_scraped_with_honor_labels():
    (job,) = [j for j in PROMETHEUS["scrape_configs"] if j["job_name"] == "pushgateway"]
    assert job["honor_labels"] is True


def test_demo_listens_where_prometheus_scrapes_it_and_pushes_to_the_pushgateway():
    (job,) = [j for j in PROMETHEUS["scrape_configs"] if j["job_name"] == "ml-model"]
    (target,) = job["static_configs"][0]["targets"]
    host, port = _host_port(target)
    assert host == "demo"
    assert int(_flag("demo", "port")) == port
    assert _flag("demo", "host") == "0.0.0.0"  # reachable from the prometheus container
    pushgateway = _flag("demo", "pushgateway")
    pg_host, pg_port = _host_port(pushgateway.removeprefix("http://"))
    assert pg_host == "pushgateway" and pg_port in _container_ports("pushgateway")
    assert host_path("demo", "/app/demo") == REPO / "demo"


def test_demo_installs_the_packages_of_the_demo_extra():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["demo"]
    command = " ".join(SERVICES["demo"]["command"])
    for requirement in extra:
        assert f"'{requirement}'" in command, f"demo service does not install {requirement}"


def test_alertmanager_reads_the_shipped_config_templates_and_secret_files():
    config = host_path("alertmanager", _flag("alertmanager", "config.file"))
    assert config == REPO / "prometheus" / "alertmanager.yml"
    for pattern in ALERTMANAGER["templates"]:
        folder = host_path("alertmanager", str(PurePosixPath(pattern).parent))
        assert sorted(folder.glob(PurePosixPath(pattern).name)), f"templates {pattern}: no file"
    secret_paths = _secret_file_paths(ALERTMANAGER)
    assert secret_paths, "alertmanager.yml reads no secret file"
    for path in secret_paths:
        local = host_path("alertmanager", path)
        example = local.with_name(local.name + ".example")
        assert example.is_file(), f"{path}: ship {example.relative_to(REPO)} to show its shape"
    assert 9093 in _container_ports("alertmanager")


def _secret_file_paths(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_file") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_secret_file_paths(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_secret_file_paths(value))
    return found


@pytest.mark.parametrize("service", ["prometheus", "alertmanager", "pushgateway", "node-exporter"])
def test_images_are_pinned(service):
    image = SERVICES[service]["image"]
    assert re.fullmatch(r"prom/[\w-]+:v\d+\.\d+\.\d+", image), image
