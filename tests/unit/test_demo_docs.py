"""docs/demo.md stays in step with the scenarios it describes."""

from __future__ import annotations

from demo.scenario import INCIDENT_KINDS, SCENARIOS


def test_demo_doc_names_every_scenario_and_option(repo_root):
    text = (repo_root / "docs" / "demo.md").read_text()
    for name in SCENARIOS:
        assert f"`{name}`" in text, name
    for option in ("--port", "--host", "--speed", "--seed", "--scenario", "--pushgateway"):
        assert option in text, option


def test_ci_row_matches_the_ci_scenario(repo_root):
    text = (repo_root / "docs" / "demo.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `ci` |"))
    ci = SCENARIOS["ci"]
    assert f"healthy for {ci.incidents[0].start / 60:g} simulated minutes" in row
    assert ci.incident("feature_drift").params["feature"] in row
    assert ci.incident("fairness_gap").params["group"] in row
    assert set(INCIDENT_KINDS) == {inc.kind for inc in ci.incidents}
