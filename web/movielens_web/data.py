"""What the page reads from Cassandra: a user's ratings and top-N, the catalogue, the stream.

The tables are the streaming job's (``jobs/reco/store.py``): ``user_ratings``,
``recommendations_by_user``, ``movies`` and ``streams``. The connection is made on first use
and made again after a failure, so the page starts (and explains) while Cassandra is down.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from movielens_web.config import Settings


class Unavailable(RuntimeError):
    """A service the page needs does not answer; the message says which and why."""


@dataclass(frozen=True)
class Movie:
    movie_id: int
    title: str
    genres: str
    popularity_rank: int | None


@dataclass(frozen=True)
class RatedMovie:
    movie: Movie
    rating: float
    ts: int


@dataclass(frozen=True)
class Recommendation:
    rank: int
    movie: Movie
    score: float
    because: tuple[Movie, ...] = ()  # the rated movies that weigh most in it (none: popular)
    stars: float | None = None  # the user's predicted rating (None: the model predicts none)

    @property
    def shown(self) -> str:
        """What the page and the status command show: the predicted rating, ``★ 4.3``; the
        ranking score where the model version has no rating model (or the row predates it)."""
        return f"★ {self.stars:.1f}" if self.stars is not None else f"{self.score:.3f}"


@dataclass(frozen=True)
class TopN:
    items: list[Recommendation]
    model_version: str
    updated_at: datetime | None


@dataclass(frozen=True)
class StreamState:
    model_version: str
    started_at: datetime | None
    last_batch_id: int | None
    last_batch_at: datetime | None
    last_user_id: int | None
    offsets: dict[int, int]  # partition -> next offset the stream will process


def unknown_movie(movie_id: int) -> Movie:
    return Movie(movie_id, f"movie {movie_id}", "", None)


def words(text: str) -> list[str]:
    """The words of a title or of what a person typed: any case, accents and punctuation
    dropped ("Amélie" and "amelie" are one word)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain)


def without_year(title: str) -> str:
    """ "Heat (1995)" -> "Heat": MovieLens titles end with the year in brackets."""
    return re.sub(r"\s*\(\d{4}(-\d{4})?\)\s*$", "", title)


class Catalogue:
    """The served model's movies, held in memory (reloaded every ``max_age`` seconds)."""

    def __init__(self, movies: dict[int, Movie], loaded_at: float) -> None:
        self.movies = movies
        self.loaded_at = loaded_at
        self._by_popularity = sorted(
            movies.values(), key=lambda m: (m.popularity_rank or 10**9, m.title)
        )
        self._words = {m.movie_id: words(m.title) for m in self._by_popularity}

    def __contains__(self, movie_id: object) -> bool:
        return movie_id in self.movies

    def get(self, movie_id: int) -> Movie:
        return self.movies.get(movie_id) or unknown_movie(movie_id)

    def _matches(self, movie: Movie, typed: list[str]) -> bool:
        title = self._words[movie.movie_id]
        return all(any(word.startswith(part) for word in title) for part in typed)

    def search(self, text: str, limit: int = 20, exclude: set[int] | None = None) -> list[Movie]:
        """Movies whose title has every word typed, each as the start of one of its words, in
        any order and case ("usual susp" finds "Usual Suspects, The (1995)"), most popular
        first; "" gives the most popular ones. A number finds that movie id too."""
        typed = words(text)
        exclude = exclude or set()
        found = []
        needle = text.strip().lstrip("#")
        if needle.isdigit() and int(needle) in self.movies and int(needle) not in exclude:
            found.append(self.movies[int(needle)])
        for movie in self._by_popularity:
            if len(found) >= limit:
                break
            if movie.movie_id in exclude or (found and movie is found[0]):
                continue
            if self._matches(movie, typed):
                found.append(movie)
        return found

    def named(self, text: str) -> list[Movie]:
        """The movies a title typed in full names, with or without its year, its words in any
        order (MovieLens writes "Usual Suspects, The": a person types "the usual suspects");
        several when the catalogue has the same title more than once."""
        typed = sorted(words(text))
        return [
            m
            for m in self._by_popularity
            if typed in (sorted(self._words[m.movie_id]), sorted(words(without_year(m.title))))
        ]


class Reader:
    """Cassandra reads of the page (cassandra-driver, statements prepared once)."""

    def __init__(self, settings: Settings, catalogue_max_age: float = 60.0) -> None:
        self.settings = settings
        self.catalogue_max_age = catalogue_max_age
        self._lock = threading.Lock()
        self._cluster = None
        self._session = None
        self._statements: dict = {}
        self._catalogue: Catalogue | None = None

    def _connect(self):
        from jobs.reco.cql import connect_cluster  # noqa: PLC0415

        s = self.settings
        cluster = connect_cluster(
            s.cassandra_hosts,
            s.cassandra_port,
            s.cassandra_user,
            s.cassandra_password,
            s.cassandra_ca,
            connect_timeout=5,
        )
        try:
            session = cluster.connect(s.keyspace)
            prep = session.prepare
            statements = {
                "ratings": prep("SELECT movie_id, rating, ts FROM user_ratings WHERE user_id = ?"),
                "top": prep(
                    "SELECT rank, movie_id, score, title, genres, model_version, updated_at, "
                    "because, stars FROM recommendations_by_user WHERE user_id = ?"
                ),
                "stream": prep(
                    "SELECT model_version, started_at, last_batch_id, last_batch_at, "
                    "last_user_id, offsets FROM streams WHERE stream = ?"
                ),
                "movies": prep("SELECT movie_id, title, genres, popularity_rank FROM movies"),
                "users": prep("SELECT DISTINCT user_id FROM recommendations_by_user LIMIT 24"),
            }
        except Exception:
            cluster.shutdown()
            raise
        return cluster, session, statements

    def _execute(self, name: str, params: tuple = ()):
        from cassandra import (  # noqa: PLC0415
            DriverException,
            RequestValidationException,
            Unauthorized,
        )
        from cassandra.cluster import NoHostAvailable  # noqa: PLC0415

        with self._lock:
            if self._session is None:
                try:
                    self._cluster, self._session, self._statements = self._connect()
                except (NoHostAvailable, DriverException, OSError) as exc:
                    raise Unavailable(f"Cassandra does not answer: {_reason(exc)}") from exc
            session, statement = self._session, self._statements[name]
        try:
            return list(session.execute(statement, params, timeout=10))
        except (RequestValidationException, Unauthorized) as exc:
            raise Unavailable(f"Cassandra refused a query of the page: {exc}") from exc
        except (NoHostAvailable, DriverException, OSError) as exc:
            self.close()
            raise Unavailable(f"Cassandra query failed: {_reason(exc)}") from exc

    def ping(self) -> str:
        state = self.stream_state()
        return f"keyspace {self.settings.keyspace} answers" + (
            "" if state else " (the stream has not started yet)"
        )

    def catalogue(self) -> Catalogue:
        current = self._catalogue
        if current is None or time.monotonic() - current.loaded_at > self.catalogue_max_age:
            rows = self._execute("movies")
            movies = {
                r.movie_id: Movie(r.movie_id, r.title or "", r.genres or "", r.popularity_rank)
                for r in rows
            }
            current = self._catalogue = Catalogue(movies, time.monotonic())
        return current

    def rated(self, user_id: int) -> list[RatedMovie]:
        catalogue = self.catalogue()
        rows = self._execute("ratings", (user_id,))
        rated = [RatedMovie(catalogue.get(r.movie_id), r.rating, r.ts) for r in rows]
        return sorted(rated, key=lambda r: (-r.ts, r.movie.movie_id))

    def top_n(self, user_id: int) -> TopN:
        rows = self._execute("top", (user_id,))
        catalogue = self.catalogue() if rows else None
        items = [
            Recommendation(
                r.rank,
                Movie(
                    r.movie_id,
                    r.title or "",
                    r.genres or "",
                    catalogue.get(r.movie_id).popularity_rank,
                ),
                r.score,
                tuple(catalogue.get(m) for m in r.because or ()),
                r.stars,
            )
            for r in rows
        ]
        version = rows[0].model_version if rows else ""
        updated = rows[0].updated_at if rows else None
        return TopN(items, version or "", updated)

    def some_users(self) -> list[int]:
        """A few users who have recommendations (in token order, so a mixed bag), to pick from."""
        return sorted(r.user_id for r in self._execute("users"))

    def stream_state(self) -> StreamState | None:
        rows = self._execute("stream", (self.settings.stream,))
        if not rows:
            return None
        r = rows[0]
        return StreamState(
            r.model_version or "",
            r.started_at,
            r.last_batch_id,
            r.last_batch_at,
            r.last_user_id,
            dict(r.offsets or {}),
        )

    def close(self) -> None:
        with self._lock:
            cluster, self._cluster, self._session = self._cluster, None, None
        if cluster is not None:
            cluster.shutdown()


def _reason(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        return "; ".join(f"{host}: {err}" for host, err in errors.items())
    return str(exc) or type(exc).__name__
