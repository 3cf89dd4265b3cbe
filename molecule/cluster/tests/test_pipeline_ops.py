"""The pipeline's operations playbooks, run from the control node as a person would run them.

Each test runs one playbook of playbooks/ with ansible-playbook against the scenario's
inventory (tests/inventory.py),

then checks what it left on the host, in HDFS, in YARN and on the control node:

- als_tune.yml with a two-setting grid (and the shipped setting, always tried): tune.json,
  tune.csv and tune.png on the control node and in HDFS /models/tune, with best.json;
- hdfs_download_log.yml: the newest log of HDFS /logs, whole, on the control node;
- hdfs_clean.yml, then pipeline_setup.yml: the folders emptied and the stream stopped, then
  everything rebuilt: the data ingested again, a new model version trained on YARN (latest
  pointing to it, its metrics, the ResourceManager's record of the application as
  FINISHED/SUCCEEDED), the stream healthy again and counting every message of the topic once.
  It runs last (file order: the cluster's last file): the rebuilt pipeline serves any test that
  runs after it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import time

from jobs.reco import tuning
from tests import inventory
from tests.labhost import eventually
from tests.pipelinehost import (
    cassandra_session,
    counted,
    dataset,
    hdfs,
    stream_running,
    succeeded,
    topic_size,
    yarn_apps,
)
from tests.pipelinehost import run_playbook as pipelinehost_run_playbook

PROJECT = inventory.PROJECT
testinfra_hosts = ["movielens"]
FOLDERS = ("/input", "/models", "/logs", "/processed", "/errors", "/tmps")
# Longest each playbook may take on a two-core host (a short training or tuning is two to
# five minutes; the rebuild ingests, trains and restarts the stream).
SHORT_PLAYBOOK_SECONDS = 600
JOB_PLAYBOOK_SECONDS = 1200
REBUILD_SECONDS = 1800
# Fewer iterations, fewer users evaluated, no second training on every rating: the model after
# the rebuild still beats most-popular.
REBUILD_TRAIN_ARGS = "--max-iter 5 --rating-max-iter 5 --eval-users 300 --no-refit"
STREAM_SECONDS = 300
# Two settings, few iterations: the tuning test is about the reports, not the search.
TUNE_ARGS = "--ranks 8 --regs 0.05,0.2 --alphas 1.0 --modes implicit --max-iter 3 --eval-users 300"


def run_playbook(host, name: str, timeout: float, **extra_vars) -> subprocess.CompletedProcess:
    """ansible-playbook playbooks/<name> from the project's directory, as `make` runs it."""
    return pipelinehost_run_playbook(name, timeout, **extra_vars)


def playbook(host, name: str, timeout: float, **extra_vars) -> subprocess.CompletedProcess:
    result = run_playbook(host, name, timeout, **extra_vars)
    succeeded(result)
    return result


def latest_model(host) -> str:
    return hdfs(host, "hdfs dfs -cat /models/latest").stdout.strip()


def counted_now() -> int:
    with cassandra_session() as session:
        return counted(session)


def test_tuning_reports_come_back_to_the_control_node(host, tmp_path):
    playbook(
        host,
        "als_tune.yml",
        JOB_PLAYBOOK_SECONDS,
        movielens_tune_args=TUNE_ARGS,
        movielens_fetch_dir=str(tmp_path),
    )

    report = json.loads((tmp_path / "tune.json").read_text())
    results = report["results"]
    shipped = (tuning.DEFAULTS["rank"], tuning.DEFAULTS["reg"], True)
    assert sorted((r["rank"], r["reg"], r["implicit"]) for r in results) == sorted(
        [(8, 0.05, True), (8, 0.2, True), shipped]
    ), results
    for row in results:
        for metric in ("precision@10", "recall@10", "ndcg@10", "map"):
            assert 0 <= row[metric] <= 1, (metric, row)
    assert report["max_iter"] == 3
    assert report["best"] == max(results, key=lambda r: r["precision@10"])
    assert 0 < report["popularity"]["precision@10"] <= 1

    with (tmp_path / "tune.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(row["label"] for row in rows) == sorted(r["label"] for r in results)
    png = (tmp_path / "tune.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000

    for name in ("tune.json", "tune.csv", "tune.png"):
        stored = hdfs(host, f"hdfs dfs -stat %b /models/tune/{name}")
        assert stored.rc == 0, f"/models/tune/{name} missing: {stored.stderr}"
        assert int(stored.stdout) == (tmp_path / name).stat().st_size, name
    assert json.loads(hdfs(host, "hdfs dfs -cat /models/tune/tune.json").stdout) == report
    best = json.loads(hdfs(host, f"hdfs dfs -cat /models/{tuning.BEST_FILE}").stdout)
    assert (best["value"], best["settings"]) == (report["best"]["precision@10"], 3), best
    assert best["params"]["max_iter"] == 3 and best["report"] == "hdfs:///models/tune/tune.json"


def test_the_newest_log_comes_back_to_the_control_node(host, tmp_path):
    # A fresh log whose name sorts before every other job's: only its time makes it the newest.
    made = host.run("sudo -u movielens timeout 300 /usr/local/bin/movielens-job ingest --help")
    assert made.rc == 0, made.stderr[-2000:]
    listing = hdfs(host, 'hdfs dfs -stat "%Y %n" "/logs/*"').stdout.split("\n")
    newest = max((line.split() for line in listing if line.strip()), key=lambda f: int(f[0]))[1]
    assert newest.startswith("ingest-"), listing

    playbook(
        host, "hdfs_download_log.yml", SHORT_PLAYBOOK_SECONDS, movielens_fetch_dir=str(tmp_path)
    )

    assert [p.name for p in tmp_path.iterdir()] == [newest]
    fetched = (tmp_path / newest).read_text()
    assert "usage:" in fetched
    assert fetched == hdfs(host, f"hdfs dfs -cat /logs/{newest}").stdout


def test_clean_empties_the_folders_and_setup_rebuilds_the_pipeline(host):
    before = latest_model(host)
    since_ms = int(time.time() * 1000) - 5000
    cleaned = run_playbook(host, "hdfs_clean.yml", SHORT_PLAYBOOK_SECONDS)
    try:
        succeeded(cleaned)
        for folder in FOLDERS:
            # DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME: the folder itself and nothing inside
            count = hdfs(host, f"hdfs dfs -count {folder}").stdout.split()
            assert count[:2] == ["1", "0"], f"{folder} not emptied: {count}"
        assert host.run("systemctl is-active movielens-stream").stdout.strip() == "inactive"
        assert not stream_running(host)
    finally:
        # Whatever the clean did, the pipeline is set up again for what runs after this test
        # (a quicker training: the rebuild is what is tested here, not the model's settings).
        rebuilt = run_playbook(
            host, "pipeline_setup.yml", REBUILD_SECONDS, movielens_train_args=REBUILD_TRAIN_ARGS
        )
    succeeded(rebuilt)

    eventually(lambda: stream_running(host), "the streaming query running again", STREAM_SECONDS)
    # The new checkpoint reads the topic from the start: every message is counted once again,
    # none of them twice with the counters of the deleted checkpoint.
    eventually(
        lambda: counted_now() == topic_size(),
        "the stream counting every message of the topic once",
        STREAM_SECONDS,
    )
    version = latest_model(host)
    assert version and version != before, f"latest still {before!r}"
    listed = hdfs(host, f"hdfs dfs -ls -C /models/{version}").stdout.split()
    parts = {path.rpartition("/")[2] for path in listed}
    assert {"als", "item_factors", "movies", "popularity", "rating"} <= parts, listed
    model = json.loads(hdfs(host, f"hdfs dfs -cat /models/{version}/model.json").stdout)
    assert model["params"]["maxIter"] == 5 and model["rating"]["maxIter"] == 5, model
    assert model["refit_on_all_ratings"] is False, model
    assert model["settings"]["sources"]["max_iter"] == "command line", model
    metrics = json.loads(hdfs(host, f"hdfs dfs -cat /models/{version}/metrics.json").stdout)
    assert metrics["als"]["precision@10"] > metrics["popularity"]["precision@10"], metrics
    # the rating model behind the stars, and its errors beside the baselines'
    assert model["rating"]["rank"] == 32 and 1 <= model["rating"]["mu"] <= 5, model
    for predictor in ("model", "baseline", "movie_mean"):
        assert 0 < metrics["rating"][predictor]["rmse"] < 2, metrics["rating"]

    def finished() -> dict | None:
        """The rebuild's training: one application on YARN, of the jobs' user."""
        trains = [
            app
            for app in yarn_apps(host, since_ms)
            if app["name"] == "movielens-train" and app["user"] == "movielens"
        ]
        assert len(trains) == 1, trains
        return trains[0] if trains[0]["state"] == "FINISHED" else None

    app = eventually(finished, "the training's YARN application finished", 120)
    assert app["finalStatus"] == "SUCCEEDED", app
    name = dataset()
    assert hdfs(host, f"hdfs dfs -test -d /processed/{name}/ratings.parquet").rc == 0
    if name == "synthetic":  # the role's default dataset has five malformed lines
        report = json.loads(hdfs(host, f"hdfs dfs -cat /errors/{name}/report.json").stdout)
        assert report["rejects"] == 5, report
