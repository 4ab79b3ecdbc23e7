"""Integration fixtures: a real Prometheus scraping `python -m demo` (API in tests/promharness.py)."""

from __future__ import annotations

import contextlib

import pytest

from tests.promharness import (
    NODE_EXPORTER_BIN,
    PROMETHEUS_BIN,
    HarnessError,
    PromStack,
    require_binary,
    run_stack,
)


def _require_binaries(node_exporter: bool | None) -> str:
    prom = require_binary(PROMETHEUS_BIN)
    if node_exporter:
        require_binary(NODE_EXPORTER_BIN)
    return prom


@pytest.fixture(scope="session")
def prometheus_demo() -> PromStack:
    """One Prometheus + one demo (`--speed 60 --scenario ci`) + node_exporter for the session."""
    prom = _require_binaries(node_exporter=None)
    try:
        with run_stack(prometheus_bin=prom) as stack:
            yield stack
    except HarnessError as exc:
        pytest.fail(f"Prometheus test stack did not start: {exc}")


@pytest.fixture
def prometheus_stack_factory():
    """Start private stacks with other options: `stack = prometheus_stack_factory(speed=120)`."""
    with contextlib.ExitStack() as exits:

        def start(**kwargs) -> PromStack:
            prom = _require_binaries(kwargs.get("node_exporter"))
            try:
                return exits.enter_context(run_stack(prometheus_bin=prom, **kwargs))
            except HarnessError as exc:
                pytest.fail(f"Prometheus test stack did not start: {exc}")

        yield start
