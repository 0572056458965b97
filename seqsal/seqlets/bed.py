"""The seqlets BED: seqlets in genome coordinates, and back to the windows they came from.

BED6+ with a ``#``-prefixed header row naming every column (:data:`BED_COLUMNS`): ``chrom
start end name score strand`` (the reported span on the genome; strand is the window's),
then ``region`` (window name), ``offset`` (window offset of the reported start), ``sign``
(+1 / -1), ``attribution``, ``p_value``, ``q_value`` and ``motif`` ("." until motif discovery
fills it).  ``seqsal seqlets`` writes it and ``seqsal motifs`` reads it and writes it again
with the motif column filled.  Fields are written verbatim (no quoting), so a region name is
the same string in the regions BED, the store and every output.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from seqsal.errors import InputError
from seqsal.io.bed import write_table
from seqsal.seqlets.call import Seqlets
from seqsal.sequence.geometry import WindowGeometry

#: Columns of the seqlets BED, in order.  ``motif`` is "." until motif discovery fills it.
BED_COLUMNS = [
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "region",
    "offset",
    "sign",
    "attribution",
    "p_value",
    "q_value",
    "motif",
]
_INTEGER_COLUMNS = ("start", "end", "score", "offset", "sign")
_FLOAT_COLUMNS = ("attribution", "p_value", "q_value")
#: Columns :func:`read_seqlets_bed` needs to place a seqlet in a window.
_LOCATING_COLUMNS = ("chrom", "start", "end", "region", "offset", "sign")


def seqlets_to_bed(seqlets: Seqlets) -> pd.DataFrame:
    """The BED6+ table of :func:`write_seqlets_bed` as a DataFrame (columns ``BED_COLUMNS``).

    ``name`` is ``{region}:{offset}{+|-}`` (region name, window offset of the reported span,
    seqlet sign), unique per seqlet; ``score`` is ``min(1000, round(-100 log10 q))``; strand is
    the window's (the orientation the model read); ``motif`` is "." (filled by discovery).
    """
    t = seqlets.table
    if "chrom" not in t.columns:
        raise InputError("the seqlets have no genome coordinates; call call_seqlets with coords=")
    q = np.clip(t["q_value"].to_numpy(np.float64), 1e-300, 1.0)
    score = np.minimum(1000, np.round(-100 * np.log10(q))).astype(np.int64)
    sign_char = np.where(t["sign"].to_numpy() > 0, "+", "-")
    strand = np.where(t["strand"].astype(str).to_numpy() == "-", "-", "+")
    names = [f"{r}:{o}{c}" for r, o, c in zip(t["region"], t["start"], sign_char, strict=True)]
    return pd.DataFrame(
        {
            "chrom": t["chrom"].to_numpy(),
            "start": t["genome_start"].to_numpy(np.int64),
            "end": t["genome_end"].to_numpy(np.int64),
            "name": names,
            "score": score,
            "strand": strand,
            "region": t["region"].to_numpy(),
            "offset": t["start"].to_numpy(np.int64),
            "sign": t["sign"].to_numpy(np.int64),
            "attribution": t["attribution"].to_numpy(np.float64),
            "p_value": t["p_value"].to_numpy(np.float64),
            "q_value": t["q_value"].to_numpy(np.float64),
            "motif": ".",
        },
        columns=BED_COLUMNS,
    )


def write_seqlets_bed(seqlets: Seqlets | pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
    """Write seqlets as BED6+ with a ``#``-prefixed header row naming every column (atomic).

    Columns :data:`BED_COLUMNS`; rows sorted by chrom, start, end.  Every field is written
    verbatim: a region name holding ``"``, ``'``, ``#`` or spaces comes out as it came.

    Parameters
    ----------
    seqlets : Seqlets or pandas.DataFrame
        From :func:`seqsal.seqlets.call_seqlets` with ``coords``, or a table with the BED
        columns (as :func:`read_seqlets_bed` returns, e.g. with ``motif`` filled); columns
        not in ``BED_COLUMNS`` are left out.
    path : str or os.PathLike
        Output BED path.

    Returns
    -------
    pandas.DataFrame
        The rows written.

    Raises
    ------
    InputError
        Seqlets without genome coordinates, a table without ``chrom, start, end``, or a text
        field holding a tab or line break.
    """
    if isinstance(seqlets, Seqlets):
        bed = seqlets_to_bed(seqlets)
    elif isinstance(seqlets, pd.DataFrame):
        missing = [c for c in ("chrom", "start", "end") if c not in seqlets.columns]
        if missing:
            raise InputError(
                f"seqlets table lacks column(s) {missing}; expected the columns {BED_COLUMNS}"
            )
        bed = seqlets[[c for c in BED_COLUMNS if c in seqlets.columns]]
    else:
        raise InputError(
            f"seqlets is a {type(seqlets).__name__}; expected seqsal.seqlets.Seqlets or a "
            "DataFrame with the seqlets BED columns"
        )
    bed = bed.sort_values(["chrom", "start", "end"], kind="stable")
    write_table(bed, path, float_format="%.6g", na_rep="NaN")
    return bed.reset_index(drop=True)


def _parse(text: str, path: str | os.PathLike) -> tuple[list[str], list[list[str]], list[int]]:
    """Header names, field lists and 1-based line numbers of a seqlets BED."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        if header is None:
            header = line.lstrip("#").split("\t")
            if header[:3] != ["chrom", "start", "end"]:
                raise InputError(
                    f"header {line[:60]!r}; expected '#chrom<TAB>start<TAB>end...', the "
                    "seqlets BED that 'seqsal seqlets' writes",
                    path=path,
                    line=lineno,
                )
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise InputError(
                f"found {len(fields)} fields; expected {len(header)} as in the header",
                path=path,
                line=lineno,
            )
        rows.append(fields)
        lines.append(lineno)
    if header is None:
        raise InputError(
            "seqlets BED is empty; expected a '#chrom start end ...' header", path=path
        )
    return header, rows, lines


def _numbers(
    values: Sequence[str], column: str, kind: type, path: str | os.PathLike, lines: list[int]
) -> np.ndarray:
    try:
        return np.array(values, dtype=kind)
    except ValueError:
        for text, lineno in zip(values, lines, strict=True):
            try:
                kind(text)
            except ValueError:
                raise InputError(
                    f"{column} {text!r} is not {'an integer' if kind is np.int64 else 'a number'}",
                    path=path,
                    line=lineno,
                ) from None
        raise


def read_seqlets_bed(
    path: str | os.PathLike, *, windows: WindowGeometry | None = None
) -> pd.DataFrame:
    """Read a seqlets BED (from :func:`write_seqlets_bed`, ``seqsal seqlets`` or ``seqsal motifs``).

    Parameters
    ----------
    path : str or os.PathLike
        The BED file.
    windows : WindowGeometry, optional
        The windows the seqlets were called on (``window_geometry(store.coords,
        store.length)``).  Then each seqlet is placed in its window: ``example_idx`` (the
        window whose name is the seqlet's ``region``) and ``core_start``, ``core_end`` (window
        offsets of the reported span, from its genome coordinates), checked against the
        ``offset`` column and the bases read from the genome.

    Returns
    -------
    pandas.DataFrame
        The file's columns in order (text columns as str, verbatim; ``start, end, score,
        offset, sign`` int64; ``attribution, p_value, q_value`` float64), plus the three
        placement columns with ``windows``.

    Raises
    ------
    InputError
        Naming the file and line: a missing file or header, a wrong field count, a
        non-numeric value; with ``windows``: missing columns, a region not among the windows
        (or window names that are not unique), or a seqlet whose genome span does not lie at
        its offset inside the bases read of its window.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read seqlets BED: {err}", path=path) from err
    header, rows, lines = _parse(text, path)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    data = {}
    for name, column in zip(header, columns, strict=True):
        values = list(column)
        if name in _INTEGER_COLUMNS:
            data[name] = _numbers(values, name, np.int64, path, lines)
        elif name in _FLOAT_COLUMNS:
            data[name] = _numbers(values, name, np.float64, path, lines)
        else:
            data[name] = np.array(values, dtype=object)
    table = pd.DataFrame(data, columns=header)
    if windows is None:
        return table
    return _place(table, windows, path, np.asarray(lines, dtype=np.int64))


def _place(
    table: pd.DataFrame, windows: WindowGeometry, path: str | os.PathLike, lines: np.ndarray
) -> pd.DataFrame:
    """Add ``example_idx``, ``core_start``, ``core_end``; check each seqlet fits its window."""
    missing = [c for c in _LOCATING_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"seqlets BED lacks columns {missing}; expected the BED written by 'seqsal seqlets'",
            path=path,
        )
    names = pd.Index(windows.name)
    if not names.is_unique:
        raise InputError(
            "the windows' names are not unique, so seqlets cannot be mapped to windows", path=path
        )
    rows = names.get_indexer(table["region"].astype(str))
    unknown = np.flatnonzero(rows < 0)
    if unknown.size:
        i = int(unknown[0])
        raise InputError(
            f"seqlet region {table['region'].iloc[i]!r} is not a window of the store "
            f"({unknown.size} seqlets unmatched); were the seqlets called on this store?",
            path=path,
            line=int(lines[i]),
        )
    rows = rows.astype(np.int64)
    start, end = windows.to_window(rows, table["start"], table["end"])
    lo, hi = windows.read_span(rows)
    chrom = table["chrom"].astype(str).to_numpy() != windows.chrom[rows]
    bad = np.flatnonzero(
        chrom | (start != table["offset"].to_numpy()) | (start < lo) | (end > hi) | (end <= start)
    )
    if bad.size:
        i = int(bad[0])
        r = int(rows[i])
        raise InputError(
            f"seqlet {table['chrom'].iloc[i]}:{table['start'].iloc[i]}-{table['end'].iloc[i]} "
            f"with offset {table['offset'].iloc[i]} does not lie at that offset inside the "
            f"bases read of {windows.describe(r)} (offsets {lo[i]}-{hi[i]} of {windows.length}); "
            f"{bad.size} seqlet(s) differ; were the seqlets called on this store?",
            path=path,
            line=int(lines[i]),
        )
    out = table.copy()
    out["example_idx"] = rows
    out["core_start"] = start
    out["core_end"] = end
    return out
