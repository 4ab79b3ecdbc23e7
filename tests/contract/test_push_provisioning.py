"""The provisioning reader against the shared example files and their JSON Schemas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from grafana_sync.errors import ConfigError
from grafana_sync.provisioning import Folder, folder_for, load_datasources, load_providers
from tests.contract.test_push_cli import DATASOURCES, PROVIDERS


def schema(contracts_dir: Path, name: str) -> dict:
    return json.loads((contracts_dir / "provisioning" / name).read_text())


def test_example_dashboard_provider(contracts_dir, tmp_path):
    out = tmp_path / "dashboards"
    out.mkdir()
    shutil.copy(contracts_dir / "provisioning" / "example-dashboards.yaml", out / "p.yaml")
    [provider] = load_providers(out)
    assert (provider.name, provider.folder, provider.folder_uid) == ("generated", "Generated",
                                                                     "generated")
    assert str(provider.path) == "/var/lib/grafana/dashboards"
    assert not provider.from_files_structure
    # its path ends in 'dashboards': the output dir itself, so every file goes to its folder
    assert folder_for(out / "a.json", out, [provider]) == Folder("generated", "Generated")


def test_example_datasources(contracts_dir, tmp_path):
    shutil.copy(contracts_dir / "provisioning" / "example-datasources.yaml", tmp_path / "d.yaml")
    [spec] = load_datasources(tmp_path, {"PROM_PASSWORD": "pw-from-env"})
    assert (spec.uid, spec.name) == ("prometheus", "Prometheus")
    assert spec.body == {
        "name": "Prometheus", "type": "prometheus", "uid": "prometheus", "access": "proxy",
        "url": "http://prometheus:9090", "isDefault": True,
        "jsonData": {"httpMethod": "POST", "timeInterval": "15s",
                     "prometheusType": "Prometheus", "prometheusVersion": "2.50.0"},
        "secureJsonData": {"basicAuthPassword": "pw-from-env"},
    }
    with pytest.raises(ConfigError, match=r"d\.yaml: environment variable PROM_PASSWORD is not"):
        load_datasources(tmp_path, {})


@pytest.mark.parametrize(("text", "schema_file"), [
    (PROVIDERS, "provisioning-dashboards.schema.json"),
    (DATASOURCES, "provisioning-datasources.schema.json"),
])
def test_the_push_tests_use_valid_provisioning_files(contracts_dir, text, schema_file):
    jsonschema.validate(yaml.safe_load(text), schema(contracts_dir, schema_file))


def test_the_api_body_is_a_valid_add_datasource_command(contracts_dir, tmp_path):
    from tests.openapi_contract import OpenAPIContract

    shutil.copy(contracts_dir / "provisioning" / "example-datasources.yaml", tmp_path / "d.yaml")
    [spec] = load_datasources(tmp_path, {"PROM_PASSWORD": "x"})
    contract = OpenAPIContract.load(contracts_dir)
    contract.validate_request("POST", "/api/datasources", spec.body,
                              headers={"Authorization": "Bearer t"})
