"""MovieLens 100k from the recbole wheel: RecBole's atomic files to ratings.csv and movies.csv."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
import yaml

from jobs.movielens import formats, recbole
from jobs.movielens.formats import Movie, Rating

CATALOG = Path(__file__).parents[2] / "files/artifacts.yml"

INTER = (
    b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    b"196\t242\t3\t881250949\n"
    b"186\t302\t3.0\t891717742.0\r\n"
    b"22\tthree-seventy-seven\t1\t878887116\n"  # line 4: not an id
    b"244\t51\t2\n"  # line 5: a field missing
    b"\n"  # line 6: empty
    b"166\t346\t7\t886397596\n"  # line 7: rating out of range
    b"298\t474\t4\tyesterday\n"  # line 8: not a timestamp
    b"253\t465\t5\t891628467\n"
)

ITEM = (
    # The columns in another order than the wheel's: they are found by name.
    b"movie_title:token_seq\titem_id:token\trelease_year:token\tclass:token_seq\n"
    b"Toy Story\t1\t1995\tAnimation Children's Comedy\n"
    b"American President, The\t11\t1995\tComedy Drama Romance\n"
    b'Bob "The Hammer" Jones, A\t25\t2001\tComedy\n'
    # line 5 in Latin-1, as GroupLens' own files are; line 6 in UTF-8, as the wheel's are
    + "Misérables, Les\t543\t1995\tDrama Musical\n".encode("latin-1")
    + "Double vie de Véronique, La\t1005\t1991\tDrama\n".encode()
    + b"Land Before Time III (1995)\t1412\tV\tAnimation Children's\n"
    + b"unknown\t267\tunknown\tunknown\n"
    + b"Jurassic Park\t82\t1993\n"  # line 9: a field missing
    + b"Toy Story again\t1\t1995\tComedy\n"  # line 10: id seen on line 2
    + b"\t999\t1995\tDrama\n"  # line 11: no title
)


def make_wheel(path: Path, inter: bytes = INTER, item: bytes = ITEM) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("recbole/__init__.py", "")
        archive.writestr(recbole.RATINGS_MEMBER, inter)
        archive.writestr(recbole.MOVIES_MEMBER, item)
        archive.writestr(f"{recbole.MEMBER_DIR}/ml-100k.user", "user_id:token\tage:token\n1\t24\n")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ratings_keep_the_good_lines_and_report_each_bad_one():
    conversion = recbole.convert_atomic(INTER, ITEM)
    assert conversion.ratings == [
        Rating(196, 242, 3.0, 881250949),
        Rating(186, 302, 3.0, 891717742),
        Rating(253, 465, 5.0, 891628467),
    ]
    bad = [(r.line_no, r.reason) for r in conversion.rejects if r.source == "ml-100k.inter"]
    assert bad == [
        (4, "non-numeric item_id: 'three-seventy-seven'"),
        (5, "wrong field count: expected 4, got 3"),
        (6, "empty line"),
        (7, "rating out of range 0.5..5.0: 7.0"),
        (8, "bad timestamp: 'yesterday'"),
    ]
    assert conversion.rejects[0].raw == "22\tthree-seventy-seven\t1\t878887116"


def test_movies_get_movielens_titles_and_genres():
    conversion = recbole.convert_atomic(INTER, ITEM)
    assert conversion.movies == [
        Movie(1, "Toy Story (1995)", ("Animation", "Children", "Comedy"), 1995),
        Movie(11, "American President, The (1995)", ("Comedy", "Drama", "Romance"), 1995),
        Movie(25, 'Bob "The Hammer" Jones, A (2001)', ("Comedy",), 2001),
        Movie(543, "Misérables, Les (1995)", ("Drama", "Musical"), 1995),
        Movie(1005, "Double vie de Véronique, La (1991)", ("Drama",), 1991),
        # The year is in the title already (RecBole split "(1995) (V)" at the last bracket).
        Movie(1412, "Land Before Time III (1995)", ("Animation", "Children"), 1995),
        Movie(267, "unknown", (), None),
    ]
    bad = [(r.line_no, r.reason) for r in conversion.rejects if r.source == "ml-100k.item"]
    assert bad == [
        (9, "wrong field count: expected 4, got 3"),
        (10, "duplicate item_id 1 (first on line 2)"),
        (11, "empty title"),
    ]
    notes = [(n.line_no, n.reason) for n in conversion.notes]
    assert notes == [(5, "not UTF-8, read as Latin-1"), (8, "no release year: 'unknown'")]
    assert conversion.users == 3
    assert conversion.unknown_movies == 3  # the fixture's ratings are of other movies


def test_the_csv_files_are_what_the_ingestion_reads(tmp_path):
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    out = tmp_path / "ml-100k"
    report = recbole.convert(str(wheel), str(out), sha256(wheel))

    assert (out / "movies.csv").read_bytes().decode("utf-8") == (
        "movieId,title,genres\n"
        "1,Toy Story (1995),Animation|Children|Comedy\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n'
        '25,"Bob ""The Hammer"" Jones, A (2001)",Comedy\n'
        '543,"Misérables, Les (1995)",Drama|Musical\n'
        '1005,"Double vie de Véronique, La (1991)",Drama\n'
        "1412,Land Before Time III (1995),Animation|Children\n"
        "267,unknown,(no genres listed)\n"
    )
    assert (out / "ratings.csv").read_text() == (
        "userId,movieId,rating,timestamp\n"
        "196,242,3.0,881250949\n186,302,3.0,891717742\n253,465,5.0,891628467\n"
    )
    # The project's own parsers accept every line, and find the same records.
    assert formats.detect_format_in_dir(out).name == "latest"
    movies, bad_movies = formats.read_movies(out)
    ratings, bad_ratings = formats.read_ratings(out)
    assert bad_movies == [] and bad_ratings == []
    conversion = recbole.convert_atomic(INTER, ITEM)
    assert movies == conversion.movies and ratings == conversion.ratings

    saved = json.loads((out / "conversion.json").read_text(encoding="utf-8"))
    assert saved["sha256"] == sha256(wheel) and saved["wheel"] == wheel.name
    assert (saved["ratings"], saved["movies"], saved["users"]) == (3, 7, 3)
    assert saved["skipped"] == 8 and len(saved["skipped_lines"]) == 8
    assert saved["skipped_lines"][0] == {
        "source": "ml-100k.inter",
        "line_no": 4,
        "raw": "22\tthree-seventy-seven\t1\t878887116",
        "reason": "non-numeric item_id: 'three-seventy-seven'",
    }
    assert report["ratings"] == 3 and report["seconds"] >= 0
    assert sorted(p.name for p in out.iterdir()) == ["conversion.json", "movies.csv", "ratings.csv"]


def test_command_line_summary_and_skipped_lines(tmp_path, capsys):
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    out = tmp_path / "data" / "ml-100k"
    assert recbole.main(["--wheel", str(wheel), "--out", str(out), "--sha256", sha256(wheel)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert (summary["ratings"], summary["movies"], summary["skipped"]) == (3, 7, 8)
    assert summary["report"] == str(out / "conversion.json")
    assert summary["first_skipped"][0] == (
        "ml-100k.inter line 4: non-numeric item_id: 'three-seventy-seven': "
        "'22\\tthree-seventy-seven\\t1\\t878887116'"
    )
    assert "recbole: skipped ml-100k.item line 10: duplicate item_id 1" in captured.err
    assert captured.err.count("recbole: skipped ") == 8


def test_a_wrong_checksum_converts_nothing(tmp_path, capsys):
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    out = tmp_path / "ml-100k"
    pinned = "0" * 64
    assert recbole.main(["--wheel", str(wheel), "--out", str(out), "--sha256", pinned]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"recbole: error: {wheel}: SHA-256 is {sha256(wheel)}, not the pinned")
    assert pinned in err and "nothing was converted" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not a zip", "cannot read"),
        ("no item file", "has no recbole/dataset_example/ml-100k/ml-100k.item"),
        ("no rating column", "ml-100k.inter: the header 'user_id:token\\titem_id:token' lacks"),
        ("no good rating", "ml-100k.inter: no line could be converted to a rating"),
    ],
)
def test_what_cannot_be_converted_at_all_is_said_in_one_line(tmp_path, capsys, case, message):
    wheel = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    if case == "not a zip":
        wheel.write_bytes(b"<html>proxy error</html>")
    elif case == "no item file":
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(recbole.RATINGS_MEMBER, INTER)
    elif case == "no rating column":
        make_wheel(wheel, inter=b"user_id:token\titem_id:token\n1\t2\n")
    else:
        make_wheel(wheel, inter=INTER.split(b"\n")[0] + b"\n1\t2\tx\t3\n")
    out = tmp_path / "ml-100k"
    assert recbole.main(["--wheel", str(wheel), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("recbole: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (out / "ratings.csv").exists()


def test_ratings_csv_is_written_last(tmp_path, monkeypatch):
    """A conversion that fails half way leaves no ratings.csv (the role's sign of a whole one)."""
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    out = tmp_path / "ml-100k"
    written = []
    real_replace = os.replace

    def replace(src, dst):
        written.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(recbole.os, "replace", replace)
    recbole.convert(str(wheel), str(out))
    assert written[-1] == "ratings.csv"


def real_wheel() -> Path | None:
    """The real wheel, when this machine has it: $LAB_RECBOLE_WHEEL or the mirror's cache."""
    cache = Path(os.environ.get("LAB_CACHE") or Path.home() / ".cache/movielens-lab")
    for candidate in (
        os.environ.get("LAB_RECBOLE_WHEEL", ""),
        cache / "mirror/pypi/recbole-1.2.1-py3-none-any.whl",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.mark.skipif(real_wheel() is None, reason="no recbole-1.2.1 wheel on this machine")
def test_the_real_wheel_has_the_pinned_checksum_and_movielens_100k(tmp_path):
    entry = yaml.safe_load(CATALOG.read_text())["datasets"]["recbole-wheel"]
    wheel = real_wheel()
    assert Path(entry["path"]).name == wheel.name
    report = recbole.convert(str(wheel), str(tmp_path / "ml-100k"), entry["sha256"])
    assert (report["ratings"], report["movies"], report["users"]) == (100_000, 1682, 943)
    assert report["skipped"] == 0 and report["ratings_of_unknown_movies"] == 0
    movies = {m.movie_id: m for m in formats.read_movies(tmp_path / "ml-100k")[0]}
    assert movies[1] == Movie(1, "Toy Story (1995)", ("Animation", "Children", "Comedy"), 1995)
    assert movies[543].title == "Misérables, Les (1995)"
