"""gunicorn settings for a model service instrumented with ml_monitoring, on several workers.

    export PROMETHEUS_MULTIPROC_DIR=$(mktemp -d)   # empty, before gunicorn starts
    gunicorn -c examples/gunicorn.conf.py --chdir examples instrumented_service:app

Every worker writes its metrics to PROMETHEUS_MULTIPROC_DIR; /metrics on any worker serves the
sum over workers. Ground truth for a prediction may reach another worker than the prediction:
the pending predictions live in one SQLite file in that directory.
"""

import ml_monitoring

workers = 3
bind = "127.0.0.1:8080"


def child_exit(server, worker):
    ml_monitoring.worker_exit(worker.pid)
