"""Indexed FASTA access (pyfaidx underneath), FASTA writing, and chromosome sizes files.

:func:`write_fasta` writes ``(name, sequence)`` records; :func:`write_windows_fasta` the
sequences of windows named by their coordinates (``seqsal extract --out x.fa``).
:func:`read_chrom_sizes` reads a UCSC ``chrom.sizes`` file, the genome's lengths without its
sequence.

``Genome`` opens a FASTA through its ``.fai`` index, building the index when it is missing or
stale.  When the index cannot be written beside the FASTA (a read-only folder, a shared
reference genome), it is kept in a user cache folder instead, so a read-only genome still works.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from seqsal._runtime import check_positive_int
from seqsal.errors import InputError
from seqsal.io.atomic import atomic_open

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"


def fai_cache_dir() -> Path:
    """The folder where indexes of FASTA files in read-only folders are kept.

    ``$XDG_CACHE_HOME/seqsal/fai`` (``~/.cache/seqsal/fai`` when the variable is unset).
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seqsal" / "fai"


def _cache_index_path(fasta: Path, suffix: str = ".fai") -> Path:
    """An index path in the user cache, unique to this file's absolute path, mtime and size.

    A FASTA that changes gets a new key, so a cached index can never be stale.
    """
    st = fasta.stat()
    key = f"{fasta.resolve()}\0{st.st_mtime_ns}\0{st.st_size}".encode()
    digest = hashlib.sha256(key).hexdigest()[:24]
    folder = fai_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(folder)
    except OSError:
        # No usable home cache (e.g. a read-only HOME on a cluster node): fall back to /tmp.
        folder = Path(tempfile.gettempdir()) / f"seqsal-fai-{os.getuid()}"
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}{suffix}"


def _fai_is_consistent(fasta: Path, fai: Path) -> bool:
    """Cheap check that an existing ``.fai`` describes this (uncompressed) FASTA.

    pyfaidx only compares modification times; an index copied along with another FASTA, or
    a FASTA rewritten with an old timestamp, slips through that.  Here the first and last
    records' header lines must sit where the index says, and the last record must end at the
    end of the file (trailing blank lines allowed).
    """
    try:
        rows = [line.rstrip("\n").split("\t") for line in fai.read_text().splitlines() if line]
        if not rows:
            return False
        size = fasta.stat().st_size
        with open(fasta, "rb") as handle:
            for row in (rows[0], rows[-1]):
                name, offset = row[0], int(row[2])
                header = f">{name}".encode()
                start = max(0, offset - 1 - 4096)
                handle.seek(start)
                before = handle.read(offset - start)
                if not before.endswith(b"\n"):
                    return False
                line_start = before.rfind(b"\n", 0, len(before) - 1) + 1
                head = before[line_start:].rstrip(b"\r\n")
                if head.split()[:1] != [header]:
                    return False
            rlen, offset, lenc, lenb = (int(x) for x in rows[-1][1:5])
            newlines = math.ceil(rlen / lenc) * (lenb - lenc) if lenc else 0
            end = offset + rlen + newlines
            if end > size:
                return False
            handle.seek(end)
            return not handle.read(4096).strip()
    except (OSError, ValueError, IndexError):
        return False


def _sniff(path: Path) -> bool:
    """Raise InputError unless ``path`` looks like a FASTA; return True if gzip-compressed."""
    if not path.exists():
        raise InputError("FASTA file not found", path=path)
    if not path.is_file():
        raise InputError("expected a FASTA file, got a folder or special file", path=path)
    if path.stat().st_size == 0:
        raise InputError("FASTA file is empty", path=path)
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(_GZIP_MAGIC):
        return True
    first = next(
        (line.strip() for line in head.splitlines() if line.strip() and not line.startswith(b";")),
        b"",
    )
    if not first.startswith(b">"):
        shown = first[:40].decode("ascii", errors="replace")
        raise InputError(
            f"not a FASTA file: the first line is {shown!r}; expected a header line starting with '>'",
            path=path,
            line=1,
        )
    return False


class Genome:
    """An indexed FASTA file: chromosome sizes and random access to sequence.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA file, plain or bgzip-compressed (``.fa.gz`` made by ``bgzip``; plain gzip cannot
        be indexed).  Its ``.fai`` is built beside it when missing or stale; when the folder
        is not writable, the index goes to :func:`fai_cache_dir` instead.

    Attributes
    ----------
    path : pathlib.Path
        The FASTA file.
    index_path : pathlib.Path
        The ``.fai`` actually used.
    chrom_sizes : dict[str, int]
        Sequence names and lengths, in FASTA order.

    Notes
    -----
    Sequence is returned with case preserved (soft-masked repeats stay lowercase); strand is
    not applied here (see :mod:`seqsal.sequence.windows`).
    """

    def __init__(self, path: str | os.PathLike):
        import pyfaidx

        self.path = Path(path)
        gzipped = _sniff(self.path)
        self.index_path, gzi_path = self._choose_index_paths(gzipped)
        try:
            self._faidx = pyfaidx.Faidx(
                os.fspath(self.path),
                indexname=os.fspath(self.index_path),
                gzi_indexname=os.fspath(gzi_path) if gzi_path else None,
                as_raw=True,
                strict_bounds=True,
                rebuild=True,
                build_index=True,
            )
        except pyfaidx.UnsupportedCompressionFormat as err:
            raise InputError(
                "compressed FASTA must be bgzip-compressed (bgzip, not gzip) to be indexed; "
                "decompress it or recompress with `bgzip`",
                path=self.path,
            ) from err
        except pyfaidx.FastaIndexingError as err:
            raise InputError(f"cannot index FASTA: {err}", path=self.path) from err
        except UnicodeDecodeError as err:
            raise InputError("not a FASTA file: it holds non-text bytes", path=self.path) from err
        except ValueError as err:  # duplicate sequence names (pyfaidx read_fai)
            raise InputError(
                f"cannot read FASTA index: {err}; sequence names must be unique", path=self.path
            ) from err
        except OSError as err:
            raise InputError(
                f"cannot read FASTA or write its index {self.index_path}: {err}", path=self.path
            ) from err
        self.chrom_sizes: dict[str, int] = {
            name: int(rec.rlen) for name, rec in self._faidx.index.items()
        }
        if not self.chrom_sizes:
            self._faidx.close()
            raise InputError("FASTA file holds no sequences", path=self.path)

    def _choose_index_paths(self, gzipped: bool) -> tuple[Path, Path | None]:
        """Pick where the ``.fai`` (and ``.gzi``) live: beside the FASTA if usable, else the cache."""
        beside = Path(f"{self.path}.fai")
        beside_gzi = Path(f"{self.path}.gzi") if gzipped else None
        fasta_mtime = self.path.stat().st_mtime
        folder_writable = os.access(self.path.parent, os.W_OK)

        def fresh(index: Path | None) -> bool:
            return index is None or (index.exists() and index.stat().st_mtime >= fasta_mtime)

        if beside.exists():
            good = (
                fresh(beside)
                and fresh(beside_gzi)
                and (gzipped or _fai_is_consistent(self.path, beside))
            )
            if good:
                return beside, beside_gzi
            if folder_writable and os.access(beside, os.W_OK):
                log.warning("%s: the index %s is stale; rebuilding it", self.path, beside)
                beside.unlink()
                return beside, beside_gzi
        elif folder_writable:
            return beside, beside_gzi
        cached = _cache_index_path(self.path)
        cached_gzi = _cache_index_path(self.path, ".gzi") if gzipped else None
        if cached.exists() and not (gzipped or _fai_is_consistent(self.path, cached)):
            cached.unlink()
        log.info("%s: folder is not writable; using the index %s", self.path, cached)
        return cached, cached_gzi

    # -- access ---------------------------------------------------------------------------

    def _check_chrom(self, chrom: str) -> int:
        try:
            return self.chrom_sizes[chrom]
        except KeyError:
            names = list(self.chrom_sizes)
            shown = ", ".join(names[:5]) + (
                f", ... ({len(names)} in all)" if len(names) > 5 else ""
            )
            raise InputError(
                f"chromosome {chrom!r} is not in the FASTA; it has {shown}", path=self.path
            ) from None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of ``chrom`` in ``[start, end)`` (0-based, half-open), case preserved.

        Raises InputError if the interval is empty or not inside the chromosome.
        """
        size = self._check_chrom(chrom)
        if not 0 <= start < end <= size:
            raise InputError(
                f"interval {chrom}:{start}-{end} is not inside {chrom} (length {size}); "
                "expected 0 <= start < end <= length",
                path=self.path,
            )
        return self._faidx.from_file(chrom, int(start) + 1, int(end))

    def chromosome_bytes(self, chrom: str) -> bytes:
        """The whole sequence of ``chrom`` as ASCII bytes (one read, newlines removed).

        The fast path for extracting many windows: callers convert it once to an array.
        """
        size = self._check_chrom(chrom)
        rec = self._faidx.index[chrom]
        if size == 0:
            return b""
        if self._faidx._bgzf:
            return self._faidx.from_file(chrom, 1, size).encode("ascii", errors="replace")
        with self._faidx.lock:
            self._faidx.file.seek(rec.offset)
            raw = self._faidx.file.read(rec.bend - rec.offset)
        seq = raw.replace(b"\n", b"")
        if b"\r" in seq:  # Windows line ends
            seq = seq.replace(b"\r", b"")
        if len(seq) != size:
            raise InputError(
                f"sequence {chrom!r} read {len(seq)} bases but the index says {size}; "
                f"the index {self.index_path} may be stale: delete it and retry",
                path=self.path,
            )
        return seq

    def record_layout(self, chrom: str) -> tuple[int, int, int] | None:
        """Where ``chrom``'s bases lie in the (uncompressed) file, as its ``.fai`` says.

        Returns ``(offset, line_bases, line_bytes)``: base ``p`` is byte ``offset +
        (p // line_bases) * line_bytes + p % line_bases`` of the file, so windows can be read
        from a memory map of it without reading the whole chromosome.  None for a
        bgzip-compressed FASTA (use :meth:`chromosome_bytes`).  The index is trusted: a
        reader checks that the bytes it takes between bases are line ends.
        """
        self._check_chrom(chrom)
        if self._faidx._bgzf:
            return None
        rec = self._faidx.index[chrom]
        return int(rec.offset), int(rec.lenc), int(rec.lenb)

    def chromosome(self, chrom: str) -> str:
        """The whole sequence of ``chrom`` as a string, case preserved."""
        return self.chromosome_bytes(chrom).decode("ascii", errors="replace")

    def __contains__(self, chrom: object) -> bool:
        return chrom in self.chrom_sizes

    def __repr__(self) -> str:
        return f"Genome({os.fspath(self.path)!r}, {len(self.chrom_sizes)} sequences)"

    def close(self) -> None:
        """Close the underlying file."""
        self._faidx.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_genome(path: str | os.PathLike) -> Genome:
    """Open an indexed FASTA file; see :class:`Genome`."""
    return Genome(path)


def write_fasta(
    records: Iterable[tuple[str, str]], path: str | os.PathLike, *, line_width: int = 60
) -> int:
    """Write ``(name, sequence)`` records as FASTA, atomically.

    Parameters
    ----------
    records : iterable of (str, str)
        Names (the text after ``>``; must be non-empty, without line breaks) and sequences.
    path : str or os.PathLike
        Output file; appears only when complete.
    line_width : int, default 60
        Bases per line; 60 is the common convention and keeps the file indexable by
        samtools/pyfaidx (every line but the last of a record has the same length).

    Returns
    -------
    int
        Number of records written.
    """
    line_width = check_positive_int(line_width, "line_width")
    n = 0
    with atomic_open(path, "w", newline="\n") as handle:
        for name, seq in records:
            name = str(name)
            if not name or "\n" in name or "\r" in name:
                raise InputError(
                    f"record {n + 1}: FASTA name {name!r} must be non-empty and on one line"
                )
            if "\n" in seq or ">" in seq:
                raise InputError(f"record {n + 1} ({name}): sequence holds a line break or '>'")
            handle.write(f">{name}\n")
            for i in range(0, len(seq), line_width):
                handle.write(seq[i : i + line_width])
                handle.write("\n")
            n += 1
    return n


def window_labels(windows: pd.DataFrame) -> list[str]:
    """FASTA names of windows: ``name::chrom:start-end(strand)``, as ``bedtools getfasta
    -name -s`` writes them (``start``/``end``: the bases read, 0-based half-open).

    Parameters
    ----------
    windows : pandas.DataFrame
        ``name, chrom, start, end, strand`` columns (:func:`seqsal.sequence.windows.make_windows`).
    """
    labels: list[str] = (
        windows["name"].astype(str)
        + "::"
        + windows["chrom"].astype(str)
        + ":"
        + windows["start"].astype(str)
        + "-"
        + windows["end"].astype(str)
        + "("
        + windows["strand"].astype(str)
        + ")"
    ).tolist()
    return labels


def write_windows_fasta(
    windows: pd.DataFrame, batches: Iterable[Iterable[str]], path: str | os.PathLike
) -> int:
    """Write window sequences as FASTA named by :func:`window_labels`, atomically.

    Parameters
    ----------
    windows : pandas.DataFrame
        The windows, one row per sequence.
    batches : iterable of list of str
        Their sequences in window order, a batch at a time
        (:func:`seqsal.sequence.windows.iter_sequences`; a ``-`` window is the reverse
        complement); memory holds one batch.
    path : str or os.PathLike
        The FASTA file (60 bases per line, :func:`write_fasta`).

    Returns
    -------
    int
        Number of records written.
    """
    labels = window_labels(windows)

    def records() -> Iterator[tuple[str, str]]:
        i = 0
        for batch in batches:
            for seq in batch:
                yield labels[i], seq
                i += 1

    return write_fasta(records(), path)


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Chromosome sizes from a two-column text file (UCSC ``chrom.sizes``: name, size).

    Empty lines and lines starting with ``#`` are skipped; columns after the second are
    ignored.

    Returns
    -------
    dict of str to int
        Size by chromosome, in file order.

    Raises
    ------
    seqsal.errors.InputError
        The file cannot be read, holds no sizes, or a line is not ``chromosome<TAB>size``
        (the file and line are named).
    """
    sizes = {}
    try:
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.split()
                if len(fields) < 2 or not fields[1].isdigit():
                    raise InputError(
                        f"expected 'chromosome<TAB>size', got {line.strip()!r}",
                        path=path,
                        line=number,
                    )
                sizes[fields[0]] = int(fields[1])
    except OSError as err:
        raise InputError(f"cannot read chromosome sizes ({err.strerror})", path=path) from err
    if not sizes:
        raise InputError("no chromosome sizes in the file", path=path)
    return sizes
