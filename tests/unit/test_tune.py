"""The tuning job's configuration space and reports (the Spark part runs in test_train)."""

from __future__ import annotations

import json

from jobs import tune


def test_grid_and_random_sample():
    args = tune.parser().parse_args(["--ranks", "8,16", "--regs", "0.1", "--alphas", "1,3"])
    grid = tune.configurations(args)
    assert len(grid) == 2 * 2 + 2  # implicit: ranks x alphas; explicit: ranks
    assert sum(not c["implicit"] for c in grid) == 2
    args = tune.parser().parse_args(["--random", "3", "--seed", "1"])
    sample = tune.configurations(args)
    assert len(sample) == 3 and sample == tune.configurations(args)


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
