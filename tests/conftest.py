"""Shared fixtures: the project root and the shared Grafana contracts folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT.parent / "shared" / "grafana-contracts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def contracts_dir() -> Path:
    """../shared/grafana-contracts; skipped with a reason where absent, a failure in CI."""
    if not CONTRACTS_DIR.is_dir():
        if IN_CI:
            pytest.fail(f"{CONTRACTS_DIR} is missing: contract tests must run in CI")
        pytest.skip(f"{CONTRACTS_DIR} not found (Grafana contracts ship beside the repo, not in it)")
    return CONTRACTS_DIR
