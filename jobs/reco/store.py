"""Where the stream keeps ratings, recommendations and counters: Cassandra, or memory.

Cassandra schema (keyspace ``reco``; ``schema_cql`` returns these statements)::

    CREATE TABLE reco.user_ratings (user_id int, movie_id int, rating float, ts bigint,
        PRIMARY KEY (user_id, movie_id));
    CREATE TABLE reco.recommendations (userId int, movieId int, score float, title text,
        genres text, PRIMARY KEY (userId, movieId));
    CREATE TABLE reco.recommendations_by_user (user_id int, rank int, movie_id int,
        score float, title text, genres text, model_version text, updated_at timestamp,
        because list<int>, stars float, PRIMARY KEY (user_id, rank));
    CREATE TABLE reco.stream_stats (stream text, batch_id bigint, valid int, invalid int,
        ratings_upserted int, users_updated int, cold_users int, model_version text,
        started_at timestamp, duration_ms int, PRIMARY KEY (stream, batch_id));
    CREATE TABLE reco.movies (movie_id int PRIMARY KEY, title text, genres text,
        popularity_rank int);
    CREATE TABLE reco.streams (stream text PRIMARY KEY, model_version text,
        started_at timestamp, last_batch_id bigint, last_batch_at timestamp, last_user_id int,
        offsets map<int, bigint>);

``recommendations`` keeps the original project's table (and column names, which CQL folds
to lower case); ``recommendations_by_user`` answers "top N for user X, best first" with one
partition read. Replacing a user's top-N deletes the partition at write time ``t`` and
inserts the new rows at ``t + 1`` microseconds: Cassandra lets a tombstone win a tie, so
the explicit timestamps make the new rows survive. ``user_ratings`` rows are written with
the rating's own time as write time (``USING TIMESTAMP ts * 1e6``), so an older rating that
arrives later (a replay) never overwrites a newer one. ``movies`` is the catalogue of the
model the stream serves (written when the stream starts), and ``streams`` says which model
version a stream serves and what its latest micro-batch did, with the next Kafka offset of
each partition it has processed (the consumer lag is the topic's end offsets minus these):
the recommendations page and the status command read both.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from jobs.movielens.formats import Rating


@dataclass(frozen=True)
class RecRow:
    rank: int
    movie_id: int
    score: float
    title: str
    genres: str
    because: tuple[int, ...] = ()  # the rated movies that weigh most in the score
    stars: float | None = None  # the user's predicted rating (None: no rating model)


@dataclass
class BatchStats:
    stream: str
    batch_id: int
    valid: int = 0
    invalid: int = 0
    ratings_upserted: int = 0
    users_updated: int = 0
    cold_users: int = 0
    model_version: str = ""
    started_at: float = 0.0  # epoch seconds
    duration_ms: int = 0
    last_user_id: int | None = None  # the user of the batch's last valid message
    offsets: dict[int, int] = field(default_factory=dict)  # partition -> next offset
    sent: list[float] = field(default_factory=list)  # the valid messages' Kafka timestamps


class Store(Protocol):
    def user_ratings(self, user_ids: Iterable[int]) -> dict[int, dict[int, float]]: ...
    def write_users(
        self, ratings: Sequence[Rating], lists: Mapping[int, Sequence[RecRow]], version: str
    ) -> None:
        """Upsert a batch's ratings and replace the top-N of the users in ``lists``."""
        ...

    def record_batch(self, stats: BatchStats) -> None: ...
    def publish_catalogue(
        self, movies: Mapping[int, tuple[str, str]], popular: Sequence[int]
    ) -> None: ...
    def record_start(self, stream: str, version: str) -> None: ...


# Users whose ratings one read asks for (``WHERE user_id IN ...``): a micro-batch of 500 new
# users is five requests instead of 500.
READ_CHUNK = 100
# A user's ratings that go in one write (one unlogged batch; Cassandra warns above 5 KiB and
# refuses above 50 KiB by default, and a replay can bring a user's thousands at once).
RATINGS_PER_WRITE = 100


def now_micros() -> int:
    return time.time_ns() // 1000


class MemoryStore:
    """The same semantics in memory (local runs without Cassandra, pure-logic unit tests)."""

    def __init__(self) -> None:
        self.ratings: dict[int, dict[int, tuple[float, int]]] = {}
        self.recommendations: dict[int, list[RecRow]] = {}
        self.stats: dict[tuple[str, int], BatchStats] = {}
        self.movies: dict[int, tuple[str, str, int | None]] = {}
        self.streams: dict[str, dict] = {}

    def upsert_ratings(self, ratings: Sequence[Rating]) -> None:
        for r in ratings:
            row = self.ratings.setdefault(r.user_id, {})
            old = row.get(r.movie_id)
            if old is None or r.ts >= old[1]:  # like USING TIMESTAMP: newest write wins
                row[r.movie_id] = (r.rating, r.ts)

    def user_ratings(self, user_ids: Iterable[int]) -> dict[int, dict[int, float]]:
        return {u: {m: v[0] for m, v in self.ratings.get(u, {}).items()} for u in user_ids}

    def write_users(
        self, ratings: Sequence[Rating], lists: Mapping[int, Sequence[RecRow]], version: str
    ) -> None:
        self.upsert_ratings(ratings)
        for user_id, rows in lists.items():
            self.recommendations[user_id] = list(rows)

    def record_batch(self, stats: BatchStats) -> None:
        self.stats[(stats.stream, stats.batch_id)] = stats
        state = self.streams.setdefault(stats.stream, {})
        state.update(last_batch_id=stats.batch_id, last_user_id=stats.last_user_id)
        state["offsets"] = {**state.get("offsets", {}), **stats.offsets}

    def publish_catalogue(
        self, movies: Mapping[int, tuple[str, str]], popular: Sequence[int]
    ) -> None:
        ranks = popularity_ranks(popular)
        for movie_id, (title, genres) in movies.items():
            self.movies[movie_id] = (title, genres, ranks.get(movie_id))

    def record_start(self, stream: str, version: str) -> None:
        self.streams[stream] = {"model_version": version}


def popularity_ranks(popular: Sequence[int]) -> dict[int, int]:
    return {movie_id: rank for rank, movie_id in enumerate(popular, start=1)}


SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.user_ratings (user_id int, movie_id int, rating float,
    ts bigint, PRIMARY KEY (user_id, movie_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.recommendations (userId int, movieId int, score float,
    title text, genres text, PRIMARY KEY (userId, movieId))""",
    """CREATE TABLE IF NOT EXISTS {ks}.recommendations_by_user (user_id int, rank int,
    movie_id int, score float, title text, genres text, model_version text,
    updated_at timestamp, because list<int>, stars float, PRIMARY KEY (user_id, rank))""",
    # a table made before the columns were
    "ALTER TABLE {ks}.recommendations_by_user ADD IF NOT EXISTS because list<int>",
    "ALTER TABLE {ks}.recommendations_by_user ADD IF NOT EXISTS stars float",
    """CREATE TABLE IF NOT EXISTS {ks}.stream_stats (stream text, batch_id bigint, valid int,
    invalid int, ratings_upserted int, users_updated int, cold_users int, model_version text,
    started_at timestamp, duration_ms int, PRIMARY KEY (stream, batch_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.movies (movie_id int PRIMARY KEY, title text,
    genres text, popularity_rank int)""",
    """CREATE TABLE IF NOT EXISTS {ks}.streams (stream text PRIMARY KEY, model_version text,
    started_at timestamp, last_batch_id bigint, last_batch_at timestamp, last_user_id int,
    offsets map<int, bigint>)""",
)


def schema_cql(keyspace: str = "reco", replication_factor: int = 1) -> list[str]:
    keyspace_cql = (
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    )
    return [keyspace_cql, *(s.format(ks=keyspace) for s in SCHEMA)]


class CassandraStore:
    """The store on Cassandra (cassandra-driver), statements prepared once."""

    def __init__(
        self,
        hosts: Sequence[str],
        keyspace: str = "reco",
        port: int = 9042,
        *,
        create_schema: bool = False,
        replication_factor: int = 1,
        username: str = "",
        password: str = "",
        ca_file: str = "",
    ) -> None:
        from jobs.reco.cql import connect_cluster  # noqa: PLC0415 (pure modules import this one)

        self.cluster = connect_cluster(hosts, port, username, password, ca_file)
        self.session = self.cluster.connect()
        if create_schema:
            for stmt in schema_cql(keyspace, replication_factor):
                self.session.execute(stmt)
        self.session.set_keyspace(keyspace)
        prep = self.session.prepare
        self._upsert = prep(
            "INSERT INTO user_ratings (user_id, movie_id, rating, ts) "
            "VALUES (?, ?, ?, ?) USING TIMESTAMP ?"
        )
        self._select = prep("SELECT user_id, movie_id, rating FROM user_ratings WHERE user_id IN ?")
        self._del_recs = prep("DELETE FROM recommendations USING TIMESTAMP ? WHERE userId = ?")
        self._del_by_user = prep(
            "DELETE FROM recommendations_by_user USING TIMESTAMP ? WHERE user_id = ?"
        )
        self._ins_recs = prep(
            "INSERT INTO recommendations (userId, movieId, score, title, genres) "
            "VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?"
        )
        self._ins_by_user = prep(
            "INSERT INTO recommendations_by_user (user_id, rank, movie_id, score, title, genres, "
            "model_version, updated_at, because, stars) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "USING TIMESTAMP ?"
        )
        self._stats = prep(
            "INSERT INTO stream_stats (stream, batch_id, valid, invalid, ratings_upserted, "
            "users_updated, cold_users, model_version, started_at, duration_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._stream_batch = prep(
            "UPDATE streams SET last_batch_id = ?, last_batch_at = ?, last_user_id = ?, "
            "offsets = offsets + ? WHERE stream = ?"
        )
        self._stream_start = prep(
            "INSERT INTO streams (stream, model_version, started_at) VALUES (?, ?, ?)"
        )
        self._movie = prep(
            "INSERT INTO movies (movie_id, title, genres, popularity_rank) VALUES (?, ?, ?, ?)"
        )

    def _run(self, statements_and_params) -> None:
        from cassandra.concurrent import execute_concurrent  # noqa: PLC0415

        for ok, result in execute_concurrent(
            self.session, statements_and_params, concurrency=64, raise_on_first_error=False
        ):
            if not ok:
                raise result

    def _read_ratings(self, user_ids: Iterable[int]) -> list:
        """Start reading the users' ratings: one ``IN`` query per ``READ_CHUNK`` users."""
        ids = sorted(set(user_ids))
        return [
            self.session.execute_async(self._select, (ids[i : i + READ_CHUNK],))
            for i in range(0, len(ids), READ_CHUNK)
        ]

    def user_ratings(self, user_ids: Iterable[int]) -> dict[int, dict[int, float]]:
        ids = list(user_ids)
        out: dict[int, dict[int, float]] = {u: {} for u in ids}
        for read in self._read_ratings(ids):
            for row in read.result():
                out[row.user_id][row.movie_id] = row.rating
        return out

    def write_users(
        self, ratings: Sequence[Rating], lists: Mapping[int, Sequence[RecRow]], version: str
    ) -> None:
        """One concurrent round, one write per user: an unlogged batch of the user's new
        ratings (``RATINGS_PER_WRITE`` at most; more go in further writes) and the user's new
        rows of both recommendation tables. The three tables share the partition key, so
        Cassandra applies each write as one mutation of the user's partitions. Ratings carry
        their own time as write time; the top-N's delete ``t`` and its inserts ``t + 1``."""
        from cassandra.query import BatchStatement, BatchType  # noqa: PLC0415

        t = now_micros()
        mine: dict[int, list[Rating]] = {}
        for r in ratings:
            mine.setdefault(r.user_id, []).append(r)
        writes = []
        for user_id in sorted(set(mine) | set(lists)):
            theirs = mine.get(user_id, [])
            # a user with no new rating still has one write: their top-N
            for first in range(0, max(len(theirs), 1), RATINGS_PER_WRITE):
                write = BatchStatement(batch_type=BatchType.UNLOGGED)
                for r in theirs[first : first + RATINGS_PER_WRITE]:
                    write.add(self._upsert, (user_id, r.movie_id, r.rating, r.ts, r.ts * 1_000_000))
                if first == 0 and user_id in lists:
                    self._add_top_n(write, user_id, lists[user_id], version, t)
                writes.append((write, ()))
        self._run(writes)

    def _add_top_n(self, write, user_id: int, rows: Sequence[RecRow], version: str, t: int):
        updated_at = datetime.fromtimestamp(t / 1_000_000, UTC)
        write.add(self._del_recs, (t, user_id))
        write.add(self._del_by_user, (t, user_id))
        for row in rows:
            text = (row.title, row.genres)
            write.add(self._ins_recs, (user_id, row.movie_id, row.score, *text, t + 1))
            write.add(
                self._ins_by_user,
                (user_id, row.rank, row.movie_id, row.score, *text, version, updated_at)
                + (list(row.because), row.stars, t + 1),
            )

    def record_batch(self, stats: BatchStats) -> None:
        """The batch's counters and the stream's latest state, both in one round."""
        d = asdict(stats)
        counters = (
            self._stats,
            (
                d["stream"],
                d["batch_id"],
                d["valid"],
                d["invalid"],
                d["ratings_upserted"],
                d["users_updated"],
                d["cold_users"],
                d["model_version"],
                datetime.fromtimestamp(d["started_at"], UTC),
                d["duration_ms"],
            ),
        )
        state = (
            self._stream_batch,
            (stats.batch_id, datetime.now(UTC), stats.last_user_id, stats.offsets, stats.stream),
        )
        self._run([counters, state])

    def publish_catalogue(
        self, movies: Mapping[int, tuple[str, str]], popular: Sequence[int]
    ) -> None:
        ranks = popularity_ranks(popular)
        self._run(
            (self._movie, (movie_id, title, genres, ranks.get(movie_id)))
            for movie_id, (title, genres) in movies.items()
        )

    def record_start(self, stream: str, version: str) -> None:
        self.session.execute(self._stream_start, (stream, version, datetime.now(UTC)))

    def close(self) -> None:
        self.cluster.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Print the schema's CQL statements as JSON (the playbooks create the schema from it)."""
    import argparse  # noqa: PLC0415
    import json  # noqa: PLC0415

    p = argparse.ArgumentParser(description="Print the CQL of the recommendations' schema.")
    p.add_argument("--keyspace", default="reco")
    p.add_argument("--replication-factor", type=int, default=1)
    args = p.parse_args(argv)
    print(json.dumps(schema_cql(args.keyspace, args.replication_factor)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
