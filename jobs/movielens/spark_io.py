"""Load MovieLens files with Spark into the common schema, with a DataFrame of rejects.

The Spark side uses the same pure line parsers as everything else (``formats``), so a line
is accepted or rejected for the same reason whether it is read by Spark, by the producer or
by a test. Paths may be local directories, ``file://`` or ``hdfs://`` URIs.

* Ratings files are ASCII in every MovieLens release (digits and separators), so they are
  read with ``textFile`` and numbered with ``zipWithIndex`` (one extra pass over the file,
  which is what it costs to report line numbers).
* Movies files are small but may be Latin-1, so each is read whole with ``binaryFiles`` and
  decoded with the format's encoding on an executor.
* A directory written by ``jobs.ingest`` (``ratings.parquet`` and ``movies.parquet`` in the
  common schema) is read as it is: it was parsed once already, and has no rejects.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from jobs.movielens import formats
from jobs.movielens.formats import Format, Movie, Rating, Reject

RATINGS_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.IntegerType(), False),
        T.StructField("movie_id", T.IntegerType(), False),
        T.StructField("rating", T.FloatType(), False),
        T.StructField("ts", T.LongType(), False),
    ]
)
MOVIES_SCHEMA = T.StructType(
    [
        T.StructField("movie_id", T.IntegerType(), False),
        T.StructField("title", T.StringType(), False),
        T.StructField("genres", T.ArrayType(T.StringType(), False), False),
        T.StructField("year", T.IntegerType(), True),
    ]
)
REJECTS_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("line_no", T.LongType(), False),
        T.StructField("raw", T.StringType(), False),
        T.StructField("reason", T.StringType(), False),
    ]
)


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def list_names(spark: SparkSession, path: str) -> list[str]:
    """File names directly under ``path`` (any Hadoop file system, local included)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(conf)
    return [status.getPath().getName() for status in fs.listStatus(hpath)]


def detect_format(spark: SparkSession, path: str) -> Format:
    return formats.detect_format(list_names(spark, path))


def _tag(item: Rating | Movie | Reject):
    if isinstance(item, Reject):
        return (False, (item.source, item.line_no, item.raw, item.reason))
    if isinstance(item, Movie):
        return (True, (item.movie_id, item.title, list(item.genres), item.year))
    return (True, (item.user_id, item.movie_id, item.rating, item.ts))


def _split(spark: SparkSession, tagged, schema: T.StructType) -> tuple[DataFrame, DataFrame]:
    tagged = tagged.cache()
    good = spark.createDataFrame(tagged.filter(lambda t: t[0]).map(lambda t: t[1]), schema)
    bad = spark.createDataFrame(
        tagged.filter(lambda t: not t[0]).map(lambda t: t[1]), REJECTS_SCHEMA
    )
    return good, bad


def load_ratings(
    spark: SparkSession, path: str, fmt: Format | None = None, min_partitions: int | None = None
) -> tuple[DataFrame, DataFrame]:
    """(ratings, rejects) from the ratings file of the MovieLens directory ``path``."""
    fmt = fmt or detect_format(spark, path)
    source, parser, header = fmt.ratings_file, fmt.parse_rating, fmt.ratings_header
    lines = spark.sparkContext.textFile(_join(path, source), minPartitions=min_partitions)
    numbered = lines.zipWithIndex().map(lambda pair: (pair[1] + 1, pair[0]))

    def parse_partition(rows):
        for item in formats.parse_numbered_lines(rows, parser, source, header):
            yield _tag(item)

    return _split(spark, numbered.mapPartitions(parse_partition), RATINGS_SCHEMA)


def load_movies(
    spark: SparkSession, path: str, fmt: Format | None = None
) -> tuple[DataFrame, DataFrame]:
    """(movies, rejects) from the movies file of the MovieLens directory ``path``."""
    fmt = fmt or detect_format(spark, path)
    source, parser, header, encoding = (
        fmt.movies_file,
        fmt.parse_movie,
        fmt.movies_header,
        fmt.encoding,
    )
    files = spark.sparkContext.binaryFiles(_join(path, source), minPartitions=1)

    def parse_file(pair):
        text = pair[1].decode(encoding, errors="replace")
        lines = text.split("\n")  # not splitlines(): Latin-1 0x85 is not a line break here
        if lines and lines[-1] == "":
            lines.pop()
        numbered = enumerate(lines, start=1)
        for item in formats.parse_numbered_lines(numbered, parser, source, header):
            yield _tag(item)

    return _split(spark, files.flatMap(parse_file), MOVIES_SCHEMA)


@dataclass(frozen=True)
class Normalised:
    """The layout ``jobs.ingest`` writes: the common schema as Parquet."""

    name: str = "normalised"
    ratings_dir: str = "ratings.parquet"
    movies_dir: str = "movies.parquet"


NORMALISED = Normalised()


def is_normalised(spark: SparkSession, path: str) -> bool:
    names = set(list_names(spark, path))
    return {NORMALISED.ratings_dir, NORMALISED.movies_dir} <= names


def load(spark: SparkSession, path: str, fmt_name: str | None = None):
    """(format, ratings, movies, rejects of both files) for a MovieLens directory, or for a
    directory that ``jobs.ingest`` wrote (format ``normalised``)."""
    if fmt_name == NORMALISED.name or (fmt_name is None and is_normalised(spark, path)):
        ratings = spark.read.schema(RATINGS_SCHEMA).parquet(_join(path, NORMALISED.ratings_dir))
        movies = spark.read.schema(MOVIES_SCHEMA).parquet(_join(path, NORMALISED.movies_dir))
        return NORMALISED, ratings, movies, spark.createDataFrame([], REJECTS_SCHEMA)
    fmt = formats.get_format(fmt_name) if fmt_name else detect_format(spark, path)
    ratings, rating_rejects = load_ratings(spark, path, fmt)
    movies, movie_rejects = load_movies(spark, path, fmt)
    return fmt, ratings, movies, rating_rejects.unionByName(movie_rejects)
