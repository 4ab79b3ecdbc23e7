"""The breast-cancer model behind FastAPI, instrumented with ml_monitoring.

    pip install fastapi uvicorn
    uvicorn --app-dir examples fastapi_service:app --port 8080

Same routes as examples/instrumented_service.py (POST /predict, /ground_truth, /feedback;
GET /metrics). The body is read as raw JSON so that a malformed request is counted as a
validation failure by the monitor instead of being rejected by FastAPI before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ml_monitoring

data = load_breast_cancer()
FEATURES = [name.replace(" ", "_") for name in data.feature_names]
CLASSES = [str(c) for c in data.target_names]
X_train, X_val, y_train, y_val = train_test_split(
    data.data, data.target, test_size=0.3, random_state=0, stratify=data.target)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X_train, y_train)

registry = CollectorRegistry()  # or None: prometheus_client's default registry
hub = ml_monitoring.Monitoring(registry)
monitor = hub.monitor("breast-cancer", "v1", features=FEATURES, classes=CLASSES,
                      reference=X_train, baseline=(y_val, model.predict_proba(X_val)),
                      favorable_class="benign", fairness={"age_band": ["under_40", "40_to_64",
                                                                       "65_plus"]})
app = FastAPI(title="breast-cancer")


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None  # every feature missing: counted as invalid input


@app.post("/predict")
async def predict(request: Request):
    body = await _body(request)
    group = body.get("age_band") if isinstance(body, dict) else None
    with monitor.track(body, group=group) as t:
        if not t.valid:
            return JSONResponse({"problems": [{"feature": f, "reason": r}
                                              for f, r in t.problems]}, status_code=422)
        proba = model.predict_proba(np.array([t.values]))[0]
        t.set(proba=proba)
    k = int(proba.argmax())
    return {"id": t.id, "prediction": CLASSES[k], "probability": float(proba[k])}


@app.post("/ground_truth")
async def ground_truth(request: Request):
    body = await _body(request)
    if not isinstance(body, dict) or body.get("label") not in (*CLASSES, 0, 1):
        return JSONResponse({"error": 'expected {"id": ..., "label": ...}'}, status_code=400)
    if not monitor.ground_truth(str(body.get("id")), body["label"]):
        return JSONResponse({"error": "unknown prediction id"}, status_code=404)
    return {"joined": True}


@app.post("/feedback")
async def feedback(request: Request):
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("positive"), bool):
        return JSONResponse({"error": 'expected {"id": ..., "positive": ...}'}, status_code=400)
    monitor.feedback(body["positive"], prediction_id=body.get("id"))
    if body.get("override") is True:
        monitor.override(prediction_id=body.get("id"))
    return {"recorded": True}


@app.get("/metrics")
def metrics() -> Response:
    body, content_type = ml_monitoring.render(registry)
    return Response(body, media_type=content_type)
