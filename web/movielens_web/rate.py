"""A rating made on the page: checked like the stream checks it, then sent through Kafka.

The message is the one the replay sends (``jobs.reco.validate.to_message``), keyed by the user
id, so the streaming job handles it like any other rating. The page waits for the broker's
acknowledgement, so "sent" on the page means the rating is in the topic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Container

from jobs.movielens.formats import Rating
from jobs.reco.validate import OK, to_message, validate
from movielens_web.data import Catalogue, Unavailable

MAX_ID = 2**31 - 1


class BadInput(ValueError):
    """Input a person typed that cannot be used; the message says why, in their terms."""


def parse_user_id(text: str | None) -> int:
    text = (text or "").strip()
    if not text:
        raise BadInput("Type a user id: a whole number such as 7.")
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise BadInput(f"'{text[:40]}' is not a user id: user ids are whole numbers from 1.")
    return int(text)


def chosen_movie(text: str | None, catalogue: Catalogue) -> int:
    """The movie id of the form's field: a choice of the suggestions ("Title (1999) #42"), an
    id, or a title typed in full (with or without its year) that names one movie."""
    text = (text or "").strip()
    if not text:
        raise BadInput("Choose a movie to rate.")
    if "#" in text:
        tail = text.rsplit("#", 1)[-1].strip()
        if tail.isdigit() and 0 < int(tail) <= MAX_ID:
            return int(tail)
        raise BadInput(f"'{text[:60]}' is not a movie of the list: pick one from the suggestions.")
    named = catalogue.named(text)
    if text.isdigit() and 0 < int(text) <= MAX_ID and (int(text) in catalogue or not named):
        return int(text)
    if len(named) == 1:
        return named[0].movie_id
    candidates = named or catalogue.search(text, limit=4)
    if not candidates:
        raise BadInput(
            f"No movie of the catalogue has '{text[:60]}' in its title: type a part of a title "
            "and pick one from the suggestions."
        )
    if len(candidates) == 1:
        (movie,) = candidates
        raise BadInput(
            f"'{text[:60]}' is not a whole title: pick {movie.title} #{movie.movie_id} from the "
            "suggestions."
        )
    shown = "; ".join(f"{m.title} #{m.movie_id}" for m in candidates[:3])
    raise BadInput(
        f"'{text[:60]}' could be several movies ({shown}{'; ...' if len(candidates) > 3 else ''}):"
        " pick one from the suggestions."
    )


def parse_rating(text: str | None) -> float:
    text = (text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"'{text[:20]}' is not a rating: choose 0.5 to 5 stars.") from None
    if not 0.5 <= value <= 5.0 or value * 2 != int(value * 2):
        raise BadInput(f"{text} is not a rating: ratings go from 0.5 to 5 in half stars.")
    return value


def checked_rating(user_id: int, movie_id: int, value: float, known: Container[int]) -> Rating:
    """The rating, if the streaming job will accept it; ``BadInput`` with its reason if not."""
    rating = Rating(user_id, movie_id, value, int(time.time()))
    if movie_id not in known:
        raise BadInput(f"Movie {movie_id} is not in the catalogue of the served model.")
    accepted, reason = validate(to_message(rating), known)
    if accepted is None or reason != OK:
        raise BadInput(f"The stream would refuse this rating: {reason}.")
    return rating


class Sender:
    """Sends ratings to the ratings topic (kafka-python; the producer is made on first use),
    logged in with ``client_options`` (``Settings.kafka_client_options()``)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        timeout: float = 10.0,
        client_options: dict | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout = timeout
        self.client_options = dict(client_options or {})
        self._lock = threading.Lock()
        self._producer = None

    def _get(self):
        from kafka import KafkaProducer  # noqa: PLC0415
        from kafka.errors import KafkaError  # noqa: PLC0415

        with self._lock:
            if self._producer is None:
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.bootstrap.split(","),
                        **self.client_options,
                        acks="all",
                        request_timeout_ms=int(self.timeout * 1000),
                        max_block_ms=int(self.timeout * 1000),
                    )
                except (KafkaError, OSError) as exc:
                    raise Unavailable(f"Kafka does not answer at {self.bootstrap}: {exc}") from exc
            return self._producer

    def send(self, rating: Rating) -> tuple[int, int]:
        """Send and wait for the acknowledgement; the (partition, offset) it got."""
        from kafka.errors import KafkaError  # noqa: PLC0415

        producer = self._get()
        try:
            meta = producer.send(
                self.topic, key=str(rating.user_id).encode(), value=to_message(rating)
            ).get(timeout=self.timeout)
        except KafkaError as exc:
            raise Unavailable(f"Kafka did not take the rating: {exc}") from exc
        return meta.partition, meta.offset

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)
