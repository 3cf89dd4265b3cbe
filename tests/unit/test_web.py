"""The recommendations page with stand-ins for Cassandra and Kafka, and the status helpers."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from jobs.reco.validate import validate
from movielens_web import __main__ as server
from movielens_web import config, rate, status
from movielens_web.app import CSRF_FIELD, create_app
from movielens_web.cli import render
from movielens_web.data import Catalogue, Movie, RatedMovie, Recommendation, TopN, Unavailable

MOVIES = {
    1: Movie(1, "Toy Story (1995)", "Animation|Children", 2),
    2: Movie(2, "Heat (1995)", "Action|Crime", 1),
    3: Movie(3, "Casino (1995)", "Crime|Drama", None),
}
SETTINGS = config.Settings(("127.0.0.1",), "127.0.0.1:9092", "http://127.0.0.1:9870")


class FakeReader:
    """The Reader's interface over dicts."""

    def __init__(self) -> None:
        self.ratings = {7: [RatedMovie(MOVIES[1], 4.0, 1000)]}
        recs = [
            Recommendation(1, MOVIES[2], 0.91, (MOVIES[1],), 4.26),
            Recommendation(2, MOVIES[3], 0.2),  # a row without stars (no rating model)
        ]
        self.tops = {7: TopN(recs, "v1", datetime(2026, 1, 1))}
        self.fail: Exception | None = None

    def _check(self):
        if self.fail:
            raise self.fail

    def catalogue(self):
        self._check()
        return Catalogue(MOVIES, time.monotonic())

    def rated(self, user_id):
        self._check()
        return self.ratings.get(user_id, [])

    def top_n(self, user_id):
        self._check()
        return self.tops.get(user_id, TopN([], "", None))

    def stream_state(self):
        self._check()

    def some_users(self):
        self._check()
        return sorted(self.tops)


class FakeSender:
    def __init__(self) -> None:
        self.sent = []

    def send(self, rating):
        self.sent.append(rating)
        return 0, len(self.sent) - 1


@pytest.fixture
def page():
    reader, sender = FakeReader(), FakeSender()
    app = create_app(SETTINGS, reader, sender)
    return app.test_client(), reader, sender


def text(response) -> str:
    return response.get_data(as_text=True)


def form_token(client, user: int = 7) -> str:
    """The CSRF token of the user's rating form (the page sets its session cookie)."""
    body = text(client.get(f"/users/{user}"))
    return re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)


def rate_on_the_page(client, user: int, form: dict):
    """POST the rating form as the page's form does: with the session's token."""
    return client.post(
        f"/users/{user}/ratings", data={CSRF_FIELD: form_token(client, user), **form}
    )


def test_user_page_shows_ratings_and_top_n(page):
    client, _, _ = page
    body = text(client.get("/users/7"))
    assert "Heat (1995)" in body and "Toy Story (1995)" in body
    assert 'id="unknown" class="warn" hidden' in body
    # why each recommendation: the rated movies that weigh most, or popularity for a cold list
    assert '<td class="because">Toy Story (1995)</td>' in body
    assert '<td class="because">(popular)</td>' in body
    # the predicted rating in stars, else (a model without a rating model) the raw score
    assert "<td>★ 4.3</td>" in body and "<td>0.200</td>" in body and "0.910" not in body
    # the rated movie is not offered for rating again
    assert "Toy Story (1995) #1" not in body and "Heat (1995) #2" in body


def test_unknown_user_gets_an_explanation_and_the_form(page):
    client, _, _ = page
    response = client.get("/users/123456")
    assert response.status_code == 200
    body = text(response)
    assert "has no\nratings and no recommendations yet" in body
    assert 'id="unknown" class="warn" hidden' not in body and 'id="rate"' in body


@pytest.mark.parametrize("user", ["abc", "0", "-3", "99999999999", "7.5"])
def test_bad_user_ids_get_a_clear_400(page, user):
    client, _, _ = page
    response = client.get(f"/users/{user}")
    assert response.status_code == 400
    assert "is not a user id" in text(response)
    assert client.get("/api/users/" + user).get_json()["error"].endswith("whole numbers from 1.")


def test_index_redirects_a_typed_user_and_refuses_an_empty_one(page):
    client, _, _ = page
    assert '<a href="/users/7">7</a>' in text(client.get("/"))
    assert client.get("/?user=+7+").headers["Location"] == "/users/7"
    assert "Type a user id" in text(client.get("/?user="))


def test_a_rating_goes_to_kafka_as_the_stream_expects_it(page):
    client, _, sender = page
    response = rate_on_the_page(client, 42, {"movie": "Heat (1995) #2", "rating": "4.5"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/users/42?sent=")
    (rating,) = sender.sent
    assert (rating.user_id, rating.movie_id, rating.rating) == (42, 2, 4.5)
    from jobs.reco.validate import to_message  # noqa: PLC0415

    assert validate(to_message(rating), MOVIES)[1] == "ok"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"movie": "Heat #x", "rating": "4"}, "is not a movie of the list"),
        ({"movie": "no such film", "rating": "4"}, "No movie of the catalogue has"),
        ({"movie": "Toy", "rating": "4"}, "is not a whole title: pick Toy Story (1995) #1"),
        ({"movie": "", "rating": "4"}, "Choose a movie"),
        ({"movie": "99", "rating": "4"}, "Movie 99 is not in the catalogue"),
        ({"movie": "2", "rating": "7"}, "ratings go from 0.5 to 5"),
        ({"movie": "2", "rating": "4.2"}, "ratings go from 0.5 to 5"),
        ({"movie": "2", "rating": "lots"}, "is not a rating"),
        ({"movie": "2"}, "is not a rating"),
    ],
)
def test_bad_ratings_are_refused_with_the_reason_and_nothing_is_sent(page, form, message):
    client, _, sender = page
    response = rate_on_the_page(client, 7, form)
    assert response.status_code == 400
    assert message in text(response)
    assert sender.sent == []


def test_a_rating_without_the_form_token_is_refused_and_nothing_is_sent(page):
    client, _, sender = page
    form = {"movie": "Heat (1995) #2", "rating": "4.5"}
    # no session at all (a form posted from another site, or a script)
    response = client.post("/users/7/ratings", data=form)
    assert response.status_code == 403
    body = text(response)
    assert "<h1>Refused</h1>" in body and "did not come with this page" in body
    # a session, but no token or a wrong one in the form
    token = form_token(client)
    assert client.post("/users/7/ratings", data=form).status_code == 403
    wrong = client.post("/users/7/ratings", data={CSRF_FIELD: token[:-1] + "x", **form})
    assert wrong.status_code == 403 and "security token is missing or wrong" in text(wrong)
    # the token of another visitor's session
    other = create_app(SETTINGS, FakeReader(), sender).test_client()
    stolen = other.post("/users/7/ratings", data={CSRF_FIELD: token, **form})
    assert stolen.status_code == 403
    assert sender.sent == []
    # the page's own form still works, and its token stays the session's
    assert client.post("/users/7/ratings", data={CSRF_FIELD: token, **form}).status_code == 303
    assert form_token(client) == token and len(sender.sent) == 1


def test_the_token_is_checked_before_the_input(page):
    client, _, sender = page
    response = client.post("/users/abc/ratings", data={"movie": "nonsense", "rating": "9"})
    assert response.status_code == 403 and sender.sent == []


def test_the_session_cookie_is_signed_http_only_same_site_and_secure_over_https():
    cookie = (
        create_app(SETTINGS, FakeReader(), FakeSender(), secret_key=b"k" * 32)
        .test_client()
        .get("/users/7")
        .headers["Set-Cookie"]
    )
    assert cookie.startswith("movielens_session=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Secure" not in cookie
    tls = config.Settings(
        ("127.0.0.1",), "127.0.0.1:9092", "http://127.0.0.1:9870", tls_cert="/c", tls_key="/k"
    )
    client = create_app(tls, FakeReader(), FakeSender()).test_client()
    assert "; Secure" in client.get("https://localhost/users/7").headers["Set-Cookie"]


def test_a_session_signed_with_another_key_is_refused(page):
    _, _, sender = page
    one = create_app(SETTINGS, FakeReader(), sender, secret_key=b"1" * 32).test_client()
    token = form_token(one)
    # the same cookie and token, at a page with another key (e.g. after the key changed)
    two = create_app(SETTINGS, FakeReader(), sender, secret_key=b"2" * 32).test_client()
    two.set_cookie("movielens_session", one.get_cookie("movielens_session").value)
    response = two.post("/users/7/ratings", data={CSRF_FIELD: token, "movie": "2", "rating": "4"})
    assert response.status_code == 403 and sender.sent == []


def test_unreachable_cassandra_is_a_503_that_says_so(page):
    client, reader, _ = page
    reader.fail = Unavailable("Cassandra does not answer: 127.0.0.1:9042: refused")
    response = client.get("/users/7")
    assert response.status_code == 503
    assert "Cassandra does not answer" in text(response)


def test_an_unexpected_error_shows_no_traceback(page):
    client, reader, _ = page
    reader.fail = ZeroDivisionError("boom")
    response = client.get("/users/7")
    assert response.status_code == 500
    body = text(response)
    assert "Something went wrong" in body and "Traceback" not in body and "boom" not in body


def test_unknown_pages_and_methods(page):
    client, _, _ = page
    assert client.get("/nope").status_code == 404
    assert "is not how" in text(client.get("/users/7/ratings"))


def test_movie_search_ranks_by_popularity_and_finds_ids(page):
    client, _, _ = page
    assert [m["movie_id"] for m in client.get("/api/movies?q=").get_json()] == [2, 1, 3]
    assert [m["movie_id"] for m in client.get("/api/movies?q=CASINO").get_json()] == [3]
    assert [m["movie_id"] for m in client.get("/api/movies?q=1").get_json()][0] == 1


def test_api_user_is_json_with_both_lists(page):
    client, _, _ = page
    data = client.get("/api/users/7").get_json()
    assert data["known"] and data["model_version"] == "v1"
    assert data["recommendations"][0]["title"] == "Heat (1995)"
    assert data["recommendations"][0]["because"] == [{"movie_id": 1, "title": "Toy Story (1995)"}]
    assert data["recommendations"][1]["because"] == []
    assert [r["stars"] for r in data["recommendations"]] == [4.3, None]
    assert [r["score"] for r in data["recommendations"]] == [0.91, 0.2]
    assert data["rated"][0]["rating"] == 4.0


def test_service_health_is_the_lab_health_check(http_dir):
    root, url = http_dir
    address = url.removeprefix("http://")
    (root / "StreamingQuery").mkdir()
    (root / "StreamingQuery" / "index.html").write_text("Active Streaming Queries (1)")
    stream = config.Service("Streaming job", "stream", address, "http://ui")
    assert status.check_service(stream, None, SETTINGS) == status.Health(
        "Streaming job", True, "one active streaming query", "http://ui"
    )
    (root / "StreamingQuery" / "index.html").write_text("Active Streaming Queries (0)")
    assert not status.check_service(stream, None, SETTINGS).healthy
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{free.getsockname()[1]}"
    down = status.check_service(config.Service("ZooKeeper", "zookeeper", closed), None, SETTINGS)
    assert not down.healthy and "refused" in down.detail.lower()


def test_cassandra_health_also_needs_the_page_session(monkeypatch):
    monkeypatch.setattr(
        status.lab_health, "check", lambda kind, address, web=None: (True, "answers CQL")
    )
    cassandra = config.Service("Cassandra", "cassandra", "127.0.0.1:9042")
    assert status.check_service(cassandra, None, SETTINGS).detail == "no Cassandra session"

    class Pinging:
        def ping(self):
            return "keyspace reco answers"

    healthy = status.check_service(cassandra, Pinging(), SETTINGS)
    assert healthy.healthy and healthy.detail == "keyspace reco answers"


def test_status_renders_every_part():
    s = status.Status(
        services=[
            status.Health("Kafka", True, "3 topics"),
            status.Health("HDFS", False, "refused"),
        ],
        hdfs={"error": "refused"},
        lag={"topic": "t", "messages": 10, "processed": 8, "lag": 2, "partitions": {}, "batch": 4},
        model={
            "newest": "v2",
            "serving": "v1",
            "since": None,
            "last_batch": 4,
            "last_batch_at": None,
            "last_user": 7,
        },
        user_id=7,
        recommendations=TopN([Recommendation(1, MOVIES[2], 0.5, (MOVIES[1],), 3.94)], "v1", None),
    )
    out = render(s)
    assert "DOWN  HDFS" in out and "Consumer lag of topic t: 2" in out
    assert "serving v1" in out and "Heat (1995)" in out
    assert "because you rated Toy Story (1995)" in out
    assert re.search(r"^\s+1\s+★ 3\.9  Heat \(1995\)", out, re.MULTILINE), out
    assert out.endswith("NOT all healthy: see above.")
    assert json.loads(json.dumps(s.to_dict()))["healthy"] is False


def test_settings_errors_are_clear(tmp_path):
    with pytest.raises(config.SettingsError, match="cannot read the settings"):
        config.load(str(tmp_path / "missing.json"))
    (tmp_path / "s.json").write_text('{"kafka": {"bootstrap": "k:9092"}}')
    with pytest.raises(config.SettingsError, match="missing setting: cassandra.hosts"):
        config.load(str(tmp_path / "s.json"))


def test_user_ids_and_ratings_parse():
    assert rate.parse_user_id(" 12 ") == 12
    assert rate.parse_rating("0.5") == 0.5


# A catalogue with what real titles have: an article moved to the end, accents, the same title
# in two years, a title that is a number.
TITLES = {
    10: ("Usual Suspects, The (1995)", 3),
    11: ("Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)", 5),
    12: ("Heat (1995)", 1),
    13: ("Heat (1986)", None),
    14: ("1941 (1979)", 9),
    15: ("Star Wars: Episode IV - A New Hope (1977)", 2),
    16: ("Star Trek: First Contact (1996)", 4),
}
CATALOGUE = Catalogue(
    {i: Movie(i, title, "", rank) for i, (title, rank) in TITLES.items()}, time.monotonic()
)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("usual susp", [10]),
        ("THE USUAL SUSPECTS", [10]),
        ("suspects usual", [10]),
        ("amelie", [11]),
        ("Amélie poulain", [11]),
        ("star", [15, 16]),
        ("star wars hope", [15]),
        ("sta tre", [16]),
        ("heat", [12, 13]),
        ("#13", [13]),
        ("1941", [14]),
        ("wars trek", []),
        ("", [12, 15, 10, 16, 11, 14, 13]),
    ],
)
def test_search_finds_titles_by_the_starts_of_their_words(typed, found):
    assert [m.movie_id for m in CATALOGUE.search(typed)] == found


def test_search_leaves_out_the_users_rated_movies_and_stops_at_the_limit():
    assert [m.movie_id for m in CATALOGUE.search("star", exclude={15})] == [16]
    assert [m.movie_id for m in CATALOGUE.search("", limit=2)] == [12, 15]


@pytest.mark.parametrize(
    ("typed", "movie_id"),
    [
        ("Heat (1995) #12", 12),
        ("#13", 13),
        ("13", 13),
        ("the usual suspects", 10),
        ("Usual Suspects, The (1995)", 10),
        ("heat (1986)", 13),
        ("1941", 14),
        ("star wars episode iv a new hope", 15),
    ],
)
def test_a_movie_is_chosen_by_its_suggestion_its_id_or_its_full_title(typed, movie_id):
    assert rate.chosen_movie(typed, CATALOGUE) == movie_id


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Choose a movie"),
        ("Film #2.5", "is not a movie of the list"),
        ("gone with the wind", "No movie of the catalogue has 'gone with the wind' in its title"),
        ("heat", "could be several movies (Heat (1995) #12; Heat (1986) #13)"),
        ("star", "could be several movies (Star Wars: Episode IV - A New Hope (1977) #15; Star"),
    ],
)
def test_a_title_that_names_no_movie_or_several_is_refused_with_the_candidates(typed, message):
    with pytest.raises(rate.BadInput, match=re.escape(message)):
        rate.chosen_movie(typed, CATALOGUE)


def test_a_typed_title_is_rated_and_suggestions_leave_out_the_rated_movies(page):
    client, _, sender = page
    response = rate_on_the_page(client, 42, {"movie": "casino", "rating": "3"})
    assert response.status_code == 303 and "Casino (1995): 3 went to Kafka" in unquote_plus(
        response.headers["Location"]
    )
    assert [(r.user_id, r.movie_id) for r in sender.sent] == [(42, 3)]
    # user 7 rated Toy Story: not suggested to them, suggested to others
    assert client.get("/api/movies?q=toy&user=7").get_json() == []
    assert [m["movie_id"] for m in client.get("/api/movies?q=toy").get_json()] == [1]
    assert client.get("/api/movies?q=toy&user=x").status_code == 400


def test_newest_model_is_the_newest_version_folder(http_dir):
    root, url = http_dir
    listing = {
        "FileStatuses": {
            "FileStatus": [
                {"pathSuffix": name}
                for name in ["20260101T000000Z", "latest", "tune", "20261125T061959Z"]
            ]
        }
    }
    (root / "webhdfs" / "v1").mkdir(parents=True)
    (root / "webhdfs" / "v1" / "models").write_text(json.dumps(listing))
    settings = config.Settings(("127.0.0.1",), "127.0.0.1:9092", url)
    assert status.newest_model(settings) == "20261125T061959Z"


def test_status_when_cassandra_is_down_names_it_in_every_part_that_needs_it():
    class DownReader(FakeReader):
        def stream_state(self):
            raise Unavailable("Cassandra does not answer: refused")

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    settings = config.Settings(("127.0.0.1",), "127.0.0.1:9092", f"http://127.0.0.1:{port}")
    s = status.collect(settings, DownReader(), user_id=7)
    assert s.lag == {"error": "Cassandra does not answer: refused"}
    assert s.model == {"error": "Cassandra does not answer: refused"}
    assert "refused" in s.hdfs["error"].lower()
    assert not s.healthy and s.recommendations.model_version == "v1"


def test_tls_and_the_secret_key_come_from_the_settings(tmp_path):
    raw = {"cassandra": {"hosts": ["h"]}, "kafka": {"bootstrap": "k:9092"}, "webhdfs": "http://n"}
    plain = config.from_dict(raw)
    assert not plain.tls and plain.scheme == "http" and config.secret_key(plain) is None
    key = tmp_path / "secret_key"
    key.write_text("s" * 40 + "\n")
    tls = config.from_dict(
        {**raw, "tls": {"cert": "/c.crt", "key": "/c.key"}, "secret_key_file": str(key)}
    )
    assert tls.tls and tls.scheme == "https" and config.secret_key(tls) == b"s" * 40
    key.write_text("short")
    with pytest.raises(config.SettingsError, match="shorter than 16 characters"):
        config.secret_key(tls)
    missing = config.from_dict({**raw, "secret_key_file": str(tmp_path / "none")})
    with pytest.raises(config.SettingsError, match="cannot read the secret key"):
        config.secret_key(missing)


def test_server_options_serve_tls_with_the_host_certificate():
    tls = config.Settings(
        ("h",), "k:9092", "http://n", bind="::", port=8443, tls_cert="/c.crt", tls_key="/c.key"
    )
    options = server.server_options(tls)
    assert options["bind"] == ["[::]:8443"] and options["workers"] == 1
    assert (options["certfile"], options["keyfile"]) == ("/c.crt", "/c.key")
    assert options["control_socket_disable"] is True
    assert "certfile" not in server.server_options(SETTINGS)
    with pytest.raises(config.SettingsError, match="cannot load the certificate /c.crt"):
        server.check_tls(tls)


def free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def test_the_page_serves_https_with_its_certificate(tmp_path, lab_tls):
    """python -m movielens_web with TLS: /health over HTTPS verified against the CA, a client
    that does not trust the CA refused, plain HTTP not served."""
    pytest.importorskip("gunicorn")
    port = free_port()
    settings = {
        "bind": "127.0.0.1",
        "port": port,
        "cassandra": {"hosts": ["127.0.0.1"]},
        "kafka": {"bootstrap": "127.0.0.1:9"},
        "webhdfs": "http://127.0.0.1:9",
        "tls": {"cert": lab_tls["cert"], "key": lab_tls["key"]},
        "secret_key_file": str(tmp_path / "secret_key"),
    }
    (tmp_path / "secret_key").write_text("x" * 32)
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(
        [str(root), str(root / "web"), str(root / "roles/daemon/files"), *sys.path[1:]]
    )
    page = subprocess.Popen(
        [sys.executable, "-m", "movielens_web", "--settings", str(tmp_path / "settings.json")],
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"https://127.0.0.1:{port}/health"
    trusting = ssl.create_default_context(cafile=lab_tls["ca"])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, context=trusting, timeout=5) as response:
                    assert response.read() == b"ok\n"
                break
            except urllib.error.URLError:
                assert page.poll() is None, page.stdout.read()
                assert time.monotonic() < deadline, "the page did not answer within 30 s"
                time.sleep(0.3)
        stranger = ssl.create_default_context(cafile=lab_tls["other_ca"])
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(url, context=stranger, timeout=5)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:
        page.terminate()
        page.wait(timeout=30)


def test_metrics_count_requests_by_route_not_by_path(page):
    client, _, _ = page
    client.get("/users/7")
    client.get("/users/8")
    client.get("/users/abc")
    client.get("/no/such/page")
    body = text(client.get("/metrics"))
    assert 'movielens_web_requests_total{route="/users/<user>",method="GET",status="200"} 2' in body
    assert 'movielens_web_requests_total{route="/users/<user>",method="GET",status="400"} 1' in body
    assert 'movielens_web_requests_total{route="unmatched",method="GET",status="404"} 1' in body
    assert 'movielens_web_request_seconds_count{route="/users/<user>"} 3' in body
    assert "# TYPE movielens_web_requests_total counter" in body
    # The scrape itself is counted from the next one on.
    assert 'route="/metrics"' in text(client.get("/metrics"))


def test_a_hadoop_web_server_that_asks_for_a_ticket_is_named_on_the_panel():
    """Hadoop's secure mode with settings that name no keytab: the panel says that the
    NameNode asks for a Kerberos ticket the page does not have, and the rest still shows."""
    import http.server  # noqa: PLC0415
    import threading  # noqa: PLC0415

    class Negotiate(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the handler's API)
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Negotiate")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Negotiate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        settings = config.Settings(("127.0.0.1",), "127.0.0.1:9092", url)
        usage = status._part(status.hdfs_usage, settings)
    finally:
        server.shutdown()
        server.server_close()
    assert usage == {"error": "HTTP 401: asks for a Kerberos ticket, and the page has no keytab"}


def test_the_kerberos_settings_ask_hadoop_on_https_with_the_pages_keytab():
    raw = {
        "cassandra": {"hosts": ["h"]},
        "kafka": {"bootstrap": "k:9092"},
        "webhdfs": "https://n:9871",
        "kerberos": {"principal": "movielens-web/n@LAB", "keytab": "/k/web.keytab"},
    }
    settings = config.from_dict(raw)
    assert settings.kerberos
    namenode = status.web_options(settings, "namenode")
    assert (namenode.https, namenode.keytab, namenode.principal) == (
        True,
        "/k/web.keytab",
        "movielens-web/n@LAB",
    )
    assert not status.web_options(settings, "spark-master").https
    plain = config.from_dict({**raw, "webhdfs": "http://n:9870", "kerberos": {}})
    assert not plain.kerberos
    assert status.web_options(plain, "namenode") is None
    # HTTPS without a keytab: asked on HTTPS, without a ticket.
    bare = status.web_options(config.from_dict({**raw, "kerberos": {}}), "namenode")
    assert (bare.https, bare.keytab, bare.principal) == (True, None, None)
