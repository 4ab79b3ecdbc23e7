from grafana_sync.connection import ConnectionSettings, redact_url


def test_connection_repr_hides_secrets():
    settings = ConnectionSettings(url="https://bob:hunter2-secret@grafana.example/sub", token="glsa_secret")
    text = repr(settings)
    assert "hunter2-secret" not in text and "glsa_secret" not in text and "bob" not in text
    assert "grafana.example/sub" in text


def test_redact_url_leaves_plain_urls():
    assert redact_url("http://127.0.0.1:3000") == "http://127.0.0.1:3000"
