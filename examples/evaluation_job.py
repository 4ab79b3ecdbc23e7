"""A batch evaluation job reporting through the Pushgateway (run it from cron / a CronJob).

    python examples/evaluation_job.py --pushgateway http://127.0.0.1:9091 --schedule-interval 900

It re-scores the `breast-cancer` model of examples/instrumented_service.py on labelled
predictions and pushes accuracy, precision, recall, F1 and ROC AUC per version, the number of
samples, its duration and its last-success timestamp (`job="ml_evaluation"`, grouping key
`model`). Here the labelled predictions are the model's validation split; a real job would read
the predictions joined to their ground truth from its warehouse for the window since its last
run. A failed run pushes only its failure timestamp and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml_monitoring import EvaluationJob


def labelled_predictions():
    """(version, true labels, class probabilities) to evaluate: the warehouse query goes here."""
    data = load_breast_cancer()
    X_tr, X_val, y_tr, y_val = train_test_split(data.data, data.target, test_size=0.3,
                                                random_state=0, stratify=data.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X_tr, y_tr)
    return [("v1", y_val, model.predict_proba(X_val))], [str(c) for c in data.target_names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushgateway", required=True, metavar="URL")
    parser.add_argument("--schedule-interval", type=float, default=900.0, metavar="SECONDS",
                        help="how often the job is scheduled (staleness alerts use it)")
    args = parser.parse_args(argv)
    batches, classes = labelled_predictions()
    job = EvaluationJob("breast-cancer", classes=classes, pushgateway=args.pushgateway,
                        schedule_interval=args.schedule_interval)
    try:
        with job.run() as run:
            for version, y_true, proba in batches:
                run.evaluate(version, y_true, proba)
            run.window_end = time.time()
    except Exception as exc:  # noqa: BLE001 - one line, exit 1
        print(f"error: evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(f"pushed {sorted(run.scores)} to {args.pushgateway}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
