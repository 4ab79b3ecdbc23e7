"""grafana_sync.redact: URL parsing at the last @, printable URLs, scrubbing, control characters."""

from __future__ import annotations

import pytest

from grafana_sync.client import _split_credentials
from grafana_sync.errors import ConfigError
from grafana_sync.redact import (
    escape_controls,
    forget_secrets,
    public_url,
    register_secret,
    scrub,
    split_url,
)


@pytest.fixture(autouse=True)
def _clean():
    forget_secrets()
    yield
    forget_secrets()


@pytest.mark.parametrize("password", ["p/ss", "p#ss", "p?ss", "p@ss", "a/b#c?d@e", "x:y", "%2F"])
def test_password_with_url_delimiters_is_taken_whole(password):
    url = f"https://admin:{password}@grafana.example:3000/sub"
    parts = split_url(url)
    assert parts is not None and parts.user == "admin"
    assert parts.password == ("/" if password == "%2F" else password)
    assert public_url(url) == "https://grafana.example:3000/sub"
    assert _split_credentials(url) == ("https://grafana.example:3000/sub", "admin", parts.password)


@pytest.mark.parametrize("url", [
    "https://admin:s3cr/et@host:99999/x",   # bad port after the credentials
    "https://admin:s3cr#et@",               # no host
    "ftp://admin:s3cret@host",              # not http(s)
    "admin:s3cret@host",                    # no scheme
    "https://admin:s3cret@host/x?token=1",  # query string
])
def test_an_unparsable_url_is_never_echoed(url):
    with pytest.raises(ConfigError) as exc:
        _split_credentials(url)
    text = str(exc.value)
    assert "s3cr" not in text and "et@" not in text and "admin" not in text
    assert "\n" not in text


def test_public_url_of_garbage_shows_nothing():
    assert public_url("not a url with s3cret") == "(URL not shown: it does not parse)"
    assert public_url("http://u:p@[::1") == "(URL not shown: it does not parse)"


def test_scrub_removes_registered_values_in_every_form():
    register_secret("pa ss/wörd")
    text = ("raw pa ss/wörd, url pa%20ss%2Fw%C3%B6rd, path pa%20ss/w%C3%B6rd, "
            'json "pa ss/w\\u00f6rd"')
    assert scrub(text) == 'raw ***, url ***, path ***, json "***"'


def test_short_values_are_not_scrubbed_and_nothing_else_changes():
    register_secret("ab")
    register_secret(None)
    register_secret("")
    assert scrub("about ab") == "about ab"


def test_escape_controls():
    assert escape_controls("ok") == "ok"
    assert escape_controls("a\x1b[2Jb\x07\r\n") == "a\\x1b[2Jb\\x07\\x0d\\x0a"
    assert escape_controls("a\nb", keep_newlines=True) == "a\nb"
    assert escape_controls("rtl\u202eoverride") == "rtl\\u202eoverride"
