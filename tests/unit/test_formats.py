"""Parsing of every MovieLens format into one schema, rejects with reasons, detection."""

from __future__ import annotations

import pytest

from jobs.movielens import formats
from jobs.movielens.formats import FormatError, Movie, Rating, Reject, RowError


def write(path, name, text, encoding="utf-8"):
    (path / name).write_bytes(text.encode(encoding))


LATEST_MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '11,"American President, The (1995)",Comedy|Drama|Romance\n'
    '25,"Bob ""The Hammer"" Jones, A (2001)",Comedy\n'
    "182727,A Christmas Story Live! (2017),(no genres listed)\n"
    "40697,Babylon 5,Sci-Fi\n"
    "4,Amélie (2001),Comedy|Romance\n"
    "5,Mini-series (2006-2007),Drama\n"
)


def test_latest_csv(tmp_path):
    write(
        tmp_path,
        "ratings.csv",
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,0.5,964981247\r\n",
    )
    write(tmp_path, "movies.csv", LATEST_MOVIES)
    ratings, bad = formats.read_ratings(tmp_path)
    assert bad == []
    assert ratings == [Rating(1, 1, 4.0, 964982703), Rating(1, 11, 0.5, 964981247)]
    movies, bad = formats.read_movies(tmp_path)
    assert bad == []
    by_id = {m.movie_id: m for m in movies}
    assert by_id[1] == Movie(
        1, "Toy Story (1995)", ("Adventure", "Animation", "Children", "Comedy", "Fantasy"), 1995
    )
    assert by_id[11].title == "American President, The (1995)"
    assert by_id[11].genres == ("Comedy", "Drama", "Romance")
    assert by_id[25].title == 'Bob "The Hammer" Jones, A (2001)'
    assert by_id[182727].genres == ()
    assert by_id[182727].genres_text == ""
    assert by_id[40697].year is None
    assert by_id[4].title == "Amélie (2001)"
    assert by_id[5].year == 2006


def test_kaggle_datetime_timestamps(tmp_path):
    write(
        tmp_path,
        "rating.csv",
        "userId,movieId,rating,timestamp\n"
        "1,2,3.5,2005-04-02 23:53:47\n1,29,3.5,2005-04-02 23:31:16\n1,32,3.5,2005-13-02 23:31:16\n",
    )
    write(tmp_path, "movie.csv", LATEST_MOVIES)
    fmt = formats.detect_format_in_dir(tmp_path)
    assert fmt.name == "kaggle"
    ratings, bad = formats.read_ratings(tmp_path)
    assert ratings[0] == Rating(1, 2, 3.5, 1112486027)  # calendar.timegm of that UTC time
    assert formats.format_datetime(1112486027) == "2005-04-02 23:53:47"
    assert [(b.line_no, b.reason) for b in bad] == [(4, "bad timestamp: '2005-13-02 23:31:16'")]


def test_ml1m_double_colon_latin1(tmp_path):
    write(tmp_path, "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n", "latin-1")
    write(
        tmp_path,
        "movies.dat",
        "1::Toy Story (1995)::Animation|Children's|Comedy\n"
        "3::Grumpier Old Men (1995)::Comedy|Romance\n"
        "2::Café au Lait (Métisse) (1993)::Comedy\n"
        "4::Some Title: With Colon (1990)::Drama\n",
        "latin-1",
    )
    fmt = formats.detect_format_in_dir(tmp_path)
    assert fmt.name == "ml-1m"
    ratings, bad = formats.read_ratings(tmp_path)
    assert bad == [] and ratings[0] == Rating(1, 1193, 5.0, 978300760)
    movies, bad = formats.read_movies(tmp_path)
    assert bad == []
    assert movies[0].genres == ("Animation", "Children", "Comedy")
    assert movies[2].title == "Café au Lait (Métisse) (1993)" and movies[2].year == 1993
    assert movies[3].title == "Some Title: With Colon (1990)"


def test_ml100k_tab_and_pipe_with_genre_flags(tmp_path):
    write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    flags_toy = ["0", "0", "0", "1", "1", "1"] + ["0"] * 13
    flags_unknown = ["1"] + ["0"] * 18
    write(
        tmp_path,
        "u.item",
        "|".join(["1", "Toy Story (1995)", "01-Jan-1995", "", "http://x", *flags_toy])
        + "\n"
        + "|".join(["267", "unknown", "", "", "", *flags_unknown])
        + "\n"
        + "|".join(["1300", "Þrándur", "01-Jan-1996", "", "", *flags_toy])
        + "\n",
        "latin-1",
    )
    assert formats.detect_format_in_dir(tmp_path).name == "ml-100k"
    ratings, bad = formats.read_ratings(tmp_path)
    assert bad == [] and ratings[1] == Rating(186, 302, 3.0, 891717742)
    movies, bad = formats.read_movies(tmp_path)
    assert bad == []
    assert movies[0] == Movie(1, "Toy Story (1995)", ("Animation", "Children", "Comedy"), 1995)
    assert movies[1].genres == () and movies[1].year is None
    assert movies[2].title == "Þrándur" and movies[2].year == 1996  # year from release date


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1,2,3.5", "wrong field count: expected 4, got 3"),
        ("1,2,3.5,100,7", "wrong field count: expected 4, got 5"),
        ("x1,2,3.5,100", "non-numeric userId: 'x1'"),
        ("1,2.5,3.5,100", "non-numeric movieId: '2.5'"),
        ("1,-2,3.5,100", "non-numeric movieId: '-2'"),
        ("0,2,3.5,100", "userId out of range: 0"),
        ("1,2,5.5,100", "rating out of range 0.5..5.0: 5.5"),
        ("1,2,0,100", "rating out of range 0.5..5.0: 0.0"),
        ("1,2,nan,100", "rating out of range 0.5..5.0: nan"),
        ("1,2,3.3,100", "rating not a multiple of 0.5: 3.3"),
        ("1,2,good,100", "non-numeric rating: 'good'"),
        ("1,2,3.5,soon", "bad timestamp: 'soon'"),
        ('1,"2,3.5,100', "bad CSV quoting: unexpected end of data"),
    ],
)
def test_rating_rejects_have_reasons(line, reason):
    with pytest.raises(RowError) as exc:
        formats.rating_from_csv(line)
    assert str(exc.value) == reason


@pytest.mark.parametrize(
    "line",
    [
        "1,2,3.5,100",
        " 1 , 2 ,, ",
        ",",
        "a;b",
        'a,"b,c",d',
        'a,b"c,d',
        '"',
        "1,2\r,3",
        "1,2\n3",
        "x\x00y,1",
        "",
    ],
)
def test_csv_fields_are_what_the_csv_module_reads(line):
    import csv  # noqa: PLC0415

    try:
        rows = list(csv.reader([line], strict=True))
        expected = rows[0] if len(rows) == 1 else RowError
    except csv.Error:
        expected = RowError
    if expected is RowError:
        with pytest.raises(RowError):
            formats._csv_fields(line)
    else:
        assert formats._csv_fields(line) == expected


def test_bad_rows_are_returned_with_line_numbers():
    lines = [
        "userId,movieId,rating,timestamp",
        "1,2,3.5,100",
        "",
        "1,3,9,100",
        "1,4,4.0,100",
    ]
    good, bad = formats.parse_lines(
        lines, formats.rating_from_csv, "ratings.csv", "userId,movieId,rating,timestamp"
    )
    assert [r.movie_id for r in good] == [2, 4]
    assert bad == [
        Reject("ratings.csv", 3, "", "empty line"),
        Reject("ratings.csv", 4, "1,3,9,100", "rating out of range 0.5..5.0: 9.0"),
    ]


def test_wrong_header_is_rejected_not_parsed():
    good, bad = formats.parse_lines(
        ["1,2,3.5,100", "1,3,4.0,100"],
        formats.rating_from_csv,
        "ratings.csv",
        "userId,movieId,rating,timestamp",
    )
    assert [r.movie_id for r in good] == [3]
    assert bad[0].line_no == 1 and bad[0].reason.startswith("bad header")


def test_movie_rejects():
    with pytest.raises(RowError, match="wrong field count"):
        formats.movie_from_dat("1::Title (1995)")
    with pytest.raises(RowError, match="empty title"):
        formats.movie_from_csv("1,,Drama")
    with pytest.raises(RowError, match="genre flags"):
        formats.movie_from_uitem("|".join(["1", "T", "", "", "", *(["2"] * 19)]))


def test_detect_format_by_file_names():
    assert (
        formats.detect_format(["README.txt", "ratings.csv", "movies.csv", "tags.csv"]).name
        == "latest"
    )
    assert formats.detect_format(["hdfs:///input/rating.csv", "movie.csv"]).name == "kaggle"
    assert formats.detect_format(["users.dat", "ratings.dat", "movies.dat"]).name == "ml-1m"
    assert formats.detect_format(["u.data", "u.item", "u.user"]).name == "ml-100k"
    with pytest.raises(FormatError, match="no MovieLens"):
        formats.detect_format(["ratings.csv"])
    with pytest.raises(FormatError, match="unknown format"):
        formats.get_format("ml-2m")


def test_iter_ratings_streams_records_and_rejects(tmp_path):
    write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5,100\nbad\n")
    items = list(formats.iter_ratings(tmp_path / "ratings.csv", formats.FORMATS["latest"]))
    assert items[0] == Rating(1, 2, 3.5, 100)
    assert isinstance(items[1], Reject) and items[1].line_no == 3
