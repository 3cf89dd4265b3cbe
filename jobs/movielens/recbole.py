"""MovieLens 100k from the ``recbole`` wheel on PyPI, converted to the MovieLens CSV layout.

The wheel of RecBole 1.2.1 (``recbole-1.2.1-py3-none-any.whl``) carries GroupLens'
MovieLens 100k as RecBole "atomic files" under ``recbole/dataset_example/ml-100k/``:

==================  =========================================================================
``ml-100k.inter``   ``user_id:token  item_id:token  rating:float  timestamp:float``
                    (100,000 ratings, whole stars 1..5, epoch seconds)
``ml-100k.item``    ``item_id:token  movie_title:token_seq  release_year:token  class:token_seq``
                    (1,682 movies; the title without its year, the genres space separated)
``ml-100k.user``    age, gender, occupation, zip code (not used by the pipeline)
==================  =========================================================================

Each file is tab separated and its first line names the columns as ``name:type``; the
columns are found by name, so their order does not matter. Lines are UTF-8, and a line that
is not is read as Latin-1 (the encoding of GroupLens' own files).

``convert`` reads the two files the pipeline needs straight from the wheel (a zip file) and
writes what GroupLens' ml-latest releases have (format ``latest`` of
``jobs.movielens.formats``, which the ingestion and the producer read):

* ``ratings.csv``: ``userId,movieId,rating,timestamp``, in the order of ``ml-100k.inter``;
* ``movies.csv``: ``movieId,title,genres``, the title as MovieLens writes it, ``Title (Year)``
  (the year appended from ``release_year`` unless the title already ends with one), the genres
  pipe separated in the ml-latest vocabulary (``Children's`` becomes ``Children``; ``unknown``
  or none becomes ``(no genres listed)``), quoted as CSV needs (commas, double quotes);
* ``conversion.json``: the wheel and its SHA-256, the counts, and every line that was
  skipped or kept with a remark.

A line that cannot be converted (wrong number of fields, an id that is not a positive whole
number, a rating outside 0.5..5, a bad timestamp, an empty title, an id seen before) is
skipped and reported with its file, line number, text and reason; every other line is
converted. A wrong checksum, a file that is not the expected wheel, a header without the
needed columns, or no usable rating or movie at all stop the conversion with one line saying
why, and nothing is written. ``ratings.csv`` is written last, so its presence means a whole
conversion.

CLI (``movielens-job recbole`` on the hosts)::

    python -m jobs.movielens.recbole --wheel recbole-1.2.1-py3-none-any.whl --out DIR \
        [--sha256 HEX]

prints a one-line JSON summary on stdout, each skipped line on stderr, and exits 1 (with the
reason on stderr) when nothing can be converted.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from jobs.movielens.formats import (
    FORMATS,
    NO_GENRES,
    Movie,
    Rating,
    Reject,
    RowError,
    normalise_genres,
    parse_id,
    parse_rating_value,
    year_from_title,
)

MEMBER_DIR = "recbole/dataset_example/ml-100k"
RATINGS_MEMBER = f"{MEMBER_DIR}/ml-100k.inter"
MOVIES_MEMBER = f"{MEMBER_DIR}/ml-100k.item"
RATINGS_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
MOVIES_COLUMNS = ("item_id", "movie_title", "release_year", "class")
REPORT = "conversion.json"
# How many skipped lines the summary on stdout lists (conversion.json has them all).
SHOWN = 20

_LATEST = FORMATS["latest"]
_YEAR = re.compile(r"\d{4}")


class ConversionError(Exception):
    """Why nothing could be converted (one line, naming the file)."""


@dataclass
class Conversion:
    """What the atomic files gave: the records, the skipped lines, the kept ones with a remark."""

    ratings: list[Rating] = field(default_factory=list)
    movies: list[Movie] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    notes: list[Reject] = field(default_factory=list)

    @property
    def users(self) -> int:
        return len({r.user_id for r in self.ratings})

    @property
    def unknown_movies(self) -> int:
        """Ratings of a movie the item file does not have (kept: the ingestion decides)."""
        known = {m.movie_id for m in self.movies}
        return sum(1 for r in self.ratings if r.movie_id not in known)


# --------------------------------------------------------------------------- the wheel


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: str | os.PathLike, expected: str) -> str:
    """The file's SHA-256, or a ConversionError when it is not ``expected``."""
    actual = sha256_of(path)
    if actual != expected.strip().lower():
        raise ConversionError(
            f"{path}: SHA-256 is {actual}, not the pinned {expected.strip().lower()}: the file is "
            "damaged or not the pinned release of the wheel; nothing was converted (delete it and "
            "download it again, or rebuild the mirror it came from)"
        )
    return actual


def read_members(wheel: str | os.PathLike) -> tuple[bytes, bytes]:
    """The bytes of the ratings and movies atomic files inside the wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            for member in (RATINGS_MEMBER, MOVIES_MEMBER):
                if member not in names:
                    raise ConversionError(
                        f"{wheel} has no {member}: not the recbole wheel that holds MovieLens 100k"
                    )
            return archive.read(RATINGS_MEMBER), archive.read(MOVIES_MEMBER)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConversionError(f"cannot read {wheel} as a wheel (zip file): {exc}") from None


# --------------------------------------------------------------------------- atomic files


def decode(raw: bytes) -> tuple[str, bool]:
    """(text, True when it was not UTF-8 and was read as Latin-1)."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def split_lines(data: bytes) -> list[bytes]:
    """Lines without their ends (``\\n`` or ``\\r\\n``); no last empty line for a final newline."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def header_columns(line: str, source: str, needed: Iterable[str]) -> dict[str, int]:
    """Column name -> index from a ``name:type`` header, or a ConversionError naming what lacks."""
    names = [part.split(":", 1)[0].strip() for part in line.removeprefix("\ufeff").split("\t")]
    columns: dict[str, int] = {}
    for i, name in enumerate(names):
        columns.setdefault(name, i)
    missing = [name for name in needed if name not in columns]
    if missing:
        raise ConversionError(
            f"{source}: the header {line!r} lacks the column(s) {', '.join(missing)}: "
            "not a RecBole atomic file of MovieLens 100k"
        )
    return columns


def parse_timestamp(text: str) -> int:
    """Epoch seconds; RecBole types the column float, so ``881250949.0`` is accepted."""
    try:
        value = float(text.strip())
    except ValueError:
        raise RowError(f"bad timestamp: {text.strip()!r}") from None
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise RowError(f"bad timestamp: {text.strip()!r}")
    return int(value)


def movielens_title(title: str, year: str) -> tuple[str, str | None]:
    """MovieLens' ``Title (Year)``, and a remark when no year could be given."""
    if year_from_title(title) is not None:
        return title, None
    if _YEAR.fullmatch(year):
        return f"{title} ({year})", None
    return title, f"no release year: {year!r}"


def parse_atomic(
    data: bytes,
    source: str,
    needed: tuple[str, ...],
    row: Callable[[dict[str, str], int], tuple[object, str | None]],
    out: Conversion,
) -> list:
    """Records of one atomic file; each bad line goes to ``out.rejects``, remarks to
    ``out.notes``. ``row(fields, line_no)`` returns (record, remark) or raises RowError."""
    lines = split_lines(data)
    if not lines:
        raise ConversionError(f"{source} is empty")
    header, _ = decode(lines[0])
    columns = header_columns(header, source, needed)
    width = len(header.split("\t"))
    records = []
    for line_no, raw in enumerate(lines[1:], start=2):
        text, latin1 = decode(raw)
        if not text.strip():
            out.rejects.append(Reject(source, line_no, text, "empty line"))
            continue
        parts = text.split("\t")
        try:
            if len(parts) != width:
                raise RowError(f"wrong field count: expected {width}, got {len(parts)}")
            record, remark = row({name: parts[i] for name, i in columns.items()}, line_no)
        except RowError as exc:
            out.rejects.append(Reject(source, line_no, text, str(exc)))
            continue
        remarks = (["not UTF-8, read as Latin-1"] if latin1 else []) + ([remark] if remark else [])
        if remarks:
            out.notes.append(Reject(source, line_no, text, "; ".join(remarks)))
        records.append(record)
    return records


def convert_atomic(ratings_data: bytes, movies_data: bytes) -> Conversion:
    """The ratings and movies of the two atomic files, with the lines that were skipped."""
    out = Conversion()
    ratings_source = os.path.basename(RATINGS_MEMBER)
    movies_source = os.path.basename(MOVIES_MEMBER)

    def rating(fields: dict[str, str], _line_no: int) -> tuple[Rating, None]:
        return (
            Rating(
                parse_id(fields["user_id"], "user_id"),
                parse_id(fields["item_id"], "item_id"),
                parse_rating_value(fields["rating"]),
                parse_timestamp(fields["timestamp"]),
            ),
            None,
        )

    first_seen: dict[int, int] = {}

    def movie(fields: dict[str, str], line_no: int) -> tuple[Movie, str | None]:
        movie_id = parse_id(fields["item_id"], "item_id")
        if movie_id in first_seen:
            raise RowError(f"duplicate item_id {movie_id} (first on line {first_seen[movie_id]})")
        title = fields["movie_title"].strip()
        if not title:
            raise RowError("empty title")
        title, remark = movielens_title(title, fields["release_year"].strip())
        first_seen[movie_id] = line_no
        genres = normalise_genres(fields["class"].split())
        return Movie(movie_id, title, genres, year_from_title(title)), remark

    out.ratings = parse_atomic(ratings_data, ratings_source, RATINGS_COLUMNS, rating, out)
    out.movies = parse_atomic(movies_data, movies_source, MOVIES_COLUMNS, movie, out)
    if not out.ratings:
        raise ConversionError(f"{ratings_source}: no line could be converted to a rating")
    if not out.movies:
        raise ConversionError(f"{movies_source}: no line could be converted to a movie")
    return out


# --------------------------------------------------------------------------- MovieLens CSV


def ratings_csv(ratings: Iterable[Rating]) -> str:
    buffer = io.StringIO()
    buffer.write(_LATEST.ratings_header + "\n")
    for r in ratings:
        buffer.write(f"{r.user_id},{r.movie_id},{r.rating:.1f},{r.ts}\n")
    return buffer.getvalue()


def movies_csv(movies: Iterable[Movie]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    buffer.write(_LATEST.movies_header + "\n")
    for m in movies:
        writer.writerow([m.movie_id, m.title, m.genres_text or NO_GENRES])
    return buffer.getvalue()


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_movielens(conversion: Conversion, out_dir: str, report: dict) -> None:
    """movies.csv, conversion.json, then ratings.csv (last: it marks a whole conversion)."""
    os.makedirs(out_dir, exist_ok=True)
    _write(os.path.join(out_dir, _LATEST.movies_file), movies_csv(conversion.movies))
    _write(os.path.join(out_dir, REPORT), json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    _write(os.path.join(out_dir, _LATEST.ratings_file), ratings_csv(conversion.ratings))


def line_text(item: Reject) -> str:
    return f"{item.source} line {item.line_no}: {item.reason}: {item.raw!r}"


def convert(wheel: str, out_dir: str, sha256: str | None = None) -> dict:
    """Convert the wheel's MovieLens 100k into ``out_dir``; returns the report."""
    started = time.monotonic()
    digest = check_sha256(wheel, sha256) if sha256 else sha256_of(wheel)
    conversion = convert_atomic(*read_members(wheel))
    report = {
        "wheel": os.path.basename(wheel),
        "sha256": digest,
        "members": [RATINGS_MEMBER, MOVIES_MEMBER],
        "ratings": len(conversion.ratings),
        "movies": len(conversion.movies),
        "users": conversion.users,
        "ratings_of_unknown_movies": conversion.unknown_movies,
        "skipped": len(conversion.rejects),
        "remarks": len(conversion.notes),
        "skipped_lines": [asdict(r) for r in conversion.rejects],
        "remarked_lines": [asdict(n) for n in conversion.notes],
    }
    write_movielens(conversion, out_dir, report)
    report["seconds"] = round(time.monotonic() - started, 2)
    return report


def summary(report: dict, out_dir: str) -> dict:
    """What stdout says: the counts, and the first skipped lines in words."""
    shown = [line_text(Reject(**r)) for r in report["skipped_lines"][:SHOWN]]
    brief = {k: v for k, v in report.items() if not k.endswith("_lines")}
    report_path = os.path.join(out_dir, REPORT)
    return {**brief, "out": out_dir, "report": report_path, "first_skipped": shown}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", required=True, help="recbole-1.2.1-py3-none-any.whl")
    parser.add_argument("--out", required=True, help="directory of ratings.csv and movies.csv")
    parser.add_argument("--sha256", default=None, help="the wheel's expected SHA-256 (checked)")
    args = parser.parse_args(argv)
    try:
        report = convert(args.wheel, args.out, args.sha256)
    except ConversionError as exc:
        print(f"recbole: error: {exc}", file=sys.stderr, flush=True)
        return 1
    for item in report["skipped_lines"]:
        print(f"recbole: skipped {line_text(Reject(**item))}", file=sys.stderr)
    print(json.dumps(summary(report, args.out), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
