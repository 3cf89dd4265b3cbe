"""The Spark loader: same records and the same rejects as the pure parser, in every format."""

from __future__ import annotations

import pytest

from jobs.movielens import formats, spark_io, synthetic


@pytest.fixture(scope="module")
def data():
    return synthetic.generate(users=40, movies=120, ratings=1500, seed=11)


@pytest.mark.parametrize("fmt_name", ["latest", "ml-1m", "ml-100k"])
def test_loader_matches_pure_parser(spark, tmp_path, data, fmt_name):
    manifest = synthetic.write(data, str(tmp_path), fmt_name, malformed=4, seed=11)
    fmt, ratings, movies, rejects = spark_io.load(spark, str(tmp_path))
    assert fmt.name == fmt_name
    pure_ratings, pure_bad = formats.read_ratings(tmp_path)
    pure_movies, _ = formats.read_movies(tmp_path)
    got = sorted(tuple(r) for r in ratings.collect())
    assert got == sorted((r.user_id, r.movie_id, r.rating, r.ts) for r in pure_ratings)
    rows = rejects.orderBy("line_no").collect()
    assert [r["line_no"] for r in rows] == manifest["malformed_lines"]
    assert [r["reason"] for r in rows] == [b.reason for b in pure_bad]
    assert {r["source"] for r in rows} == {fmt.ratings_file}
    got_movies = {
        r["movie_id"]: (r["title"], tuple(r["genres"]), r["year"]) for r in movies.collect()
    }
    assert got_movies == {m.movie_id: (m.title, m.genres, m.year) for m in pure_movies}
    assert ratings.schema == spark_io.RATINGS_SCHEMA
