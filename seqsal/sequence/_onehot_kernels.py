"""numba kernels of :mod:`seqsal.sequence.onehot`, in their own module so that importing
onehot never imports numba (about a second and 150 MB in a fresh process): onehot imports
this module on the first input large enough to pay for it.

Compiled on first call and cached on disk (``cache=True``).  No table lookups and no running
sums inside the loops that write arrays, so LLVM vectorises them.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="never")
def _onehot_row(src, mask, v0, v1, v2, v3, one, o0, o1, o2, o3):
    # One row per call, never inlined: with the loop over rows in the same function LLVM
    # cannot tell the rows apart and leaves the loop scalar (measured 20-50x slower).
    zero = one - one
    for i in range(src.shape[0]):
        b = src[i] | mask
        o0[i] = one if b == v0 else zero
        o1[i] = one if b == v1 else zero
        o2[i] = one if b == v2 else zero
        o3[i] = one if b == v3 else zero


@numba.njit(cache=True, nogil=True)
def onehot_rows(rows, mask, v0, v1, v2, v3, one, out, offset):
    """``out[r, k, offset + i] = one if rows[r, i] | mask == v_k else 0``.

    ``rows`` uint8 (m, c); ``out`` (m, 4, L) C-contiguous, L >= offset + c.
    """
    n = rows.shape[1]
    end = offset + n
    for r in range(rows.shape[0]):
        _onehot_row(
            rows[r],
            mask,
            v0,
            v1,
            v2,
            v3,
            one,
            out[r, 0, offset:end],
            out[r, 1, offset:end],
            out[r, 2, offset:end],
            out[r, 3, offset:end],
        )


@numba.njit(cache=True, nogil=True)
def codes(src, out):
    """``out[i]`` = code of ASCII byte ``src[i]`` (A=0, C=1, G=2, T=3 either case, else 4)."""
    for i in range(src.shape[0]):
        b = src[i] | 0x20
        out[i] = 0 if b == 97 else (1 if b == 99 else (2 if b == 103 else (3 if b == 116 else 4)))


@numba.njit(cache=True, nogil=True)
def count_matches(rows, mask, v0, v1, v2, v3):
    """How many of ``rows | mask`` (uint8 (m, c)) equal one of ``v0..v3``."""
    n = 0
    for r in range(rows.shape[0]):
        src = rows[r]
        for i in range(src.shape[0]):
            b = src[i] | mask
            n += (b == v0) | (b == v1) | (b == v2) | (b == v3)
    return n


@numba.njit(cache=True, nogil=True)
def flagged_counts(rows, flagged):
    """(256,) int64: how often each byte value with ``flagged[b]`` set occurs in ``rows``."""
    counts = np.zeros(256, dtype=np.int64)
    for r in range(rows.shape[0]):
        for i in range(rows.shape[1]):
            b = rows[r, i]
            if flagged[b]:  # rare: no store (and no dependency between stores) per base
                counts[b] += 1
    return counts
