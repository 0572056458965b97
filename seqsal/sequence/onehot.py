"""DNA strings <-> one-hot arrays, and the reverse complement of one-hot arrays.

One-hot DNA is float32 (unless ``dtype`` says otherwise) with shape ``(4, L)`` for one
sequence or ``(n, 4, L)`` for a batch, rows A, C, G, T (``ALPHABET``).  Lowercase (soft-masked) bases are the same bases.  N and every
other character (IUPAC ambiguity codes, gaps) become an all-zero column; they are never an
error, and each call counts them in ONE warning sent through :mod:`logging` (logger
``seqsal.sequence.onehot``, level WARNING) so that a pipeline's log shows how much of its
input was ambiguous.  ``warn=False`` silences it.

``dtype`` picks the output type: float32 by default (the contract, what models take), or
float16, int8, uint8 (:data:`DTYPES`) where memory matters; the values are the same 0/1.

The primitives other modules reuse (one implementation each, used by :func:`encode` and by
:mod:`seqsal.sequence.windows`): :func:`codes` turns a string into uint8 codes (A=0, C=1, G=2,
T=3, anything else 4), and :func:`onehot_from_codes` turns codes into the one-hot array,
optionally into a preallocated ``out``.  Every conversion compares each input byte with the
four bases (after OR-ing 0x20 into ASCII, which lowercases letters) and writes the result
straight into an output of the requested dtype, in one pass with no intermediate arrays:
from 1 Mb of input on through small numba kernels that LLVM vectorises (no table lookups,
no running sums; ``seqsal.sequence._onehot_kernels``), below that through one broadcast
``np.equal(..., out=)``, so that encoding a few sequences never pays numba's start-up cost
(importing and compiling it takes time and memory on first use in a process).  A long string
is converted to bytes piece by piece, so it is never copied whole.  The arrays equal
tangermeme's ``one_hot_encode``; docs/benchmarks.md compares the speed
(``benchmarks/onehot_speed.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from seqsal.errors import InputError

log = logging.getLogger(__name__)

ALPHABET = "ACGT"
"""The row order of every one-hot array in seqsal."""

N_CODE = 4
"""The code of N and of every other character that is not A, C, G or T (either case)."""

DTYPES = (np.float32, np.float16, np.int8, np.uint8)
"""The one-hot dtypes offered: float32 (the default, what models take) or a smaller one."""

_LOOKUP = np.full(256, N_CODE, dtype=np.uint8)
for _code, _base in enumerate(ALPHABET):
    _LOOKUP[ord(_base)] = _code
    _LOOKUP[ord(_base.lower())] = _code
_LOOKUP.flags.writeable = False
_TRANSLATE = _LOOKUP.tobytes()  # the same table for bytes.translate

# The values each one-hot row compares with, after OR-ing the mask into the input: ASCII
# bytes with 0x20 set are lowercase, so 'A' and 'a' (and no other byte) give ord('a').
_BYTE_MASK, _BYTE_TARGETS = 0x20, np.frombuffer(b"acgt", dtype=np.uint8)
_CODE_MASK, _CODE_TARGETS = 0, np.arange(4, dtype=np.uint8)

_FLOAT16_ONE = 0x3C00
"""The bits of float16 1.0: float16 output is written as uint16 (numba has no float16)."""

_NUMBA_MIN_BYTES = 1_000_000
"""Inputs of at least this many bases in all go through the numba kernels, smaller ones
numpy: numba's start-up cost on first use in a process is one a few sequences should not
pay.  (1,000 windows of 1 kb, ``iter_onehot``'s batch, are above it.)"""

_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
_COMPLEMENT_CODES = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def _kernels():
    """The numba kernels module, imported (numba with it) on first use."""
    from seqsal.sequence import _onehot_kernels

    return _onehot_kernels


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy dtype if it is one of :data:`DTYPES`, else InputError.

    Parameters
    ----------
    dtype : numpy dtype or anything ``np.dtype`` accepts ("float32", np.int8, ...)

    Returns
    -------
    np.dtype
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved not in [np.dtype(d) for d in DTYPES]:
        raise InputError(
            f"dtype={dtype!r}; expected one of "
            f"{', '.join(np.dtype(d).name for d in DTYPES)} (numpy dtypes or their names)"
        )
    return resolved


def _fill_onehot(
    rows: np.ndarray,
    mask: int,
    targets: np.ndarray,
    out: np.ndarray,
    offset: int = 0,
    *,
    count: bool = False,
) -> int | None:
    """Write the one-hot of uint8 ``rows`` (m, c) into ``out[:, :, offset:offset + c]``.

    ``out`` is (m, 4, L), C-contiguous, any of DTYPES.  Row k is 1 where
    ``rows | mask == targets[k]``, 0 elsewhere, in one pass over ``out``.  Large inputs go
    through the numba kernel (faster than numpy's broadcast ``np.equal`` on large batches
    and long rows); small ones through one broadcast ``np.equal`` into ``out``, which never
    loads numba.

    With ``count``, returns how many entries of ``rows`` are one of ``targets`` when that is
    cheap (the numpy way counts the ones written), else None.
    """
    half = out.dtype == np.float16
    target = out.view(np.uint16) if half else out
    if rows.size and out.shape[0] * out.shape[-1] >= _NUMBA_MIN_BYTES:
        one = np.uint16(_FLOAT16_ONE) if half else out.dtype.type(1)
        v = [np.uint8(t) for t in targets]
        _kernels().onehot_rows(rows, np.uint8(mask), *v, one, target, offset)
        return None
    masked = rows | np.uint8(mask) if mask else rows
    part = target[:, :, offset : offset + rows.shape[-1]]
    np.equal(masked[:, None, :], targets[None, :, None], out=part)
    n_known = int(np.count_nonzero(part)) if count else None
    if half:
        part *= np.uint16(_FLOAT16_ONE)
    return n_known


def _count_known(rows: np.ndarray) -> int:
    """How many bytes of ``rows`` (m, c) are A/C/G/T (either case), vectorised by numba."""
    v = [np.uint8(t) for t in _BYTE_TARGETS]
    return int(_kernels().count_matches(rows, np.uint8(_BYTE_MASK), *v))


def _unknown_counts(rows: np.ndarray) -> np.ndarray:
    """(256,) counts of the bytes of ``rows`` (m, c) that are not A/C/G/T (either case)."""
    if rows.size >= _NUMBA_MIN_BYTES:
        return _kernels().flagged_counts(rows, _LOOKUP == N_CODE)
    counts = np.bincount(rows.ravel(), minlength=256)
    counts[_LOOKUP != N_CODE] = 0
    return counts


def _output(shape: tuple[int, ...], dtype: np.dtype, out: np.ndarray | None) -> np.ndarray:
    """A new array of ``shape``/``dtype``, or ``out`` checked to be one."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if (
        not isinstance(out, np.ndarray)
        or out.shape != shape
        or out.dtype != dtype
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        raise InputError(
            f"out is {type(out).__name__}"
            + (f" of shape {out.shape}, dtype {out.dtype}" if isinstance(out, np.ndarray) else "")
            + f"; expected a writeable C-contiguous array of shape {shape}, dtype {dtype}"
        )
    return out


def _as_bytes(seq, name: str) -> bytes:
    if isinstance(seq, str):
        # One byte per character; a non-ASCII character becomes "?" (code 4) rather than
        # several bytes, so positions stay positions.
        return seq.encode("ascii", errors="replace")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        return bytes(seq)
    raise InputError(f"{name} is a {type(seq).__name__}; expected a str (or bytes) of DNA")


def codes(seq: str | bytes) -> np.ndarray:
    """Integer codes of a DNA string: A=0, C=1, G=2, T=3 (either case), anything else 4.

    Long sequences (a chromosome) go through a vectorised numba kernel, faster than
    ``bytes.translate``; short ones through one ``bytes.translate`` with a 256-entry table
    (faster than indexing a numpy table with the bytes, and no numba start-up).

    Parameters
    ----------
    seq : str or bytes
        One DNA sequence.  Non-ASCII characters count as one position each, code 4.

    Returns
    -------
    np.ndarray, shape (L,), dtype uint8
        Writeable.
    """
    if isinstance(seq, str):
        raw = bytearray(seq, "ascii", errors="replace")
    elif isinstance(seq, (bytes, bytearray, memoryview)):
        raw = seq
    else:
        raise InputError(f"seq is a {type(seq).__name__}; expected a str (or bytes) of DNA")
    if len(raw) >= _NUMBA_MIN_BYTES:
        out = np.empty(len(raw), dtype=np.uint8)
        _kernels().codes(np.frombuffer(raw, dtype=np.uint8), out)
        return out
    # bytearray.translate gives a new bytearray: a writeable result.
    if not isinstance(raw, bytearray):
        raw = bytearray(raw)
    return np.frombuffer(raw.translate(_TRANSLATE), dtype=np.uint8)


def onehot_from_codes(
    codes: np.ndarray, *, dtype=np.float32, out: np.ndarray | None = None
) -> np.ndarray:
    """One-hot array from codes as :func:`codes` makes them.

    Parameters
    ----------
    codes : np.ndarray, shape (L,) or (n, L) (or more leading axes)
        Integer codes; 0-3 are A, C, G, T, anything else an all-zero column.
    dtype : numpy dtype, default np.float32
        One of :data:`DTYPES`.  float32 is what models take; int8/uint8 are a quarter of the
        memory (tangermeme's default is int8), float16 half.
    out : np.ndarray, optional
        Write the result here instead of a new array (say, a slice of a larger result):
        C-contiguous, shape ``codes.shape[:-1] + (4, L)``, dtype ``dtype``.

    Returns
    -------
    np.ndarray, shape (4, L) or (n, 4, L) (the leading axes kept), dtype ``dtype``
        ``out`` when given.

    Raises
    ------
    InputError
        For codes that are not integers of at least one axis, an unknown dtype, or an
        ``out`` of the wrong shape, dtype or layout.
    """
    codes = np.asarray(codes)
    if codes.ndim < 1 or not np.issubdtype(codes.dtype, np.integer):
        raise InputError(
            f"codes has shape {codes.shape} and dtype {codes.dtype}; expected integers of shape (L,) or (n, L)"
        )
    dtype = check_dtype(dtype)
    if codes.dtype != np.uint8:
        codes = np.where((codes >= 0) & (codes < 4), codes, N_CODE).astype(np.uint8)
    lead, length = codes.shape[:-1], codes.shape[-1]
    n_rows = int(np.prod(lead, dtype=np.int64))
    out = _output((*lead, 4, length), dtype, out)
    flat = np.ascontiguousarray(codes.reshape(n_rows, length))
    _fill_onehot(flat, _CODE_MASK, _CODE_TARGETS, out.reshape(n_rows, 4, length))
    return out


_CHUNK = 1 << 20
"""A long string is converted to bytes and encoded this many characters at a time: the
pieces stay in cache, and the string is never copied whole (a whole copy costs about as much
as the one-hot pass itself)."""


def _string_pieces(seq: str | bytes) -> Iterator[np.ndarray]:
    """uint8 arrays (1, c) of consecutive pieces of one sequence, one byte per position."""
    for lo in range(0, max(len(seq), 1), _CHUNK):
        yield np.frombuffer(_as_bytes(seq[lo : lo + _CHUNK], "seqs"), dtype=np.uint8)[None, :]


def _encode_pieces(
    pieces: Callable[[], Iterable[np.ndarray]], n: int, length: int, warn: bool, dtype
) -> np.ndarray:
    """One-hot (n, 4, length) of ASCII byte pieces (n, c) laid end to end, with the warning.

    ``pieces`` makes the iterator afresh: the pieces are read twice when unknown bases are
    found and named in the warning.
    """
    out = np.empty((n, 4, length), dtype=dtype)
    n_known = offset = 0
    for rows in pieces():
        known = _fill_onehot(rows, _BYTE_MASK, _BYTE_TARGETS, out, offset, count=warn)
        if warn:
            n_known += _count_known(rows) if known is None else known
        offset += rows.shape[-1]
    n_unknown = n * length - n_known
    if warn and n_unknown:
        counts = sum(_unknown_counts(rows) for rows in pieces())
        chars = ", ".join(f"{chr(c)!r} x {counts[c]}" for c in np.flatnonzero(counts)[:10])
        log.warning(
            "%d of %d bases are not A/C/G/T (%s); encoded as all-zero columns",
            n_unknown,
            n * length,
            chars,
        )
    return out


def encode(seqs: str | bytes | Sequence[str], *, warn: bool = True, dtype=np.float32) -> np.ndarray:
    """One-hot encode one DNA string or a list of equal-length strings.

    Parameters
    ----------
    seqs : str, bytes, or sequence of str
        One sequence gives shape ``(4, L)``; a list (or tuple, or 1-d array) of sequences of
        the same length gives ``(n, 4, L)``.  Lowercase is the same base as uppercase.
    warn : bool, default True
        Log one WARNING counting the positions that are not A/C/G/T (N or other IUPAC codes),
        which become all-zero columns.
    dtype : numpy dtype, default np.float32
        One of :data:`DTYPES` (float32, float16, int8, uint8).  float32 is the contract
        (what models take); int8 is a quarter of the memory, as tangermeme's default.

    Returns
    -------
    np.ndarray, shape (4, L) or (n, 4, L), dtype ``dtype``
        Rows A, C, G, T.

    Raises
    ------
    InputError
        For a type that is not a string or a list of strings, strings of unequal length, or
        a dtype not in :data:`DTYPES`.
    """
    dtype = check_dtype(dtype)
    if isinstance(seqs, (str, bytes, bytearray, memoryview)):
        if isinstance(seqs, memoryview):
            seqs = seqs.tobytes()
        X = _encode_pieces(lambda: _string_pieces(seqs), 1, len(seqs), warn, dtype)
        return X[0]
    if isinstance(seqs, np.ndarray) and seqs.ndim != 1:
        raise InputError(f"seqs is an array of shape {seqs.shape}; expected a 1-d list of strings")
    if not isinstance(seqs, (Sequence, np.ndarray)):
        raise InputError(
            f"seqs is a {type(seqs).__name__}; expected a str or a list of equal-length strings"
        )
    parts = [_as_bytes(s, f"seqs[{i}]") for i, s in enumerate(seqs)]
    if not parts:
        return np.zeros((0, 4, 0), dtype=dtype)
    length = len(parts[0])
    for i, part in enumerate(parts):
        if len(part) != length:
            raise InputError(
                f"seqs[{i}] has length {len(part)} but seqs[0] has length {length}; "
                "all sequences in one batch must have the same length"
            )
    raw = np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(len(parts), length)
    return _encode_pieces(lambda: [raw], len(parts), length, warn, dtype)


def _check_onehot_shape(X, name: str = "X", *, any_leading: bool = False) -> tuple[int, ...]:
    shape = tuple(X.shape)
    if any_leading:
        if len(shape) < 2 or shape[-2] != 4:
            raise InputError(
                f"{name} has shape {shape} but must be (4, L), (n, 4, L) or (..., 4, L)"
            )
    elif len(shape) not in (2, 3) or shape[-2] != 4:
        raise InputError(f"{name} has shape {shape} but must be (4, L) or (n, 4, L)")
    return shape


def _to_numpy(X, name: str = "X") -> np.ndarray:
    if isinstance(X, np.ndarray):
        return X
    if type(X).__module__.startswith("torch"):
        return X.detach().cpu().numpy()
    raise InputError(f"{name} is a {type(X).__name__}; expected a numpy array or torch tensor")


def codes_from_onehot(X, *, name: str = "X") -> np.ndarray:
    """Codes (A=0, C=1, G=2, T=3, all-zero column 4) of one-hot DNA, checking it is one-hot.

    Parameters
    ----------
    X : np.ndarray or torch.Tensor, shape (4, L) or (n, 4, L)
        Every value 0 or 1, at most one 1 per column.
    name : str, default "X"
        The argument's name in error messages.

    Returns
    -------
    np.ndarray, shape (L,) or (n, L), dtype uint8

    Raises
    ------
    InputError
        For the wrong shape or type, or values that are not one-hot.
    """
    X = _to_numpy(X, name)
    _check_onehot_shape(X, name)
    if X.dtype == np.bool_:
        X = X.view(np.uint8)
    bad = (X != 0) & (X != 1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name} is not one-hot: {name}[{', '.join(map(str, where))}] = {X[where]!r}; "
            "expected only 0 and 1"
        )
    column_sums = X.sum(axis=-2)
    if (column_sums > 1).any():
        where = tuple(int(i) for i in np.argwhere(column_sums > 1)[0])
        raise InputError(
            f"{name} is not one-hot: column {where[-1]}"
            + (f" of sequence {where[0]}" if len(where) == 2 else "")
            + " has more than one base set"
        )
    out = np.argmax(X, axis=-2).astype(np.uint8)
    out[column_sums == 0] = N_CODE
    return out


def decode(X) -> str | list[str]:
    """Strings from one-hot DNA: an all-zero column reads "N".

    Parameters
    ----------
    X : np.ndarray or torch.Tensor, shape (4, L) or (n, 4, L)
        One-hot DNA, rows A, C, G, T.

    Returns
    -------
    str for (4, L), list of str for (n, 4, L)
        Uppercase.

    Raises
    ------
    InputError
        For the wrong shape or values that are not one-hot.
    """
    code_array = codes_from_onehot(X)
    letters = _LETTERS[code_array]
    if letters.ndim == 1:
        return letters.tobytes().decode("ascii")
    return [row.tobytes().decode("ascii") for row in letters]


def reverse_complement(X):
    """Reverse complement of a ``(..., 4, L)`` array, as a new array (the input is left alone).

    With rows A, C, G, T the complement is the rows reversed, so this flips both the base
    and the position axes.  Any values work, not only one-hot: attributions of a reverse
    complemented sequence map back to the forward strand with it, and a ``(4, w)`` PWM or CWM
    gives the motif read on the other strand.  :func:`reverse_complement_codes` is the same
    on codes.

    Parameters
    ----------
    X : np.ndarray or torch.Tensor, shape (4, L) or (n, 4, L)
        More leading axes are fine too, e.g. shuffles or references ``(n, k, 4, L)``.

    Returns
    -------
    Same type, shape and dtype as ``X``; a copy.
    """
    if isinstance(X, np.ndarray):
        _check_onehot_shape(X, any_leading=True)
        return np.ascontiguousarray(X[..., ::-1, ::-1])
    if type(X).__module__.startswith("torch"):
        import torch

        _check_onehot_shape(X, any_leading=True)
        return torch.flip(X, dims=(-2, -1))
    raise InputError(f"X is a {type(X).__name__}; expected a numpy array or torch tensor")


def reverse_complement_codes(code_array: np.ndarray) -> np.ndarray:
    """Reverse complement of codes (shape (L,) or (n, L)); code 4 (N) stays 4."""
    code_array = np.asarray(code_array)
    return _COMPLEMENT_CODES[np.minimum(code_array, N_CODE)][..., ::-1].copy()
