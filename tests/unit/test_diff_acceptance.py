"""Issue 6 "Done when": change one query and one unit in a dashboard module, rebuild, and
`grafana-sync diff --against-ref HEAD` prints exactly those two changes (real build, real git)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "fixtures" / "build" / "example.py"
OLD_EXPR = 'sum(rate(http_requests_total{job=~"$job"}[$__rate_interval]))'
NEW_EXPR = 'sum by (job) (rate(http_requests_total{job=~"$job"}[$__rate_interval]))'


def sh(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)


def grafana_sync(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return sh(cwd, sys.executable, "-m", "grafana_sync", *args)


def git(cwd: Path, *args: str) -> None:
    proc = sh(cwd, "git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
              "-c", "commit.gpgsign=false", *args)
    assert proc.returncode == 0, proc.stderr


def test_one_query_and_one_unit_changed_in_python_give_exactly_two_changes(tmp_path) -> None:
    (tmp_path / "dashboards").mkdir()
    module = tmp_path / "dashboards" / "example.py"
    shutil.copy(EXAMPLE, module)
    assert grafana_sync(tmp_path, "build").returncode == 0
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "dashboards")

    source = module.read_text()
    assert source.count(OLD_EXPR) == 1 and source.count('unit="reqps"') == 1
    module.write_text(source.replace(OLD_EXPR, NEW_EXPR).replace('unit="reqps"', 'unit="rps"'))
    assert grafana_sync(tmp_path, "build").returncode == 0

    text = grafana_sync(tmp_path, "diff", "--against-ref", "HEAD", "--exit-code")
    assert text.returncode == 1, text.stderr
    changed = [line.strip() for line in text.stdout.splitlines() if line.startswith("      ")]
    assert changed == [
        "~ fieldConfig.defaults.unit: 'reqps' → 'rps'",
        "~ targets[A].expr:",
        f"- {OLD_EXPR!r}",
        f"+ {NEW_EXPR!r}",
    ]

    doc = json.loads(grafana_sync(tmp_path, "diff", "--against-ref", "HEAD", "--format",
                                  "json").stdout)
    entries = [(d["uid"], e["change"], e["new"]["title"], [f["path"] for f in e["fields"]])
               for d in doc["dashboards"] for e in d["panels"]]
    assert entries == [("example-service", "changed", "Request rate",
                        ["fieldConfig.defaults.unit", "targets[A].expr"])]
    assert doc["dashboards"][0]["changes"] == []
