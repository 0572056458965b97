"""numba kernels of the 2 x 2 max pool that :func:`seqsal.attribution._kernels.fast_kernels`
swaps in for image models, in their own module so that importing seqsal never imports numba
(a start-up cost): it is imported once a process has pooled enough values to pay for it
(``seqsal.attribution._kernels._NUMBA_AFTER_VALUES``).

PyTorch's CPU ``max_pool2d_with_indices`` on the default (NCHW) layout takes a branch per
value, which the processor mispredicts on real data, so the pool can cost more than the
convolution before it.  These loops choose with selects, which LLVM vectorises; the forward
writes the values and a 2-bit winner code, the backward reads the code.  docs/benchmarks.md
has the timings.

Both follow PyTorch on finite values: the window is read row by row and a value wins only
when strictly greater, so a tie goes to the first maximum, and the gradient goes there.  A
window holding a NaN or an infinity is only counted; the caller then uses PyTorch's own
kernel, whose NaN rule (the last NaN wins) this code does not copy.

Compiled on first call and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def pool2_forward(x: np.ndarray, relu: bool, out: np.ndarray, code: np.ndarray) -> int:
    """2 x 2 max pool of ``x`` (rows, 2, W) into ``out`` (rows, W // 2), float32.

    ``x[r]`` holds the two input rows of output row ``r`` (an NCHW tensor with even H and W,
    reshaped); ``code[r, j]`` (uint8) receives the winner of window ``j``: 0, 1 (top left,
    right), 2, 3 (bottom left, right), or 4 where the ReLU lets no gradient through.  With
    ``relu`` the result is ``max_pool(relu(x))``, computed as ``relu(max_pool(x))`` (a window
    with nothing positive gives +0.0, where PyTorch keeps a -0.0 that comes first; no gradient
    flows there either way).  Returns the number of windows holding a NaN or an infinity,
    whose results are not PyTorch's.
    """
    zero = np.float32(0)
    odd = 0
    for r in range(x.shape[0]):
        top, bottom, values, winners = x[r, 0], x[r, 1], out[r], code[r]
        for j in range(values.shape[0]):
            a = top[2 * j]
            b = top[2 * j + 1]
            c = bottom[2 * j]
            d = bottom[2 * j + 1]
            # (a, b), (c, d), then the two winners: the first maximum of a row-by-row scan
            # with a strict ">" (a tie keeps the earlier value), for finite values
            t1 = b > a
            ab = b if t1 else a
            t2 = d > c
            cd = d if t2 else c
            t3 = cd > ab
            best = cd if t3 else ab
            odd += np.int32((a - a) + (b - b) + (c - c) + (d - d) != zero)  # type: ignore[assignment]  # NaN: not finite
            at = (np.uint8(2) + np.uint8(t2)) if t3 else np.uint8(t1)
            if relu:
                at = at if best > zero else np.uint8(4)  # no gradient through the ReLU
                best = best if best > zero else zero
            values[j] = best
            winners[j] = at
    return odd


@numba.njit(cache=True, nogil=True)
def pool2_backward(grad: np.ndarray, code: np.ndarray, grad_x: np.ndarray) -> None:
    """Gradient of :func:`pool2_forward`: ``grad`` (rows, W // 2) goes to each window's
    winner (``code``) in ``grad_x`` (rows, 2, W), +0.0 elsewhere; every value is written (no
    zero fill needed).

    ``grad`` and ``grad_x`` are float32 arrays passed as int32 views: integer selects
    vectorise where float ones stay scalar (several times slower).  PyTorch adds the
    gradient into zeros, which turns a -0.0 into +0.0; the mask on ``v != -0.0`` does the
    same.
    """
    negative_zero = np.int32(-(2**31))
    for r in range(grad.shape[0]):
        g, winners, top, bottom = grad[r], code[r], grad_x[r, 0], grad_x[r, 1]
        for j in range(g.shape[0]):
            v = g[j] & -np.int32(g[j] != negative_zero)
            at = winners[j]
            top[2 * j] = v & -np.int32(at == 0)
            top[2 * j + 1] = v & -np.int32(at == 1)
        for j in range(g.shape[0]):
            v = g[j] & -np.int32(g[j] != negative_zero)
            at = winners[j]
            bottom[2 * j] = v & -np.int32(at == 2)
            bottom[2 * j + 1] = v & -np.int32(at == 3)
