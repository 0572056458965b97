"""MEME v4 motif files (letter-probability matrices) <-> :class:`seqsal.motifs.types.Motif`.

The written files follow the MEME suite's "minimal MEME format" and are read back unchanged
by ``memelite.io.read_meme`` and by MEME-suite tools.  A ``MOTIF`` line carries the motif's
identifier and, for database motifs, its name: ``MOTIF MA0139.2 CTCF``; a discovered motif
has one word, ``MOTIF pos_pattern_0``.  Only the probabilities, the names and ``nsites``
travel through a MEME file; CWMs, signs and seqlets are stored beside it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from seqsal.errors import InputError
from seqsal.io.atomic import atomic_open
from seqsal.motifs.types import Motif

log = logging.getLogger(__name__)

#: Probabilities are written with this many decimals; read back to within 5e-7.
DECIMALS = 6

#: A matrix row may sum to 1 within this tolerance (MEME files often carry 3-6 decimals);
#: rows are renormalised on reading.
ROW_SUM_TOLERANCE = 0.02

_LETTER_PROB = re.compile(r"^letter-probability matrix:(?P<rest>.*)$")
_KEY_VALUE = re.compile(r"(\w+)\s*=\s*(\S+)")


def _background_vector(background) -> np.ndarray:
    if background is None:
        return np.full(4, 0.25)
    if isinstance(background, dict):
        try:
            values = [background[b] for b in "ACGT"]
        except KeyError as err:
            raise InputError(f"background is missing base {err}; expected keys A, C, G, T") from err
    else:
        values = background
    vector = np.asarray(values, dtype=np.float64)
    if vector.shape != (4,) or np.any(vector <= 0) or not np.isfinite(vector).all():
        raise InputError(
            f"background={background!r}; expected 4 positive frequencies for A, C, G, T"
        )
    return vector / vector.sum()


def write_meme(motifs: Iterable, path: str | os.PathLike, *, background=None) -> Path:
    """Write motifs as a MEME v4 file of letter-probability matrices (atomically).

    Parameters
    ----------
    motifs : iterable of Motif
        Written in order; their ``id`` values must be unique.  The full (untrimmed) PPM is
        written; call ``motif.trimmed()`` first to write cores only.
    path : str or os.PathLike
        Output file; written under a temporary name and renamed when complete.
    background : array-like of 4 floats or dict, optional
        Background letter frequencies for A, C, G, T; uniform by default.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    motifs = list(motifs)
    seen: set[str] = set()
    for i, motif in enumerate(motifs):
        if not isinstance(motif, Motif):
            raise InputError(
                f"motifs[{i}] is a {type(motif).__name__}; expected seqsal.motifs.Motif"
            )
        if motif.id in seen:
            raise InputError(
                f"motifs[{i}] repeats the id {motif.id!r}; MEME motif ids must be unique"
            )
        seen.add(motif.id)
    q = _background_vector(background)
    fmt = f"{{:.{DECIMALS}f}}"
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {fmt.format(v)}" for b, v in zip("ACGT", q, strict=True)),
        "",
    ]
    for motif in motifs:
        header = (
            f"MOTIF {motif.matrix_id} {motif.name}" if motif.matrix_id else f"MOTIF {motif.name}"
        )
        lines.append(header)
        lines.append(
            f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {motif.n_seqlets} E= 0"
        )
        lines.extend(" ".join(fmt.format(v) for v in column) for column in motif.ppm.T)
        lines.append("")
    with atomic_open(path, "w") as handle:
        handle.write("\n".join(lines))
    log.info("wrote %d motifs to %s", len(motifs), path)
    return Path(path)


def read_meme(path: str | os.PathLike, *, source: str | None = None) -> list:
    """Read the letter-probability matrices of a MEME file as :class:`Motif` objects.

    Accepts MEME v4/v5 text (``meme``, ``streme``, ``tomtom`` databases, JASPAR exports):
    the DNA alphabet only; log-odds matrices, URLs and other lines are skipped.

    Parameters
    ----------
    path : str or os.PathLike
        The MEME file.
    source : str, optional
        Stored in each motif's ``source``; the path by default.

    Returns
    -------
    list of Motif
        In file order.  ``MOTIF a b`` gives ``matrix_id=a, name=b``; ``MOTIF a`` gives
        ``name=a``.  ``n_seqlets`` is ``nsites`` (rounded), 0 when absent.

    Raises
    ------
    InputError
        With the file and line: no ``MEME version`` line, a non-DNA alphabet, a matrix
        header without ``w=``, a row of the wrong length, non-numeric or negative values, a
        row not summing to 1, a matrix cut short, a repeated motif id, or no motif at all.
    """
    path = Path(path)
    source = os.fspath(path) if source is None else source
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read MEME file: {err}", path=path) from err

    motifs: list[Motif] = []
    ids: dict[str, int] = {}
    version_seen = False
    header: tuple[str, str | None, int] | None = None  # (first word, second word, line)
    matrix: dict | None = None  # collecting rows of a letter-probability matrix
    lines = text.splitlines()

    def finish_matrix(line_no: int):
        nonlocal matrix, header
        rows = np.array(matrix["rows"], dtype=np.float64)
        first, second, motif_line = header
        name, matrix_id = (second, first) if second else (first, None)
        motif_id = matrix_id or name
        if motif_id in ids:
            raise InputError(
                f"motif id {motif_id!r} repeats the one on line {ids[motif_id]}; ids must be unique",
                path=path,
                line=motif_line,
            )
        ids[motif_id] = motif_line
        motifs.append(
            Motif(
                name=name,
                ppm=rows.T,
                n_seqlets=matrix["nsites"],
                source=source,
                matrix_id=matrix_id,
            )
        )
        matrix = None
        header = None

    for line_no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if matrix is not None:
            if not line:
                # Blank lines inside a matrix are tolerated (some writers add them).
                continue
            values = line.split()
            try:
                row = [float(v) for v in values]
            except ValueError:
                raise InputError(
                    f"matrix row {len(matrix['rows']) + 1} of motif {header[0]!r} has non-numeric "
                    f"values {line!r}; expected {matrix['width']} rows of 4 probabilities "
                    f"(the matrix is cut short)",
                    path=path,
                    line=line_no,
                ) from None
            if len(row) != 4:
                raise InputError(
                    f"matrix row of motif {header[0]!r} has {len(row)} values; expected 4 (A C G T)",
                    path=path,
                    line=line_no,
                )
            row_array = np.array(row)
            if np.any(row_array < 0) or not np.isfinite(row_array).all():
                raise InputError(
                    f"matrix row {line!r} has negative or non-finite values",
                    path=path,
                    line=line_no,
                )
            if abs(row_array.sum() - 1.0) > ROW_SUM_TOLERANCE:
                raise InputError(
                    f"matrix row {line!r} sums to {row_array.sum():.4g}; expected probabilities summing to 1",
                    path=path,
                    line=line_no,
                )
            matrix["rows"].append(row_array / row_array.sum())
            if len(matrix["rows"]) == matrix["width"]:
                finish_matrix(line_no)
            continue
        if not line:
            continue
        if line.startswith("MEME version"):
            version_seen = True
        elif line.startswith("ALPHABET"):
            alphabet = (
                line.split("=", 1)[1].strip() if "=" in line else line[len("ALPHABET") :].strip()
            )
            if alphabet.upper() != "ACGT" and "DNA" not in alphabet.upper():
                raise InputError(
                    f"alphabet {alphabet!r}; seqsal reads DNA motifs (ALPHABET= ACGT)",
                    path=path,
                    line=line_no,
                )
        elif line.startswith("MOTIF"):
            if not version_seen:
                raise InputError(
                    "MOTIF before any 'MEME version' line; not a MEME file", path=path, line=line_no
                )
            if header is not None:
                raise InputError(
                    f"motif {header[0]!r} (line {header[2]}) has no letter-probability matrix",
                    path=path,
                    line=line_no,
                )
            words = line.split()
            if len(words) < 2:
                raise InputError("MOTIF line without an identifier", path=path, line=line_no)
            header = (words[1], words[2] if len(words) > 2 else None, line_no)
        elif _LETTER_PROB.match(line):
            if header is None:
                raise InputError(
                    "letter-probability matrix without a MOTIF line before it",
                    path=path,
                    line=line_no,
                )
            fields = dict(_KEY_VALUE.findall(_LETTER_PROB.match(line).group("rest")))
            try:
                width = int(fields["w"])
            except (KeyError, ValueError):
                raise InputError(
                    f"letter-probability matrix line {line!r} has no valid 'w= <width>'",
                    path=path,
                    line=line_no,
                ) from None
            if width < 1:
                raise InputError(
                    f"matrix width w= {width}; expected at least 1", path=path, line=line_no
                )
            alength = fields.get("alength", "4")
            if alength != "4":
                raise InputError(f"alength= {alength}; expected 4 (DNA)", path=path, line=line_no)
            try:
                nsites = max(0, round(float(fields.get("nsites", 0))))
            except ValueError:
                raise InputError(
                    f"nsites= {fields['nsites']!r} is not a number", path=path, line=line_no
                ) from None
            matrix = {"width": width, "nsites": nsites, "rows": []}
    if matrix is not None:
        raise InputError(
            f"motif {header[0]!r} ends after {len(matrix['rows'])} of {matrix['width']} matrix rows",
            path=path,
            line=len(lines),
        )
    if header is not None:
        raise InputError(
            f"motif {header[0]!r} (line {header[2]}) has no letter-probability matrix",
            path=path,
            line=len(lines),
        )
    if not version_seen:
        raise InputError("no 'MEME version' line; not a MEME file", path=path, line=1)
    if not motifs:
        raise InputError(
            "no motifs (MOTIF lines with letter-probability matrices) found", path=path
        )
    log.info("read %d motifs from %s", len(motifs), path)
    return motifs
