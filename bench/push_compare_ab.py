"""CPU to compare one dashboard in push planning, before/after (issue #18), interleaved in one
run: `.venv/bin/python bench/push_compare_ab.py`. Before = `content_equal(grafana,
body_to_push(local))` (normalise the body twice, hash it); after = what `plan_dashboard` does now.
Inputs: the repository's compiled dashboards, each as Grafana returns it after a push."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grafana_sync import sync  # noqa: E402
from grafana_sync.model import normalise_for_compare  # noqa: E402


def main(passes: int = 15) -> None:
    dashes = [json.loads(p.read_text(encoding="utf-8"))
              for p in sorted((ROOT / "provisioning" / "dashboards").rglob("*.json"))]
    dashes = [d for d in dashes if isinstance(d, dict) and "panels" in d]
    remote = [dict(sync.body_to_push(d), id=7, version=3) for d in dashes]

    def before() -> None:
        for d, g in zip(dashes, remote, strict=True):
            assert sync.content_equal(g, sync.body_to_push(d))

    def after() -> None:
        for d, g in zip(dashes, remote, strict=True):
            content = normalise_for_compare(sync._unmarked_body(d))
            assert normalise_for_compare(sync.strip_push_marker(g)) == content

    def per_dashboard_ms(fn) -> float:
        t = time.process_time()
        fn()
        return (time.process_time() - t) / len(dashes) * 1000

    a, b = [], []
    for _ in range(passes):
        a.append(per_dashboard_ms(before))
        b.append(per_dashboard_ms(after))
    ma, mb = statistics.median(a), statistics.median(b)
    panels = sum(len(d["panels"]) for d in dashes)
    print(f"{len(dashes)} dashboards, {panels} panels, {passes} interleaved passes: compare one "
          f"dashboard before {ma:.2f} ms, after {mb:.2f} ms CPU ({mb / ma:.2f}×)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
