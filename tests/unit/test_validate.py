"""Validation of Kafka rating messages."""

from __future__ import annotations

import json

import pytest

from jobs.movielens.formats import Rating
from jobs.reco.validate import OK, to_message, validate

KNOWN = {1, 296}


def msg(**fields) -> bytes:
    base = {"userId": 7, "movieId": 296, "rating": 4.5, "timestamp": 964982703}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


def test_valid_message_round_trip():
    rating = Rating(7, 296, 4.5, 964982703)
    assert validate(to_message(rating), KNOWN) == (rating, OK)
    assert validate(msg(rating=5), KNOWN) == (Rating(7, 296, 5.0, 964982703), OK)
    assert validate(msg(timestamp="2005-04-02 23:53:47"))[0].ts == 1112486027
    assert validate(msg(userId=7.0))[0].user_id == 7  # integral JSON number


@pytest.mark.parametrize(
    "rating",
    [
        Rating(7, 296, 4.5, 964982703),
        Rating(1, 1, 0.5, 0),
        Rating(2**31 - 1, 2**31 - 1, 5.0, 2**40),
        Rating(3, 4, 1.0000000000000002, 1),
        Rating(3, 4, 4, 1),  # an int rating: the json module's way
        Rating(True, 4, 4.0, 1),
    ],
)
def test_the_message_is_what_json_dumps_writes(rating):
    fields = {
        "userId": rating.user_id,
        "movieId": rating.movie_id,
        "rating": rating.rating,
        "timestamp": rating.ts,
    }
    assert to_message(rating) == json.dumps(fields, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, "empty message"),
        (b"\xff\xfe", "not UTF-8"),
        (b"7,296,4.5,964982703", "not JSON: Extra data"),
        (b"[1, 2]", "not a JSON object: list"),
        (msg(rating=...), "missing field(s): rating"),
        (msg(userId=..., timestamp=...), "missing field(s): userId, timestamp"),
        (msg(userId="7"), "userId must be an integer, got str"),
        (msg(movieId=True), "movieId must be an integer, got bool"),
        (msg(movieId=2.5), "movieId must be an integer, got 2.5"),
        (msg(userId=-3), "userId out of range: -3"),
        (msg(rating=5.5), "rating out of range 0.5..5.0: 5.5"),
        (msg(rating=0), "rating out of range 0.5..5.0: 0"),
        (msg(rating=3.7), "rating not a multiple of 0.5: 3.7"),
        (msg(rating="4"), "rating must be a number, got str"),
        (msg(timestamp="yesterday"), "bad timestamp: 'yesterday'"),
        (msg(timestamp=-1), "bad timestamp: -1"),
        (msg(movieId=5), "unknown movieId: 5"),
    ],
)
def test_invalid_messages_have_reasons(payload, reason):
    assert validate(payload, KNOWN) == (None, reason)


def test_unknown_movies_pass_without_a_catalogue():
    assert validate(msg(movieId=5))[1] == OK
