"""The Grafana provisioning bundle: schemas, the mount, the datasource, dashboards' rules.

The datasource and dashboard-provider YAML are validated against the provisioning schemas in
../shared/grafana-contracts; the provider's path is resolved under the documented mount
(`provisioning/` at /etc/grafana/provisioning) and must be the folder that holds every compiled
dashboard; the datasource uid must be the default of every dashboard's `datasource` variable;
and every recording rule a dashboard queries must be defined in prometheus/rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "provisioning"
MOUNT = PurePosixPath("/etc/grafana/provisioning")  # documented in docs/provisioning.md
DATASOURCE_YAML = PROVISIONING / "datasources" / "prometheus.yaml"
PROVIDER_YAML = PROVISIONING / "dashboards" / "ml-monitoring.yaml"
PROMETHEUS_YML = REPO / "prometheus" / "prometheus.yml"
RULES_DIR = REPO / "prometheus" / "rules"
COMPOSE = REPO / "docker-compose.yml"


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def compiled_dashboards() -> list[Path]:
    return sorted((PROVISIONING / "dashboards").rglob("*.json"))


def provider_files() -> list[Path]:
    return sorted((PROVISIONING / "dashboards").glob("*.yaml"))


def resolve_under_mount(container_path: str) -> Path:
    """The repository path a container path maps to when provisioning/ is mounted at MOUNT."""
    p = PurePosixPath(container_path)
    if not p.is_relative_to(MOUNT):
        raise AssertionError(f"{container_path} is outside the provisioning mount {MOUNT}")
    return PROVISIONING.joinpath(*p.relative_to(MOUNT).parts)


def recording_rules() -> set[str]:
    names = set()
    for f in RULES_DIR.glob("*.yml"):
        for group in _yaml(f)["groups"]:
            names.update(r["record"] for r in group["rules"] if "record" in r)
    return names


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# A metric name with a colon: only recording rules have those (exporters must not use colons).
_RULE_NAME = re.compile(r"(?<![\w$:])([a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*[a-zA-Z0-9_])")


def colon_names(expr: str) -> set[str]:
    """Recording-rule-style names used in a PromQL expression (label values are ignored)."""
    return set(_RULE_NAME.findall(_STRING.sub('""', expr)))


def dashboard_exprs(dashboard: dict) -> list[str]:
    exprs = []

    def walk(panels):
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    for var in dashboard.get("templating", {}).get("list", []):
        q = var.get("query")
        if var.get("type") == "query":
            exprs.append(q["query"] if isinstance(q, dict) else q)
    for ann in dashboard.get("annotations", {}).get("list", []):
        if ann.get("expr"):
            exprs.append(ann["expr"])
    return [e for e in exprs if e]


# --- schemas -----------------------------------------------------------------------------------


def test_datasource_yaml_matches_the_provisioning_schema(contracts_dir):
    schema = json.loads(
        (contracts_dir / "provisioning" / "provisioning-datasources.schema.json").read_text()
    )
    for path in sorted((PROVISIONING / "datasources").glob("*.yaml")):
        jsonschema.validate(_yaml(path), schema)


def test_dashboard_providers_match_the_provisioning_schema(contracts_dir):
    schema = json.loads(
        (contracts_dir / "provisioning" / "provisioning-dashboards.schema.json").read_text()
    )
    assert provider_files(), "no dashboard provider YAML in provisioning/dashboards/"
    for path in provider_files():
        jsonschema.validate(_yaml(path), schema)


def test_schema_rejects_a_misspelt_provider_key(contracts_dir):
    """The schema check above can fail: a typo in a provider key is caught."""
    schema = json.loads(
        (contracts_dir / "provisioning" / "provisioning-dashboards.schema.json").read_text()
    )
    doc = _yaml(PROVIDER_YAML)
    doc["providers"][0]["allowUIUpdates"] = doc["providers"][0].pop("allowUiUpdates")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


# --- datasource ----------------------------------------------------------------------------------


def _prometheus_datasource() -> dict:
    (ds,) = [d for d in _yaml(DATASOURCE_YAML)["datasources"] if d["type"] == "prometheus"]
    return ds


def test_datasource_has_the_fixed_uid_and_url_from_the_environment():
    ds = _prometheus_datasource()
    assert ds["uid"] == "prometheus"
    assert ds["url"] == "${PROMETHEUS_URL}"
    assert ds["access"] == "proxy"
    assert ds["isDefault"] is True
    json_data = ds["jsonData"]
    assert json_data["httpMethod"] == "POST"
    assert json_data["prometheusType"] == "Prometheus"
    assert re.fullmatch(r"\d+\.\d+\.\d+", json_data["prometheusVersion"])


def test_datasource_time_interval_equals_the_scrape_interval():
    """$__rate_interval is derived from timeInterval: it must be Prometheus's scrape interval."""
    scrape_interval = _yaml(PROMETHEUS_YML)["global"]["scrape_interval"]
    assert _prometheus_datasource()["jsonData"]["timeInterval"] == scrape_interval
    for job in _yaml(PROMETHEUS_YML)["scrape_configs"]:
        if job["job_name"] in {"ml-model", "pushgateway", "node"}:
            assert job.get("scrape_interval", scrape_interval) == scrape_interval, job["job_name"]


def test_datasource_version_is_the_prometheus_that_docker_compose_runs():
    image = _yaml(COMPOSE)["services"]["prometheus"]["image"]
    assert image.startswith("prom/prometheus:v"), image
    assert image.split(":v", 1)[1] == _prometheus_datasource()["jsonData"]["prometheusVersion"]


def test_mimir_thanos_example_is_there_but_commented_out():
    text = DATASOURCE_YAML.read_text()
    assert re.search(r"^\s*#\s*prometheusType: Mimir", text, re.M)
    assert "Thanos" in text and "Cortex" in text
    assert [d["uid"] for d in _yaml(DATASOURCE_YAML)["datasources"]] == ["prometheus"]


# --- dashboard provider and the mount ------------------------------------------------------------


def test_provider_is_read_only_code_in_the_ml_monitoring_folder():
    (provider,) = _yaml(PROVIDER_YAML)["providers"]
    assert provider["folder"] == "ML monitoring"
    assert provider["folderUid"] == "ml-monitoring"
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False
    assert provider["disableDeletion"] is False
    assert isinstance(provider["updateIntervalSeconds"], int)
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards/ml-monitoring"
    assert not provider["options"].get("foldersFromFilesStructure", False)


def test_provider_names_and_folder_uids_are_unique():
    providers = [p for f in provider_files() for p in _yaml(f)["providers"]]
    names = [p["name"] for p in providers]
    assert len(names) == len(set(names))
    uids = [p["folderUid"] for p in providers]
    assert len(uids) == len(set(uids))


def test_resolve_under_mount_rejects_paths_outside_it():
    assert resolve_under_mount("/etc/grafana/provisioning/dashboards/x") == (
        PROVISIONING / "dashboards" / "x"
    )
    with pytest.raises(AssertionError):
        resolve_under_mount("/var/lib/grafana/dashboards")


def test_every_compiled_dashboard_is_in_a_folder_a_provider_loads():
    """Under the documented mount, the provider paths hold every compiled dashboard."""
    dashboards = compiled_dashboards()
    assert dashboards, "no compiled dashboard under provisioning/dashboards/ (run make dashboards)"
    loaded: dict[Path, str] = {}
    for f in provider_files():
        for p in _yaml(f)["providers"]:
            folder = resolve_under_mount(p["options"]["path"])
            assert folder.is_dir(), f"{f.name}: {p['options']['path']} -> {folder} does not exist"
            loaded[folder] = p["folderUid"]
    for dash in dashboards:
        assert dash.parent in loaded, (
            f"{dash.relative_to(REPO)} is in no provider's path ({sorted(map(str, loaded))})"
        )
        # The build writes provisioning/dashboards/<folder-uid>/<uid>.json.
        assert loaded[dash.parent] == dash.parent.name
        assert json.loads(dash.read_text())["uid"] == dash.stem


def test_datasource_uid_is_every_dashboards_default():
    dashboards = compiled_dashboards()
    assert dashboards, "no compiled dashboard under provisioning/dashboards/ (run make dashboards)"
    uid = _prometheus_datasource()["uid"]
    for path in dashboards:
        variables = json.loads(path.read_text()).get("templating", {}).get("list", [])
        ds_vars = [v for v in variables if v.get("type") == "datasource"]
        assert ds_vars, f"{path.name}: no datasource variable"
        assert ds_vars[0]["name"] == "datasource" and ds_vars[0]["query"] == "prometheus"
        assert ds_vars[0]["current"]["value"] == uid, path.name


# --- recording rules used by dashboards ----------------------------------------------------------


def test_colon_names_finds_rule_names_and_ignores_label_values():
    expr = (
        'sum by (model) (model:ml_predictions:rate5m{instance="demo:8000"})'
        ' / on(model) foo:bar[5m:1m] + rate(x_total[$__rate_interval])'
    )
    assert colon_names(expr) == {"model:ml_predictions:rate5m", "foo:bar"}


def test_every_recording_rule_a_dashboard_uses_is_defined():
    dashboards = compiled_dashboards()
    assert dashboards, "no compiled dashboard under provisioning/dashboards/ (run make dashboards)"
    defined = recording_rules()
    missing = {}
    for path in dashboards:
        for expr in dashboard_exprs(json.loads(path.read_text())):
            for name in colon_names(expr) - defined:
                missing.setdefault(name, set()).add(path.name)
    assert not missing, f"recording rules used by dashboards but not defined: {missing}"
