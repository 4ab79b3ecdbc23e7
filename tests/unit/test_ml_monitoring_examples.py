"""The FastAPI example (in-process, Starlette's TestClient) and the example CLI's bad usage."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from tests.conftest import REPO_ROOT  # noqa: E402


@pytest.fixture(scope="module")
def fastapi_example():
    from fastapi.testclient import TestClient

    spec = importlib.util.spec_from_file_location(
        "fastapi_service", REPO_ROOT / "examples" / "fastapi_service.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.hub.background = False
    return module, TestClient(module.app)


def _metric(client, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {line_start}")


def test_fastapi_predict_label_feedback(fastapi_example):
    module, client = fastapi_example
    row = dict(zip(module.FEATURES, module.X_val[0].tolist(), strict=True))
    r = client.post("/predict", json={**row, "age_band": "under_40"})
    assert r.status_code == 200 and r.json()["prediction"] in module.CLASSES
    pid = r.json()["id"]
    assert client.post("/ground_truth", json={"id": pid, "label": "benign"}).status_code == 200
    assert client.post("/ground_truth", json={"id": pid, "label": "benign"}).status_code == 404
    assert client.post("/feedback", json={"id": pid, "positive": False,
                                          "override": True}).status_code == 200
    assert _metric(client, 'ml_predictions_total{model="breast-cancer",version="v1"}') == 1
    assert _metric(client, 'ml_ground_truth_received_total{model="breast-cancer"') == 1
    assert _metric(client, 'ml_prediction_overrides_total{model="breast-cancer"') == 1


def test_fastapi_malformed_body_is_a_counted_4xx(fastapi_example):
    _module, client = fastapi_example
    before = _metric(client, 'ml_prediction_errors_total{error_type="invalid_input"')
    for body in (b"{not json", b"[]", b'{"mean_radius": "wide"}'):
        r = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
    assert _metric(client, 'ml_prediction_errors_total{error_type="invalid_input"') == before + 3
    assert _metric(client, 'ml_input_validation_failures_total{feature="mean_radius",'
                           'model="breast-cancer",reason="wrong_type"}') == 1


def test_example_service_port_in_use_is_one_line_exit_2():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "examples/instrumented_service.py", "--port",
                            str(port)], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: cannot listen on")
    assert len(r.stderr.strip().splitlines()) == 1
