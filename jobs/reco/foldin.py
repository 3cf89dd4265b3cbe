"""Fold a user into a trained ALS model: one least-squares step against fixed item factors.

ALS alternates two least-squares problems; with the item factors ``Y`` fixed, the factors of
user ``u`` have a closed form. This module solves it exactly the way Spark's ALS does for
its last user half-step, so folding in a user the model saw reproduces the model's own user
factors (see ``tests/unit/test_foldin.py``), and a user the model never saw gets factors
(and recommendations) from their first rating on.

Notation: ``I`` the movies the user rated, ``Y_I`` their factor rows, ``r_u`` the ratings,
``n_u`` the number of ratings, ``lambda`` the regularisation (``regParam``).

Explicit feedback (Spark scales ``lambda`` by the number of ratings, "ALS-WR")::

    x_u = (Y_I^T Y_I + lambda * n_u * I)^-1  Y_I^T r_u

Implicit feedback (Hu, Koren and Volinsky, as Spark implements it): confidence
``c = 1 + alpha * |r|``, preference ``p = 1 if r > 0 else 0``, and ``n_u`` counts only the
ratings with ``r > 0``::

    x_u = (Y^T Y + Y_I^T (C_u - I) Y_I + lambda * n_u * I)^-1  Y_I^T C_u p_u

where ``Y^T Y`` runs over *all* items (``gram`` below, computed once per model).

Both are ``x_u = A^-1 Y_I^T w`` (``w = r_u``, or ``C_u p_u``), so a score is a sum over the
movies the user rated: ``y_i^T x_u = sum_j (y_i^T A^-1 y_j) w_j``. The largest terms say which
rated movies weigh most in a recommendation (the explanation Hu, Koren and Volinsky give for
implicit ALS); ``recommend`` returns them with each movie.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class ItemFactors:
    """Item factors of a model, indexed for fast lookup, with ``Y^T Y`` precomputed."""

    movie_ids: np.ndarray  # (n,) int64, sorted
    factors: np.ndarray  # (n, rank) float64
    gram: np.ndarray  # (rank, rank) = factors^T factors

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, Sequence[float]]]) -> ItemFactors:
        pairs = sorted(pairs, key=lambda p: p[0])
        if not pairs:
            raise ValueError("no item factors")
        ids = np.array([p[0] for p in pairs], dtype=np.int64)
        y = np.array([p[1] for p in pairs], dtype=np.float64)
        return cls(ids, y, y.T @ y)

    @property
    def rank(self) -> int:
        return self.factors.shape[1]

    def rows(self, movie_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the factor table, mask of ids the model knows) for ``movie_ids``."""
        ids = np.asarray(movie_ids, dtype=np.int64)
        pos = np.searchsorted(self.movie_ids, ids)
        pos = np.clip(pos, 0, len(self.movie_ids) - 1)
        known = self.movie_ids[pos] == ids
        return pos, known


def system_explicit(y_rated: np.ndarray, ratings: np.ndarray, reg: float):
    """ALS-WR user step as ``(A, w)``: ``A = Y_I^T Y_I + reg * n_u * I``, ``w = r_u``."""
    rank = y_rated.shape[1]
    return y_rated.T @ y_rated + reg * len(ratings) * np.eye(rank), ratings


def system_implicit(
    y_rated: np.ndarray, ratings: np.ndarray, gram: np.ndarray, reg: float, alpha: float
):
    """Implicit user step as ``(A, w)`` (Spark's form: confidence ``1 + alpha*|r|``,
    preference ``r > 0``): ``A = Y^T Y + Y_I^T (C_u - I) Y_I + reg * n_u * I``, ``w = C_u p_u``."""
    rank = gram.shape[0]
    c1 = alpha * np.abs(ratings)  # confidence - 1
    positive = ratings > 0
    n_u = int(positive.sum())
    a = gram + (y_rated * c1[:, None]).T @ y_rated + reg * n_u * np.eye(rank)
    return a, np.where(positive, 1.0 + c1, 0.0)


def solve_explicit(y_rated: np.ndarray, ratings: np.ndarray, reg: float) -> np.ndarray:
    """ALS-WR user step: ``(Y_I^T Y_I + reg * n_u * I)^-1 Y_I^T r_u``."""
    if len(ratings) == 0:
        return np.zeros(y_rated.shape[1])
    a, w = system_explicit(y_rated, ratings, reg)
    return _solve_spd(a, y_rated.T @ w)


def solve_implicit(
    y_rated: np.ndarray, ratings: np.ndarray, gram: np.ndarray, reg: float, alpha: float
) -> np.ndarray:
    """Implicit user step (Spark's form: confidence ``1 + alpha*|r|``, preference ``r > 0``)."""
    a, w = system_implicit(y_rated, ratings, gram, reg, alpha)
    return _solve_spd(a, y_rated.T @ w)


def _solve_spd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        low = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:  # singular without regularisation: least squares instead
        return np.linalg.lstsq(a, b, rcond=None)[0]
    return np.linalg.solve(low.T, np.linalg.solve(low, b))


@dataclass(frozen=True)
class FoldInParams:
    reg: float
    implicit: bool
    alpha: float = 1.0


def _user_system(items: ItemFactors, rated: Sequence[tuple[int, float]], params: FoldInParams):
    """``(A, Y_I, w, the ids of I)`` of the user's step over the rated movies the model knows;
    ``None`` when it knows none of them."""
    if not rated:
        return None
    ids = np.array([m for m, _ in rated], dtype=np.int64)
    values = np.array([r for _, r in rated], dtype=np.float64)
    pos, known = items.rows(ids)
    if not known.any():
        return None
    y = items.factors[pos[known]]
    r = values[known]
    if params.implicit:
        a, w = system_implicit(y, r, items.gram, params.reg, params.alpha)
    else:
        a, w = system_explicit(y, r, params.reg)
    return a, y, w, ids[known]


def fold_in(
    items: ItemFactors, rated: Sequence[tuple[int, float]], params: FoldInParams
) -> np.ndarray | None:
    """User factors from ``(movie_id, rating)`` pairs; movies the model lacks are ignored.

    Returns ``None`` when none of the movies is known to the model (cold start: the caller
    falls back to popularity).
    """
    system = _user_system(items, rated, params)
    if system is None:
        return None
    a, y, w, _ = system
    return _solve_spd(a, y.T @ w)


def contributions(
    items: ItemFactors, rated: Sequence[tuple[int, float]], params: FoldInParams, movies
) -> tuple[np.ndarray, np.ndarray]:
    """``(the rated ids the model knows, C)`` where ``C[j, i]`` is what rated movie ``j``
    adds to the score of ``movies[i]``: ``(A^-1 y_i) . y_j * w_j``; each column sums to
    the movie's score. Empty when the user is cold."""
    system = _user_system(items, rated, params)
    if system is None:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(movies)))
    return system[3], _added(items, system, movies)


def _added(items: ItemFactors, system, movies) -> np.ndarray:
    a, y, w, _ = system
    pos, _ = items.rows(movies)
    return (y @ _solve_spd(a, items.factors[pos].T)) * w[:, None]


def top_n(
    items: ItemFactors, user: np.ndarray, n: int, exclude: Iterable[int] = ()
) -> list[tuple[int, float]]:
    """The ``n`` best-scoring movies for user factors ``user``, without ``exclude``.

    Ties are broken by the smaller movie id, so results are deterministic.
    """
    scores = items.factors @ user
    excluded = np.fromiter(exclude, dtype=np.int64)
    if excluded.size:
        pos, known = items.rows(excluded)
        scores = scores.copy()
        scores[pos[known]] = -np.inf
    available = int(np.isfinite(scores).sum())
    n = min(n, available)
    if n <= 0:
        return []
    candidates = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    order = np.lexsort((items.movie_ids[candidates], -scores[candidates]))
    best = candidates[order][:n]
    return [(int(items.movie_ids[i]), float(scores[i])) for i in best]


def recommend(
    items: ItemFactors,
    rated: Sequence[tuple[int, float]],
    params: FoldInParams,
    n: int,
    because: int = 2,
) -> list[tuple[int, float, tuple[int, ...]]] | None:
    """Fold in and take the top ``n`` unrated movies, each with the (at most ``because``)
    rated movies that add most to its score, the most first; ``None`` when the user is cold."""
    system = _user_system(items, rated, params)
    if system is None:
        return None
    a, y, w, ids = system
    best = top_n(items, _solve_spd(a, y.T @ w), n, exclude=(m for m, _ in rated))
    if not best or because <= 0:
        return [(movie, score, ()) for movie, score in best]
    added = _added(items, system, [movie for movie, _ in best])
    out = []
    for column, (movie, score) in enumerate(best):
        order = np.lexsort((ids, -added[:, column]))[:because]
        reasons = tuple(int(ids[j]) for j in order if added[j, column] > 0)
        out.append((movie, score, reasons))
    return out


def popular_top_n(popular_ids: Sequence[int], n: int, exclude: Iterable[int] = ()) -> list[int]:
    """The first ``n`` of ``popular_ids`` (most popular first) the user has not rated."""
    seen = set(exclude)
    out = []
    for movie_id in popular_ids:
        if movie_id not in seen:
            out.append(int(movie_id))
            if len(out) == n:
                break
    return out


# The rating model: predicted stars beside the implicit ranking.
STARS = (0.5, 5.0)  # MovieLens's rating scale


@dataclass
class RatingModel:
    """Baseline predictors and explicit ALS on their residuals, as ``jobs.reco.rating``
    trains them: a rating is predicted as ``mu + b_u + b_i + x_u . y_i``, clipped to ``STARS``.

    ``items`` holds the residual model's item factors; ``biases`` the movie biases ``b_i``
    in the same order (a movie the model lacks has neither). A user's ``b_u`` and ``x_u``
    are folded in from their ratings, the way the training's last passes compute them::

        b_u = sum_j (r_j - mu - b_j) / (user_reg + n_u)
        x_u = explicit ALS step on e_j = r_j - mu - b_u - b_j (regParam ``reg``)
    """

    mu: float
    user_reg: float
    reg: float
    items: ItemFactors
    biases: np.ndarray  # (n,) float64, aligned with items.movie_ids

    @classmethod
    def from_rows(cls, mu: float, user_reg: float, reg: float, rows) -> RatingModel:
        """From ``(movie_id, bias, features)`` rows."""
        rows = sorted(rows, key=lambda r: r[0])
        items = ItemFactors.from_pairs((r[0], r[2]) for r in rows)
        return cls(mu, user_reg, reg, items, np.array([r[1] for r in rows], dtype=np.float64))

    def fold_in(self, rated: Sequence[tuple[int, float]]) -> tuple[float, np.ndarray]:
        """``(b_u, x_u)`` from ``(movie_id, rating)`` pairs; movies the model lacks are
        ignored, and a user with none gets ``(0, 0)``: the prediction is then ``mu + b_i``."""
        ids = np.array([m for m, _ in rated], dtype=np.int64)
        values = np.array([r for _, r in rated], dtype=np.float64)
        pos, known = self.items.rows(ids)
        if not known.any():
            return 0.0, np.zeros(self.items.rank)
        pos, values = pos[known], values[known]
        residual = values - self.mu - self.biases[pos]
        b_u = float(residual.sum() / (self.user_reg + len(values)))
        return b_u, solve_explicit(self.items.factors[pos], residual - b_u, self.reg)

    def predict(self, rated: Sequence[tuple[int, float]], movies: Sequence[int]) -> list[float]:
        """The user's predicted stars for ``movies``, clipped to MovieLens's scale."""
        b_u, x_u = self.fold_in(rated)
        pos, known = self.items.rows(movies)
        item = np.where(known, self.biases[pos] + self.items.factors[pos] @ x_u, 0.0)
        return [float(s) for s in np.clip(self.mu + b_u + item, *STARS)]
