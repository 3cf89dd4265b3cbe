"""Search ALS configurations (grid or seeded random sample) on a validation split.

    python -m jobs.tune --input /data/ml-latest-small --out /tmp/tune --random 12

The ratings are split like ``jobs.train`` does (same method, fraction and seed); the
held-out part is left alone, and the training part is split again into fit and validation
parts, so the search never sees the data the training job reports on. Each configuration is
trained on the fit part and scored on the validation part (precision/recall/NDCG@k, MAP,
and RMSE/MAE for explicit models). Writes ``tune.json``, ``tune.csv`` and ``tune.png``
(precision@k per configuration against the most-popular baseline, and RMSE of the explicit
configurations) to ``--out`` (a local directory), copies them into ``<models>/tune/`` and
writes the best setting beside them, ``<models>/tune/best.json``, which ``jobs.train`` uses
(see ``jobs.reco.tuning``). The shipped setting is always one of the configurations (also
in a random sample), marked "(shipped)", and wins a tie: a run shows what it gains over it.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import os
import random
import time
from datetime import UTC, datetime

from jobs import common
from jobs.movielens import spark_io
from jobs.reco import evaluation, fsutil, refine, tuning
from jobs.reco.split import METHODS, split_ratings

log = logging.getLogger("jobs.tune")

REPORTS = ("tune.json", "tune.csv", "tune.png")


def setting(implicit: bool, rank: int, reg: float, alpha: float) -> dict:
    """One configuration; explicit models have no alpha (1.0)."""
    return {"implicit": implicit, "rank": rank, "reg": reg, "alpha": alpha if implicit else 1.0}


SHIPPED = setting(*(tuning.DEFAULTS[k] for k in ("implicit", "rank", "reg", "alpha")))


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="ALS hyper-parameter search.")
    p.add_argument("--input", default=common.env("INPUT", "hdfs:///input"))
    p.add_argument("--format", default=None)
    p.add_argument("--out", default="tune-report", help="local directory for the reports")
    p.add_argument(
        "--models",
        default=common.env("MODELS", "hdfs:///models"),
        help=f"the reports and the best setting go to <models>/{tuning.BEST_FILE}",
    )
    p.add_argument("--master", default=None)
    p.add_argument("--ranks", type=ints, default=[8, 16, 32])
    p.add_argument("--regs", type=floats, default=[0.05, 0.2, 0.5])
    p.add_argument("--alphas", type=floats, default=[0.3, 1.0, 3.0])
    p.add_argument("--modes", default="implicit,explicit", help="implicit, explicit or both")
    p.add_argument("--max-iter", type=int, default=tuning.DEFAULTS["max_iter"])
    refine.add_argument(p)
    p.add_argument(
        "--blocks",
        type=int,
        default=common.env_int("ALS_BLOCKS", 0),
        help="ALS numUserBlocks and numItemBlocks (0: the cores Spark has)",
    )
    p.add_argument("--random", type=int, default=0, help="sample N configurations (0: grid)")
    p.add_argument("--split", choices=METHODS, default="time")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--eval-users", type=int, default=5000)
    p.add_argument("--seed", type=int, default=42)
    return p


def grid(args) -> list[dict]:
    """Every configuration of the grid options."""
    modes = [m.strip() for m in args.modes.split(",")]
    return [
        setting(mode == "implicit", rank, reg, alpha)
        for mode, rank, reg in itertools.product(modes, args.ranks, args.regs)
        for alpha in (args.alphas if mode == "implicit" else [1.0])
    ]


def configurations(args) -> list[dict]:
    """The shipped setting, then the grid or a seeded sample of it (``--random`` in all)."""
    others = [c for c in grid(args) if c != SHIPPED]
    if args.random and args.random - 1 < len(others):
        others = random.Random(args.seed).sample(others, args.random - 1)
    return [SHIPPED, *others]


def label(cfg: dict) -> str:
    if cfg["implicit"]:
        text = f"imp r{cfg['rank']} l{cfg['reg']:g} a{cfg['alpha']:g}"
    else:
        text = f"exp r{cfg['rank']} l{cfg['reg']:g}"
    return text + " (shipped)" if cfg == SHIPPED else text


def run(spark, args) -> dict:
    from pyspark.ml.recommendation import ALS  # noqa: PLC0415

    args.blocks = common.als_blocks(spark, args.blocks)
    _, ratings, _, _ = spark_io.load(spark, args.input, args.format)
    train, _ = split_ratings(ratings, args.test_fraction, args.split, args.seed)
    fit, valid = split_ratings(train, args.validation_fraction, args.split, args.seed + 1)
    fit, valid = fit.cache(), valid.cache()
    counts = fit.count(), valid.count()
    log.info("fit %d ratings, validate on %d", *counts)
    share = evaluation.user_share(sum(counts))
    arrays = [evaluation.collect(d, share) for d in (fit, valid)]
    configs = configurations(args)
    results, baseline = [], None
    for i, cfg in enumerate(configs, start=1):
        started = time.monotonic()
        als = ALS(
            userCol="user_id",
            itemCol="movie_id",
            ratingCol="rating",
            rank=cfg["rank"],
            regParam=cfg["reg"],
            maxIter=args.max_iter,
            implicitPrefs=cfg["implicit"],
            alpha=cfg["alpha"],
            seed=args.seed,
            numUserBlocks=args.blocks,
            numItemBlocks=args.blocks,
        )
        # scored as jobs.train serves it: with the same last pass for implicit ALS
        last_pass = refine.of(cfg["implicit"], cfg["alpha"], args.refine_reg)
        on_driver = (lambda: arrays[0]) if share == 1.0 else None
        model = refine.fit(als, fit, last_pass, on_driver)
        report = evaluation.evaluate(
            model, *arrays, cfg["implicit"], k=args.k, max_users=args.eval_users, seed=args.seed
        )
        baseline = report["popularity"]
        row = {
            **cfg,
            "label": label(cfg),
            "shipped": cfg == SHIPPED,
            **{k: v for k, v in report["als"].items() if k != "rating_note"},
            "seconds": round(time.monotonic() - started, 1),
        }
        results.append(row)
        log.info(
            "[%d/%d] %s: precision@%d %.4f (popularity %.4f) in %.0fs",
            i,
            len(configs),
            row["label"],
            args.k,
            row[f"precision@{args.k}"],
            baseline[f"precision@{args.k}"],
            row["seconds"],
        )
    key = f"precision@{args.k}"
    results.sort(key=lambda r: -r[key])  # stable: a tie goes to the shipped setting (first)
    out = {
        "k": args.k,
        "split": args.split,
        "max_iter": args.max_iter,
        "input": args.input,
        "tuned_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "best": results[0],
        "shipped": next(r for r in results if r["shipped"]),
        "popularity": baseline,
        "results": results,
    }
    write_reports(out, args.out, key)
    publish(spark, out, args)
    return out


def publish(spark, report: dict, args) -> dict:
    """Copy the reports into ``<models>/tune/``, then write the best setting beside them."""
    folder = tuning.tune_dir(args.models)
    for name in REPORTS:
        fsutil.put(spark, os.path.join(args.out, name), fsutil.join(folder, name))
    key = f"precision@{args.k}"
    best = tuning.best_record(
        {**report["best"], "max_iter": args.max_iter},
        metric=key,
        settings=len(report["results"]),
        shipped_value=report["shipped"][key],
        popularity_value=report["popularity"][key],
        input_path=args.input,
        split={
            "method": args.split,
            "test_fraction": args.test_fraction,
            "validation_fraction": args.validation_fraction,
            "seed": args.seed,
        },
        tuned_at=report["tuned_at"],
        report=fsutil.join(folder, "tune.json"),
    )
    path = tuning.best_path(args.models)
    fsutil.replace_text(spark, path, json.dumps(best, indent=2) + "\n")
    log.info("best setting written to %s: %s", path, best["params"])
    return best


def write_reports(report: dict, out_dir: str, key: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tune.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    fields = [
        "label",
        "implicit",
        "rank",
        "reg",
        "alpha",
        key,
        "recall@" + key.split("@")[1],
        "ndcg@" + key.split("@")[1],
        "map",
        "rmse",
        "mae",
        "seconds",
    ]
    with open(os.path.join(out_dir, "tune.csv"), "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(report["results"])
    plot(report, os.path.join(out_dir, "tune.png"), key)


def plot(report: dict, path: str, key: str) -> None:
    import matplotlib  # noqa: PLC0415 (only the tuning job draws)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = report["results"]
    explicit = [r for r in rows if r.get("rmse") is not None]
    fig, axes = plt.subplots(
        1,
        2 if explicit else 1,
        figsize=(13 if explicit else 8, 0.35 * len(rows) + 2),
        squeeze=False,
    )
    ax = axes[0][0]
    labels = [r["label"] for r in rows][::-1]
    values = [r[key] for r in rows][::-1]
    colors = ["tab:blue" if r["implicit"] else "tab:orange" for r in rows][::-1]
    ax.barh(labels, values, color=colors)
    ax.axvline(report["popularity"][key], color="black", linestyle="--", label="most popular")
    ax.set_xlabel(key + " (validation)")
    ax.set_title(f"{key}: implicit (blue), explicit (orange)")
    ax.legend(loc="lower right")
    if explicit:
        ax2 = axes[0][1]
        ax2.barh(
            [r["label"] for r in explicit][::-1],
            [r["rmse"] for r in explicit][::-1],
            color="tab:orange",
        )
        ax2.axvline(report["popularity"]["rmse"], color="black", linestyle="--", label="movie mean")
        ax2.set_xlabel("RMSE (validation)")
        ax2.set_title("RMSE of the explicit configurations")
        ax2.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    common.setup_logging()
    args = parser().parse_args(argv)
    spark = common.spark_session("movielens-tune", args.master)
    try:
        report = run(spark, args)
    finally:
        spark.stop()
    best, key = report["best"], f"precision@{args.k}"
    log.info(
        "best: %s %s %.4f (shipped %.4f, popularity %.4f); reports in %s and %s",
        best["label"],
        key,
        best[key],
        report["shipped"][key],
        report["popularity"][key],
        args.out,
        tuning.tune_dir(args.models),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
