"""Multi-process serving: the example service on real gunicorn workers (multiprocess mode)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from demo.contract import compare_exposition, load_contract
from tests.promharness import REPO_ROOT, free_port

pytest.importorskip("sklearn")

pytestmark = pytest.mark.integration

WORKERS = 3
N = 240


@pytest.fixture(scope="module")
def gunicorn_service():
    gunicorn = shutil.which("gunicorn", path=str(Path(os.sys.executable).parent)) or \
        shutil.which("gunicorn")
    if gunicorn is None:
        pytest.fail("gunicorn is not installed (it is a dev dependency: make venv)")
    mpdir = tempfile.mkdtemp(prefix="instr-mp-")
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": mpdir}
    log = Path(mpdir).parent / f"{Path(mpdir).name}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [gunicorn, "-c", "examples/gunicorn.conf.py", "-w", str(WORKERS), "-b",
             f"127.0.0.1:{port}", "--chdir", "examples", "instrumented_service:app"],
            cwd=REPO_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield url, mpdir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(mpdir, ignore_errors=True)
        log.unlink(missing_ok=True)


def _value(text: str, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    hits = [s.value for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def test_workers_aggregate_and_labels_join_across_workers(gunicorn_service):
    from sklearn.datasets import load_breast_cancer

    url, _ = gunicorn_service
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]

    def predict(i):
        row = dict(zip(names, data.data[i].tolist(), strict=True))
        r = requests.post(f"{url}/predict", json=row, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["id"], str(data.target_names[data.target[i]])

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(predict, range(N)))
        # each prediction id names the worker process that served it
        assert len({pid.split("-")[0] for pid, _ in results}) >= 2, "one worker served all"
        codes = list(pool.map(lambda r: requests.post(
            f"{url}/ground_truth", json={"id": r[0], "label": r[1]}, timeout=10).status_code,
            results))
    assert codes == [200] * N  # labels joined whichever worker got them
    bad = requests.post(f"{url}/predict", data=b"nope", timeout=10)
    assert bad.status_code == 400
    text = requests.get(f"{url}/metrics", timeout=10).text
    assert _value(text, "ml_predictions_total") == N
    assert _value(text, "ml_ground_truth_received_total") == N
    assert _value(text, "ml_labeled_predictions_total", correct="true") + _value(
        text, "ml_labeled_predictions_total", correct="false") == N
    assert _value(text, "ml_inference_requests_total", status="error") == 1
    assert _value(text, "ml_inference_duration_seconds_count") == N + 1
    assert _value(text, "ml_inference_in_progress_requests") == 0
    assert _value(text, "ml_model_info", stage="production") == 1
    # no per-process `pid` label and nothing outside the contract
    contract = {n: s for n, s in load_contract().items()
                if s.section == "Metrics emitted by the model service"}
    problems = [p for p in compare_exposition(text, contract) if "not emitted" not in p]
    assert not problems, problems
