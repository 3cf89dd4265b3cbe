"""How the Cassandra store groups a micro-batch's writes (statements only, no Cassandra)."""

from __future__ import annotations

from cassandra.query import BatchStatement

from jobs.movielens.formats import Rating
from jobs.reco import store
from jobs.reco.store import CassandraStore, RecRow


class Session:
    """Records the asynchronous reads the store starts."""

    def __init__(self):
        self.reads = []

    def execute_async(self, statement, params):
        self.reads.append(params[0])

        class Done:
            @staticmethod
            def result():
                return []

        return Done()


def marks(values: int, timestamps: int) -> str:
    return "(" + ", ".join(["%s"] * values) + ")" + " USING TIMESTAMP %s" * timestamps


def offline_store() -> tuple[CassandraStore, list]:
    """A CassandraStore whose statements are plain CQL text and whose writes are recorded."""
    s = object.__new__(CassandraStore)
    s.session = Session()
    s._select = "SELECT user_id, movie_id, rating FROM user_ratings WHERE user_id IN %s"
    s._upsert = "INSERT INTO user_ratings (user_id, movie_id, rating, ts) VALUES " + marks(4, 1)
    s._del_recs = "DELETE FROM recommendations USING TIMESTAMP %s WHERE userId = %s"
    s._del_by_user = "DELETE FROM recommendations_by_user USING TIMESTAMP %s WHERE user_id = %s"
    s._ins_recs = "INSERT INTO recommendations (...) VALUES " + marks(5, 1)
    s._ins_by_user = "INSERT INTO recommendations_by_user (...) VALUES " + marks(10, 1)
    writes: list = []
    s._run = writes.extend
    return s, writes


def rows(n: int) -> list[RecRow]:
    return [
        RecRow(rank, 100 + rank, 1.0 / rank, f"Movie {rank}", "Drama") for rank in range(1, n + 1)
    ]


def test_one_write_per_user_holds_their_ratings_and_both_tables_top_n():
    s, writes = offline_store()
    ratings = [Rating(7, 3, 4.0, 1000), Rating(7, 4, 2.0, 1001), Rating(8, 5, 5.0, 1002)]
    s.write_users(ratings, {7: rows(10), 8: rows(10)}, "v1")
    assert len(writes) == 2
    for write, params in writes:
        assert isinstance(write, BatchStatement) and params == ()
    # user 7: 2 ratings + 2 deletes + 10 rows in each table; user 8: 1 rating + the same
    assert [len(w._statements_and_parameters) for w, _ in writes] == [24, 23]


def test_a_users_many_ratings_are_split_and_the_top_n_goes_once():
    s, writes = offline_store()
    many = [Rating(7, m, 4.0, 1000 + m) for m in range(store.RATINGS_PER_WRITE * 2 + 5)]
    s.write_users(many, {7: rows(3)}, "v1")
    sizes = [len(w._statements_and_parameters) for w, _ in writes]
    assert sizes == [store.RATINGS_PER_WRITE + 2 + 6, store.RATINGS_PER_WRITE, 5]


def test_ratings_without_a_top_n_and_a_top_n_without_ratings_are_written():
    s, writes = offline_store()
    s.write_users([Rating(1, 3, 4.0, 1000)], {2: rows(2)}, "v1")
    assert [len(w._statements_and_parameters) for w, _ in writes] == [1, 6]


def test_reads_ask_for_users_in_chunks():
    s, _ = offline_store()
    users = range(1, store.READ_CHUNK * 2 + 2)
    assert s.user_ratings(users) == {u: {} for u in users}
    assert [len(ids) for ids in s.session.reads] == [store.READ_CHUNK, store.READ_CHUNK, 1]
