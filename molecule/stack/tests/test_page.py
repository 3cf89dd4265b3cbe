"""The recommendations page in headless Chromium (Debian's), driven by Playwright.

A user the model never saw rates a movie on the page; the rating goes through Kafka, the
streaming job folds the user in, and the page (without a reload) shows the new top-N, each
recommendation with the rated movie it comes from and the user's predicted rating in stars
(also in the JSON API, and in `movielens-status`). Then a
recommended movie is rated low on the page and leaves the list. Bad input gets a message,
never a traceback; a rating posted without the form's CSRF token is refused and reaches no
topic; the status panel and `movielens-status` show every service healthy. Last, the status
page's charts (from Prometheus) show the ratings of the tests before, and a screenshot of them
has their lines.

The page serves HTTPS with the host's certificate. The browser trusts the lab's CA only (an
NSS database with it in a home of its own) and the other clients verify against it too: a
certificate the CA did not sign for the page's address fails every test.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from playwright.sync_api import expect, sync_playwright

from movielens_web.data import without_year, words
from tests import inventory
from tests.labhost import eventually
from tests.pipelinehost import cassandra_session

testinfra_hosts = ["movielens_web"]
PAGE = inventory.page_url()
TOPIC = "movielens_ratings"
CHROMIUM = "/usr/bin/chromium"
# Flags for a closed network: no background requests to Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The stream turns a rating into recommendations within seconds; a generous bound.
SETTLE_MS = 90_000
USER = 800_000 + int(time.time()) % 100_000
SHOTS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "build")) / "screenshots"


def trusting_home(home: Path) -> Path:
    """A home whose NSS database (where Chromium on Linux looks for the certificates a user
    trusts) holds the lab's CA and nothing else (certutil: Debian's libnss3-tools)."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    for command in (
        ["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"],
        ["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "MovieLens lab CA", "-t", "C,,"]
        + ["-i", inventory.ca_cert()],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    return home


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    home = trusting_home(tmp_path_factory.mktemp("chromium-home"))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, env={**os.environ, "HOME": str(home)}
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def rows(page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr").evaluate_all("trs => trs.map(t => t.dataset.movieId)")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def all_healthy(page) -> bool:
    """The status panel says "all healthy"; else AssertionError with what it says instead."""
    page.goto(PAGE + "/status")
    overall = page.locator("#overall").inner_text()
    if overall != "all healthy":
        parts = {part: page.locator(part).inner_text() for part in ("#hdfs", "#lag", "#model")}
        down = page.locator("#services tbody tr.down").all_inner_texts()
        raise AssertionError(f"{overall}: {parts}, services down: {down}")
    return True


def test_status_panel_shows_every_service_healthy(page):
    # The verifiers before this one SIGKILL daemons and restart the stream: the panel may show
    # the last of them coming back for a while.
    eventually(lambda: all_healthy(page), "the status panel says all healthy", 180)
    services = page.locator("#services tbody tr")
    names = services.evaluate_all("trs => trs.map(t => t.dataset.service)")
    assert {"HDFS NameNode", "Kafka", "Cassandra", "Streaming job", "ZooKeeper"} <= set(names)
    expect(page.locator("#services tbody tr.down")).to_have_count(0)
    expect(page.locator("#overall")).to_have_text("all healthy")
    expect(page.locator("#hdfs")).to_contain_text("live DataNode")
    expect(page.locator("#lag")).to_contain_text("consumer lag")
    expect(page.locator("#model")).to_contain_text("Serving")
    shot(page, "status")


def test_new_user_rates_on_the_page_and_gets_recommendations(page):
    page.goto(PAGE + "/")
    expect(page.locator("#stream-state")).to_contain_text("The stream serves model")
    page.fill("#find-user", str(USER))
    page.click("header form.find button")
    expect(page).to_have_url(f"{PAGE}/users/{USER}")
    expect(page.locator("#unknown")).to_be_visible()
    assert rows(page, "recommendations") == []

    choice = page.locator("#movie-choices option").first.get_attribute("value")
    movie_id = re.search(r"#(\d+)$", choice).group(1)
    page.fill("#movie", choice)
    page.select_option("#rating", "5")
    page.click("#rate button")
    expect(page.locator("#sent")).to_contain_text("went to Kafka")

    # the page refreshes itself: no reload from here on
    expect(page.locator("#recommendations tbody tr")).to_have_count(10, timeout=SETTLE_MS)
    expect(page.locator("#unknown")).to_be_hidden()
    assert rows(page, "rated") == [movie_id]
    assert movie_id not in rows(page, "recommendations")
    # one rated movie: it is the reason of every recommendation
    rated_title = page.locator("#rated tbody td").first.inner_text()
    reasons = page.locator("#recommendations tbody td.because").all_inner_texts()
    assert reasons == [rated_title] * 10, reasons
    predicted = page.locator("#recommendations tbody td:nth-child(5)").all_inner_texts()
    assert all(0.5 <= stars(text) <= 5 for text in predicted), predicted
    with urllib.request.urlopen(
        f"{PAGE}/api/users/{USER}", context=inventory.tls_context(), timeout=30
    ) as response:
        served = json.load(response)["recommendations"]
    assert all(0.5 <= r["stars"] <= 5 for r in served), served
    assert [f"★ {r['stars']:.1f}" for r in served] == predicted
    shot(page, "new-user")

    # the rating is in the ratings topic like any other, keyed by the user
    assert [json.loads(m.value)["movieId"] for m in users_messages()] == [int(movie_id)]


def test_rating_a_recommended_movie_changes_the_list(page):
    page.goto(f"{PAGE}/users/{USER}")
    expect(page.locator("#recommendations tbody tr")).to_have_count(10, timeout=SETTLE_MS)
    before = rows(page, "recommendations")
    stamp = page.locator("#updated-at").inner_text()
    top = before[0]
    page.fill("#movie", f"#{top}")
    page.select_option("#rating", "0.5")
    page.click("#rate button")
    expect(page.locator("#sent")).to_be_visible()
    expect(page.locator("#updated-at")).not_to_have_text(stamp, timeout=SETTLE_MS)
    after = rows(page, "recommendations")
    assert top not in after and len(after) == 10
    assert top in rows(page, "rated")
    expect(page.locator("#rated-count")).to_have_text("2")
    shot(page, "rated-twice")


def a_movie_beyond_the_first_suggestions() -> tuple[int, str]:
    """A movie the form does not suggest before anything is typed (not among the 50 most
    popular), whose title, typed in full without its year, names it alone."""
    with cassandra_session() as session:
        rows = list(session.execute("SELECT movie_id, title, popularity_rank FROM movies"))
    names = Counter(tuple(sorted(words(without_year(r.title)))) for r in rows)
    for r in sorted(rows, key=lambda r: r.movie_id):
        name = tuple(sorted(words(without_year(r.title))))
        plain = '"' not in r.title and "\\" not in r.title  # a CSS attribute value below
        if plain and (r.popularity_rank or 10**9) > 200 and len(name) >= 2 and names[name] == 1:
            return r.movie_id, r.title
    raise AssertionError("no movie beyond the 200 most popular with a title of its own")


def test_any_movie_is_found_by_title_as_one_types_and_rated_by_its_title(page):
    movie_id, title = a_movie_beyond_the_first_suggestions()
    user = USER + 1
    page.goto(f"{PAGE}/users/{user}")
    suggestion = page.locator(f'#movie-choices option[value="{title} #{movie_id}"]')
    assert suggestion.count() == 0, "already among the suggestions before typing"
    typed = without_year(title).lower()
    page.locator("#movie").press_sequentially(typed[:-1])
    expect(suggestion).to_have_count(1)
    page.locator("#movie").press_sequentially(typed[-1])
    page.select_option("#rating", "4")
    page.click("#rate button")
    expect(page.locator("#sent")).to_contain_text(f"Your rating of {title}: 4 went to Kafka")
    assert [json.loads(m.value)["movieId"] for m in users_messages(user)] == [movie_id]


def test_a_user_picked_on_the_start_page_shows_a_top_10(page):
    page.goto(PAGE + "/")
    first = page.locator("#users a").first
    user = first.inner_text()
    first.click()
    expect(page).to_have_url(f"{PAGE}/users/{user}")
    expect(page.locator("#recommendations tbody tr")).to_have_count(10)


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        ("/users/abc", 400, "is not a user id"),
        ("/users/0", 400, "is not a user id"),
        ("/?user=12x", 400, "is not a user id"),
        ("/no/such/page", 404, "There is no page"),
    ],
)
def test_bad_addresses_get_a_clear_message(page, path, code, message):
    response = page.goto(PAGE + path)
    assert response.status == code
    expect(page.locator("#problem")).to_contain_text(message)
    assert "Traceback" not in page.content()


@pytest.mark.parametrize(
    ("movie", "rating", "message"),
    [
        ("no such film", "4", "No movie of the catalogue has"),
        ("Film #x", "4", "is not a movie of the list"),
        ("#99999999", "4", "is not in the catalogue"),
    ],
)
def test_bad_ratings_are_refused_on_the_page(page, movie, rating, message):
    before = users_messages()
    page.goto(f"{PAGE}/users/{USER}")
    page.fill("#movie", movie)
    page.select_option("#rating", rating)
    page.click("#rate button")
    expect(page.locator("#problem")).to_contain_text(message)
    assert "Traceback" not in page.content()
    assert users_messages() == before, "a refused rating reached Kafka"


def test_a_rating_without_the_form_token_is_refused_and_reaches_no_topic():
    """What another site's form or a script would send: no session cookie, no token."""
    before = users_messages()
    form = urllib.parse.urlencode({"movie": "#1", "rating": "5"}).encode()
    request = urllib.request.Request(f"{PAGE}/users/{USER}/ratings", data=form, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, context=inventory.tls_context(), timeout=30)
    assert refused.value.code == 403
    assert "<h1>Refused</h1>" in refused.value.read().decode()
    assert users_messages() == before, "a rating without the form's token reached Kafka"


def test_the_page_certificate_verifies_on_the_host_and_only_https_is_served(host):
    address = PAGE.split("://", 1)[1]
    # lab-health (the daemon role's wait) and curl on the host trust the CA through the
    # host's trust store, where the tls role put it.
    assert host.run(f"/usr/local/bin/lab-health page {address}").rc == 0
    assert host.run(f"curl -fsS https://{address}/health").stdout == "ok\n"
    assert host.run(f"curl -fsS -m 10 http://{address}/health").rc != 0
    key = host.file("/etc/lab-tls/host.key")
    assert (key.user, key.group, key.mode) == ("root", "ssl-cert", 0o640)
    assert "ssl-cert" in host.user("movielens-web").groups
    with host.sudo():
        assert host.file("/etc/movielens-web/secret_key").mode == 0o640


def test_status_command_shows_everything_healthy_and_the_user(host):
    out = host.run(f"sudo movielens-status --user {USER}")
    assert out.rc == 0, out.stdout + out.stderr
    assert "DOWN" not in out.stdout and out.stdout.rstrip().endswith("All healthy.")
    assert f"Recommendations of user {USER}" in out.stdout
    shown = re.findall(r"^\s+\d+\s+(★ \d\.\d)\s", out.stdout, re.MULTILINE)
    assert len(shown) == 10 and all(0.5 <= stars(s) <= 5 for s in shown), out.stdout
    assert re.search(r"Consumer lag of topic movielens_ratings: 0 ", out.stdout), out.stdout
    data = json.loads(host.check_output(f"sudo movielens-status --json --user {USER}"))
    assert data["healthy"] and len(data["recommendations"]["items"]) == 10


# Pixels of a screenshot (a PNG, base64) that are coloured: neither the charts' white nor the
# greys of their frame, grid and text, so only the series' lines.
COLOURED_PIXELS_JS = """async (png) => {
  const image = new Image();
  image.src = "data:image/png;base64," + png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const rgba = context.getImageData(0, 0, image.width, image.height).data;
  let coloured = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const [r, g, b] = [rgba[i], rgba[i + 1], rgba[i + 2]];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured += 1;
  }
  return coloured;
}"""


def chart_lines(page, chart: str) -> dict[str, list[tuple[float, float]]]:
    """The points of each line of a chart (by its legend), in the SVG's coordinates."""
    lines = page.locator(f"#chart-{chart} polyline.series").evaluate_all(
        "ls => ls.map(l => [l.dataset.legend, l.getAttribute('points')])"
    )
    out: dict[str, list[tuple[float, float]]] = {}
    for legend, points in lines:
        pairs = (p.split(",") for p in points.split())
        out.setdefault(legend, []).extend((float(x), float(y)) for x, y in pairs)
    return out


def ratings_charted(page) -> dict[str, list[tuple[float, float]]]:
    """The ratings chart's lines once the ratings of the tests before show (a point above the
    chart's zero line); else AssertionError with what the charts say."""
    page.goto(PAGE + "/status?window=15m")
    error = page.locator("#charts-error")
    assert error.count() == 0, error.inner_text()
    lines = chart_lines(page, "ratings")
    plot = page.locator("#chart-ratings rect").first
    bottom = float(plot.get_attribute("y")) + float(plot.get_attribute("height"))
    read = lines.get("ratings read (valid)", [])
    assert any(y < bottom - 1 for _, y in read), f"no ratings on the chart yet: {lines}"
    return lines


def test_the_status_charts_show_the_stack_figures_from_prometheus(page):
    # The ratings of the tests above went through the stream within the last minutes;
    # Prometheus scrapes every few seconds and the chart's rate spans 2 minutes.
    lines = eventually(lambda: ratings_charted(page), "the ratings on the charts", 120)
    assert len(lines["ratings read (valid)"]) >= 2
    assert len(lines.get("top-N lists written", [])) >= 2, sorted(lines)
    expect(page.locator("#charts figure.chart-box")).to_have_count(7)
    expect(page.locator("#charts strong")).to_have_text("15 min")
    for chart in ("latency", "lag", "batch", "dead_letters", "heap", "disk"):
        assert chart_lines(page, chart), f"the {chart} chart has no line"
    heap = chart_lines(page, "heap")
    daemons = {"kafka", "cassandra", "hadoop-namenode", "hadoop-datanode", "spark-master"}
    assert daemons <= {legend.split(" on ")[0] for legend in heap}, sorted(heap)
    disk = set(chart_lines(page, "disk"))
    assert "HDFS blocks (replicas included)" in disk
    assert any(legend.startswith("Cassandra on ") for legend in disk), sorted(disk)
    shot(page, "status-charts")
    # The screenshot of the ratings chart's plot area has the lines drawn in it.
    png = page.locator("#chart-ratings rect").first.screenshot(
        path=str(SHOTS / "status-chart-ratings.png")
    )
    coloured = page.evaluate(COLOURED_PIXELS_JS, base64.b64encode(png).decode())
    assert coloured >= 50, f"{coloured} coloured pixels in the ratings chart's screenshot"
    # Another window asks Prometheus again, with its own step.
    page.goto(PAGE + "/status?window=6h")
    expect(page.locator("#charts strong")).to_have_text("6 h")
    assert chart_lines(page, "ratings")


def stars(text: str) -> float:
    """The predicted rating of a cell that shows it as ``★ 4.3``; AssertionError otherwise."""
    found = re.fullmatch(r"★ (\d\.\d)", text.strip())
    assert found, f"not a predicted rating: {text!r}"
    return float(found.group(1))


def users_messages(user: int = USER) -> list:
    """The messages of the ratings topic keyed by the test's user (or another)."""
    return [m for m in topic_messages() if m.key == str(user).encode()]


def topic_messages() -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=inventory.kafka_bootstrap(),
        consumer_timeout_ms=3000,
        **inventory.kafka_client("admin"),
    )
    try:
        parts = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        messages = []
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for batch in consumer.poll(timeout_ms=1000).values():
                messages += batch
        return messages
    finally:
        consumer.close()
