"""Position weight matrices: log-odds scores and information content of a ``(4, w)`` matrix.

The simulator (:mod:`seqsal.sequence.synthetic`) scores the sites it plants and the motif
stages (:mod:`seqsal.motifs`) score and trim the motifs they discover with the same two
functions.  Rows are A, C, G, T; columns are motif positions.
"""

from __future__ import annotations

import numpy as np

from seqsal.errors import InputError


def _matrix_and_background(matrix, background) -> tuple[np.ndarray, np.ndarray]:
    matrix = np.asarray(matrix, dtype=np.float64)
    background = np.asarray(background, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != 4:
        raise InputError(f"matrix has shape {matrix.shape}; expected (4, w), rows A, C, G, T")
    if background.shape != (4,):
        raise InputError(f"background has shape {background.shape}; expected (4,)")
    return matrix, background


def log_odds(
    matrix, background, *, pseudocount: float, column_total: float | None = None
) -> np.ndarray:
    """Log-odds scores (bits) of a count or probability matrix against a background.

    ``log2(((matrix + pseudocount * q) / (total + pseudocount)) / q)`` with ``q`` the
    background: the pseudocount is a number of extra sites spread over the bases as the
    background is, so a base never seen scores a finite penalty instead of minus infinity, and
    a column of many sites is barely changed.  A site's score is the sum of its bases' entries.

    Parameters
    ----------
    matrix : array-like, shape (4, w)
        Counts (motif discovery passes the seqlets' base counts) or probabilities (the
        simulator passes JASPAR probabilities).
    background : array-like, shape (4,)
        Base frequencies ``q`` (A, C, G, T), each above 0.
    pseudocount : float
        Extra sites added to each column: 1 for counts in motif discovery (one site against
        tens to thousands of seqlets), 0.01 for the simulator's probabilities.
    column_total : float, optional
        The number of sites each column holds (1.0 for probabilities); default each column's
        sum, as for counts.

    Returns
    -------
    np.ndarray, float64, shape (4, w)
    """
    matrix, background = _matrix_and_background(matrix, background)
    total = matrix.sum(axis=0, keepdims=True) if column_total is None else column_total
    probs = (matrix + pseudocount * background[:, None]) / (total + pseudocount)
    return np.log2(probs / background[:, None])


def information_content(ppm, background=None) -> np.ndarray:
    """Per-position information content in bits, ``sum_b p_b log2(p_b / q_b)``.

    Parameters
    ----------
    ppm : array-like, shape (4, w)
        Probabilities; columns sum to 1.
    background : array-like, shape (4,), optional
        Background base frequencies ``q``; uniform (0.25 each) by default, so a column holds
        at most 2 bits.

    Returns
    -------
    np.ndarray, shape (w,)
    """
    q = np.full(4, 0.25) if background is None else background
    ppm, q = _matrix_and_background(ppm, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(ppm > 0, ppm * np.log2(ppm / q[:, None]), 0.0)
    return terms.sum(axis=0)


__all__ = ["information_content", "log_odds"]
