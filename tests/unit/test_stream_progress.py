"""The streaming job's progress line, from query progress as PySpark returns it."""

from jobs.stream import progress_summary


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
