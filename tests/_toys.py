"""The toys the tests share: one-hot builders, DNA strings, small seeded models, planted data.

Not a test module.  ``conftest.py`` imports it (and builds the session-wide fixtures from it);
test modules import what they need from it directly (``from _toys import ...``), since
pytest puts tests/ on the import path.  Every builder is deterministic: a seed in, the same
arrays and weights out.
"""

from __future__ import annotations

import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

BASES = "ACGT"
COMPLEMENT = str.maketrans("ACGT", "TGCA")

# --------------------------------------------------------------------------------------------
# one-hot DNA and DNA strings


def cli_status(argv) -> int:
    """The exit status of ``seqsal ARGV`` (argparse's own errors exit with 2 as well)."""
    from seqsal.cli import main

    try:
        return main([str(a) for a in argv])
    except SystemExit as exit:
        return int(exit.code)


def onehot_codes(codes) -> np.ndarray:
    """float32 one-hot of integer base codes (0-3 for A, C, G, T): ``(L,)`` -> ``(4, L)``,
    ``(n, L)`` -> ``(n, 4, L)``, C-contiguous.  Built without seqsal, so tests can check the
    library's own encoder against it."""
    codes = np.asarray(codes)
    return np.ascontiguousarray(np.moveaxis(np.eye(4, dtype=np.float32)[codes], -1, -2))


def onehot_string(seq: str) -> np.ndarray:
    """float32 one-hot ``(4, L)`` of a string of A, C, G, T (upper case only)."""
    return onehot_codes([BASES.index(base) for base in seq])


def random_onehot(n=5, length=20, seed=0) -> torch.Tensor:
    """A float32 torch tensor ``(n, 4, L)`` of uniformly random bases (torch's generator)."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float().contiguous()


def random_dna(length: int, seed: int, alphabet: str = BASES) -> str:
    """A uniformly random string over ``alphabet`` (numpy's default generator)."""
    return "".join(np.random.default_rng(seed).choice(list(alphabet), size=length))


def revcomp(seq: str) -> str:
    """Reverse complement of a string of A, C, G, T."""
    return seq.translate(COMPLEMENT)[::-1]


def gaussian(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------
# small seeded models


def conv_relu_linear(seed=0, n_targets=3, length=20, channels=(6, 5)):
    """Conv1d -> ReLU -> Conv1d -> ReLU -> Linear: a tiny DNA-like CNN, (n, 4, L) -> (n, T)."""
    first, second = channels
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, first, 5),
        nn.ReLU(),
        nn.Conv1d(first, second, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(second * (length - 6), n_targets),
    )


class ConvReluLinear(nn.Sequential):
    """:func:`conv_relu_linear` as a class (the same layers and state dict keys), for the
    ``"module:Class"`` specs of the loader tests (``"_toys:ConvReluLinear"``)."""

    def __init__(self, length=20, n_targets=2, seed=0):
        super().__init__(*conv_relu_linear(seed=seed, n_targets=n_targets, length=length))


def smooth_cnn(seed=0, n_targets=2, length=20):
    """A smooth (Softplus / Tanh) CNN, so quadrature converges fast."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 6, 5),
        nn.Softplus(),
        nn.Conv1d(6, 4, 3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * (length - 6), n_targets),
    )


def linear_model(seed=0, n_targets=2, length=20):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(4 * length, n_targets))


def image_cnn(seed=0, n_targets=2):
    """(n, 3, 14, 16) -> (n, T) with a strided 2-D conv."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 5, 3),
        nn.ReLU(),
        nn.Conv2d(5, 4, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 5 * 6, n_targets),
    )


class SkipInput(nn.Module):
    """Uses the input twice (conv and a skip path): first-layer reuse must not apply."""

    def __init__(self, length=20):
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.out = nn.Linear(4 * length, 2)

    def forward(self, x):
        return self.out(torch.relu(self.conv(x) + x).flatten(1))


class FailsAfter(nn.Module):
    """Wraps a model and raises on the ``calls``-th forward pass."""

    def __init__(self, model, calls):
        super().__init__()
        self.model, self.calls, self.seen = model, calls, 0

    def forward(self, x):
        self.seen += 1
        if self.seen >= self.calls:
            raise RuntimeError("boom")
        return self.model(x)


def pooled_cnn(seed=0, n_targets=2, length=23):
    """Conv -> ReLU -> MaxPool(3) -> Conv -> ReLU -> MaxPool(2): the pattern fast kernels patch.

    The length leaves a remainder at each pool, which the pool drops.
    """
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 6, 4),
        nn.ReLU(),
        nn.MaxPool1d(3),
        nn.Conv1d(6, 5, 2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Linear(5 * 2, n_targets),
    )


class MotifDetector(nn.Module):
    """Exact occurrences of ``motif`` as the window reads it, plus a weak seeded linear term.

    A conv whose filter is the motif's one-hot, bias ``-(k - 0.5)`` and ReLU fires only on an
    exact match (one mismatch stays below zero); the outputs are summed over positions, so the
    gradient is the motif's one-hot at every site.  The linear term (weights ~ N(0, ``noise``)
    over ``(4, length)``) gives every position a small attribution, so shuffled controls are
    not all zero.  (n, 4, length) -> (n, 1).
    """

    def __init__(self, motif: str = "GATTACATGG", length: int = 60, noise: float = 0.02):
        super().__init__()
        k = len(motif)
        self.conv = nn.Conv1d(4, 1, k)
        self.linear = nn.Parameter(
            noise * torch.randn((4, length), generator=torch.Generator().manual_seed(0))
        )
        with torch.no_grad():
            self.conv.weight.zero_()
            for j, base in enumerate(motif):
                self.conv.weight[0, "ACGT".index(base), j] = 1.0
            self.conv.bias.fill_(-(k - 0.5))

    def forward(self, x):
        sites = torch.relu(self.conv(x)).sum(dim=-1)
        return sites + (x * self.linear).sum(dim=(1, 2))[:, None]


def motif_detector(motif="GATTACA", threshold=6.0, length=60):
    """Hand-set planted-motif model: a conv counting base matches, ReLU above ``threshold``
    matches, summed over positions: every exact match adds 1 (one-mismatch sites 0).
    (n, 4, length) -> (n, 1), in eval mode."""
    conv = nn.Conv1d(4, 1, len(motif))
    with torch.no_grad():
        conv.weight.zero_()
        for j, base in enumerate(motif):
            conv.weight[0, BASES.index(base), j] = 1.0
        conv.bias.fill_(-threshold)
    head = nn.Linear(1, 1)
    with torch.no_grad():
        head.weight.fill_(float(length - len(motif) + 1))  # mean pool x windows = sum
        head.bias.zero_()
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), head).eval()


def motif_counter(input_length: int, motif: str = "GATA"):
    """A zoo CNN with hand-set weights whose output is the number of ``motif`` in the window.

    The first convolution is the motif's one-hot minus (len - 1) as bias, so after ReLU it is
    1 exactly at a match; pool 1; the head takes the mean over positions and multiplies it by
    the number of positions: the count.  On the reverse strand it counts the motif's reverse
    complement in the + strand sequence.  (GATA's reverse complement TATC differs: an
    asymmetric detector.)
    """
    from seqsal.models import zoo

    k = len(motif)
    model = zoo.build(
        "cnn",
        input_length=input_length,
        n_targets=1,
        filters=1,
        kernel_size=k,
        pool=1,
        hidden=1,
        pool_modes=("mean",),
    )
    positions = input_length - k + 1
    with torch.no_grad():
        conv = model.trunk[0]
        conv.weight.copy_(torch.from_numpy(onehot_string(motif))[None])
        conv.bias.fill_(-(k - 1))
        first, second = model.head[1], model.head[3]
        first.weight.copy_(torch.tensor([[float(positions)]]))
        first.bias.zero_()
        second.weight.fill_(1.0)
        second.bias.zero_()
    return model


class FixedLength(nn.Module):
    """A model that runs at one input length only (a dense layer over all positions)."""

    def __init__(self, length: int):
        super().__init__()
        torch.manual_seed(5)
        self.conv = nn.Conv1d(4, 3, 5)
        self.linear = nn.Linear(3 * (length - 4), 2)

    def forward(self, x):
        return self.linear(torch.relu(self.conv(x)).flatten(1))


def plain_torchscript(module: nn.Module, length: int, path):
    """Trace and save with torch.jit alone: no seqsal.json inside, so no input length.  Tuple
    and dict outputs trace as they are (``strict=False``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), torch.zeros(1, 4, length), strict=False)
        torch.jit.save(traced, str(path))
    return path


def save_as_if_on_cuda(obj, path, device: str = "cuda:0"):
    """``torch.save(obj, path)`` with every tensor storage tagged as living on ``device``.

    The file is what ``torch.save`` writes on a GPU machine (the storage records of its
    ``data.pkl`` name ``"cuda:0"``), made without a GPU: plain ``torch.load`` on a CPU-only
    machine refuses it with torch's CUDA error, exactly as it refuses a file from a GPU.
    """
    from unittest import mock

    import torch.serialization as serialization

    with mock.patch.object(serialization, "location_tag", lambda storage: device):
        torch.save(obj, path)
    return path


# --------------------------------------------------------------------------------------------
# planted attribution maps

#: JASPAR2026 matrices planted by :func:`planted_maps` in the motif tests.
CTCF, SPI1, REST = "MA0139.2", "MA0080.7", "MA0138.3"


def planted_maps(jaspar, ids, signs, *, n=240, L=80, seed=0):
    """Synthetic attribution maps with one JASPAR instance per region.

    Each region holds one instance sampled from ``jaspar[ids[e % len(ids)]]`` on a random
    strand at a random place in a uniform background; its hypothetical contributions are
    noise plus a block on the instance (the observed base gets the column's information
    content times the motif's sign).  Returns one-hot, hypothetical, projected ``(n, 4, L)``
    and the planted seqlet table (``example_idx, start, end, sign, planted, planted_strand``).
    """
    g = np.random.default_rng(seed)
    codes = g.integers(0, 4, size=(n, L))
    hyp = g.normal(0, 0.02, size=(n, 4, L))
    rows = []
    for e in range(n):
        motif_id, sign = ids[e % len(ids)], signs[e % len(ids)]
        ppm = jaspar[motif_id].ppm
        w = ppm.shape[1]
        site = np.array([g.choice(4, p=ppm[:, j]) for j in range(w)])
        minus = bool(g.integers(2))
        ic = 2 + (ppm * np.log2(ppm)).sum(axis=0)
        if minus:
            site, ic = 3 - site[::-1], ic[::-1]
        a = int(g.integers(3, L - w - 3))
        codes[e, a : a + w] = site
        hyp[e, site, np.arange(a, a + w)] += sign * 0.5 * ic
        rows.append((e, a, a + w, sign, motif_id, "-" if minus else "+"))
    X = onehot_codes(codes)
    hyp = hyp.astype(np.float32)
    table = pd.DataFrame(
        rows, columns=["example_idx", "start", "end", "sign", "planted", "planted_strand"]
    )
    return X, hyp, hyp * X, table


# --------------------------------------------------------------------------------------------
# workflow runs


def write_config(path: Path, **settings) -> Path:
    """A workflow config file (YAML) holding ``settings``."""
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def job_stats(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake (dry) run: {rule: count}."""
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


# --------------------------------------------------------------------------------------------
# files


def saved_zoo_cnn(folder: Path, *, length: int, targets=("activity",), seed: int = 1) -> Path:
    """An untrained zoo CNN of input length ``length`` saved as a seqsal model folder."""
    from seqsal.models import zoo
    from seqsal.models.load import save_model

    module = zoo.build("cnn", input_length=length, n_targets=len(targets), seed=seed)
    return save_model(
        module,
        folder,
        arch="cnn",
        arch_kwargs={},
        input_length=length,
        targets=list(targets),
        task="regression",
    )


def unwritable_folder(tmp_path: Path) -> Path | None:
    """A folder that refuses new files to this user, or None if there is none.

    Mode 0o555 for a normal user; root writes through permission bits, so for root /sys,
    which refuses new files (None if even that takes them).
    """
    import os
    import tempfile

    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    try:
        fd, probe = tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys")
    os.close(fd)
    os.unlink(probe)
    return None


# --------------------------------------------------------------------------------------------
# models with several heads


#: The constructor arguments of :func:`small_bpnet` (``--model-kwargs`` of a class spec).
SMALL_BPNET_KWARGS = {
    "n_filters": 16,
    "n_layers": 4,
    "n_outputs": 2,
    "n_control_tracks": 0,
    "trimming": 10,
    "verbose": False,
}


def small_bpnet(seed=0, trimming=10):
    """A randomly initialised bpnet-lite BPNet (16 filters, 4 dilated layers, 2 strands, no
    control track): ``(n, 4, L) -> (profile logits (n, 2, L - 2 trimming), log counts (n, 1))``,
    in eval mode.  The real-model oracle: bpnet-lite's own wrappers define its targets."""
    import bpnetlite

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = bpnetlite.BPNet(**(SMALL_BPNET_KWARGS | {"trimming": trimming}))
    return model.eval()


HEADS = namedtuple("Heads", ["profile", "counts"])


class TwoHeads(nn.Module):
    """A tiny conv trunk with a profile head ``(n, 2, L - 4)`` and a counts head ``(n, 1)``,
    returned as a tuple, a dict (``{"profile": ..., "counts": ...}``) or a namedtuple
    (``Heads(profile, counts)``) by ``kind``."""

    def __init__(self, kind="tuple", seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.kind = kind
        self.trunk = nn.Sequential(nn.Conv1d(4, 6, 5), nn.Softplus())
        self.profile = nn.Conv1d(6, 2, 1)
        self.counts = nn.Linear(6, 1)

    def forward(self, x):
        h = self.trunk(x)
        profile, counts = self.profile(h), self.counts(h.mean(dim=2))
        if self.kind == "dict":
            return {"profile": profile, "counts": counts}
        if self.kind == "namedtuple":
            return HEADS(profile, counts)
        return profile, counts


class OneHead(nn.Module):
    """``model``'s head ``key`` alone (index or dict key), a plain tensor-output model."""

    def __init__(self, model, key):
        super().__init__()
        self.model, self.key = model, key

    def forward(self, x):
        output = self.model(x)
        if isinstance(self.key, str) and hasattr(output, "_fields"):
            return getattr(output, self.key)
        return output[self.key]


# --------------------------------------------------------------------------------------------
# attributions to import

#: Window length and number of regions of :func:`gattaca_attributions`.
IMPORT_LENGTH = 100
IMPORT_REGIONS = 100


def gattaca_attributions(root: Path) -> Path:
    """A genome with three GATTACA sites in each of 100 regions of 100 bp, a model counting
    GATTACA (:func:`motif_counter`), the store and shuffled-control store ``seqsal attribute``
    writes (``observed.h5``, ``control.h5``; IG, 4 steps, seed 1), and both exported as
    modisco-lite npz pairs (``observed_seq.npz``/``observed_attr.npz``, ``control_...``).
    Seqlets called with the control null find the sites (a 7-mer is rare in the shuffles)."""
    from seqsal.cli import main
    from seqsal.io.fasta import write_fasta
    from seqsal.models import save_model

    length, n = IMPORT_LENGTH, IMPORT_REGIONS
    seq = list(random_dna(n * 150 + 200, 31))
    starts = np.arange(n) * 150 + 50
    for i, start in enumerate(starts):
        for site in (10 + i % 7, 45 + i % 5, 80 - i % 3):
            seq[start + site : start + site + 7] = "GATTACA"
    write_fasta([("chr1", "".join(seq))], root / "genome.fa")
    pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + length}).to_csv(
        root / "regions.bed", sep="\t", header=False, index=False
    )
    save_model(
        motif_counter(length, "GATTACA"),
        root / "model",
        arch="cnn",
        arch_kwargs=dict(filters=1, kernel_size=7, pool=1, hidden=1, pool_modes=["mean"]),
        input_length=length,
        targets=["gattaca"],
        task="regression",
    )
    for name, extra in (("observed", []), ("control", ["--shuffle-control"])):
        argv = [
            "attribute",
            "--model", root / "model",
            "--fasta", root / "genome.fa",
            "--regions", root / "regions.bed",
            "--out", root / f"{name}.h5",
            "--steps", 4,
            "--baseline", "shuffle:2",
            "--seed", 1,
            "--no-progress",
            *extra,
        ]  # fmt: skip
        assert main([str(a) for a in argv]) == 0
        export = ["export", "modisco", "--store", root / f"{name}.h5", "--out", root / name]
        assert main([str(a) for a in export]) == 0
    return root


def two_chromosomes_five_regions(root, seed: int = 1):
    """``root/genome.fa`` (chr1 400 bp, chr2 240 bp, random bases from ``seed``) and
    ``root/regions.bed``: five 40-50 bp regions on both strands, none near a chromosome end."""
    rng = np.random.default_rng(seed)
    with open(root / "genome.fa", "w") as handle:
        for chrom, n in {"chr1": 400, "chr2": 240}.items():
            handle.write(f">{chrom}\n{''.join(rng.choice(list('ACGT'), size=n))}\n")
    pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chr1", "chr2", "chr2"],
            "start": [20, 120, 250, 30, 140],
            "end": [60, 160, 300, 70, 180],
            "name": [f"r{i}" for i in range(5)],
            "score": 0,
            "strand": ["+", "-", "+", "-", "+"],
        }
    ).to_csv(root / "regions.bed", sep="\t", header=False, index=False)
