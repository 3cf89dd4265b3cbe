"""Which ALS setting a training uses and why: command line, environment, tuned, defaults."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from jobs.reco import tuning
from jobs.reco.tuning import DEFAULTS, TunedSettingError
from tests import localplay

ROLE = Path(__file__).resolve().parents[2] / "roles" / "movielens"

INPUT = "hdfs:///processed/ml-100k"
PATH = "hdfs:///models/tune/best.json"
TUNED = {"rank": 48, "reg": 0.35, "alpha": 0.5, "max_iter": 12, "implicit": True}
NOTHING_GIVEN = dict.fromkeys(DEFAULTS)


def best_file(**changes) -> str:
    record = tuning.best_record(
        {**TUNED, "precision@10": 0.4213},
        metric="precision@10",
        settings=12,
        shipped_value=0.4071,
        popularity_value=0.2218,
        input_path=INPUT,
        split={"method": "random", "test_fraction": 0.25, "validation_fraction": 0.2, "seed": 42},
        tuned_at="2026-11-26T22:40:00Z",
        report="hdfs:///models/tune/tune.json",
    )
    return json.dumps(record | changes)


def tuned() -> tuning.Tuned:
    return tuning.parse(best_file(), PATH, INPUT)


def test_the_tuned_setting_wins_over_the_defaults_and_says_why():
    params, sources, why = tuning.resolve(NOTHING_GIVEN, {}, tuned())
    assert params == TUNED
    assert set(sources.values()) == {tuning.TUNED}
    assert why == (
        f"tuned: best precision@10 0.4213 of 12 settings in tune run 2026-11-26T22:40:00Z ({PATH})"
    )


def test_command_line_then_environment_win_over_the_tuned_setting():
    given = NOTHING_GIVEN | {"rank": 64}
    environ = {"MOVIELENS_RANK": "8", "MOVIELENS_ALPHA": "2", "MOVIELENS_IMPLICIT": "True"}
    params, sources, why = tuning.resolve(given, environ, tuned())
    assert params == {"rank": 64, "reg": 0.35, "alpha": 2.0, "max_iter": 12, "implicit": True}
    assert sources == {
        "rank": tuning.COMMAND_LINE,
        "reg": tuning.TUNED,
        "alpha": tuning.ENVIRONMENT,
        "max_iter": tuning.TUNED,
        "implicit": tuning.ENVIRONMENT,
    }
    assert why.startswith(
        "rank: command line; reg, max_iter: tuned: best precision@10 0.4213 of 12 settings"
    )
    assert why.endswith(
        "; alpha: environment (MOVIELENS_ALPHA); implicit: environment (MOVIELENS_IMPLICIT)"
    )


def test_without_a_tuned_setting_the_defaults_say_why_not():
    params, sources, why = tuning.resolve(NOTHING_GIVEN, {"MOVIELENS_REG": ""}, None, "no file")
    assert params == DEFAULTS and set(sources.values()) == {tuning.SHIPPED}
    assert why == "shipped defaults (no file)"
    assert tuning.resolve(NOTHING_GIVEN, {}, None)[2] == "shipped defaults"


def test_a_bad_environment_setting_stops_with_its_name():
    with pytest.raises(ValueError, match="MOVIELENS_RANK: rank must be a whole number, not '3.5'"):
        tuning.resolve(NOTHING_GIVEN, {"MOVIELENS_RANK": "3.5"}, None)
    with pytest.raises(ValueError, match="MOVIELENS_IMPLICIT: implicit must be true or false"):
        tuning.resolve(NOTHING_GIVEN, {"MOVIELENS_IMPLICIT": "yes please"}, None)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "is not JSON"),
        ("{nope", "is not JSON"),
        ("[1, 2]", "has no 'params' object"),
        (best_file(params="rank 32"), "has no 'params' object"),
        (best_file(params={"rank": 32}), "lacks params.reg, params.alpha"),
        (json.dumps({"params": TUNED}), "lacks metric, value, settings, tuned_at, input"),
        (best_file(params=TUNED | {"rank": 0}), "rank must be positive, not 0"),
        (best_file(params=TUNED | {"rank": 32.5}), "rank must be a whole number, not 32.5"),
        (best_file(params=TUNED | {"reg": "a lot"}), "reg must be a number, not 'a lot'"),
        (best_file(params=TUNED | {"alpha": -1}), "alpha must be >= 0, not -1"),
        (best_file(params=TUNED | {"alpha": None}), "alpha must be a number, not None"),
        (best_file(params=TUNED | {"implicit": 1}), "implicit must be true or false, not 1"),
        (best_file(value="high"), "value must be a number, not 'high'"),
        (best_file(input="hdfs:///processed/ml-25m"), "was tuned on hdfs:///processed/ml-25m"),
    ],
)
def test_a_malformed_or_foreign_file_is_refused_with_the_reason(text, said):
    with pytest.raises(TunedSettingError, match="^" + PATH) as refused:
        tuning.parse(text, PATH, INPUT)
    assert said in str(refused.value)


def test_the_file_round_trips_and_tolerates_a_trailing_slash():
    again = tuning.parse(best_file(), PATH, INPUT + "/")
    assert again.params == TUNED
    assert again.record["shipped_value"] == 0.4071 and again.record["split"]["method"] == "random"
    assert tuning.best_path("hdfs:///models/") == "hdfs:///models/tune/best.json"


@pytest.mark.parametrize(
    ("movielens_train", "expected"),
    [
        ({}, {}),
        (
            {"rank": 64, "alpha": 0.5, "implicit": False},
            {"rank": 64, "alpha": 0.5, "implicit": False},
        ),
    ],
)
def test_the_roles_movielens_train_reaches_the_job_as_its_environment(
    tmp_path, movielens_train, expected
):
    """The role's movielens_train, rendered by Ansible, read back by the training job."""
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": [str(ROLE / "defaults/main.yml"), str(ROLE / "vars/main.yml")],
            "tasks": [
                {
                    "ansible.builtin.copy": {
                        "content": "{{ movielens_train_environment | to_json }}",
                        "dest": str(tmp_path / "environment.json"),
                        "mode": "0644",
                    }
                }
            ],
        }
    ]
    (tmp_path / "vars.json").write_text(json.dumps({"movielens_train": movielens_train}))
    inventory = {"all": {"hosts": {"localhost": host}}}
    result = localplay.run(
        tmp_path, inventory, yaml.safe_dump(play), "-e", f"@{tmp_path / 'vars.json'}"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    environ = json.loads((tmp_path / "environment.json").read_text())
    assert sorted(environ) == sorted(tuning.env_name(name) for name in expected)
    params, sources, _ = tuning.resolve(NOTHING_GIVEN, environ, tuned())
    assert params == TUNED | expected
    assert {n for n, s in sources.items() if s == tuning.ENVIRONMENT} == set(expected)
