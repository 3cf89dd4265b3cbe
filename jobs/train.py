"""Train an ALS model on MovieLens ratings and publish it as a new model version.

    spark-submit --py-files build/jobs.zip jobs/train.py --input hdfs:///input --models hdfs:///models
    python -m jobs.train --input /data/ml-latest-small --models /tmp/models   # local[*]

Steps: load ratings and movies (any MovieLens format, detected; bad lines are written to
``<models>/<version>/rejects`` and counted, never dropped silently), split per user
(``--split time`` or ``random``), train ALS on the training part, evaluate the served top-N
against the most-popular baseline on the held-out part, retrain on all ratings unless
``--no-refit``, write the version (see ``jobs.reco.model_store``) and point ``latest`` at it.

The default configuration is implicit-feedback ALS (ratings used as confidence,
``c = 1 + alpha * r``): on ranking it beats popularity by a wide margin, where explicit ALS
trained to predict ratings ranks worse than popularity (see docs/pipeline.md for figures).
Settings come from the command line, else ``MOVIELENS_*`` environment variables. The ALS
settings (rank, reg, alpha, max_iter, implicit) then come from the last tuning run's best
setting (``<models>/tune/best.json``, unless ``--ignore-tuning``), else the shipped defaults:
see ``jobs.reco.tuning``. The version's ``model.json`` says which and why.

Beside the ranking model, the job trains a rating model (``jobs.reco.rating``: baseline
predictors and explicit ALS on their residuals) whose predictions are the stars the page
shows, evaluated by RMSE and MAE against the baselines alone and movie means; ``--no-rating``
(``MOVIELENS_RATING=false``) leaves it out, and then no stars are shown.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from datetime import UTC, datetime

from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import common
from jobs.movielens import spark_io
from jobs.reco import evaluation, fsutil, model_store, rating, refine, tuning
from jobs.reco.split import METHODS, split_ratings

log = logging.getLogger("jobs.train")

DEFAULTS = tuning.DEFAULTS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train ALS and publish a model version.")
    p.add_argument("--input", default=common.env("INPUT", "hdfs:///input"))
    p.add_argument(
        "--format",
        default=common.env("FORMAT", "") or None,
        help="MovieLens format (default: detected from the file names)",
    )
    p.add_argument("--models", default=common.env("MODELS", "hdfs:///models"))
    p.add_argument("--master", default=None, help="Spark master (default: spark-submit's)")
    # The ALS settings: None when not given, then resolved by tuning.resolve().
    settings = "default: MOVIELENS_{}, else the tuned setting, else {}"
    p.add_argument("--rank", type=int, help=settings.format("RANK", DEFAULTS["rank"]))
    p.add_argument(
        "--reg",
        type=float,
        help="regParam (scaled by each user's/item's number of ratings); "
        + settings.format("REG", DEFAULTS["reg"]),
    )
    p.add_argument("--max-iter", type=int, help=settings.format("MAX_ITER", DEFAULTS["max_iter"]))
    p.add_argument(
        "--implicit",
        action=argparse.BooleanOptionalAction,
        help=settings.format("IMPLICIT", str(DEFAULTS["implicit"]).lower()),
    )
    p.add_argument("--alpha", type=float, help=settings.format("ALPHA", DEFAULTS["alpha"]))
    refine.add_argument(p)
    rating_help = "the rating model's {} (default: MOVIELENS_{}, else {})"
    p.add_argument(
        "--rating",
        action=argparse.BooleanOptionalAction,
        default=common.env("RATING", "true").strip().lower() != "false",
        help="train the rating model that predicts stars (default: MOVIELENS_RATING, else true)",
    )
    for name, kind, what in (
        ("rating_rank", int, "ALS rank"),
        ("rating_reg", float, "ALS regParam"),
        ("rating_max_iter", int, "ALS iterations"),
        ("bias_reg", float, "user and movie bias regularisation"),
        ("rating_neighbours", int, "neighbourhood size (0: no neighbourhood, no blend)"),
        ("rating_shrink", float, "neighbourhood similarity shrinkage"),
    ):
        default = rating.DEFAULTS[name]
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            # a string default goes through `type` like an option: a bad value is named
            default=common.env(name.upper(), str(default)),
            help=rating_help.format(what, name.upper(), default),
        )
    p.add_argument(
        "--tuned",
        default=None,
        help="the tuned setting file (default: <models>/" + tuning.BEST_FILE + ")",
    )
    p.add_argument(
        "--ignore-tuning",
        action="store_true",
        help="use the shipped defaults, not the tuned setting (options, MOVIELENS_* still win)",
    )
    p.add_argument(
        "--blocks",
        type=int,
        default=common.env_int("ALS_BLOCKS", 0),
        help="ALS numUserBlocks and numItemBlocks (default: MOVIELENS_ALS_BLOCKS, else 0: the "
        "cores Spark has)",
    )
    p.add_argument("--split", choices=METHODS, default=common.env("SPLIT", "time"))
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--k", type=int, default=10, help="length of the evaluated top-N")
    p.add_argument(
        "--relevance",
        type=float,
        default=4.0,
        help="held-out rating that counts as relevant; 0: any held-out rating",
    )
    p.add_argument("--eval-users", type=int, default=10_000, help="cap on evaluated users")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="retrain on all ratings before publishing (default)",
    )
    p.add_argument("--checkpoint-dir", default=None, help="Spark checkpoint dir (long lineages)")
    p.add_argument("--version", default=None, help="version name (default: UTC timestamp)")
    return p


def build_als(args: argparse.Namespace) -> ALS:
    return ALS(
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="rating",
        rank=args.rank,
        regParam=args.reg,
        maxIter=args.max_iter,
        implicitPrefs=args.implicit,
        alpha=args.alpha,
        seed=args.seed,
        numUserBlocks=args.blocks,
        numItemBlocks=args.blocks,
        coldStartStrategy="drop",
        nonnegative=False,
    )


def refinement(args: argparse.Namespace) -> refine.Refinement | None:
    return refine.of(args.implicit, args.alpha, args.refine_reg)


def als_params(args: argparse.Namespace) -> dict:
    last_pass = refinement(args)
    return {
        "rank": args.rank,
        "regParam": args.reg,
        "maxIter": args.max_iter,
        "implicitPrefs": args.implicit,
        "alpha": args.alpha,
        "seed": args.seed,
        "refine": last_pass.record() if last_pass else None,
    }


def rating_settings(args: argparse.Namespace) -> dict | None:
    """The rating model's settings, None when it is switched off."""
    return {name: getattr(args, name) for name in rating.DEFAULTS} if args.rating else None


def read_tuned(spark, path: str, input_path: str) -> tuple[tuning.Tuned | None, str]:
    """The tuned setting at ``path``, or None and why not (logged): training goes on."""
    try:
        if not fsutil.exists(spark, path):
            log.info("no tuned setting: %s does not exist (jobs.tune writes it)", path)
            return None, f"no tuned setting at {path}"
        return tuning.parse(fsutil.read_text(spark, path), path, input_path), ""
    except tuning.TunedSettingError as exc:
        reason = f"tuned setting not used: {exc}"
    except Exception as exc:  # HDFS or permission errors: the file is unreadable
        reason = f"tuned setting not used: cannot read {path} ({' '.join(str(exc).split())[:300]})"
    log.warning("%s; training with the shipped defaults", reason)
    return None, reason


def choose_settings(spark, args: argparse.Namespace) -> dict:
    """Set ``args``' ALS settings by ``tuning.resolve``; return where they came from and why."""
    tuned, fallback = None, "tuning ignored: --ignore-tuning"
    if not args.ignore_tuning:
        path = args.tuned or tuning.best_path(args.models)
        tuned, fallback = read_tuned(spark, path, args.input)
    given = {name: getattr(args, name) for name in tuning.DEFAULTS}
    params, sources, why = tuning.resolve(given, os.environ, tuned, fallback)
    for name, value in params.items():
        setattr(args, name, value)
    log.info("ALS settings %s, %s", params, why)
    return {"why": why, "sources": sources, "tuned": tuned.record if tuned else None}


def run(spark, args: argparse.Namespace) -> dict:
    started = time.monotonic()
    version = args.version or model_store.new_version()
    out = model_store.version_path(args.models, version)
    if fsutil.exists(spark, out):
        raise FileExistsError(f"model version already exists: {out}")
    if args.checkpoint_dir:
        spark.sparkContext.setCheckpointDir(args.checkpoint_dir)
    settings = choose_settings(spark, args)
    args.blocks = common.als_blocks(spark, args.blocks)
    log.info("ALS in %d blocks of users and %d of movies", args.blocks, args.blocks)

    with common.timed(f"loading {args.input}", log):
        fmt, ratings, movies, rejects = spark_io.load(spark, args.input, args.format)
        ratings = ratings.cache()
        counts = {"ratings": ratings.count(), "movies": movies.count(), "rejects": rejects.count()}
    log.info("format %s: %s", fmt.name, counts)
    if counts["rejects"]:
        log.warning("%d rejected lines, written to %s/rejects", counts["rejects"], out)
        rejects.write.mode("overwrite").json(fsutil.join(out, "rejects"))

    train, test = split_ratings(ratings, args.test_fraction, args.split, args.seed)
    train, test = train.cache(), test.cache()
    split = {"train": train.count(), "test": test.count()}
    log.info("split %s: %d training, %d held-out ratings", args.split, *split.values())
    share = evaluation.user_share(counts["ratings"])
    log.info("the evaluations take the ratings of %.0f%% of the users", share * 100)
    # The split as arrays on the driver, collected while the models train; the ranking model
    # and the rating model are independent: trained side by side.
    arrays = common.started(
        lambda: evaluation.collect(train, share), lambda: evaluation.collect(test, share)
    )
    (model, report, evaluated), stars = common.in_parallel(
        lambda: ranking_model(args, ratings, train, arrays, share == 1.0),
        lambda: stars_model(args, ratings, train, arrays),
    )
    rating_model = None
    if stars is not None:
        rating_model, rated, seconds = stars
        with common.timed("evaluating the rating model and the stars' blend", log):
            rating_model.blend, report["rating"] = evaluation.rating_report(
                rated, evaluated, *arrays(), args.seed
            )
        report["rating"]["train_s"] = seconds
    report.update(
        {
            "version": version,
            "split": args.split,
            "test_fraction": args.test_fraction,
            "params": als_params(args),
            "settings": settings,
            "counts": counts,
        }
    )
    served_pop = evaluation.popularity(ratings if args.refit else train)
    with common.timed(f"writing {out}", log):
        write_version(
            spark,
            out,
            model,
            rating_model,
            movies=movies,
            pop=served_pop,
            report=report,
            fmt_name=fmt.name,
            args=args,
        )
        model_store.set_latest(spark, args.models, version)
    report["duration_s"] = round(time.monotonic() - started, 1)
    log.info("published %s (latest -> %s) in %.0fs", out, version, report["duration_s"])
    return report


def ranking_model(args: argparse.Namespace, ratings, train, arrays, whole: bool):
    """(the implicit ALS model to serve, its report beside most-popular's on the held-out
    ratings, the model evaluated: trained on ``train``). ``arrays()``: the split's, on the
    driver (``evaluation.collect``), all of it where ``whole``: then the last pass runs
    there."""
    als, last_pass = build_als(args), refinement(args)
    with common.timed(f"training ALS {als_params(args)} on the training split", log):
        on_driver = (lambda: arrays()[0]) if whole else None
        evaluated = model = refine.fit(als, train, last_pass, on_driver)
    with common.timed("evaluating against the most-popular baseline", log):
        report = evaluation.evaluate(
            model,
            *arrays(),
            args.implicit,
            k=args.k,
            threshold=args.relevance or None,
            max_users=args.eval_users,
            seed=args.seed,
        )
    if args.refit:
        on_driver = (lambda: evaluation.concatenated(*arrays())) if whole else None
        with common.timed("training ALS on all ratings", log):
            model = refine.fit(als, ratings, last_pass, on_driver)
    return model, report, evaluated


def stars_model(args: argparse.Namespace, ratings, train, arrays):
    """(the rating model to serve, the one trained on ``train`` alone, the seconds of that
    training), each with its movies' neighbourhood; None without a rating model.
    ``arrays()``: the split's, on the driver (``evaluation.collect``)."""
    if not args.rating:
        return None
    settings = rating_settings(args)
    with common.timed(f"training the rating model {settings}", log) as fit:
        evaluated = trained = rating.train(train, settings, args.seed, args.blocks)
        trained.fit_neighbourhood(*arrays()[0])
    if args.refit:
        with common.timed("training the rating model on all ratings", log):
            trained = rating.train(ratings, settings, args.seed, args.blocks)
            trained.fit_neighbourhood(*evaluation.concatenated(*arrays()))
    return trained, evaluated, round(fit.seconds, 1)


def write_version(
    spark,
    out: str,
    model,
    rating_model,
    *,
    movies: DataFrame,
    pop: DataFrame,
    report: dict,
    fmt_name: str,
    args,
) -> None:
    factors = model.itemFactors.select(
        F.col("id").alias("movie_id"), F.col("features").cast("array<float>")
    )
    parquet = {"item_factors": factors, "movies": movies, "popularity": pop}
    if rating_model is not None:
        parquet[model_store.RATING] = rating_model.items()
        if rating_model.blend is not None:
            parquet[model_store.NEIGHBOURS] = spark.createDataFrame(
                rating_model.neighbourhood.rows(), model_store.NEIGHBOURS_SCHEMA
            )
    # Independent writes, each a few small files: side by side.
    common.in_parallel(
        lambda: model.save(fsutil.join(out, "als")),
        *(
            lambda d=d, name=name: d.write.parquet(fsutil.join(out, name))
            for name, d in parquet.items()
        ),
    )
    info = {
        "version": report["version"],
        "created": datetime.now(UTC).isoformat(),
        "input": args.input,
        "format": fmt_name,
        "params": als_params(args),
        "settings": report["settings"],
        "rating": rating_info(rating_model),
        "refit_on_all_ratings": args.refit,
        "counts": report["counts"],
    }
    fsutil.write_text(spark, fsutil.join(out, "model.json"), json.dumps(info, indent=2) + "\n")
    fsutil.write_text(spark, fsutil.join(out, "metrics.json"), json.dumps(report, indent=2) + "\n")


def rating_info(rating_model: rating.Trained | None) -> dict | None:
    """What ``model.json`` says of the rating model (what fold-in needs), None without one."""
    if rating_model is None:
        return None
    s = rating_model.settings
    return {
        "mu": rating_model.mu,
        "user_reg": s["bias_reg"],
        "item_reg": s["bias_reg"],
        "bias_passes": rating.BIAS_PASSES,
        "rank": s["rating_rank"],
        "regParam": s["rating_reg"],
        "maxIter": s["rating_max_iter"],
        "neighbours": s["rating_neighbours"],
        "shrink": s["rating_shrink"],
        "blend": list(rating_model.blend.weights) if rating_model.blend else None,
    }


def main(argv: list[str] | None = None) -> int:
    common.setup_logging()
    args = parser().parse_args(argv)
    spark = common.spark_session("movielens-train", args.master)
    try:
        report = run(spark, args)
    finally:
        spark.stop()
    # One line: what the playbooks show.
    print(
        json.dumps(
            {k: report[k] for k in ("version", "als", "popularity")}
            | {"why": report["settings"]["why"]}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
