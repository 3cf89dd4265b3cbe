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

A micro-batch folds in many users at once: ``recommend_many`` and ``RatingModel.predict_many``
give what ``recommend`` and ``RatingModel.predict`` give each user, with the work stacked
(one Cholesky factorisation and solve for all users, one product for all their scores, one
selection of the top N) instead of some forty small numpy calls a user. Stacked numpy calls
run the same LAPACK and BLAS routine on each user's matrices, so the factors and scores are
the per-user ones to the bit, and the recommendations the same.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from jobs.reco import neighbours


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
        return neighbours.lookup(self.movie_ids, movie_ids)


def _t(m: np.ndarray) -> np.ndarray:
    """The transpose of a matrix, or of each matrix of a stack."""
    return np.swapaxes(m, -1, -2)


def _diagonal(values, rank: int) -> np.ndarray:
    """``values * I``, or a stack of them for an array of values."""
    return np.asarray(values)[..., None, None] * np.eye(rank)


def system_explicit(y_rated: np.ndarray, ratings: np.ndarray, reg: float):
    """ALS-WR user step as ``(A, w)``: ``A = Y_I^T Y_I + reg * n_u * I``, ``w = r_u``.

    Also for a stack of users with as many ratings each: ``(G, n_u, rank)``, ``(G, n_u)``."""
    rank = y_rated.shape[-1]
    return _t(y_rated) @ y_rated + _diagonal(reg * ratings.shape[-1], rank), ratings


def system_implicit(
    y_rated: np.ndarray,
    ratings: np.ndarray,
    gram: np.ndarray,
    reg: float,
    alpha: float,
    *,
    exponent: float = 1.0,
):
    """Implicit user step as ``(A, w)`` (Spark's form: confidence ``1 + alpha*|r|``,
    preference ``r > 0``): ``A = Y^T Y + Y_I^T (C_u - I) Y_I + reg * n_u^exponent * I``,
    ``w = C_u p_u`` (``exponent`` 1: Spark's ALS-WR; 0.5: ``jobs.reco.refine``).

    Also for a stack of users with as many ratings each, like ``system_explicit``."""
    rank = gram.shape[0]
    c1 = alpha * np.abs(ratings)  # confidence - 1
    positive = ratings > 0
    n_u = positive.sum(axis=-1).astype(np.float64)
    a = gram + _t(y_rated * c1[..., None]) @ y_rated + _diagonal(reg * n_u**exponent, rank)
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
    return _cho_solve(low, b)


def _cho_solve(low: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A^-1 b`` from the Cholesky factor of ``A``; for stacks, ``b`` is ``(B, rank, m)``."""
    return np.linalg.solve(_t(low), np.linalg.solve(low, b))


def _cholesky(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack of matrices, and which of them are positive definite
    (one that is not gets the identity: ``_solve_spd`` solves it by least squares)."""
    try:
        return np.linalg.cholesky(a), np.ones(len(a), dtype=bool)
    except np.linalg.LinAlgError:  # rare: find the matrices that fail, one by one
        ok = np.array([_is_spd(m) for m in a], dtype=bool)
        low = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
        low[ok] = np.linalg.cholesky(a[ok])
        return low, ok


def _is_spd(a: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return False
    return True


def _solve_spd_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``_solve_spd`` of each ``(A, b)`` of the stacks ``a`` (B, rank, rank), ``b`` (B, rank)."""
    low, ok = _cholesky(a)
    out = np.empty_like(b)
    out[ok] = _cho_solve(low[ok], b[ok][..., None])[..., 0]
    for i in np.flatnonzero(~ok):
        out[i] = _solve_spd(a[i], b[i])
    return out


@dataclass(frozen=True)
class FoldInParams:
    reg: float
    implicit: bool
    alpha: float = 1.0
    exponent: float = 1.0  # implicit: the regularisation is ``reg * n_u ** exponent``


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
    a, w = _system(items, y, values[known], params)
    return a, y, w, ids[known]


def _system(items: ItemFactors, y: np.ndarray, ratings: np.ndarray, params: FoldInParams):
    if params.implicit:
        return system_implicit(
            y, ratings, items.gram, params.reg, params.alpha, exponent=params.exponent
        )
    return system_explicit(y, ratings, params.reg)


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


def fold_in_many(
    items: ItemFactors, rated: Sequence[Collection[tuple[int, float]]], params: FoldInParams
) -> tuple[np.ndarray, np.ndarray]:
    """``fold_in`` of each user of ``rated`` (their ``(movie_id, rating)`` pairs), stacked:
    ``(the positions in rated of the users the model knows a movie of, their factors)``."""
    which, factors = [np.zeros(0, dtype=np.int64)], [np.zeros((0, items.rank))]
    for part in _chunks([items.rank * len(pairs) for pairs in rated]):
        batch = _Rated.of(items, rated[part])
        warm = np.flatnonzero(batch.counts)
        a, rhs, _ = _stacked_systems(
            items, batch, warm, lambda y, rows, b=batch: _system(items, y, b.values[rows], params)
        )
        which.append(warm + part.start)
        factors.append(_solve_spd_many(a, rhs))
    return np.concatenate(which), np.concatenate(factors)


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

    Ties are broken by the smaller movie id (also for the last place), so results are
    deterministic.
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
    best = _best(scores[None], items.movie_ids, n)[0]
    return [(int(items.movie_ids[i]), float(scores[i])) for i in best]


def _best(scores: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` best of each row of ``scores`` (users, movies), the best first;
    ties are broken by the smaller id. Each row has at least ``n`` finite scores.

    Every movie scoring at least ``_nth_bound`` is a candidate, and one sort orders the
    candidates of all rows. (Partitioning at the ``n``-th place would keep any of the movies
    tied with the ``n``-th: ``argpartition`` keeps different ones for different rows, lengths
    and numpy versions.)
    """
    if not len(scores):
        return np.empty((0, n), dtype=np.intp)
    rows, cols = np.nonzero(scores >= _nth_bound(scores, n))
    order = np.lexsort((ids[cols], -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    place = np.arange(len(rows)) - np.searchsorted(rows, rows)  # rank within the row
    return cols[place < n].reshape(len(scores), n)


BLOCK = 16  # movies a block of ``_nth_bound``


def _nth_bound(scores: np.ndarray, n: int) -> np.ndarray:
    """(users, 1): a finite score that at least ``n`` movies of the row reach, so at most the
    ``n``-th best, and that few others do: the ``n``-th best of the maxima of blocks of
    ``BLOCK`` movies (``n`` blocks have a movie that reaches it). Far cheaper than finding the
    ``n``-th best itself (``np.partition`` over the whole catalogue)."""
    blocks = np.maximum.reduceat(scores, np.arange(0, scores.shape[1], BLOCK), axis=1)
    bound = np.full((len(scores), 1), -np.inf)
    if blocks.shape[1] >= n:
        bound = -np.partition(-blocks, n - 1, axis=1)[:, n - 1 : n]
    return np.maximum(bound, np.finfo(scores.dtype).min)  # never a rated movie (-inf)


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


@dataclass
class _Rated:
    """Several users' rated movies that the model knows, flat: user after user, each user's
    ``(movie_id, rating)`` pairs in the order ``sorted`` gives them (whatever order they come
    in), without the movies the model lacks."""

    user: np.ndarray  # (R,) which user (0, 1, ...) each row is of
    pos: np.ndarray  # (R,) the movie's row in the factor table
    values: np.ndarray  # (R,) the rating
    counts: np.ndarray  # (B,) rows of each user
    starts: np.ndarray  # (B,) each user's first row

    @classmethod
    def of(cls, items: ItemFactors, rated: Sequence[Collection[tuple[int, float]]]) -> _Rated:
        sizes = [len(pairs) for pairs in rated]
        flat = np.fromiter(chain.from_iterable(chain.from_iterable(rated)), dtype=np.float64)
        ids, values = flat[0::2].astype(np.int64), flat[1::2]
        user = np.repeat(np.arange(len(rated)), sizes)
        order = np.lexsort((values, ids, user))
        user, ids, values = user[order], ids[order], values[order]
        pos, known = items.rows(ids)
        counts = np.bincount(user[known], minlength=len(rated))
        return cls(user[known], pos[known], values[known], counts, np.cumsum(counts) - counts)

    def groups(self, users: np.ndarray):
        """``users`` by number of rows, as ``(positions in users, their rows (G, n_u))``: a
        stack of users with as many ratings, on which numpy runs each user's own product."""
        counts = self.counts[users]
        order = np.argsort(counts, kind="stable")
        for part in np.split(order, np.flatnonzero(np.diff(counts[order])) + 1):
            if len(part):
                yield part, self.starts[users[part]][:, None] + np.arange(counts[part[0]])

    def cells(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(position in users, factor row)`` of every rated movie of ``users``."""
        where = np.full(len(self.counts), -1)
        where[users] = np.arange(len(users))
        mine = where[self.user] >= 0
        return where[self.user[mine]], self.pos[mine]


# Float64 cells a chunk of users may hold in one array (16 MiB): the scores of a batch over
# the catalogue, or the factors of its rated movies, are computed a chunk of users at a time.
CHUNK_CELLS = 1 << 21


def _chunks(costs: Sequence[int]) -> list[slice]:
    """Consecutive slices of users of about ``CHUNK_CELLS`` summed cost (one user at least);
    none for no users."""
    if not len(costs):
        return []
    ends = np.cumsum(costs, dtype=np.int64)
    cuts = np.flatnonzero(np.diff((ends - costs) // CHUNK_CELLS)) + 1
    bounds = [0, *cuts.tolist(), len(costs)]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _stacked_systems(items: ItemFactors, rated: _Rated, users: np.ndarray, system):
    """``(A (U, rank, rank), Y_I^T w (U, rank), w of every row)`` of ``users``, where
    ``system(Y_I, rows)`` gives ``(A, w)`` for a stack of users with as many ratings."""
    rank = items.rank
    a, rhs = np.empty((len(users), rank, rank)), np.empty((len(users), rank))
    w = np.zeros(len(rated.pos))
    for part, rows in rated.groups(users):
        y = items.factors[rated.pos[rows]]
        a[part], w[rows] = system(y, rows)
        rhs[part] = (_t(y) @ w[rows][..., None])[..., 0]
    return a, rhs, w


def _scores(items: ItemFactors, x: np.ndarray) -> np.ndarray:
    """Every movie's score for each row of user factors ``x`` (U, rank), as (U, movies).

    A stack of matrix-vector products, the very BLAS call ``top_n`` makes for one user, so
    the scores are the same to the bit; one (U, rank) x (rank, movies) product would be about
    twice as fast but rounds differently (3 scores in 4 differ in the last bit), which could
    swap movies whose scores are within a rounding of each other."""
    return (x[:, None, :] @ items.factors.T)[:, 0, :]


def recommend_many(
    items: ItemFactors,
    histories: Mapping[int, Collection[tuple[int, float]]],
    params: FoldInParams,
    n: int,
    because: int = 2,
) -> dict[int, list[tuple[int, float, tuple[int, ...]]] | None]:
    """``recommend`` for each user of ``histories`` (user id -> (movie_id, rating) pairs):
    user id -> what ``recommend(items, sorted(pairs), params, n, because)`` returns."""
    users = list(histories)
    rated = [histories[u] for u in users]
    costs = [len(items.movie_ids) + items.rank * len(pairs) for pairs in rated]
    out: dict = {}
    for part in _chunks(costs):
        recs = _recommend_chunk(items, rated[part], params, n, because)
        out.update(zip(users[part], recs, strict=True))
    return out


def _fold_in_and_score(items: ItemFactors, batch: _Rated, params: FoldInParams):
    """``(users, their A's Cholesky factors, w of every row, scores (users, movies))`` of the
    users of ``batch`` that the model knows a movie of and whose ``A`` is positive definite;
    the movies each rated score ``-inf``."""
    warm = np.flatnonzero(batch.counts)
    a, rhs, w = _stacked_systems(
        items, batch, warm, lambda y, rows: _system(items, y, batch.values[rows], params)
    )
    low, ok = _cholesky(a)
    users, low = warm[ok], low[ok]
    scores = _scores(items, _cho_solve(low, rhs[ok][..., None])[..., 0])
    scores[batch.cells(users)] = -np.inf
    return users, low, w, scores


def _recommend_chunk(items, rated, params: FoldInParams, n: int, because: int) -> list:
    """``recommend`` of each user of ``rated``, stacked; a user whose ``A`` is not positive
    definite, or who has fewer than ``n`` movies left to recommend, goes through ``recommend``."""
    batch = _Rated.of(items, rated)
    users, low, w, scores = _fold_in_and_score(items, batch, params)
    full = (np.isfinite(scores).sum(axis=1) >= n) & (n > 0)
    out: list = [None] * len(rated)
    for i in np.setdiff1d(np.flatnonzero(batch.counts), users[full]):
        out[i] = recommend(items, sorted(rated[i]), params, n, because)
    users, low, scores = users[full], low[full], scores[full]
    best = _best(scores, items.movie_ids, n)
    if because > 0:
        a_inv_y = _cho_solve(low, _t(items.factors[best]))  # (U, rank, n)
        reasons = _reasons(items, batch, users, a_inv_y, w, because=because)
    else:
        reasons = [[()] * n] * len(users)
    movies, best_scores = items.movie_ids[best].tolist(), np.take_along_axis(scores, best, 1)
    for i, m, s, r in zip(users.tolist(), movies, best_scores.tolist(), reasons, strict=True):
        out[i] = list(zip(m, s, r, strict=True))
    return out


def _reasons(items, batch: _Rated, users, a_inv_y, w, *, because: int) -> list[list[tuple]]:
    """For each of ``users`` and each of its recommended movies ``i`` (``A^-1 y_i`` in
    ``a_inv_y`` (U, rank, n)), the (at most ``because``) rated movies that add most to the
    movie's score, the most first, as ``recommend`` has it."""
    out: list = [None] * len(users)
    for part, rows in batch.groups(users):
        pos = batch.pos[rows]
        added = _t((items.factors[pos] @ a_inv_y[part]) * w[rows][..., None])  # (G, n, n_u)
        ids = np.broadcast_to(items.movie_ids[pos][:, None, :], added.shape)
        order = np.lexsort((ids, -added), axis=-1)[..., :because]
        chosen = np.take_along_axis(ids, order, -1).tolist()
        # the largest first: the ones that add something are a prefix
        counts = (np.take_along_axis(added, order, -1) > 0).sum(axis=-1).tolist()
        for i, movies, count in zip(part.tolist(), chosen, counts, strict=True):
            out[i] = [tuple(ms[:c]) for ms, c in zip(movies, count, strict=True)]
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
STARS = neighbours.STARS  # MovieLens's rating scale


@dataclass
class RatingModel:
    """Baseline predictors and explicit ALS on their residuals, as ``jobs.reco.rating``
    trains them: a rating is predicted as ``mu + b_u + b_i + x_u . y_i``, clipped to ``STARS``.

    ``items`` holds the residual model's item factors; ``biases`` the movie biases ``b_i``
    in the same order (a movie the model lacks has neither). A user's ``b_u`` and ``x_u``
    are folded in from their ratings, the way the training's last passes compute them::

        b_u = sum_j (r_j - mu - b_j) / (user_reg + n_u)
        x_u = explicit ALS step on e_j = r_j - mu - b_u - b_j (regParam ``reg``)

    With a ``blend`` (and its ``neighbourhood``), the stars blend that prediction with the
    baseline, the movie's neighbourhood among the user's rated movies and the ranking
    model's preference for the movie, weighted by how many ratings the user has (those the
    model knows) and the movie had in training (``counts``; ``jobs.reco.neighbours``).
    """

    mu: float
    user_reg: float
    reg: float
    items: ItemFactors
    biases: np.ndarray  # (n,) float64, aligned with items.movie_ids
    neighbourhood: neighbours.Neighbourhood | None = None
    blend: neighbours.Blend | None = None
    counts: np.ndarray | None = None  # (n,) each movie's training ratings, where known

    @classmethod
    def from_rows(cls, mu: float, user_reg: float, reg: float, rows, **blend) -> RatingModel:
        """From ``(movie_id, bias, features[, ratings])`` rows (and ``neighbourhood``,
        ``blend``); the movies' numbers of ratings where every row has one."""
        rows = sorted(rows, key=lambda r: r[0])
        items = ItemFactors.from_pairs((r[0], r[2]) for r in rows)
        biases = np.array([r[1] for r in rows], dtype=np.float64)
        counts = None
        if rows and all(len(r) > 3 and r[3] is not None for r in rows):
            counts = np.array([r[3] for r in rows], dtype=np.float64)
        return cls(mu, user_reg, reg, items, biases, **blend, counts=counts)

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

    def predict(
        self,
        rated: Sequence[tuple[int, float]],
        movies: Sequence[int],
        preferences: Sequence[float] | None = None,
    ) -> list[float]:
        """The user's predicted stars for ``movies`` (the ranking model's ``preferences`` for
        them: what a blend needs; 0 when not given), clipped to MovieLens's scale."""
        b_u, x_u = self.fold_in(rated)
        request = (rated, movies, preferences)
        batch = _Rated.of(self.items, [rated])
        values = self._predictors(np.array([b_u]), x_u[None], batch, [request])
        return self.stars(values[:4], values[4:]).tolist()

    def fold_in_many(self, rated: Sequence[Collection[tuple[int, float]]]):
        """``fold_in(sorted(pairs))`` of each user's pairs of ``rated``, stacked:
        ``(b_u (B,), x_u (B, rank))``."""
        return self._fold_in_many(_Rated.of(self.items, rated))

    def _fold_in_many(self, batch: _Rated) -> tuple[np.ndarray, np.ndarray]:
        warm = np.flatnonzero(batch.counts)
        residual = batch.values - self.mu - self.biases[batch.pos]
        b = np.zeros(len(batch.counts))
        for part, rows in batch.groups(warm):  # the sums numpy's ``sum`` gives one user
            b[warm[part]] = residual[rows].sum(axis=1) / (self.user_reg + rows.shape[1])
        residual -= b[batch.user]
        a, rhs, _ = _stacked_systems(
            self.items, batch, warm, lambda y, rows: system_explicit(y, residual[rows], self.reg)
        )
        x = np.zeros((len(batch.counts), self.items.rank))
        x[warm] = _solve_spd_many(a, rhs)
        return b, x

    def predict_many(self, requests: Mapping[int, tuple]) -> dict[int, list[float]]:
        """``predict`` for each user of ``requests`` (user id -> (the user's (movie_id, rating)
        pairs, the movies to predict[, the ranking model's preferences for them])): user id ->
        the predicted stars of those movies, as ``predict(sorted(pairs), ...)`` gives them
        (the pairs' order changes the last bits)."""
        users = list(requests)
        stars = self.stars(*self.predictors_many([requests[u] for u in users]))
        ends = np.cumsum([len(requests[u][1]) for u in users]).tolist()
        return {
            u: stars[lo:hi].tolist() for u, lo, hi in zip(users, [0, *ends][:-1], ends, strict=True)
        }

    def predictors_many(self, requests: Sequence[tuple]) -> tuple[tuple, tuple]:
        """What the stars of each request's movies are made of, flat, request after request:
        ``((the rating model's prediction, the baseline, the neighbourhood term, the
        preference), (the user's ratings the model knows, the movie's training ratings))``,
        unclipped (the term is 0 without a neighbourhood, the movie's count 0 without
        ``counts``). A request is ``predict_many``'s."""
        costs = [self.items.rank * len(r[0]) for r in requests]
        parts = []
        for part in _chunks(costs):
            asked = requests[part]
            batch = _Rated.of(self.items, [a[0] for a in asked])
            parts.append(self._predictors(*self._fold_in_many(batch), batch, asked))
        flat = [np.concatenate([np.zeros(0)] + [p[i] for p in parts]) for i in range(6)]
        return tuple(flat[:4]), tuple(flat[4:])

    def stars(self, predictors, supports) -> np.ndarray:
        """The stars from ``predictors_many``: the blend's where there is one, else the rating
        model's prediction, clipped to MovieLens's scale."""
        if self.blend is None or self.neighbourhood is None:
            return np.clip(predictors[0], *STARS)
        return self.blend.stars(predictors, supports)

    def _predictors(self, b: np.ndarray, x: np.ndarray, batch: _Rated, requests: Sequence[tuple]):
        """``predictors_many`` of ``requests`` (its six arrays), given their users' ``b_u``
        (B,), ``x_u`` (B, rank) and rated movies (``batch``)."""
        movies = [r[1] for r in requests]
        user = np.repeat(np.arange(len(movies)), [len(m) for m in movies])
        pos, known = self.items.rows(np.fromiter((m for ms in movies for m in ms), np.int64))
        dots = np.einsum("ij,ij->i", self.items.factors[pos], x[user])
        baseline = (self.mu + b)[user] + np.where(known, self.biases[pos], 0.0)
        term = np.zeros(len(user))
        if self.neighbourhood is not None:
            term = self._neighbourhood_terms(b, batch, [r[1] for r in requests])
        preference = np.concatenate(
            [np.zeros(0)] + [_or_zeros(r[2] if len(r) > 2 else None, len(r[1])) for r in requests]
        )
        movie_ratings = np.zeros(len(user))
        if self.counts is not None:
            movie_ratings = np.where(known, self.counts[pos], 0.0)
        predicted = baseline + np.where(known, dots, 0.0)
        return predicted, baseline, term, preference, batch.counts[user], movie_ratings

    def residuals(self, users: np.ndarray, movies: np.ndarray, ratings: np.ndarray):
        """``(users, movies, residuals of the baseline)`` of the ratings of movies the model
        has, each user's ``b_u`` folded in from those ratings (as ``fold_in`` does)."""
        pos, known = self.items.rows(movies)
        users, movies, pos = users[known], movies[known], pos[known]
        e = ratings[known] - self.mu - self.biases[pos]
        _, user = np.unique(users, return_inverse=True)
        b_u = np.bincount(user, e) / (self.user_reg + np.bincount(user))
        return users, movies, e - b_u[user]

    def _neighbourhood_terms(self, b: np.ndarray, batch: _Rated, movies) -> np.ndarray:
        """The neighbourhood term of each user's ``movies``, flat: from the residuals of the
        baseline (with the user's folded-in ``b_u``) of the movies of ``batch`` they rated."""
        residual = batch.values - self.mu - self.biases[batch.pos] - b[batch.user]
        wanted = np.fromiter((m for ms in movies for m in ms), np.int64)
        owner = np.repeat(np.arange(len(movies)), [len(m) for m in movies])
        rated = self.items.movie_ids[batch.pos]
        return self.neighbourhood.terms(rated, residual, batch.user, wanted, owner)


def _or_zeros(values: Sequence[float] | None, n: int) -> np.ndarray:
    return np.zeros(n) if values is None else np.asarray(values, dtype=np.float64)
