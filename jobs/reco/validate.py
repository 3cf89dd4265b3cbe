"""Validation of rating messages from Kafka (pure: bytes in, a rating or a reason out).

A message is one JSON object::

    {"userId": 1, "movieId": 296, "rating": 4.5, "timestamp": 964982703}

``timestamp`` is epoch seconds; the Kaggle form ``"YYYY-MM-DD HH:MM:SS"`` (UTC) is accepted
too, since that is what the original producer sent. Ids are positive integers (JSON numbers
without a fraction; strings and booleans are refused), the rating a number on the half-star
scale 0.5..5.0, and the movie must be known to the model's catalogue when one is given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Container

from jobs.movielens.formats import (
    RATING_MAX,
    RATING_MIN,
    Rating,
    RowError,
    parse_datetime,
)

REQUIRED = ("userId", "movieId", "rating", "timestamp")
OK = "ok"


def _int_field(obj: dict, name: str) -> int:
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"{name} must be an integer, got {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise RowError(f"{name} must be an integer, got {value}")
        value = int(value)
    if value <= 0 or value > 2**31 - 1:
        raise RowError(f"{name} out of range: {value}")
    return value


def _rating(obj: dict) -> float:
    value = obj["rating"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"rating must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not RATING_MIN <= value <= RATING_MAX:
        raise RowError(f"rating out of range {RATING_MIN}..{RATING_MAX}: {value}")
    if value * 2 != round(value * 2):
        raise RowError(f"rating not a multiple of 0.5: {value}")
    return float(value)


def _timestamp(obj: dict) -> int:
    value = obj["timestamp"]
    if isinstance(value, str):
        return parse_datetime(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RowError(f"bad timestamp: {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise RowError(f"bad timestamp: {value!r}")
    return int(value)


def validate(  # noqa: PLR0911 (one return per reason reads best)
    message: bytes | None, known_movies: Container[int] | None = None
) -> tuple[Rating | None, str]:
    """``(rating, "ok")`` for a good message, ``(None, reason)`` for a bad one."""
    if message is None:
        return None, "empty message"
    try:
        obj = json.loads(message.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg}"
    if not isinstance(obj, dict):
        return None, f"not a JSON object: {type(obj).__name__}"
    missing = [name for name in REQUIRED if name not in obj]
    if missing:
        return None, "missing field(s): " + ", ".join(missing)
    try:
        rating = Rating(
            _int_field(obj, "userId"), _int_field(obj, "movieId"), _rating(obj), _timestamp(obj)
        )
    except RowError as exc:
        return None, str(exc)
    if known_movies is not None and rating.movie_id not in known_movies:
        return None, f"unknown movieId: {rating.movie_id}"
    return rating, OK


def to_message(rating: Rating) -> bytes:
    """The JSON message the producer sends for ``rating``: what ``json.dumps`` of the four
    fields with compact separators gives, written directly for the usual types (int ids and
    time stamp, a finite float rating): the replay sends tens of thousands a second, and
    ``json.dumps`` was the largest part of its time per message."""
    user, movie, value, ts = rating.user_id, rating.movie_id, rating.rating, rating.ts
    if (
        type(user) is int
        and type(movie) is int
        and type(ts) is int
        and type(value) is float
        and math.isfinite(value)
    ):
        # repr() of an int or a finite float is what the json module writes for it.
        return (
            f'{{"userId":{user!r},"movieId":{movie!r},"rating":{value!r},"timestamp":{ts!r}}}'
        ).encode()
    return json.dumps(
        {"userId": user, "movieId": movie, "rating": value, "timestamp": ts},
        separators=(",", ":"),
    ).encode("utf-8")
