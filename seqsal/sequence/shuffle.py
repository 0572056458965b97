"""Dinucleotide shuffles: random sequences with exactly the dinucleotide counts of the original.

A sequence of length L is a walk of L - 1 edges through the graph whose vertices are the
bases and whose edges are its dinucleotides; every sequence with the same dinucleotide counts
(and the same first base) is an Eulerian path through that multigraph, and every such path
ends on the original last base.  Shuffling is drawing one of those paths uniformly at random,
as Altschul and Erickson (1985) and Kandel et al. (1996) do it:

1. draw, for every vertex but the last base, the edge it leaves by last time, so that these
   last edges form a tree pointing to the last base (Wilson's loop-erased random walk, which
   draws that tree uniformly);
2. put each vertex's other out-edges in a uniformly random order;
3. walk from the first base, taking each vertex's edges in that order.

Every Eulerian path comes out of exactly one tree and set of orders, so every distinct
sequence with the same dinucleotide counts is equally likely.  (The simpler "shuffle each
edge list, keep the original last edge" that DeepLIFT and tangermeme use keeps the counts too,
but is not uniform.)

N (any all-zero column) stays where it is.  The stretches of A/C/G/T between N are shuffled
each on its own, so every N keeps its position (N padding past a chromosome end and assembly
gaps stay in place), and since each stretch keeps its first and last base, the count of every
dinucleotide, including those with an N, is exact.  The alternative, N as a fifth symbol
shuffled with the rest (tangermeme's ``allow_N=True``), keeps the same counts but lets the
N-N dinucleotides of different runs merge: a window padded with N at one end and with a gap in
the middle could come back with longer padding and a shorter gap.
"""

from __future__ import annotations

import numba
import numpy as np

from seqsal._runtime import check_positive_int, rng
from seqsal.errors import InputError
from seqsal.sequence.onehot import codes_from_onehot, onehot_from_codes

_N_SYMBOLS = 5  # A, C, G, T and N (all-zero column)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_S11 = np.uint64(11)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S32 = np.uint64(32)


@numba.njit(cache=True, nogil=True)
def _mix(z):
    """splitmix64's output function: a bijective scramble of a uint64."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(cache=True, nogil=True)
def _next(state):
    """Advance a splitmix64 state; return (new state, 64 random bits)."""
    state = state + _GOLDEN
    return state, _mix(state)


@numba.njit(cache=True, nogil=True)
def _below(state, m):
    """Advance ``state``; return (new state, a uniform integer in [0, m))."""
    state, bits = _next(state)
    # Lemire's multiply-shift: the top 32 bits times m, divided by 2**32 (m < 2**32 here).
    return state, np.int64(((bits >> _S32) * np.uint64(m)) >> _S32)


@numba.njit(cache=True, nogil=True)
def _content_hash(row):
    """FNV-1a hash of a code row and its length."""
    h = _FNV_OFFSET
    for i in range(row.shape[0]):
        h = (h ^ np.uint64(row[i])) * _FNV_PRIME
    return _mix(h ^ np.uint64(row.shape[0]))


@numba.njit(cache=True, nogil=True)
def _shuffle_one(row, state, targets, out):
    """Write one uniform random dinucleotide shuffle of ``row`` (codes 0-4) to ``out``."""
    length = row.shape[0]
    n_edges = length - 1
    out_degree = np.zeros(_N_SYMBOLS, dtype=np.int64)
    for i in range(n_edges):
        out_degree[row[i]] += 1
    offsets = np.zeros(_N_SYMBOLS + 1, dtype=np.int64)
    for v in range(_N_SYMBOLS):
        offsets[v + 1] = offsets[v] + out_degree[v]
    cursor = offsets[:_N_SYMBOLS].copy()
    for i in range(n_edges):
        targets[cursor[row[i]]] = row[i + 1]
        cursor[row[i]] += 1

    # 1. Last-exit edges forming a tree into the last base: Wilson's algorithm.
    root = row[length - 1]
    in_tree = np.zeros(_N_SYMBOLS, dtype=np.bool_)
    in_tree[root] = True
    last_edge = np.full(_N_SYMBOLS, -1, dtype=np.int64)
    for v in range(_N_SYMBOLS):
        if in_tree[v] or out_degree[v] == 0:
            continue
        u = v
        while not in_tree[u]:
            state, r = _below(state, out_degree[u])
            last_edge[u] = offsets[u] + r
            u = targets[last_edge[u]]
        u = v
        while not in_tree[u]:
            in_tree[u] = True
            u = targets[last_edge[u]]

    # 2. Last edge to the end of each vertex's block, the others in random order.
    for v in range(_N_SYMBOLS):
        begin = offsets[v]
        end = offsets[v + 1]
        if end == begin:
            continue
        if v != root:
            e = last_edge[v]
            tmp = targets[e]
            targets[e] = targets[end - 1]
            targets[end - 1] = tmp
            end -= 1
        for i in range(end - begin - 1, 0, -1):
            state, j = _below(state, i + 1)
            tmp = targets[begin + i]
            targets[begin + i] = targets[begin + j]
            targets[begin + j] = tmp

    # 3. The walk.
    cursor[:] = offsets[:_N_SYMBOLS]
    u = row[0]
    out[0] = u
    for i in range(1, length):
        nxt = targets[cursor[u]]
        cursor[u] += 1
        out[i] = nxt
        u = nxt
    return state


@numba.njit(cache=True, nogil=True)
def _shuffle_row(row, state, targets, out):
    """Shuffle each stretch of A/C/G/T in ``row`` on its own; N (code 4) stays in place."""
    length = row.shape[0]
    begin = 0
    while begin < length:
        if row[begin] >= 4:
            out[begin] = row[begin]
            begin += 1
            continue
        end = begin
        while end < length and row[end] < 4:
            end += 1
        if end - begin < 3:
            out[begin:end] = row[begin:end]
        else:
            state = _shuffle_one(row[begin:end], state, targets, out[begin:end])
        begin = end
    return state


@numba.njit(cache=True, nogil=True)
def _shuffle_kernel(code_rows, base, n, out):
    """``out[i, j]`` = shuffle j of ``code_rows[i]``, seeded by ``base``, the row and ``j``."""
    length = code_rows.shape[1]
    targets = np.empty(max(length, 1), dtype=np.uint8)
    for i in range(code_rows.shape[0]):
        row = code_rows[i]
        key = _mix(base ^ _content_hash(row))
        for j in range(n):
            state = _mix(key + np.uint64(j) * _GOLDEN)
            _shuffle_row(row, state, targets, out[i, j])


def _base_key(seed) -> np.uint64:
    """64 random bits from ``seed``: an int through numpy's SeedSequence (a stable mapping
    across numpy versions and machines), a Generator by drawing from it, None fresh."""
    generator = rng(seed)  # validates seed
    if seed is None or isinstance(seed, np.random.Generator):
        return np.uint64(generator.integers(0, 2**64, dtype=np.uint64, endpoint=False))
    return np.random.SeedSequence(int(seed)).generate_state(1, dtype=np.uint64)[0]


def shuffle_codes(code_rows: np.ndarray, *, n: int = 1, seed=None) -> np.ndarray:
    """Dinucleotide shuffles of code rows (A=0, C=1, G=2, T=3, N=4); see
    :func:`dinucleotide_shuffle`, which this serves.

    Parameters
    ----------
    code_rows : np.ndarray, shape (n_seq, L), integers 0-4
    n : int, default 1
    seed : int, numpy Generator or None

    Returns
    -------
    np.ndarray, shape (n_seq, n, L), dtype uint8
    """
    n = check_positive_int(n, "n")
    code_rows = np.ascontiguousarray(code_rows, dtype=np.uint8)
    if code_rows.ndim != 2:
        raise InputError(f"code_rows has shape {code_rows.shape} but must be (n_seq, L)")
    if code_rows.size and code_rows.max() >= _N_SYMBOLS:
        raise InputError(f"code_rows has a code {code_rows.max()}; expected 0-4 (A, C, G, T, N)")
    base = _base_key(seed)
    out = np.empty((code_rows.shape[0], n, code_rows.shape[1]), dtype=np.uint8)
    _shuffle_kernel(code_rows, base, n, out)
    return out


def dinucleotide_shuffle(X, *, n: int = 1, seed=None) -> np.ndarray:
    """Shuffle one-hot DNA keeping every sequence's exact dinucleotide counts.

    Each shuffle is drawn uniformly from all sequences with the same dinucleotide counts
    (Altschul-Erickson / Kandel et al.; the module docstring says how), so the first and last
    base never move.  Use it for null sequences and shuffled attribution baselines that keep
    the sequence's composition and CpG content.  N (an all-zero column) stays at its position
    and the A/C/G/T stretches between N are shuffled each on its own, which keeps the counts
    of the dinucleotides with an N too.

    Parameters
    ----------
    X : np.ndarray or torch.Tensor, shape (4, L) or (n_seq, 4, L)
        One-hot DNA, rows A, C, G, T; all-zero columns are N.
    n : int, default 1
        Shuffles per sequence.
    seed : int, numpy Generator or None, default None
        The shuffles of a sequence depend only on ``seed``, the sequence itself and the
        shuffle's index ``j``: never on the other sequences in the call or its position in
        ``X``.  So a batch gives what one-by-one calls give, any batch size or chunking gives
        the same shuffles, and with more ``n`` the first shuffles stay the same.  Two identical
        sequences in one call get identical shuffles.  None draws fresh randomness.

    Returns
    -------
    np.ndarray, shape (n_seq, n, 4, L), dtype float32
        Always numpy float32 and always with the batch axis, also for a torch or ``(4, L)``
        input (``n_seq`` = 1 then).  Sequences (and stretches between N) shorter than 3 bases
        have only one arrangement and are returned unchanged.

    Raises
    ------
    InputError
        For the wrong shape or type, values that are not one-hot, or a bad ``n`` or ``seed``.
    """
    code_rows = codes_from_onehot(X)
    if code_rows.ndim == 1:
        code_rows = code_rows[None, :]
    return onehot_from_codes(shuffle_codes(code_rows, n=n, seed=seed))
