"""Planted-motif data sets: a small genome with real JASPAR motifs under a known grammar.

A simulated data set is the ground truth that every later stage is scored against: the model
must learn it, attributions must light up the planted instances, seqlets must overlap them and
motif discovery must give back the planted JASPAR matrices.  :func:`simulate` writes

``genome.fa``
    ``chr1`` .. ``chrK``: background from a first-order (dinucleotide) Markov model with a
    human-like composition (GC about 41 %, CpG depleted to about a quarter of its expected
    frequency), soft-masked (lowercase) stretches that also overlap regions and motifs, and
    runs of N at both chromosome ends (like telomere gaps) and inside some spacers.
``regions.bed``
    One row per region, with a header row: BED6 (``chrom start end name score strand``; score
    0, strand ``.``) + ``activity`` (float) + ``label`` (0/1).  Regions never contain N.
``planted.bed``
    One row per planted motif instance, with a header row: ``chrom start end name score
    strand`` (name = TF name, score = relative PWM score of the instance x 1000, strand = the
    strand the motif reads on: fetch the + strand and reverse-complement for ``-`` to get the
    motif orientation) + ``motif_id`` (e.g. MA0139.2), ``region``, ``role``
    (activator/repressor), ``offset`` (start within the region), ``log_odds`` (PWM log-odds
    score, bits, against the background composition).
``truth.tsv``
    One row per motif: id, name, TF family and class, role, effect, rate, number of
    instances, length, consensus, information content (bits), cooperative partner and bonus,
    noise sd, label threshold, seed and JASPAR release.

The grammar
-----------
For each region: with probability ``empty_fraction`` it gets no motif at all; otherwise each
motif ``m`` gets ``Poisson(rate)`` instances.  Each instance is sampled position by position
from the motif's position probability matrix (JASPAR counts / column totals, so instances vary
as real sites do, they are not the consensus; a draw scoring below ``min_relative_score`` of
the matrix's score range, like background, is drawn again), put on a random strand at a random
position in the region that overlaps no other instance.  Then::

    activity = sum over instances of effect[motif]
               + cooperative bonus (once, if both motifs of the cooperative pair are present)
               + Normal(0, noise_sd)
    label    = 1 if activity > label_threshold else 0

Activators have positive effects, repressors negative ones.

With ``clean_background=True`` the regions' background is then redrawn, base by base, until no
window that overlaps no planted instance scores ``min_relative_score`` or more for a planted
motif on either strand: every site in the regions is a planted one, so a seqlet on a site
that the model rightly responds to is never scored as a false call.  Without it the Markov
background holds such chance sites (their best relative scores reach 0.8-0.9).

The default motifs
------------------
Five activators and one repressor, each from a different TF structural family (JASPAR
``tf_family``), long enough (10-20 bp) and specific (14-23 bits) to be learned from a few
thousand regions, and mutually dissimilar (TOMTOM p > 0.01 between every pair against JASPAR
2026 CORE vertebrates; each one's best TOMTOM match in the database is itself, then its own
family):

* MA0139.2 CTCF (C2H2 zinc finger, "More than 3 adjacent zinc fingers"), 15 bp, effect 1.0
* MA0466.4 CEBPB (bZIP, "CEBP-related"), 10 bp, effect 0.9
* MA0080.7 Spi1 (Tryptophan cluster, "Ets-related"), 13 bp, effect 0.9
* MA0153.2 HNF1B (Homeo domain, "POU domain factors"), 13 bp, effect 1.1
* MA0106.3 TP53 (p53 domain, "p53-related factors"), 18 bp, effect 1.0
* MA0138.3 REST (C2H2 zinc finger, "Factors with multiple dispersed zinc fingers"), 20 bp,
  repressor, effect -1.5: REST is the textbook sequence-specific repressor, and its long,
  specific site makes the negative motif recoverable.

CEBPB and Spi1 form the cooperative pair (bonus 0.6): C/EBP and PU.1 co-bind myeloid
enhancers.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqsal._runtime import check_positive_int, check_seed
from seqsal.errors import InputError
from seqsal.io.atomic import atomic_open
from seqsal.io.jaspar import check_release, fetch_jaspar
from seqsal.sequence.onehot import reverse_complement, reverse_complement_codes
from seqsal.sequence.pwm import information_content, log_odds

log = logging.getLogger(__name__)

ALPHABET = "ACGT"

#: Activators planted by default: JASPAR matrix id -> effect on activity per instance.
DEFAULT_ACTIVATORS: dict[str, float] = {
    "MA0139.2": 1.0,  # CTCF
    "MA0466.4": 0.9,  # CEBPB
    "MA0080.7": 0.9,  # Spi1
    "MA0153.2": 1.1,  # HNF1B
    "MA0106.3": 1.0,  # TP53
}
#: Repressors planted by default: JASPAR matrix id -> effect (negative).
DEFAULT_REPRESSORS: dict[str, float] = {"MA0138.3": -1.5}  # REST
#: Cooperative pair used when both motifs are planted: (id, id, bonus).
DEFAULT_COOPERATIVE: tuple[str, str, float] = ("MA0466.4", "MA0080.7", 0.6)
#: Effect given to a motif the caller names without an effect.
DEFAULT_ACTIVATOR_EFFECT = 1.0
DEFAULT_REPRESSOR_EFFECT = -1.5

#: Approximate human (hg38) dinucleotide frequencies in percent, rows = first base, columns =
#: second base, both in A C G T order.  Strand symmetric (AA = TT, AC = GT, ...), GC about
#: 40.9 %, CpG observed/expected about 0.24.
HUMAN_DINUCLEOTIDE_PERCENT = np.array(
    [
        [9.8, 5.0, 7.0, 7.6],
        [7.3, 5.2, 1.0, 7.0],
        [6.0, 4.2, 5.2, 5.0],
        [6.5, 6.0, 7.3, 9.8],
    ]
)

# Uppercase bytes for codes 0-4 (A C G T N); lowercase = uppercase + 32.
_CODE_TO_BYTE = np.frombuffer(b"ACGTN", dtype=np.uint8)
_N = 4


@dataclass(frozen=True)
class PlantedMotif:
    """One JASPAR motif planted in a simulation.

    Attributes
    ----------
    matrix_id, name : str
        JASPAR matrix id with version (``"MA0139.2"``) and TF name (``"CTCF"``).
    tf_family, tf_class : str
        JASPAR structural family and class, several joined by ``"/"``.
    role : str
        ``"activator"`` or ``"repressor"``.
    effect : float
        Added to a region's activity per instance.
    ppm : np.ndarray, shape (4, w)
        Position probability matrix (rows A, C, G, T) the instances are sampled from.
    """

    matrix_id: str
    name: str
    tf_family: str
    tf_class: str
    role: str
    effect: float
    ppm: np.ndarray = field(repr=False, compare=False)

    @property
    def length(self) -> int:
        return int(self.ppm.shape[1])

    @property
    def consensus(self) -> str:
        """The most probable base at each position."""
        return "".join(ALPHABET[i] for i in self.ppm.argmax(axis=0))

    @property
    def information_bits(self) -> float:
        """Information content against a uniform background, in bits (sum over positions)."""
        return float(information_content(self.ppm).sum())


@dataclass
class Simulation:
    """What :func:`simulate` wrote and planted.

    Attributes
    ----------
    out_dir, genome, regions, planted, truth : Path
        The output folder and the four files in it.
    motifs : list of PlantedMotif
        The planted motifs, activators first.
    n_instances : dict
        Planted instances per motif id.
    chromosomes : list of str
        Chromosome names in FASTA order.
    cooperative : tuple (str, str, float) or None
        The cooperative pair and its bonus, if any.
    seed : int
        The seed everything was drawn from.
    jaspar_release : str
        The JASPAR release the matrices came from.
    """

    out_dir: Path
    genome: Path
    regions: Path
    planted: Path
    truth: Path
    motifs: list[PlantedMotif]
    n_instances: dict[str, int]
    chromosomes: list[str]
    cooperative: tuple[str, str, float] | None
    seed: int
    jaspar_release: str


class _Layout:
    """Where regions, N runs and spacers lie on each chromosome (internal)."""

    def __init__(self):
        self.chrom_lengths: list[int] = []
        self.region_chrom: list[int] = []
        self.region_start: list[int] = []
        self.n_runs: list[tuple[int, int, int]] = []  # (chrom index, start, end)


def simulate(
    out_dir,
    *,
    n_regions: int = 8000,
    region_length: int = 300,
    n_chromosomes: int = 5,
    motifs: Sequence[str] | None = None,
    repressors: Sequence[str] | None = None,
    effects: Mapping[str, float] | None = None,
    cooperative: tuple[str, str, float] | str | None = "auto",
    rate: float = 0.4,
    empty_fraction: float = 0.15,
    noise_sd: float = 0.3,
    min_relative_score: float = 0.7,
    clean_background: bool = False,
    label_threshold: float = 1.0,
    spacer_length: tuple[int, int] = (100, 400),
    soft_mask_fraction: float = 0.2,
    gap_fraction: float = 0.03,
    seed: int = 0,
    jaspar_release: str = "JASPAR2026",
) -> Simulation:
    """Write a planted-motif data set (genome, regions, instances, truth) to ``out_dir``.

    The grammar, the default motifs and the file formats are described in the module
    docstring.  Everything random is drawn from ``seed``: the same arguments give
    byte-identical files.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write into; created if missing.  Existing files of the same names are
        replaced (each one atomically).
    n_regions : int, default 8000
        Number of regions.  8,000 x 300 bp is the size the model quality bar is set on.
    region_length : int, default 300
        Length of every region in bp; must hold the longest motif.
    n_chromosomes : int, default 5
        Chromosomes ``chr1`` .. ``chrK`` the regions are spread over (in slightly decreasing
        numbers), so that whole chromosomes can be held out for validation and test.
    motifs : sequence of str, optional
        JASPAR matrix ids of the activators (``"MA0139.2"``, or ``"MA0139"`` for the latest
        version in the release).  Default: :data:`DEFAULT_ACTIVATORS`.
    repressors : sequence of str, optional
        JASPAR matrix ids of the repressors.  Default: :data:`DEFAULT_REPRESSORS`; pass
        ``[]`` for none.
    effects : mapping of str to float, optional
        Effect per instance for any motif id (as given or with version).  Defaults: the
        default motifs' own effects, else 1.0 for activators and -1.5 for repressors.
    cooperative : (str, str, float), "auto" or None, default "auto"
        A pair of planted motif ids and the bonus added once to a region that holds both.
        ``"auto"`` uses :data:`DEFAULT_COOPERATIVE` when both of its motifs are planted.
    rate : float, default 0.4
        Mean instances of each motif per non-empty region (Poisson).  0.4 gives about 1,400
        instances of each motif in 4,000 regions, enough for a small CNN.
    empty_fraction : float, default 0.15
        Fraction of regions that get no motif at all.
    noise_sd : float, default 0.3
        Standard deviation of the Gaussian noise added to activity.
    min_relative_score : float, default 0.7
        Instances whose PWM log-odds score lies less than this fraction of the way from the
        matrix's minimum to its maximum score are drawn again, so that every planted instance
        is a recognisable site (0.7 rejects a few percent of draws of the default motifs).
        0 keeps every draw.
    clean_background : bool, default False
        Redraw background bases of the regions until no window that overlaps no planted
        instance scores ``min_relative_score`` or more for a planted motif on either strand.
        Without it the Markov background holds chance sites as strong as weak planted ones:
        a model that has learnt a motif responds to them, but ``planted.bed`` does not list
        them.  With it, every site in the regions is a planted one (about 9 % of region bases
        are redrawn with the defaults).  The other outputs are drawn as without it.
    label_threshold : float, default 1.0
        ``label = activity > label_threshold``; about half the regions with the defaults.
    spacer_length : (int, int), default (100, 400)
        Range of background bases between consecutive regions.
    soft_mask_fraction : float, default 0.2
        Approximate fraction of the genome in lowercase runs (as soft-masked repeats).
    gap_fraction : float, default 0.03
        Fraction of spacers that hold a run of N (assembly gaps).
    seed : int, default 0
        Seed of every random draw.
    jaspar_release : str, default "JASPAR2026"
        pyjaspar release to take the matrices from (offline).

    Returns
    -------
    Simulation
        Output paths, the planted motifs and their instance counts.
    """
    n_regions = check_positive_int(n_regions, "n_regions")
    region_length = check_positive_int(region_length, "region_length")
    n_chromosomes = check_positive_int(n_chromosomes, "n_chromosomes")
    _check_fraction(empty_fraction, "empty_fraction")
    _check_fraction(soft_mask_fraction, "soft_mask_fraction")
    _check_fraction(gap_fraction, "gap_fraction")
    _check_fraction(min_relative_score, "min_relative_score")
    _check_non_negative(rate, "rate")
    _check_non_negative(noise_sd, "noise_sd")
    if isinstance(label_threshold, bool) or not isinstance(label_threshold, (int, float)):
        raise InputError(f"label_threshold={label_threshold!r}; must be a number")
    spacer_lo, spacer_hi = _check_spacer(spacer_length)
    seed = check_seed(seed, allow_none=False)

    planted_motifs = load_motifs(motifs, repressors, effects=effects, jaspar_release=jaspar_release)
    longest = max((m.length for m in planted_motifs), default=0)
    if longest > region_length:
        raise InputError(
            f"region_length={region_length} is shorter than the longest motif ({longest} bp)"
        )
    coop = _resolve_cooperative(cooperative, planted_motifs)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir={str(out)!r} is a file; expected a folder (or a new path)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"out_dir={str(out)!r} cannot be created: {err.strerror}") from err

    # a sixth stream leaves the first five (and every output without cleaning) as they were
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6)]
    layout_rng, background_rng, instance_rng, mask_rng, noise_rng, clean_rng = streams

    layout = _make_layout(
        n_regions, region_length, n_chromosomes, spacer_lo, spacer_hi, gap_fraction, layout_rng
    )
    codes = _markov_background(sum(layout.chrom_lengths), background_rng)
    offsets = np.concatenate([[0], np.cumsum(layout.chrom_lengths)])
    for chrom, start, end in layout.n_runs:
        codes[offsets[chrom] + start : offsets[chrom] + end] = _N

    region_abs = offsets[layout.region_chrom] + np.asarray(layout.region_start)
    instances = _place_instances(
        n_regions, region_length, planted_motifs, rate, empty_fraction, instance_rng
    )
    _write_instances(codes, region_abs, instances, planted_motifs, min_relative_score, instance_rng)
    if clean_background:
        changed = _clean_background(
            codes,
            region_abs,
            region_length,
            instances,
            planted_motifs,
            min_relative_score,
            clean_rng,
        )
        log.info("background cleaned of chance sites: %d region bases redrawn", changed)

    activity = _activity(n_regions, instances, planted_motifs, coop, noise_sd, noise_rng)
    labels = (activity > label_threshold).astype(int)

    text = _CODE_TO_BYTE[codes]
    _soft_mask(text, codes, soft_mask_fraction, mask_rng)

    chromosomes = [f"chr{k + 1}" for k in range(n_chromosomes)]
    paths = {name: out / name for name in ("genome.fa", "regions.bed", "planted.bed", "truth.tsv")}

    from seqsal.io.fasta import write_fasta

    records = (
        (chromosomes[k], text[offsets[k] : offsets[k + 1]].tobytes().decode("ascii"))
        for k in range(n_chromosomes)
    )
    write_fasta(records, paths["genome.fa"])
    # An index left from an earlier genome.fa here would describe the old file.
    with contextlib.suppress(FileNotFoundError):
        (out / "genome.fa.fai").unlink()

    width = len(str(n_regions))
    region_names = [f"region{i + 1:0{width}d}" for i in range(n_regions)]
    with atomic_open(paths["regions.bed"]) as handle:
        handle.write("#chrom\tstart\tend\tname\tscore\tstrand\tactivity\tlabel\n")
        for i in range(n_regions):
            start = layout.region_start[i]
            handle.write(
                f"{chromosomes[layout.region_chrom[i]]}\t{start}\t{start + region_length}\t"
                f"{region_names[i]}\t0\t.\t{activity[i]:.4f}\t{labels[i]}\n"
            )

    background = _stationary(_transition_matrix())
    scorers = [_log_odds_matrix(m.ppm, background) for m in planted_motifs]
    n_instances = {m.matrix_id: 0 for m in planted_motifs}
    with atomic_open(paths["planted.bed"]) as handle:
        handle.write(
            "#chrom\tstart\tend\tname\tscore\tstrand\tmotif_id\tregion\trole\toffset\tlog_odds\n"
        )
        for inst in instances:
            motif = planted_motifs[inst.motif]
            chrom = layout.region_chrom[inst.region]
            start = layout.region_start[inst.region] + inst.offset
            score, relative = _score_instance(scorers[inst.motif], inst.sequence)
            n_instances[motif.matrix_id] += 1
            handle.write(
                f"{chromosomes[chrom]}\t{start}\t{start + motif.length}\t{motif.name}\t"
                f"{round(1000 * relative)}\t{inst.strand}\t{motif.matrix_id}\t"
                f"{region_names[inst.region]}\t{motif.role}\t{inst.offset}\t{score:.3f}\n"
            )

    with atomic_open(paths["truth.tsv"]) as handle:
        handle.write(
            "motif_id\tname\ttf_family\ttf_class\trole\teffect\trate\tn_instances\tlength\t"
            "consensus\tinformation_bits\tcooperative_partner\tcooperative_bonus\tnoise_sd\tlabel_threshold\tseed\t"
            "jaspar_release\n"
        )
        for m in planted_motifs:
            partner, bonus = "", 0.0
            if coop is not None and m.matrix_id in coop[:2]:
                partner = coop[1] if m.matrix_id == coop[0] else coop[0]
                bonus = coop[2]
            handle.write(
                f"{m.matrix_id}\t{m.name}\t{m.tf_family}\t{m.tf_class}\t{m.role}\t{m.effect:g}\t"
                f"{rate:g}\t{n_instances[m.matrix_id]}\t{m.length}\t{m.consensus}\t"
                f"{m.information_bits:.2f}\t{partner}\t{bonus:g}\t"
                f"{noise_sd:g}\t{label_threshold:g}\t{seed}\t{jaspar_release}\n"
            )

    log.debug(
        "simulated %d regions x %d bp on %d chromosomes (%d bp), %d motif instances, "
        "%.0f%% labelled 1",
        n_regions,
        region_length,
        n_chromosomes,
        len(codes),
        len(instances),
        100 * labels.mean(),
    )
    return Simulation(
        out_dir=out,
        genome=paths["genome.fa"],
        regions=paths["regions.bed"],
        planted=paths["planted.bed"],
        truth=paths["truth.tsv"],
        motifs=planted_motifs,
        n_instances=n_instances,
        chromosomes=chromosomes,
        cooperative=coop,
        seed=int(seed),
        jaspar_release=jaspar_release,
    )


def load_motifs(
    motifs: Sequence[str] | None = None,
    repressors: Sequence[str] | None = None,
    *,
    effects: Mapping[str, float] | None = None,
    jaspar_release: str = "JASPAR2026",
) -> list[PlantedMotif]:
    """Fetch the motifs to plant from pyjaspar's bundled database (offline).

    Parameters
    ----------
    motifs, repressors : sequence of str, optional
        JASPAR matrix ids of activators and repressors; defaults as in :func:`simulate`.
    effects : mapping of str to float, optional
        Effect per motif id, overriding the defaults.
    jaspar_release : str, default "JASPAR2026"
        A release that pyjaspar ships.

    Returns
    -------
    list of PlantedMotif
        Activators first, then repressors, each in the order given.
    """
    check_release(jaspar_release, "jaspar_release")
    activator_ids = list(DEFAULT_ACTIVATORS) if motifs is None else _id_list(motifs, "motifs")
    repressor_ids = (
        list(DEFAULT_REPRESSORS) if repressors is None else _id_list(repressors, "repressors")
    )
    if not activator_ids and not repressor_ids:
        raise InputError("motifs and repressors are both empty; plant at least one motif")
    effects = dict(effects or {})
    wanted = [("activator", i) for i in activator_ids] + [("repressor", i) for i in repressor_ids]
    records = fetch_jaspar(jaspar_release, [given for _, given in wanted])
    planted: list[PlantedMotif] = []
    seen: dict[str, str] = {}
    for (role, given), record in zip(wanted, records, strict=True):
        if record is None:
            raise InputError(
                f"motif {given!r} is not in {jaspar_release}; expected a JASPAR matrix id "
                "such as MA0139.2 (or MA0139 for the latest version)"
            )
        matrix_id = record.matrix_id
        if matrix_id in seen:
            raise InputError(
                f"motif {matrix_id} is given twice (as {seen[matrix_id]} and as {role}); "
                "each motif may be planted once"
            )
        seen[matrix_id] = role
        effect = _effect_for(given, matrix_id, role, effects)
        counts = record.counts
        totals = counts.sum(axis=0)
        if np.any(totals <= 0):
            raise InputError(f"motif {matrix_id} has an empty column in {jaspar_release}")
        planted.append(
            PlantedMotif(
                matrix_id=matrix_id,
                name=str(record.name),
                tf_family="/".join(record.family),
                tf_class="/".join(record.tf_class),
                role=role,
                effect=float(effect),
                ppm=counts / totals,
            )
        )
    families: dict[str, str] = {}
    for m in planted:
        if m.tf_family and m.tf_family in families:
            log.warning(
                "%s and %s are both in TF family %r: recovery by family cannot tell them apart",
                families[m.tf_family],
                m.matrix_id,
                m.tf_family,
            )
        families.setdefault(m.tf_family, m.matrix_id)
    return planted


def dinucleotide_frequencies() -> np.ndarray:
    """The background model's dinucleotide frequencies.

    Returns
    -------
    np.ndarray, shape (4, 4)
        ``P(first base = i, second base = j)`` in the stationary chain (rows and columns A, C,
        G, T), summing to 1.  What the background of :func:`simulate` converges to.
    """
    transition = _transition_matrix()
    return _stationary(transition)[:, None] * transition


# --- internals -------------------------------------------------------------------------------


@dataclass
class _Instance:
    region: int
    motif: int
    offset: int
    strand: str
    sequence: np.ndarray | None = None  # codes, motif orientation


def _check_fraction(value, name: str) -> None:
    if not (isinstance(value, (int, float)) and 0 <= value <= 1):
        raise InputError(f"{name}={value!r}; must be a number between 0 and 1")


def _check_non_negative(value, name: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value >= 0):
        raise InputError(f"{name}={value!r}; must be a finite number >= 0")


def _check_spacer(spacer_length) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in spacer_length)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"spacer_length={spacer_length!r}; must be two integers (min, max)"
        ) from err
    if lo < 20 or hi < lo:
        raise InputError(
            f"spacer_length={spacer_length!r}; must be (min, max) with 20 <= min <= max"
        )
    return lo, hi


def _id_list(ids, name: str) -> list[str]:
    if isinstance(ids, str):
        ids = [part for part in ids.split(",")]
    out = [str(i).strip() for i in ids]
    if any(not i for i in out):
        raise InputError(f"{name}={ids!r} holds an empty motif id")
    return out


def _effect_for(given: str, matrix_id: str, role: str, effects: Mapping[str, float]) -> float:
    if given in effects:
        return float(effects[given])
    if matrix_id in effects:
        return float(effects[matrix_id])
    defaults = DEFAULT_ACTIVATORS if role == "activator" else DEFAULT_REPRESSORS
    if matrix_id in defaults:
        return defaults[matrix_id]
    return DEFAULT_ACTIVATOR_EFFECT if role == "activator" else DEFAULT_REPRESSOR_EFFECT


def _resolve_cooperative(cooperative, planted: list[PlantedMotif]):
    ids = {m.matrix_id for m in planted}
    bases = {m.matrix_id.split(".")[0]: m.matrix_id for m in planted}
    if cooperative is None or cooperative == "none":
        return None
    if cooperative == "auto":
        a, b, bonus = DEFAULT_COOPERATIVE
        return (a, b, bonus) if a in ids and b in ids else None
    try:
        a, b, bonus = cooperative
        bonus = float(bonus)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"cooperative={cooperative!r}; expected (motif id, motif id, bonus), 'auto' or None"
        ) from err
    resolved = []
    for given in (a, b):
        full = given if given in ids else bases.get(str(given))
        if full is None:
            raise InputError(
                f"cooperative motif {given!r} is not among the planted motifs "
                f"({', '.join(sorted(ids))})"
            )
        resolved.append(full)
    if resolved[0] == resolved[1]:
        raise InputError(f"cooperative={cooperative!r} names the same motif twice")
    return (resolved[0], resolved[1], bonus)


def _transition_matrix() -> np.ndarray:
    freq = HUMAN_DINUCLEOTIDE_PERCENT
    return freq / freq.sum(axis=1, keepdims=True)


def _stationary(transition: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eig(transition.T)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    return v / v.sum()


def _markov_background(length: int, rng: np.random.Generator, chunk: int = 4096) -> np.ndarray:
    """Codes 0-3 from the dinucleotide Markov chain, shape (length,), uint8.

    Many chains of ``chunk`` bases run side by side (one numpy step per position), each
    started from the stationary distribution, so the composition is exact in expectation and
    generation is vectorised; the junctions between chains are invisible at this scale.
    """
    transition = _transition_matrix()
    cumulative = np.cumsum(transition, axis=1)[:, :3]
    n_chains = max(1, -(-length // chunk))
    uniforms = rng.random((chunk, n_chains))
    out = np.empty((chunk, n_chains), dtype=np.uint8)
    start_cum = np.cumsum(_stationary(transition))[:3]
    state = (uniforms[0][:, None] > start_cum[None, :]).sum(axis=1).astype(np.uint8)
    out[0] = state
    for t in range(1, chunk):
        state = (uniforms[t][:, None] > cumulative[state]).sum(axis=1).astype(np.uint8)
        out[t] = state
    return np.ascontiguousarray(out.T).reshape(-1)[:length].copy()


def _make_layout(n_regions, region_length, n_chromosomes, spacer_lo, spacer_hi, gap_fraction, rng):
    weights = 1.0 - 0.05 * np.arange(n_chromosomes)
    weights = np.clip(weights, 0.5, None)
    per_chrom = np.floor(n_regions * weights / weights.sum()).astype(int)
    per_chrom[: n_regions - per_chrom.sum()] += 1
    layout = _Layout()
    for k in range(n_chromosomes):
        pos = int(rng.integers(500, 2001))  # telomere-like N run at the start
        layout.n_runs.append((k, 0, pos))
        for _ in range(per_chrom[k]):
            spacer = int(rng.integers(spacer_lo, spacer_hi + 1))
            if rng.random() < gap_fraction:
                gap = int(rng.integers(spacer // 4, spacer // 2 + 1))
                gap_start = pos + (spacer - gap) // 2
                layout.n_runs.append((k, gap_start, gap_start + gap))
            pos += spacer
            layout.region_chrom.append(k)
            layout.region_start.append(pos)
            pos += region_length
        pos += int(rng.integers(spacer_lo, spacer_hi + 1))
        tail = int(rng.integers(500, 2001))  # and at the end
        layout.n_runs.append((k, pos, pos + tail))
        layout.chrom_lengths.append(pos + tail)
    return layout


def _place_instances(n_regions, region_length, motifs, rate, empty_fraction, rng):
    n_motifs = len(motifs)
    lengths = np.array([m.length for m in motifs])
    empty = rng.random(n_regions) < empty_fraction
    counts = rng.poisson(rate, size=(n_regions, n_motifs))
    counts[empty] = 0
    instances: list[_Instance] = []
    dropped = 0
    for r in np.flatnonzero(counts.sum(axis=1)):
        order = np.repeat(np.arange(n_motifs), counts[r])
        rng.shuffle(order)
        occupied = np.zeros(region_length + 1, dtype=np.int32)
        for m in order:
            w = lengths[m]
            taken = np.concatenate([[0], np.cumsum(occupied[:region_length])])
            free = np.flatnonzero(taken[w:] - taken[:-w] == 0)
            if free.size == 0:
                dropped += 1
                continue
            offset = int(free[rng.integers(free.size)])
            occupied[offset : offset + w] = 1
            strand = "+" if rng.random() < 0.5 else "-"
            instances.append(_Instance(int(r), int(m), offset, strand))
    if dropped:
        log.warning("%d motif instances did not fit in their regions and were left out", dropped)
    instances.sort(key=lambda inst: (inst.region, inst.offset))
    return instances


def _write_instances(codes, region_abs, instances, motifs, min_relative_score, rng):
    """Sample every instance from its PPM and write it into ``codes`` on its strand.

    Rows whose relative log-odds score falls below ``min_relative_score`` are drawn again
    (a sequence that scores like background is no binding site); the rest are kept as drawn.
    """
    background = _stationary(_transition_matrix())
    for m, motif in enumerate(motifs):
        members = [inst for inst in instances if inst.motif == m]
        if not members:
            continue
        cumulative = np.cumsum(motif.ppm, axis=0)[:3]  # (3, w)
        log_odds = _log_odds_matrix(motif.ppm, background)
        low, high = log_odds.min(axis=0).sum(), log_odds.max(axis=0).sum()
        floor = low + min_relative_score * (high - low)
        columns = np.arange(motif.length)
        sampled = np.empty((len(members), motif.length), dtype=np.uint8)
        todo = np.arange(len(members))
        for _ in range(1000):
            u = rng.random((todo.size, motif.length))
            draw = (u[:, None, :] > cumulative[None]).sum(axis=1).astype(np.uint8)  # (k, w)
            sampled[todo] = draw
            todo = todo[log_odds[draw, columns].sum(axis=1) < floor]
            if todo.size == 0:
                break
        else:
            raise InputError(
                f"motif {motif.matrix_id}: fewer than 1 in 1000 sequences drawn from its matrix "
                f"reach min_relative_score={min_relative_score}; lower it"
            )
        for inst, seq in zip(members, sampled, strict=True):
            inst.sequence = seq
            plus = seq if inst.strand == "+" else reverse_complement_codes(seq)
            start = region_abs[inst.region] + inst.offset
            codes[start : start + motif.length] = plus


def _clean_background(codes, region_abs, region_length, instances, motifs, min_relative_score, rng):
    """Redraw region bases until no window clear of the planted instances scores as a site.

    A window of a planted motif's length, on either strand, that overlaps no planted instance
    and reaches ``min_relative_score`` (the bar a planted instance must clear) is a chance
    site: a model that has learnt the motif rightly responds to it, yet the truth does not list
    it.  One base of each such window, chosen at random, is redrawn from the background's
    stationary composition, and the regions are scanned again until none is left.  Returns
    the number of bases changed.
    """
    background = _stationary(_transition_matrix())
    cumulative = np.cumsum(background)[:3]
    positions = region_abs[:, None] + np.arange(region_length)[None, :]  # (n, L)
    planted = np.zeros((len(region_abs), region_length + 1), dtype=np.int32)
    for inst in instances:
        planted[inst.region, inst.offset + 1 : inst.offset + 1 + motifs[inst.motif].length] = 1
    taken = np.cumsum(planted, axis=1)  # taken[:, j] = planted bases before j
    scorers = []
    for motif in motifs:
        log_odds = _log_odds_matrix(motif.ppm, background)
        low, high = log_odds.min(axis=0).sum(), log_odds.max(axis=0).sum()
        floor = low + min_relative_score * (high - low)
        for matrix in (log_odds, reverse_complement(log_odds)):  # both strands
            scorers.append((np.ascontiguousarray(matrix), floor))
    changed = 0
    for _ in range(100):
        region = codes[positions]  # (n, L) copy
        hits = np.zeros((len(region_abs), region_length), dtype=bool)  # window starts to break
        for matrix, floor in scorers:
            w = matrix.shape[1]
            scores = np.zeros((len(region_abs), region_length - w + 1))
            for k in range(w):
                scores += matrix[region[:, k : region_length - w + 1 + k], k]
            clear = taken[:, w:] - taken[:, : region_length - w + 1] == 0
            starts = (scores >= floor) & clear
            if starts.any():
                rows, cols = np.nonzero(starts)
                cols = cols + rng.integers(0, w, size=cols.size)  # one base of each window
                hits[rows, cols] = True
        if not hits.any():
            return changed
        rows, cols = np.nonzero(hits)
        draw = (rng.random(rows.size)[:, None] > cumulative[None, :]).sum(axis=1)
        codes[positions[rows, cols]] = draw.astype(codes.dtype)
        changed += rows.size
    raise InputError(
        "clean_background: chance sites were still left after 100 rounds of redrawing; "
        f"raise min_relative_score={min_relative_score}"
    )


def _activity(n_regions, instances, motifs, coop, noise_sd, rng):
    activity = np.zeros(n_regions)
    present = np.zeros((n_regions, len(motifs)), dtype=bool)
    effects = np.array([m.effect for m in motifs])
    for inst in instances:
        activity[inst.region] += effects[inst.motif]
        present[inst.region, inst.motif] = True
    if coop is not None:
        index = {m.matrix_id: i for i, m in enumerate(motifs)}
        both = present[:, index[coop[0]]] & present[:, index[coop[1]]]
        activity[both] += coop[2]
    return activity + rng.normal(0.0, noise_sd, size=n_regions)


def _soft_mask(text: np.ndarray, codes: np.ndarray, fraction: float, rng) -> None:
    """Lowercase runs of 20-600 bp covering about ``fraction`` of the genome (N stays N)."""
    if fraction <= 0:
        return
    mean_length = 150
    n_runs = max(1, round(fraction * len(text) / mean_length))
    lengths = np.clip(rng.geometric(1 / mean_length, size=n_runs), 20, 600)
    starts = rng.integers(0, max(1, len(text) - 20), size=n_runs)
    mask = np.zeros(len(text) + 1, dtype=np.int32)
    np.add.at(mask, starts, 1)
    np.add.at(mask, np.minimum(starts + lengths, len(text)), -1)
    lower = (np.cumsum(mask[:-1]) > 0) & (codes != _N)
    text[lower] += 32


def _log_odds_matrix(ppm: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The PWM planted sites are scored with: 0.01 background-spread pseudo-sites."""
    return log_odds(ppm, background, pseudocount=0.01, column_total=1.0)


def _score_instance(log_odds: np.ndarray, codes: np.ndarray) -> tuple[float, float]:
    score = float(log_odds[codes, np.arange(len(codes))].sum())
    low, high = log_odds.min(axis=0).sum(), log_odds.max(axis=0).sum()
    return score, float((score - low) / (high - low))
