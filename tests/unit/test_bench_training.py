"""The training benchmark's reading of a run (the job's time from its log, each step's) and its
table; and the baseline's code taken from git."""

from __future__ import annotations

from tools.bench import common, training

LOG = """\
26/11/27 09:00:01 WARN NativeCodeLoader: Unable to load native-hadoop library
2026-11-27 09:00:05,250 INFO jobs.train: ALS settings {...}, shipped defaults
2026-11-27 09:00:05,300 INFO jobs.train: loading /data ...
2026-11-27 09:00:09,350 INFO jobs.train: loading /data done in 4.1s
2026-11-27 09:00:20,000 INFO jobs.train: training ALS {'rank': 32} done in 10.6s
2026-11-27 09:00:31,750 INFO jobs.train: published /m/v (latest -> v) in 26s
"""


def test_the_job_is_timed_from_its_first_log_line_to_its_last():
    assert training.job_seconds(LOG) == 26.5


def test_each_step_is_read_from_its_done_line():
    steps = dict(training.STEP.findall(LOG))
    assert steps == {
        "loading /data": "4.1",
        "training ALS {'rank': 32}": "10.6",
    }


def test_medians_and_the_table_side_by_side():
    def run(wall, p, rmse, stars=None):
        return {"wall_s": wall, "job_s": wall - 5, "precision@10": p, "ndcg@10": p + 0.1,
                "rmse": rmse, "stars_rmse": stars or rmse, "steps_s": {}}  # fmt: skip

    figures = {
        "revisions": {
            "baseline (abc)": training.summary([run(60, 0.41, 0.92), run(70, 0.41, 0.92, 0.9)]),
            "this tree": training.summary([run(30, 0.42, None), run(34, 0.42, None)]),
        }
    }
    assert figures["revisions"]["baseline (abc)"]["wall_s"] == 65
    assert figures["revisions"]["this tree"]["rmse"] is None
    lines = training.table(figures).splitlines()
    assert lines[0] == "| what | baseline (abc) | this tree |"
    assert "| training program, wall (JVM start included) | 65.0 s | 32.0 s |" in lines
    assert "| RMSE (rating model) | 0.9200 | - |" in lines
    assert "| RMSE of the stars (the blend, where there is one) | 0.9100 | - |" in lines


def test_the_baselines_jobs_come_from_git(tmp_path):
    code = common.jobs_code("HEAD", tmp_path / "code")
    assert (code / "jobs" / "train.py").is_file()
