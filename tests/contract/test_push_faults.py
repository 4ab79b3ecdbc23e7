"""The real CLI against a faulty Grafana on a loopback socket (issue #12 items 6-9).

Every answer that is not a deliberate fault comes from FakeGrafana and is checked against the
OpenAPI subset, as are all requests (the `faulty` fixture fails on any violation). Waits are
measured on a fake clock: the retry policy's sleeps advance it instead of the wall clock.
"""

from __future__ import annotations

import pytest

from grafana_sync import client as client_module
from grafana_sync.cli import main
from grafana_sync.redact import forget_secrets
from tests import grafana_fake, grafana_server
from tests.contract import test_push_cli
from tests.contract.test_push_cli import make_dashboard, tag_searches
from tests.grafana_fake import SECRET_TOKEN
from tests.grafana_server import FaultyGrafana

contract = grafana_fake.contract  # fixtures
faulty = grafana_server.faulty
project = test_push_cli.project


class FakeClock:
    """Replaces the client's clock and sleep: a sleep advances the clock, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(client_module, "_now", fake.monotonic)
    monkeypatch.setattr(client_module, "_sleep", fake.sleep)
    return fake


@pytest.fixture(autouse=True)
def _fresh_secrets():
    forget_secrets()
    yield
    forget_secrets()


def run(capsys: pytest.CaptureFixture[str], server: FaultyGrafana, *args: str,
        token: str | None = SECRET_TOKEN, url: str | None = None) -> tuple[int, str, str]:
    argv = ["push", *args, "--message", "test", "--url", url or server.url]
    if token is not None:
        argv += ["--token", token]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return int(exc.value.code or 0), out, err


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) >= 1 and all(line.startswith("error: ") for line in lines), err
    return lines[-1]


# -- item 8: bounded waits ---------------------------------------------------------------------
def test_retry_after_beyond_the_cap_is_not_waited_for(faulty, project, capsys, clock):
    faulty.fault("GET", "/api/health", "status", status=503, headers={"Retry-After": "3600"})
    code, out, err = run(capsys, faulty)
    assert code == 1
    assert clock.sleeps == []  # not an hour, not the cap either: it gives up at once
    line = one_error(err)
    assert "HTTP 503" in line and "retry after 3600 s" in line
    assert f"more than {client_module.MAX_RETRY_AFTER:.0f} s, so giving up" in line


def test_short_retry_after_is_honoured_then_the_push_succeeds(faulty, project, capsys, clock):
    faulty.fault("GET", "/api/search", "status", times=1, status=429,
                 headers={"Retry-After": "7"}, body={"message": "slow down"})
    code, out, err = run(capsys, faulty, "--prune")
    assert code == 0, out + err
    assert 7 in clock.sleeps
    assert set(faulty.fake.dashboards) == {"ovw", "perf", "cost"}


def test_one_call_gives_up_at_its_deadline_and_says_it_retried(faulty, project, capsys, clock):
    # every answer asks for 20 s; a call may last 4 x --timeout = 40 s: the third wait would pass it
    faulty.fault("GET", "/api/health", "status", times=10, status=503,
                 headers={"Retry-After": "20"})
    code, _, err = run(capsys, faulty, "--timeout", "10")
    assert code == 1
    assert clock.sleeps == [20, 20]
    line = one_error(err)
    assert "gave up after 3 attempts" in line and "time limit" in line


def test_server_errors_after_retries_say_they_retried(faulty, project, capsys, clock):
    faulty.fault("GET", "/api/health", "status", times=10, status=502, body={"message": "bad gw"})
    code, _, err = run(capsys, faulty)
    assert code == 1
    assert faulty.fake.count("GET", "/api/health") == 1 + client_module.DEFAULT_RETRIES
    assert max(clock.sleeps) <= client_module.BACKOFF_MAX
    assert "HTTP 502 server error from Grafana (after 3 retries)" in one_error(err)


def test_a_slow_answer_times_out_with_a_clear_line(faulty, project, capsys, monkeypatch):
    monkeypatch.setattr(client_module, "DEFAULT_RETRIES", 0)
    faulty.fault("GET", "/api/health", "delay", seconds=2.0)
    code, _, err = run(capsys, faulty, "--timeout", "0.3")
    assert code == 1
    assert "timed out waiting for Grafana" in one_error(err) and "--timeout" in one_error(err)


# -- item 8: paging and sizes ------------------------------------------------------------------
def test_search_ignoring_page_stops_instead_of_looping(faulty, project, capsys, monkeypatch):
    monkeypatch.setattr(client_module, "SEARCH_PAGE_SIZE", 2)
    assert run(capsys, faulty)[0] == 0  # three managed dashboards: two pages of two
    writes = len(faulty.fake.writes())
    faulty.fake.ignore_page = True
    code, _, err = run(capsys, faulty, "--prune")
    assert code == 1
    assert tag_searches(faulty.fake) == 2  # page 1, then page 1 again: stop
    assert "page 2 repeats dashboards of an earlier page" in one_error(err)
    assert len(faulty.fake.writes()) == writes  # planning failed: nothing written or deleted


def test_search_that_never_ends_stops_at_the_page_limit(faulty, project, capsys, monkeypatch):
    monkeypatch.setattr(client_module, "SEARCH_PAGE_SIZE", 2)
    monkeypatch.setattr(client_module, "MAX_SEARCH_PAGES", 4)
    for i in range(20):  # more than 4 pages of 2
        faulty.fake.add_dashboard(make_dashboard(f"x{i:02d}", f"X {i}"))
    code, _, err = run(capsys, faulty, "--prune")
    assert code == 1
    assert tag_searches(faulty.fake) == 4
    assert "more than 4 pages" in one_error(err)
    assert faulty.fake.writes() == []


@pytest.mark.parametrize("declare", [True, False])
def test_answer_larger_than_the_cap_is_refused(faulty, project, capsys, monkeypatch, declare):
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 200_000)
    faulty.fault("GET", "/api/health", "huge", size=5_000_000, declare=declare)
    code, _, err = run(capsys, faulty)
    assert code == 1
    assert "answered more than 200000 bytes; refusing to read it" in one_error(err)


# -- item 9: malformed, truncated, dropped -----------------------------------------------------
MALFORMED = [
    ("GET", "/api/dashboards/uid/ovw", b'[{"dashboard": {}}]', "not an object"),
    ("GET", "/api/dashboards/uid/ovw", b'{"dashboard": {"uid": "ovw"}, "meta": "x"}',
     "`meta` is a string"),
    ("GET", "/api/dashboards/uid/ovw", b'{"dashboard": {"uid": "ovw", "tags": 5}, "meta": {}}',
     "`dashboard.tags` is a number"),
    ("GET", "/api/folders/ml-monitoring", b'"folder"', "a string, not an object"),
    ("GET", "/api/datasources/uid/prometheus", b'[1, 2]', "a list, not an object"),
    ("GET", "/api/search", b'[null, {"uid": "a"}]', "hit #1 is null"),
    ("GET", "/api/search", b'[{"uid": null, "title": "t"}]', "hit #1 has no uid string"),
    ("GET", "/api/user", b'{"login": 7}', "`login` is a number"),
    ("GET", "/api/health", b'{"database": "ok"', "not JSON"),
    ("GET", "/api/dashboards/uid/ovw", b'[' * 100_000 + b']' * 100_000, "not JSON"),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MALFORMED,
                         ids=[f"{p}-{e}" for _, p, _, e in MALFORMED])
def test_malformed_answers_are_one_line_naming_the_endpoint(faulty, project, capsys, method, path,
                                                            body, expected):
    faulty.fake.add_folder("ml-monitoring", "ML monitoring")
    # in Grafana already, so push reads it (a uid the search does not list is created unread)
    faulty.fake.add_dashboard(make_dashboard("ovw", "Overview"), folder_uid="ml-monitoring")
    # both searches (local uids, ownership tag): prune cannot do without the second one
    faulty.fault(method, path, "body", body=body, times=2 if path == "/api/search" else 1)
    code, out, err = run(capsys, faulty, "--prune")
    assert code == 1
    text = "\n".join(line for line in err.splitlines() if expected in line)
    assert text, err
    assert path in text or "health" in path or "not JSON" in expected
    assert ("DELETE", path) not in faulty.fake.writes()
    assert all(m != "DELETE" for m, _ in faulty.fake.writes())


def test_truncated_answer_says_it_was_cut_off(faulty, project, capsys, monkeypatch):
    monkeypatch.setattr(client_module, "DEFAULT_RETRIES", 0)
    faulty.fault("GET", "/api/search", "truncate", times=2, declared=5000,
                 sent=b'[{"uid": "a", "ti')  # both searches: local uids, ownership tag
    code, _, err = run(capsys, faulty, "--prune")
    assert code == 1
    line = one_error(err)
    assert "GET /api/search" in line and "cut off" in line


def test_chunked_answer_cut_mid_way(faulty, project, capsys, monkeypatch):
    monkeypatch.setattr(client_module, "DEFAULT_RETRIES", 0)
    faulty.fault("GET", "/api/search", "chunked-cut", times=2)  # both searches
    code, _, err = run(capsys, faulty, "--prune")
    assert code == 1
    assert "cut off" in one_error(err)


def test_dropped_connection_on_save_is_not_resent(faulty, project, capsys, clock):
    faulty.fault("POST", "/api/dashboards/db", "drop", times=1)
    code, out, err = run(capsys, faulty, "--jobs", "1")
    assert code == 1
    posts = faulty.fake.count("POST", "/api/dashboards/db")
    assert posts == 3  # the dropped one is not re-sent; the two others went through
    assert "closed the connection without answering" in err
    assert len(set(faulty.fake.dashboards)) == 2


def test_dropped_connections_on_reads_are_retried(faulty, project, capsys, clock):
    assert run(capsys, faulty)[0] == 0  # ovw exists now: the next push reads it
    reads = faulty.fake.count("GET", "/api/dashboards/uid/ovw")
    faulty.fault("GET", "/api/dashboards/uid/ovw", "drop", times=2)
    code, out, err = run(capsys, faulty)
    assert code == 0, out + err
    assert faulty.fake.count("GET", "/api/dashboards/uid/ovw") - reads == 3  # 2 dropped, 1 ok
    assert set(faulty.fake.dashboards) == {"ovw", "perf", "cost"}


# -- item 9: credentials that cannot be sent ---------------------------------------------------
@pytest.mark.parametrize(("token", "expected"), [
    (SECRET_TOKEN + "\n", "trailing whitespace"),
    (" " + SECRET_TOKEN, "leading or trailing whitespace"),
    (SECRET_TOKEN[:5] + "é" + SECRET_TOKEN[5:], "position 6"),
    (SECRET_TOKEN[:5] + "\u2028" + SECRET_TOKEN[5:], "cannot be sent in an HTTP header"),
])
def test_unsendable_token_is_a_one_line_config_error(faulty, project, capsys, token, expected):
    code, out, err = run(capsys, faulty, token=token)
    assert code == 2
    assert expected in one_error(err)
    assert SECRET_TOKEN[6:] not in err and faulty.fake.calls == []


def test_non_ascii_basic_auth_password_is_sent_as_utf8(contract, project, capsys):
    fake = grafana_fake.FakeGrafana(contract, basic=("admin", "pässwörd✓"))
    with FaultyGrafana(fake) as server:
        fake.base_url = server.url
        argv = ["push", "--message", "t", "--url", server.url, "--user", "admin",
                "--password", "pässwörd✓"]
        with pytest.raises(SystemExit) as exc:
            main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 0, out + err
    assert fake.violations == []


# -- items 6 and 7: secrets ---------------------------------------------------------------------
@pytest.mark.parametrize("password", ["p/ss", "p#ss", "p?ss", "p@ss", "a/b#c?d@e:f"])
def test_url_password_with_special_characters_works_and_is_never_printed(contract, project, capsys,
                                                                         password):
    fake = grafana_fake.FakeGrafana(contract, basic=("admin", password))
    with FaultyGrafana(fake) as server:
        fake.base_url = server.url
        host = server.url.removeprefix("http://")
        url = f"http://admin:{password}@{host}"
        fake.fail("POST", "/api/dashboards/db", 500,
                  {"message": f"db error near '{password}' and {SECRET_TOKEN}"})
        with pytest.raises(SystemExit) as exc:
            main(["push", "--message", "t", "--url", url, "--jobs", "1"])
        out, err = capsys.readouterr()
        assert exc.value.code == 1, out + err
        assert fake.headers_seen[-1]["Authorization"].startswith("Basic ")
        assert len(fake.dashboards) == 2  # auth worked; one save failed with the echoing error
        assert "Grafana says" in err and "***" in err
        assert password not in out + err
        for piece in password.replace("@", "/").replace("#", "/").replace("?", "/").split("/"):
            if len(piece) >= 3:
                assert piece not in out + err
        assert fake.violations == []


def test_grafana_error_body_echoing_the_token_is_scrubbed(faulty, project, capsys):
    faulty.fault("GET", "/api/user", "status", status=400,
                 body={"message": f"bad header Authorization: Bearer {SECRET_TOKEN}"})
    code, _, err = run(capsys, faulty)
    assert code == 1
    assert SECRET_TOKEN not in err and "Bearer ***" in err


def test_datasource_secure_values_never_printed(faulty, project, capsys):
    ds = project / "provisioning" / "datasources" / "prometheus.yaml"
    ds.write_text(ds.read_text() + "    secureJsonData:\n      httpHeaderValue1: ds-secret-v4lue\n")
    faulty.fault("POST", "/api/datasources", "status", status=400,
                 body={"message": "invalid header value ds-secret-v4lue"})
    code, out, err = run(capsys, faulty)
    assert code == 1
    assert "ds-secret-v4lue" not in out + err and "invalid header value ***" in err


def test_netrc_never_replaces_the_token(faulty, project, capsys, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(netrc))
    code, out, err = run(capsys, faulty)
    assert code == 0, out + err
    assert {h.get("Authorization") for h in faulty.fake.headers_seen} == {f"Bearer {SECRET_TOKEN}"}


# -- diff reads Grafana through the same client ----------------------------------------------
def run_diff(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["diff", "--url", url, "--token", SECRET_TOKEN, *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return int(exc.value.code or 0), out, err


def test_diff_against_a_malformed_grafana_is_one_line(faulty, project, capsys):
    faulty.fault("GET", "/api/search", "body", body=b'[{"uid": "a"}, null]')
    code, out, err = run_diff(capsys, faulty.url)
    assert code == 1
    assert one_error(err).startswith("error: GET /api/search (page 1): Grafana's answer has an "
                                     "unexpected shape (hit #2 is null)")


def test_diff_label_never_shows_url_credentials(contract, project, capsys):
    fake = grafana_fake.FakeGrafana(contract, token=SECRET_TOKEN)
    with FaultyGrafana(fake) as server:
        fake.base_url = server.url
        url = server.url.replace("http://", "http://admin:pa%2Fss@")
        code, out, err = run_diff(capsys, url, "--format", "json")
    assert code == 0, err
    assert "pa%2Fss" not in out + err and "pa/ss" not in out + err and "admin" not in out + err
    assert f"grafana {server.url}" in out
    assert fake.violations == []
