"""numba kernels of :mod:`seqsal.sequence.onehot`, in their own module so that importing
onehot never imports numba (a start-up cost in time and memory): onehot imports this module
on the first input large enough to pay for it.

Compiled on first call and cached on disk (``cache=True``).  No table lookups and no running
sums inside the loops that write arrays, so LLVM vectorises them.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="never")
def _onehot_row(src, mask, v0, v1, v2, v3, one, o0, o1, o2, o3):
    # One row per call, never inlined: with the loop over rows in the same function LLVM
    # cannot tell the rows apart and leaves the loop scalar, many times slower.
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


# -- windows of a chromosome, gathered and encoded in one pass ---------------------------------
# ``seqsal.sequence.windows`` hands these kernels the FASTA's bytes (a memory map, or a
# chromosome read whole); each window's bytes are copied to a small buffer, and its one-hot is
# written from there straight into the output, reverse-complemented on the fly for ``-``
# windows, with the A/C/G/T written counted.
# They release the GIL: windows runs blocks of windows on Python threads (not numba's
# parallel=True: its OpenMP pool costs a barrier per call, slow on a loaded machine, and
# is not fork-safe).


@numba.njit(cache=True, nogil=True, inline="never")
def _window_plus(seq, lo, one, o0, o1, o2, o3, known):
    # o_k[i] = one if seq[lo + i] is base k (either case); known[i] = 1 if any.  Never
    # inlined, as _onehot_row.
    zero = one - one
    for i in range(o0.shape[0]):
        b = seq[numba.uint64(lo + i)] | 0x20
        e0 = b == 97
        e1 = b == 99
        e2 = b == 103
        e3 = b == 116
        o0[i] = one if e0 else zero
        o1[i] = one if e1 else zero
        o2[i] = one if e2 else zero
        o3[i] = one if e3 else zero
        known[i] = e0 | e1 | e2 | e3


@numba.njit(cache=True, nogil=True, inline="never")
def _window_minus(seq, hi, one, o0, o1, o2, o3, known):
    # Reverse complement: o_k[i] = one if seq[hi - 1 - i] is the complement of base k.
    zero = one - one
    for i in range(o0.shape[0]):
        b = seq[numba.uint64(hi - 1 - i)] | 0x20
        e0 = b == 116
        e1 = b == 103
        e2 = b == 99
        e3 = b == 97
        o0[i] = one if e0 else zero
        o1[i] = one if e1 else zero
        o2[i] = one if e2 else zero
        o3[i] = one if e3 else zero
        known[i] = e0 | e1 | e2 | e3


@numba.njit(cache=True, nogil=True, inline="never")
def _sum_words(words):
    total = np.uint64(0)
    for i in range(words.shape[0]):
        total += words[i]
    return total


@numba.njit(cache=True, nogil=True)
def _count_ones(flags, m):
    """Sum of ``flags[:m]`` (bytes 0 or 1), eight at a time as uint64 words.

    A running sum per byte (``n += flag`` into an int64) widens every byte and cost a
    third of the window kernel; summed as words, each byte lane holds its own count (at most
    255 words a block, so no lane overflows), added up across lanes at the end of a block.
    """
    n_words = m // 8
    words = flags[: n_words * 8].view(np.uint64)
    lanes = np.uint64(0x00FF00FF00FF00FF)
    total = 0
    for block in range(0, n_words, 255):
        s = _sum_words(words[block : min(block + 255, n_words)])
        pairs = (s & lanes) + ((s >> np.uint64(8)) & lanes)  # 4 lanes of 16 bits
        total += int((pairs * np.uint64(0x0001000100010001)) >> np.uint64(48))
    for i in range(n_words * 8, m):
        total += flags[i]
    return total


@numba.njit(cache=True, nogil=True)
def _zero_columns(out, i, a, b, zero):
    for k in range(4):
        for j in range(a, b):
            out[i, k, j] = zero


@numba.njit(cache=True, nogil=True, inline="never")
def _has_line_end(buf, m):
    found = False
    for i in range(m):
        found |= (buf[i] == 10) | (buf[i] == 13)
    return found


@numba.njit(cache=True, nogil=True)
def onehot_fasta_windows(
    data, offset, line_bases, line_bytes, size, rows, first, minus, one, out, begin, end
):
    """One-hot of windows of one FASTA record, read from the file's bytes (a memory map).

    The record's base ``p`` is byte ``offset + (p // line_bases) * line_bytes +
    p % line_bases`` of ``data`` (a ``.fai`` line layout; ``line_bases == line_bytes ==
    size`` for bytes without line ends).  Window ``r`` (``begin <= r < end``) covers bases
    ``[first[r], first[r] + L)`` and goes to ``out[rows[r]]`` (n, 4, L): positions outside
    ``[0, size)`` are all-zero columns, ``minus[r]`` windows reverse-complemented.  Each
    window's bytes are copied line by line into a buffer, then encoded.

    Returns (A/C/G/T positions written, -1), or (0, r) for the first window ``r`` whose
    bytes do not fit the layout (a line end that is not ``\\n``/``\\r``, a base that is
    one, or a window past the end of ``data``): the caller then reads the record otherwise.
    """
    length = out.shape[2]
    zero = one - one
    buf = np.empty(length, dtype=np.uint8)
    flags = np.empty(length, dtype=np.uint8)
    n_end = line_bytes - line_bases
    known = 0
    for r in range(begin, end):
        i = rows[r]
        f = first[r]
        lo = max(f, 0)
        hi = min(f + length, size)
        if hi <= lo:
            _zero_columns(out, i, 0, length, zero)
            continue
        m = hi - lo
        last = hi - 1
        if offset + (last // line_bases) * line_bytes + last % line_bases >= data.shape[0]:
            return 0, r
        line = lo // line_bases
        col = lo - line * line_bases
        pos = offset + line * line_bytes + col
        j = 0
        bad = False
        while True:
            w = min(line_bases - col, m - j)
            for t in range(w):
                # Unsigned indices: a signed one costs a negative-index check per byte
                # (tangermeme's kernel casts them too, for the same reason).
                buf[numba.uint64(j + t)] = data[numba.uint64(pos + t)]
            j += w
            pos += w
            if j >= m:
                break
            for k in range(pos, pos + n_end):
                bad |= (data[k] != 10) & (data[k] != 13)
            pos += n_end
            col = 0
        if bad or (n_end > 0 and _has_line_end(buf, m)):
            return 0, r
        if minus[r]:
            a = f + length - hi
        else:
            a = lo - f
        b = a + m
        if a > 0:
            _zero_columns(out, i, 0, a, zero)
        if b < length:
            _zero_columns(out, i, b, length, zero)
        o0 = out[i, 0, a:b]
        o1 = out[i, 1, a:b]
        o2 = out[i, 2, a:b]
        o3 = out[i, 3, a:b]
        if minus[r]:
            _window_minus(buf, m, one, o0, o1, o2, o3, flags)
        else:
            _window_plus(buf, 0, one, o0, o1, o2, o3, flags)
        known += _count_ones(flags, m)
    return known, -1
