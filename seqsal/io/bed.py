"""BED files <-> pandas DataFrames, with validation that names the file and line.

Reads BED3 to BED6 and beyond: ``#``, ``track`` and ``browser`` lines are skipped; an optional
header row (a first data line whose start/end fields are not integers, or a ``#chrom start end
...`` comment) names the columns, and its extra numeric columns are the *targets* a model is
trained on.  gzip input is detected by its magic bytes, whatever the file is called.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO

import numpy as np
import pandas as pd

from seqsal.errors import InputError
from seqsal.io.atomic import atomic_open

log = logging.getLogger(__name__)

BED_COLUMNS = ["chrom", "start", "end", "name", "score", "strand"]
STRANDS = frozenset("+-.")
# Header spellings of the six standard columns (lower case) -> canonical name.
_STANDARD_ALIASES = {
    "chrom": "chrom",
    "chr": "chrom",
    "chromosome": "chrom",
    "seqnames": "chrom",
    "start": "start",
    "chromstart": "start",
    "end": "end",
    "chromend": "end",
    "stop": "end",
    "name": "name",
    "score": "score",
    "strand": "strand",
}
_NARROWPEAK_EXTRAS = ["signalValue", "pValue", "qValue", "peak"]
_MISSING = frozenset({"", ".", "NA", "NaN", "nan", "na"})
# Bookkeeping columns that seqsal itself writes next to windows (make_windows, ``seqsal
# extract --windows-bed``): the N bases padded past a chromosome end.  Read back as integers
# and never taken for targets, so a windows BED round-trips.
WINDOW_COLUMNS = ("pad_left", "pad_right")
#: Characters that end a field or a line of a tab-separated file (tab, and every line break
#: ``str.splitlines`` knows).  BED fields are written verbatim, so a field must not hold one.
FIELD_BREAKS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_FIELD_BREAK = re.compile("[" + re.escape(FIELD_BREAKS) + "]")


def _open_text(path: str | os.PathLike) -> IO[str]:
    """Open ``path`` as text, decompressing gzip (by magic bytes, not by name)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    # newline="": a carriage return inside a line stays visible (a name holding one is refused)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(
            gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline=""
        )
    return open(path, encoding="utf-8", errors="replace", newline="")


def _split(line: str) -> list[str]:
    """Split a BED line on tabs (on any whitespace if it holds no tab); fields stripped."""
    if "\t" not in line:
        return line.split()
    fields = line.split("\t")
    if " " in line:
        fields = [f.strip() for f in fields]
    return fields


def _header_names(fields: list[str], path: str | os.PathLike, line: int) -> list[str]:
    """Canonical column names from a header row; positions 1-3 are always chrom/start/end."""
    names = []
    for i, field in enumerate(fields):
        if i < 3:
            names.append(BED_COLUMNS[i])
            continue
        name = (
            _STANDARD_ALIASES.get(field.lower(), field)
            if field.lower() in ("name", "score", "strand")
            else field
        )
        if not name:
            raise InputError(f"header column {i + 1} has no name", path=path, line=line)
        names.append(name)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise InputError(
                f"header names column {name!r} twice (columns {seen[name] + 1} and {i + 1})",
                path=path,
                line=line,
            )
        seen[name] = i
    return names


def _positional_names(n_cols: int, path: str | os.PathLike) -> list[str]:
    """Column names of a headerless file: BED6 by position, then narrowPeak or ``colN``."""
    names = BED_COLUMNS[: min(n_cols, 6)]
    if n_cols == 10 and ".narrowpeak" in os.fspath(path).lower():
        return names + _NARROWPEAK_EXTRAS
    return names + [f"col{i + 1}" for i in range(6, n_cols)]


def _parse_float(text: str) -> float | None:
    """A float, NaN for the usual missing-value spellings, or None if not a number."""
    if text in _MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def read_bed(
    path: str | os.PathLike,
    *,
    chrom_sizes: Mapping[str, int] | None = None,
    skip_missing: bool = False,
    unique_names: bool = True,
) -> pd.DataFrame:
    """Read and validate a BED file (BED3 to BED6+, optional header, gzip ok).

    Parameters
    ----------
    path : str or os.PathLike
        The BED file, plain or gzip-compressed.
    chrom_sizes : mapping of str to int, optional
        Sequence names of the genome (e.g. ``Genome.chrom_sizes``).  Regions on other
        chromosomes are an error, unless ``skip_missing``.  Regions running past a
        chromosome's end are *not* an error here: windows decide (pad, drop or error).
    skip_missing : bool, default False
        Drop regions on chromosomes not in ``chrom_sizes`` (with a warning and the count)
        instead of raising.  Off by default because mismatched names (``chr1`` vs ``1``)
        usually mean the wrong genome.
    unique_names : bool, default True
        Refuse two regions with the same name (the error names both lines and says how to
        fix the file): region names key outputs (attribution stores, predictions), so a
        repeat is usually a mistake.
        Pass False for files where names are labels, not keys, such as ``planted.bed`` from
        :mod:`seqsal.sequence.synthetic` (the transcription factor of each instance).

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom, start, end, name, score, strand`` (absent ones filled:
        name = ``"chrom:start-end"``, score = 0, strand = ``"."``), then the file's extra
        columns.  ``attrs["targets"]``: the header's extra numeric columns, in file order,
        except the windows bookkeeping columns ``pad_left``/``pad_right`` (read as integers);
        ``attrs["source"]``: the path; ``attrs["columns"]``: the DataFrame column of each
        file column, in file order (so a 1-based column number, such as narrowPeak's summit
        column 10, can be resolved).

    Raises
    ------
    InputError
        Naming the file and line: a missing or empty file, too few or inconsistent columns,
        a non-integer or negative coordinate, ``end <= start``, a strand other than
        ``+ - .``, a non-numeric score or target value, duplicate names (both lines; unless
        ``unique_names=False``),
        chromosomes not in ``chrom_sizes`` (a few named, with the count).
    """
    source = os.fspath(path)
    if not os.path.exists(source):
        raise InputError("BED file not found", path=source)
    if not os.path.isfile(source):
        raise InputError("expected a BED file, got a folder or special file", path=source)

    header: list[str] | None = None
    comment_header: tuple[list[str], int] | None = None
    header_line = 0
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    try:
        with _open_text(source) as handle:
            text = handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise InputError(f"cannot read BED file: {err}", path=source) from err
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\n" not in text:  # classic Mac line ends
            text = text.replace("\r", "\n")
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line or line.isspace():
            continue
        first = line[0]
        if first == "#":
            if not rows and header is None:
                fields = _split(line.lstrip("#"))
                if len(fields) >= 3 and fields[0].lower() in (
                    "chrom",
                    "chr",
                    "chromosome",
                    "seqnames",
                ):
                    comment_header = (fields, lineno)
            continue
        if first in "tb" and line.split(None, 1)[0] in ("track", "browser"):
            continue
        fields = _split(line)
        if not rows and header is None:
            if (
                len(fields) >= 3
                and _parse_float(fields[1]) is None
                and _parse_float(fields[2]) is None
            ):
                header, header_line = fields, lineno
                continue
            if comment_header is not None:
                header, header_line = comment_header
        rows.append(fields)
        line_numbers.append(lineno)
    del text

    if not rows:
        what = "holds a header but no regions" if header else "holds no regions"
        raise InputError(
            f"BED file {what}; expected lines 'chrom<TAB>start<TAB>end[...]'", path=source
        )

    n_cols = len(header) if header is not None else len(rows[0])
    if n_cols < 3:
        raise InputError(
            f"found {n_cols} column(s); a BED line needs at least 3 (chrom, start, end)",
            path=source,
            line=header_line or line_numbers[0],
        )
    names = (
        _header_names(header, source, header_line)
        if header is not None
        else _positional_names(n_cols, source)
    )
    expected_from = (
        f"as in the header (line {header_line})"
        if header is not None
        else f"as on line {line_numbers[0]}"
    )
    consistent = set(map(len, rows)) == {n_cols}
    for fields, lineno in zip(rows, line_numbers, strict=True):
        if consistent:
            break
        if len(fields) != n_cols:
            problem = "too few" if len(fields) < n_cols else "too many"
            if len(fields) < 3:
                raise InputError(
                    f"found {len(fields)} column(s); a BED line needs at least 3 (chrom, start, end)",
                    path=source,
                    line=lineno,
                )
            raise InputError(
                f"{problem} columns: found {len(fields)}, expected {n_cols} {expected_from}",
                path=source,
                line=lineno,
            )

    n_rows = len(rows)
    columns = list(zip(*rows, strict=True))
    del rows  # the columns hold the same strings; keep one copy of the table
    data: dict[str, object] = {}
    lines = np.asarray(line_numbers, dtype=np.int64)

    chrom = np.asarray(columns[0], dtype=object)
    data["chrom"] = chrom
    starts = _int_column(columns[1], "start", source, lines)
    ends = _int_column(columns[2], "end", source, lines)
    bad = np.flatnonzero(ends <= starts)
    if bad.size:
        i = bad[0]
        raise InputError(
            f"end ({ends[i]}) <= start ({starts[i]}); a region must have end > start "
            "(BED is 0-based, half-open)",
            path=source,
            line=int(lines[i]),
        )
    if "" in set(columns[0]):
        i = columns[0].index("")
        raise InputError("empty chromosome name", path=source, line=int(lines[i]))
    data["start"] = starts
    data["end"] = ends

    by_name = {name: columns[i] for i, name in enumerate(names)}
    if "name" in by_name:
        given = by_name["name"]
        name_col = [
            g if g not in ("", ".") else f"{c}:{s}-{e}"
            for g, c, s, e in zip(given, chrom, starts, ends, strict=True)
        ]
        for i, name in enumerate(given if _FIELD_BREAK.search("".join(given)) else ()):
            if _FIELD_BREAK.search(name):
                raise InputError(
                    f"region name {name!r} holds a tab or line break; names are written "
                    "verbatim into BED outputs (seqlets.bed, hits.bed), so they may hold any "
                    "character but these",
                    path=source,
                    line=int(lines[i]),
                )
    else:
        name_col = [f"{c}:{s}-{e}" for c, s, e in zip(chrom, starts, ends, strict=True)]
    if unique_names:
        first_line: dict[str, int] = {}
        named = by_name.get("name")
        for i, (name, lineno) in enumerate(zip(name_col, line_numbers, strict=True)):
            if name in first_line:
                fix = (
                    "rename one (column 4)"
                    if named is not None and named[i] not in ("", ".")
                    else "remove the repeated region or give each a name in column 4"
                )
                raise InputError(
                    f"duplicate region name {name!r} (also on line {first_line[name]}); region "
                    f"names key the outputs, so each must be unique: {fix} (regions without a "
                    "name are named chrom:start-end)",
                    path=source,
                    line=lineno,
                )
            first_line[name] = lineno
    data["name"] = np.asarray(name_col, dtype=object)

    if "score" in by_name:
        data["score"] = _float_column(by_name["score"], "score", source, lines, missing=0.0)
    else:
        data["score"] = np.zeros(n_rows, dtype=np.float64)
    if "strand" in by_name:
        strand = np.asarray(by_name["strand"], dtype=object)
        for i, s in enumerate(strand if not set(strand) <= STRANDS else ()):
            if s not in STRANDS:
                raise InputError(
                    f"strand {s!r}; expected '+', '-' or '.'", path=source, line=int(lines[i])
                )
        data["strand"] = strand
    else:
        data["strand"] = np.full(n_rows, ".", dtype=object)

    targets: list[str] = []
    for i, name in enumerate(names):
        if name in BED_COLUMNS:
            continue
        values = columns[i]
        if header is not None and name not in WINDOW_COLUMNS and _looks_numeric(values):
            data[name] = _float_column(
                values,
                f"numeric column {name!r} (a target: its first value is a number) has value",
                source,
                lines,
                missing=math.nan,
            )
            targets.append(name)
        else:
            data[name] = _best_dtype(values)

    df = pd.DataFrame(data)
    df.attrs["source"] = source
    df.attrs["targets"] = targets
    df.attrs["columns"] = names

    if chrom_sizes is not None:
        df = _check_chromosomes(df, chrom_sizes, skip_missing, source, lines)
    return df


def _int_column(
    values: Sequence[str], what: str, path: str | os.PathLike, lines: np.ndarray
) -> np.ndarray:
    try:  # fast path: numpy parses as int() does
        out = np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    else:
        if (out >= 0).all():
            return out
    out = np.empty(len(values), dtype=np.int64)
    for i, text in enumerate(values):
        try:
            v = int(text)
            if v >= 2**62:
                raise OverflowError
        except OverflowError:
            raise InputError(f"{what} {text} is too large", path=path, line=int(lines[i])) from None
        except ValueError:
            raise InputError(
                f"{what} {text!r} is not an integer", path=path, line=int(lines[i])
            ) from None
        if v < 0:
            raise InputError(
                f"{what} {v} is negative; BED coordinates are >= 0", path=path, line=int(lines[i])
            )
        out[i] = v
    return out


def _float_column(
    values: Sequence[str], what: str, path: str | os.PathLike, lines: np.ndarray, *, missing: float
) -> np.ndarray:
    if not _MISSING.intersection(values):
        try:  # fast path: numpy parses as float() does
            return np.array(values, dtype=np.float64)
        except ValueError:
            pass
    out = np.empty(len(values), dtype=np.float64)
    for i, text in enumerate(values):
        if text in _MISSING:
            out[i] = missing
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise InputError(
                f"{what} {text!r} is not a number", path=path, line=int(lines[i])
            ) from None
    return out


def _looks_numeric(values: Iterable[str]) -> bool:
    """A column is numeric (a target) if its first non-missing value is a number."""
    for text in values:
        if text in _MISSING:
            continue
        return _parse_float(text) is not None
    return False


def _best_dtype(values: Sequence[str]) -> np.ndarray:
    """Integers, then floats, else strings: the narrowest type every value fits."""
    try:
        return np.asarray([int(v) for v in values], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.asarray([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.asarray(values, dtype=object)


def _check_chromosomes(
    df: pd.DataFrame,
    chrom_sizes: Mapping[str, int],
    skip_missing: bool,
    source: str | os.PathLike,
    lines: np.ndarray,
) -> pd.DataFrame:
    known = df["chrom"].isin(list(chrom_sizes)).to_numpy()
    if known.all():
        return df
    missing_rows = np.flatnonzero(~known)
    missing_names = list(dict.fromkeys(df["chrom"].to_numpy()[missing_rows]))
    shown = ", ".join(repr(m) for m in missing_names[:5]) + (
        ", ..." if len(missing_names) > 5 else ""
    )
    what = f"{missing_rows.size} region(s) on {len(missing_names)} chromosome(s) not in the genome: {shown}"
    if not skip_missing:
        first = int(lines[missing_rows[0]])
        genome_names = list(chrom_sizes)[:5]
        raise InputError(
            f"{what}; the genome has {', '.join(map(repr, genome_names))}"
            f"{', ...' if len(chrom_sizes) > 5 else ''} (use skip_missing / --skip-missing to drop them)",
            path=source,
            line=first,
        )
    log.warning("%s: skipped %s", source, what)
    if known.sum() == 0:
        raise InputError(f"no regions left after skipping {what}", path=source)
    attrs = dict(df.attrs)
    kept = df.loc[known].reset_index(drop=True)
    kept.attrs = attrs
    return kept


def check_fields(table: pd.DataFrame, *, path: str | os.PathLike | None = None) -> None:
    """Refuse a text field holding a tab or line break (:data:`FIELD_BREAKS`).

    Fields are written verbatim, so such a field would split its line.  The InputError names
    the output file, the column, the row and the value.
    """
    for column in table.columns:
        values = table[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        bad = values.astype(str).str.contains(_FIELD_BREAK, regex=True).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"column {column!r} row {i} is {values.iloc[i]!r}: a tab or line break inside "
                "a field would split its line; expected fields without them",
                path=path,
            )


def write_rows(
    handle: IO[str], table: pd.DataFrame, *, float_format: str | None = None, na_rep: str = ""
) -> None:
    """Write ``table``'s rows to an open text file, tab-separated, every field verbatim.

    No field is quoted or escaped (pandas would quote a field holding ``"``), so bedtools,
    awk and joins on a name see the name as it came.  Call :func:`check_fields` first.
    """
    table.to_csv(
        handle,
        sep="\t",
        header=False,
        index=False,
        float_format=float_format,
        na_rep=na_rep,
        lineterminator="\n",
        quoting=csv.QUOTE_NONE,
        escapechar=None,
    )


def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    float_format: str | None = "%.6g",
    na_rep: str = "NaN",
) -> None:
    """Write a BED6+ (or any) table with a ``#``-prefixed header row naming every column.

    Fields are written verbatim (see :func:`write_rows`); the file appears only when complete.

    Parameters
    ----------
    table : pandas.DataFrame
        Written in column and row order.
    path : str or os.PathLike
        Output file.
    float_format : str or None, default "%.6g"
        Format of float columns.
    na_rep : str, default "NaN"
        Written for missing values.

    Raises
    ------
    InputError
        If a text field holds a tab or line break (naming the column and row).
    """
    check_fields(table, path=path)
    with atomic_open(path, "w", newline="") as handle:
        handle.write("#" + "\t".join(map(str, table.columns)) + "\n")
        write_rows(handle, table, float_format=float_format, na_rep=na_rep)


def write_bed(df: pd.DataFrame, path: str | os.PathLike, *, header: bool = False) -> None:
    """Write a regions DataFrame as BED (atomically), every field verbatim.

    Parameters
    ----------
    df : pandas.DataFrame
        Needs ``chrom, start, end``; ``name, score, strand`` are filled as in
        :func:`read_bed` when absent.  Columns are written BED6 first, then the rest in order.
    path : str or os.PathLike
        Output file; appears only when complete.
    header : bool, default False
        Write a ``#chrom<TAB>start<TAB>end...`` comment line naming the columns, which
        :func:`read_bed` reads back (extra numeric columns become targets).  Off by default
        because some tools reject any comment line.

    Raises
    ------
    InputError
        If a text field holds a tab or line break (naming the column and row).
    """
    missing = [c for c in ("chrom", "start", "end") if c not in df.columns]
    if missing:
        raise InputError(f"regions lack column(s) {missing}; expected at least chrom, start, end")
    out = df.copy()
    out.attrs = {}
    if "name" not in out.columns:
        out["name"] = (
            out["chrom"].astype(str) + ":" + out["start"].astype(str) + "-" + out["end"].astype(str)
        )
    if "score" not in out.columns:
        out["score"] = 0
    if "strand" not in out.columns:
        out["strand"] = "."
    order = BED_COLUMNS + [c for c in out.columns if c not in BED_COLUMNS]
    out = out[order]
    check_fields(out, path=path)
    with atomic_open(path, "w", newline="\n") as handle:
        if header:
            handle.write("#" + "\t".join(map(str, order)) + "\n")
        write_rows(handle, out, na_rep="NA")
