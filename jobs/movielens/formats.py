"""MovieLens file formats, parsed line by line into one schema, without Spark.

Every published MovieLens layout is mapped to the same two record types:

* ``Rating(user_id, movie_id, rating, ts)``: ``rating`` a float on the 0.5..5.0 half-star
  scale, ``ts`` integer seconds since the Unix epoch (UTC).
* ``Movie(movie_id, title, genres, year)``: ``genres`` a tuple of genre names in the
  ml-latest vocabulary (``(no genres listed)`` and ml-100k's ``unknown`` become an empty
  tuple, ``Children's`` becomes ``Children``), ``year`` parsed from the trailing ``(YYYY)``
  of the title (or ml-100k's release date), ``None`` when there is none.

Formats (``FORMATS``), named after the archives they come from:

=========  =====================  =========================================  ===========
name       files                  layout                                     encoding
=========  =====================  =========================================  ===========
latest     ratings.csv,           CSV with header, RFC 4180 quoting          UTF-8
           movies.csv             (ml-latest-small, ml-latest, ml-20m/25m/32m)
kaggle     rating.csv, movie.csv  as ``latest``; timestamp                   UTF-8
                                  ``YYYY-MM-DD HH:MM:SS`` (UTC)
ml-1m      ratings.dat,           ``::`` separated, no header (ml-1m, ml-10m) Latin-1
           movies.dat
ml-100k    u.data, u.item         ratings tab separated; movies ``|``         Latin-1
                                  separated with 19 genre flags
=========  =====================  =========================================  ===========

A bad line is never dropped silently: ``parse_lines`` returns the good records and a
``Reject(source, line_no, raw, reason)`` for each bad one (line numbers start at 1 and count
the header). The same line parsers are used by the Spark loader (``jobs.movielens.spark_io``),
the Kafka producer and the tests.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

RATING_MIN = 0.5
RATING_MAX = 5.0

NO_GENRES = "(no genres listed)"

# ml-100k's u.item genre flags, in file order (u.genre); mapped to the ml-latest names.
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
_GENRE_ALIASES = {"Children's": "Children"}

_YEAR_IN_TITLE = re.compile(r"\((\d{4})(?:\s*[-\u2013]\s*(?:\d{4})?)?\)\s*$")
_KAGGLE_TS = "%Y-%m-%d %H:%M:%S"
# What makes csv.reader read a line otherwise than a split at the commas.
_CSV_SPECIAL = re.compile(r'["\r\n\x00]')


class RowError(ValueError):
    """A line that cannot be turned into a record; the message is the reject reason."""


class FormatError(ValueError):
    """A whole file or directory does not match any known format."""


@dataclass(frozen=True, slots=True)
class Rating:
    user_id: int
    movie_id: int
    rating: float
    ts: int


@dataclass(frozen=True, slots=True)
class Movie:
    movie_id: int
    title: str
    genres: tuple[str, ...]
    year: int | None

    @property
    def genres_text(self) -> str:
        """Genres as the pipe-separated text MovieLens uses (empty when there are none)."""
        return "|".join(self.genres)


@dataclass(frozen=True, slots=True)
class Reject:
    source: str
    line_no: int
    raw: str
    reason: str


# --------------------------------------------------------------------------- field parsers


def parse_id(text: str, what: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise RowError(f"non-numeric {what}: {text!r}")
    value = int(text)
    if value <= 0 or value > 2**31 - 1:
        raise RowError(f"{what} out of range: {value}")
    return value


def parse_rating_value(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise RowError(f"non-numeric rating: {text.strip()!r}") from None
    return check_rating(value)


def check_rating(value: float) -> float:
    if not math.isfinite(value) or value < RATING_MIN or value > RATING_MAX:
        raise RowError(f"rating out of range {RATING_MIN}..{RATING_MAX}: {value}")
    if value * 2 != round(value * 2):
        raise RowError(f"rating not a multiple of 0.5: {value}")
    return float(value)


def parse_epoch(text: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise RowError(f"bad timestamp: {text!r}")
    return int(text)


def parse_datetime(text: str) -> int:
    text = text.strip()
    try:
        moment = datetime.strptime(text, _KAGGLE_TS).replace(tzinfo=UTC)
    except ValueError:
        raise RowError(f"bad timestamp: {text!r}") from None
    return int(moment.timestamp())


def format_datetime(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(_KAGGLE_TS)


def normalise_genres(names: Iterable[str]) -> tuple[str, ...]:
    out = []
    for raw in names:
        name = raw.strip()
        if not name or name in (NO_GENRES, "unknown"):
            continue
        out.append(_GENRE_ALIASES.get(name, name))
    return tuple(out)


def year_from_title(title: str) -> int | None:
    match = _YEAR_IN_TITLE.search(title)
    return int(match.group(1)) if match else None


def _fields(fields: list[str], expected: int) -> list[str]:
    if len(fields) != expected:
        raise RowError(f"wrong field count: expected {expected}, got {len(fields)}")
    return fields


def _csv_fields(line: str) -> list[str]:
    if line and not _CSV_SPECIAL.search(line):
        # Nothing quoted and no line break or NUL: what csv.reader gives, for a tenth of its
        # time (the replay parses tens of thousands of lines a second).
        return line.split(",")
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise RowError(f"bad CSV quoting: {exc}") from None
    if len(rows) != 1:
        raise RowError("bad CSV quoting: not one record")
    return rows[0]


def _title(text: str) -> str:
    title = text.strip()
    if not title:
        raise RowError("empty title")
    return title


# --------------------------------------------------------------------------- line parsers


def rating_from_csv(line: str) -> Rating:
    user, movie, rating, ts = _fields(_csv_fields(line), 4)
    return Rating(
        parse_id(user, "userId"),
        parse_id(movie, "movieId"),
        parse_rating_value(rating),
        parse_epoch(ts),
    )


def rating_from_kaggle(line: str) -> Rating:
    user, movie, rating, ts = _fields(_csv_fields(line), 4)
    return Rating(
        parse_id(user, "userId"),
        parse_id(movie, "movieId"),
        parse_rating_value(rating),
        parse_datetime(ts),
    )


def rating_from_dat(line: str) -> Rating:
    user, movie, rating, ts = _fields(line.split("::"), 4)
    return Rating(
        parse_id(user, "UserID"),
        parse_id(movie, "MovieID"),
        parse_rating_value(rating),
        parse_epoch(ts),
    )


def rating_from_udata(line: str) -> Rating:
    user, movie, rating, ts = _fields(line.split("\t"), 4)
    return Rating(
        parse_id(user, "user id"),
        parse_id(movie, "item id"),
        parse_rating_value(rating),
        parse_epoch(ts),
    )


def movie_from_csv(line: str) -> Movie:
    movie, title, genres = _fields(_csv_fields(line), 3)
    title = _title(title)
    return Movie(
        parse_id(movie, "movieId"),
        title,
        normalise_genres(genres.split("|")),
        year_from_title(title),
    )


def movie_from_dat(line: str) -> Movie:
    movie, title, genres = _fields(line.split("::"), 3)
    title = _title(title)
    return Movie(
        parse_id(movie, "MovieID"),
        title,
        normalise_genres(genres.split("|")),
        year_from_title(title),
    )


def movie_from_uitem(line: str) -> Movie:
    fields = _fields(line.split("|"), 5 + len(ML100K_GENRES))
    movie_id = parse_id(fields[0], "movie id")
    title = _title(fields[1])
    flags = fields[5:]
    if any(flag.strip() not in ("0", "1") for flag in flags):
        raise RowError("genre flags must be 0 or 1")
    genres = normalise_genres(g for g, f in zip(ML100K_GENRES, flags, strict=True) if f == "1")
    year = year_from_title(title)
    release = fields[2].strip()  # e.g. 01-Jan-1995
    if year is None and re.fullmatch(r"\d{2}-[A-Za-z]{3}-\d{4}", release):
        year = int(release[-4:])
    return Movie(movie_id, title, genres, year)


# --------------------------------------------------------------------------- formats


@dataclass(frozen=True)
class Format:
    name: str
    ratings_file: str
    movies_file: str
    encoding: str
    ratings_header: str | None
    movies_header: str | None
    parse_rating: Callable[[str], Rating]
    parse_movie: Callable[[str], Movie]


FORMATS: dict[str, Format] = {
    "latest": Format(
        "latest",
        "ratings.csv",
        "movies.csv",
        "utf-8",
        "userId,movieId,rating,timestamp",
        "movieId,title,genres",
        rating_from_csv,
        movie_from_csv,
    ),
    "kaggle": Format(
        "kaggle",
        "rating.csv",
        "movie.csv",
        "utf-8",
        "userId,movieId,rating,timestamp",
        "movieId,title,genres",
        rating_from_kaggle,
        movie_from_csv,
    ),
    "ml-1m": Format(
        "ml-1m", "ratings.dat", "movies.dat", "latin-1", None, None, rating_from_dat, movie_from_dat
    ),
    "ml-100k": Format(
        "ml-100k", "u.data", "u.item", "latin-1", None, None, rating_from_udata, movie_from_uitem
    ),
}


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise FormatError(f"unknown format {name!r}; known: {', '.join(FORMATS)}") from None


def detect_format(file_names: Iterable[str]) -> Format:
    """The format whose ratings and movies files are both among ``file_names``."""
    names = {os.path.basename(str(n).rstrip("/")) for n in file_names}
    for fmt in FORMATS.values():
        if fmt.ratings_file in names and fmt.movies_file in names:
            return fmt
    raise FormatError(
        "no MovieLens ratings/movies pair found among "
        f"{sorted(names)}; expected one of "
        + ", ".join(f"{f.ratings_file}+{f.movies_file}" for f in FORMATS.values())
    )


def detect_format_in_dir(path: str | os.PathLike) -> Format:
    return detect_format(os.listdir(path))


# --------------------------------------------------------------------------- whole files


def parse_numbered_lines(
    numbered: Iterable[tuple[int, str]],
    parser: Callable[[str], object],
    source: str,
    header: str | None,
) -> Iterable[object | Reject]:
    """Parse ``(line_no, text)`` pairs; yield a record or a ``Reject`` per line.

    Line 1 is compared with ``header`` when the format has one: a matching header is skipped,
    anything else is rejected (the file is then probably of another format). Blank lines are
    rejected too, so the counts of input lines and of outputs always agree (minus the header).
    """
    for line_no, raw in numbered:
        text = raw.rstrip("\r\n")
        if text.startswith("\ufeff"):
            text = text[1:]
        if line_no == 1 and header is not None:
            if text.strip() != header:
                yield Reject(source, line_no, text, f"bad header: expected {header!r}")
            continue
        if not text.strip():
            yield Reject(source, line_no, text, "empty line")
            continue
        try:
            yield parser(text)
        except RowError as exc:
            yield Reject(source, line_no, text, str(exc))


def parse_lines(
    lines: Iterable[str], parser: Callable[[str], object], source: str, header: str | None
) -> tuple[list, list[Reject]]:
    good, bad = [], []
    for item in parse_numbered_lines(enumerate(lines, start=1), parser, source, header):
        (bad if isinstance(item, Reject) else good).append(item)
    return good, bad


def read_ratings(directory: str | os.PathLike, fmt: Format | None = None):
    """(ratings, rejects) of a local directory; the format is detected when not given."""
    fmt = fmt or detect_format_in_dir(directory)
    path = os.path.join(directory, fmt.ratings_file)
    with open(path, encoding=fmt.encoding, newline="") as handle:
        return parse_lines(handle, fmt.parse_rating, fmt.ratings_file, fmt.ratings_header)


def read_movies(directory: str | os.PathLike, fmt: Format | None = None):
    """(movies, rejects) of a local directory; the format is detected when not given."""
    fmt = fmt or detect_format_in_dir(directory)
    path = os.path.join(directory, fmt.movies_file)
    with open(path, encoding=fmt.encoding, newline="") as handle:
        return parse_lines(handle, fmt.parse_movie, fmt.movies_file, fmt.movies_header)


def iter_ratings(path: str | os.PathLike, fmt: Format) -> Iterable[Rating | Reject]:
    """Stream one ratings file (for the producer): records and rejects in file order."""
    with open(path, encoding=fmt.encoding, newline="", errors="replace") as handle:
        yield from parse_numbered_lines(
            enumerate(handle, start=1), fmt.parse_rating, fmt.ratings_file, fmt.ratings_header
        )
