"""Deterministic synthetic MovieLens data with real latent structure.

MovieLens itself cannot be downloaded everywhere this project is built and tested, so the
tests and the quality figures use data generated here, written in the same file formats.

The model behind the data:

* genres have latent vectors; a movie's latent vector is the mean of its genres' vectors
  plus noise; each user likes one to three genres, and their latent vector leans towards
  those genres' vectors (genre affinity);
* movies have a popularity weight with a long tail (Zipf-like, a few blockbusters, many
  movies with a handful of ratings) and a quality bias loosely tied to popularity;
* users rate a number of movies drawn from a heavy-tailed distribution (at least 20 each,
  like ml-latest-small; some users rate hundreds);
* which movies a user rates depends on popularity *and* on the user's taste (people watch
  what they expect to like), sampled without replacement with the Gumbel top-k trick;
* the rating is ``mean + user bias + movie bias + <user, movie> + noise`` (the dot product
  centred on the user's rated movies, as selection already favours liked ones), clipped to
  0.5..5 and rounded to half stars (whole stars for ml-1m and ml-100k).

Titles follow MovieLens conventions, including ``Matrix, The (1999)`` (a comma, so quoted
in CSV), titles with double quotes, Latin-1 letters, a few without a year, and one movie
with ``(no genres listed)``.

CLI::

    python -m jobs.movielens.synthetic --out DIR [--users 600] [--movies 9000]
        [--ratings 100000] [--seed 42] [--format latest|kaggle|ml-1m|ml-100k] [--malformed N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from jobs.movielens.formats import (
    FORMATS,
    ML100K_GENRES,
    NO_GENRES,
    Movie,
    Rating,
    format_datetime,
)

log = logging.getLogger(__name__)

GENRES = (
    "Drama",
    "Comedy",
    "Thriller",
    "Romance",
    "Action",
    "Crime",
    "Horror",
    "Documentary",
    "Adventure",
    "Sci-Fi",
    "Mystery",
    "Fantasy",
    "Children",
    "Animation",
    "War",
    "Musical",
    "Western",
    "Film-Noir",
    "IMAX",
)
# Rough genre frequencies of ml-latest (Drama and Comedy dominate).
_GENRE_WEIGHTS = np.array([25, 20, 11, 9, 9, 7, 6, 5, 6, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1], float)

_ADJECTIVES = (
    "Silent",
    "Last",
    "Broken",
    "Golden",
    "Hidden",
    "Midnight",
    "Lost",
    "Wild",
    "Crimson",
    "Distant",
    "Frozen",
    "Secret",
    "Little",
    "Burning",
    "Endless",
    "Electric",
    "Quiet",
    "Savage",
    "Velvet",
    "Hollow",
)
_NOUNS = (
    "River",
    "Empire",
    "Garden",
    "Stranger",
    "Road",
    "Kingdom",
    "Heart",
    "Mirror",
    "Summer",
    "Detective",
    "Machine",
    "Island",
    "Promise",
    "Shadow",
    "Letter",
    "Harbor",
    "Witness",
    "Orchard",
    "Signal",
    "Voyage",
)
_LATIN1_WORDS = ("Café", "Señor", "Über", "Déjà Vu", "Noël", "Mañana", "Fräulein", "Garçon")
_ARTICLES = ("The", "A", "An", "La", "Les", "Die")

EPOCH_START = 820454400  # 1996-01-01
EPOCH_END = 1514764800  # 2018-01-01


@dataclass
class SyntheticData:
    movies: list[Movie]
    ratings: list[Rating]
    user_factors: np.ndarray
    movie_factors: np.ndarray


def _titles(rng: np.random.Generator, n: int, years: np.ndarray) -> list[str]:
    titles = []
    seen: set[str] = set()
    for i in range(n):
        kind = rng.random()
        adj = _ADJECTIVES[rng.integers(len(_ADJECTIVES))]
        noun = _NOUNS[rng.integers(len(_NOUNS))]
        if kind < 0.15:
            base = f"{adj} {noun}, {_ARTICLES[rng.integers(len(_ARTICLES))]}"  # "River, The"
        elif kind < 0.20:
            base = f'{noun} "{adj}" {_NOUNS[rng.integers(len(_NOUNS))]}'  # embedded quotes
        elif kind < 0.25:
            base = f"{_LATIN1_WORDS[rng.integers(len(_LATIN1_WORDS))]} {noun}"
        elif kind < 0.30:
            base = f"{adj} {noun}: Part {rng.integers(2, 5)}"
        else:
            base = f"{adj} {noun}"
        if base in seen:
            base = f"{base} {i}"
        seen.add(base)
        titles.append(base if years[i] == 0 else f"{base} ({years[i]})")
    return titles


def generate(
    users: int = 600,
    movies: int = 9000,
    ratings: int = 100_000,
    seed: int = 42,
    *,
    rank: int = 8,
    popularity_exponent: float = 0.9,
    taste_weight: float = 1.8,
) -> SyntheticData:
    """Generate movies and ratings; same arguments, same output (numpy's PCG64)."""
    if users < 1 or movies < 2:
        raise ValueError("need at least one user and two movies")
    rng = np.random.default_rng(seed)
    n_genres = len(GENRES)

    # Movies: genres, latent factors, popularity (long tail), quality bias.
    genre_vecs = rng.normal(0.0, 0.7, (n_genres, rank))
    genre_p = _GENRE_WEIGHTS / _GENRE_WEIGHTS.sum()
    movie_genres: list[tuple[int, ...]] = []
    for _ in range(movies):
        k = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.20])
        movie_genres.append(tuple(sorted(rng.choice(n_genres, size=k, replace=False, p=genre_p))))
    no_genre_index = int(rng.integers(movies))
    movie_genres[no_genre_index] = ()
    V = rng.normal(0.0, 0.45, (movies, rank))
    for i, gs in enumerate(movie_genres):
        if gs:
            V[i] += genre_vecs[list(gs)].mean(axis=0)
    pop_rank = rng.permutation(movies) + 1
    log_pop = -popularity_exponent * np.log(pop_rank)  # Zipf-like popularity weights
    movie_bias = 0.25 * (log_pop - log_pop.mean()) / log_pop.std() + rng.normal(0, 0.3, movies)

    # Users: genre affinity, latent factors, bias, activity (heavy tailed).
    U = rng.normal(0.0, 0.35, (users, rank))
    for u in range(users):
        fav = rng.choice(n_genres, size=rng.integers(1, 4), replace=False, p=genre_p)
        U[u] += 0.9 * genre_vecs[fav].mean(axis=0)
    user_bias = rng.normal(0.0, 0.35, users)
    floor = max(1, min(20, ratings // users, movies // 2))
    extra = rng.lognormal(0.0, 1.3, users)
    extra = extra / extra.sum() * max(0, ratings - floor * users)
    counts = np.clip(np.round(floor + extra), 1, max(1, movies // 2)).astype(int)

    # Which movies each user rates: popularity and taste (Gumbel top-k, no replacement).
    movie_ids = np.sort(rng.choice(np.arange(1, movies * 3 + 1), size=movies, replace=False))
    out: list[Rating] = []
    user_start = rng.integers(EPOCH_START, EPOCH_END - 86400 * 400, users)
    chunk = 128
    for lo in range(0, users, chunk):
        hi = min(users, lo + chunk)
        affinity = U[lo:hi] @ V.T
        keys = log_pop[None, :] + taste_weight * affinity + rng.gumbel(size=(hi - lo, movies))
        noise = rng.normal(0.0, 0.6, (hi - lo, movies))
        for r, u in enumerate(range(lo, hi)):
            n_u = counts[u]
            chosen = np.argpartition(-keys[r], n_u - 1)[:n_u]
            chosen.sort()
            taste = affinity[r, chosen]
            taste = 0.8 * (taste - taste.mean())  # chosen movies are liked more than average
            raw = 3.2 + user_bias[u] + movie_bias[chosen] + taste + noise[r, chosen]
            stars = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)
            span = int(rng.integers(3600, 86400 * 400))
            ts = user_start[u] + np.sort(rng.integers(0, span, n_u))
            ts = ts[rng.permutation(n_u)]
            out.extend(
                Rating(u + 1, int(movie_ids[m]), float(s), int(t))
                for m, s, t in zip(chosen, stars, ts, strict=True)
            )

    years = rng.integers(1920, 2018, movies)
    years = np.where(
        rng.random(movies) < 0.7, np.maximum(years, rng.integers(1980, 2018, movies)), years
    )
    years[rng.random(movies) < 0.01] = 0  # a few titles without a year
    titles = _titles(rng, movies, years)
    movie_list = [
        Movie(
            int(movie_ids[i]),
            titles[i],
            tuple(GENRES[g] for g in movie_genres[i]),
            int(years[i]) or None,
        )
        for i in range(movies)
    ]
    return SyntheticData(movie_list, out, U, V)


# --------------------------------------------------------------------------- writers


def whole_stars(rating: float) -> int:
    """ml-1m and ml-100k have whole stars 1..5: round half up."""
    return int(min(5, max(1, math.floor(rating + 0.5))))


def _fmt_rating(value: float) -> str:
    return f"{value:.1f}"


def _csv_line(fields: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def rating_fields(fmt_name: str, r: Rating) -> list[str]:
    if fmt_name == "latest":
        return [str(r.user_id), str(r.movie_id), _fmt_rating(r.rating), str(r.ts)]
    if fmt_name == "kaggle":
        return [str(r.user_id), str(r.movie_id), _fmt_rating(r.rating), format_datetime(r.ts)]
    return [str(r.user_id), str(r.movie_id), str(whole_stars(r.rating)), str(r.ts)]


def join_rating(fmt_name: str, fields: list[str]) -> str:
    if fmt_name in ("latest", "kaggle"):
        return _csv_line(fields)
    return ("::" if fmt_name == "ml-1m" else "\t").join(fields) + "\n"


def movie_line(fmt_name: str, m: Movie) -> str:
    if fmt_name in ("latest", "kaggle"):
        return _csv_line([m.movie_id, m.title, m.genres_text or NO_GENRES])
    if fmt_name == "ml-1m":
        genres = "|".join("Children's" if g == "Children" else g for g in m.genres)
        return f"{m.movie_id}::{m.title}::{genres or NO_GENRES}\n"
    names = {"Children's" if g == "Children" else g for g in m.genres}
    flags = ["1" if g in names else "0" for g in ML100K_GENRES]
    if not names & set(ML100K_GENRES):
        flags[0] = "1"  # "unknown"
    date = f"01-Jan-{m.year}" if m.year else ""
    url = "http://us.imdb.com/M/title-exact?" + m.title.replace(" ", "+")
    return "|".join([str(m.movie_id), m.title, date, "", url, *flags]) + "\n"


def _malformed_line(fmt_name: str, r: Rating, kind: int) -> tuple[str, str]:
    """A broken rating line and the kind of damage (for the manifest)."""
    fields = rating_fields(fmt_name, r)
    if kind == 0:
        return join_rating(fmt_name, fields[:3]), "wrong field count"
    if kind == 1:
        fields[0] = "user" + fields[0]
        return join_rating(fmt_name, fields), "non-numeric id"
    if kind == 2:
        fields[2] = "7.5" if fmt_name in ("latest", "kaggle") else "9"
        return join_rating(fmt_name, fields), "rating out of range"
    fields[3] = "2015-13-45 99:00:00" if fmt_name == "kaggle" else "yesterday"
    return join_rating(fmt_name, fields), "bad timestamp"


def write(
    data: SyntheticData, out_dir: str, fmt_name: str = "latest", malformed: int = 0, seed: int = 0
) -> dict:
    """Write ``data`` in format ``fmt_name`` under ``out_dir``; return the manifest."""
    fmt = FORMATS[fmt_name]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    ratings = sorted(data.ratings, key=lambda r: (r.user_id, r.movie_id))
    n = len(ratings)
    bad_at = set(rng.choice(n, size=min(malformed, n), replace=False).tolist()) if n else set()
    kinds: dict[str, int] = {}
    bad_lines: list[int] = []
    with open(os.path.join(out_dir, fmt.ratings_file), "w", encoding=fmt.encoding, newline="") as f:
        line_no = 0
        if fmt.ratings_header:
            f.write(fmt.ratings_header + "\n")
            line_no += 1
        for i, r in enumerate(ratings):
            if i in bad_at:
                line, kind = _malformed_line(fmt_name, r, len(bad_lines) % 4)
                f.write(line)
                line_no += 1
                bad_lines.append(line_no)
                kinds[kind] = kinds.get(kind, 0) + 1
            f.write(join_rating(fmt_name, rating_fields(fmt_name, r)))
            line_no += 1
    with open(os.path.join(out_dir, fmt.movies_file), "w", encoding=fmt.encoding, newline="") as f:
        if fmt.movies_header:
            f.write(fmt.movies_header + "\n")
        for m in data.movies:
            f.write(movie_line(fmt_name, m))
    if fmt_name == "ml-100k":
        with open(os.path.join(out_dir, "u.genre"), "w", encoding="latin-1") as f:
            f.writelines(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES))
    manifest = {
        "format": fmt_name,
        "users": len({r.user_id for r in ratings}),
        "movies": len(data.movies),
        "ratings": n,
        "malformed": len(bad_lines),
        "malformed_lines": bad_lines,
        "malformed_kinds": kinds,
        "seed": seed,
    }
    with open(os.path.join(out_dir, "synthetic.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory to write")
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--movies", type=int, default=9000)
    parser.add_argument("--ratings", type=int, default=100_000, help="approximate total")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rank", type=int, default=8, help="latent dimensions of the truth")
    parser.add_argument("--format", default="latest", choices=sorted(FORMATS))
    parser.add_argument("--malformed", type=int, default=0, help="bad rating lines to insert")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    started = time.monotonic()
    data = generate(args.users, args.movies, args.ratings, args.seed, rank=args.rank)
    manifest = write(data, args.out, args.format, args.malformed, args.seed)
    log.info(
        "wrote %s ratings (%s malformed lines) of %s users on %s movies as %s to %s in %.1fs",
        manifest["ratings"],
        manifest["malformed"],
        manifest["users"],
        manifest["movies"],
        args.format,
        args.out,
        time.monotonic() - started,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
