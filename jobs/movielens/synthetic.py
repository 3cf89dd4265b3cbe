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

CLI (writes a block of users at a time, so its memory does not grow with the ratings: about
400 MiB for MovieLens 25M's shape, against 6.6 GiB and growing when it kept every rating)::

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
from collections.abc import Callable, Iterable, Iterator
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


@dataclass
class RatingBlock:
    """The ratings of a run of consecutive users, in (user, movie) order, as arrays."""

    user_ids: np.ndarray
    movie_ids: np.ndarray
    stars: np.ndarray
    ts: np.ndarray

    def __len__(self) -> int:
        return len(self.user_ids)

    def rating(self, i: int) -> Rating:
        return Rating(
            int(self.user_ids[i]), int(self.movie_ids[i]), float(self.stars[i]), int(self.ts[i])
        )

    def ratings(self) -> list[Rating]:
        return [
            Rating(u, m, s, t)
            for u, m, s, t in zip(
                self.user_ids.tolist(),
                self.movie_ids.tolist(),
                self.stars.tolist(),
                self.ts.tolist(),
                strict=True,
            )
        ]

    @classmethod
    def of(cls, ratings: list[Rating]) -> RatingBlock:
        return cls(
            np.array([r.user_id for r in ratings], dtype=np.int64),
            np.array([r.movie_id for r in ratings], dtype=np.int64),
            np.array([r.rating for r in ratings], dtype=float),
            np.array([r.ts for r in ratings], dtype=np.int64),
        )


class Draw:
    """The random draws behind a dataset, made in a fixed order from one generator.

    ``blocks()`` yields the ratings a block of users at a time (nothing else is kept, so a
    dataset of MovieLens 25M's size never sits in memory); ``movies()``, which draws the years
    and titles, comes after every block has been drawn. Same arguments, same output (numpy's
    PCG64)."""

    USERS_PER_BLOCK = 128

    def __init__(
        self,
        users: int = 600,
        movies: int = 9000,
        ratings: int = 100_000,
        seed: int = 42,
        *,
        rank: int = 8,
        popularity_exponent: float = 0.9,
        taste_weight: float = 1.8,
    ) -> None:
        if users < 1 or movies < 2:
            raise ValueError("need at least one user and two movies")
        rng = self.rng = np.random.default_rng(seed)
        self.users, self.n_movies, self.taste_weight = users, movies, taste_weight
        n_genres = len(GENRES)

        # Movies: genres, latent factors, popularity (long tail), quality bias.
        genre_vecs = rng.normal(0.0, 0.7, (n_genres, rank))
        genre_p = _GENRE_WEIGHTS / _GENRE_WEIGHTS.sum()
        movie_genres: list[tuple[int, ...]] = []
        for _ in range(movies):
            k = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.20])
            movie_genres.append(
                tuple(sorted(rng.choice(n_genres, size=k, replace=False, p=genre_p)))
            )
        movie_genres[int(rng.integers(movies))] = ()  # one movie with no genre
        V = rng.normal(0.0, 0.45, (movies, rank))
        for i, gs in enumerate(movie_genres):
            if gs:
                V[i] += genre_vecs[list(gs)].mean(axis=0)
        pop_rank = rng.permutation(movies) + 1
        log_pop = -popularity_exponent * np.log(pop_rank)  # Zipf-like popularity weights
        self.movie_bias = 0.25 * (log_pop - log_pop.mean()) / log_pop.std() + rng.normal(
            0, 0.3, movies
        )
        self.movie_genres, self.log_pop, self.movie_factors = movie_genres, log_pop, V

        # Users: genre affinity, latent factors, bias, activity (heavy tailed).
        U = rng.normal(0.0, 0.35, (users, rank))
        for u in range(users):
            fav = rng.choice(n_genres, size=rng.integers(1, 4), replace=False, p=genre_p)
            U[u] += 0.9 * genre_vecs[fav].mean(axis=0)
        self.user_factors = U
        self.user_bias = rng.normal(0.0, 0.35, users)
        floor = max(1, min(20, ratings // users, movies // 2))
        extra = rng.lognormal(0.0, 1.3, users)
        extra = extra / extra.sum() * max(0, ratings - floor * users)
        self.counts = np.clip(np.round(floor + extra), 1, max(1, movies // 2)).astype(int)
        self.movie_ids = np.sort(
            rng.choice(np.arange(1, movies * 3 + 1), size=movies, replace=False)
        )
        self.user_start = rng.integers(EPOCH_START, EPOCH_END - 86400 * 400, users)
        self._drawn = 0  # users whose ratings have been drawn

    @property
    def total(self) -> int:
        """How many ratings the blocks hold."""
        return int(self.counts.sum())

    def blocks(self) -> Iterator[RatingBlock]:
        """Which movies each user rates: popularity and taste (Gumbel top-k, no replacement),
        and the stars and times of those ratings."""
        rng, U, V = self.rng, self.user_factors, self.movie_factors
        for lo in range(0, self.users, self.USERS_PER_BLOCK):
            hi = min(self.users, lo + self.USERS_PER_BLOCK)
            affinity = U[lo:hi] @ V.T
            keys = self.log_pop[None, :] + self.taste_weight * affinity
            keys += rng.gumbel(size=(hi - lo, self.n_movies))
            noise = rng.normal(0.0, 0.6, (hi - lo, self.n_movies))
            parts: list[tuple[np.ndarray, ...]] = []
            for r, u in enumerate(range(lo, hi)):
                n_u = self.counts[u]
                chosen = np.argpartition(-keys[r], n_u - 1)[:n_u]
                chosen.sort()
                taste = affinity[r, chosen]
                taste = 0.8 * (taste - taste.mean())  # chosen movies are liked more than average
                raw = 3.2 + self.user_bias[u] + self.movie_bias[chosen] + taste + noise[r, chosen]
                stars = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)
                span = int(rng.integers(3600, 86400 * 400))
                ts = self.user_start[u] + np.sort(rng.integers(0, span, n_u))
                ts = ts[rng.permutation(n_u)]
                parts.append((np.full(n_u, u + 1), self.movie_ids[chosen], stars, ts))
            self._drawn = hi
            yield RatingBlock(*(np.concatenate(column) for column in zip(*parts, strict=True)))

    def movies(self) -> list[Movie]:
        """The catalogue: drawn after the ratings (the generator's order)."""
        if self._drawn < self.users:
            raise RuntimeError("the movies are drawn after every block of ratings")
        rng, n = self.rng, self.n_movies
        years = rng.integers(1920, 2018, n)
        years = np.where(rng.random(n) < 0.7, np.maximum(years, rng.integers(1980, 2018, n)), years)
        years[rng.random(n) < 0.01] = 0  # a few titles without a year
        titles = _titles(rng, n, years)
        return [
            Movie(
                int(self.movie_ids[i]),
                titles[i],
                tuple(GENRES[g] for g in self.movie_genres[i]),
                int(years[i]) or None,
            )
            for i in range(n)
        ]


def generate(
    users: int = 600, movies: int = 9000, ratings: int = 100_000, seed: int = 42, **shape
) -> SyntheticData:
    """Generate movies and ratings in memory (``Draw``'s arguments); same arguments, same
    output."""
    draw = Draw(users, movies, ratings, seed, **shape)
    out = [r for block in draw.blocks() for r in block.ratings()]
    return SyntheticData(draw.movies(), out, draw.user_factors, draw.movie_factors)


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


def rating_columns(fmt_name: str, block: RatingBlock) -> list[list[str]]:
    """A block's rating fields as text, column by column."""
    if fmt_name in ("latest", "kaggle"):
        stars = [_fmt_rating(v) for v in block.stars.tolist()]
    else:
        stars = [str(whole_stars(v)) for v in block.stars.tolist()]
    ts = block.ts.tolist()
    return [
        list(map(str, block.user_ids.tolist())),
        list(map(str, block.movie_ids.tolist())),
        stars,
        list(map(format_datetime if fmt_name == "kaggle" else str, ts)),
    ]


def rating_fields(fmt_name: str, r: Rating) -> list[str]:
    return [column[0] for column in rating_columns(fmt_name, RatingBlock.of([r]))]


# A rating's fields never need CSV quoting (numbers, and a date and time in kaggle's layout).
_SEPARATORS = {"latest": ",", "kaggle": ",", "ml-1m": "::", "ml-100k": "\t"}


def join_rating(fmt_name: str, fields: Iterable[str]) -> str:
    return _SEPARATORS[fmt_name].join(fields) + "\n"


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
    ratings = sorted(data.ratings, key=lambda r: (r.user_id, r.movie_id))
    return write_blocks(
        [RatingBlock.of(ratings)],
        len(ratings),
        lambda: data.movies,
        out_dir,
        fmt_name=fmt_name,
        malformed=malformed,
        seed=seed,
    )


def write_blocks(
    blocks: Iterable[RatingBlock],
    total: int,
    movies: Callable[[], list[Movie]],
    out_dir: str,
    *,
    fmt_name: str = "latest",
    malformed: int = 0,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write ``total`` ratings, given as blocks in (user, movie) order, then the catalogue
    (``movies()`` is called once every block is written), in format ``fmt_name`` under
    ``out_dir``; return the manifest. ``progress`` hears the ratings written so far."""
    fmt = FORMATS[fmt_name]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    bad_at = set(rng.choice(total, size=min(malformed, total), replace=False).tolist())
    kinds: dict[str, int] = {}
    bad_lines: list[int] = []
    users: set[int] = set()
    with open(os.path.join(out_dir, fmt.ratings_file), "w", encoding=fmt.encoding, newline="") as f:
        line_no = i = 0
        if fmt.ratings_header:
            f.write(fmt.ratings_header + "\n")
            line_no += 1
        for block in blocks:
            users.update(np.unique(block.user_ids).tolist())
            lines = [
                join_rating(fmt_name, fields)
                for fields in zip(*rating_columns(fmt_name, block), strict=True)
            ]
            out, done = [], 0
            for at in sorted(b - i for b in bad_at if i <= b < i + len(lines)):
                # a broken line just before the rating it was drawn at
                out += lines[done:at]
                line, kind = _malformed_line(fmt_name, block.rating(at), len(bad_lines) % 4)
                out.append(line)
                line_no += at - done + 1
                bad_lines.append(line_no)
                kinds[kind] = kinds.get(kind, 0) + 1
                done = at
            out += lines[done:]
            line_no += len(lines) - done
            i += len(lines)
            f.writelines(out)
            if progress:
                progress(i)
    with open(os.path.join(out_dir, fmt.movies_file), "w", encoding=fmt.encoding, newline="") as f:
        if fmt.movies_header:
            f.write(fmt.movies_header + "\n")
        catalogue = movies()
        for m in catalogue:
            f.write(movie_line(fmt_name, m))
    if fmt_name == "ml-100k":
        with open(os.path.join(out_dir, "u.genre"), "w", encoding="latin-1") as f:
            f.writelines(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES))
    manifest = {
        "format": fmt_name,
        "users": len(users),
        "movies": len(catalogue),
        "ratings": i,
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
    draw = Draw(args.users, args.movies, args.ratings, args.seed, rank=args.rank)
    total = draw.total
    step = max(total // 20, 1)  # a progress line about every 5 %
    reported = [0]

    def progress(written: int) -> None:
        if written - reported[0] >= step or written == total:
            reported[0] = written
            log.info("%d of %d ratings written (%.0f%%)", written, total, 100 * written / total)

    manifest = write_blocks(
        draw.blocks(),
        total,
        draw.movies,
        args.out,
        fmt_name=args.format,
        malformed=args.malformed,
        seed=args.seed,
        progress=progress,
    )
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
