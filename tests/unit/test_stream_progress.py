"""The streaming job's progress line, from query progress as PySpark returns it."""

from jobs.stream import progress_summary, watch


def test_progress_summary_averages_busy_batches_only():
    progress = [
        {"numInputRows": 0, "durationMs": {"triggerExecution": 5}},
        {"numInputRows": 10, "durationMs": {"addBatch": 300, "walCommit": 40}},
        {"numInputRows": 30, "durationMs": {"addBatch": 100, "walCommit": 60}},
    ]
    assert progress_summary(progress) == (
        "2 batches, 40 messages; mean ms per batch: addBatch 200, walCommit 50"
    )
    assert progress_summary(progress[:1]) == "no new ratings"


class FakeContext:
    """spark.sparkContext._jsc.sc(): a JVM SparkContext stopped after `stop_after` checks."""

    def __init__(self, stop_after: int | None):
        self.checks, self.stop_after = 0, stop_after
        self.sparkContext = self
        self._jsc = self

    def sc(self):
        return self

    def isStopped(self) -> bool:  # noqa: N802 - the JVM's name
        self.checks += 1
        return self.stop_after is not None and self.checks > self.stop_after


class FakeQuery:
    """A query that ends by itself after `polls` waits (never with None)."""

    def __init__(self, polls: int | None):
        self.polls, self.waits = polls, 0
        self.recentProgress = []

    def awaitTermination(self, timeout: float) -> bool:  # noqa: N802 - PySpark's name
        self.waits += 1
        return self.polls is not None and self.waits > self.polls


def test_watch_returns_0_when_the_query_ends_by_itself():
    assert watch(FakeContext(None), FakeQuery(3), 0.0, 3600.0) == 0


def test_watch_exits_1_when_spark_stops_under_a_query_that_never_ends():
    spark, query = FakeContext(2), FakeQuery(None)
    assert watch(spark, query, 0.0, 3600.0) == 1
    assert (spark.checks, query.waits) == (3, 3)
