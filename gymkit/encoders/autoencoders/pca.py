"""PCA's reconstruction error: the optimum a linear autoencoder is measured against."""

from __future__ import annotations

import numpy as np

#: above this many inputs the d x d covariance eigendecomposition is skipped (minutes, GBs)
PCA_MAX_INPUTS = 4096


def pca_optimum(x_fit: np.ndarray, x_check: np.ndarray, k: int) -> float | None:
    """The reconstruction MSE of PCA with ``k`` components fitted on ``x_fit``, on ``x_check``.

    A linear autoencoder trained with MSE spans the same subspace (Eckart-Young), so this
    is the error it should approach. None for inputs wider than :data:`PCA_MAX_INPUTS`.
    """
    fit = x_fit.reshape(len(x_fit), -1).astype(np.float64)
    check = x_check.reshape(len(x_check), -1).astype(np.float64)
    if fit.shape[1] > PCA_MAX_INPUTS or k >= fit.shape[1]:
        return None if fit.shape[1] > PCA_MAX_INPUTS else 0.0
    centre = fit.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(fit - centre, rowvar=False))
    top = vectors[:, ::-1][:, :k]  # eigh sorts ascending
    residual = (check - centre) - (check - centre) @ top @ top.T
    return float(np.mean(np.square(residual)))
