"""The recommendations page (Flask).

    /                       pick or type a user; the stack's status in brief
    /users/<id>             the user's rated movies and current top-N (refreshed every few
                            seconds), and a form to rate a movie
    POST /users/<id>/ratings  the rating goes through Kafka like any other (only with the
                            form's CSRF token, see below)
    /status?window=1h       the status panel (what ``movielens-status`` prints), and charts
                            of the stack's figures from Prometheus over the window (15m, 1h,
                            6h or 24h; ``movielens_web.promql`` says what each shows)
    /api/users/<id>, /api/status, /health   the same as JSON
    /api/movies?q=...&user=<id>   the movies whose title has the words typed (the form's
                            suggestions as the person types), without the user's rated ones
    /metrics                the page's request counts for Prometheus (``metrics``)

Bad input and unreachable services get a page that says what is wrong (status 400, 404 or
503); an unexpected error is logged with its traceback and the page says only that it
happened.

The rating form carries a CSRF token: a random value kept in the visitor's session cookie
(signed with the page's secret key, HttpOnly, SameSite=Lax, Secure over HTTPS) and repeated in a
hidden field of the form. A POST whose field does not match its session's token is refused
(403) before anything is read or sent, so another site cannot make a visitor's browser rate.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from flask import Flask, g, jsonify, redirect, render_template, request, session, url_for

from movielens_web import config, prometheus, rate, svg
from movielens_web.cli import when
from movielens_web.data import Reader, Unavailable
from movielens_web.metrics import RequestCounts
from movielens_web.status import collect

log = logging.getLogger("movielens_web")

# The form field and the session key of the CSRF token.
CSRF_FIELD = "csrf_token"


class Refused(Exception):
    """A request the page will not act on (a form without its CSRF token); says why."""


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD, "")
    if not expected:
        raise Refused(
            "The rating was refused: it did not come with this page's session cookie (cookies "
            "blocked, a form from another site, or a session older than the page's key). Open "
            "the page again and rate from its form."
        )
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Refused(
            "The rating was refused: the form's security token is missing or wrong (a form "
            "from another site or an old tab). Open the page again and rate from its form."
        )


def movie_json(movie) -> dict[str, Any]:
    return {
        "movie_id": movie.movie_id,
        "title": movie.title,
        "genres": movie.genres,
        "popularity_rank": movie.popularity_rank,
    }


def stamp(value: datetime | None) -> str | None:
    """A Cassandra timestamp (UTC) to the millisecond, as the page shows it."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC" if value else None


def user_json(reader: Reader, user_id: int) -> dict[str, Any]:
    rated = reader.rated(user_id)
    top = reader.top_n(user_id)
    return {
        "user_id": user_id,
        "known": bool(rated or top.items),
        "model_version": top.model_version,
        "updated_at": stamp(top.updated_at),
        "recommendations": [
            {
                "rank": r.rank,
                "score": round(r.score, 4),
                "stars": None if r.stars is None else round(r.stars, 1),
                **movie_json(r.movie),
                "because": [{"movie_id": m.movie_id, "title": m.title} for m in r.because],
            }
            for r in top.items
        ],
        "rated": [{"rating": r.rating, "ts": r.ts, **movie_json(r.movie)} for r in rated],
    }


def create_app(  # noqa: C901
    settings: config.Settings, reader=None, sender=None, secret_key: bytes | None = None
) -> Flask:
    """The page; without a secret key it makes one (sessions then last until a restart)."""
    app = Flask(__name__)
    app.secret_key = secret_key or secrets.token_bytes(32)
    app.config.update(
        SESSION_COOKIE_NAME="movielens_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.tls,
    )
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals["csrf_token"] = csrf_token
    reader = reader or Reader(settings)
    sender = sender or rate.Sender(
        settings.kafka_bootstrap, settings.topic, client_options=settings.kafka_client_options()
    )

    counts = RequestCounts()

    @app.before_request
    def started():
        g.started = time.monotonic()

    @app.after_request
    def counted(response):
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        seconds = time.monotonic() - g.get("started", time.monotonic())
        counts.count(rule, request.method, response.status_code, seconds)
        return response

    @app.get("/metrics")
    def metrics():
        return counts.render(), 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}

    def problem(message: str, code: int):
        if request.path.startswith("/api/"):
            return jsonify({"error": message}), code
        return render_template("problem.html", message=message, code=code), code

    def requested_status():
        user = request.args.get("user")
        return collect(settings, reader, rate.parse_user_id(user) if user else None)

    @app.errorhandler(rate.BadInput)
    def bad_input(exc):
        return problem(str(exc), 400)

    @app.errorhandler(Refused)
    def refused(exc):
        log.warning(
            "refused: %s %s from %s: %s", request.method, request.path, request.remote_addr, exc
        )
        return problem(str(exc), 403)

    @app.errorhandler(Unavailable)
    def unavailable(exc):
        return problem(f"{exc}. The page works again once it answers.", 503)

    @app.errorhandler(404)
    def not_found(_exc):
        return problem(f"There is no page {request.path}.", 404)

    @app.errorhandler(405)
    def not_allowed(_exc):
        return problem(f"{request.method} is not how {request.path} is used.", 405)

    @app.errorhandler(500)
    def failed(exc):
        log.error("failed: %s %s", request.method, request.path, exc_info=exc)
        return problem("Something went wrong on the server; the log has the details.", 500)

    @app.get("/health")
    def health():
        return "ok\n", 200, {"Content-Type": "text/plain"}

    @app.get("/")
    def index():
        if "user" in request.args:
            user_id = rate.parse_user_id(request.args["user"])
            return redirect(url_for("user_page", user=user_id))
        return render_template("index.html", state=reader.stream_state(), users=reader.some_users())

    @app.get("/users/<user>")
    def user_page(user: str):
        user_id = rate.parse_user_id(user)
        data = user_json(reader, user_id)
        seen = {m["movie_id"] for m in data["rated"]}
        choices = reader.catalogue().search("", limit=50, exclude=seen)
        return render_template(
            "user.html",
            user=data,
            choices=choices,
            message=request.args.get("sent"),
            top_n=settings.top_n,
        )

    @app.post("/users/<user>/ratings")
    def add_rating(user: str):
        check_csrf()
        user_id = rate.parse_user_id(user)
        catalogue = reader.catalogue()
        movie_id = rate.chosen_movie(request.form.get("movie"), catalogue)
        value = rate.parse_rating(request.form.get("rating"))
        rating = rate.checked_rating(user_id, movie_id, value, catalogue)
        partition, offset = sender.send(rating)
        title = catalogue.get(movie_id).title
        log.info(
            "user %d rated %d %.1f: partition %d offset %d",
            user_id,
            movie_id,
            value,
            partition,
            offset,
        )
        sent = f"Your rating of {title}: {value:g} went to Kafka; the lists update in a moment."
        return redirect(url_for("user_page", user=user_id, sent=sent), code=303)

    @app.get("/status")
    def status_page():
        with ThreadPoolExecutor(max_workers=1) as pool:
            charts = pool.submit(
                prometheus.collect, settings.prometheus, request.args.get("window")
            )
            status = requested_status()
            return render_template(
                "status.html",
                status=status,
                charts=charts.result(),
                windows=svg.WINDOW_NAMES,
                render_chart=svg.render,
            )

    @app.get("/api/users/<user>")
    def api_user(user: str):
        return jsonify(user_json(reader, rate.parse_user_id(user)))

    @app.get("/api/movies")
    def api_movies():
        user = request.args.get("user")
        rated = {r.movie.movie_id for r in reader.rated(rate.parse_user_id(user))} if user else None
        found = reader.catalogue().search(request.args.get("q", ""), limit=20, exclude=rated)
        return jsonify([movie_json(m) for m in found])

    @app.get("/api/status")
    def api_status():
        return jsonify(requested_status().to_dict())

    return app
