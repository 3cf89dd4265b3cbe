"""ALS settings: the shipped defaults, the tuned setting, and which one a training uses, and why.

``jobs.tune`` writes its best setting to ``<models>/tune/best.json``::

    {"params": {"rank": 32, "reg": 0.2, "alpha": 0.3, "max_iter": 10, "implicit": true},
     "metric": "precision@10", "value": 0.2712, "settings": 12, "shipped_value": 0.2650,
     "popularity_value": 0.1410, "input": "hdfs:///processed/ml-100k",
     "split": {"method": "time", "test_fraction": 0.2, "validation_fraction": 0.2, "seed": 42},
     "tuned_at": "2026-11-26T22:40:00Z", "report": "hdfs:///models/tune/tune.json"}

``jobs.train`` takes each setting (rank, reg, alpha, max_iter, implicit) from the first of:

1. its command line (``--rank 64``);
2. the environment (``MOVIELENS_RANK``, ``MOVIELENS_REG``, ``MOVIELENS_ALPHA``,
   ``MOVIELENS_MAX_ITER``, ``MOVIELENS_IMPLICIT``: the movielens role's ``movielens_train``);
3. the tuned setting, unless ``--ignore-tuning``; a file that is missing, unreadable,
   malformed or made on another input is not used, and the log says why;
4. ``DEFAULTS``.

The model version records the settings, where each came from and a sentence saying why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

# The shipped setting: implicit ALS as chosen on MovieLens 100k, offline and in Spark
# (docs/pipeline.md, "Quality on MovieLens 100k").
DEFAULTS = {"rank": 32, "reg": 0.2, "alpha": 0.3, "max_iter": 10, "implicit": True}
# Where jobs.tune keeps its reports and the best setting, under the models root.
TUNE_DIR = "tune"
BEST_FILE = TUNE_DIR + "/best.json"
COMMAND_LINE, ENVIRONMENT, TUNED, SHIPPED = "command line", "environment", "tuned", "defaults"


class TunedSettingError(ValueError):
    """The tuned setting file cannot be used; the message says why."""


def tune_dir(models: str) -> str:
    return models.rstrip("/") + "/" + TUNE_DIR


def best_path(models: str) -> str:
    return models.rstrip("/") + "/" + BEST_FILE


def env_name(name: str) -> str:
    return "MOVIELENS_" + name.upper()


def _check(name: str, value):
    """``value`` (from JSON or the environment) as setting ``name``, or ValueError."""
    kind = type(DEFAULTS[name])
    if kind is bool:
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        raise ValueError(f"{name} must be true or false, not {value!r}")
    wanted = "a whole number" if kind is int else "a number"
    if isinstance(value, str):
        try:
            value = kind(value)
        except ValueError:
            raise ValueError(f"{name} must be {wanted}, not {value!r}") from None
    number_types = int if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, number_types) or not math.isfinite(value):
        raise ValueError(f"{name} must be {wanted}, not {value!r}")
    if value < (1 if kind is int else 0):
        raise ValueError(f"{name} must be {'positive' if kind is int else '>= 0'}, not {value!r}")
    return kind(value)


@dataclass(frozen=True)
class Tuned:
    """A tuned setting as read from its file."""

    params: dict
    record: dict  # the whole file
    path: str

    @property
    def reason(self) -> str:
        r = self.record
        return (
            f"tuned: best {r['metric']} {r['value']:.4f} of {r['settings']} settings"
            f" in tune run {r['tuned_at']} ({self.path})"
        )


def best_record(
    best: Mapping,
    *,
    metric: str,
    settings: int,
    shipped_value: float | None,
    popularity_value: float,
    input_path: str,
    split: Mapping,
    tuned_at: str,
    report: str,
) -> dict:
    """The content of the best setting file, from the tuning report's best row."""
    return {
        "params": {name: _check(name, best[name]) for name in DEFAULTS},
        "metric": metric,
        "value": best[metric],
        "settings": settings,
        "shipped_value": shipped_value,
        "popularity_value": popularity_value,
        "input": input_path,
        "split": dict(split),
        "tuned_at": tuned_at,
        "report": report,
    }


def parse(text: str, path: str, input_path: str) -> Tuned:
    """The tuned setting in ``text`` (read from ``path``), for training on ``input_path``."""
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise TunedSettingError(f"{path} is not JSON ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("params"), dict):
        raise TunedSettingError(f"{path} has no 'params' object")
    missing = [k for k in ("metric", "value", "settings", "tuned_at", "input") if k not in record]
    missing += [f"params.{k}" for k in DEFAULTS if k not in record["params"]]
    if missing:
        raise TunedSettingError(f"{path} lacks {', '.join(missing)}")
    try:
        params = {name: _check(name, record["params"][name]) for name in DEFAULTS}
    except ValueError as exc:
        raise TunedSettingError(f"{path}: {exc}") from None
    if isinstance(record["value"], bool) or not isinstance(record["value"], int | float):
        raise TunedSettingError(f"{path}: value must be a number, not {record['value']!r}")
    if str(record["input"]).rstrip("/") != input_path.rstrip("/"):
        raise TunedSettingError(f"{path} was tuned on {record['input']}, not on {input_path}")
    return Tuned(params, record, path)


def resolve(
    command_line: Mapping, environ: Mapping[str, str], tuned: Tuned | None, fallback: str = ""
) -> tuple[dict, dict, str]:
    """(settings, where each came from, why) following the precedence above.

    ``command_line`` holds the settings given as options (None: not given); ``fallback`` says
    why no tuned setting is used, for the shipped defaults' part of the why.
    """
    params, sources, reasons = {}, {}, {}
    for name, default in DEFAULTS.items():
        if command_line.get(name) is not None:
            value, source, reason = command_line[name], COMMAND_LINE, "command line"
        elif environ.get(env_name(name), "") != "":
            try:
                value = _check(name, environ[env_name(name)])
            except ValueError as exc:
                raise ValueError(f"{env_name(name)}: {exc}") from None
            source, reason = ENVIRONMENT, f"environment ({env_name(name)})"
        elif tuned is not None:
            value, source, reason = tuned.params[name], TUNED, tuned.reason
        else:
            value, source = default, SHIPPED
            reason = "shipped defaults" + (f" ({fallback})" if fallback else "")
        params[name], sources[name], reasons[name] = value, source, reason
    return params, sources, why(reasons)


def why(reasons: Mapping[str, str]) -> str:
    """One sentence: the reason, or for mixed sources each reason with its settings."""
    groups: dict[str, list[str]] = {}
    for name, reason in reasons.items():
        groups.setdefault(reason, []).append(name)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in groups.items())
