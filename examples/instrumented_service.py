"""A real model service instrumented with ml_monitoring (stdlib HTTP server, no framework).

    python examples/instrumented_service.py --port 8080

Model `breast-cancer`: logistic regression trained at start-up on scikit-learn's bundled
breast-cancer data (no download). Its 30 features are the dataset's feature names with spaces
replaced by `_` (`mean_radius`, …, `worst_fractal_dimension`); the drift reference is the
training split, the baseline the validation split.

- `POST /predict` — a JSON object of the 30 features (optional `"age_band"`: `under_40`,
  `40_to_64` or `65_plus`, the approved fairness groups) → `{"id": ..., "prediction": ...,
  "probability": ...}`. Missing, non-numeric or out-of-range values, or a body that is not a
  JSON object: 422 (400 for a body that is not JSON), counted as validation failures.
- `POST /ground_truth` — `{"id": ..., "label": "malignant" | "benign" | 0 | 1}` → 200, or 404
  for an unknown (or already labelled) id.
- `POST /feedback` — `{"id": ..., "positive": true | false, "override": false}` → 200.
- `GET /metrics` — the metrics contract (docs/metrics.md); `GET /healthz`.

Environment: MODEL_VERSION (default v1) and MODEL_STAGE (production, canary or retired; default
production) label the instance, e.g. a canary next to the production one.

Also a WSGI app (`app`): `gunicorn -w 4 examples.instrumented_service:app` with
PROMETHEUS_MULTIPROC_DIR set runs it on several worker processes (docs/instrumentation.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ml_monitoring

MODEL = "breast-cancer"
VERSION = os.environ.get("MODEL_VERSION", "v1")  # e.g. MODEL_VERSION=v2 MODEL_STAGE=canary
STAGE = os.environ.get("MODEL_STAGE", "production")
AGE_BANDS = ["under_40", "40_to_64", "65_plus"]
MAX_BODY = 64 * 1024

data = load_breast_cancer()
FEATURES = [name.replace(" ", "_") for name in data.feature_names]
CLASSES = [str(c) for c in data.target_names]
X_train, X_val, y_train, y_val = train_test_split(
    data.data, data.target, test_size=0.3, random_state=0, stratify=data.target)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X_train, y_train)
audit_log = logging.getLogger("breast-cancer.audit")

# --- the whole integration ----------------------------------------------------------------------
hub = ml_monitoring.Monitoring(windows=ml_monitoring.Windows(
    drift=300, outputs=300, labels=300, quality=500, min_quality=100, fairness=1000,
    min_fairness=500, min_fairness_group=100))
monitor = hub.monitor(
    MODEL, VERSION, features=FEATURES, classes=CLASSES, reference=X_train,
    baseline=(y_val, model.predict_proba(X_val)), favorable_class="benign",
    fairness={"age_band": AGE_BANDS}, stage=STAGE, approved=True, framework="scikit-learn",
    algorithm="LogisticRegression", audit=lambda record: audit_log.info(json.dumps(record)))


def predict(body) -> tuple[int, dict]:
    group = body.get("age_band") if isinstance(body, dict) else None
    with monitor.track(body, group=group) as t:
        if not t.valid:
            return 422, {"error": "invalid input",
                         "problems": [{"feature": f, "reason": r} for f, r in t.problems]}
        proba = model.predict_proba(np.array([t.values]))[0]
        t.set(proba=proba)
    k = int(proba.argmax())
    return 200, {"id": t.id, "prediction": CLASSES[k], "probability": float(proba[k])}
# ------------------------------------------------------------------------------------------------


def ground_truth(body) -> tuple[int, dict]:
    if not isinstance(body, dict) or "id" not in body or "label" not in body:
        return 400, {"error": 'expected {"id": ..., "label": ...}'}
    if body["label"] not in (*CLASSES, 0, 1):
        return 422, {"error": f"label must be one of {CLASSES} or 0/1"}
    if not monitor.ground_truth(str(body["id"]), body["label"]):
        return 404, {"error": "unknown or already labelled prediction id"}
    return 200, {"joined": True}


def feedback(body) -> tuple[int, dict]:
    if not isinstance(body, dict) or not isinstance(body.get("positive"), bool):
        return 400, {"error": 'expected {"id": ..., "positive": true|false}'}
    monitor.feedback(body["positive"], prediction_id=body.get("id"))
    if body.get("override") is True:
        monitor.override(prediction_id=body.get("id"))
    return 200, {"recorded": True}


ROUTES = {"/predict": predict, "/ground_truth": ground_truth, "/feedback": feedback}


def app(environ, start_response):
    """WSGI application: the routes above, /metrics and /healthz."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if path == "/metrics" and method == "GET":
        body, content_type = ml_monitoring.render()
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]
    if path == "/healthz":
        return _json(start_response, 200, {"status": "ok"})
    handler = ROUTES.get(path)
    if handler is None:
        return _json(start_response, 404, {"error": f"no route {path}"})
    if method != "POST":
        return _json(start_response, 405, {"error": "use POST"})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= MAX_BODY:
        status, payload = 413, {"error": f"body must be 0-{MAX_BODY} bytes"}
        if handler is predict:
            predict(None)  # counted: every feature missing
        return _json(start_response, status, payload)
    raw = environ["wsgi.input"].read(length)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        if handler is predict:
            predict(None)  # counted as invalid input, every feature missing
        return _json(start_response, 400, {"error": "body is not JSON"})
    status, payload = handler(body)
    return _json(start_response, status, payload)


def _json(start_response, status: int, payload: dict):
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
               413: "Payload Too Large", 422: "Unprocessable Entity"}
    start_response(f"{status} {reasons.get(status, 'Error')}",
                   [("Content-Type", "application/json")])
    return [json.dumps(payload).encode()]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # no access log on stderr
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.host, args.port, app, server_class=_Server,
                             handler_class=_QuietHandler)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    print(f"serving {MODEL} on http://{args.host}:{args.port} (/predict, /ground_truth, "
          "/feedback, /metrics)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
