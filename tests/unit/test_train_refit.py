"""Where the model to serve is trained: beside the evaluated one on small data, after it on
large data, not at all without --refit (no Spark: the fits are stand-ins)."""

from __future__ import annotations

import argparse
import threading

import pytest

from jobs import train


def fits(log: list):
    def evaluated():
        log.append(("evaluated", threading.current_thread().name))
        return "evaluated model", {"precision@10": 0.4}

    def refitted():
        log.append(("refitted", threading.current_thread().name))
        return "refitted model"

    return evaluated, refitted


@pytest.mark.parametrize(
    ("ratings", "beside"), [(100_000, True), (train.REFIT_BESIDE_MAX_RATINGS + 1, False)]
)
def test_the_served_model_is_the_refitted_one_and_the_report_the_evaluated_ones(ratings, beside):
    log: list = []
    args = argparse.Namespace(refit=True, ratings_count=ratings)
    assert train.beside_refit(args, *fits(log)) == ("refitted model", {"precision@10": 0.4})
    names = dict(log)
    assert sorted(names) == ["evaluated", "refitted"]
    main = threading.current_thread().name
    assert (names["refitted"] != main) is beside
    if not beside:
        assert log[0][0] == "evaluated"


def test_without_refit_the_evaluated_model_is_served():
    log: list = []
    args = argparse.Namespace(refit=False, ratings_count=100)
    assert train.beside_refit(args, *fits(log)) == ("evaluated model", {"precision@10": 0.4})
    assert [step for step, _ in log] == ["evaluated"]
