"""CPU to compare one dashboard in push planning (issue #18), interleaved in one run:
`.venv/bin/python bench/push_compare_ab.py [PASSES]`.

- before: `content_equal(grafana, body_to_push(local))` (normalise the body twice, hash it);
- once: each side normalised once, no hash (the 2026-11-30 slice);
- now: `sync.same_content_as_pushed` (equal apart from bookkeeping first, normalise only if not).

Inputs: the repository's compiled dashboards, each as Grafana returns it after a push."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
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
    pairs = list(zip(dashes, remote, strict=True))

    def before() -> None:
        for d, g in pairs:
            assert sync.content_equal(g, sync.body_to_push(d))

    def once() -> None:
        for d, g in pairs:
            content = normalise_for_compare(sync._unmarked_body(d))
            assert normalise_for_compare(sync.strip_push_marker(g)) == content

    def now() -> None:
        for d, g in pairs:
            assert sync.same_content_as_pushed(g, d)

    def per_dashboard_ms(fn: Callable[[], None]) -> float:
        t = time.process_time()
        fn()
        return (time.process_time() - t) / len(dashes) * 1000

    runs: dict[str, list[float]] = {"before": [], "once": [], "now": []}
    for _ in range(passes):
        for name, fn in (("before", before), ("once", once), ("now", now)):
            runs[name].append(per_dashboard_ms(fn))
    med = {k: statistics.median(v) for k, v in runs.items()}
    panels = sum(len(d["panels"]) for d in dashes)
    print(f"{len(dashes)} dashboards, {panels} panels, {passes} interleaved passes: compare one "
          f"unchanged dashboard: before {med['before']:.2f} ms, normalised once "
          f"{med['once']:.2f} ms ({med['once'] / med['before']:.2f}×), now {med['now']:.3f} ms "
          f"CPU ({med['now'] / med['before']:.3f}×)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
