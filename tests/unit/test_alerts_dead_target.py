"""A dead target: every alert stops firing once the data behind it stops (issue #22).

For every promtool case of the shipped alerts (prometheus/tests/*_test.yml, worked out by hand in
rules/) in which an alert fires at minute T, the same case is run with every input series ending
at T, as when the scrape target dies: Prometheus marks its series stale and they vanish. The
alert must still fire at T (the cut changed nothing before the death) and must have resolved
once the longest look-back on its path has emptied: 5 minutes of staleness plus every range
window of its expression and of the recording rules it reads (an upper bound). An alert that
stays firing on a dead target's last values, or starts firing on their absence, fails.

MLModelTargetDown, MLModelJobAbsent and MLModelStoppedReporting are the exceptions by design:
they are the alerts a dead target (or a target gone from discovery) is meant to fire, and
Alertmanager's inhibition (tests/integration/test_alerts_alertmanager.py) silences the
model's other alerts meanwhile.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.promharness import promtool_test

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "prometheus" / "tests"
ABSENCE_ALERTS = {"MLModelTargetDown", "MLModelJobAbsent", "MLModelStoppedReporting"}
STALENESS = 5  # minutes: Prometheus' lookback delta
_TOKEN = re.compile(r"^(-?[0-9.e]+)(?:(?:([+-])([0-9.e]+))?x([0-9]+))?$")
_WINDOW = re.compile(r"\[([0-9]+)([smhd])(?::[0-9]+[smhd])?\]")
_UNIT = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440}
_RECORDED = re.compile(r"\b[a-zA-Z_]+:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+\b")


def expand(values: str) -> list[str]:
    """promtool's series notation (`a+bxn`, `a-bxn`, `axn`: n + 1 samples) -> one value a minute."""
    out: list[str] = []
    for token in values.split():
        if token in ("_", "stale"):  # a missing sample, a stale marker
            out.append(token)
            continue
        if re.fullmatch(r"_x[0-9]+", token):
            out += ["_"] * (int(token[2:]) + 1)
            continue
        match = _TOKEN.match(token)
        if not match:
            raise ValueError(f"unsupported series notation {token!r} in {values!r}")
        start, sign, step, n = match.groups()
        delta = float(step or 0) * (-1 if sign == "-" else 1)
        out += [repr(float(start) + i * delta) for i in range(int(n or 0) + 1)]
    return out


def test_expand_is_promtools_notation():
    assert expand("0+60x2 5x1 -1x0 10-2x2") == ["0.0", "60.0", "120.0", "5.0", "5.0", "-1.0",
                                               "10.0", "8.0", "6.0"]
    assert expand("1 _x1 stale 2") == ["1.0", "_", "_", "stale", "2.0"]


def _minutes(duration: str) -> float:
    return sum(float(n) * _UNIT[u] for n, u in re.findall(r"([0-9]+)([smhd])", duration))


def _rules(files: list[Path]) -> tuple[dict[str, str], dict[str, dict]]:
    records: dict[str, str] = {}
    alerts: dict[str, dict] = {}
    for path in files:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    records[rule["record"]] = records.get(rule["record"], "") + "\n" + rule["expr"]
                else:
                    alerts.setdefault(rule["alert"], rule)
    return records, alerts


def look_back(expr: str, records: dict[str, str], seen: frozenset = frozenset()) -> float:
    """Minutes after its inputs stop until `expr` has forgotten them: its range windows plus,
    for each recorded series it reads, that series' own look-back and staleness (upper bound)."""
    total = sum(float(n) * _UNIT[u] for n, u in _WINDOW.findall(expr))
    for name in set(_RECORDED.findall(expr)) - seen:
        if name in records:
            total += STALENESS + look_back(records[name], records, seen | {name})
    return total


def _cases():
    for test_file in sorted(TESTS.glob("*_test.yml")):
        spec = yaml.safe_load(test_file.read_text())
        files = [(test_file.parent / f).resolve() for f in spec["rule_files"]]
        for number, case in enumerate(spec["tests"]):
            for check in case.get("alert_rule_test", []):
                if check["exp_alerts"] and check["alertname"] not in ABSENCE_ALERTS:
                    yield pytest.param(files, case, check,
                                       id=f"{test_file.stem}-{number}-{check['alertname']}-"
                                          f"{check['eval_time']}")


@pytest.mark.parametrize(("rule_files", "case", "check"), list(_cases()))
def test_alert_resolves_when_its_target_dies(rule_files, case, check, tmp_path):
    assert case.get("interval", "1m") == "1m"
    death = int(_minutes(check["eval_time"]))
    records, alerts = _rules(rule_files)
    rule = alerts[check["alertname"]]
    gone = death + STALENESS + look_back(rule["expr"], records) + _minutes(
        rule.get("keep_firing_for", "0m")) + 1
    series = [{"series": s["series"],
               "values": " ".join(expand(s["values"])[:death + 1]) + " stale"}
              for s in case["input_series"]]
    try:
        promtool_test(tmp_path / "dead_target_test.yml", rule_files, [{
            "interval": "1m", "input_series": series, "alert_rule_test": [
                check,  # still firing at the moment the target dies
                {"eval_time": f"{gone:g}m", "alertname": check["alertname"], "exp_alerts": []},
            ]}])
    except AssertionError as exc:
        raise AssertionError(f"{check['alertname']}: dead at {death}m, expected resolved by "
                             f"{gone:g}m\n{exc}") from None
