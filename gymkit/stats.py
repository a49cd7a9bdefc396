"""Statistics for learning claims over seeds (NumPy only, no SciPy).

* :func:`iqm` and :func:`bootstrap_ci`: the interquartile mean of per-seed scores and a
  percentile-bootstrap confidence interval, as rliable recommends (Agarwal et al., 2021) for
  few-run RL results: more robust than the mean, more efficient than the median.
* :func:`permutation_p_less`: a one-sided permutation test that ``now`` is lower than
  ``before`` (difference of means), exact for small samples.
* :func:`fisher_p_less`: Fisher's exact one-sided test that a success rate fell.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

#: exact enumeration up to this many relabellings, Monte Carlo beyond
EXACT_PERMUTATIONS = 20_000


def iqm(scores: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% (25% trimmed from each end, as
    ``scipy.stats.trim_mean(x, 0.25)``, which rliable uses)."""
    x = np.sort(np.asarray(scores, dtype=np.float64))
    if len(x) == 0:
        return math.nan
    cut = int(0.25 * len(x))
    return float(x[cut:len(x) - cut].mean())


def bootstrap_ci(scores: Sequence[float], statistic=iqm, *, confidence: float = 0.95,
                 resamples: int = 2_000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic`` over resampled seeds."""
    x = np.asarray(scores, dtype=np.float64)
    if len(x) == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    stats = [statistic(x[rng.integers(len(x), size=len(x))]) for _ in range(resamples)]
    alpha = (1.0 - confidence) / 2.0
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1.0 - alpha))


def permutation_p_less(before: Sequence[float], now: Sequence[float], *, seed: int = 0,
                       resamples: int = 20_000) -> float:
    """One-sided p-value for "``now`` is lower than ``before``" (difference of means).

    Under the null hypothesis the labels are exchangeable: the p-value is the fraction of
    relabellings whose ``mean(now) - mean(before)`` is at most the observed one. Exact
    enumeration when there are few relabellings, else ``resamples`` random ones (seeded).
    A result that is equal or better gives a large p-value.
    """
    a, b = np.asarray(before, np.float64), np.asarray(now, np.float64)
    if len(a) == 0 or len(b) == 0:
        return 1.0
    pooled = np.concatenate([a, b])
    observed = b.mean() - a.mean()
    tol = 1e-12 * max(1.0, float(np.abs(pooled).max()))
    n, k = len(pooled), len(b)
    if math.comb(n, k) <= EXACT_PERMUTATIONS:
        total, hits = 0, 0
        for idx in itertools.combinations(range(n), k):
            mask = np.zeros(n, dtype=bool)
            mask[list(idx)] = True
            diff = pooled[mask].mean() - pooled[~mask].mean()
            hits += diff <= observed + tol
            total += 1
        return hits / total
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(resamples):
        perm = rng.permutation(pooled)
        hits += perm[len(a):].mean() - perm[:len(a)].mean() <= observed + tol
    return (hits + 1) / (resamples + 1)


def fisher_p_less(successes_before: int, n_before: int, successes_now: int, n_now: int) -> float:
    """One-sided Fisher exact p-value for "the success rate is lower now than before".

    With the margins fixed, the successes of ``now`` follow a hypergeometric law; the p-value
    is the probability of as few successes in ``now`` as observed, or fewer.
    """
    total, successes = n_before + n_now, successes_before + successes_now
    denominator = math.comb(total, n_now)
    low = max(0, successes - n_before)
    return sum(math.comb(successes, k) * math.comb(total - successes, n_now - k)
               for k in range(low, successes_now + 1)) / denominator
