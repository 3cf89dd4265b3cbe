"""The scale benchmark's own logic: sizes, their shapes, the process tree and its memory,
what a failed step's log says, and the stream's batches at a fixed rate."""

import sys

import numpy as np
import pytest

from tools.bench import proctree, scale, scale_foldin


@pytest.mark.parametrize(
    ("text", "ratings"),
    [("100k", 100_000), ("1m", 1_000_000), ("2.5M", 2_500_000), ("5000", 5_000), (" 25m ", 25e6)],
)
def test_sizes_parse(text, ratings):
    assert scale.parse_size(text) == ratings


@pytest.mark.parametrize("text", ["0", "-1k", "k", "ten"])
def test_a_size_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        scale.parse_size(text)


def test_the_movielens_sizes_have_their_releases_shapes():
    assert scale.shape(100_000) == (943, 1_682)
    assert scale.shape(1_000_000) == (6_040, 3_706)
    assert scale.shape(25_000_000) == (162_541, 62_423)


def test_other_sizes_lie_between_their_neighbours_and_give_each_user_20_ratings():
    sizes = [20_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 25_000_000, 50_000_000]
    shapes = [scale.shape(n) for n in sizes]
    for (users_a, movies_a), (users_b, movies_b) in zip(shapes, shapes[1:], strict=False):
        assert users_a <= users_b and movies_a <= movies_b
    for n, (users, movies) in zip(sizes, shapes, strict=True):
        assert users * 20 <= n and movies >= 2
    assert 6_040 < scale.shape(3_000_000)[0] < 69_878


def test_train_phases_lose_their_paths_and_settings():
    line = "INFO jobs.train: training ALS {'rank': 32} on the training split done in 29.9s"
    assert scale.TRAIN_PHASE.search(line).groups() == ("training ALS", "29.9")
    assert scale.phase_name("loading /tmp/scale/1m/processed/scale-1m") == "loading"
    assert scale.phase_name("training ALS on all ratings") == "training ALS on all ratings"


def test_a_stopped_training_says_which_phases_it_finished(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(
        "2026-11-27 08:50:33,285 INFO jobs.train: loading /tmp/x/scale-10m done in 145.1s\n"
        "2026-11-27 08:50:33,286 INFO jobs.train: training ALS {'rank': 32} on the training"
        " split ...\n"
    )
    assert scale.train_phases(log) == {"loading": 145.1}
    assert scale.train_phases(tmp_path / "none.log") == {}


def test_what_broke_names_the_error_line(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(
        "INFO starting\n"
        "26/11/27 09:00:00 ERROR Executor: Exception in task 1.0\n"
        "java.lang.OutOfMemoryError: Java heap space\n"
        "\tat org.apache.spark...\n"
    )
    assert scale.what_broke(log) == "OutOfMemoryError: Java heap space"
    log.write_text("all fine\nlast words\n")
    assert scale.what_broke(log) == "last words"
    assert scale.what_broke(tmp_path / "none.log") == ""


def test_process_kinds_and_trees():
    assert proctree.kind_of("/usr/lib/jvm/java-17/bin/java\0-Xmx8g\0") == "java"
    assert proctree.kind_of("/work/.venv/bin/python3.11\0-m\0jobs.train") == "python"
    assert proctree.kind_of("/bin/bash\0-c") == "other"
    parents = {1: 0, 10: 1, 11: 10, 12: 11, 20: 1}
    assert proctree.descendants(10, parents) == {10, 11, 12}


def test_a_command_is_measured_and_one_past_its_limit_stopped(tmp_path):
    grow = "import time; block = bytearray(64 << 20); time.sleep(1.5)"
    out = proctree.run([sys.executable, "-c", grow], tmp_path / "a.log", 30, interval=0.2)
    assert out.ok and out.peak_mib["python"] >= 64
    slow = proctree.run(
        [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "b.log", 1, interval=0.2
    )
    assert slow.returncode is None and not slow.ok and slow.seconds < 10


def test_new_users_rate_distinct_known_movies_interleaved():
    popular = list(range(100, 140))
    ratings = scale_foldin.new_ratings(popular, users=5, per_user=4, seed=1)
    assert [r.user_id for r in ratings[:5]] == [scale_foldin.FIRST_NEW_USER + u for u in range(5)]
    for u in range(5):
        mine = [r.movie_id for r in ratings if r.user_id == scale_foldin.FIRST_NEW_USER + u]
        assert len(set(mine)) == 4 and set(mine) <= set(popular)
    assert all(0.5 <= r.rating <= 5.0 for r in ratings)
    assert np.all(np.diff([r.ts for r in ratings[::5]]) > 0)  # each user's ratings in order
