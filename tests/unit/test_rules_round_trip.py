"""The compiled-rules round-trip check (libyaml's parser when available; perf, issue #18)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grafana_sync.errors import BuildError
from grafana_sync.rules import _SAFE_LOADER, _round_trip, canonical_yaml

DATA = {"groups": [{"name": "g", "rules": [{"record": "job:up:sum", "expr": "sum by (job) (up)",
                                              "labels": {"team": "ml", "n": 3}}]}]}


def test_uses_libyaml_when_pyyaml_has_it() -> None:
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML built without libyaml here")
    assert _SAFE_LOADER is yaml.CSafeLoader


def test_accepts_what_canonical_yaml_wrote() -> None:
    text = canonical_yaml(DATA)
    _round_trip(text, DATA, Path("rules/x.py"))
    assert yaml.load(text, Loader=_SAFE_LOADER) == yaml.safe_load(text) == DATA


def test_rejects_text_that_loads_back_to_something_else() -> None:
    text = canonical_yaml(DATA).replace("job:up:sum", "job:up:count")
    with pytest.raises(BuildError, match=r"rules/x.py: compiled YAML does not load back"):
        _round_trip(text, DATA, Path("rules/x.py"))
