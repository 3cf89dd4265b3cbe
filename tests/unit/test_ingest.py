"""Ingestion on local Spark: good rows to Parquet, every bad line reported, raw files moved."""

from __future__ import annotations

import json

import pytest

from jobs import ingest
from jobs.movielens import formats, spark_io, synthetic


def test_reason_kind_drops_the_offending_value():
    assert ingest.reason_kind("non-numeric user id: 'x1'") == "non-numeric user id"
    assert ingest.reason_kind("empty line") == "empty line"


def test_report_counts_per_source_and_kind_most_frequent_first():
    first = [
        {"source": "ratings.csv", "line_no": 9, "raw": "a", "reason": "empty line"},
        {"source": "ratings.csv", "line_no": 3, "raw": "b", "reason": "bad: 1"},
    ]
    by_kind = {("ratings.csv", "bad"): 1, ("ratings.csv", "empty line"): 4}
    report = ingest.rejects_report("ml", {"ratings": 10, "movies": 2}, by_kind, first)
    assert report["rejects"] == 5
    assert report["by_reason"] == [
        {"source": "ratings.csv", "reason": "empty line", "lines": 4},
        {"source": "ratings.csv", "reason": "bad", "lines": 1},
    ]
    assert [r["line_no"] for r in report["first"]] == [3, 9]


@pytest.mark.parametrize("fmt_name", ["latest", "ml-1m"])
def test_ingest_keeps_good_rows_reports_bad_ones_and_moves_the_input(spark, tmp_path, fmt_name):
    raw = tmp_path / "input" / "lab"
    data = synthetic.generate(users=30, movies=80, ratings=900, seed=5)
    manifest = synthetic.write(data, str(raw), fmt_name, malformed=3, seed=5)
    good, bad = formats.read_ratings(raw)
    args = ingest.parser().parse_args(
        [
            "--input",
            str(raw),
            "--processed",
            str(tmp_path / "processed"),
            "--errors",
            str(tmp_path / "errors"),
        ]
    )

    summary = ingest.run(spark, args)

    assert summary["counts"]["ratings"] == len(good)
    assert summary["rejects"] == len(bad) == len(manifest["malformed_lines"])
    out = tmp_path / "processed" / "lab"
    fmt, ratings, movies, rejects = spark_io.load(spark, str(out))
    assert fmt is spark_io.NORMALISED and rejects.count() == 0
    assert sorted(tuple(r) for r in ratings.collect()) == sorted(
        (r.user_id, r.movie_id, r.rating, r.ts) for r in good
    )
    assert movies.count() == summary["counts"]["movies"]
    report = json.loads((tmp_path / "errors" / "lab" / "report.json").read_text())
    assert report["rejects"] == len(bad)
    assert [r["line_no"] for r in report["first"]] == manifest["malformed_lines"]
    assert sum(r["lines"] for r in report["by_reason"]) == len(bad)
    # The raw files moved next to what was made of them; a second run has nothing to do.
    assert not raw.exists()
    fmt_files = formats.get_format(fmt_name)
    moved = {p.name for p in (out / "source").iterdir()}
    assert {fmt_files.ratings_file, fmt_files.movies_file} <= moved
    assert ingest.run(spark, args) == {"dataset": "lab", "skipped": True}


def test_missing_input_without_an_earlier_ingestion_is_an_error(spark, tmp_path):
    args = ingest.parser().parse_args(
        [
            "--input",
            str(tmp_path / "nope"),
            "--processed",
            str(tmp_path / "p"),
            "--errors",
            str(tmp_path / "e"),
        ]
    )
    with pytest.raises(FileNotFoundError, match="no such input"):
        ingest.run(spark, args)
