"""GrafanaClient set-up: auth headers, TLS options, retry policy, secrets kept out of reprs."""

from __future__ import annotations

import pytest

from grafana_sync.client import GrafanaClient, _split_credentials
from grafana_sync.connection import ConnectionSettings

TOKEN = "glsa_unit_secret_token_123"


def test_bearer_token_header_and_no_org_header():
    c = GrafanaClient(ConnectionSettings(url="https://g.example/", token=TOKEN, org_id=3))
    s = c.session
    assert s.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "X-Grafana-Org-Id" not in s.headers  # a token is bound to one org
    assert s.verify is True and c.base_url == "https://g.example"


def test_basic_auth_with_org_id_and_tls_options():
    c = GrafanaClient(ConnectionSettings(url="https://g.example", user="admin", password="pw",
                                         org_id=3, ca_cert="/etc/ca.pem"))
    assert c.session.auth == ("admin", "pw")
    assert c.session.headers["X-Grafana-Org-Id"] == "3"
    assert c.session.verify == "/etc/ca.pem"
    insecure = GrafanaClient(ConnectionSettings(url="https://g.example", insecure=True))
    assert insecure.session.verify is False


def test_credentials_in_url_are_moved_out_of_it():
    assert _split_credentials("https://admin:s3cret@g.example:3000/grafana/") == (
        "https://g.example:3000/grafana", "admin", "s3cret")
    c = GrafanaClient(ConnectionSettings(url="https://admin:s3cret@g.example/grafana"))
    assert c.base_url == "https://g.example/grafana"
    assert c.session.auth == ("admin", "s3cret")
    assert "s3cret" not in repr(c)


def test_repr_has_no_secret():
    c = GrafanaClient(ConnectionSettings(url="https://g.example", token=TOKEN))
    assert TOKEN not in repr(c) and TOKEN not in repr(c.settings)


@pytest.mark.parametrize(("method", "retried"), [
    ("GET", True), ("PUT", True), ("DELETE", True), ("POST", False)])
def test_retry_policy_never_retries_post_on_status_or_read_errors(method, retried):
    c = GrafanaClient(ConnectionSettings(url="https://g.example", token=TOKEN))
    retry = c.session.get_adapter("https://g.example").max_retries
    assert retry.is_retry(method, 503) is retried
    assert retry.is_retry(method, 429) is retried
    assert retry.is_retry(method, 404) is False
    assert retry._is_method_retryable(method) is retried  # read errors follow the same rule
    assert retry.connect == 3  # never-sent requests (connection errors) are always safe


def test_each_thread_gets_its_own_session():
    import threading

    c = GrafanaClient(ConnectionSettings(url="https://g.example", token=TOKEN))
    seen = []
    t = threading.Thread(target=lambda: seen.append(c.session))
    t.start()
    t.join()
    assert seen[0] is not c.session
    assert seen[0].headers["Authorization"] == c.session.headers["Authorization"]


@pytest.mark.parametrize("url", [
    "http://admin:pw-SECRET@host:abc", "http://admin:pw-SECRET@[::1", "ftp://host",
    "grafana.example.com", "http://admin:pw-SECRET@host:99999", "https://host/grafana?x=1",
])
def test_malformed_urls_are_config_errors_without_credentials(url):
    from grafana_sync.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        GrafanaClient(ConnectionSettings(url=url))
    text = str(exc.value)
    assert text.startswith("invalid Grafana URL ") and "\n" not in text
    assert "pw-SECRET" not in text and exc.value.exit_code == 2
