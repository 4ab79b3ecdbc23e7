"""Provisioning reader: env expansion, datasources, providers and the folder of each dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grafana_sync.errors import ConfigError
from grafana_sync.provisioning import (
    Folder,
    expand_env,
    folder_for,
    load_datasources,
    load_providers,
)
from grafana_sync.sync import load_local_dashboards

SRC = Path("/p/datasources/x.yaml")


@pytest.mark.parametrize(("value", "expected"), [
    ("${HOST}:9090", "prom:9090"),
    ("http://$HOST/x", "http://prom/x"),
    ("pa$$word", "pa$word"),
    ("$$HOST", "$HOST"),
    ("${MISSING:-fallback}", "fallback"),
    ("${HOST:-fallback}", "prom"),
    ("no variables", "no variables"),
    ("$1 and 50$", "$1 and 50$"),
])
def test_expand_env(value, expected):
    assert expand_env(value, {"HOST": "prom"}, SRC) == expected


def test_expand_env_recurses_into_values_not_keys():
    data = {"$HOST": ["$HOST", {"k": "${HOST}"}], "n": 3, "b": True}
    assert expand_env(data, {"HOST": "h"}, SRC) == {"$HOST": ["h", {"k": "h"}], "n": 3, "b": True}


def test_missing_variable_is_one_line_naming_file_and_variable():
    with pytest.raises(ConfigError) as exc:
        expand_env({"url": "http://${PROM_HOST}:9090"}, {}, SRC)
    assert str(exc.value) == ("/p/datasources/x.yaml: environment variable PROM_HOST is not set "
                              "(referenced as ${PROM_HOST})")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_datasource_spec_hides_secrets(tmp_path):
    write(tmp_path / "ds.yaml", "apiVersion: 1\ndatasources:\n  - name: P\n    type: prometheus\n"
          "    uid: p\n    url: http://p\n    editable: false\n    orgId: 1\n"
          "    secureJsonData:\n      basicAuthPassword: ${PW}\n")
    [spec] = load_datasources(tmp_path, {"PW": "s3cr3t-value"})
    assert spec.body["secureJsonData"] == {"basicAuthPassword": "s3cr3t-value"}
    assert "editable" not in spec.body and "orgId" not in spec.body  # not API fields
    assert spec.body["access"] == "proxy"
    assert "s3cr3t" not in repr(spec) and "s3cr3t" not in str(spec)


@pytest.mark.parametrize(("text", "message"), [
    ("apiVersion: 1\ndatasources:\n  - type: prometheus\n    uid: p\n", "has no name"),
    ("apiVersion: 1\ndatasources:\n  - name: P\n    type: prometheus\n", "needs a fixed uid"),
    ("apiVersion: 1\ndatasources: [\n", "malformed YAML"),
    ("- just a list\n", "expected a YAML mapping"),
])
def test_bad_datasource_files(tmp_path, text, message):
    path = write(tmp_path / "ds.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_datasources(tmp_path, {})
    assert str(exc.value).startswith(str(path)) and message in str(exc.value)
    assert "\n" not in str(exc.value)


# -- folders -----------------------------------------------------------------------------------
def providers_dir(tmp_path: Path, body: str) -> Path:
    out = tmp_path / "provisioning" / "dashboards"
    write(out / "providers.yaml", "apiVersion: 1\nproviders:\n" + body)
    return out


def test_provider_path_ending_in_the_directory_gives_its_folder(tmp_path):
    out = providers_dir(tmp_path, "  - name: ml\n    folder: ML monitoring\n    folderUid: mlm\n"
                                  "    options:\n"
                                  "      path: /etc/grafana/provisioning/dashboards/ml\n")
    providers = load_providers(out)
    assert folder_for(out / "ml" / "a.json", out, providers) == Folder("mlm", "ML monitoring")
    # no provider for 'other': folder uid = title = directory name; root files: General
    assert folder_for(out / "other" / "b.json", out, providers) == Folder("other", "other")
    assert folder_for(out / "c.json", out, providers) is None


def test_provider_on_the_root_covers_subdirectories_too(tmp_path):
    out = providers_dir(tmp_path, "  - name: all\n    folder: Everything\n    folderUid: all\n"
                                  "    options:\n"
                                  "      path: /etc/grafana/provisioning/dashboards\n")
    providers = load_providers(out)
    assert folder_for(out / "c.json", out, providers) == Folder("all", "Everything")
    assert folder_for(out / "sub" / "d.json", out, providers) == Folder("all", "Everything")


def test_folders_from_files_structure(tmp_path):
    out = providers_dir(tmp_path, "  - name: fs\n    options:\n"
                                  "      path: /var/lib/grafana/dashboards\n"
                                  "      foldersFromFilesStructure: true\n")
    providers = load_providers(out)
    assert folder_for(out / "c.json", out, providers) is None
    assert folder_for(out / "team-a" / "d.json", out, providers) == Folder("team-a", "team-a")


def test_provider_with_title_only_gets_a_stable_uid(tmp_path):
    out = providers_dir(tmp_path, "  - name: ml\n    folder: ML Monitoring!\n"
                                  "    options:\n      path: /x/ml\n")
    folder = folder_for(out / "ml" / "a.json", out, load_providers(out))
    assert folder == Folder("ml-monitoring", "ML Monitoring!")


@pytest.mark.parametrize(("body", "message"), [
    ("  - name: x\n    folder: F\n    options:\n      path: /a\n      "
     "foldersFromFilesStructure: true\n", "must be empty when foldersFromFilesStructure"),
    ("  - name: x\n    options: {}\n", "has no options.path"),
    ("  - name: x\n    folderUid: 'bad uid!'\n    options:\n      path: /a\n", "not a valid uid"),
])
def test_bad_provider_files(tmp_path, body, message):
    out = providers_dir(tmp_path, body)
    with pytest.raises(ConfigError) as exc:
        load_providers(out)
    assert message in str(exc.value) and "providers.yaml" in str(exc.value)


def test_directory_name_that_is_no_valid_uid(tmp_path):
    out = tmp_path / "provisioning" / "dashboards"
    with pytest.raises(ConfigError) as exc:
        folder_for(out / "my folder" / "a.json", out, [])
    assert "'my folder' is not a valid folder uid" in str(exc.value)


def test_local_dashboards_duplicate_uid_and_missing_title(tmp_path):
    out = tmp_path / "dashboards"
    write(out / "a" / "x.json", json.dumps({"uid": "x", "title": "X", "panels": []}))
    write(out / "b" / "x.json", json.dumps({"uid": "x", "title": "X2", "panels": []}))
    with pytest.raises(ConfigError) as exc:
        load_local_dashboards(out, [])
    assert "uid 'x' is also used by" in str(exc.value)
    (out / "b" / "x.json").unlink()
    write(out / "y.json", json.dumps({"uid": "y", "title": " ", "panels": []}))
    with pytest.raises(ConfigError) as exc:
        load_local_dashboards(out, [])
    assert "dashboard 'y' has no title" in str(exc.value)
