"""The rating model's item neighbourhood, and the blend that makes its stars.

The stars the page shows blend four predictors of a user's rating of a movie, each from a
model trained on the same ratings:

- the rating model (``jobs.reco.rating``): ``mu + b_u + b_i + x_u . y_i``;
- its baseline alone: ``mu + b_u + b_i``;
- the movie's *neighbourhood* term (Koren's item-item model on the baseline's residuals):
  ``sum(s_j e_j) / sum(s_j)`` over the ``k`` movies ``j`` the user rated that are most
  similar to the movie, with ``e_j = r_j - (mu + b_u + b_j)`` and ``s_j > 0`` their
  similarity (0 without such a movie);
- the ranking model's preference for the movie (what ranks the top-N).

How much each predictor is worth depends on how much is known of the user and of the movie
(a neighbourhood of a user with 20 ratings says less than one of a user with 500), so the
weights vary with two *supports*, ``log(1 + n)`` of the user's ratings the prediction rests
on and of the movie's ratings in the training data (feature-weighted linear stacking)::

    stars = w0 + sum_p (w_p + w_pu * user support + w_pm * movie support) * p
               + w_u * user support + w_m * movie support

over the four predictors ``p``, clipped to MovieLens's scale: 15 weights, fitted by least
squares on held-out ratings (``fit``). From fewer than ``MIN_SUPPORTED`` held-out ratings,
and in a version from before the supports, the weights are constant: five, the constant and
one per predictor.

Similarity: shrunk Pearson-baseline, over the users who rated both movies,
``sum(e_i e_j) / sqrt(sum(e_i^2) sum(e_j^2))`` times ``(n_ij - 1) / (n_ij - 1 + shrink)``
for ``n_ij`` such users. A model keeps, of each movie, its ``KEEP`` most similar movies of
positive similarity, and only the ``MAX_MOVIES`` most rated movies have a neighbourhood
(the table is dense: ``MAX_MOVIES**2`` cells at most); any other movie's term is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

KEEP = 200  # neighbours kept of each movie
MAX_MOVIES = 3000  # movies with a neighbourhood: the most rated
CELLS = 1 << 22  # float64 cells of a block of users' residuals


@dataclass
class Neighbourhood:
    movie_ids: np.ndarray  # (M,) int64, sorted
    similarity: np.ndarray  # (M, M) float32: a movie's kept neighbours, 0 elsewhere
    k: int  # neighbours a prediction averages

    @classmethod
    def fit(
        cls,
        users: np.ndarray,
        movies: np.ndarray,
        residuals: np.ndarray,
        *,
        k: int,
        shrink: float,
        keep: int = KEEP,
        max_movies: int = MAX_MOVIES,
    ) -> Neighbourhood:
        """From ratings as three arrays (user, movie, residual of the baseline)."""
        ids, counts = np.unique(movies, return_counts=True)
        if len(ids) > max_movies:
            ids = np.sort(ids[np.lexsort((ids, -counts))[:max_movies]])
        col, inside = lookup(ids, movies)
        _, row = np.unique(users[inside], return_inverse=True)
        sim = similarities(row, col[inside], residuals[inside], len(ids), shrink)
        return cls(ids, strongest(sim, keep), k)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, Sequence[int], Sequence[float]]], k: int):
        """From ``(movie_id, neighbour ids, similarities)`` rows (what ``rows`` gives)."""
        rows = sorted(rows, key=lambda r: r[0])
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        sim = np.zeros((len(ids), len(ids)), dtype=np.float32)
        for i, (_, neighbours, values) in enumerate(rows):
            col, inside = lookup(ids, neighbours)
            sim[i, col[inside]] = np.asarray(values, dtype=np.float32)[inside]
        return cls(ids, sim, k)

    def rows(self) -> list[tuple[int, list[int], list[float]]]:
        """``(movie_id, neighbour ids, similarities)`` of each movie: what a version keeps."""
        out = []
        for movie, values in zip(self.movie_ids.tolist(), self.similarity, strict=True):
            cols = np.flatnonzero(values)
            out.append((movie, self.movie_ids[cols].tolist(), values[cols].tolist()))
        return out

    def term(self, rated: np.ndarray, residuals: np.ndarray, movies: np.ndarray) -> np.ndarray:
        """The neighbourhood's average residual for each of ``movies`` (0 where it has none),
        for a user who rated ``rated`` with these ``residuals`` of the baseline."""
        rated, movies = np.asarray(rated, np.int64), np.asarray(movies, np.int64)
        return self.terms(
            rated, residuals, np.zeros(len(rated), np.intp), movies, np.zeros(len(movies), np.intp)
        )

    def terms(self, rated, residuals, rated_user, movies, movie_user) -> np.ndarray:
        """``term`` of many users at once: rated movie ``j`` of user ``rated_user[j]``, the
        term wanted of movie ``i`` for user ``movie_user[i]`` (users numbered 0, 1, ...).
        Of several rated movies as similar to a movie, the smaller id is among the nearest."""
        out = np.zeros(len(movies))
        r_col, r_in = lookup(self.movie_ids, rated)
        m_col, m_in = lookup(self.movie_ids, movies)
        known = np.flatnonzero(r_in)
        known = known[np.argsort(rated_user[known], kind="stable")]  # user after user
        users = int(max(rated_user.max(initial=-1), movie_user.max(initial=-1))) + 1
        counts = np.bincount(rated_user[known], minlength=users)
        starts = np.cumsum(counts) - counts
        # every (movie wanted, movie rated by the same user) pair
        wanted = np.flatnonzero(m_in)
        per = counts[movie_user[wanted]]
        target = np.repeat(wanted, per)
        within = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
        source = known[np.repeat(starts[movie_user[wanted]], per) + within]
        s = self.similarity[m_col[target], r_col[source]].astype(np.float64)
        target, source, s = target[s > 0], source[s > 0], s[s > 0]
        # the k most similar of each movie wanted: its pairs by similarity, largest first
        order = np.lexsort((rated[source], -s, target))
        target, source, s = target[order], source[order], s[order]
        near = np.arange(len(s)) - np.searchsorted(target, target) < self.k
        target, source, s = target[near], source[near], s[near]
        total = np.bincount(target, s, len(movies))
        weighted = np.bincount(target, s * residuals[source], len(movies))
        return np.divide(weighted, total, out=out, where=total > 0)


def lookup(ids: np.ndarray, wanted) -> tuple[np.ndarray, np.ndarray]:
    """(position in the sorted ``ids``, whether it is there) of each of ``wanted``."""
    wanted = np.asarray(wanted, dtype=np.int64)
    if not len(ids):
        return np.zeros(len(wanted), dtype=np.intp), np.zeros(len(wanted), dtype=bool)
    pos = np.clip(np.searchsorted(ids, wanted), 0, len(ids) - 1)
    return pos, ids[pos] == wanted


def similarities(
    row: np.ndarray, col: np.ndarray, e: np.ndarray, n_movies: int, shrink: float
) -> np.ndarray:
    """(movies, movies): every two movies' shrunk Pearson-baseline similarity from residuals
    ``e`` of users ``row`` (0, 1, ...) for movies ``col``; 0 on the diagonal. The sums run
    over blocks of users, each a dense (users, movies) table of ``CELLS`` cells at most."""
    products = np.zeros((n_movies, n_movies))
    squares = np.zeros((n_movies, n_movies))  # [i, j]: e_i^2 over the users who rated j too
    common = np.zeros((n_movies, n_movies))
    n_users = int(row.max()) + 1 if len(row) else 0
    step = max(1, CELLS // max(n_movies, 1))
    order = np.argsort(row, kind="stable")
    row, col, e = row[order], col[order], e[order]
    bounds = np.searchsorted(row, np.arange(0, n_users + step, step))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
        if lo == hi:
            continue
        first = row[lo]
        block = np.zeros((int(row[hi - 1] - first) + 1, n_movies))
        rated = np.zeros_like(block)
        block[row[lo:hi] - first, col[lo:hi]] = e[lo:hi]
        rated[row[lo:hi] - first, col[lo:hi]] = 1.0
        products += block.T @ block
        squares += (block * block).T @ rated
        common += rated.T @ rated
    denominator = np.sqrt(squares * squares.T)
    correlation = np.divide(
        products, denominator, out=np.zeros_like(products), where=denominator > 0
    )
    common = np.maximum(common - 1, 0)
    similarity = correlation * common / (common + shrink)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def strongest(similarity: np.ndarray, keep: int) -> np.ndarray:
    """``similarity`` (float32) with, in each row, only the ``keep`` largest positive values."""
    out = np.where(similarity > 0, similarity, 0.0).astype(np.float32)
    if keep < out.shape[1]:
        weakest = np.argpartition(-out, keep, axis=1)[:, keep:]
        np.put_along_axis(out, weakest, 0.0, axis=1)
    return out


# The blend: its predictors, what their weights vary with, and the names of its weights.
PREDICTORS = ("rating_model", "baseline", "neighbourhood", "preference")
SUPPORTS = ("user_ratings", "movie_ratings")  # counts; the blend takes log(1 + n)
WEIGHTS = (
    "intercept",
    *PREDICTORS,
    *(name for s in SUPPORTS for name in (*(f"{p} x {s}" for p in PREDICTORS), s)),
)
STARS = (0.5, 5.0)  # MovieLens's rating scale
MIN_RATINGS = 100  # held-out ratings needed to fit the weights
MIN_SUPPORTED = 1000  # and for the weights to vary with the supports (15 instead of 5)


def design(predictors: Sequence[np.ndarray], supports: Sequence[np.ndarray]) -> np.ndarray:
    """The blend's columns, in the order of ``WEIGHTS``: a constant, the ``PREDICTORS``, then
    for each of the ``SUPPORTS`` (counts) each predictor times its ``log(1 + n)``, and that
    log itself."""
    logs = [np.log1p(np.asarray(n, dtype=np.float64)) for n in supports]
    columns = [np.ones(len(predictors[0])), *predictors]
    for log in logs:
        columns += [p * log for p in predictors] + [log]
    return np.column_stack(columns)


@dataclass(frozen=True)
class Blend:
    weights: tuple[float, ...]  # one per name of WEIGHTS (or the first five: no supports)

    def stars(self, predictors: Sequence[np.ndarray], supports: Sequence[np.ndarray]):
        """Clipped stars from the ``PREDICTORS``' values and the ``SUPPORTS``' counts."""
        x = design(predictors, supports)[:, : len(self.weights)]
        return np.clip(x @ np.asarray(self.weights), *STARS)


def fit(predictors: Sequence[np.ndarray], supports: Sequence[np.ndarray], actual) -> Blend:
    """The weights that fit ``actual`` best (least squares); constant ones (the supports left
    out) from fewer than ``MIN_SUPPORTED`` ratings."""
    return _fit(predictors, _supported(supports, len(actual)), actual)


def cross_fitted(predictors, supports, actual: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Each rating predicted with the weights fitted on the other ``half`` (a mask), so the
    weights never see the rating they predict: the blend's honest error on these ratings
    (the weights of ``fit``'s kind for all of them)."""
    supports = _supported(supports, len(actual))
    out = np.empty(len(actual))
    for part in (half, ~half):
        blend = _fit([c[~part] for c in predictors], [n[~part] for n in supports], actual[~part])
        out[part] = blend.stars([c[part] for c in predictors], [n[part] for n in supports])
    return out


def _supported(supports: Sequence[np.ndarray], ratings: int) -> Sequence[np.ndarray]:
    return supports if ratings >= MIN_SUPPORTED else ()


def _fit(predictors, supports, actual) -> Blend:
    x = design(predictors, supports)
    return Blend(tuple(float(w) for w in np.linalg.lstsq(x, actual, rcond=None)[0]))
