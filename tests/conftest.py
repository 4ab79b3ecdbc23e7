"""Shared fixtures: the project root and the shared Grafana contracts folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _contracts_dir() -> Path:
    """../shared/grafana-contracts beside the checkout (or beside the main checkout of a worktree)."""
    if os.environ.get("GRAFANA_CONTRACTS_DIR"):
        return Path(os.environ["GRAFANA_CONTRACTS_DIR"])
    beside = REPO_ROOT.parent / "shared" / "grafana-contracts"
    if beside.is_dir():
        return beside
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return beside
    if common:
        candidate = Path(common).parent.parent / "shared" / "grafana-contracts"
        if candidate.is_dir():
            return candidate
    return beside


CONTRACTS_DIR = _contracts_dir()
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
        pytest.skip(f"{CONTRACTS_DIR} not found: Grafana's published dashboard schemas and OpenAPI "
                    "spec, which these tests validate against, live beside the checkout in "
                    "../shared/grafana-contracts, not in the repository (set GRAFANA_CONTRACTS_DIR "
                    "to a copy; see README 'Set up')")
    return CONTRACTS_DIR
