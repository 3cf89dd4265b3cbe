"""Offline quality of recommendation models on MovieLens 100k, measured with numpy.

    python -m tools.bench.models --data /tmp/ml-100k            # ratings.csv (latest layout)
    python -m tools.bench.models --wheel recbole-1.2.1-py3-none-any.whl --data /tmp/ml-100k

Protocol (per user 75 % / 25 %, as the published ml-100k figures): per user, a seeded random
25 % of the ratings held out (``n * 0.25`` rounded to the nearest whole number, ties to
even, as ``jobs.reco.split`` counts them), the rest trains. Ranking: the top 10 of the
movies the user did not rate in training, relevant = any held-out movie, precision@10 and
NDCG@10 of ``jobs.reco.metrics`` averaged over the users with a held-out movie. Rating
prediction: RMSE on every held-out rating.

Families (each an exact numpy version of what the pipeline would train):

* ``implicit-als``: Spark's implicit ALS (confidence ``1 + alpha * r``, preference ``r > 0``,
  ``regParam`` scaled by each user's or movie's number of ratings, ALS-WR), both half-steps
  solved like ``jobs.reco.foldin`` solves the user's;
* ``refined-als``: ``implicit-als``, then one more pass, movies then users, regularised by
  ``refine_reg * n ** 0.5`` instead of ``reg * n`` (``jobs.reco.refine``);
* ``ease``: Steck's EASE, ``B = I - P diag(1 / diag P)`` with ``P = (X^T X + lambda I)^-1``
  on the 0/1 matrix of who rated what; a user's scores are ``x_u B``;
* ``baseline``: explicit ratings as ``mu + b_u + b_i`` (regularised baseline predictors);
* ``biased-als``: the baseline plus Spark's explicit ALS-WR on its residuals;
* ``biased-als-joint``: the same model with each bias solved together with the factors in
  every half-step (which Spark's ALS cannot do);
* ``blend``: a rating as a linear blend of three predictors: ``biased-als``, the baseline
  plus an item neighbourhood on its residuals (Koren's shrunk Pearson-baseline similarity,
  the ``neighbours`` most similar movies the user rated), and the served implicit model's
  preference; the weights fitted by least squares on a validation part carved out of the
  training ratings, the predictors then fitted again on all of them;
* ``popularity``: the most-rated movies the user has not rated.

Settings are chosen on a validation split carved out of the training part of the first
split (the same per-user 25 %), so the held-out part is never searched on; settings within
``--tolerance`` of the best count as ties and the cheapest wins (smallest rank, then fewest
iterations). The chosen setting of each family is then trained on the whole training part
and scored on the held-out part of ``--splits`` seeded splits. Prints progress and a table,
writes ``docs/benchmarks/models.json`` (every searched row too). Run it with
``OMP_NUM_THREADS=1`` on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jobs.reco import metrics, neighbours, rating, refine, tuning

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "docs" / "benchmarks" / "models.json"
K = 10


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratings:
    """Ratings as dense indices: ``user[j]`` rated ``item[j]`` with ``value[j]``."""

    user: np.ndarray  # int, 0..n_users-1
    item: np.ndarray  # int, 0..n_items-1
    value: np.ndarray  # float64
    n_users: int
    n_items: int

    def subset(self, mask: np.ndarray) -> Ratings:
        return Ratings(
            self.user[mask], self.item[mask], self.value[mask], self.n_users, self.n_items
        )

    def __len__(self) -> int:
        return len(self.value)


def load_ratings(path: str | os.PathLike) -> Ratings:
    """``ratings.csv`` (``userId,movieId,rating,timestamp``) with ids mapped to 0..n-1."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    users = np.array([int(r[0]) for r in rows])
    movies = np.array([int(r[1]) for r in rows])
    values = np.array([float(r[2]) for r in rows])
    _, u = np.unique(users, return_inverse=True)
    _, i = np.unique(movies, return_inverse=True)
    return Ratings(u, i, values, int(u.max()) + 1, int(i.max()) + 1)


def random_split(
    data: Ratings, fraction: float, seed: int, min_ratings: int = 5
) -> tuple[Ratings, Ratings]:
    """Per user, a seeded random ``n * fraction`` of the ratings held out, rounded to the
    nearest whole number, ties to even; users with fewer than ``min_ratings`` ratings kept
    whole in the training part (``jobs.reco.split``'s rule)."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(data)), data.user))
    counts = np.bincount(data.user, minlength=data.n_users)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.empty(len(data), dtype=np.int64)
    position[order] = np.arange(len(data)) - np.repeat(starts, counts)
    held = (position < np.round(counts * fraction)[data.user]) & (counts >= min_ratings)[data.user]
    return data.subset(~held), data.subset(held)


def by_row(data: Ratings, transpose: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each user (or each item with ``transpose``): (the other side's indices, values)."""
    rows, cols = (data.item, data.user) if transpose else (data.user, data.item)
    n = data.n_items if transpose else data.n_users
    order = np.argsort(rows, kind="stable")
    bounds = np.searchsorted(rows[order], np.arange(n + 1))
    cols, values = cols[order], data.value[order]
    return [(cols[a:b], values[a:b]) for a, b in itertools.pairwise(bounds)]


# --- evaluation -----------------------------------------------------------------------------


def top_k(scores: np.ndarray, train: Ratings, k: int = K) -> np.ndarray:
    """Each user's ``k`` best-scoring items among those not rated in ``train``; items
    without a training rating are never recommended (Spark's models have no factors for
    them)."""
    scores = scores.astype(np.float64, copy=True)
    scores[train.user, train.item] = -np.inf
    scores[:, np.bincount(train.item, minlength=train.n_items) == 0] = -np.inf
    best = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1)


def ranking(scores: np.ndarray, train: Ratings, test: Ratings, k: int = K) -> dict[str, float]:
    """precision@k and NDCG@k of ``jobs.reco.metrics``, every held-out movie relevant."""
    recs = top_k(scores, train, k)
    held = zip(test.user.tolist(), test.item.tolist(), test.value.tolist(), strict=True)
    relevant = metrics.relevant_items(held, threshold=None)
    report = metrics.ranking_report({u: recs[u].tolist() for u in relevant}, relevant, k)
    return {"precision@10": report[f"precision@{k}"], "ndcg@10": report[f"ndcg@{k}"]}


# --- ALS, as Spark solves it ----------------------------------------------------------------

CHUNK = 128  # rows solved together (one batched LAPACK call)


def initial_factors(n: int, rank: int, rng: np.random.Generator) -> np.ndarray:
    """Spark's start: Gaussian rows scaled to unit length."""
    x = rng.standard_normal((n, rank))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _solve_rows(systems: Iterable[tuple[np.ndarray, np.ndarray]], rank: int) -> np.ndarray:
    """Solve ``A x = b`` for each ``(A, b)``, in batches of ``CHUNK``."""
    out, a_batch, b_batch = [], [], []
    for a, b in systems:
        a_batch.append(a)
        b_batch.append(b)
        if len(a_batch) == CHUNK:
            out.append(np.linalg.solve(np.stack(a_batch), np.stack(b_batch)[..., None])[..., 0])
            a_batch, b_batch = [], []
    if a_batch:
        out.append(np.linalg.solve(np.stack(a_batch), np.stack(b_batch)[..., None])[..., 0])
    return np.concatenate(out) if out else np.zeros((0, rank))


def implicit_half_step(
    fixed: np.ndarray,
    rows: Sequence[tuple[np.ndarray, np.ndarray]],
    reg: float,
    alpha: float,
    exponent: float = 1.0,
) -> np.ndarray:
    """One side's factors from the other's (``jobs.reco.foldin.system_implicit`` per row):
    ``(F^T F + F_I^T (C - I) F_I + reg * n^exponent * I)^-1 F_I^T C p`` with
    ``C = 1 + alpha * |r|``, ``p = r > 0`` and ``n`` the number of positive ratings of the
    row."""
    rank = fixed.shape[1]
    gram, eye = fixed.T @ fixed, np.eye(rank)

    def systems():
        for cols, values in rows:
            f = fixed[cols]
            c1 = alpha * np.abs(values)
            positive = values > 0
            a = gram + (f * c1[:, None]).T @ f + reg * float(positive.sum()) ** exponent * eye
            yield a, f.T @ np.where(positive, 1.0 + c1, 0.0)

    return _solve_rows(systems(), rank)


def explicit_half_step(
    fixed: np.ndarray, rows: Sequence[tuple[np.ndarray, np.ndarray]], reg: float
) -> np.ndarray:
    """ALS-WR: ``(F_I^T F_I + reg * n * I)^-1 F_I^T r`` per row (zeros for a row without
    ratings: Spark has no factors for it)."""
    rank = fixed.shape[1]
    eye = np.eye(rank)

    def systems():
        for cols, values in rows:
            f = fixed[cols]
            yield f.T @ f + reg * max(len(values), 1) * eye, f.T @ values

    return _solve_rows(systems(), rank)


def als(
    train: Ratings,
    rank: int,
    reg: float,
    iterations: int,
    *,
    alpha: float | None = None,
    seed: int = 42,
    every: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Spark's ALS loop (items from users, then users from items, ``iterations`` times);
    implicit when ``alpha`` is given. ``every(iteration, users, items)`` after each one."""
    rng = np.random.default_rng(seed)
    users = initial_factors(train.n_users, rank, rng)
    items = initial_factors(train.n_items, rank, rng)
    user_rows, item_rows = by_row(train), by_row(train, transpose=True)
    for iteration in range(1, iterations + 1):
        if alpha is None:
            items = explicit_half_step(users, item_rows, reg)
            users = explicit_half_step(items, user_rows, reg)
        else:
            items = implicit_half_step(users, item_rows, reg, alpha)
            users = implicit_half_step(items, user_rows, reg, alpha)
        if every is not None:
            every(iteration, users, items)
    return users, items


# --- EASE -----------------------------------------------------------------------------------


def interactions(train: Ratings) -> np.ndarray:
    """The 0/1 users x items matrix of who rated what."""
    x = np.zeros((train.n_users, train.n_items))
    x[train.user, train.item] = 1.0
    return x


def ease(train: Ratings, lam: float) -> np.ndarray:
    """Steck's EASE item-item weights: ``B = I - P diag(1 / diag P)``,
    ``P = (X^T X + lam * I)^-1`` (``B`` has a zero diagonal)."""
    x = interactions(train)
    p = np.linalg.inv(x.T @ x + lam * np.eye(train.n_items))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


# --- explicit: baseline predictors and ALS on the residuals ---------------------------------


@dataclass(frozen=True)
class Baseline:
    """``mu + b_u + b_i``; a user or movie without training ratings has a zero bias."""

    mu: float
    user_bias: np.ndarray
    item_bias: np.ndarray

    def predict(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        return self.mu + self.user_bias[user] + self.item_bias[item]

    def scores(self) -> np.ndarray:
        """Users x movies."""
        return self.mu + self.user_bias[:, None] + self.item_bias[None, :]


def fit_baseline(train: Ratings, user_reg: float, item_reg: float, passes: int = 10) -> Baseline:
    """Regularised baseline predictors by alternating least squares (Koren):
    ``b_i = sum(r - mu - b_u) / (item_reg + n_i)``, then
    ``b_u = sum(r - mu - b_i) / (user_reg + n_u)``, ``passes`` times."""
    mu = float(train.value.mean())
    n_u = np.bincount(train.user, minlength=train.n_users)
    n_i = np.bincount(train.item, minlength=train.n_items)
    b_u, b_i = np.zeros(train.n_users), np.zeros(train.n_items)
    for _ in range(passes):
        residual = train.value - mu - b_u[train.user]
        b_i = np.bincount(train.item, residual, train.n_items) / np.maximum(item_reg + n_i, 1)
        residual = train.value - mu - b_i[train.item]
        b_u = np.bincount(train.user, residual, train.n_users) / np.maximum(user_reg + n_u, 1)
    return Baseline(mu, b_u, b_i)


def residuals(train: Ratings, baseline: Baseline) -> Ratings:
    """The training ratings minus the baseline: what ALS learns in the biased model."""
    value = train.value - baseline.predict(train.user, train.item)
    return Ratings(train.user, train.item, value, train.n_users, train.n_items)


def biased_half_step(
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    rows: Sequence[tuple[np.ndarray, np.ndarray]],
    mu: float,
    reg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """ALS-WR with the bias solved together with the factors: ``[x; b]`` from
    ``[F_I, 1]`` against ``r - mu - b_other``, ``reg * n`` on both (zeros without ratings)."""
    rank = fixed.shape[1]
    augmented = np.hstack([fixed, np.ones((len(fixed), 1))])
    eye = np.eye(rank + 1)

    def systems():
        for cols, values in rows:
            f = augmented[cols]
            yield f.T @ f + reg * max(len(values), 1) * eye, f.T @ (values - mu - fixed_bias[cols])

    solution = _solve_rows(systems(), rank + 1)
    return solution[:, :rank], solution[:, rank]


@dataclass(frozen=True)
class BiasedModel:
    """``mu + b_u + b_i + x_u . y_i``."""

    baseline: Baseline
    users: np.ndarray
    items: np.ndarray

    def predict(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        dot = np.einsum("jk,jk->j", self.users[user], self.items[item])
        return self.baseline.predict(user, item) + dot

    def scores(self) -> np.ndarray:
        return self.baseline.scores() + self.users @ self.items.T


def biased_als(
    train: Ratings,
    rank: int,
    reg: float,
    iterations: int,
    bias_regs: tuple[float, float],
    *,
    joint: bool = False,
    seed: int = 42,
) -> BiasedModel:
    """Baseline predictors (``bias_regs`` = user, movie) then ALS-WR on the residuals, as
    Spark's explicit ALS would learn them from a residual column; with ``joint`` the biases
    are solved again in every half-step, together with the factors."""
    baseline = fit_baseline(train, *bias_regs)
    if not joint:
        users, items = als(residuals(train, baseline), rank, reg, iterations, seed=seed)
        return BiasedModel(baseline, users, items)
    rng = np.random.default_rng(seed)
    users = initial_factors(train.n_users, rank, rng)
    items = initial_factors(train.n_items, rank, rng)
    b_u, b_i = baseline.user_bias, baseline.item_bias
    user_rows, item_rows = by_row(train), by_row(train, transpose=True)
    for _ in range(iterations):
        items, b_i = biased_half_step(users, b_u, item_rows, baseline.mu, reg)
        users, b_u = biased_half_step(items, b_i, user_rows, baseline.mu, reg)
    return BiasedModel(Baseline(baseline.mu, b_u, b_i), users, items)


def biased_of(train: Ratings, settings: dict, joint: bool = False) -> BiasedModel:
    """``biased_als`` with a setting's rank, reg, iterations, user_reg and item_reg."""
    bias_regs = (settings["user_reg"], settings["item_reg"])
    rank, reg, iterations = settings["rank"], settings["reg"], settings["iterations"]
    return biased_als(train, rank, reg, iterations, bias_regs, joint=joint)


# --- an item neighbourhood on the baseline's residuals, and a blend -------------------------


def item_similarities(train: Ratings, baseline: Baseline, shrink: float) -> np.ndarray:
    """Every two movies' shrunk Pearson-baseline similarity on the residuals of ``baseline``
    (``jobs.reco.neighbours.similarities``, what the served model's neighbourhood keeps the
    strongest of)."""
    e = train.value - baseline.predict(train.user, train.item)
    return neighbours.similarities(train.user, train.item, e, train.n_items, shrink)


def neighbour_scores(
    train: Ratings, baseline: Baseline, similarity: np.ndarray, k: int
) -> np.ndarray:
    """Users x movies: of the ``k`` movies the user rated most similar to the movie, those of
    positive similarity ``s_j``, their residuals ``e_j`` averaged: ``sum(s e) / sum(s)``
    (0 without any)."""
    out = np.zeros((train.n_users, train.n_items))
    residual = residuals(train, baseline)
    for u, (items, values) in enumerate(by_row(residual)):
        if not len(items):
            continue
        s = similarity[:, items]
        e = np.broadcast_to(values, s.shape)
        if len(items) > k:
            nearest = np.argpartition(-s, k, axis=1)[:, :k]
            s, e = np.take_along_axis(s, nearest, 1), np.take_along_axis(e, nearest, 1)
        s = np.maximum(s, 0.0)
        total = s.sum(axis=1)
        out[u] = np.divide((s * e).sum(axis=1), total, out=np.zeros(len(total)), where=total > 0)
    return out


# The served ranking model, the blend's implicit predictor.
RANKING = {
    "rank": tuning.DEFAULTS["rank"],
    "reg": tuning.DEFAULTS["reg"],
    "alpha": tuning.DEFAULTS["alpha"],
    "iterations": tuning.DEFAULTS["max_iter"],
}
BLEND_SEED = 7  # of the validation part the blend's weights are fitted on


def blend_predictors(train: Ratings, settings: dict) -> list[np.ndarray]:
    """The blend's three predictors, each users x movies: biased ALS, the baseline plus the
    item neighbourhood on its residuals, the implicit model's preference."""
    biased = biased_of(train, settings)
    base = biased.baseline
    similarity = item_similarities(train, base, settings["shrink"])
    near = neighbour_scores(train, base, similarity, settings["neighbours"])
    r = RANKING
    users, items = als(train, r["rank"], r["reg"], r["iterations"], alpha=r["alpha"])
    return [biased.scores(), base.scores() + near, users @ items.T]


def blend_weights(train: Ratings, settings: dict, fraction: float = 0.25) -> np.ndarray:
    """Intercept and one weight per predictor, by least squares on a validation part of
    ``train`` (per user, ``fraction`` held out), the predictors fitted on the rest."""
    fit, valid = random_split(train, fraction, BLEND_SEED)
    columns = [p[valid.user, valid.item] for p in blend_predictors(fit, settings)]
    x = np.column_stack([np.ones(len(valid)), *columns])
    return np.linalg.lstsq(x, valid.value, rcond=None)[0]


def rating_rmse(predict: np.ndarray, test: Ratings, low: float, high: float) -> float:
    """RMSE of ``jobs.reco.metrics`` with predictions clipped to the rating scale."""
    return metrics.rmse(np.clip(predict, low, high), test.value)


# --- families: what is fitted, how it is scored ---------------------------------------------

Report = Callable[[dict, np.ndarray, Callable | None], None]
SHIPPED = {"rank": 16, "reg": 0.2, "alpha": 1.0, "iterations": 10}  # shipped before RANKING
# The served rating model, the blend's first predictor.
RATING = {
    "user_reg": rating.DEFAULTS["bias_reg"],
    "item_reg": rating.DEFAULTS["bias_reg"],
    "rank": rating.DEFAULTS["rating_rank"],
    "reg": rating.DEFAULTS["rating_reg"],
    "iterations": rating.DEFAULTS["rating_max_iter"],
}


def fit_popularity(train: Ratings, settings: dict, report: Report) -> None:
    """Every user gets the movies by number of training ratings."""
    counts = np.bincount(train.item, minlength=train.n_items).astype(float)
    report(settings, np.tile(counts, (train.n_users, 1)), None)


def fit_implicit(train: Ratings, settings: dict, report: Report, checkpoints=()) -> None:
    """Implicit ALS, reported after ``settings['iterations']`` and after each checkpoint."""
    stops = set(checkpoints) | {settings["iterations"]}

    def every(iteration: int, users: np.ndarray, items: np.ndarray) -> None:
        if iteration in stops:
            report({**settings, "iterations": iteration}, users @ items.T, None)

    rank, reg, alpha = settings["rank"], settings["reg"], settings["alpha"]
    als(train, rank, reg, max(stops), alpha=alpha, every=every)


def fit_refined(train: Ratings, settings: dict, report: Report) -> None:
    """Implicit ALS, then ``jobs.reco.refine``'s pass: movies, then users, regularised by
    ``refine_reg * n ** refine.EXPONENT``."""
    alpha = settings["alpha"]
    users, _ = als(train, settings["rank"], settings["reg"], settings["iterations"], alpha=alpha)
    last = (settings["refine_reg"], alpha, refine.EXPONENT)
    items = implicit_half_step(users, by_row(train, transpose=True), *last)
    users = implicit_half_step(items, by_row(train), *last)
    report(settings, users @ items.T, None)


def fit_ease(train: Ratings, settings: dict, report: Report) -> None:
    report(settings, interactions(train) @ ease(train, settings["lambda"]), None)


def fit_baseline_only(train: Ratings, settings: dict, report: Report) -> None:
    baseline = fit_baseline(train, settings["user_reg"], settings["item_reg"])
    report(settings, baseline.scores(), baseline.predict)


def fit_biased(train: Ratings, settings: dict, report: Report, joint: bool = False) -> None:
    model = biased_of(train, settings, joint)
    report(settings, model.scores(), model.predict)


def fit_biased_joint(train: Ratings, settings: dict, report: Report) -> None:
    fit_biased(train, settings, report, joint=True)


def fit_blend(train: Ratings, settings: dict, report: Report) -> None:
    weights = blend_weights(train, settings)
    predictors = blend_predictors(train, settings)
    scores = weights[0] + sum(w * p for w, p in zip(weights[1:], predictors, strict=True))
    used = {**settings, "weights": [round(float(w), 4) for w in weights]}
    report(used, scores, lambda user, item: scores[user, item])


@dataclass(frozen=True)
class Family:
    """A model family: how to fit one setting, and what the search optimises."""

    name: str
    fit: Callable[..., None]
    explicit: bool  # chosen by RMSE (lowest), else by NDCG@10 (highest)
    what: str

    def loss(self, row: dict) -> float:
        """What the search minimises: RMSE, or minus NDCG@10."""
        return row["rmse"] if self.explicit else -row["ndcg@10"]

    def choose(self, rows: Sequence[dict], tolerance: float) -> dict:
        """The cheapest row (smallest rank, then fewest iterations) whose loss is within
        ``tolerance`` of the best one: differences that small are noise of one split."""
        best = min(self.loss(row) for row in rows)
        near = [row for row in rows if self.loss(row) <= best + tolerance]
        return min(near, key=lambda r: (r.get("rank", 0), r.get("iterations", 0), self.loss(r)))


FAMILIES = {
    f.name: f
    for f in (
        Family("popularity", fit_popularity, False, "most-rated movies"),
        Family("implicit-als", fit_implicit, False, "Spark's implicit ALS"),
        Family("refined-als", fit_refined, False, "implicit ALS and a pass, reg * n ** 0.5"),
        Family("ease", fit_ease, False, "EASE on who rated what"),
        Family("baseline", fit_baseline_only, True, "mu + b_u + b_i"),
        Family("biased-als", fit_biased, True, "baseline, then ALS-WR on the residuals"),
        Family("biased-als-joint", fit_biased_joint, True, "ALS-WR solving the biases too"),
        Family("blend", fit_blend, True, "biased ALS, neighbours and preference, blended"),
    )
}


def run(family: Family, train: Ratings, test: Ratings, settings: dict, **extra) -> list[dict]:
    """Fit one setting on ``train``; one row of figures on ``test`` per reported model."""
    rows, started = [], time.monotonic()
    low, high = float(train.value.min()), float(train.value.max())

    def report(used: dict, scores: np.ndarray, predict: Callable | None) -> None:
        row = {"family": family.name, **used, **ranking(scores, train, test)}
        row["rmse"] = (
            rating_rmse(predict(test.user, test.item), test, low, high) if predict else None
        )
        row["seconds"] = round(time.monotonic() - started, 1)
        rows.append(row)

    family.fit(train, settings, report, **extra)
    return rows


# --- search and measurement -----------------------------------------------------------------


def grid(**values: Sequence) -> list[dict]:
    """Every combination of the named values."""
    names = list(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]


def search(family: Family, settings: list[dict], fit: Ratings, valid: Ratings, **extra) -> list:
    """Each setting on the validation split: its rows of figures, printed as they come."""
    rows = []
    for i, setting in enumerate(settings, start=1):
        for row in run(family, fit, valid, setting, **extra):
            print(f"  [{i}/{len(settings)}] {describe(row)}", flush=True)
            rows.append(row)
    return rows


def measure(family: Family, setting: dict, splits: Sequence[tuple[Ratings, Ratings]]) -> dict:
    """One setting on the held-out part of each split, and the mean over the splits."""
    per_split = [run(family, train, test, setting)[-1] for train, test in splits]
    mean = {
        key: float(np.mean([row[key] for row in per_split]))
        for key in ("precision@10", "ndcg@10", "rmse", "seconds")
        if per_split[0][key] is not None
    }
    return {"settings": setting, "splits": per_split, "mean": mean}


SETTING_KEYS = (
    "rank",
    "reg",
    "alpha",
    "iterations",
    "refine_reg",
    "lambda",
    "user_reg",
    "item_reg",
    "neighbours",
    "shrink",
)


def settings_of(row: dict) -> dict:
    return {k: row[k] for k in SETTING_KEYS if k in row}


def describe(row: dict) -> str:
    settings = " ".join(f"{k}={v:g}" for k, v in settings_of(row).items())
    figures = f"P@10 {row['precision@10']:.4f} NDCG@10 {row['ndcg@10']:.4f}"
    if row.get("rmse") is not None:
        figures += f" RMSE {row['rmse']:.4f}"
    return f"{row['family']} {settings}: {figures} ({row['seconds']:.1f}s)"


def searches(args, fit: Ratings, valid: Ratings) -> tuple[dict[str, dict], dict[str, list]]:
    """The bounded search of every family on the validation split: (the chosen settings,
    every row of figures)."""
    found: dict[str, list] = {}

    def pick(name: str, rows: list) -> dict:
        found.setdefault(name, []).extend(rows)
        best = FAMILIES[name].choose(found[name], args.tolerance)
        print(f"  chosen: {describe(best)}", flush=True)
        return settings_of(best)

    chosen, wanted = {}, set(args.families)
    if "popularity" in wanted:
        chosen["popularity"] = {}
    if "implicit-als" in wanted:
        print("implicit-als", flush=True)
        family = FAMILIES["implicit-als"]
        implicit = grid(
            rank=args.ranks, reg=args.regs, alpha=args.alphas, iterations=[max(args.its)]
        )
        implicit = [s for s in implicit if s != SHIPPED] + [SHIPPED]
        rows = search(family, implicit, fit, valid, checkpoints=args.its)
        chosen["implicit-als"] = pick(family.name, rows)
        if args.wide_ranks:
            print("implicit-als, higher ranks at the chosen regParam and alpha", flush=True)
            wide = [{**chosen["implicit-als"], "rank": rank} for rank in args.wide_ranks]
            chosen["implicit-als"] = pick(family.name, search(family, wide, fit, valid))
    if "refined-als" in wanted:
        print("refined-als, on the chosen (or the served) implicit ALS", flush=True)
        implicit = chosen.get("implicit-als", RANKING)
        refined = grid(rank=args.refine_ranks, refine_reg=args.refine_regs)
        rows = search(FAMILIES["refined-als"], [{**implicit, **s} for s in refined], fit, valid)
        chosen["refined-als"] = pick("refined-als", rows)
    if "ease" in wanted:
        print("ease", flush=True)
        rows = search(FAMILIES["ease"], grid(**{"lambda": args.lambdas}), fit, valid)
        chosen["ease"] = pick("ease", rows)
    if wanted & {"baseline", "biased-als", "biased-als-joint"}:
        print("baseline", flush=True)
        biases = grid(user_reg=args.user_regs, item_reg=args.item_regs)
        bias = pick("baseline", search(FAMILIES["baseline"], biases, fit, valid))
        chosen["baseline"] = bias
    for name, ranks in (
        ("biased-als", args.explicit_ranks),
        ("biased-als-joint", args.joint_ranks),
    ):
        if name in wanted:
            print(name, flush=True)
            explicit = grid(rank=ranks, reg=args.explicit_regs, iterations=[args.explicit_its])
            rows = search(FAMILIES[name], [{**bias, **s} for s in explicit], fit, valid)
            chosen[name] = pick(name, rows)
    if "blend" in wanted:
        print("blend, on the chosen (or the served) biased ALS", flush=True)
        biased = chosen.get("biased-als", RATING)
        near = grid(neighbours=args.neighbours, shrink=args.shrinks)
        chosen["blend"] = pick(
            "blend", search(FAMILIES["blend"], [{**biased, **s} for s in near], fit, valid)
        )
    return chosen, found


# --- command line ---------------------------------------------------------------------------


def numbers(kind: type) -> Callable[[str], list]:
    return lambda text: [kind(x) for x in text.split(",") if x]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Offline quality of recommendation models on MovieLens 100k (numpy).",
        epilog="Every search is on a validation split carved from the first split's training "
        "part; the chosen settings are then scored on the held-out part of each split.",
    )
    p.add_argument("--data", required=True, help="directory with ratings.csv (latest layout)")
    p.add_argument("--wheel", help="convert ml-100k from this recbole wheel into --data first")
    p.add_argument("--out", default=str(RESULT), help="JSON report (default: %(default)s)")
    p.add_argument(
        "--families",
        type=lambda text: text.split(","),
        default=list(FAMILIES),
        help="comma-separated, of: " + ", ".join(FAMILIES),
    )
    p.add_argument("--fraction", type=float, default=0.25, help="held out per user")
    p.add_argument("--seed", type=int, default=42, help="seed of the first split")
    p.add_argument("--splits", type=int, default=3, help="seeded splits measured")
    p.add_argument("--ranks", type=numbers(int), default=[16, 32, 64], help="implicit ALS")
    p.add_argument("--regs", type=numbers(float), default=[0.1, 0.2, 0.3, 0.5], help="implicit")
    p.add_argument("--alphas", type=numbers(float), default=[0.3, 1.0, 3.0], help="implicit")
    p.add_argument("--its", type=numbers(int), default=[5, 10, 15], help="implicit iterations")
    p.add_argument(
        "--wide-ranks",
        type=numbers(int),
        default=[128, 256],
        help="ranks tried at the best regParam and alpha",
    )
    p.add_argument("--refine-ranks", type=numbers(int), default=[32, 64], help="refined ALS: ranks")
    p.add_argument(
        "--refine-regs",
        type=numbers(float),
        default=[1.2, 1.5, 1.8, 2.2, 2.7],
        help="refined ALS: the pass's reg",
    )
    p.add_argument(
        "--lambdas", type=numbers(float), default=[100, 200, 300, 500, 800, 1200], help="EASE"
    )
    p.add_argument("--user-regs", type=numbers(float), default=[3, 5, 10], help="baseline b_u")
    p.add_argument("--item-regs", type=numbers(float), default=[5, 10, 25], help="baseline b_i")
    p.add_argument("--explicit-ranks", type=numbers(int), default=[32, 64, 128], help="biased")
    p.add_argument("--joint-ranks", type=numbers(int), default=[32, 64, 128], help="joint")
    p.add_argument(
        "--explicit-regs", type=numbers(float), default=[0.1, 0.15, 0.2], help="both biased"
    )
    p.add_argument("--explicit-its", type=int, default=10, help="both biased: iterations")
    p.add_argument(
        "--neighbours", type=numbers(int), default=[10, 20, 40], help="blend: movies averaged"
    )
    p.add_argument(
        "--shrinks", type=numbers(float), default=[100, 400], help="blend: similarity shrinkage"
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.002,
        help="settings this close to the best (NDCG@10 or RMSE) count as ties; the cheapest wins",
    )
    p.add_argument(
        "--chosen",
        help="measure the settings chosen in this earlier report instead of searching",
    )
    return p


def table(measured: dict[str, dict]) -> str:
    """The figures as a Markdown table (mean over the splits)."""
    lines = [
        "| model | settings | P@10 | NDCG@10 | RMSE | seconds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, result in measured.items():
        m = result["mean"]
        settings = ", ".join(f"{k} {v:g}" for k, v in result["settings"].items()) or "-"
        rmse = f"{m['rmse']:.4f}" if "rmse" in m else "n/a"
        lines.append(
            f"| {name} | {settings} | {m['precision@10']:.4f} | {m['ndcg@10']:.4f} | {rmse} "
            f"| {m['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.wheel:
        from jobs.movielens import recbole  # noqa: PLC0415

        recbole.convert(args.wheel, args.data)
    data = load_ratings(Path(args.data) / "ratings.csv")
    print(f"{len(data)} ratings, {data.n_users} users, {data.n_items} movies", flush=True)
    splits = [random_split(data, args.fraction, args.seed + i) for i in range(args.splits)]
    started = time.monotonic()
    if args.chosen:
        chosen, found = json.loads(Path(args.chosen).read_text())["chosen"], {}
        print(f"settings chosen in {args.chosen}: {chosen}", flush=True)
    else:
        fit, valid = random_split(splits[0][0], args.fraction, args.seed + 1000)
        print(f"search: fit {len(fit)}, validation {len(valid)} ratings", flush=True)
        chosen, found = searches(args, fit, valid)
    search_seconds = round(time.monotonic() - started, 1)
    measured = {}
    shipped = [("implicit-als (shipped)", SHIPPED)] if "implicit-als" in chosen else []
    if "refined-als" in chosen:  # beside it, the same ALS without the pass
        base = {k: v for k, v in chosen["refined-als"].items() if k != "refine_reg"}
        shipped.append(("implicit-als (without the pass)", base))
    for name, setting in [*shipped, *chosen.items()]:
        family = FAMILIES[name.split()[0]]
        measured[name] = result = measure(family, setting, splits)
        for row in result["splits"]:
            print(f"  test: {describe(row)}", flush=True)
    print(table(measured))
    report = {
        "benchmark": "models",
        "data": {"ratings": len(data), "users": data.n_users, "movies": data.n_items},
        "protocol": {
            "split": f"per user, seeded random {args.fraction:g} held out",
            "seeds": [args.seed + i for i in range(args.splits)],
            "validation_seed": args.seed + 1000,
            "k": K,
            "relevant": "any held-out movie",
        },
        "search_seconds": search_seconds,
        "tolerance": args.tolerance,
        "chosen": chosen,
        "chosen_in": args.chosen,
        "measured": measured,
        "search": found,
    }
    os.makedirs(Path(args.out).parent, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
