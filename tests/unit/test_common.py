"""What the jobs share: ALS's block count and running two trainings side by side."""

from __future__ import annotations

import threading

import pytest

from jobs import common


def test_blocks_given_are_kept(spark):
    assert common.als_blocks(spark, 7) == 7


def test_blocks_default_to_the_cores_spark_has(spark):
    assert common.als_blocks(spark, 0) == spark.sparkContext.defaultParallelism


def test_in_parallel_returns_results_in_order_and_overlaps():
    barrier = threading.Barrier(2, timeout=10)  # each step waits for the other: side by side

    def step(value):
        def run():
            barrier.wait()
            return value

        return run

    assert common.in_parallel(step("ranking"), step("stars")) == ["ranking", "stars"]


def test_in_parallel_raises_the_error_after_every_step_has_stopped():
    finished = []

    def fails():
        raise ValueError("no ratings")

    def slow():
        threading.Event().wait(0.2)
        finished.append("slow")

    with pytest.raises(ValueError, match="no ratings"):
        common.in_parallel(fails, slow)
    assert finished == ["slow"]


def test_in_parallel_runs_spark_jobs_from_both_threads(spark):
    counts = common.in_parallel(
        lambda: spark.range(1000).count(), lambda: spark.range(500).filter("id % 2 = 0").count()
    )
    assert counts == [1000, 250]
