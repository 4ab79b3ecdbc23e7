import pytest

from grafana_sync.macros import duration_ms, substitute_macros


def test_rate_interval_and_range_macros():
    out = substitute_macros(
        "increase(x[$__rate_interval]) / $__range_s + rate(y[${__interval}])",
        rate_interval="2m", interval="30s", range_="6h",
    )
    assert out == "increase(x[2m]) / 21600 + rate(y[30s])"


def test_variables_all_syntaxes():
    out = substitute_macros(
        'm{model=~"$model", version=~"${version:regex}", job="[[job]]"}',
        {"model": ["a", "b"], "version": "v1"},
    )
    assert out == 'm{model=~"(a|b)", version=~"v1", job=".*"}'


def test_longer_builtin_names_win():
    assert substitute_macros("$__rate_interval_ms $__range_ms", range_="1m") == "60000 60000"


def test_unknown_globals_left_alone():
    assert substitute_macros("x @ $__to") == "x @ $__to"


def test_duration_rejects_compound():
    with pytest.raises(ValueError):
        duration_ms("1h30m")

