"""The synthetic generator: deterministic, MovieLens-shaped, parseable in every format."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest

from jobs.movielens import formats, synthetic


@pytest.fixture(scope="module")
def data():
    return synthetic.generate(users=200, movies=600, ratings=12_000, seed=3)


def test_deterministic(data):
    again = synthetic.generate(users=200, movies=600, ratings=12_000, seed=3)
    assert again.ratings == data.ratings and again.movies == data.movies
    other = synthetic.generate(users=200, movies=600, ratings=12_000, seed=4)
    assert other.ratings != data.ratings


def test_shape_like_movielens(data):
    per_user = collections.Counter(r.user_id for r in data.ratings)
    per_movie = collections.Counter(r.movie_id for r in data.ratings)
    assert len(per_user) == 200 and min(per_user.values()) >= 20
    assert max(per_user.values()) > 5 * np.median(list(per_user.values()))  # heavy users
    counts = sorted(per_movie.values(), reverse=True)
    assert sum(counts[:60]) > 0.3 * len(data.ratings)  # top 10% of movies: a big share
    assert counts[0] > 5 * np.median(counts)  # blockbusters ...
    assert sum(1 for c in counts if c <= 5) > 30  # ... and a long tail
    stars = {r.rating for r in data.ratings}
    assert stars <= {x / 2 for x in range(1, 11)} and len(stars) == 10
    assert 3.0 < np.mean([r.rating for r in data.ratings]) < 4.0
    assert len({(r.user_id, r.movie_id) for r in data.ratings}) == len(data.ratings)
    titles = [m.title for m in data.movies]
    assert any("," in t for t in titles) and any('"' in t for t in titles)
    assert sum(1 for m in data.movies if not m.genres) == 1


def test_genre_affinity_is_in_the_ratings(data):
    """Users rate movies close to their taste higher: the latent structure is real."""
    index = {m.movie_id: i for i, m in enumerate(data.movies)}
    dots = np.array(
        [
            data.user_factors[r.user_id - 1] @ data.movie_factors[index[r.movie_id]]
            for r in data.ratings
        ]
    )
    stars = np.array([r.rating for r in data.ratings])
    assert np.corrcoef(dots, stars)[0, 1] > 0.3


@pytest.mark.parametrize("fmt_name", sorted(formats.FORMATS))
def test_every_format_round_trips_with_malformed_lines(tmp_path, data, fmt_name):
    manifest = synthetic.write(data, str(tmp_path), fmt_name, malformed=6, seed=3)
    assert formats.detect_format_in_dir(tmp_path).name == fmt_name
    ratings, bad = formats.read_ratings(tmp_path)
    assert len(ratings) == len(data.ratings) and len(bad) == 6
    assert [b.line_no for b in bad] == manifest["malformed_lines"]
    assert json.loads((tmp_path / "synthetic.json").read_text())["malformed"] == 6
    movies, bad_movies = formats.read_movies(tmp_path)
    assert bad_movies == [] and len(movies) == len(data.movies)
    truth = {m.movie_id: m for m in data.movies}
    for movie in movies:
        assert movie.title == truth[movie.movie_id].title
        if fmt_name != "ml-100k":  # ml-100k has no IMAX
            assert movie.genres == truth[movie.movie_id].genres
    original = sorted(data.ratings, key=lambda r: (r.user_id, r.movie_id))
    if fmt_name in ("ml-1m", "ml-100k"):
        assert [r.rating for r in ratings] == [synthetic.whole_stars(r.rating) for r in original]
    else:
        assert ratings == original


def test_cli(tmp_path):
    assert (
        synthetic.main(
            [
                "--out",
                str(tmp_path),
                "--users",
                "30",
                "--movies",
                "80",
                "--ratings",
                "900",
                "--format",
                "kaggle",
                "--malformed",
                "2",
            ]
        )
        == 0
    )
    assert (tmp_path / "rating.csv").exists() and (tmp_path / "movie.csv").exists()
    ratings, bad = formats.read_ratings(tmp_path)
    assert len(bad) == 2 and len(ratings) > 600


@pytest.mark.parametrize("malformed", [40, 10_000])  # some; one before every rating
@pytest.mark.parametrize("fmt_name", sorted(formats.FORMATS))
def test_written_block_by_block_as_in_memory(tmp_path, monkeypatch, fmt_name, malformed):
    """The command line's path (a block of users at a time, nothing kept) writes the same
    bytes as generating everything in memory first, malformed lines in the same places (with
    one before every rating: at the first and at every block's edges too)."""
    monkeypatch.setattr(synthetic.Draw, "USERS_PER_BLOCK", 7)  # many blocks
    shape = {"users": 40, "movies": 90, "ratings": 1500, "seed": 8}
    whole = synthetic.write(
        synthetic.generate(**shape), str(tmp_path / "whole"), fmt_name, malformed=malformed, seed=8
    )
    draw = synthetic.Draw(**shape)
    heard = []
    blocks = synthetic.write_blocks(
        draw.blocks(),
        draw.total,
        draw.movies,
        str(tmp_path / "blocks"),
        fmt_name=fmt_name,
        malformed=malformed,
        seed=8,
        progress=heard.append,
    )
    assert blocks == whole and whole["malformed"] == min(malformed, draw.total)
    for name in sorted(p.name for p in (tmp_path / "whole").iterdir()):
        assert (tmp_path / "blocks" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert len(heard) == 6 and heard[-1] == whole["ratings"]  # 40 users, blocks of 7


def test_movies_come_after_the_ratings():
    draw = synthetic.Draw(users=10, movies=30, ratings=300, seed=1)
    with pytest.raises(RuntimeError, match="after every block"):
        draw.movies()
    assert sum(len(b) for b in draw.blocks()) == draw.total
    assert len(draw.movies()) == 30
