"""The tuning job's configuration space and reports, and the best setting it publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jobs import train, tune
from jobs.movielens import synthetic
from jobs.reco import tuning

ROLE_DEFAULTS = Path(__file__).parents[2] / "roles/movielens/defaults/main.yml"


def test_grid_and_random_sample_with_the_shipped_setting_first():
    args = tune.parser().parse_args(["--ranks", "8,16", "--regs", "0.1", "--alphas", "1,3"])
    grid = tune.configurations(args)
    # the shipped setting, then implicit: ranks x alphas; explicit: ranks
    assert len(grid) == 1 + 2 * 2 + 2
    assert grid[0] == tune.SHIPPED and tune.label(grid[0]).endswith(" (shipped)")
    assert sum(not c["implicit"] for c in grid) == 2
    args = tune.parser().parse_args(["--random", "3", "--seed", "1"])
    sample = tune.configurations(args)
    assert len(sample) == 3 and sample == tune.configurations(args)
    assert sample[0] == tune.SHIPPED and tune.SHIPPED not in sample[1:]


@pytest.mark.parametrize("where", ["jobs.tune", "roles/movielens"])
def test_the_default_grids_contain_the_shipped_setting(where):
    argv = []
    if where == "roles/movielens":
        argv = yaml.safe_load(ROLE_DEFAULTS.read_text())["movielens_tune_args"].split()
    args = tune.parser().parse_args(argv)
    assert tune.SHIPPED in tune.grid(args)
    assert args.max_iter == tuning.DEFAULTS["max_iter"]
    assert {k: tuning.DEFAULTS[k] for k in ("implicit", "rank", "reg", "alpha")} == tune.SHIPPED


def test_reports_are_written(tmp_path):
    results = [
        {
            "label": "imp r8 l0.1 a1",
            "implicit": True,
            "rank": 8,
            "reg": 0.1,
            "alpha": 1.0,
            "precision@10": 0.3,
            "map": 0.2,
            "rmse": None,
        },
        {
            "label": "exp r8 l0.1",
            "implicit": False,
            "rank": 8,
            "reg": 0.1,
            "alpha": 1.0,
            "precision@10": 0.1,
            "map": 0.05,
            "rmse": 0.8,
        },
    ]
    report = {
        "results": results,
        "best": results[0],
        "popularity": {"precision@10": 0.15, "rmse": 0.9},
    }
    tune.write_reports(report, str(tmp_path), "precision@10")
    assert json.loads((tmp_path / "tune.json").read_text())["best"]["label"] == "imp r8 l0.1 a1"
    assert (tmp_path / "tune.csv").read_text().splitlines()[0].startswith("label,implicit")
    assert (tmp_path / "tune.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tuned(spark, tmp_path_factory):
    """A small tuning run on local Spark: the shipped setting and one other."""
    data_dir = tmp_path_factory.mktemp("input")
    root = tmp_path_factory.mktemp("tune")
    data = synthetic.generate(users=120, movies=300, ratings=6000, seed=7)
    synthetic.write(data, str(data_dir), "latest", seed=7)
    argv = ["--input", str(data_dir), "--out", str(root / "out"), "--models", str(root / "models")]
    argv += ["--ranks", "4", "--regs", "0.1", "--alphas", "1", "--modes", "implicit"]
    argv += ["--max-iter", "3", "--blocks", "2", "--eval-users", "100"]
    report = tune.run(spark, tune.parser().parse_args(argv))
    return data_dir, root, report


def test_the_run_scores_the_shipped_setting_and_publishes_the_best(tuned):
    data_dir, root, report = tuned
    assert [r["label"] for r in report["results"] if r["shipped"]] == [tune.label(tune.SHIPPED)]
    assert len(report["results"]) == 2 and report["shipped"]["shipped"]
    for name in tune.REPORTS:
        assert (root / "models/tune" / name).read_bytes() == (root / "out" / name).read_bytes()
    best = json.loads((root / "models" / tuning.BEST_FILE).read_text())
    winner = report["best"]
    assert best["params"] == {
        "rank": winner["rank"],
        "reg": winner["reg"],
        "alpha": winner["alpha"],
        "max_iter": 3,
        "implicit": True,
    }
    assert (best["metric"], best["value"]) == ("precision@10", winner["precision@10"])
    assert best["shipped_value"] == report["shipped"]["precision@10"]
    assert best["settings"] == 2 and best["input"] == str(data_dir)
    assert best["split"] == {
        "method": "time",
        "test_fraction": 0.2,
        "validation_fraction": 0.2,
        "seed": 42,
    }
    assert best["tuned_at"] == report["tuned_at"]
    assert best["report"] == f"{root}/models/tune/tune.json"


def test_training_then_uses_the_tuned_setting(spark, tuned, monkeypatch):
    data_dir, root, report = tuned
    for name in tuning.DEFAULTS:
        monkeypatch.delenv(tuning.env_name(name), raising=False)
    args = train.parser().parse_args(["--input", str(data_dir), "--models", str(root / "models")])
    settings = train.choose_settings(spark, args)
    assert (args.rank, args.max_iter) == (report["best"]["rank"], 3)
    assert set(settings["sources"].values()) == {"tuned"}
    assert settings["why"].startswith(
        f"tuned: best precision@10 {report['best']['precision@10']:.4f} of 2 settings in tune run"
        f" {report['tuned_at']}"
    )
