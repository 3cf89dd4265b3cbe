"""The training job end to end on local Spark with a small synthetic data set."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from jobs import stream, train
from jobs.kafka_security import KafkaSecurity
from jobs.movielens import synthetic
from jobs.movielens.formats import Rating
from jobs.reco import model_store, neighbours, refine, stream_metrics, tuning
from jobs.reco.foldin import FoldInParams
from jobs.reco.validate import to_message

# The setting a tuning run left in <models>/tune/best.json (rank 8 is no default).
TUNED = {"rank": 8, "reg": 0.1, "alpha": 2.0, "max_iter": 4, "implicit": True}


def write_best(models, input_path: str, text: str | None = None) -> None:
    best = tuning.best_record(
        {**TUNED, "precision@10": 0.25},
        metric="precision@10",
        settings=5,
        shipped_value=0.24,
        popularity_value=0.12,
        input_path=input_path,
        split={"method": "time", "test_fraction": 0.2, "validation_fraction": 0.2, "seed": 42},
        tuned_at="2026-01-01T00:00:00Z",
        report=f"{models}/tune/tune.json",
    )
    path = models / tuning.BEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(best) if text is None else text)


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("input")
    models = tmp_path_factory.mktemp("models")
    data = synthetic.generate(users=150, movies=400, ratings=9000, seed=5)
    synthetic.write(data, str(data_dir), "latest", malformed=3, seed=5)
    write_best(models, str(data_dir))
    args = train.parser().parse_args(
        [
            "--input",
            str(data_dir),
            "--models",
            str(models),
            "--blocks",
            "2",
            "--no-refit",
            "--max-iter",
            "6",
            "--version",
            "20260101T000000Z",
        ]
    )
    report = train.run(spark, args)
    return models, report


def test_report_shows_als_beating_popularity(published):
    models, report = published
    written = json.loads((models / "20260101T000000Z" / "metrics.json").read_text())
    assert written["als"] == report["als"]
    als, pop = report["als"]["precision@10"], report["popularity"]["precision@10"]
    print(f"train e2e: precision@10 ALS {als:.3f} vs popularity {pop:.3f}")
    assert als > 1.3 * pop
    assert report["als"]["ndcg@10"] > report["popularity"]["ndcg@10"]
    assert report["counts"]["rejects"] == 3
    for key in ("precision@10", "recall@10", "ndcg@10", "map", "rmse", "mae"):
        assert key in report["als"] and key in report["popularity"]


def test_version_layout_and_latest_pointer(spark, published):
    models, _ = published
    version = models / "20260101T000000Z"
    for part in ("als", "item_factors", "movies", "popularity", "rejects"):
        assert (version / part).is_dir(), part
    assert (models / "latest").read_text().strip() == "20260101T000000Z"
    served = model_store.load_serving_model(spark, str(models))
    assert served.version == "20260101T000000Z"
    # users fold in as the training's last pass solved them: reg * n ** 0.5
    assert served.params == FoldInParams(refine.DEFAULT_REG, True, TUNED["alpha"], exponent=0.5)
    assert len(served.items.movie_ids) > 300 and len(served.movies) == 400
    assert served.popular[:1] and served.items.rank == TUNED["rank"]


def test_the_stars_are_a_blend_measured_on_held_out_ratings_and_served(spark, published):
    models, report = published
    rated = report["rating"]
    blend = rated["blend"]
    print(f"train e2e: RMSE blend {blend['rmse']:.3f}, rating model {rated['model']['rmse']:.3f}")
    assert blend["predictions"] == rated["model"]["predictions"] > 1000
    assert blend["rmse"] < rated["model"]["rmse"] < rated["movie_mean"]["rmse"]
    assert list(blend["weights"]) == list(neighbours.WEIGHTS)
    assert "neighbourhood x user_ratings" in blend["weights"]
    info = json.loads((models / "20260101T000000Z" / "model.json").read_text())
    assert info["rating"]["blend"] == list(blend["weights"].values())
    served = model_store.load_serving_model(spark, str(models)).rating
    assert served.blend.weights == tuple(blend["weights"].values())
    assert served.neighbourhood.k == info["rating"]["neighbours"] == 10
    assert len(served.neighbourhood.movie_ids) > 300
    assert (served.neighbourhood.similarity > 0).sum(axis=1).max() <= neighbours.KEEP
    # each movie's training ratings (the blend's movie support): here (no refit) the
    # ratings that were not held out
    assert served.counts.sum() == report["counts"]["ratings"] - rated["model"]["predictions"]
    assert served.counts.min() >= 1


def test_the_version_says_which_setting_it_used_and_why(published):
    models, report = published
    info = json.loads((models / "20260101T000000Z" / "model.json").read_text())
    # --max-iter 6 on the command line wins over the tuned 4; the rest is tuned
    assert info["params"] | {"seed": 0} == {
        "rank": 8,
        "regParam": 0.1,
        "alpha": 2.0,
        "maxIter": 6,
        "implicitPrefs": True,
        "seed": 0,
        # the last pass (jobs.reco.refine), with the tuned alpha
        "refine": {"regParam": refine.DEFAULT_REG, "exponent": 0.5},
    }
    settings = info["settings"]
    assert settings == report["settings"]
    assert settings["sources"] == {
        "rank": "tuned",
        "reg": "tuned",
        "alpha": "tuned",
        "max_iter": "command line",
        "implicit": "tuned",
    }
    assert settings["why"] == (
        "rank, reg, alpha, implicit: tuned: best precision@10 0.2500 of 5 settings in tune run"
        f" 2026-01-01T00:00:00Z ({models}/tune/best.json); max_iter: command line"
    )
    assert settings["tuned"]["params"] == TUNED


@pytest.fixture
def no_settings_env(monkeypatch):
    """No MOVIELENS_RANK, MOVIELENS_REG, ... in the environment."""
    for name in tuning.DEFAULTS:
        monkeypatch.delenv(tuning.env_name(name), raising=False)


def settings_of(spark, tmp_path, *argv: str):
    args = train.parser().parse_args(
        ["--input", str(tmp_path / "data"), "--models", str(tmp_path / "models"), *argv]
    )
    return train.choose_settings(spark, args), args


@pytest.mark.usefixtures("no_settings_env")
def test_no_tuned_setting_means_the_defaults(spark, tmp_path, caplog):
    caplog.set_level("INFO", logger="jobs.train")
    settings, args = settings_of(spark, tmp_path)
    best = f"{tmp_path}/models/tune/best.json"
    assert settings["why"] == f"shipped defaults (no tuned setting at {best})"
    assert f"no tuned setting: {best} does not exist" in caplog.text
    assert {name: getattr(args, name) for name in tuning.DEFAULTS} == tuning.DEFAULTS


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"params": {"rank": "many"', "is not JSON"),
        (json.dumps({"params": TUNED | {"rank": -3}}), "lacks metric, value"),
        (None, "was tuned on /elsewhere"),
    ],
)
@pytest.mark.usefixtures("no_settings_env")
def test_a_malformed_tuned_setting_is_logged_and_the_defaults_used(
    spark, tmp_path, caplog, text, said
):
    write_best(tmp_path / "models", "/elsewhere" if text is None else str(tmp_path / "data"), text)
    settings, args = settings_of(spark, tmp_path)
    assert settings["why"].startswith(
        f"shipped defaults (tuned setting not used: {tmp_path}/models/tune/best.json"
    )
    assert said in settings["why"]
    warned = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "jobs.train"]
    assert len(warned) == 1 and said in warned[0].getMessage()
    assert "training with the shipped defaults" in warned[0].getMessage()
    assert args.rank == tuning.DEFAULTS["rank"] and settings["tuned"] is None


@pytest.mark.usefixtures("no_settings_env")
def test_an_unreadable_tuned_setting_is_logged_and_the_defaults_used(spark, tmp_path, caplog):
    (tmp_path / "models" / tuning.BEST_FILE).mkdir(parents=True)  # a folder, not a file
    settings, args = settings_of(spark, tmp_path)
    best = f"{tmp_path}/models/tune/best.json"
    assert settings["why"].startswith(
        f"shipped defaults (tuned setting not used: cannot read {best}"
    )
    assert "training with the shipped defaults" in caplog.text
    assert args.rank == tuning.DEFAULTS["rank"]


@pytest.mark.usefixtures("no_settings_env")
def test_environment_and_ignore_tuning(spark, tmp_path, monkeypatch):
    write_best(tmp_path / "models", str(tmp_path / "data"))
    monkeypatch.setenv("MOVIELENS_RANK", "12")
    settings, args = settings_of(spark, tmp_path)
    assert (args.rank, args.alpha) == (12, TUNED["alpha"])
    assert settings["sources"]["rank"] == "environment"
    settings, args = settings_of(spark, tmp_path, "--ignore-tuning", "--rank", "10")
    assert (args.rank, args.alpha) == (10, tuning.DEFAULTS["alpha"])
    assert settings["why"].endswith(
        "alpha, max_iter, implicit: shipped defaults (tuning ignored: --ignore-tuning)"
    )
    assert settings["why"].startswith("rank: command line; reg, ")


@pytest.mark.parametrize("scorer", ["foldin", "als-subset"])
def test_stream_handler_on_the_published_model(spark, published, scorer):
    """The foreachBatch handler on a DataFrame shaped like Kafka's (memory store, no broker)."""
    models, _ = published
    args = stream.parser().parse_args(
        ["--models", str(models), "--store", "memory", "--scorer", scorer, "--top-n", "5"]
    )
    # The memory store has no Kafka sink: the login is not used.
    ctx = stream.build_context(spark, args, KafkaSecurity(protocol="PLAINTEXT"))
    served = model_store.load_serving_model(spark, str(models))
    known = [int(m) for m in served.items.movie_ids[:3]]  # movies with factors
    values = [
        to_message(Rating(1, known[0], 5.0, 100)),
        to_message(Rating(1, known[1], 4.0, 101)),
        to_message(Rating(999_999, known[2], 4.5, 102)),
        b"not json",
    ]
    # The columns the Kafka source gives, its timestamp as the broker's append time.
    appended = datetime(2026, 1, 1, tzinfo=UTC)
    frame = spark.createDataFrame(
        [(v, "movielens_ratings", 0, i, appended) for i, v in enumerate(values)],
        "value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    metrics = stream_metrics.StreamMetrics()
    stream.make_handler(ctx, metrics)(frame, 0)
    stats = ctx.store.stats[("movielens", 0)]
    # each valid message's latency runs from its Kafka timestamp to the end of its batch (the
    # dead letter is not a rating served)
    assert metrics.latency_count == stats.valid == 3
    assert stats.sent == [appended.timestamp()] * 3
    latency = metrics.latency_sum / 3
    assert latency == pytest.approx(time.time() - appended.timestamp(), abs=120)
    assert (stats.valid, stats.invalid, stats.users_updated) == (3, 1, 2)
    assert ctx.dead_letters.letters[0]["reason"].startswith("not JSON")
    for user in (1, 999_999):  # 999999: a user the model never saw
        recs = ctx.store.recommendations[user]
        assert len(recs) == 5 and all(r.title for r in recs)
        assert not {r.movie_id for r in recs} & set(known)
    # fold-in places the new user from the first rating; the original way cannot
    assert stats.cold_users == (0 if scorer == "foldin" else 1)
