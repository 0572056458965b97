"""The motif object every motif step hands to the next: discovery, annotation, scanning, IO.

A :class:`Motif` holds the untrimmed matrices of one motif, all shaped ``(4, w)`` with rows
A, C, G, T (the one-hot layout), plus a ``trim`` span that marks its core.  Discovered motifs
carry a contribution weight matrix (CWM); database motifs (JASPAR, a MEME file) only a
position probability matrix (PPM).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from seqsal.errors import InputError
from seqsal.sequence.onehot import reverse_complement
from seqsal.sequence.pwm import information_content

#: Default fraction of the peak per-position contribution that a position must reach to be
#: kept when a motif is trimmed by contribution (the same rule and value as TF-MoDISco's
#: ``trim_threshold``).
TRIM_THRESHOLD = 0.3

#: A trimmed core is never narrower than this many columns (or the whole motif, if shorter):
#: TOMTOM and PWM scanning are unreliable on two or three columns.
MIN_TRIM_WIDTH = 4


class TrimSpan(NamedTuple):
    """A half-open column span ``[start, end)`` of a motif and what it was chosen from.

    ``basis`` is ``"cwm"`` (per-position absolute contribution), ``"ic"`` (information
    content, for motifs without a CWM) or ``"none"`` (the whole matrix).
    """

    start: int
    end: int
    basis: str


def _check_matrix(value, name: str, width: int | None) -> np.ndarray | None:
    if value is None:
        return None
    matrix = np.asarray(value, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != 4:
        raise InputError(f"{name} has shape {matrix.shape}; expected (4, w) with rows A, C, G, T")
    if width is not None and matrix.shape[1] != width:
        raise InputError(f"{name} has width {matrix.shape[1]} but the ppm has width {width}")
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"{name} contains NaN or infinite values")
    return matrix


def span_above(
    values: np.ndarray, threshold: float, *, min_width: int = MIN_TRIM_WIDTH
) -> tuple[int, int]:
    """Return the span from the first to the last position with ``values >= threshold * max``.

    Interior positions below the threshold are kept (a motif core is contiguous).  A span
    narrower than ``min_width`` is widened one column at a time on the side with the larger
    value, up to the full length.

    Parameters
    ----------
    values : np.ndarray, shape (w,)
        Non-negative per-position scores (absolute contribution or information content).
    threshold : float
        Fraction of the maximum, in [0, 1].
    min_width : int, default 4
        Narrowest span returned (or ``w`` if shorter).
    """
    values = np.asarray(values, dtype=np.float64)
    width = len(values)
    peak = values.max() if width else 0.0
    if width == 0 or peak <= 0:
        return 0, width
    keep = np.flatnonzero(values >= threshold * peak)
    start, end = int(keep[0]), int(keep[-1]) + 1
    while end - start < min(min_width, width):
        left = values[start - 1] if start > 0 else -np.inf
        right = values[end] if end < width else -np.inf
        if left >= right:
            start -= 1
        else:
            end += 1
    return start, end


def _rc(matrix: np.ndarray | None) -> np.ndarray | None:
    return None if matrix is None else reverse_complement(matrix)


@dataclasses.dataclass(eq=False)
class Motif:
    """One DNA motif: its matrices, sign, support and where it came from.

    Parameters
    ----------
    name : str
        The motif's name: ``"pos_pattern_0"`` for a discovered motif, the TF name
        (``"CTCF"``) for a database motif.
    ppm : np.ndarray, shape (4, w)
        Position probability matrix, rows A, C, G, T; each column sums to 1 (normalised on
        construction; a column of zeros becomes uniform).
    cwm : np.ndarray, shape (4, w), optional
        Contribution weight matrix: mean projected attribution of the member seqlets.
        Negative values for a negative (repressive) motif.  None for database motifs.
    hypothetical_cwm : np.ndarray, shape (4, w), optional
        Mean hypothetical contributions of the member seqlets.
    sign : {+1, -1}, default +1
        Whether the motif raises (+1) or lowers (-1) the prediction.
    n_seqlets : int, default 0
        Number of aligned sites: member seqlets for a discovered motif, sites for a database
        motif (MEME's ``nsites``).
    trim : tuple of int, optional
        Half-open span ``(start, end)`` of the core within these (untrimmed) matrices;
        the whole width by default.
    seqlets : pandas.DataFrame, optional
        Member seqlets with their coordinates (as seqsal.seqlets writes them).
    source : str, default ""
        Where the motif came from: ``"seqsal.discover"``, ``"JASPAR2026:CORE:vertebrates"``,
        a MEME file path.
    matrix_id : str, optional
        Database identifier (``"MA0139.2"``); the first word of a MEME ``MOTIF`` line.
    family : str, optional
        TF family (JASPAR's ``family`` annotation, several joined by ``"; "``).
    tf_class : str, optional
        TF structural class (JASPAR's ``class`` annotation).
    """

    name: str
    ppm: np.ndarray
    cwm: np.ndarray | None = None
    hypothetical_cwm: np.ndarray | None = None
    sign: int = 1
    n_seqlets: int = 0
    trim: tuple[int, int] | None = None
    seqlets: Any = None
    source: str = ""
    matrix_id: str | None = None
    family: str | None = None
    tf_class: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or any(c.isspace() for c in self.name):
            raise InputError(
                f"Motif name={self.name!r}; expected a non-empty string without whitespace"
            )
        ppm = _check_matrix(self.ppm, f"Motif {self.name!r} ppm", None)
        if ppm.shape[1] == 0:
            raise InputError(f"Motif {self.name!r} ppm has width 0; expected at least one column")
        if np.any(ppm < 0):
            raise InputError(f"Motif {self.name!r} ppm has negative probabilities")
        totals = ppm.sum(axis=0)
        ppm = np.where(totals > 0, ppm / np.where(totals > 0, totals, 1.0), 0.25)
        self.ppm = ppm
        width = ppm.shape[1]
        self.cwm = _check_matrix(self.cwm, f"Motif {self.name!r} cwm", width)
        self.hypothetical_cwm = _check_matrix(
            self.hypothetical_cwm, f"Motif {self.name!r} hypothetical_cwm", width
        )
        if self.sign not in (1, -1):
            raise InputError(f"Motif {self.name!r} sign={self.sign!r}; expected +1 or -1")
        self.sign = int(self.sign)
        if (
            isinstance(self.n_seqlets, bool)
            or not isinstance(self.n_seqlets, (int, np.integer))
            or self.n_seqlets < 0
        ):
            raise InputError(
                f"Motif {self.name!r} n_seqlets={self.n_seqlets!r}; expected a non-negative integer"
            )
        self.n_seqlets = int(self.n_seqlets)
        trim = (0, width) if self.trim is None else tuple(int(v) for v in self.trim)
        if len(trim) != 2 or not 0 <= trim[0] < trim[1] <= width:
            raise InputError(
                f"Motif {self.name!r} trim={self.trim!r}; expected (start, end) with 0 <= start < end <= {width}"
            )
        self.trim = trim

    @property
    def width(self) -> int:
        """Number of columns of the (untrimmed) matrices."""
        return self.ppm.shape[1]

    @property
    def id(self) -> str:
        """The identifier used in files and tables: ``matrix_id`` if set, else ``name``."""
        return self.matrix_id or self.name

    def information_content(self, background=None) -> np.ndarray:
        """Per-position information content of the PPM in bits, shape (w,)."""
        return information_content(self.ppm, background)

    def contribution(self) -> np.ndarray | None:
        """Per-position absolute contribution ``sum_b |cwm[b, i]|``, shape (w,); None without a CWM."""
        return None if self.cwm is None else np.abs(self.cwm).sum(axis=0)

    def contribution_span(
        self, threshold: float = TRIM_THRESHOLD, *, min_width: int = MIN_TRIM_WIDTH
    ) -> TrimSpan:
        """The core span of the motif by contribution, in untrimmed column coordinates.

        With a CWM: the span from the first to the last position whose absolute contribution
        ``sum_b |cwm[b, i]|`` is at least ``threshold`` times the largest.  Without one (a
        database motif): the same rule on information content.

        Parameters
        ----------
        threshold : float, default 0.3
            Fraction of the peak per-position score; 0 keeps everything.
        min_width : int, default 4
            Narrowest span returned (or the whole motif, if narrower).
        """
        if not 0 <= threshold <= 1:
            raise InputError(f"threshold={threshold!r}; expected a fraction in [0, 1]")
        contribution = self.contribution()
        if contribution is not None and contribution.max() > 0:
            return TrimSpan(*span_above(contribution, threshold, min_width=min_width), "cwm")
        return TrimSpan(
            *span_above(self.information_content(), threshold, min_width=min_width), "ic"
        )

    def trim_by_contribution(
        self, threshold: float = TRIM_THRESHOLD, *, min_width: int = MIN_TRIM_WIDTH
    ) -> Motif:
        """A copy whose ``trim`` is :meth:`contribution_span` (matrices left untrimmed)."""
        span = self.contribution_span(threshold, min_width=min_width)
        return dataclasses.replace(self, trim=(span.start, span.end))

    def trimmed(self) -> Motif:
        """A copy with every matrix cut to ``trim``; its own ``trim`` is then the whole width.

        ``seqlets`` is carried unchanged (its coordinates are those of the untrimmed motif).
        """
        start, end = self.trim
        return dataclasses.replace(
            self,
            ppm=self.ppm[:, start:end].copy(),
            cwm=None if self.cwm is None else self.cwm[:, start:end].copy(),
            hypothetical_cwm=None
            if self.hypothetical_cwm is None
            else self.hypothetical_cwm[:, start:end].copy(),
            trim=None,
        )

    def reverse_complement(self) -> Motif:
        """The motif read on the other strand: rows and columns reversed in every matrix.

        The trim span is mirrored; ``seqlets`` is carried unchanged.
        """
        start, end = self.trim
        return dataclasses.replace(
            self,
            ppm=_rc(self.ppm),
            cwm=_rc(self.cwm),
            hypothetical_cwm=_rc(self.hypothetical_cwm),
            trim=(self.width - end, self.width - start),
        )

    def __repr__(self) -> str:
        extra = f", matrix_id={self.matrix_id!r}" if self.matrix_id else ""
        return (
            f"Motif(name={self.name!r}{extra}, width={self.width}, sign={self.sign:+d}, "
            f"n_seqlets={self.n_seqlets}, trim={self.trim}, cwm={'yes' if self.cwm is not None else 'no'}, "
            f"source={self.source!r})"
        )
